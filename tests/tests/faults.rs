//! A hostile network between the client and a real server (tungstenite on loopback), made by
//! the fault relay: a dead peer, resets inside the handshake, a frame header, a payload and the
//! closing handshake, a server that stops reading, a server that trickles one byte at a time,
//! a close under a stall. Both adapters, and the reconnecting session and client for a dead
//! peer. Each case asserts the error, the close code and the time it took, within bounds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::Message as TMessage;
use ws_proto_std::{CloseCode, Error, Event, Message, SendError, Timeout};
use ws_proto_tests::block_on;
use ws_proto_tests::relay::{Faults, Plan, Relay};
use ws_proto_tests::servers::{Record, Server};

const PING: Duration = Duration::from_millis(200);
const PONG: Duration = Duration::from_millis(300);
/// What a timer may run late by on a loaded machine.
const SLACK: Duration = Duration::from_millis(400);

fn clean(_: usize) -> Plan {
    Plan::default()
}

/// A recording server and a relay in front of it with `plan`.
fn recorded(plan: impl Fn(usize) -> Plan + Send + Sync + 'static) -> (Record, Server, Relay) {
    let record = Record::default();
    let server = Server::start(record.handler());
    let relay = Relay::start(server.addr(), plan);
    (record, server, relay)
}

/// The lengths of the client's request and the server's 101, measured through a clean relay.
fn handshake_lengths() -> (u64, u64) {
    let (_record, _server, relay) = recorded(clean);
    let (ws, _) = ws_proto_std::connect(relay.url("/")).unwrap();
    let counts = relay.counts();
    let lengths = (
        counts.up_bytes.load(Ordering::SeqCst),
        counts.down_bytes.load(Ordering::SeqCst),
    );
    ws.close(CloseCode::NORMAL, "").unwrap();
    let _ = ws.read();
    lengths
}

fn assert_within(elapsed: Duration, least: Duration, most: Duration, what: &str) {
    assert!(
        elapsed >= least && elapsed <= most,
        "{what} after {elapsed:?}, expected {least:?} to {most:?}"
    );
}

// ---- a dead peer ----

/// `event` is the pong to a keepalive ping, with a round trip under the ping interval that the
/// socket's `rtt()` (read after it) also gives.
fn assert_keepalive_pong(event: Event, rtt: Option<Duration>) {
    let Event::Pong(pong) = event else {
        panic!("not a pong: {event:?}")
    };
    assert!(pong.payload.is_empty());
    assert!(pong.rtt.is_some_and(|rtt| rtt < PING));
    assert_eq!(rtt, pong.rtt);
}

#[test]
fn std_detects_a_dead_peer_within_ping_interval_plus_pong_timeout() {
    let (record, _server, relay) = recorded(clean);
    let (ws, _) = ws_proto_std::Builder::new(relay.url("/"))
        .ping_interval(PING)
        .pong_timeout(PONG)
        .connect()
        .unwrap();
    ws.send_text("before").unwrap();
    assert!(record.wait_for(1, Duration::from_secs(5)));
    // A live peer answers the keepalive ping: its round trip is measured.
    assert_keepalive_pong(ws.read_event().unwrap(), ws.rtt());
    assert_eq!((ws.stats().messages_sent, ws.stats().payload_sent), (1, 6));
    relay.blackhole_open_connections();
    let start = Instant::now();
    let err = ws.read().unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Pong)), "{err}");
    assert_eq!(err.close_code(), CloseCode::ABNORMAL);
    assert_within(start.elapsed(), PONG, PING + PONG + SLACK, "dead peer");
}

#[test]
fn tokio_detects_a_dead_peer_within_ping_interval_plus_pong_timeout() {
    let (record, _server, relay) = recorded(clean);
    block_on(async {
        let (mut ws, _) = ws_proto_tokio::Builder::new(relay.url("/"))
            .ping_interval(PING)
            .pong_timeout(PONG)
            .connect()
            .await
            .unwrap();
        ws.send_text("before").await.unwrap();
        assert!(record.wait_for(1, Duration::from_secs(5)));
        assert_keepalive_pong(ws.read_event().await.unwrap(), ws.rtt());
        assert_eq!((ws.stats().messages_sent, ws.stats().payload_sent), (1, 6));
        relay.blackhole_open_connections();
        let start = Instant::now();
        let err = ws.read().await.unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Pong)), "{err}");
        assert_within(start.elapsed(), PONG, PING + PONG + SLACK, "dead peer");
    });
}

