//! Sending and receiving under pressure: cancel safety inside `select!`, split halves in two
//! tasks, send order before the handshake, and write batching.

mod common;

use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_proto_tokio::{Builder, CloseCode, Error, Event, Message, ReuniteError};

/// Message `i`: text for even `i`, binary otherwise, sizes from 0 to well over one read.
fn message(i: usize) -> Message {
    let len = (i * 7919) % 40_000;
    if i.is_multiple_of(2) {
        let text: String = (0..len)
            .map(|k| char::from(b'a' + ((i + k) % 26) as u8))
            .collect();
        Message::Text(text.into())
    } else {
        Message::Binary((0..len).map(|k| (i + k) as u8).collect::<Vec<u8>>().into())
    }
}

fn to_tungstenite(m: Message) -> TMessage {
    match m {
        Message::Text(t) => TMessage::text(t.as_str()),
        Message::Binary(b) => TMessage::binary(b),
    }
}

const COUNT: usize = 200;

#[tokio::test]
async fn recv_dropped_by_a_short_timer_loses_nothing() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        for i in 0..COUNT {
            ws.send(to_tungstenite(message(i))).await.unwrap();
            if i % 16 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
    });

    let (mut ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut cancelled = 0u32;
    loop {
        tokio::select! {
            event = ws.read_event() => {
                let event = event.unwrap();
                let end = matches!(event, Event::Close(_));
                received.push(event);
                if end {
                    break;
                }
            }
            // Fires often: many recv futures are dropped mid-read.
            _ = tokio::time::sleep(Duration::from_micros(50)) => cancelled += 1,
        }
        assert!(received.len() <= COUNT + 1);
    }
    assert!(cancelled > 0, "the timer never cancelled a recv");
    assert_eq!(received.len(), COUNT + 1);
    for (i, event) in received[..COUNT].iter().enumerate() {
        assert_eq!(event, &Event::Message(message(i)), "message {i}");
    }
    assert!(matches!(&received[COUNT], Event::Close(f) if f.code == CloseCode::NO_STATUS));
}

#[tokio::test]
async fn feed_dropped_by_a_short_timer_neither_loses_nor_duplicates() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        // Not reading at first lets the kernel buffers fill, so `feed` has to wait.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut got = Vec::new();
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                TMessage::Text(t) => got.push(Message::Text(t.as_str().into())),
                TMessage::Binary(b) => got.push(Message::Binary(b)),
                TMessage::Close(_) => {
                    // Sends tungstenite's queued echo of the Close.
                    let _ = ws.flush().await;
                    break;
                }
                _ => {}
            }
            // A slow reader, so the client's buffer fills and `feed` waits.
            if got.len() % 32 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        got
    });

    // Small kernel buffers, so the writes block and `feed` has to wait.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(8 << 10).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (ws, _) = Builder::new(format!("ws://{addr}/"))
        .send_high_water_mark(16 << 10)
        .connect_with(tcp)
        .await
        .unwrap();
    let (mut writer, mut reader) = ws.split();
    let reader = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = reader.next().await {
            events.push(event.unwrap());
        }
        events
    });
    let mut next = 0;
    let mut cancelled = 0u32;
    while next < COUNT {
        tokio::select! {
            // A feed that is dropped has not queued its message, so it is simply retried.
            result = writer.feed(message(next)) => { result.unwrap(); next += 1; }
            _ = tokio::time::sleep(Duration::from_micros(50)) => cancelled += 1,
        }
    }
    writer.flush().await.unwrap();
    writer.close(CloseCode::NORMAL, "all sent").await.unwrap();
    let got = server.await.unwrap();
    assert_eq!(got.len(), COUNT);
    for (i, m) in got.into_iter().enumerate() {
        assert_eq!(m, message(i), "message {i}");
    }
    assert!(cancelled > 0, "the timer never cancelled a feed");
    let events = reader.await.unwrap();
    assert!(
        matches!(events.as_slice(), [Event::Close(f)] if f.code == CloseCode::NORMAL && f.reason == "all sent"),
        "{events:?}"
    );
}

