//! Streamed messages through both adapters against a tungstenite server on loopback: the events
//! of a fragmented text message with a ping between its fragments, in chunks of at most 4
//! bytes each valid UTF-8; `read` still whole; a text message sent from a reader that cuts
//! code points; misuse refused.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use bytes::Bytes;
use tungstenite::Message as TMessage;
use ws_proto_std::Event;
use ws_proto_std::{Error, MessageType, SendError};

const TEXT: &str = "héllo wörld";

/// The upload: multi-byte code points, read three bytes at a time so reads cut them.
fn upload() -> String {
    "κόσμε 𝄞 ".repeat(500)
}

struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(3).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

impl tokio::io::AsyncRead for Trickle<'_> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let mut room = vec![0; buf.remaining()];
        let n = Read::read(self.get_mut(), &mut room)?;
        buf.put_slice(&room[..n]);
        std::task::Poll::Ready(Ok(()))
    }
}

/// A server that sends `TEXT` in two fragments with a ping between them, then a whole binary
/// message of one chunk twice (one for `read_event`, one for `read`), then checks the upload and answers
/// "ok", then closes.
fn server() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        let (first, second) = TEXT.as_bytes().split_at(2); // "h" and half of "é"
        let raw = ws.get_mut();
        raw.write_all(&ws_proto_tests::raw_frame(0x01, first))
            .unwrap();
        raw.write_all(&ws_proto_tests::frame(0x9, b"p")).unwrap();
        raw.write_all(&ws_proto_tests::raw_frame(0x80, second))
            .unwrap();
        for _ in 0..2 {
            raw.write_all(&ws_proto_tests::frame(0x2, &[7; 3])).unwrap();
        }
        raw.flush().unwrap();
        loop {
            match ws.read().unwrap() {
                TMessage::Text(text) => {
                    assert_eq!(text.as_str(), upload());
                    break;
                }
                TMessage::Pong(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        ws.send(TMessage::text("ok")).unwrap();
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
    });
    (url, handle)
}

/// Checks the events up to the first whole message: the streamed text, a ping between its
/// chunks, chunks of at most 4 bytes each valid UTF-8.
fn check_events(events: &[Event]) {
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::MessageStart(MessageType::Text) => "start",
            Event::MessageData(_) => "data",
            Event::Ping(p) if p == &b"p"[..] => "ping",
            Event::MessageEnd => "end",
            Event::Message(m) if m.as_bytes() == [7; 3] => "binary",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let mut squeezed = kinds.clone();
    squeezed.dedup();
    assert_eq!(squeezed, ["start", "data", "ping", "data", "end", "binary"]);
    let mut text = Vec::new();
    for e in events {
        if let Event::MessageData(chunk) = e {
            assert!(
                chunk.len() <= 4 && std::str::from_utf8(chunk).is_ok(),
                "{chunk:?}"
            );
            text.extend_from_slice(chunk);
        }
    }
    assert_eq!(text, TEXT.as_bytes());
}

#[test]
fn std_streams_both_ways() {
    let (url, server) = server();
    let (ws, _) = ws_proto_std::Builder::new(url)
        .recv_streaming(true)
        .recv_chunk_size(4)
        .connect()
        .unwrap();
    let mut events = Vec::new();
    while !matches!(events.last(), Some(Event::Message(_))) {
        assert!(events.len() < 64, "no whole message: {events:?}");
        events.push(ws.read_event().unwrap());
    }
    check_events(&events);
    // `read` takes messages whole whatever the builder says.
    assert_eq!(ws.read().unwrap().into_data(), Bytes::from_static(&[7; 3]));
    assert!(matches!(
        ws.send_message_chunk(b"x"),
        Err(Error::Send(SendError::NoMessageInProgress))
    ));
    let upload = upload();
    let sent = ws
        .send_from_reader(MessageType::Text, Trickle(upload.as_bytes()))
        .unwrap();
    assert_eq!(sent, upload.len() as u64);
    assert_eq!(ws.read().unwrap().to_text(), Some("ok"));
    assert!(matches!(ws.read_stream(), Err(Error::Closed { .. })));
    server.join().unwrap();
}

#[test]
fn tokio_streams_both_ways() {
    let (url, server) = server();
    ws_proto_tests::block_on(async {
        let (mut ws, _) = ws_proto_tokio::Builder::new(url)
            .recv_streaming(true)
            .recv_chunk_size(4)
            .connect()
            .await
            .unwrap();
        let mut events = Vec::new();
        while !matches!(events.last(), Some(Event::Message(_))) {
            assert!(events.len() < 64, "no whole message: {events:?}");
            events.push(ws.read_event().await.unwrap());
        }
        check_events(&events);
        assert_eq!(
            ws.read().await.unwrap().into_data(),
            Bytes::from_static(&[7; 3])
        );
        assert!(matches!(
            ws.send_message_chunk(b"x").await,
            Err(Error::Send(SendError::NoMessageInProgress))
        ));
        let upload = upload();
        let sent = ws
            .send_from_reader(MessageType::Text, Trickle(upload.as_bytes()))
            .await
            .unwrap();
        assert_eq!(sent, upload.len() as u64);
        assert_eq!(ws.read().await.unwrap().to_text(), Some("ok"));
        assert!(matches!(ws.read_stream().await, Err(Error::Closed { .. })));
    });
    server.join().unwrap();
}
