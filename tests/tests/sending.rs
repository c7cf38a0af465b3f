//! The send path: masking, batching, the queue before open, the high-water mark and drain.

use bytes::Bytes;
use ws_proto::{Config, Event, Message, MessageType, SendError, Transmit};
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
    let transmit = pair.client.poll_transmit().expect("one transmit");
    assert!(pair.client.poll_transmit().is_none());
    assert!(transmit.body().is_empty());
    let mut buf = bytes::BytesMut::from(transmit.head());
    let frames = ws_proto_tests::parse_client_frames(&mut buf);
    assert_eq!(frames.len(), 100);
    assert_eq!(frames[99].payload, b"m99");
}

#[test]
fn sends_before_open_are_queued_in_order_and_go_first() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("one").unwrap();
    pair.client.send_binary(b"two").unwrap();
    pair.client.send_ping(b"three", pair.now).unwrap();
    assert_eq!(pair.client.buffered_amount(), 3 * 6 + 3 + 3 + 5);
    pair.drain();
    assert!(pair.to_server.is_empty(), "nothing before the 101");
    // The server's 101 arrives with a ping: the queued messages still go before the pong.
    // Frames are decoded as their events are polled, so what the user sends on `Open` goes
    // before the pong too: the output follows the order of the events.
    let mut input = ws_proto_tests::accept_response(&pair.key(), "").into_bytes();
    input.extend(frame(0x9, b"srv"));
    pair.client.handle_input(&input, pair.now).unwrap();
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
    pair.client.send_default_type(&[0xFF]).unwrap();
    pair.drain();
    assert_eq!(pair.server_frames()[0].opcode, 0x2);

    let mut pair = Pair::open();
    assert_eq!(
        pair.client.send_default_type(&[0xFF]),
        Err(SendError::InvalidUtf8)
    );
    pair.client.send_default_type(b"text").unwrap();
    assert_eq!(
        pair.client.send_ping(&[0; 126], pair.now),
        Err(SendError::ControlTooLong(126))
    );
    pair.client.send_ping(&[0; 125], pair.now).unwrap();
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(
        frames.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [0x1, 0x9]
    );
}

/// The transmits `poll_transmit` hands out until `None`.
fn transmits(client: &mut ws_proto::ClientState) -> Vec<Transmit> {
    std::iter::from_fn(|| client.poll_transmit()).collect()
}

/// The lengths of each transmit's head and body.
fn shape(transmits: &[Transmit]) -> Vec<(usize, usize)> {
    transmits
        .iter()
        .map(|t| (t.head().len(), t.body().len()))
        .collect()
}

/// The opcodes and payloads of the client frames in `transmits`, in order; asserts whole,
/// masked, minimal frames.
fn frames_in(transmits: &[Transmit]) -> Vec<(u8, Vec<u8>)> {
    let wire: Vec<u8> = transmits.iter().flat_map(Transmit::to_vec).collect();
    let mut buf = bytes::BytesMut::from(&wire[..]);
    let frames = ws_proto_tests::parse_client_frames(&mut buf);
    assert!(buf.is_empty(), "whole frames only");
    frames.into_iter().map(|f| (f.opcode, f.payload)).collect()
}

fn pattern(len: usize, modulo: usize) -> Vec<u8> {
    (0..len).map(|i| (i % modulo) as u8).collect()
}