#[tokio::test]
async fn split_halves_in_two_tasks() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });

    let (ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let (mut writer, mut reader) = ws.split();
    let sender = tokio::spawn(async move {
        for i in 0..COUNT {
            writer.send(message(i)).await.unwrap();
        }
        writer
    });
    for i in 0..COUNT {
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Event::Message(message(i))
        );
    }
    let writer = sender.await.unwrap();
    // Back together, the socket carries on where the halves left off.
    let mut ws = reader.reunite(writer).unwrap();
    ws.send_text("whole again").await.unwrap();
    assert_eq!(ws.read().await.unwrap(), Message::text("whole again"));
    ws.close(CloseCode::NORMAL, "split bye").await.unwrap();
    match ws.read_event().await.unwrap() {
        Event::Close(frame) => assert_eq!(frame.reason, "split bye"),
        other => panic!("expected the close, got {other:?}"),
    }
    assert!(matches!(ws.read_event().await, Err(Error::AlreadyClosed)));
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn reunite_refuses_halves_of_two_sockets() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let a = common::accept(&listener).await;
        let b = common::accept(&listener).await;
        tokio::join!(common::echo(a), common::echo(b));
    });
    let url = format!("ws://{addr}/");
    let (a, _) = ws_proto_tokio::connect(&url).await.unwrap();
    let (b, _) = ws_proto_tokio::connect(&url).await.unwrap();
    let (a_writer, a_reader) = a.split();
    let (b_writer, b_reader) = b.split();
    let ReuniteError(b_writer, a_reader) = a_reader.reunite(b_writer).unwrap_err();
    // The halves handed back still make their own sockets.
    let mut a = a_reader.reunite(a_writer).unwrap();
    let mut b = b_reader.reunite(b_writer).unwrap();
    a.send_text("a").await.unwrap();
    b.send_text("b").await.unwrap();
    assert_eq!(a.read().await.unwrap(), Message::text("a"));
    assert_eq!(b.read().await.unwrap(), Message::text("b"));
}

#[tokio::test]
async fn sends_before_open_go_first_in_order() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });

    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut ws = Builder::new(format!("ws://{addr}/")).start(tcp).unwrap();
    for s in ["one", "two", "three"] {
        ws.send(Message::Text(s.into())).await.unwrap();
    }
    let Some(Ok(Event::Open(response))) = ws.next().await else {
        panic!("expected Open first");
    };
    assert_eq!(response.status(), 101);
    ws.send(Message::Text("four".into())).await.unwrap();
    for s in ["one", "two", "three", "four"] {
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Event::Message(Message::Text(s.into()))
        );
    }
}

/// What each write offered: how many slices, how many bytes.
type Offers = Arc<Mutex<Vec<(usize, usize)>>>;

/// A TCP stream that records what each write offered and takes at most `limit` bytes of it, so
/// writes end anywhere, in the middle of a frame or of a chunk.
struct Counted {
    tcp: TcpStream,
    offered: Offers,
    limit: usize,
}

impl Counted {
    async fn connect(addr: SocketAddr, limit: usize) -> (Self, Offers) {
        let offered = Arc::new(Mutex::new(Vec::new()));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let counted = Counted {
            tcp,
            offered: offered.clone(),
            limit,
        };
        (counted, offered)
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let bytes = bufs.iter().map(|b| b.len()).sum();
        self.offered.lock().unwrap().push((bufs.len(), bytes));
        let mut left = self.limit;
        let mut taken = Vec::new();
        for buf in bufs {
            let n = buf.len().min(left);
            taken.push(IoSlice::new(&buf[..n]));
            left -= n;
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, &taken)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn feeds_then_one_flush_make_one_write() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });

    let (tcp, offered) = Counted::connect(addr, usize::MAX).await;
    let writes = || offered.lock().unwrap().len();
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .connect_with(tcp)
        .await
        .unwrap();
    let before = writes();
    for s in ["a", "b", "c", "d"] {
        ws.feed(Message::Text(s.into())).await.unwrap();
    }
    // The borrowing feeds queue the same way.
    ws.feed_text("e").await.unwrap();
    ws.feed_binary(b"f").await.unwrap();
    assert_eq!(writes(), before, "feed wrote");
    SinkExt::flush(&mut ws).await.unwrap();
    assert_eq!(writes(), before + 1);
    // A send is a feed and a flush: one more write.
    ws.send_binary(b"g").await.unwrap();
    assert_eq!(writes(), before + 2);
    let mut expected: Vec<Message> = ["a", "b", "c", "d", "e"]
        .into_iter()
        .map(|s| Message::Text(s.into()))
        .collect();
    expected.push(Message::Binary(bytes::Bytes::from_static(b"f")));
    expected.push(Message::Binary(bytes::Bytes::from_static(b"g")));
    for message in expected {
        assert_eq!(ws.next().await.unwrap().unwrap(), Event::Message(message));
    }
}

