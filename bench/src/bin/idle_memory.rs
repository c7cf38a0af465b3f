//! Heap held by one idle open connection, per client (issue #9).
//!
//! `cd bench && CARGO_TARGET_DIR=/work/target-bench cargo run --release --bin idle_memory`
//!
//! A counting global allocator tracks live heap bytes (as requested from the allocator, not
//! allocator overhead or kernel socket buffers). For each client: one warm-up connection is made
//! and dropped (so one-time costs such as tokio's I/O driver pages are not counted), then the
//! live heap is taken before connecting and again after the handshake, holding only the
//! connection (the handshake response is dropped). The server runs in a child process, so its
//! allocations never mix in.
//!
//! The core (`ClientState` alone) is measured in memory, and with permessage-deflate negotiated,
//! with and without context takeover, after one 64 KiB message each way.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Instant;

use ws_proto::{ClientState, Config, DeflateConfig, Event};
use ws_proto_bench::{open_core, text_payload};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct Snapshot(isize, isize);

fn snapshot() -> Snapshot {
    Snapshot(LIVE.load(Relaxed), BLOCKS.load(Relaxed))
}

fn since(before: Snapshot) -> (isize, isize) {
    let now = snapshot();
    (now.0 - before.0, now.1 - before.1)
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn no_deflate() -> Config {
    let mut config = Config::default();
    config.permessage_deflate(None);
    config
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- in-memory core

/// A compressed binary message from the "server": raw DEFLATE, sync flush, tail removed.
fn server_compressed_frame(payload: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 1024);
    c.compress_vec(payload, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    let mut frame = Vec::new();
    ws_proto_bench::header(2, out.len(), None, &mut frame);
    frame[0] |= 0x40; // RSV1: compressed
    frame.extend_from_slice(&out);
    frame
}

/// One 64 KiB message each way, everything drained, messages dropped.
fn exchange(client: &mut ClientState) {
    let payload = text_payload(64 << 10);
    let frame = server_compressed_frame(&payload);
    client.handle_input(&frame, Instant::now()).unwrap();
    let mut got = 0;
    ws_proto_bench::drain(client, drop, |event| {
        if let Event::Message(m) = event {
            got += m.len();
        }
    });
    assert_eq!(
        got,
        payload.len(),
        "the compressed message was not received"
    );
    client.send_binary(&payload).unwrap();
    ws_proto_bench::drain(client, drop, drop);
    assert!(client.is_open());
}

fn core_rows(rows: &mut Vec<(String, (isize, isize))>) {
    let _warm = open_core(no_deflate(), None);
    drop(_warm);

    let before = snapshot();
    let client = open_core(no_deflate(), None);
    rows.push((
        "ws-proto core (ClientState), no deflate".into(),
        since(before),
    ));
    drop(client);

    let before = snapshot();
    let client = open_core(Config::default(), Some("permessage-deflate"));
    rows.push((
        "ws-proto core, deflate negotiated, no traffic".into(),
        since(before),
    ));
    drop(client);

    let before = snapshot();
    let mut client = open_core(Config::default(), Some("permessage-deflate"));
    exchange(&mut client);
    rows.push((
        "ws-proto core, deflate with context takeover, after 64 KiB each way".into(),
        since(before),
    ));
    drop(client);

    let mut config = Config::default();
    let mut deflate = DeflateConfig::default();
    deflate
        .client_no_context_takeover(true)
        .server_no_context_takeover(true);
    config.permessage_deflate(Some(deflate));
    let before = snapshot();
    let mut client = open_core(
        config,
        Some("permessage-deflate; client_no_context_takeover; server_no_context_takeover"),
    );
    exchange(&mut client);
    rows.push((
        "ws-proto core, deflate no context takeover, after 64 KiB each way".into(),
        since(before),
    ));
    drop(client);
}

// ---------------------------------------------------------------- clients over TCP

async fn manual_handshake(tcp: &mut tokio::net::TcpStream, port: u16) -> Res<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET /idle HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await?);
    }
    Ok(())
}

/// Measures the live heap of what `connect` returns, after one warm-up connection.
fn measure_async<F, Fut, T>(connect: F) -> Res<(isize, isize)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Res<T>>,
{
    let rt = rt();
    rt.block_on(async {
        drop(connect().await?);
        // Let the runtime settle (deferred drops of the warm-up connection).
        tokio::task::yield_now().await;
        let before = snapshot();
        let held = connect().await?;
        let delta = since(before);
        drop(held);
        Ok(delta)
    })
}

fn tcp_rows(port: u16, rows: &mut Vec<(String, (isize, isize))>) {
    let url = format!("ws://127.0.0.1:{port}/idle");
    let addr = format!("127.0.0.1:{port}");

    let r = measure_async(|| async {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.set_nodelay(true)?;
        manual_handshake(&mut tcp, port).await?;
        Ok(tcp)
    });
    rows.push(("raw tokio TcpStream (floor)".into(), r.unwrap()));

    let r = measure_async(|| async {
        let (ws, _response) = ws_proto_tokio::Builder::new(&url)
            .config(no_deflate())
            .connect()
            .await?;
        Ok(ws)
    });
    rows.push(("ws-proto-tokio WebSocket".into(), r.unwrap()));

    let r = measure_async(|| async {
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.set_nodelay(true)?;
        let (ws, _response) = tokio_tungstenite::client_async(url.as_str(), tcp).await?;
        Ok(ws)
    });
    rows.push(("tokio-tungstenite WebSocketStream".into(), r.unwrap()));

    let r = measure_async(|| async {
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.set_nodelay(true)?;
        let (ws, _response) = tokio_websockets::ClientBuilder::new()
            .uri(&url)?
            .connect_on(tcp)
            .await?;
        Ok(ws)
    });
    rows.push(("tokio-websockets WebSocketStream".into(), r.unwrap()));

    let r = measure_async(|| async {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.set_nodelay(true)?;
        manual_handshake(&mut tcp, port).await?;
        Ok(fastwebsockets::WebSocket::after_handshake(
            tcp,
            fastwebsockets::Role::Client,
        ))
    });
    rows.push(("fastwebsockets WebSocket".into(), r.unwrap()));

    let connect_std = || {
        ws_proto_std::Builder::new(&url)
            .config(no_deflate())
            .connect()
            .map(|(ws, _)| ws)
    };
    drop(connect_std().unwrap());
    let before = snapshot();
    let ws = connect_std().unwrap();
    rows.push(("ws-proto-std WebSocket (blocking)".into(), since(before)));
    drop(ws);
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        let port = ws_proto_bench::start_server();
        println!("{port}");
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes our stdin (or dies).
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("server port");

    let mut rows = Vec::new();
    core_rows(&mut rows);
    tcp_rows(port, &mut rows);

    drop(child.stdin.take());
    let _ = child.wait();

    println!("| connection | live heap | blocks |");
    println!("|---|---:|---:|");
    for (name, (bytes, blocks)) in rows {
        println!("| {name} | {} | {blocks} |", human(bytes));
    }
}

fn human(bytes: isize) -> String {
    if bytes.abs() >= 10 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