#[test]
fn a_session_reconnects_after_a_dead_peer_and_delivers_what_followed() {
    use ws_proto_tokio::{ReconnectPolicy, SessionEvent};
    let (record, _server, relay) = recorded(clean);
    block_on(async {
        let mut session = ws_proto_tokio::Builder::new(relay.url("/"))
            .ping_interval(PING)
            .pong_timeout(PONG)
            .session(ReconnectPolicy::fixed(Duration::from_millis(20)))
            .unwrap();
        let mut opened = 0;
        let mut dead = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        while opened < 2 {
            assert!(Instant::now() < deadline, "no reconnection");
            let event = tokio::time::timeout(Duration::from_secs(5), session.next_event())
                .await
                .expect("an event within 5 s")
                .expect("the session goes on");
            match event {
                SessionEvent::Open(_) => {
                    opened += 1;
                    if opened == 1 {
                        session.send_text("first").await.unwrap();
                        assert!(record.wait_for(1, Duration::from_secs(5)));
                        relay.blackhole_open_connections();
                        dead = Some(Instant::now());
                    }
                }
                SessionEvent::Error(err) => {
                    assert!(matches!(err, Error::Timeout(Timeout::Pong)), "{err}");
                    let since = dead.expect("after the blackhole").elapsed();
                    assert_within(since, PONG, PING + PONG + SLACK, "dead peer");
                }
                _ => {}
            }
        }
        // The second connection carries what is sent now.
        session.send_text("second").await.unwrap();
        assert!(record.wait_for(2, Duration::from_secs(5)));
        assert_eq!(session.stats().map(|s| s.messages_sent), Some(1));
        // Its keepalive pings are answered, and their round trip measured.
        loop {
            let event = tokio::time::timeout(Duration::from_secs(5), session.next_event()).await;
            if let Ok(Some(SessionEvent::Pong(_))) = event {
                break;
            }
        }
        assert!(session.rtt().is_some_and(|rtt| rtt < PING));
        session.close(CloseCode::NORMAL, "").await.unwrap();
        while session.next_event().await.is_some() {}
    });
    assert_eq!(relay.counts().connections.load(Ordering::SeqCst), 2);
    let entries = record.entries();
    assert_eq!(entries[0], (0, "first".to_owned()));
    assert_eq!(entries[1].1, "second");
}

#[test]
fn the_std_client_reconnects_after_a_dead_peer() {
    use ws_proto_std::{Client, ClientHandle, Handler, ReconnectPolicy, Response};
    struct Opens(Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>);
    impl Handler for Opens {
        fn on_open(&mut self, client: &ClientHandle, _: &Response) {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            client.send_text(&format!("open {n}")).unwrap();
            if n == 1 {
                client.stop();
            }
        }
        fn on_error(&mut self, error: &Error) {
            self.1.lock().unwrap().push(error.to_string());
        }
    }
    let (record, _server, relay) = recorded(clean);
    let opens = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let builder = ws_proto_std::Builder::new(relay.url("/"))
        .ping_interval(PING)
        .pong_timeout(PONG);
    let client = Client::new(builder, Opens(opens.clone(), errors.clone()))
        .reconnect(ReconnectPolicy::fixed(Duration::from_millis(20)));
    let runner = std::thread::spawn(move || client.run());
    assert!(record.wait_for(1, Duration::from_secs(5)));
    relay.blackhole_open_connections();
    let start = Instant::now();
    assert!(record.wait_for(2, PING + PONG + SLACK + Duration::from_secs(2)));
    assert!(start.elapsed() >= PONG);
    runner.join().unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), 2);
    assert_eq!(
        *errors.lock().unwrap(),
        [Error::Timeout(Timeout::Pong).to_string()]
    );
    assert_eq!(
        record.entries(),
        [(0, "open 0".to_owned()), (1, "open 1".to_owned())]
    );
}

