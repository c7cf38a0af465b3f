//! The send path: masking, batching, the queue before open, the high-water mark and drain.

use ws_proto::{Config, Event, MessageType, SendError};
use ws_proto_tests::{frame, Pair};

#[test]
fn every_frame_masked_with_a_fresh_key_and_minimal_length() {
    let mut pair = Pair::open();
    for len in [0usize, 1, 125, 126, 65535, 65536] {
        pair.client.send_binary(&vec![0xAB; len]).unwrap();
    }
    pair.drain();
    let frames = pair.server_frames(); // asserts masked + minimal length
    assert_eq!(frames.len(), 6);
    let mut keys: Vec<_> = frames.iter().map(|f| f.mask.unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 6, "distinct masking keys");
    for (f, len) in frames.iter().zip([0usize, 1, 125, 126, 65535, 65536]) {
        assert_eq!(
            (f.opcode, f.fin, f.rsv, f.payload.len()),
            (0x2, true, 0, len)
        );
        assert!(f.payload.iter().all(|&b| b == 0xAB));
    }
}

#[test]
fn many_small_sends_become_one_contiguous_write() {
    let mut pair = Pair::open();
    for i in 0..100 {
        pair.client.send_text(&format!("m{i}")).unwrap();
    }
    let chunk = pair.client.poll_transmit().expect("one chunk");
    assert!(pair.client.poll_transmit().is_none());
    let mut buf = bytes::BytesMut::from(&chunk[..]);
    let frames = ws_proto_tests::parse_client_frames(&mut buf);
    assert_eq!(frames.len(), 100);
    assert_eq!(frames[99].payload, b"m99");
}

#[test]
fn sends_before_open_are_queued_in_order_and_go_first() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("one").unwrap();
    pair.client.send_binary(b"two").unwrap();
    pair.client.send_ping(b"three").unwrap();
    assert_eq!(pair.client.buffered_amount(), 3 * 6 + 3 + 3 + 5);
    pair.drain();
    assert!(pair.to_server.is_empty(), "nothing before the 101");
    // The server's 101 arrives with a ping: the queued messages still go before the pong.
    // Frames are decoded as their events are polled, so what the user sends on `Open` goes
    // before the pong too: the output follows the order of the events.
    let mut input = ws_proto_tests::accept_response(&pair.key(), "").into_bytes();
    input.extend(frame(0x9, b"srv"));
    pair.client.handle_input(&input, pair.now);
    // The user reacts to Open by sending: after the queue.
    assert!(matches!(pair.client.poll_event(), Some(Event::Open(_))));
    pair.client.send_text("four").unwrap();
    pair.drain();
    let got: Vec<(u8, Vec<u8>)> = pair
        .server_frames()
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect();
    assert_eq!(
        got,
        [
            (0x1, b"one".to_vec()),
            (0x2, b"two".to_vec()),
            (0x9, b"three".to_vec()),
            (0x1, b"four".to_vec()),
            (0xA, b"srv".to_vec())
        ]
    );
}

#[test]
fn high_water_mark_refuses_then_drains() {
    let mut config = Config::default();
    config.send_high_water_mark(100);
    let mut pair = Pair::new(config);
    pair.client.send_binary(&[0; 60]).unwrap();
    assert!(pair.client.is_writable());
    pair.client.send_binary(&[0; 60]).unwrap(); // crosses the mark: accepted
    assert!(!pair.client.is_writable());
    let before = pair.client.buffered_amount();
    assert_eq!(before, 2 * (60 + 6));
    assert_eq!(
        pair.client.send_text("x"),
        Err(SendError::BufferFull {
            buffered: before,
            limit: 100
        })
    );
    assert_eq!(
        pair.client.buffered_amount(),
        before,
        "a refused send changes nothing"
    );
    pair.drain();
    assert!(pair.events.is_empty());
    // Open releases the queue; handing it out drains the buffer.
    pair.accept("");
    assert!(matches!(pair.events[0], Event::Open(_)));
    assert_eq!(pair.events[1], Event::Drained);
    assert_eq!(pair.client.buffered_amount(), 0);
    pair.client.send_text("x").unwrap();
}

#[test]
fn default_message_type_and_local_misuse() {
    let mut config = Config::default();
    config.default_message_type(MessageType::Binary);
    let mut pair = Pair::open_with(config);
    pair.client.send(&[0xFF]).unwrap();
    pair.drain();
    assert_eq!(pair.server_frames()[0].opcode, 0x2);

    let mut pair = Pair::open();
    assert_eq!(pair.client.send(&[0xFF]), Err(SendError::InvalidUtf8));
    pair.client.send(b"text").unwrap();
    assert_eq!(
        pair.client.send_ping(&[0; 126]),
        Err(SendError::ControlTooLong(126))
    );
    pair.client.send_ping(&[0; 125]).unwrap();
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(
        frames.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [0x1, 0x9]
    );
}
