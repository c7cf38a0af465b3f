//! Every RFC 6455 violation a server can commit, with the exact Close frame the client sends
//! and the typed reason it reports.

use ws_proto::{CloseCode, Config, Error, Event, ProtocolError};
use ws_proto_tests::{close_body, frame, raw_frame, Pair};

struct Case {
    name: &'static str,
    input: Vec<u8>,
    code: u16,
    error: ProtocolError,
}

fn case(name: &'static str, input: Vec<u8>, code: u16, error: ProtocolError) -> Case {
    Case {
        name,
        input,
        code,
        error,
    }
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn limits() -> Config {
    let mut config = Config::default();
    config.max_frame_size(1000).max_message_size(1500);
    config
}

fn cases() -> Vec<Case> {
    use ProtocolError::*;
    vec![
        case(
            "reserved opcode 0x3",
            raw_frame(0x83, b""),
            1002,
            UnknownOpcode(3),
        ),
        case(
            "reserved control opcode 0xB",
            raw_frame(0x8B, b""),
            1002,
            UnknownOpcode(0xB),
        ),
        case(
            "RSV1 without extension",
            raw_frame(0xC1, b"a"),
            1002,
            ReservedBits(0b100),
        ),
        case("RSV2", raw_frame(0xA1, b"a"), 1002, ReservedBits(0b010)),
        case(
            "RSV3 on a ping",
            raw_frame(0x99, b""),
            1002,
            ReservedBits(0b001),
        ),
        case(
            "masked server frame",
            vec![0x81, 0x81, 1, 2, 3, 4, b'a' ^ 1],
            1002,
            MaskedFrame,
        ),
        case(
            "16-bit length for 5 bytes",
            vec![0x82, 126, 0, 5, 1, 2, 3, 4, 5],
            1002,
            NonMinimalLength,
        ),
        case(
            "64-bit length for 200 bytes",
            vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0, 200],
            1002,
            NonMinimalLength,
        ),
        case(
            "64-bit length with top bit",
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            1002,
            LengthOverflow,
        ),
        case(
            "fragmented ping",
            raw_frame(0x09, b"p"),
            1002,
            FragmentedControl,
        ),
        case(
            "fragmented close",
            raw_frame(0x08, &close_body(1000, "")),
            1002,
            FragmentedControl,
        ),
        case(
            "ping of 126 bytes",
            frame(0x9, &[0; 126]),
            1002,
            ControlTooLong(126),
        ),
        case(
            "stray continuation",
            frame(0x0, b"x"),
            1002,
            UnexpectedContinuation,
        ),
        case(
            "stray non-final continuation",
            raw_frame(0x00, b"x"),
            1002,
            UnexpectedContinuation,
        ),
        case(
            "text inside a fragmented message",
            cat(&[raw_frame(0x01, b"a"), frame(0x1, b"b")]),
            1002,
            ExpectedContinuation,
        ),
        case(
            "binary inside a fragmented message",
            cat(&[raw_frame(0x02, b"a"), raw_frame(0x02, b"b")]),
            1002,
            ExpectedContinuation,
        ),
        case(
            "close with a 1-byte body",
            frame(0x8, &[3]),
            1002,
            CloseBodyTooShort,
        ),
        case(
            "close code 999",
            frame(0x8, &close_body(999, "")),
            1002,
            InvalidCloseCode(999),
        ),
        case(
            "close code 1005",
            frame(0x8, &close_body(1005, "")),
            1002,
            InvalidCloseCode(1005),
        ),
        case(
            "close code 1006",
            frame(0x8, &close_body(1006, "")),
            1002,
            InvalidCloseCode(1006),
        ),
        case(
            "close code 1015",
            frame(0x8, &close_body(1015, "")),
            1002,
            InvalidCloseCode(1015),
        ),
        case(
            "close code 2999",
            frame(0x8, &close_body(2999, "")),
            1002,
            InvalidCloseCode(2999),
        ),
        case(
            "close code 5000",
            frame(0x8, &close_body(5000, "")),
            1002,
            InvalidCloseCode(5000),
        ),
        case(
            "close reason not UTF-8",
            frame(0x8, &[0x03, 0xE8, 0xC0, 0x80]),
            1007,
            InvalidCloseReason,
        ),
        case(
            "invalid UTF-8 text",
            frame(0x1, &[b'a', 0xFF]),
            1007,
            InvalidUtf8,
        ),
        case(
            "text ending mid code point",
            frame(0x1, &[0xE2, 0x82]),
            1007,
            InvalidUtf8,
        ),
        case(
            "invalid UTF-8 across fragments",
            cat(&[raw_frame(0x01, &[0xE2]), frame(0x0, &[0x28, 0xA1])]),
            1007,
            InvalidUtf8,
        ),
        case(
            "fragmented text ending mid code point",
            cat(&[raw_frame(0x01, b"ok"), frame(0x0, &[0xF0, 0x9F])]),
            1007,
            InvalidUtf8,
        ),
        case(
            "frame over max_frame_size",
            frame(0x2, &[0; 1001]),
            1009,
            FrameTooBig {
                len: 1001,
                limit: 1000,
            },
        ),
        case(
            "2^62-byte frame header",
            vec![0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0],
            1009,
            FrameTooBig {
                len: 1 << 62,
                limit: 1000,
            },
        ),
        case(
            "message over max_message_size",
            cat(&[raw_frame(0x02, &[0; 1000]), frame(0x0, &[0; 501])]),
            1009,
            MessageTooBig {
                len: 1501,
                limit: 1500,
            },
        ),
    ]
}

