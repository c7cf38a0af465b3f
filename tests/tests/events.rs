//! The std adapter's iterator of events against a tungstenite server on loopback: the same
//! events `read_event` gives, in order, ending after the close; messages that arrived together
//! taken ahead in one step, and given back in order when the iterator is dropped; none of them
//! handed out while receiving is paused; the event client taking and holding them back the same
//! way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::protocol::CloseFrame as TCloseFrame;
use tungstenite::Message as TMessage;
use ws_proto_std::{
    ClientHandle, CloseCode, CloseFrame, Error, Event, Handler, Message, ReadyState, Response,
    WebSocket,
};
use ws_proto_tests::servers::Server;

const BINARY: u32 = 100;

/// A server that sends `BINARY` numbered binary messages, a ping, three text messages and a
/// Close, all in one write, then reads until the client answers the Close; and a flag it
/// raises once all of it is written (on loopback, then in the client's receive buffer).
struct Burst {
    server: Server,
    sent: Arc<AtomicBool>,
}

fn burst() -> Burst {
    let sent = Arc::new(AtomicBool::new(false));
    let server = Server::start({
        let sent = sent.clone();
        move |mut ws, _| {
            for i in 0..BINARY {
                ws.write(TMessage::binary(i.to_be_bytes().to_vec()))
                    .unwrap();
            }
            ws.write(TMessage::Ping(b"p".to_vec().into())).unwrap();
            for text in ["a", "bc", "déf"] {
                ws.write(TMessage::text(text)).unwrap();
            }
            ws.close(Some(TCloseFrame {
                code: TCloseCode::Normal,
                reason: "done".into(),
            }))
            .unwrap();
            let _ = ws.flush();
            sent.store(true, Ordering::SeqCst);
            while ws.read().is_ok() {}
        }
    });
    Burst { server, sent }
}

