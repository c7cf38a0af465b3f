//! Receiving messages: single frames, fragmentation, control frames between fragments, auto-pong.

use ws_proto::{Event, Message};
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
            Event::Pong(bytes("pong-1")),
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
