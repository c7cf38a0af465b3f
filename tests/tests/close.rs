//! The closing handshake in both directions, abnormal ends, and "Closed exactly once".

use std::time::Duration;

use ws_proto::{CloseCode, Config, Error, Event, Message, SendError, Timeout};
use ws_proto_tests::{close_body, close_frame, frame, Pair};

fn only_closed(events: Vec<Event>) -> ws_proto::Closed {
    match <[Event; 1]>::try_from(events) {
        Ok([Event::Closed(c)]) => *c,
        Ok(other) => panic!("{other:?}"),
        Err(events) => panic!("expected exactly one Closed, got {events:?}"),
    }
}

#[test]
fn server_initiated_close_is_echoed_once_then_completes_at_eof() {
    let mut pair = Pair::open();
    pair.server_send(&close_frame(4001, "bye"));
    let frames = pair.server_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0x8, &4001u16.to_be_bytes()[..])
    );
    assert!(
        pair.events.is_empty(),
        "Closed waits for the end of the stream"
    );
    assert_eq!(pair.client.send_text("x"), Err(SendError::Closing));
    // A second Close, or data after the Close, is ignored.
    pair.server_send(&close_frame(1000, ""));
    pair.server_send(&frame(0x1, b"late"));
    assert!(pair.server_frames().is_empty());
    pair.server_eof();
    let c = only_closed(pair.take_events());
    assert_eq!(
        (c.code, c.reason.as_str(), c.clean, c.error),
        (CloseCode::new(4001), "bye", true, None)
    );
}

#[test]
fn empty_server_close_is_reported_as_1005_and_echoed_empty() {
    let mut pair = Pair::open();
    pair.server_send(&frame(0x8, b""));
    assert_eq!(pair.server_frames()[0].payload, b"");
    pair.server_eof();
    let c = only_closed(pair.take_events());
    assert_eq!((c.code, c.clean), (CloseCode::NO_STATUS, true));
}

#[test]
fn client_initiated_close_waits_for_the_server_close_and_eof() {
    let mut pair = Pair::open();
    pair.client
        .close(CloseCode::NORMAL, "done", pair.now)
        .unwrap();
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(frames[0].payload, close_body(1000, "done"));
    // Closing again is safe and sends nothing more; data is refused.
    assert_eq!(
        pair.client.close(CloseCode::GOING_AWAY, "again", pair.now),
        Ok(())
    );
    assert_eq!(pair.client.send_binary(b"x"), Err(SendError::Closing));
    pair.drain();
    assert!(pair.server_frames().is_empty(), "one Close frame only");
    // Messages the server sent before seeing our Close are still delivered.
    pair.server_send(&frame(0x1, b"in flight"));
    // A ping after our Close gets no pong: nothing may follow our Close frame.
    pair.server_send(&frame(0x9, b""));
    pair.server_send(&close_frame(1000, "ok"));
    assert!(
        pair.server_frames().is_empty(),
        "no echo of a Close answering ours, no pong"
    );
    pair.server_eof();
    let events = pair.take_events();
    assert_eq!(events[0], Event::Message(Message::Text("in flight".into())));
    assert!(matches!(events[1], Event::Ping(_)));
    let Event::Closed(c) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.code, c.reason.as_str(), c.clean),
        (CloseCode::NORMAL, "ok", true)
    );
    assert_eq!(events.len(), 3);
    assert_eq!(pair.client.send_text("x"), Err(SendError::Closed));
}

#[test]
fn close_timeout_when_the_server_never_answers() {
    let mut config = Config::default();
    config.close_timeout(Duration::from_secs(2));
    let mut pair = Pair::open_with(config);
    pair.client
        .close(CloseCode::GOING_AWAY, "", pair.now)
        .unwrap();
    pair.drain();
    pair.advance(Duration::from_millis(1999));
    assert!(pair.events.is_empty());
    pair.advance(Duration::from_millis(1));
    let c = only_closed(pair.take_events());
    assert_eq!(
        (c.code, c.clean, c.error),
        (
            CloseCode::ABNORMAL,
            false,
            Some(Error::Timeout(Timeout::Close))
        )
    );
}

