//! Receiving messages: single frames, fragmentation, control frames between fragments, auto-pong,
//! and messages lent where they were received.

use std::time::Duration;

use bytes::BufMut;
use ws_proto::{Event, InputError, Message, MessageRef, Pong, ReadyState};
use ws_proto_tests::{bytes, frame, raw_frame, Pair};

#[test]
fn fragmented_text_with_control_frames_between_fragments() {
    let mut pair = Pair::open();
    let mut input = raw_frame(0x01, "Hé".as_bytes()[..2].as_ref());
    input.extend(frame(0x9, b"ping-1"));
    input.extend(raw_frame(0x00, &"Hé".as_bytes()[2..]));
    input.extend(frame(0xA, b"pong-1"));
    input.extend(frame(0x0, b"llo"));
    pair.server_send(&input);
    assert_eq!(
        pair.take_events(),
        [
            Event::Ping(bytes("ping-1")),
            Event::Pong(Pong {
                payload: bytes("pong-1"),
                rtt: None
            }),
            Event::Message(Message::Text("Héllo".into())),
        ]
    );
    let frames = pair.server_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0xA, &b"ping-1"[..]),
        "auto-pong echoes the payload"
    );
}

#[test]
fn fragmented_binary_and_empty_messages() {
    let mut pair = Pair::open();
    let mut input = raw_frame(0x02, &[1]);
    input.extend(raw_frame(0x00, &[]));
    input.extend(frame(0x0, &[2, 3]));
    input.extend(frame(0x1, b""));
    input.extend(frame(0x2, b""));
    pair.server_send(&input);
    assert_eq!(
        pair.take_events(),
        [
            Event::Message(Message::Binary(vec![1, 2, 3].into())),
            Event::Message(Message::Text("".into())),
            Event::Message(Message::Binary(Default::default())),
        ]
    );
}

#[test]
fn all_three_length_forms() {
    let mut pair = Pair::open();
    for len in [0, 125, 126, 65535, 65536, 200_000] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        pair.server_send(&frame(0x2, &payload));
        assert_eq!(
            pair.take_events(),
            [Event::Message(Message::Binary(payload.into()))],
            "len {len}"
        );
    }
}

#[test]
fn large_message_delivered_once_complete_across_many_reads() {
    let mut pair = Pair::open();
    let text = "abcdefgh€".repeat(10_000);
    let wire = frame(0x1, text.as_bytes());
    for chunk in wire.chunks(1000) {
        assert!(pair.events.is_empty());
        pair.server_send(chunk);
    }
    assert_eq!(
        pair.take_events(),
        [Event::Message(Message::Text(text.as_str().into()))]
    );
}

#[test]
fn unfragmented_payloads_are_slices_of_one_receive_buffer() {
    // Two binary frames read together leave as views of the same allocation: no copy each.
    let mut pair = Pair::open();
    let mut input = frame(0x2, &[7; 64]);
    input.extend(frame(0x2, &[9; 64]));
    pair.server_send(&input);
    let events = pair.take_events();
    let (Event::Message(Message::Binary(a)), Event::Message(Message::Binary(b))) =
        (&events[0], &events[1])
    else {
        panic!("{events:?}")
    };
    assert_eq!(a.as_ptr() as usize + 64 + 2, b.as_ptr() as usize);
}