// ---- resets ----

/// A server that sends one 300-byte binary message on each connection, then reads until the
/// end (answering a Close).
fn sender_server() -> Server {
    Server::start(|mut ws, _| {
        if ws.send(TMessage::binary(vec![9u8; 300])).is_err() {
            return;
        }
        while ws.read().is_ok() {}
    })
}

/// Where a reset falls, in bytes from the server, given the 101's length `l`: the 300-byte
/// message has a 4-byte header.
fn reset_points(l: u64) -> [(&'static str, u64); 4] {
    [
        ("inside the 101", 20),
        ("inside a frame header", l + 2),
        ("inside a payload", l + 4 + 150),
        ("inside the server's Close", l + 4 + 300 + 2),
    ]
}

fn resetting_relay(upstream: SocketAddr, at: u64) -> Relay {
    Relay::start(upstream, move |_| Plan {
        up: Faults::none(),
        down: Faults {
            reset_after: Some(at),
            ..Faults::none()
        },
    })
}

/// A reset ends the connection with a transport error (or, when it came before the end of a
/// 101, a handshake that could not complete), close code 1006, never a clean close.
fn assert_reset(err: &Error, what: &str) {
    assert!(
        matches!(
            err,
            Error::Io(_) | Error::UnexpectedEof | Error::Handshake(_)
        ),
        "{what}: {err}"
    );
    assert_eq!(err.close_code(), CloseCode::ABNORMAL, "{what}");
}

#[test]
fn std_resets_end_the_connection_with_1006_wherever_they_fall() {
    let (_, l) = handshake_lengths();
    let server = sender_server();
    for (what, at) in reset_points(l) {
        let relay = resetting_relay(server.addr(), at);
        let start = Instant::now();
        let result = ws_proto_std::Builder::new(relay.url("/"))
            .close_timeout(Duration::from_secs(2))
            .connect();
        let err = match result {
            Err(err) => err,
            Ok((ws, _)) => {
                // Up to the payload, the message may or may not arrive whole before the reset.
                let mut end = ws.read();
                if let Ok(message) = &end {
                    assert_eq!(message, &Message::binary(vec![9u8; 300]), "{what}");
                    ws.close(CloseCode::NORMAL, "").unwrap();
                    end = ws.read();
                }
                end.unwrap_err()
            }
        };
        assert_reset(&err, what);
        assert!(start.elapsed() < Duration::from_secs(2), "{what}: no hang");
    }
}

#[test]
fn tokio_resets_end_the_connection_with_1006_wherever_they_fall() {
    let (_, l) = handshake_lengths();
    let server = sender_server();
    block_on(async {
        for (what, at) in reset_points(l) {
            let relay = resetting_relay(server.addr(), at);
            let start = Instant::now();
            let result = ws_proto_tokio::Builder::new(relay.url("/"))
                .close_timeout(Duration::from_secs(2))
                .connect()
                .await;
            let err = match result {
                Err(err) => err,
                Ok((mut ws, _)) => {
                    let mut end = ws.read().await;
                    if let Ok(message) = &end {
                        assert_eq!(message, &Message::binary(vec![9u8; 300]), "{what}");
                        ws.close(CloseCode::NORMAL, "").await.unwrap();
                        end = ws.read().await;
                    }
                    end.unwrap_err()
                }
            };
            assert_reset(&err, what);
            assert!(start.elapsed() < Duration::from_secs(2), "{what}: no hang");
        }
    });
}

// ---- a server that stops reading ----

const MESSAGE: usize = 16 << 10;
const MARK: usize = 256 << 10;
const COUNT: usize = 2000;

fn stops_reading(request: u64) -> impl Fn(usize) -> Plan + Send + Sync + 'static {
    move |_| Plan {
        up: Faults {
            stop_reading_after: Some(request + 64 * 1024),
            ..Faults::none()
        },
        down: Faults::none(),
    }
}

fn numbered(i: usize) -> Message {
    let mut text = format!("{i:06} ");
    text.push_str(&"x".repeat(MESSAGE - text.len()));
    Message::text(text)
}

