//! Keepalive and timeouts on tokio's paused clock: the servers run as tasks on the same
//! current-thread runtime, so virtual time only advances when every task waits.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_proto::Timeout;
use ws_proto_tokio::{Builder, CloseCode, Error, Event, Message};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn ping_interval_sends_pings_and_gets_pongs() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        // Reading is what makes tungstenite answer the ping; report each ping with its time.
        while let Some(Ok(msg)) = ws.next().await {
            if let TMessage::Ping(payload) = msg {
                let note = format!("ping {} bytes", payload.len());
                ws.send(TMessage::text(note)).await.unwrap();
            }
        }
    });

    let start = Instant::now();
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .ping_interval(30 * SECOND)
        .connect()
        .await
        .unwrap();
    for round in 1..=2u32 {
        let mut seen = Vec::new();
        while seen.len() < 2 {
            seen.push(ws.next().await.unwrap().unwrap());
        }
        seen.sort_by_key(|e| matches!(e, Event::Message(_)));
        // The pong answers the keepalive ping, so it carries a round trip.
        assert!(
            matches!(&seen[0], Event::Pong(p) if p.payload.is_empty() && p.rtt.is_some()),
            "{seen:?}"
        );
        assert_eq!(
            seen[1],
            Event::Message(Message::Text("ping 0 bytes".into()))
        );
        assert_eq!(start.elapsed().as_secs(), 30 * u64::from(round));
    }
}

#[tokio::test(start_paused = true)]
async fn pong_timeout_against_a_server_that_stops_answering() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let ws = common::accept(&listener).await;
        // Holds the connection open and never reads again.
        std::future::pending::<()>().await;
        drop(ws);
    });

    let start = Instant::now();
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .ping_interval(10 * SECOND)
        .pong_timeout(5 * SECOND)
        .connect()
        .await
        .unwrap();
    let err = ws.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Pong)), "{err:?}");
    assert_eq!(start.elapsed(), 15 * SECOND);
    assert!(ws.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn handshake_timeout_against_a_server_that_never_answers() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(tcp);
    });

    let start = Instant::now();
    let err = Builder::new(format!("ws://{addr}/"))
        .handshake_timeout(Some(3 * SECOND))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Handshake)), "{err:?}");
    assert_eq!(start.elapsed(), 3 * SECOND);
    assert_eq!(err.to_string(), "opening handshake timed out");
}

#[tokio::test(start_paused = true)]
async fn close_timeout_when_the_server_never_answers_the_close() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let ws = common::accept(&listener).await;
        std::future::pending::<()>().await;
        drop(ws);
    });

    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .close_timeout(4 * SECOND)
        .connect()
        .await
        .unwrap();
    let start = Instant::now();
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    let err = ws.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Close)), "{err:?}");
    assert_eq!(start.elapsed(), 4 * SECOND);
    assert!(ws.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn backpressure_shows_in_poll_ready() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let ws = common::accept(&listener).await;
        std::future::pending::<()>().await;
        drop(ws);
    });

    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .send_high_water_mark(64 << 10)
        .connect()
        .await
        .unwrap();
    let chunk = Message::Binary(vec![7u8; 64 << 10].into());
    // The server reads nothing: once the kernel buffers fill, `feed` must wait. Bounded by 256
    // MiB, far above any loopback buffer.
    let mut fed = 0;
    loop {
        assert!(fed < 4096, "poll_ready never applied backpressure");
        match tokio::time::timeout(SECOND, ws.feed(chunk.clone())).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        fed += 1;
    }
    assert!(fed > 1);
    assert!(ws.buffered_amount() >= 64 << 10, "{}", ws.buffered_amount());
}

#[tokio::test(start_paused = true)]
async fn connect_timeout_covers_a_stalled_tls_handshake() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        // Accepts TCP, then never answers the ClientHello.
        let (tcp, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(tcp);
    });

    let start = Instant::now();
    let err = Builder::new(format!("wss://127.0.0.1:{}/", addr.port()))
        .connect_timeout(2 * SECOND)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ConnectTimeout { host, port, timeout }
            if host == "127.0.0.1" && *port == addr.port() && *timeout == 2 * SECOND),
        "{err:?}"
    );
    assert_eq!(start.elapsed(), 2 * SECOND);
    assert_eq!(
        err.to_string(),
        format!("connecting to 127.0.0.1:{} timed out after 2s", addr.port())
    );
}

/// Counts the wake-ups of the task it stands for.
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn an_open_connection_without_keepalive_keeps_no_timer() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let ws = common::accept(&listener).await;
        // Open and silent.
        std::future::pending::<()>().await;
        drop(ws);
    });
    let (mut ws, _) = Builder::new(format!("ws://{addr}/"))
        .connect()
        .await
        .unwrap();
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(ws.poll_next_unpin(&mut cx).is_pending());
    // Well past the handshake's 10 s timeout, which no longer applies once open: nothing may
    // wake the reader.
    tokio::time::advance(60 * SECOND).await;
    assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
    assert!(ws.poll_next_unpin(&mut cx).is_pending());
}