/// Whole small frames are handed out from one split of the receive buffer; what follows such a
/// run (a frame over the limit, invalid UTF-8, a Close, a fragment) is decoded in its turn, after
/// the run's messages, and memory is accounted for while the run is being handed out.
#[test]
fn a_run_of_small_messages_then_whatever_ends_it() {
    let run = || {
        let mut input = frame(0x1, b"a");
        input.extend(frame(0x2, &[0xff; 200]));
        input.extend(frame(0x1, "é".as_bytes()));
        input
    };
    let run_events = || {
        vec![
            Event::Message(Message::Text("a".into())),
            Event::Message(Message::Binary(vec![0xff; 200].into())),
            Event::Message(Message::Text("é".into())),
        ]
    };

    // Ended by invalid UTF-8: 1007, and the frame after it is never delivered.
    let mut pair = Pair::open();
    let mut input = run();
    input.extend(frame(0x1, &[b'x', 0xc3]));
    input.extend(frame(0x2, b"never"));
    pair.server_send(&input);
    let mut events = pair.take_events();
    let Some(Event::Closed(closed)) = events.pop() else {
        panic!("{events:?}")
    };
    assert_eq!(events, run_events());
    assert_eq!(closed.code, ws_proto::CloseCode::INVALID_PAYLOAD);
    assert_eq!(pair.server_frames()[0].payload[..2], 1007u16.to_be_bytes());

    // Ended by a fragment: the fragmented message follows the run.
    let mut pair = Pair::open();
    let mut input = run();
    input.extend(raw_frame(0x01, b"fr"));
    input.extend(frame(0x0, b"ag"));
    pair.server_send(&input);
    let mut expected = run_events();
    expected.push(Event::Message(Message::Text("frag".into())));
    assert_eq!(pair.take_events(), expected);

    // Ended by a frame over the frame limit: 1009 after the run.
    let mut config = ws_proto::Config::default();
    config.max_frame_size(150);
    let mut pair = Pair::open_with(config);
    let mut input = frame(0x1, b"a");
    input.extend(frame(0x2, &[0xff; 151]));
    pair.server_send(&input);
    let events = pair.take_events();
    assert_eq!(events[0], Event::Message(Message::Text("a".into())));
    assert!(
        matches!(&events[1..], [Event::Closed(c)] if c.code == ws_proto::CloseCode::MESSAGE_TOO_BIG),
        "{events:?}"
    );

    // While the run is handed out, its undelivered bytes count as received and buffered.
    let mut pair = Pair::open();
    let input = run();
    pair.client.handle_input(&input, pair.now).unwrap();
    assert_eq!(pair.client.received_buffered(), input.len());
    assert!(pair.client.poll_event().is_some());
    assert_eq!(pair.client.received_buffered(), input.len() - 3);
}

/// Reads straight into the receive buffer: the same messages as copied input, nothing taken
/// after the server's Close, and no memory kept by a read that brought nothing.
#[test]
fn reads_in_place() {
    let mut pair = Pair::open();
    let big: Vec<u8> = (0..100_000).map(|i| i as u8).collect();
    let mut input = frame(0x1, b"small");
    input.extend(frame(0x2, &big));
    for piece in input.chunks(7_000) {
        pair.server_send_in_place(piece);
    }
    assert_eq!(
        pair.take_events(),
        [
            Event::Message(Message::Text("small".into())),
            Event::Message(Message::Binary(big.into())),
        ]
    );
    // A read that would block: the empty receive buffer gives its room back.
    let lease = pair.client.lease_read().unwrap();
    pair.client.handle_lease(lease, pair.now).unwrap();
    assert_eq!(pair.client.received_buffered(), 0);
    // After the server's Close, what a read brings is dropped, as with `handle_input`.
    pair.server_send_in_place(&ws_proto_tests::close_frame(1000, ""));
    pair.server_send_in_place(&frame(0x1, b"late"));
    assert_eq!(pair.client.received_buffered(), 0);
    pair.server_eof();
    assert!(matches!(&pair.take_events()[..], [Event::Closed(c)] if c.clean));
}

/// Reads `bytes` in place (as much of them as the room offered takes) and returns the room
/// offered and the bytes taken.
fn read_some(pair: &mut Pair, bytes: &[u8]) -> (usize, usize) {
    let mut lease = pair.client.lease_read().unwrap();
    let offered = lease.room();
    let n = bytes.len().min(offered);
    lease.buf_mut().put_slice(&bytes[..n]);
    pair.client.handle_lease(lease, pair.now).unwrap();
    pair.drain();
    (offered, n)
}

