//! The opening handshake through `ClientState`: request bytes, response validation, rejections,
//! split input, frames in the same read as the 101, timeouts.

use std::time::Duration;

use ws_proto::{
    CloseCode, Config, Error, Event, HandshakeError, Message, ReadyState, Request, Timeout,
};
use ws_proto_tests::{accept_response, frame, Pair};

fn closed(events: &[Event]) -> &ws_proto::Closed {
    match events.last() {
        Some(Event::Closed(c)) => c,
        other => panic!("expected Closed last, got {other:?}"),
    }
}

#[test]
fn exact_request_bytes_for_a_fixed_seed() {
    let request = Request::new("ws://[::1]:9001/chat?room=a%20b#frag")
        .unwrap()
        .with_origin("http://example.com")
        .unwrap()
        .with_subprotocol("chat")
        .unwrap()
        .with_header("Cookie", "id=1")
        .unwrap();
    let pair = Pair::with_request(request, Config::default());
    assert_eq!(
        String::from_utf8(pair.request.clone()).unwrap(),
        "GET /chat?room=a%20b HTTP/1.1\r\n\
         Host: [::1]:9001\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: G4wgzeLbtDzTxwmykKxQ3A==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Origin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Cookie: id=1\r\n\
         \r\n"
    );
    // Default ports are left out of Host.
    let pair = Pair::with_request(
        Request::new("wss://example.com:443/").unwrap(),
        Config::default(),
    );
    assert!(pair
        .request
        .windows(19)
        .any(|w| w == b"Host: example.com\r\n"));
}

#[test]
fn the_key_is_16_fresh_random_bytes() {
    use base64::Engine as _;
    let key = Pair::new(Config::default()).key();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&key)
        .unwrap();
    assert_eq!(raw.len(), 16);
    let other = {
        let request = Request::new("ws://example.com/").unwrap();
        let mut c = ws_proto::ClientState::new(
            request,
            Config::default(),
            [1; 32],
            std::time::Instant::now(),
        );
        ws_proto_tests::request_key(c.poll_transmit().unwrap().head())
    };
    assert_ne!(key, other);
}

