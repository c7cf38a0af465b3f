//! The reconnecting session against a server that drops, closes, then disappears.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_proto_tokio::{Builder, CloseCode, Error, Message, ReconnectPolicy, SessionEvent};

/// A readable line per event, so the whole lifecycle is asserted at once.
fn describe(event: &SessionEvent) -> String {
    match event {
        SessionEvent::Connected => "connected".into(),
        SessionEvent::Open(r) => format!("open {}", r.status()),
        SessionEvent::Message(Message::Text(t)) => format!("text {t}"),
        SessionEvent::Message(Message::Binary(b)) => format!("binary {b:?}"),
        SessionEvent::Ping(p) => format!("ping {p:?}"),
        SessionEvent::Pong(p) => format!("pong {p:?}"),
        SessionEvent::Error(Error::Connect { attempts, .. }) => {
            format!("error connect {:?}", attempts[0].1.kind())
        }
        SessionEvent::Error(e) => format!("error {e}"),
        SessionEvent::Closed {
            code,
            reason,
            clean,
        } => format!("closed {} {reason:?} clean={clean}", code.as_u16()),
        SessionEvent::Reconnecting { attempt, delay } => {
            format!("reconnecting {attempt} after {delay:?}")
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn reconnects_after_drops_then_gives_up() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        // First connection: greet, then drop TCP without a Close.
        let mut ws = common::accept(&listener).await;
        ws.send(TMessage::text("first")).await.unwrap();
        drop(ws);
        // Second: echo the client's hello, then close cleanly.
        let mut ws = common::accept(&listener).await;
        let hello = ws.next().await.unwrap().unwrap();
        ws.send(hello).await.unwrap();
        ws.close(Some(TCloseFrame {
            code: TCloseCode::Restart,
            reason: "restarting".into(),
        }))
        .await
        .unwrap();
        while ws.next().await.is_some() {}
        // Then the server is gone: every later attempt is refused.
        drop(listener);
    });

    let mut session = Builder::new(format!("ws://{addr}/feed"))
        .session(ReconnectPolicy::fixed(Duration::from_secs(2)).with_max_attempts(2))
        .unwrap();
    let mut log = Vec::new();
    let mut opened = 0;
    while let Some(event) = session.next().await {
        assert!(log.len() < 30, "runaway session: {log:#?}");
        if let SessionEvent::Open(_) = event {
            opened += 1;
            if opened == 2 {
                session.try_feed(Message::text("hello again")).unwrap();
            }
        }
        log.push(describe(&event));
    }
    let eof = "error connection closed without a close handshake";
    let abnormal = "closed 1006 \"connection closed without a close handshake\" clean=false";
    assert_eq!(
        log,
        [
            "connected",
            "open 101",
            "text first",
            eof,
            abnormal,
            "reconnecting 1 after 2s",
            "connected",
            "open 101",
            "text hello again",
            "closed 1012 \"restarting\" clean=true",
            "reconnecting 1 after 2s",
            "error connect ConnectionRefused",
            "reconnecting 2 after 2s",
            "error connect ConnectionRefused",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn close_ends_the_session() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move { common::echo(common::accept(&listener).await).await });

    let mut session = Builder::new(format!("ws://{addr}/"))
        .session(ReconnectPolicy::fixed(Duration::from_secs(1)))
        .unwrap();
    let mut log = Vec::new();
    while let Some(event) = session.next_event().await {
        assert!(log.len() < 10, "runaway session: {log:#?}");
        match &event {
            SessionEvent::Connected => session.send_text("queued before open").await.unwrap(),
            SessionEvent::Message(_) => session.close(CloseCode::NORMAL, "done").await.unwrap(),
            _ => {}
        }
        log.push(describe(&event));
    }
    assert_eq!(
        log,
        [
            "connected",
            "open 101",
            "text queued before open",
            "closed 1000 \"done\" clean=true",
        ]
    );
    assert_eq!(server.await.unwrap(), Some((1000, "done".to_owned())));
}

/// Issue 16, item 4: a burst on a session waits for room with `send().await`, which drives the
/// session (connecting, reading the acknowledgements that make room) while it waits, and
/// `Drained` reports the room coming back.
#[tokio::test]
async fn a_burst_waits_for_room_and_everything_arrives_in_order() {
    const COUNT: usize = 2000;
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        let mut got = Vec::new();
        while let Some(Ok(message)) = ws.next().await {
            if let TMessage::Text(text) = message {
                got.push(text.split(' ').next().unwrap().parse::<usize>().unwrap());
            }
        }
        got
    });
    let mut session = Builder::new(format!("ws://{addr}/"))
        .outbox_limit(32 << 10)
        .session(ReconnectPolicy::never())
        .unwrap();
    let padding = "x".repeat(1000);
    for i in 0..COUNT {
        session
            .send_text(&format!("{i} {padding}")[..])
            .await
            .unwrap_or_else(|e| panic!("{i}: {e}"));
        assert!(session.buffered_amount() <= (32 << 10) + 1010);
    }
    session.close(CloseCode::NORMAL, "").await.unwrap();
    let mut log = Vec::new();
    while let Some(event) = session.next_event().await {
        log.push(describe(&event));
    }
    let drained = log.iter().filter(|e| *e == "Drained").count();
    let full = log.iter().filter(|e| *e == "BufferFull").count();
    assert!(drained >= COUNT * 1000 / (32 << 10) / 2, "{log:?}");
    // Each time the outbox fills it is reported, then its room coming back.
    assert_eq!(full, drained, "{log:?}");
    let mut pairs = log.iter().filter(|e| *e == "Drained" || *e == "BufferFull");
    while let (Some(a), Some(b)) = (pairs.next(), pairs.next()) {
        assert_eq!((a.as_str(), b.as_str()), ("BufferFull", "Drained"));
    }
    log.retain(|e| e != "Drained" && e != "BufferFull");
    assert_eq!(
        log,
        ["connected", "open 101", "closed 1000 \"\" clean=true"]
    );
    assert_eq!(server.await.unwrap(), (0..COUNT).collect::<Vec<_>>());
}