#[test]
fn the_read_room_shrinks_for_small_reads_and_grows_back_for_full_ones() {
    let mut pair = Pair::open();
    let small = frame(0x2, b"request-response");
    // One small message per read, with a read that would block after each: the room offered,
    // 32 KiB on a new connection, comes down to 1 KiB, which an empty buffer keeps between
    // reads.
    let mut offered = Vec::new();
    for _ in 0..12 {
        offered.push(read_some(&mut pair, &small).0);
        read_some(&mut pair, &[]);
    }
    assert!(
        (32 << 10..ws_proto::READ_ROOM).contains(&offered[0]),
        "{offered:?}"
    );
    assert!(offered[11] <= 1024, "{offered:?}");
    let messages = pair.take_events();
    assert_eq!(messages.len(), 12);
    assert!(messages
        .iter()
        .all(|e| *e == Event::Message(Message::Binary(bytes("request-response")))));

    // A burst that fills every room offered: the room grows back fourfold a read, from 1 KiB to
    // READ_ROOM, and stays there while the burst lasts.
    let burst: Vec<u8> = (0..40_000).flat_map(|_| small.clone()).collect();
    let mut at = 0;
    let mut rooms = Vec::new();
    while at < burst.len() {
        let (room, n) = read_some(&mut pair, &burst[at..]);
        rooms.push(room);
        at += n;
    }
    assert!(rooms[..5].contains(&ws_proto::READ_ROOM), "{rooms:?}");
    assert!(
        rooms.len() > 6 && rooms[5..].iter().all(|&r| r >= ws_proto::READ_ROOM / 4),
        "{rooms:?}"
    );
    let messages = pair.take_events();
    assert_eq!(messages.len(), 40_000);
    assert!(messages
        .iter()
        .all(|e| *e == Event::Message(Message::Binary(bytes("request-response")))));
}

#[test]
fn a_lease_comes_back_in_order_while_other_calls_go_on() {
    let mut pair = Pair::open();
    let big: Vec<u8> = (0..200_000).map(|i| (i % 249) as u8).collect();
    let input = [frame(0x2, &big), frame(0x1, b"after")].concat();
    // The 10-byte header and a little of the payload arrive through handle_input.
    pair.client.handle_input(&input[..14], pair.now).unwrap();
    assert_eq!(pair.client.poll_event(), None);
    let mut events = Vec::new();
    let mut at = 14;
    while at < input.len() {
        let mut lease = pair.client.lease_read().unwrap();
        assert!(lease.is_empty() && lease.room() >= 256);
        // What another thread may do meanwhile: poll, send, ask for the deadline.
        events.extend(std::iter::from_fn(|| pair.client.poll_event()));
        pair.client.send_text("meanwhile").unwrap();
        assert!(pair.client.poll_timeout().is_none());
        // `Read::read` into initialized room, reporting less than it was offered.
        let n = lease
            .fill_with(|room| {
                let n = (input.len() - at).min(room.len()).min(50_000);
                room[..n].copy_from_slice(&input[at..at + n]);
                room[n..].fill(0xEE);
                Ok::<_, ()>(n)
            })
            .unwrap();
        assert_eq!(lease.len(), n);
        at += n;
        pair.client.handle_lease(lease, pair.now).unwrap();
    }
    events.extend(std::iter::from_fn(|| pair.client.poll_event()));
    let count = events.len();
    assert!(
        events
            == [
                Event::Message(Message::Binary(big.into())),
                Event::Message(Message::Text("after".into())),
            ],
        "{count} events, not the two messages"
    );
    pair.drain();
    let sent = pair.server_frames();
    assert!(!sent.is_empty() && sent.iter().all(|f| f.payload == b"meanwhile"));
}