/// Waits, at most 10 s, for `flag`.
fn wait_for(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the server never got there");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Connects and waits until the whole burst has arrived, so the first read takes it all.
fn connected(burst: &Burst) -> WebSocket {
    let url = format!("ws://{}/", burst.server.addr());
    let (ws, _) = ws_proto_std::connect(url.as_str()).unwrap();
    wait_for(&burst.sent);
    ws
}

fn binary(i: u32) -> Event {
    Event::Message(Message::Binary(Bytes::copy_from_slice(&i.to_be_bytes())))
}

/// Every event of the burst from message `from` on.
fn expected(from: u32) -> Vec<Event> {
    let mut events: Vec<Event> = (from..BINARY).map(binary).collect();
    events.push(Event::Ping(Bytes::from_static(b"p")));
    for text in ["a", "bc", "déf"] {
        events.push(Event::Message(Message::Text(text.into())));
    }
    events.push(Event::Close(CloseFrame {
        code: CloseCode::NORMAL,
        reason: "done".into(),
    }));
    events
}

#[test]
fn events_are_read_events_in_order_and_end_after_the_close() {
    let burst = burst();
    let ws = connected(&burst);
    let mut events = ws.events();
    assert_eq!(events.next().unwrap().unwrap(), binary(0));
    // The first message and the 64 behind it were taken from the core in one step.
    assert_eq!(ws.stats().messages_received, 65);
    let rest: Vec<Event> = events.by_ref().map(Result::unwrap).collect();
    assert_eq!(rest, expected(1));
    assert!(events.next().is_none());
    drop(events);
    assert!(matches!(ws.read_event(), Err(Error::AlreadyClosed)));
    assert!(ws
        .events()
        .next()
        .is_some_and(|e| matches!(e, Err(Error::AlreadyClosed))));
}

#[test]
fn a_dropped_iterator_gives_back_what_it_took_ahead_in_order() {
    let burst = burst();
    let ws = connected(&burst);
    let mut events = ws.events();
    assert_eq!(events.next().unwrap().unwrap(), binary(0));
    drop(events);
    // Messages 1 to 64 went back: every way of reading takes them first, in order.
    assert_eq!(Event::Message(ws.read().unwrap()), binary(1));
    assert_eq!(
        Event::Message(ws.read_with(|m| m.to_message()).unwrap()),
        binary(2)
    );
    assert_eq!(ws.read_event().unwrap(), binary(3));
    let mut events = ws.events();
    assert_eq!(events.next().unwrap().unwrap(), binary(4));
    // The 60 given back behind it were taken with it, and 4 more decoded to make 64.
    assert_eq!(ws.stats().messages_received, 69);
    drop(events);
    let rest: Vec<Event> = ws.events().map(Result::unwrap).collect();
    assert_eq!(rest, expected(5));
}

/// Runs `resume` after a while on another thread, noting first that it did.
fn resume_later(resume: impl FnOnce() + Send + 'static) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let resumed = Arc::new(AtomicBool::new(false));
    let thread = std::thread::spawn({
        let resumed = resumed.clone();
        move || {
            std::thread::sleep(Duration::from_millis(300));
            resumed.store(true, Ordering::SeqCst);
            resume();
        }
    });
    (resumed, thread)
}

#[test]
fn a_pause_holds_back_what_was_taken_ahead_until_the_resume() {
    let burst = burst();
    let ws = connected(&burst);
    let mut events = ws.events();
    assert_eq!(events.next().unwrap().unwrap(), binary(0));
    assert_eq!(ws.stats().messages_received, 65);
    // `pause_recv`: no message until `resume_recv`, decoded or not.
    ws.pause_recv();
    let (resumed, resumer) = resume_later({
        let ws = ws.clone();
        move || ws.resume_recv()
    });
    assert_eq!(events.next().unwrap().unwrap(), binary(1));
    assert!(resumed.load(Ordering::SeqCst), "handed out while paused");
    resumer.join().unwrap();
    let rest: Vec<Event> = events.map(Result::unwrap).collect();
    assert_eq!(rest, expected(2));
}

#[test]
fn a_pause_holds_back_what_an_iterator_gave_back() {
    let burst = burst();
    let ws = connected(&burst);
    let mut events = ws.events();
    assert_eq!(events.next().unwrap().unwrap(), binary(0));
    drop(events);
    ws.pause_recv();
    let (resumed, resumer) = resume_later({
        let ws = ws.clone();
        move || ws.resume_recv()
    });
    assert_eq!(
        ws.read().unwrap(),
        Message::Binary(Bytes::copy_from_slice(&1u32.to_be_bytes()))
    );
    assert!(resumed.load(Ordering::SeqCst), "read while paused");
    resumer.join().unwrap();
    let rest: Vec<Event> = ws.events().map(Result::unwrap).collect();
    assert_eq!(rest, expected(2));
}

/// The event client's handler for the burst: every event it reports as the `Event` a read
/// would give, pausing at the first message.
struct PauseAtFirst {
    /// The burst's flag, for `on_open` to wait for.
    sent: Arc<AtomicBool>,
    events: Vec<Event>,
    /// Messages the connection had decoded when the first reached the handler.
    decoded_at_first: u64,
    resumer: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    resumed_at_second: bool,
}

impl Handler for PauseAtFirst {
    fn on_open(&mut self, _: &ClientHandle, _: &Response) {
        // The whole burst arrives before the first read.
        wait_for(&self.sent);
    }
    fn on_message(&mut self, client: &ClientHandle, message: Message) {
        match self.events.len() {
            0 => {
                self.decoded_at_first = client.connection().unwrap().stats().messages_received;
                client.pause_recv();
                let client = client.clone();
                self.resumer = Some(resume_later(move || client.resume_recv()));
            }
            1 => {
                let (resumed, _) = self.resumer.as_ref().unwrap();
                self.resumed_at_second = resumed.load(Ordering::SeqCst);
            }
            _ => {}
        }
        self.events.push(Event::Message(message));
    }
    fn on_ping(&mut self, _: &ClientHandle, payload: &[u8]) {
        self.events
            .push(Event::Ping(Bytes::copy_from_slice(payload)));
    }
    fn on_close(&mut self, code: CloseCode, reason: &str) {
        self.events.push(Event::Close(CloseFrame {
            code,
            reason: reason.into(),
        }));
    }
}

#[test]
fn the_event_client_takes_messages_ahead_and_holds_them_back_while_paused() {
    let burst = burst();
    let builder = ws_proto_std::Builder::new(format!("ws://{}/", burst.server.addr()));
    let handler = PauseAtFirst {
        sent: burst.sent.clone(),
        events: Vec::new(),
        decoded_at_first: 0,
        resumer: None,
        resumed_at_second: false,
    };
    let handler = ws_proto_std::Client::new(builder, handler).run();
    let (_, resumer) = handler.resumer.unwrap();
    resumer.join().unwrap();
    assert_eq!(handler.decoded_at_first, 65);
    assert!(
        handler.resumed_at_second,
        "a message reached the handler while paused"
    );
    assert_eq!(handler.events, expected(0));
}

#[test]
fn an_answer_to_the_last_message_before_a_close_still_goes_out() {
    let (answers_tx, answers) = mpsc::channel();
    let answers_tx = Mutex::new(answers_tx);
    let sent = Arc::new(AtomicBool::new(false));
    let server = Server::start({
        let sent = sent.clone();
        move |mut ws, _| {
            for i in 0..10u32 {
                ws.write(TMessage::binary(i.to_be_bytes().to_vec()))
                    .unwrap();
            }
            ws.close(None).unwrap();
            let _ = ws.flush();
            sent.store(true, Ordering::SeqCst);
            let mut texts = Vec::new();
            while let Ok(message) = ws.read() {
                if let TMessage::Text(text) = message {
                    texts.push(text.to_string());
                }
            }
            answers_tx.lock().unwrap().send(texts).unwrap();
        }
    });
    let (ws, _) = ws_proto_std::connect(format!("ws://{}/", server.addr()).as_str()).unwrap();
    wait_for(&sent);
    let mut events = ws.events();
    for i in 0..10 {
        assert_eq!(events.next().unwrap().unwrap(), binary(i));
    }
    // The nine behind the first were taken with it; the Close behind them was not decoded.
    assert_eq!(ws.stats().messages_received, 10);
    assert_eq!(ws.ready_state(), ReadyState::Open);
    ws.send_text("answer to 9").unwrap();
    assert!(matches!(events.next().unwrap().unwrap(), Event::Close(_)));
    assert_eq!(
        answers.recv_timeout(Duration::from_secs(10)).unwrap(),
        ["answer to 9"]
    );
}

#[test]
fn the_event_client_sends_while_paused() {
    const SENT: usize = 20;
    let got = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let got = got.clone();
        move |mut ws, _| {
            while let Ok(message) = ws.read() {
                if message.is_binary() {
                    got.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    // Each message fills the send buffer: the next waits in the outbox for the connection's
    // `Drained`, which the paused client still takes (within its longest block, the close
    // timeout).
    let builder = ws_proto_std::Builder::new(format!("ws://{}/", server.addr()))
        .send_high_water_mark(1024)
        .close_timeout(Duration::from_millis(50));
    struct PauseAtOpen;
    impl Handler for PauseAtOpen {
        fn on_open(&mut self, client: &ClientHandle, _: &Response) {
            client.pause_recv();
        }
    }
    let client = ws_proto_std::Client::new(builder, PauseAtOpen);
    let handle = client.handle();
    let runner = std::thread::spawn(move || client.run());
    for _ in 0..SENT {
        handle.send(Message::binary(vec![7u8; 4096])).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.load(Ordering::SeqCst) < SENT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(got.load(Ordering::SeqCst), SENT);
    assert!(handle.is_recv_paused());
    handle.stop();
    runner.join().unwrap();
}