/// `pause_recv` stops reading: the server's writes stall once the kernel's buffers are full,
/// no message comes out meanwhile, and `resume_recv` delivers the rest whole and in order.
#[tokio::test]
async fn pause_recv_holds_the_server_back_and_resume_delivers_the_rest() {
    const COUNT: usize = 64;
    const SIZE: usize = 1 << 20;
    let (listener, addr) = common::listen().await;
    let written = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn({
        let written = written.clone();
        async move {
            let mut ws = common::accept(&listener).await;
            for n in 0..COUNT {
                ws.send(TMessage::binary(vec![n as u8; SIZE]))
                    .await
                    .unwrap();
                written.store(n + 1, Ordering::SeqCst);
            }
            ws.close(None).await.unwrap();
            while ws.next().await.is_some() {}
        }
    });
    let mut session = Builder::new(format!("ws://{addr}/"))
        .session(ReconnectPolicy::never())
        .unwrap();
    let mut received = 0;
    let mut log = Vec::new();
    while let Some(event) = session.next_event().await {
        match event {
            SessionEvent::Message(m) => {
                assert_eq!((m.len(), m.as_bytes()[0]), (SIZE, received as u8));
                received += 1;
                if received == 1 {
                    session.pause_recv();
                    assert!(session.is_recv_paused());
                    // Polled while paused: nothing comes out, and the server stalls.
                    let mut stalled_at = written.load(Ordering::SeqCst);
                    loop {
                        let idle =
                            tokio::time::timeout(Duration::from_millis(200), session.next_event())
                                .await;
                        assert!(idle.is_err(), "an event while paused: {idle:?}");
                        let now = written.load(Ordering::SeqCst);
                        if now == stalled_at {
                            break;
                        }
                        stalled_at = now;
                    }
                    assert!(stalled_at < COUNT, "{stalled_at}");
                    session.resume_recv();
                }
            }
            other => log.push(describe(&other)),
        }
    }
    assert_eq!(received, COUNT);
    assert_eq!(
        log,
        [
            "connected",
            "open 101",
            // The server closed without a status code.
            "closed 1005 \"\" clean=true"
        ]
    );
    server.await.unwrap();
}

/// `BufferFull` when a send fills the outbox, `Drained` when the server's pong to the
/// acknowledgement ping empties it.
#[tokio::test]
async fn buffer_full_then_drained() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move { common::echo(common::accept(&listener).await).await });
    let mut session = Builder::new(format!("ws://{addr}/"))
        .outbox_limit(4096)
        .session(ReconnectPolicy::never())
        .unwrap();
    session.try_feed(Message::binary(vec![0; 2048])).unwrap();
    session.try_feed(Message::binary(vec![1; 2048])).unwrap();
    assert!(matches!(
        session.try_feed(Message::binary(vec![2; 1])),
        Err(Error::Send(ws_proto_tokio::SendError::BufferFull { .. }))
    ));
    let mut log = Vec::new();
    while let Some(event) = session.next_event().await {
        let line = describe(&event);
        let drained = matches!(event, SessionEvent::Drained);
        log.push(line);
        if drained {
            session.close(CloseCode::NORMAL, "").await.unwrap();
        }
    }
    // The echoes come back too; the outbox's own pongs do not.
    assert_eq!(
        log,
        [
            "BufferFull",
            "connected",
            "open 101",
            &format!("binary {:?}", bytes::Bytes::from(vec![0u8; 2048])),
            &format!("binary {:?}", bytes::Bytes::from(vec![1u8; 2048])),
            "Drained",
            "closed 1000 \"\" clean=true"
        ]
    );
    assert_eq!(server.await.unwrap(), Some((1000, String::new())));
}
