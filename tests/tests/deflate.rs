//! permessage-deflate (RFC 7692) through `ClientState`: negotiation, compressed messages both
//! ways, the rules on RSV1, context takeover, and the cap on inflated size.

use ws_proto::{
    CloseCode, Config, DeflateConfig, Error, Event, HandshakeError, Message, ProtocolError,
};
use ws_proto_tests::{frame, parse_client_frames, raw_frame, Pair};

/// "Hello" compressed, RFC 7692 §7.2.3.1.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn deflate_pair(extra: &str, tweak: impl FnOnce(&mut DeflateConfig)) -> Pair {
    let mut deflate = DeflateConfig::default();
    tweak(&mut deflate);
    let mut config = Config::default();
    config.permessage_deflate(Some(deflate));
    let mut pair = Pair::new(config);
    pair.accept(&format!("Sec-WebSocket-Extensions: {extra}\r\n"));
    assert!(
        matches!(pair.events.remove(0), Event::Open(_)),
        "{:?}",
        pair.events
    );
    pair
}

fn closed(pair: &Pair) -> &ws_proto::Closed {
    match pair.events.last() {
        Some(Event::Closed(c)) => c,
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn offer_is_configurable_and_can_be_left_out() {
    let mut config = Config::default();
    let mut deflate = DeflateConfig::default();
    deflate
        .client_max_window_bits(Some(10))
        .server_max_window_bits(Some(9))
        .server_no_context_takeover(true);
    config.permessage_deflate(Some(deflate));
    let pair = Pair::new(config.clone());
    let request = String::from_utf8(pair.request.clone()).unwrap();
    assert!(request.contains(
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; server_no_context_takeover\r\n"
    ), "{request}");
    config.permessage_deflate(None);
    let pair = Pair::new(config);
    assert!(!String::from_utf8(pair.request.clone())
        .unwrap()
        .contains("Extensions"));
}

#[test]
fn server_answers_are_checked() {
    let cases = [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; unknown=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate, permessage-deflate",
    ];
    for answer in cases {
        let mut pair = Pair::new(Config::default());
        pair.accept(&format!("Sec-WebSocket-Extensions: {answer}\r\n"));
        let c = closed(&pair);
        assert!(
            matches!(
                c.error,
                Some(Error::Handshake(
                    HandshakeError::Deflate(_) | HandshakeError::Extension(_)
                ))
            ),
            "{answer}: {c:?}"
        );
    }
    // Not offered at all: the answer is an extension the client did not offer.
    let mut config = Config::default();
    config.permessage_deflate(None);
    let mut pair = Pair::new(config);
    pair.accept("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(
        closed(&pair).error,
        Some(Error::Handshake(HandshakeError::Extension(
            "permessage-deflate".into()
        )))
    );
}

#[test]
fn compressed_messages_are_inflated_with_context_takeover() {
    let mut pair = deflate_pair("permessage-deflate", |_| {});
    pair.server_send(&raw_frame(0xC1, &HELLO));
    // §7.2.3.2: the second "Hello" refers to the first through the shared window.
    pair.server_send(&raw_frame(0xC1, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    // §7.2.3.1's fragmented form: RSV1 on the first frame only.
    pair.server_send(&raw_frame(0x41, &[0xf2, 0x48, 0xcd]));
    pair.server_send(&frame(0x9, b"between"));
    pair.server_send(&raw_frame(0x80, &[0xc9, 0xc9, 0x07, 0x00]));
    // An uncompressed message is still fine.
    pair.server_send(&frame(0x2, b"raw"));
    let hello = Event::Message(Message::Text("Hello".into()));
    assert_eq!(
        pair.take_events(),
        [
            hello.clone(),
            hello.clone(),
            Event::Ping(bytes::Bytes::from_static(b"between")),
            hello,
            Event::Message(Message::Binary("raw".into()))
        ]
    );
}

#[test]
fn rsv1_on_a_continuation_or_control_frame_fails_with_1002() {
    for input in [
        [raw_frame(0x41, &HELLO[..3]), raw_frame(0xC0, &HELLO[3..])].concat(),
        raw_frame(0xC9, b""),
        raw_frame(0xC8, &1000u16.to_be_bytes()),
    ] {
        let mut pair = deflate_pair("permessage-deflate", |_| {});
        pair.server_send(&input);
        let c = closed(&pair);
        assert_eq!(c.code, CloseCode::PROTOCOL_ERROR);
        assert!(
            matches!(
                c.error,
                Some(Error::Protocol(ProtocolError::ReservedBits(_)))
            ),
            "{c:?}"
        );
    }
}

#[test]
fn a_compression_bomb_fails_with_1009_and_bounded_memory() {
    let mut config = Config::default();
    config.max_message_size(1 << 20);
    config.permessage_deflate(Some(DeflateConfig::default()));
    let mut pair = Pair::new(config);
    pair.accept("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    pair.take_events();
    // 16 MiB of zeros compress to about 16 KiB: a small message that would inflate 1000 times.
    let mut sender = {
        let mut c = Config::default();
        c.permessage_deflate(Some(DeflateConfig::default()));
        Pair::new(c)
    };
    sender.accept("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    sender.client.send_binary(&vec![0u8; 16 << 20]).unwrap();
    sender.drain();
    let compressed = parse_client_frames(&mut sender.to_server).remove(0).payload;
    assert!(
        compressed.len() < 32 << 10,
        "bomb is {} bytes",
        compressed.len()
    );
    let mut peak = 0;
    for chunk in raw_frame(0xC2, &compressed).chunks(4096) {
        pair.server_send(chunk);
        peak = peak.max(pair.client.received_buffered());
        if pair.client.is_closed() {
            break;
        }
    }
    let c = closed(&pair);
    assert_eq!(c.code, CloseCode::MESSAGE_TOO_BIG);
    assert!(
        matches!(c.error, Some(Error::Protocol(ProtocolError::MessageTooBig { limit, .. })) if limit == 1 << 20)
    );
    assert!(
        peak <= (1 << 20) + (200 << 10),
        "peak receive-side memory {peak}"
    );
    // The 1009 Close frame was sent.
    assert_eq!(pair.server_frames()[0].payload[..2], 1009u16.to_be_bytes());
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    let mut sender = deflate_pair("permessage-deflate", |d| {
        d.threshold(0);
    });
    sender.client.send_binary(&[b'a', 0xFF, b'b']).unwrap();
    sender.drain();
    let compressed = parse_client_frames(&mut sender.to_server).remove(0).payload;
    let mut pair = deflate_pair("permessage-deflate", |_| {});
    pair.server_send(&raw_frame(0xC1, &compressed));
    assert_eq!(
        closed(&pair).error,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn outgoing_messages_are_compressed_above_the_threshold() {
    let mut pair = deflate_pair(
        "permessage-deflate; client_max_window_bits=9; client_no_context_takeover",
        |d| {
            d.threshold(16);
        },
    );
    let long = "a fairly repetitive message, a fairly repetitive message".repeat(4);
    pair.client.send_text(&long).unwrap();
    pair.client.send_text(&long).unwrap();
    pair.client.send_text("short").unwrap();
    pair.client
        .send_ping(b"pings are never compressed", pair.now)
        .unwrap();
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(
        frames.iter().map(|f| f.rsv).collect::<Vec<_>>(),
        [0b100, 0b100, 0, 0]
    );
    // Without context takeover both compress the same and inflate on their own.
    assert_eq!(frames[0].payload, frames[1].payload);
    assert!(frames[0].payload.len() < long.len() / 2);
    // Another client receiving what this one sent (the RFC's tail removed, RSV1 set) gets the
    // message back, each frame on its own.
    for f in &frames[..2] {
        let mut receiver = deflate_pair("permessage-deflate; server_no_context_takeover", |_| {});
        receiver.server_send(&raw_frame(0xC1, &f.payload));
        assert_eq!(
            receiver.take_events(),
            [Event::Message(Message::Text(long.as_str().into()))]
        );
    }
}

#[test]
fn regression_error_does_not_depend_on_the_split() {
    // Found by the `frames` fuzz target: a compressed text frame whose first bytes inflate to
    // invalid UTF-8 just before the DEFLATE data turns corrupt. Fed whole it reported the
    // corruption (1002), fed byte by byte the UTF-8 (1007). Inflated bytes are now checked
    // before an inflate error is reported, so both give 1007.
    let input = [0x41, 0x69, 0x2a, 0xfe, 0x1f, 0x00, 0x2a, 0x2a, 0x2a];
    let whole = {
        let mut pair = deflate_pair("permessage-deflate; server_max_window_bits=10", |_| {});
        pair.server_send(&input);
        pair.take_events()
    };
    let bytewise = {
        let mut pair = deflate_pair("permessage-deflate; server_max_window_bits=10", |_| {});
        for b in input {
            pair.server_send(&[b]);
        }
        pair.take_events()
    };
    assert_eq!(whole, bytewise);
    let Some(Event::Closed(c)) = whole.last() else {
        panic!("{whole:?}")
    };
    assert_eq!(c.error, Some(Error::Protocol(ProtocolError::InvalidUtf8)));
}

#[test]
fn an_owned_message_is_compressed_like_any_other() {
    let mut pair = deflate_pair("permessage-deflate; client_no_context_takeover", |_| {});
    let long = "compressible, ".repeat(10_000);
    pair.client
        .send_message(Message::Text(long.clone().into()))
        .unwrap();
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rsv, 0b100);
    assert!(frames[0].payload.len() < long.len() / 10);
    let mut receiver = deflate_pair("permessage-deflate; server_no_context_takeover", |_| {});
    receiver.server_send(&raw_frame(0xC1, &frames[0].payload));
    assert_eq!(
        receiver.take_events(),
        [Event::Message(Message::Text(long.as_str().into()))]
    );
}

#[test]
fn without_server_context_takeover_each_message_of_a_burst_starts_from_an_empty_window() {
    // Two messages in one read: the inflate stream kept between them is reset, so the second
    // "Hello" decodes on its own, and a message that refers back into the first fails.
    let mut pair = deflate_pair("permessage-deflate; server_no_context_takeover", |_| {});
    pair.server_send(&[raw_frame(0xC1, &HELLO), raw_frame(0xC1, &HELLO)].concat());
    let hello = Event::Message(Message::Text("Hello".into()));
    assert_eq!(pair.take_events(), [hello.clone(), hello.clone()]);
    pair.server_send(
        &[
            raw_frame(0xC1, &HELLO),
            // §7.2.3.2's second "Hello": a back-reference, valid only with context takeover.
            raw_frame(0xC1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        ]
        .concat(),
    );
    assert_eq!(pair.events[0], hello);
    assert_eq!(
        closed(&pair).error,
        Some(Error::Protocol(ProtocolError::InvalidCompressedData))
    );
    assert_eq!(closed(&pair).code, CloseCode::PROTOCOL_ERROR);
}
