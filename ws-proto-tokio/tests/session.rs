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
    assert!(matches!(
        session.send_text("too early"),
        Err(Error::NotConnected)
    ));
    let mut log = Vec::new();
    let mut opened = 0;
    while let Some(event) = session.next().await {
        assert!(log.len() < 30, "runaway session: {log:#?}");
        if let SessionEvent::Open(_) = event {
            opened += 1;
            if opened == 2 {
                session.send_text("hello again").unwrap();
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
            SessionEvent::Connected => session.send(b"queued before open").unwrap(),
            SessionEvent::Message(_) => session.close(CloseCode::NORMAL, "done").unwrap(),
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
