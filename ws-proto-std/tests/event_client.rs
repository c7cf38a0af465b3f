//! The event client (Workerman-style callbacks and reconnection) against tungstenite servers.

// tungstenite's handshake callback type returns its large `http::Response` as the error.
#![allow(clippy::result_large_err)]

mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::protocol::CloseFrame;
use ws_proto_std::{
    Builder, Client, ClientHandle, CloseCode, Error, Handler, Message, ReconnectPolicy, Response,
};

/// Records every callback as a line.
#[derive(Default)]
struct Recorder {
    log: Vec<String>,
    opened: Option<mpsc::Sender<()>>,
}

impl Handler for Recorder {
    fn on_connect(&mut self, client: &ClientHandle) {
        self.log.push("connect".into());
        // Sent before the handshake completes: queued, and delivered first.
        client.send_text("queued 1").unwrap();
        client.send_text("queued 2").unwrap();
    }

    fn on_open(&mut self, client: &ClientHandle, response: &Response) {
        self.log.push(format!("open {}", response.status()));
        client.send_text("after open").unwrap();
        if let Some(opened) = &self.opened {
            opened.send(()).unwrap();
        }
    }

    fn on_undelivered(&mut self, messages: Vec<Message>) {
        let texts: Vec<&str> = messages.iter().map(|m| m.to_text().unwrap()).collect();
        self.log.push(format!("undelivered {}", texts.join(", ")));
    }

    fn on_message(&mut self, _: &ClientHandle, message: Message) {
        match message {
            Message::Text(t) => self.log.push(format!("text {t}")),
            Message::Binary(b) => self.log.push(format!("binary {b:?}")),
        }
    }

    fn on_close(&mut self, code: CloseCode, reason: &str) {
        self.log.push(format!("close {} {reason}", code.as_u16()));
    }

    fn on_error(&mut self, error: &Error) {
        let kind = match error {
            Error::Connect { .. } => "connect".to_owned(),
            Error::UnexpectedEof => "eof".to_owned(),
            Error::Rejected(r) => format!("rejected {}", r.status()),
            other => format!("other {other}"),
        };
        self.log.push(format!("error {kind}"));
    }
}

/// Reads the three messages the recorder sends on every connection, in order, past the
/// outbox's acknowledgement pings (which tungstenite answers by itself).
fn expect_queued_then_open<S: std::io::Read + std::io::Write>(ws: &mut tungstenite::WebSocket<S>) {
    for expected in ["queued 1", "queued 2", "after open"] {
        let message = loop {
            match ws.read().unwrap() {
                tungstenite::Message::Ping(_) => {}
                message => break message,
            }
        };
        assert_eq!(message, tungstenite::Message::text(expected));
    }
}

/// Answers the client's pending acknowledgement pings (reading for a moment), so that the
/// connection can then be dropped with nothing unread: a clean EOF, not a reset.
fn settle(ws: &mut tungstenite::WebSocket<std::net::TcpStream>) {
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while ws.read().is_ok() {}
    let _ = ws.flush();
}

#[test]
fn reconnects_after_the_server_drops_and_gives_up_after_the_attempt_limit() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        // First connection: one message, then the TCP connection is dropped without a Close.
        let mut ws = server::accept(&l);
        expect_queued_then_open(&mut ws);
        ws.send(tungstenite::Message::text("one")).unwrap();
        settle(&mut ws);
        drop(ws);
        // Second connection: one message and a clean close.
        let mut ws = server::accept(&l);
        // Nothing listens any more: the next attempt is refused.
        drop(l);
        expect_queued_then_open(&mut ws);
        ws.send(tungstenite::Message::text("two")).unwrap();
        ws.close(Some(CloseFrame {
            code: TCloseCode::Normal,
            reason: "bye".into(),
        }))
        .unwrap();
        while ws.read().is_ok() {}
    });
    let client = Client::new(Builder::new(&url), Recorder::default())
        .reconnect(ReconnectPolicy::fixed(Duration::from_millis(20)).with_max_attempts(1));
    let recorder = client.run();
    server.join().unwrap();
    assert_eq!(
        recorder.log,
        [
            "connect",
            "open 101",
            "text one",
            "error eof",
            "close 1006 connection closed without a close handshake",
            "connect",
            "open 101",
            "text two",
            "close 1000 bye",
            // The attempt count restarted after the successful second handshake: one more try.
            "error connect",
        ]
    );
}

#[test]
fn failed_attempts_are_reported_and_limited() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        for _ in 0..3 {
            let response = tungstenite::http::Response::builder()
                .status(503)
                .body(None)
                .unwrap();
            server::refuse(&l, response);
        }
    });
    let client = Client::new(Builder::new(&url), Recorder::default()).reconnect(
        ReconnectPolicy::exponential(Duration::from_millis(5), Duration::from_millis(20))
            .with_max_attempts(2),
    );
    let recorder = client.run();
    server.join().unwrap();
    let attempt = [
        "connect",
        "error rejected 503",
        "close 1006 handshake rejected by the server: 503 Service Unavailable",
    ];
    // What each attempt's `on_connect` sent never went out: it waits for the next attempt,
    // and when the policy gives up it is handed back, in order.
    let undelivered = ["undelivered queued 1, queued 2, queued 1, queued 2, queued 1, queued 2"];
    assert_eq!(
        recorder.log,
        [&attempt[..], &attempt, &attempt, &undelivered].concat()
    );
}