/// `try_feed`s extra messages until the buffer is full: refused with `BufferFull` once the
/// buffered amount (`buffered` before the first) reaches the mark. Returns how many were taken.
fn fill(mut try_feed: impl FnMut(Message) -> Result<(), Error>, buffered: usize) -> usize {
    let most = (MARK.saturating_sub(buffered)).div_ceil(MESSAGE) + 1;
    for taken in 0..=most {
        match try_feed(Message::text(format!("extra {}", "x".repeat(MESSAGE - 6)))) {
            Ok(()) => {}
            Err(Error::Send(SendError::BufferFull { buffered, limit })) => {
                assert!(buffered >= limit);
                return taken;
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("more than {most} extra messages taken past the mark");
}

/// Every numbered message arrived, in order (a message may arrive twice in a row when
/// `repeats`), and the `extras`.
fn check_arrived(record: &Record, extras: usize, repeats: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut expected = 0;
    let mut extra = 0;
    while Instant::now() < deadline && (expected < COUNT || extra < extras) {
        std::thread::sleep(Duration::from_millis(20));
        (expected, extra) = (0, 0);
        for (_, text) in record.entries() {
            if text.starts_with("extra") {
                extra += 1;
                continue;
            }
            let n: usize = text[..6].parse().unwrap();
            assert_eq!(&text, numbered(n).to_text().unwrap(), "message {n} altered");
            assert!(
                n == expected || (repeats && n + 1 == expected),
                "{n} after {expected}"
            );
            expected = n + 1;
        }
    }
    assert_eq!((expected, extra), (COUNT, extras));
}

#[test]
fn std_sends_wait_at_the_high_water_mark_while_the_server_stops_reading() {
    let (request, _) = handshake_lengths();
    let (record, _server, relay) = recorded(stops_reading(request));
    let (ws, _) = ws_proto_std::Builder::new(relay.url("/"))
        .send_high_water_mark(MARK)
        .connect()
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (ws, sent) = (ws.clone(), sent.clone());
        std::thread::spawn(move || {
            for i in 0..COUNT {
                ws.send(numbered(i)).unwrap();
                sent.store(i + 1, Ordering::SeqCst);
            }
        })
    };
    // The sender stalls once the kernel's buffers and the high-water mark are full.
    let mut last = usize::MAX;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = sent.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        assert!(Instant::now() < deadline, "the sender never stalled");
        last = now;
    }
    assert!(last < COUNT, "all {COUNT} sent with the server not reading");
    let buffered = ws.buffered_amount();
    let extras = fill(|m| ws.try_feed(m), buffered);
    assert!(ws.buffered_amount() <= MARK + MESSAGE);
    relay.release();
    sender.join().unwrap();
    ws.flush().unwrap();
    check_arrived(&record, extras, false);
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
}

#[test]
fn tokio_sends_wait_at_the_high_water_mark_while_the_server_stops_reading() {
    let (request, _) = handshake_lengths();
    let (record, _server, relay) = recorded(stops_reading(request));
    block_on(async {
        let (ws, _) = ws_proto_tokio::Builder::new(relay.url("/"))
            .send_high_water_mark(MARK)
            .connect()
            .await
            .unwrap();
        let (mut writer, mut reader) = ws.split();
        // The reader keeps the connection going (pongs, the close) in its own task.
        let reading = tokio::spawn(async move { reader.read().await });
        let mut sent = 0;
        while sent < COUNT {
            match tokio::time::timeout(Duration::from_millis(500), writer.send(numbered(sent)))
                .await
            {
                Ok(result) => {
                    result.unwrap();
                    sent += 1;
                }
                // Stalled: a dropped send queued the message whole or not at all.
                Err(_) => break,
            }
        }
        assert!(sent < COUNT, "all {COUNT} sent with the server not reading");
        let buffered = writer.buffered_amount();
        let extras = fill(|m| writer.try_feed(m), buffered);
        assert!(writer.buffered_amount() <= MARK + MESSAGE);
        relay.release();
        for i in sent..COUNT {
            writer.send(numbered(i)).await.unwrap();
        }
        // The send the timeout cut short may have queued its message whole: it then arrives
        // twice, never cut.
        check_arrived(&record, extras, true);
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(reading.await.unwrap(), Err(Error::Closed { .. })));
    });
}