#[test]
fn no_other_input_is_taken_while_a_lease_is_out() {
    let mut pair = Pair::open();
    let mut lease = pair.client.lease_read().unwrap();
    // Bytes read after the lease's would be taken before them: refused, and nothing changes.
    assert_eq!(
        pair.client.handle_input(&frame(0x1, b"second"), pair.now),
        Err(InputError::LeaseOutstanding)
    );
    assert_eq!(pair.client.handle_eof(), Err(InputError::LeaseOutstanding));
    assert_eq!(
        pair.client.lease_read().map(|_| ()),
        Err(InputError::LeaseOutstanding)
    );
    assert_eq!(pair.client.received_buffered(), 0);
    lease.buf_mut().put_slice(&frame(0x1, b"first"));
    // A lease from another connection is refused; its bytes are dropped.
    let mut other = Pair::open();
    let foreign = other.client.lease_read().unwrap();
    assert_eq!(
        pair.client.handle_lease(foreign, pair.now),
        Err(InputError::UnknownLease)
    );
    pair.client.handle_lease(lease, pair.now).unwrap();
    pair.server_send(&frame(0x1, b"second"));
    assert_eq!(
        pair.take_events(),
        [
            Event::Message(Message::Text("first".into())),
            Event::Message(Message::Text("second".into())),
        ]
    );
}

#[test]
fn a_lease_that_comes_back_empty_or_after_the_end_delivers_nothing() {
    let mut pair = Pair::open();
    // A read that would block.
    let lease = pair.client.lease_read().unwrap();
    pair.client.handle_lease(lease, pair.now).unwrap();
    assert_eq!(pair.client.received_buffered(), 0);
    // The server's Close, then a read that brings more: what follows the Close is dropped.
    pair.server_send_in_place(&ws_proto_tests::close_frame(1000, ""));
    let mut lease = pair.client.lease_read().unwrap();
    lease.buf_mut().put_slice(&frame(0x1, b"late"));
    pair.client.handle_lease(lease, pair.now).unwrap();
    assert_eq!(pair.client.received_buffered(), 0);
    // The close timeout ends the connection while a read is out: its bytes are dropped too.
    let mut lease = pair.client.lease_read().unwrap();
    pair.advance(Duration::from_secs(60));
    assert!(matches!(&pair.take_events()[..], [Event::Closed(c)] if c.clean));
    lease.buf_mut().put_slice(&frame(0x1, b"later"));
    pair.client.handle_lease(lease, pair.now).unwrap();
    pair.drain();
    assert_eq!(pair.client.received_buffered(), 0);
    assert!(pair.take_events().is_empty());
}

/// What a loop that lends first sees, in order: lent messages as `Lent(type, payload)`, the
/// others as their events.
#[derive(Debug, PartialEq)]
enum Seen {
    Lent(String),
    Event(Event),
}

fn lend_all(pair: &mut Pair) -> Vec<Seen> {
    let mut seen = Vec::new();
    loop {
        let lent = pair.client.poll_message_with(|m| match m {
            MessageRef::Text(t) => format!("text {t}"),
            MessageRef::Binary(b) => format!("binary {}", b.len()),
        });
        if let Some(lent) = lent {
            seen.push(Seen::Lent(lent));
            continue;
        }
        match pair.client.poll_event() {
            Some(event) => seen.push(Seen::Event(event)),
            None => return seen,
        }
    }
}

#[test]
fn small_whole_messages_are_lent_the_others_handed_out_in_order() {
    let mut pair = Pair::open();
    let long = vec![5u8; 70_000];
    let mut input = frame(0x1, "héllo".as_bytes());
    input.extend(frame(0x2, &[1, 2, 3]));
    input.extend(frame(0x9, b"p"));
    // A 16-bit length is lent; a 64-bit one (over 64 KiB) and a fragmented message are not.
    input.extend(frame(0x2, &[4; 300]));
    input.extend(frame(0x2, &long));
    input.extend(raw_frame(0x01, b"fr"));
    input.extend(raw_frame(0x80, b"ag"));
    input.extend(frame(0x1, b""));
    pair.client.handle_input(&input, pair.now).unwrap();
    assert_eq!(
        lend_all(&mut pair),
        [
            Seen::Lent("text héllo".into()),
            Seen::Lent("binary 3".into()),
            Seen::Event(Event::Ping(bytes("p"))),
            Seen::Lent("binary 300".into()),
            Seen::Event(Event::Message(Message::binary(long))),
            Seen::Event(Event::Message(Message::text("frag"))),
            Seen::Lent("text ".into()),
        ]
    );
    let stats = pair.client.stats();
    assert_eq!(
        (stats.messages_received, stats.payload_received),
        (6, 6 + 3 + 300 + 70_000 + 4)
    );
    // The pong queued for the ping goes out as before.
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!((frames.len(), frames[0].opcode), (1, 0xA));
}