#[test]
fn stop_closes_the_connection_and_ends_run() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        expect_queued_then_open(&mut ws);
        server::echo(ws)
    });
    let (opened_tx, opened_rx) = mpsc::channel();
    let recorder = Recorder {
        opened: Some(opened_tx),
        ..Recorder::default()
    };
    let client = Client::new(Builder::new(&url), recorder)
        .reconnect(ReconnectPolicy::fixed(Duration::from_millis(10)));
    let handle = client.handle();
    let runner = std::thread::spawn(move || client.run());
    opened_rx.recv_timeout(server::IO_TIMEOUT).unwrap();
    handle.send_text("from outside").unwrap();
    handle.stop();
    assert!(handle.is_stopped());
    let recorder = runner.join().unwrap();
    let close = server.join().unwrap().unwrap();
    assert_eq!(close.code, TCloseCode::Normal);
    assert_eq!(
        recorder.log,
        ["connect", "open 101", "text from outside", "close 1000 "]
    );
    assert!(handle.connection().is_none());
}

/// Counts the messages it gets, and pauses receiving at the first.
struct Pauser {
    received: Arc<AtomicUsize>,
    paused: mpsc::Sender<()>,
    sizes_ok: bool,
}

impl Handler for Pauser {
    fn on_message(&mut self, client: &ClientHandle, message: Message) {
        let n = self.received.fetch_add(1, Ordering::SeqCst);
        // Each message is filled with its own number.
        self.sizes_ok &= message.len() == PAUSE_MESSAGE && message.as_bytes()[0] == n as u8;
        if n == 0 {
            client.pause_recv();
            assert!(client.is_recv_paused());
            self.paused.send(()).unwrap();
        }
    }
}

const PAUSE_MESSAGES: usize = 64;
const PAUSE_MESSAGE: usize = 1 << 20;

#[test]
fn pause_recv_stops_reading_so_the_server_is_held_back_and_resume_delivers_the_rest() {
    let (listener, url) = server::listen();
    let written = Arc::new(AtomicUsize::new(0));
    let server = server::spawn(listener, {
        let written = written.clone();
        move |l| {
            let mut ws = server::accept(&l);
            for n in 0..PAUSE_MESSAGES {
                ws.send(tungstenite::Message::binary(vec![n as u8; PAUSE_MESSAGE]))
                    .unwrap();
                written.store(n + 1, Ordering::SeqCst);
            }
            ws.close(None).unwrap();
            server::echo(ws)
        }
    });
    let received = Arc::new(AtomicUsize::new(0));
    let (paused_tx, paused_rx) = mpsc::channel();
    let pauser = Pauser {
        received: received.clone(),
        paused: paused_tx,
        sizes_ok: true,
    };
    let client = Client::new(Builder::new(&url), pauser);
    let handle = client.handle();
    let runner = std::thread::spawn(move || client.run());
    paused_rx.recv_timeout(server::IO_TIMEOUT).unwrap();
    // The server fills the kernel's buffers, then its writes block: 64 MiB cannot fit.
    let mut stalled_at = written.load(Ordering::SeqCst);
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = written.load(Ordering::SeqCst);
        if now == stalled_at {
            break;
        }
        stalled_at = now;
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(written.load(Ordering::SeqCst), stalled_at, "held back");
    assert!(stalled_at < PAUSE_MESSAGES, "{stalled_at}");
    assert_eq!(
        received.load(Ordering::SeqCst),
        1,
        "nothing delivered while paused"
    );
    handle.resume_recv();
    assert!(!handle.is_recv_paused());
    let pauser = runner.join().unwrap();
    assert_eq!(received.load(Ordering::SeqCst), PAUSE_MESSAGES);
    assert!(pauser.sizes_ok, "every message whole and in order");
    assert_eq!(written.load(Ordering::SeqCst), PAUSE_MESSAGES);
    server.join().unwrap();
}

/// Logs the outbox's fill and drain callbacks around three sends.
#[derive(Default)]
struct Filler {
    log: Vec<String>,
}

impl Handler for Filler {
    fn on_open(&mut self, client: &ClientHandle, _: &Response) {
        for n in 0..3 {
            let sent = client.try_send(Message::binary(vec![n; 2048]));
            self.log.push(format!("send {n} {}", sent.is_ok()));
        }
    }

    fn on_buffer_full(&mut self, _: &ClientHandle) {
        self.log.push("full".into());
    }

    fn on_drain(&mut self, client: &ClientHandle) {
        self.log.push("drain".into());
        client.stop();
    }
}

#[test]
fn on_buffer_full_then_on_drain_as_the_outbox_fills_and_is_acknowledged() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| server::echo(server::accept(&l)));
    let client = Client::new(Builder::new(&url).outbox_limit(4096), Filler::default());
    let filler = client.run();
    // The second send reaches the 4 KiB limit, the third is refused; the server's pong to
    // the acknowledgement ping empties the outbox.
    assert_eq!(
        filler.log,
        [
            "send 0 true",
            "send 1 true",
            "send 2 false",
            "full",
            "drain"
        ]
    );
    assert_eq!(server.join().unwrap().unwrap().code, TCloseCode::Normal);
}
