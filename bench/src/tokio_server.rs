//! The loopback server for thousands of connections at once (`many`, `compression`): one
//! current-thread tokio runtime on its own thread, a task and a 4 KiB buffer per connection,
//! where the std server of `lib.rs` would need a thread and 256 KiB per connection. As minimal:
//! its own 101 (accepting permessage-deflate when offered, see [`super::switching_protocols`]),
//! frames parsed just enough. Routes:
//!
//! - `/idle`: the 101, then read and discard until the client goes away.
//! - `/echo`: every data frame sent back unmasked (a frame larger than the buffer is read into
//!   a larger one), until the client goes away.
//! - `/once?size=S`: one message, then as `/idle`: JSON-like text of S bytes, compressed in
//!   advance if permessage-deflate was agreed (see [`super::compressed_frame`]).

use std::io;
use std::net::TcpListener as StdListener;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{accept_deflate, compressed_frame, header, json_payload, param, parse_head};

const BUF: usize = 4 << 10;

/// Binds `ports` listeners on ephemeral loopback ports and serves them all on one new thread.
/// Several listeners let a caller open more connections in a row than there are ephemeral ports:
/// a closed client port waits in TIME_WAIT, which only blocks reusing it to the same server port.
pub fn start(ports: usize) -> Vec<u16> {
    let listeners: Vec<StdListener> = (0..ports)
        .map(|_| {
            let l = StdListener::bind("127.0.0.1:0").expect("bind");
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    let numbers = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            for l in listeners {
                let l = TcpListener::from_std(l).unwrap();
                tokio::task::spawn_local(async move {
                    loop {
                        let Ok((s, _)) = l.accept().await else {
                            continue;
                        };
                        tokio::task::spawn_local(async move {
                            let _ = handle(s).await;
                        });
                    }
                });
            }
            std::future::pending::<()>().await
        });
    });
    numbers
}

async fn handle(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; BUF];
    let mut end = 0;
    let head_len = loop {
        let got = s.read(&mut buf[end..]).await?;
        if got == 0 {
            return Ok(());
        }
        end += got;
        if let Some(at) = buf[..end].windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if end == BUF {
            return Err(io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    s.write_all(super::switching_protocols(&head).as_bytes())
        .await?;
    buf.copy_within(head_len..end, 0);
    end -= head_len;
    match path {
        "/echo" => echo(&mut s, buf, end).await,
        "/once" => {
            let text = json_payload(param(query, "size"));
            let frame = if accept_deflate(&head).is_some() {
                compressed_frame(1, &text)
            } else {
                let mut frame = Vec::new();
                header(1, text.len(), None, &mut frame);
                frame.extend_from_slice(&text);
                frame
            };
            s.write_all(&frame).await?;
            drain(&mut s, &mut buf).await
        }
        _ => drain(&mut s, &mut buf).await,
    }
}

async fn drain(s: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    while s.read(buf).await? > 0 {}
    Ok(())
}

/// Sends back every data frame, unmasked, until the client goes away; `end` bytes of `buf`
/// are already read.
async fn echo(s: &mut TcpStream, mut buf: Vec<u8>, mut end: usize) -> io::Result<()> {
    let mut out = Vec::new();
    loop {
        let mut pos = 0;
        while let Ok((head, len)) = parse_head(&buf[pos..end]) {
            let frame_end = pos + len + head.len;
            if frame_end > end {
                if frame_end - pos > buf.len() {
                    buf.resize(frame_end - pos, 0);
                }
                break;
            }
            if head.opcode < 8 {
                let payload = &mut buf[pos + len..frame_end];
                ws_proto::apply_mask(payload, head.key);
                header(head.opcode, head.len, None, &mut out);
                out.extend_from_slice(payload);
            }
            pos = frame_end;
        }
        if !out.is_empty() {
            s.write_all(&out).await?;
            out.clear();
        }
        buf.copy_within(pos..end, 0);
        end -= pos;
        let got = s.read(&mut buf[end..]).await?;
        if got == 0 {
            return Ok(());
        }
        end += got;
    }
}