#[test]
fn close_timeout_after_exchange_when_the_server_keeps_the_stream_open() {
    let mut pair = Pair::open();
    pair.server_send(&close_frame(1001, "restart"));
    pair.advance(Duration::from_secs(5));
    let c = only_closed(pair.take_events());
    // Both Close frames were exchanged: clean, with the server's code.
    assert_eq!(
        (c.code, c.reason.as_str(), c.clean, c.error),
        (CloseCode::GOING_AWAY, "restart", true, None)
    );
}

#[test]
fn eof_without_close_is_abnormal_1006() {
    let mut pair = Pair::open();
    pair.server_send(&[0x81, 0x05, b'h']);
    pair.server_eof();
    let c = only_closed(pair.take_events());
    assert_eq!(
        (c.code, c.clean, c.error),
        (CloseCode::ABNORMAL, false, Some(Error::UnexpectedEof))
    );
    // Our close then the server vanishing is abnormal too.
    let mut pair = Pair::open();
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    pair.server_eof();
    assert_eq!(only_closed(pair.take_events()).code, CloseCode::ABNORMAL);
}

#[test]
fn close_arguments_are_validated_and_change_nothing() {
    let mut pair = Pair::open();
    for code in [0, 999, 1004, 1005, 1006, 1015, 2000, 5000] {
        assert_eq!(
            pair.client.close(CloseCode::new(code), "", pair.now),
            Err(SendError::InvalidCloseCode(CloseCode::new(code)))
        );
    }
    assert_eq!(
        pair.client
            .close(CloseCode::NORMAL, &"x".repeat(124), pair.now),
        Err(SendError::CloseReasonTooLong(124))
    );
    pair.drain();
    assert!(pair.to_server.is_empty());
    assert!(pair.client.is_open());
    pair.client
        .close(CloseCode::new(4999), &"x".repeat(123), pair.now)
        .unwrap();
}

#[test]
fn close_before_open_goes_out_after_the_queued_messages() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("queued").unwrap();
    pair.client
        .close(CloseCode::NORMAL, "early", pair.now)
        .unwrap();
    assert_eq!(pair.client.send_text("refused"), Err(SendError::Closing));
    pair.drain();
    assert!(pair.to_server.is_empty());
    pair.accept("");
    let frames = pair.server_frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0x1, &b"queued"[..])
    );
    assert_eq!(frames[1].payload, close_body(1000, "early"));
}

#[test]
fn replies_to_earlier_messages_go_before_a_close_from_the_same_read() {
    // Autobahn 3.x, 4.x, 5.15: a valid message and then a violation or a Close in one read.
    // The user's echo of the message must precede the client's Close frame.
    let cases = [
        (close_frame(4000, "bye"), close_body(4000, "")[..2].to_vec()),
        (
            ws_proto_tests::raw_frame(0x83, b""),
            1002u16.to_be_bytes().to_vec(),
        ),
    ];
    for (tail, close_code) in cases {
        let mut pair = Pair::open();
        let mut input = frame(0x1, b"echo me");
        input.extend(&tail);
        input.extend(frame(0x1, b"never delivered"));
        pair.client.handle_input(&input, pair.now).unwrap();
        assert!(
            pair.client.poll_transmit().is_none(),
            "the Close waits for the message event"
        );
        let Some(Event::Message(Message::Text(text))) = pair.client.poll_event() else {
            panic!()
        };
        pair.client.send_text(&text).unwrap();
        pair.drain();
        let frames = pair.server_frames();
        assert_eq!(
            (frames[0].opcode, &frames[0].payload[..]),
            (0x1, &b"echo me"[..])
        );
        assert_eq!(
            (frames[1].opcode, &frames[1].payload[..2]),
            (0x8, &close_code[..])
        );
        assert_eq!(frames.len(), 2);
        assert!(
            !pair.events.iter().any(|e| matches!(e, Event::Message(_))),
            "{:?}",
            pair.events
        );
    }
}

#[test]
fn eof_right_after_a_queued_close_is_a_clean_close() {
    let mut pair = Pair::open();
    let mut input = frame(0x1, b"last");
    input.extend(close_frame(1000, "done"));
    pair.client.handle_input(&input, pair.now).unwrap();
    pair.client.handle_eof().unwrap();
    pair.drain();
    let events = pair.take_events();
    assert_eq!(events[0], Event::Message(Message::Text("last".into())));
    let Event::Closed(c) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.code, c.reason.as_str(), c.clean),
        (CloseCode::NORMAL, "done", true)
    );
    assert_eq!(pair.server_frames()[0].payload, close_body(1000, ""));
}