#[test]
fn response_split_one_byte_at_a_time_with_frames_in_the_last_read() {
    let mut pair = Pair::new(Config::default());
    let response = accept_response(&pair.key(), "");
    let (head, last) = response.as_bytes().split_at(response.len() - 1);
    for b in head {
        pair.server_send(&[*b]);
        assert_eq!(pair.client.ready_state(), ReadyState::Connecting);
    }
    assert!(pair.events.is_empty());
    // The last byte of the head and two frames arrive together: all processed in this call.
    let mut input = last.to_vec();
    input.extend(frame(0x1, b"first"));
    input.extend(frame(0x2, &[1, 2, 3]));
    pair.server_send(&input);
    let events = pair.take_events();
    assert!(matches!(&events[0], Event::Open(r) if r.status() == 101));
    assert_eq!(events[1], Event::Message(Message::Text("first".into())));
    assert_eq!(
        events[2],
        Event::Message(Message::Binary(vec![1, 2, 3].into()))
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn subprotocol_chosen_by_the_server_is_reported() {
    let request = Request::new("ws://h/")
        .unwrap()
        .with_subprotocol("a")
        .unwrap()
        .with_subprotocol("b")
        .unwrap();
    let mut pair = Pair::with_request(request, Config::default());
    pair.accept("Sec-WebSocket-Protocol: b\r\n");
    assert!(matches!(&pair.events[0], Event::Open(r) if r.subprotocol() == Some("b")));
    assert_eq!(pair.client.subprotocol(), Some("b"));
}

#[test]
fn invalid_101_fails_without_a_close_frame() {
    let cases = [
        (
            "Sec-WebSocket-Protocol: chat\r\n",
            HandshakeError::Subprotocol("chat".into()),
        ),
        (
            "Sec-WebSocket-Extensions: x-custom\r\n",
            HandshakeError::Extension("x-custom".into()),
        ),
    ];
    for (extra, expected) in cases {
        let mut pair = Pair::new(Config::default());
        pair.accept(extra);
        let c = closed(&pair.events);
        assert_eq!(c.error, Some(Error::Handshake(expected)));
        assert_eq!((c.code, c.clean), (CloseCode::ABNORMAL, false));
        assert_eq!(pair.events.len(), 1);
        assert!(
            pair.to_server.is_empty(),
            "no WebSocket frame before a completed handshake"
        );
    }
    let mut pair = Pair::new(Config::default());
    let wrong = accept_response("not-the-key", "");
    pair.server_send(wrong.as_bytes());
    assert_eq!(
        closed(&pair.events).error,
        Some(Error::Handshake(HandshakeError::Accept))
    );
}

#[test]
fn rejection_carries_status_reason_headers_and_body() {
    let mut pair = Pair::new(Config::default());
    pair.server_send(
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 13\r\nX-Why: token\r\n\r\ninvalid ",
    );
    assert!(pair.events.is_empty(), "waits for the announced body");
    pair.server_send(b"token");
    let c = closed(&pair.events);
    let Some(Error::Rejected(r)) = &c.error else {
        panic!("{c:?}")
    };
    assert_eq!(
        (r.status(), r.reason(), &r.body()[..]),
        (403, "Forbidden", &b"invalid token"[..])
    );
    assert_eq!(r.headers().get_str("x-why"), Some("token"));
    assert_eq!(c.reason, "403 Forbidden: \"invalid token\"");
    assert_eq!(pair.events.len(), 1);
}

#[test]
fn redirect_carries_location() {
    let mut pair = Pair::new(Config::default());
    pair.server_send(
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: /v2/chat\r\nContent-Length: 0\r\n\r\n",
    );
    let Some(Error::Rejected(r)) = &closed(&pair.events).error else {
        panic!()
    };
    assert_eq!(r.location(), Some("/v2/chat"));
    let next = pair
        .client
        .request()
        .redirect(r.location().unwrap())
        .unwrap();
    assert_eq!(next.target(), "/v2/chat");
}

#[test]
fn rejection_without_length_ends_at_eof_or_timeout() {
    let mut pair = Pair::new(Config::default());
    pair.server_send(b"HTTP/1.1 500 Internal Server Error\r\n\r\noops");
    pair.server_eof();
    let Some(Error::Rejected(r)) = &closed(&pair.events).error else {
        panic!()
    };
    assert_eq!(&r.body()[..], b"oops");

    let mut pair = Pair::new(Config::default());
    pair.server_send(b"HTTP/1.1 503 Service Unavailable\r\n\r\nbusy");
    pair.advance(Duration::from_secs(10));
    let Some(Error::Rejected(r)) = &closed(&pair.events).error else {
        panic!()
    };
    assert_eq!((r.status(), &r.body()[..]), (503, &b"busy"[..]));
}

#[test]
fn rejection_body_is_capped() {
    let mut config = Config::default();
    config.max_rejection_body(8);
    let mut pair = Pair::new(config);
    pair.server_send(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 1000000\r\n\r\n0123456789abcdef",
    );
    let Some(Error::Rejected(r)) = &closed(&pair.events).error else {
        panic!()
    };
    assert_eq!(&r.body()[..], b"01234567");
}

#[test]
fn handshake_timeout() {
    let mut config = Config::default();
    config.handshake_timeout(Some(Duration::from_secs(3)));
    let mut pair = Pair::new(config);
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(3))
    );
    pair.advance(Duration::from_millis(2999));
    assert!(pair.events.is_empty());
    pair.advance(Duration::from_millis(1));
    let c = closed(&pair.events);
    assert_eq!(
        (c.code, &c.error),
        (
            CloseCode::ABNORMAL,
            &Some(Error::Timeout(Timeout::Handshake))
        )
    );
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn eof_during_handshake() {
    let mut pair = Pair::new(Config::default());
    pair.server_send(b"HTTP/1.1 101 Switching");
    pair.server_eof();
    assert_eq!(
        closed(&pair.events).error,
        Some(Error::Handshake(HandshakeError::UnexpectedEof))
    );
    assert_eq!(pair.events.len(), 1);
}

#[test]
fn oversized_response_head_is_refused_early() {
    let mut config = Config::default();
    config.max_response_size(256);
    let mut pair = Pair::new(config);
    pair.server_send(b"HTTP/1.1 101 Switching Protocols\r\n");
    for _ in 0..100 {
        pair.server_send(b"X-Padding: aaaaaaaaaaaaaaaaaaaa\r\n");
        if !pair.events.is_empty() {
            break;
        }
    }
    assert_eq!(
        closed(&pair.events).error,
        Some(Error::Handshake(HandshakeError::TooLarge { limit: 256 }))
    );
}