#[test]
fn each_violation_sends_the_right_close_and_reports_it() {
    for c in cases() {
        let mut pair = Pair::open_with(limits());
        pair.server_send(&c.input);
        let frames = pair.server_frames();
        let reason = c.error.to_string();
        let truncated = &reason[..reason.len().min(123)];
        assert_eq!(frames.len(), 1, "{}: exactly one frame, the Close", c.name);
        assert_eq!(frames[0].opcode, 0x8, "{}", c.name);
        assert_eq!(
            frames[0].payload,
            close_body(c.code, truncated),
            "{}",
            c.name
        );
        let events = pair.take_events();
        let Some(Event::Closed(closed)) = events.last() else {
            panic!("{}: {events:?}", c.name)
        };
        assert_eq!(closed.code, CloseCode::new(c.code), "{}", c.name);
        assert_eq!(closed.error, Some(Error::Protocol(c.error)), "{}", c.name);
        assert_eq!(closed.reason, reason, "{}", c.name);
        assert!(!closed.clean, "{}", c.name);
        assert!(pair.client.is_closed(), "{}", c.name);
        // Nothing after Closed: more input and timers produce nothing.
        pair.server_send(&frame(0x1, b"late"));
        pair.server_eof();
        pair.advance(std::time::Duration::from_secs(60));
        assert!(pair.events.is_empty(), "{}: events after Closed", c.name);
        assert!(pair.to_server.is_empty(), "{}: output after Closed", c.name);
    }
}

#[test]
fn each_violation_fails_the_same_when_fed_byte_by_byte() {
    for c in cases() {
        let mut pair = Pair::open_with(limits());
        for b in &c.input {
            pair.server_send(&[*b]);
        }
        let events = pair.take_events();
        let Some(Event::Closed(closed)) = events.last() else {
            panic!("{}: {events:?}", c.name)
        };
        assert_eq!(closed.error, Some(Error::Protocol(c.error)), "{}", c.name);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Closed(_)))
                .count(),
            1
        );
    }
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // Autobahn 6.4.x: the first bytes of a 1000-byte text frame are already invalid.
    let mut pair = Pair::open();
    let mut input = vec![0x81, 126, 0x03, 0xE8];
    input.extend_from_slice(&[
        0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xF4, 0x90,
    ]);
    pair.server_send(&input);
    let events = pair.take_events();
    let Some(Event::Closed(closed)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(
        closed.error,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    );
    assert_eq!(pair.server_frames()[0].payload[..2], 1007u16.to_be_bytes());
}

#[test]
fn oversized_header_allocates_nothing() {
    let mut pair = Pair::open_with(limits());
    pair.server_send(&[0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(pair.client.received_buffered(), 0);
    assert!(pair.client.is_closed());
}