#[tokio::test]
async fn owned_large_payloads_go_out_whole_between_small_ones() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .connect()
        .await
        .unwrap();
    // Owned and unshared: masked in place and written from its own memory (see the core's
    // sending tests); shared: copied; small: copied. The echo proves every byte arrived masked
    // correctly and in order.
    let large: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let shared = bytes::Bytes::from(vec![7u8; 200_000]);
    let sent = [
        Message::Text("first".into()),
        Message::Binary(large.clone().into()),
        Message::Text("é".repeat(50_000).into()),
        Message::Binary(shared.clone()),
        Message::Binary(bytes::Bytes::from_static(b"last")),
    ];
    for message in sent.iter().cloned() {
        ws.feed(message).await.unwrap();
    }
    SinkExt::flush(&mut ws).await.unwrap();
    // The clones held here made these two shared, so send them again owned alone.
    ws.send(Message::Binary(large.clone().into()))
        .await
        .unwrap();
    ws.send(Message::Text("é".repeat(50_000).into()))
        .await
        .unwrap();
    assert!(
        shared.iter().all(|&b| b == 7),
        "a shared payload is left as it was"
    );
    let expected: Vec<Message> = sent
        .into_iter()
        .chain([
            Message::Binary(large.into()),
            Message::Text("é".repeat(50_000).into()),
        ])
        .collect();
    for (i, message) in expected.into_iter().enumerate() {
        let got = ws.next().await.unwrap().unwrap();
        assert!(got == Event::Message(message), "echo {i} differs");
    }
}

#[tokio::test]
async fn an_owned_large_payload_goes_out_with_its_header_in_one_write() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });
    let (tcp, offered) = Counted::connect(addr, usize::MAX).await;
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .connect_with(tcp)
        .await
        .unwrap();
    let before = offered.lock().unwrap().len();
    let large: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send(Message::Binary(large.clone().into()))
        .await
        .unwrap();
    // The header (2 bytes, an 8-byte length, the 4-byte key) and the payload, masked where it
    // lies, are offered in one vectored write.
    assert_eq!(offered.lock().unwrap()[before], (2, 14 + (1 << 20)));
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(Message::Binary(large.into()))
    );
}

#[tokio::test]
async fn writes_that_end_anywhere_deliver_every_byte_in_order() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move { common::echo(common::accept(&listener).await).await });
    // 777 bytes a write: writes end inside headers, payloads and vectored pairs of chunks.
    let (tcp, offered) = Counted::connect(addr, 777).await;
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .connect_with(tcp)
        .await
        .unwrap();
    let large = |seed: u32| -> Message {
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i * seed % 253) as u8).collect();
        Message::Binary(payload.into())
    };
    let sent = [
        Message::Text("first".into()),
        large(3),
        large(5),
        Message::Binary(bytes::Bytes::from_static(b"between")),
        large(7),
        Message::Text("é".repeat(40_000).into()),
        Message::Text("last".into()),
    ];
    // These clones share their payloads with `sent`, so the large ones are copied into the
    // core's buffer; the two fed after them are owned alone and go out as chunks of their own.
    for message in sent.iter().cloned() {
        ws.feed(message).await.unwrap();
    }
    for seed in [11, 13] {
        ws.feed(large(seed)).await.unwrap();
    }
    SinkExt::flush(&mut ws).await.unwrap();
    // Pairs of chunks were offered and cut inside them: at least the frames before the first
    // owned payload, down to their last 4 KiB, with that payload.
    let offered = offered.lock().unwrap().clone();
    assert!(offered
        .iter()
        .any(|&(slices, n)| slices == 2 && n > 777 + 300_000));
    let expected = sent.into_iter().chain([large(11), large(13)]);
    for (i, message) in expected.enumerate() {
        let got = ws.next().await.unwrap().unwrap();
        assert!(got == Event::Message(message), "echo {i} differs");
    }
}
