//! The reconnecting session against a server that drops, closes, then disappears.

mod common;

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

    let mut session = Builder::new(&format!("ws://{addr}/feed"))
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

    let mut session = Builder::new(&format!("ws://{addr}/"))
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
    let mut session = Builder::new(&format!("ws://{addr}/"))
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
    assert!(drained >= COUNT * 1000 / (32 << 10) / 2, "{log:?}");
    log.retain(|e| e != "Drained");
    assert_eq!(
        log,
        ["connected", "open 101", "closed 1000 \"\" clean=true"]
    );
    assert_eq!(server.await.unwrap(), (0..COUNT).collect::<Vec<_>>());
}
