//! The std adapter's `Feeder` against tungstenite servers on loopback: every message of a batch
//! arrives, exactly and in order, whichever feed queued it, through writes the high-water mark
//! forces in the middle of the batch, while another thread reads the server's echoes.

use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use tungstenite::Message as TMessage;
use ws_proto_std::{Builder, Message, MessageType};
use ws_proto_tests::servers::Server;

/// Collects every data message, then answers with how many arrived and whether they were the
/// batch `expected` gives, in order.
fn checking(count: usize) -> Server {
    Server::start(move |mut ws, _| {
        let mut got = Vec::new();
        while got.len() < count {
            match ws.read() {
                Ok(m) if m.is_text() || m.is_binary() => got.push(m),
                Ok(_) => {}
                Err(_) => return,
            }
        }
        let verdict = if got == expected(count) {
            "in order"
        } else {
            "wrong"
        };
        ws.send(TMessage::text(format!("{} {verdict}", got.len())))
            .unwrap();
        while ws.read().is_ok() {}
    })
}

/// `count` messages: numbered binary ones, with a text one every tenth.
fn expected(count: usize) -> Vec<TMessage> {
    (0..count)
        .map(|i| match i % 10 {
            9 => TMessage::text(format!("text {i}")),
            _ => TMessage::binary((i as u32).to_be_bytes().to_vec()),
        })
        .collect()
}

#[test]
fn a_batch_through_every_feed_arrives_whole_and_in_order() {
    const COUNT: usize = 1000;
    let server = checking(COUNT);
    let (ws, _) = Builder::new(format!("ws://{}/", server.addr()))
        .default_message_type(MessageType::Binary)
        .connect()
        .unwrap();
    let mut feeder = ws.feeder();
    for i in 0..COUNT {
        let number = (i as u32).to_be_bytes();
        match i % 10 {
            9 => feeder.feed_text(&format!("text {i}")).unwrap(),
            0 => feeder
                .feed(Message::Binary(Bytes::copy_from_slice(&number)))
                .unwrap(),
            5 => feeder.feed_default_type(&number).unwrap(),
            _ => feeder.feed_binary(&number).unwrap(),
        }
    }
    // Another thread's call on the connection waits while the feeder holds it.
    let (tx, rx) = mpsc::channel();
    let looker = {
        let ws = ws.clone();
        std::thread::spawn(move || tx.send(ws.is_open()).unwrap())
    };
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    feeder.flush().unwrap();
    drop(feeder);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    looker.join().unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("1000 in order".into()));
}

#[test]
fn a_batch_past_the_high_water_mark_is_written_as_it_goes_while_another_thread_reads() {
    const COUNT: u32 = 20_000;
    let server = Server::start(|mut ws, _| {
        // Echo each message back.
        while let Ok(m) = ws.read() {
            if m.is_binary() && ws.send(m).is_err() {
                return;
            }
        }
    });
    let (ws, _) = Builder::new(format!("ws://{}/", server.addr()))
        .send_high_water_mark(512)
        .connect()
        .unwrap();
    let reader = {
        let ws = ws.clone();
        std::thread::spawn(move || {
            (0..COUNT)
                .map(|_| match ws.read().unwrap() {
                    Message::Binary(data) => u32::from_be_bytes(data[..].try_into().unwrap()),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<u32>>()
        })
    };
    let mut feeder = ws.feeder();
    for i in 0..COUNT {
        feeder.feed_binary(&i.to_be_bytes()).unwrap();
    }
    feeder.flush().unwrap();
    drop(feeder);
    let echoed = reader.join().unwrap();
    assert_eq!(echoed, (0..COUNT).collect::<Vec<u32>>());
}