// ---- a server that trickles ----

fn trickle(_: usize) -> Plan {
    Plan {
        up: Faults::none(),
        down: Faults {
            segment: Some(1),
            latency: Duration::from_millis(1),
            ..Faults::none()
        },
    }
}

/// A server that sends three text messages, then reads until the end.
fn greeter() -> Server {
    Server::start(|mut ws, _| {
        for text in ["one", "two", &"three ".repeat(40)] {
            if ws.send(TMessage::text(text)).is_err() {
                return;
            }
        }
        while ws.read().is_ok() {}
    })
}

#[test]
fn a_slowloris_handshake_is_bounded_by_the_handshake_timeout_on_both_adapters() {
    let server = greeter();
    let relay = Relay::start(server.addr(), trickle);
    let limit = Duration::from_millis(60);
    let start = Instant::now();
    let err = ws_proto_std::Builder::new(relay.url("/"))
        .handshake_timeout(Some(limit))
        .connect()
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Handshake)), "{err}");
    assert_within(start.elapsed(), limit, limit + SLACK, "std handshake");
    block_on(async {
        let start = Instant::now();
        let err = ws_proto_tokio::Builder::new(relay.url("/"))
            .handshake_timeout(Some(limit))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Handshake)), "{err}");
        assert_within(start.elapsed(), limit, limit + SLACK, "tokio handshake");
    });
}

#[test]
fn frames_trickled_one_byte_at_a_time_are_decoded_whole_on_both_adapters() {
    let server = greeter();
    let relay = Relay::start(server.addr(), trickle);
    let expected = [
        Message::text("one"),
        Message::text("two"),
        Message::text("three ".repeat(40)),
    ];
    let (ws, _) = ws_proto_std::connect(relay.url("/")).unwrap();
    for message in &expected {
        assert_eq!(&ws.read().unwrap(), message);
    }
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    block_on(async {
        let (mut ws, _) = ws_proto_tokio::connect(relay.url("/")).await.unwrap();
        for message in &expected {
            assert_eq!(&ws.read().await.unwrap(), message);
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(ws.read().await, Err(Error::Closed { .. })));
    });
}

// ---- a close under a stall ----

const CLOSE: Duration = Duration::from_millis(300);

#[test]
fn a_close_under_a_stall_is_bounded_by_the_close_timeout_on_both_adapters() {
    let (_record, _server, relay) = recorded(clean);
    let (ws, _) = ws_proto_std::Builder::new(relay.url("/"))
        .close_timeout(CLOSE)
        .connect()
        .unwrap();
    relay.blackhole_open_connections();
    let start = Instant::now();
    ws.close(CloseCode::NORMAL, "").unwrap();
    let err = ws.read().unwrap_err();
    assert!(matches!(err, Error::Timeout(Timeout::Close)), "{err}");
    assert_within(start.elapsed(), CLOSE, CLOSE + SLACK, "std close");
    relay.release();
    block_on(async {
        let (mut ws, _) = ws_proto_tokio::Builder::new(relay.url("/"))
            .close_timeout(CLOSE)
            .connect()
            .await
            .unwrap();
        relay.blackhole_open_connections();
        let start = Instant::now();
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        let err = ws.read().await.unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Close)), "{err}");
        assert_within(start.elapsed(), CLOSE, CLOSE + SLACK, "tokio close");
    });
}

// ---- a send on a connection that just broke ----