#[test]
fn an_owned_large_payload_is_masked_in_place_and_not_copied() {
    let mut pair = Pair::open();
    let large = pattern(100_000, 251);
    let text = "é".repeat(40_000);
    let (large_sent, text_sent) = (Bytes::from(large.clone()), text.clone());
    let (large_at, text_at) = (large_sent.as_ptr(), text_sent.as_ptr());
    pair.client.send_text("before").unwrap();
    pair.client
        .send_message(Message::Binary(large_sent))
        .unwrap();
    pair.client
        .send_message(Message::Text(text_sent.into()))
        .unwrap();
    pair.client.send_binary(b"after").unwrap();
    // Headers: 2 + 4 for "before", 10 + 4 for each 64-bit length, 2 + 4 for "after".
    let want = (6 + 6) + (14 + 100_000) + (14 + 80_000) + (6 + 5);
    assert_eq!(pair.client.buffered_amount(), want);

    // Each uncopied payload leaves with the frames before it and its own header.
    let transmits = transmits(&mut pair.client);
    assert_eq!(
        shape(&transmits),
        [(12 + 14, 100_000), (14, 80_000), (11, 0)]
    );
    // The payloads went out from the memory they were sent in.
    assert_eq!(
        (transmits[0].body().as_ptr(), transmits[1].body().as_ptr()),
        (large_at, text_at)
    );
    assert_eq!(pair.client.buffered_amount(), 0);
    let frames = frames_in(&transmits);
    assert_eq!(
        frames.iter().map(|f| (f.0, f.1.len())).collect::<Vec<_>>(),
        [(0x1, 6), (0x2, 100_000), (0x1, 80_000), (0x2, 5)]
    );
    assert!(frames[1].1 == large && frames[2].1 == text.as_bytes());
}

#[test]
fn a_shared_or_small_owned_payload_is_copied_and_left_as_it_was() {
    let mut pair = Pair::open();
    let shared = Bytes::from(pattern(100_000, 241));
    let kept = shared.clone();
    pair.client.send_message(Message::Binary(shared)).unwrap();
    pair.client
        .send_message(Message::Binary(Bytes::from(pattern(1000, 7))))
        .unwrap();
    let transmits = transmits(&mut pair.client);
    assert_eq!(
        shape(&transmits),
        [(100_014 + 1_008, 0)],
        "both copied into one buffer"
    );
    assert!(
        kept[..] == pattern(100_000, 241)[..],
        "the shared copy is untouched"
    );
    let frames = frames_in(&transmits);
    assert!(frames == [(0x2, pattern(100_000, 241)), (0x2, pattern(1000, 7))]);
}

#[test]
fn owned_payloads_queued_before_open_keep_their_place() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("one").unwrap();
    pair.client
        .send_message(Message::Binary(Bytes::from(pattern(70_000, 13))))
        .unwrap();
    pair.client.send_text("two").unwrap();
    assert!(
        transmits(&mut pair.client).is_empty(),
        "nothing before the 101"
    );
    let response = ws_proto_tests::accept_response(&pair.key(), "");
    pair.client
        .handle_input(response.as_bytes(), pair.now)
        .unwrap();
    assert!(matches!(pair.client.poll_event(), Some(Event::Open(_))));
    pair.client
        .send_message(Message::Binary(Bytes::from(pattern(80_000, 17))))
        .unwrap();
    pair.client.send_text("three").unwrap();
    let transmits = transmits(&mut pair.client);
    assert_eq!(
        shape(&transmits),
        [(9 + 14, 70_000), (9 + 14, 80_000), (11, 0)]
    );
    let frames = frames_in(&transmits);
    assert!(
        frames
            == [
                (0x1, b"one".to_vec()),
                (0x2, pattern(70_000, 13)),
                (0x1, b"two".to_vec()),
                (0x2, pattern(80_000, 17)),
                (0x1, b"three".to_vec()),
            ]
    );
}

#[test]
fn an_owned_payload_counts_toward_the_high_water_mark() {
    let mut config = Config::default();
    config.send_high_water_mark(100_000);
    let mut pair = Pair::open_with(config);
    pair.client
        .send_message(Message::Binary(Bytes::from(pattern(100_000, 3))))
        .unwrap();
    assert!(!pair.client.is_writable());
    assert_eq!(
        pair.client
            .send_message(Message::Binary(Bytes::from(pattern(10, 3)))),
        Err(SendError::BufferFull {
            buffered: 100_014,
            limit: 100_000
        })
    );
    pair.drain();
    assert_eq!(pair.take_events(), [Event::Drained]);
    assert_eq!(pair.server_frames().len(), 1);
}