#[test]
fn nothing_is_lent_before_the_events_ahead_of_it_or_while_paused() {
    let mut pair = ws_proto_tests::Pair::new(ws_proto::Config::default());
    // The 101 and two messages in one read: `Open` comes first.
    let mut input = ws_proto_tests::accept_response(&pair.key(), "").into_bytes();
    input.extend(frame(0x2, b"one"));
    input.extend(frame(0x2, b"two"));
    pair.client.handle_input(&input, pair.now).unwrap();
    assert_eq!(pair.client.poll_message_with(|_| ()), None);
    assert!(matches!(pair.client.poll_event(), Some(Event::Open(_))));
    assert_eq!(
        pair.client.poll_message_with(|m| m.to_message()),
        Some(Message::binary(&b"one"[..]))
    );
    pair.client.pause_recv();
    assert_eq!(pair.client.poll_message_with(|_| ()), None);
    assert_eq!(pair.client.poll_event(), None);
    pair.client.resume_recv(pair.now);
    assert_eq!(
        pair.client.poll_message_with(|m| m.to_message()),
        Some(Message::binary(&b"two"[..]))
    );
    assert_eq!(pair.client.poll_message_with(|_| ()), None);
}

#[test]
fn owned_whole_messages_are_taken_without_decoding_what_follows_them() {
    let mut pair = Pair::open();
    let mut input = frame(0x2, b"one");
    input.extend(frame(0x1, b"two"));
    input.extend(frame(0x9, b"p"));
    input.extend(frame(0x2, b"three"));
    input.extend(ws_proto_tests::close_frame(1000, "bye"));
    pair.client.handle_input(&input, pair.now).unwrap();
    assert_eq!(
        pair.client.poll_message(),
        Some(Message::binary(&b"one"[..]))
    );
    assert_eq!(pair.client.poll_message(), Some(Message::text("two")));
    // The ping is left to `poll_event`, undecoded: no pong is queued yet.
    assert_eq!(pair.client.poll_message(), None);
    assert!(pair.client.poll_transmit().is_none());
    assert_eq!(pair.client.poll_event(), Some(Event::Ping(bytes("p"))));
    assert_eq!(
        pair.client.poll_message(),
        Some(Message::binary(&b"three"[..]))
    );
    // So is the Close: the connection is open, and an answer to "three" goes out before the
    // client's Close.
    assert_eq!(pair.client.poll_message(), None);
    assert_eq!(pair.client.ready_state(), ReadyState::Open);
    pair.client.send_text("answer").unwrap();
    pair.drain();
    let frames: Vec<(u8, Vec<u8>)> = pair
        .server_frames()
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect();
    assert_eq!(frames[0], (0xA, b"p".to_vec()));
    assert_eq!(frames[1], (0x1, b"answer".to_vec()));
    // The echo of the server's 1000.
    assert_eq!(frames[2], (0x8, vec![0x03, 0xe8]));
    assert_eq!(frames.len(), 3);
    let stats = pair.client.stats();
    assert_eq!(stats.messages_received, 3);
}

#[test]
fn a_violation_after_lent_messages_fails_the_connection_as_before() {
    let mut pair = Pair::open();
    let mut input = frame(0x2, b"ok");
    // Invalid UTF-8 in a small text frame ends the run; it is reported, not lent.
    input.extend(frame(0x1, &[0xff, 0xfe]));
    pair.client.handle_input(&input, pair.now).unwrap();
    let seen = lend_all(&mut pair);
    assert_eq!(seen[0], Seen::Lent("binary 2".into()));
    match &seen[1..] {
        [Seen::Event(Event::Closed(closed))] => {
            assert_eq!(closed.code, ws_proto::CloseCode::INVALID_PAYLOAD)
        }
        other => panic!("{other:?}"),
    }
}
