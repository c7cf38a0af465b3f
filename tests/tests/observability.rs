//! What a connection reports about itself: the round-trip time of pings and the
//! counts of messages and bytes each way, exact, compressed or not.

use std::time::Duration;

use bytes::Bytes;
use ws_proto::{Config, Event, Pong, Stats};
use ws_proto_std::{CloseCode, Event as ClientEvent};
use ws_proto_tests::servers::Server;
use ws_proto_tests::{block_on, frame, raw_frame, Pair};

/// A pong from the server with `payload`, as the client reports it.
fn pong(payload: &'static [u8], rtt: Option<u64>) -> Event {
    Event::Pong(Pong {
        payload: Bytes::from_static(payload),
        rtt: rtt.map(Duration::from_millis),
    })
}

#[test]
fn each_pong_carries_the_round_trip_of_the_ping_it_answers_and_rtt_the_last() {
    let mut config = Config::default();
    config.ping_interval(Some(Duration::from_secs(5)));
    let mut pair = Pair::open_with(config);
    assert_eq!(pair.client.rtt(), None);
    pair.advance(Duration::from_secs(5));
    let ping = pair.server_frames();
    assert_eq!((ping[0].opcode, ping[0].payload.len()), (0x9, 0));
    // An unsolicited pong (§5.5.3) answers no ping: no round trip.
    pair.advance(Duration::from_millis(30));
    pair.server_send(&frame(0xA, b"other"));
    assert_eq!(pair.take_events(), [pong(b"other", None)]);
    assert_eq!(pair.client.rtt(), None);
    pair.advance(Duration::from_millis(12));
    pair.server_send(&frame(0xA, b""));
    assert_eq!(pair.take_events(), [pong(b"", Some(42))]);
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(42)));
    // The next keepalive ping is measured from its own send.
    pair.advance(Duration::from_millis(4958));
    assert_eq!(pair.server_frames()[0].opcode, 0x9);
    pair.advance(Duration::from_millis(7));
    pair.server_send(&frame(0xA, b""));
    assert_eq!(pair.take_events(), [pong(b"", Some(7))]);
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(7)));
    // The user's pings too, matched by payload; a server that answers only the latest of
    // several (§5.5.3 allows it) answers the ones before it as well.
    pair.client.send_ping(b"a", pair.now).unwrap();
    pair.advance(Duration::from_millis(3));
    pair.client.send_ping(b"b", pair.now).unwrap();
    pair.advance(Duration::from_millis(2));
    pair.server_send(&frame(0xA, b"b"));
    pair.server_send(&frame(0xA, b"a"));
    assert_eq!(pair.take_events(), [pong(b"b", Some(2)), pong(b"a", None)]);
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(2)));
}

#[test]
fn stats_count_messages_payload_and_bytes_each_way() {
    let mut pair = Pair::new(Config::default());
    let request = pair.request.len() as u64;
    assert_eq!(pair.client.stats().bytes_sent, request);
    pair.accept("");
    let response = pair.client.stats().bytes_received;
    assert!(response > 100);
    pair.client.send_text("hello").unwrap();
    pair.client.send_binary(&[1; 300]).unwrap();
    pair.client.send_ping(b"p", pair.now).unwrap();
    pair.drain();
    pair.server_send(&frame(0x1, b"hi"));
    // A fragmented one: counted once, whole.
    pair.server_send(&raw_frame(0x02, &[7; 10]));
    pair.server_send(&raw_frame(0x80, &[7; 5]));
    let stats = pair.client.stats();
    let sent_frames = (2 + 4 + 5) + (4 + 4 + 300) + (2 + 4 + 1);
    let received_frames = (2 + 2) + (2 + 10) + (2 + 5);
    let mut expected = Stats::default();
    expected.messages_sent = 2;
    expected.payload_sent = 305;
    expected.messages_received = 2;
    expected.payload_received = 17;
    expected.bytes_sent = request + sent_frames;
    expected.bytes_received = response + received_frames;
    assert_eq!(stats, expected);
}

#[test]
fn with_compression_the_payload_and_the_wire_differ() {
    let mut pair = Pair::new(Config::default());
    pair.accept("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    let before = pair.client.stats();
    let text = "compressible ".repeat(200);
    pair.client.send_text(&text).unwrap();
    pair.drain();
    let stats = pair.client.stats();
    assert_eq!(stats.payload_sent - before.payload_sent, text.len() as u64);
    let wire = stats.bytes_sent - before.bytes_sent;
    assert!(wire < text.len() as u64 / 10, "{wire} bytes on the wire");
}

/// A server that answers pings (tungstenite does, while it reads) and reads until the end.
fn answering_server() -> Server {
    Server::start(|mut ws, _| while ws.read().is_ok() {})
}

#[test]
fn both_adapters_give_a_users_ping_its_round_trip_with_the_pong() {
    let server = answering_server();
    let url = format!("ws://{}/", server.addr());
    let (ws, _) = ws_proto_std::connect(url.as_str()).unwrap();
    ws.send_ping(b"std").unwrap();
    let ClientEvent::Pong(pong) = ws.read_event().unwrap() else {
        panic!("not a pong")
    };
    assert_eq!(&pong.payload[..], b"std");
    assert!(pong.rtt.is_some_and(|rtt| rtt < Duration::from_secs(5)));
    assert_eq!(ws.rtt(), pong.rtt);
    ws.close(CloseCode::NORMAL, "").unwrap();

    block_on(async {
        let (mut ws, _) = ws_proto_tokio::connect(url.as_str()).await.unwrap();
        ws.send_ping(b"tokio").await.unwrap();
        let ClientEvent::Pong(pong) = ws.read_event().await.unwrap() else {
            panic!("not a pong")
        };
        assert_eq!(&pong.payload[..], b"tokio");
        assert!(pong.rtt.is_some_and(|rtt| rtt < Duration::from_secs(5)));
        assert_eq!(ws.rtt(), pong.rtt);
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}