#[test]
fn a_send_the_outbox_took_is_ok_even_when_its_write_meets_a_reset() {
    use ws_proto_tokio::{ReconnectPolicy, SessionEvent};
    let (record, _server, relay) = recorded(clean);
    block_on(async {
        let mut session = ws_proto_tokio::Builder::new(relay.url("/"))
            .session(ReconnectPolicy::fixed(Duration::from_millis(50)))
            .unwrap();
        session.send_text("a").await.unwrap();
        while !(session.is_open() && session.buffered_amount() == 0) {
            let _ = tokio::time::timeout(Duration::from_millis(10), session.next_event()).await;
        }
        relay.reset_open_connections();
        // Not polled meanwhile: the session has not seen the reset when it writes "b".
        tokio::time::sleep(Duration::from_millis(200)).await;
        session.send_text("b").await.unwrap();
        // The connection's end comes as events, "b" handed back unless it was acknowledged.
        let mut undelivered = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(5), session.next_event())
                .await
                .expect("events within 5 s")
                .expect("the session goes on");
            match event {
                SessionEvent::Undelivered(messages) => undelivered.extend(messages),
                SessionEvent::Reconnecting { .. } => break,
                _ => {}
            }
        }
        assert_eq!(undelivered, [Message::text("b")]);
        session.close(CloseCode::NORMAL, "").await.unwrap();
        while session.next_event().await.is_some() {}
    });
    assert_eq!(record.entries(), [(0, "a".to_owned())]);
}

// ---- two tasks on one connection ----

/// Messages the writer sends: 16 MiB, more than loopback's socket buffers hold.
const BULK: usize = 256;
const BULK_SIZE: usize = 64 << 10;
const PINGS: u8 = 8;

/// A server that reads nothing for a while: the client's writer fills the connection and waits
/// on it, then pings arrive, so the client's reader waits to write pongs too; then it reads
/// everything and reports what arrived as "messages pongs".
fn late_reader() -> Server {
    Server::start(|mut ws, _| {
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..PINGS {
            if ws.send(TMessage::Ping(vec![i].into())).is_err() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let (mut messages, mut pongs) = (0, 0);
        while messages < BULK || pongs < usize::from(PINGS) {
            match ws.read() {
                Ok(TMessage::Binary(data)) if data.len() == BULK_SIZE => messages += 1,
                Ok(TMessage::Pong(_)) => pongs += 1,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        let _ = ws.send(TMessage::text(format!("{messages} {pongs}")));
        while ws.read().is_ok() {}
    })
}

/// Runs the writer and the reader in tasks of their own; returns the server's report.
async fn writer_and_reader_tasks<W, R>(mut writer: W, mut reader: R) -> String
where
    W: futures_util::Sink<ws_proto_tokio::Message, Error = ws_proto_tokio::Error>
        + Unpin
        + Send
        + 'static,
    R: futures_util::Stream<Item = Result<ws_proto_tokio::Event, ws_proto_tokio::Error>>
        + Unpin
        + Send
        + 'static,
{
    use futures_util::{SinkExt, StreamExt};
    use ws_proto_tokio::{Event, Message};
    let writing = tokio::spawn(async move {
        for _ in 0..BULK {
            // `send` waits for the write to finish: a flush that no readiness wakes hangs here.
            writer.send(Message::binary(vec![7; BULK_SIZE])).await?;
        }
        Ok::<_, ws_proto_tokio::Error>(writer)
    });
    let reading = tokio::spawn(async move {
        while let Some(event) = reader.next().await {
            if let Event::Message(Message::Text(report)) = event.map_err(|e| e.to_string())? {
                return Ok(report.to_string());
            }
        }
        Err("the stream ended before the report".to_string())
    });
    let limit = Duration::from_secs(20);
    let mut writer = tokio::time::timeout(limit, writing)
        .await
        .expect("the writer was never woken")
        .unwrap()
        .unwrap();
    let report = tokio::time::timeout(limit, reading)
        .await
        .expect("the reader was never woken")
        .unwrap()
        .unwrap();
    writer.close().await.unwrap();
    report
}

#[test]
fn split_halves_in_two_tasks_both_wake_when_both_wait_to_write() {
    let server = late_reader();
    let url = format!("ws://{}/", server.addr());
    let expected = format!("{BULK} {PINGS}");
    block_on(async {
        let (ws, _) = ws_proto_tokio::connect(url.as_str()).await.unwrap();
        let (writer, reader) = ws.split();
        assert_eq!(writer_and_reader_tasks(writer, reader).await, expected);
        // The habit of tokio-tungstenite's users: the halves of `StreamExt::split`.
        let (ws, _) = ws_proto_tokio::connect(url.as_str()).await.unwrap();
        let (writer, reader) = futures_util::StreamExt::split(ws);
        assert_eq!(writer_and_reader_tasks(writer, reader).await, expected);
    });
}
