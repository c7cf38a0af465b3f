//! The std adapter's iterator of events against a tungstenite server on loopback: the same
//! events `read_event` gives, in order, ending after the close; messages that arrived together
//! taken ahead in one step, and given back in order when the iterator is dropped; none of them
//! handed out while receiving is paused; the event client taking and holding them back the same
//! way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::protocol::CloseFrame as TCloseFrame;
use tungstenite::Message as TMessage;
use ws_proto_std::{
    ClientHandle, CloseCode, CloseFrame, Error, Event, Handler, Message, Response, WebSocket,
};
use ws_proto_tests::servers::Server;

const BINARY: u32 = 100;

/// Sends `BINARY` numbered binary messages, a ping, three text messages and a Close, all in
/// one write, then reads until the client answers the Close.
fn burst() -> Server {
    Server::start(|mut ws, _| {
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
        while ws.read().is_ok() {}
    })
}

/// Connects and waits until the whole burst has arrived, so the first read takes it all.
fn connected(server: &Server) -> WebSocket {
    let (ws, _) = ws_proto_std::connect(format!("ws://{}/", server.addr()).as_str()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
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
    let server = burst();
    let ws = connected(&server);
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
    let server = burst();
    let ws = connected(&server);
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
    // Nothing more was taken while given-back messages remained.
    assert_eq!(ws.stats().messages_received, 65);
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
    let server = burst();
    let ws = connected(&server);
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
    let server = burst();
    let ws = connected(&server);
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
#[derive(Default)]
struct PauseAtFirst {
    events: Vec<Event>,
    /// Messages the connection had decoded when the first reached the handler.
    decoded_at_first: u64,
    resumer: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    resumed_at_second: bool,
}

impl Handler for PauseAtFirst {
    fn on_open(&mut self, _: &ClientHandle, _: &Response) {
        // The whole burst arrives before the first read.
        std::thread::sleep(Duration::from_millis(200));
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
    let server = burst();
    let builder = ws_proto_std::Builder::new(format!("ws://{}/", server.addr()));
    let handler = ws_proto_std::Client::new(builder, PauseAtFirst::default()).run();
    let (_, resumer) = handler.resumer.unwrap();
    resumer.join().unwrap();
    assert_eq!(handler.decoded_at_first, 65);
    assert!(
        handler.resumed_at_second,
        "a message reached the handler while paused"
    );
    assert_eq!(handler.events, expected(0));
}