#[test]
fn written_in_place_the_buffer_drains_as_the_transport_takes_it() {
    let mut config = Config::default();
    config.send_high_water_mark(100);
    let mut pair = Pair::open_with(config);
    pair.client.send_binary(&[1; 60]).unwrap();
    pair.client.send_binary(&[2; 60]).unwrap();
    assert!(!pair.client.is_writable());
    let sent_before = pair.client.stats().bytes_sent;
    // Both frames in the buffer, shown in place; a short write leaves the rest shown.
    let (head, body) = pair.client.peek_transmit().unwrap();
    assert_eq!((head.len(), body.len()), (132, 0));
    let whole = head.to_vec();
    pair.client.advance_transmit(40);
    assert_eq!(pair.client.peek_transmit().unwrap().0, &whole[40..]);
    assert_eq!(pair.client.buffered_amount(), 92);
    // Below the mark: sends are accepted again, and `Drained` says so once.
    assert_eq!(pair.client.poll_event(), Some(Event::Drained));
    assert!(pair.client.is_writable());
    // A send meanwhile goes after what is left (reaching the mark again), and a transmit
    // taken now starts there.
    pair.client.send_binary(&[3; 4]).unwrap();
    assert!(!pair.client.is_writable());
    let rest = pair.client.poll_transmit().unwrap().to_vec();
    assert_eq!(rest.len(), 92 + 10);
    assert_eq!(&rest[..92], &whole[40..]);
    assert_eq!(pair.client.peek_transmit(), None);
    assert_eq!(pair.client.stats().bytes_sent, sent_before + 132 + 10);
    let mut wire = bytes::BytesMut::from(&whole[..40]);
    wire.extend_from_slice(&rest);
    let frames = ws_proto_tests::parse_client_frames(&mut wire);
    let payloads: Vec<Vec<u8>> = frames.into_iter().map(|f| f.payload).collect();
    assert_eq!(payloads, [vec![1; 60], vec![2; 60], vec![3; 4]]);
    assert_eq!(pair.client.poll_event(), Some(Event::Drained));
    assert_eq!(pair.client.poll_event(), None);
}

#[test]
fn an_owned_payload_written_in_place_shows_its_header_then_its_body() {
    // Twins with the same seed: one hands out transmits, the other is written in place.
    let (mut handed, mut in_place) = (Pair::open(), Pair::open());
    for pair in [&mut handed, &mut in_place] {
        pair.client.send_text("first").unwrap();
        pair.client
            .send_message(Message::binary(pattern(100_000, 251)))
            .unwrap();
    }
    let expected: Vec<u8> = transmits(&mut handed.client)
        .iter()
        .flat_map(Transmit::to_vec)
        .collect();
    let client = &mut in_place.client;
    let mut wire = Vec::new();
    // The text frame (11 bytes) and the binary frame's 14-byte header, then the payload masked
    // in place; a write that ends inside the header, then one that crosses into the body.
    for (n, shown) in [
        (12, (25, 100_000)),
        (30_013, (13, 100_000)),
        (70_000, (0, 70_000)),
    ] {
        let (head, body) = client.peek_transmit().unwrap();
        assert_eq!((head.len(), body.len()), shown);
        wire.extend_from_slice(&[head, body].concat()[..n]);
        client.advance_transmit(n);
    }
    assert_eq!(client.peek_transmit(), None);
    assert_eq!(client.buffered_amount(), 0);
    assert_eq!(wire, expected);
}

#[test]
#[should_panic(expected = "advanced past the bytes to write")]
fn advancing_past_what_was_shown_panics() {
    let mut pair = Pair::open();
    pair.client.send_binary(&[0; 4]).unwrap();
    pair.client.advance_transmit(11);
}
