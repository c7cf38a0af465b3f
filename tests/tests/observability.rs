//! What a connection reports about itself: the round-trip time of keepalive pings and the
//! counts of messages and bytes each way, exact, compressed or not.

use std::time::Duration;

use ws_proto::{Config, Event, Stats};
use ws_proto_tests::{frame, raw_frame, Pair};

#[test]
fn the_rtt_is_the_time_from_a_keepalive_ping_to_its_pong() {
    let mut config = Config::default();
    config.ping_interval(Some(Duration::from_secs(5)));
    let mut pair = Pair::open_with(config);
    assert_eq!(pair.client.rtt(), None);
    pair.advance(Duration::from_secs(5));
    let ping = pair.server_frames();
    assert_eq!((ping[0].opcode, ping[0].payload.len()), (0x9, 0));
    // A pong with a payload answers someone else's ping: no RTT from it.
    pair.advance(Duration::from_millis(30));
    pair.server_send(&frame(0xA, b"other"));
    assert_eq!(pair.client.rtt(), None);
    pair.advance(Duration::from_millis(12));
    pair.server_send(&frame(0xA, b""));
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(42)));
    assert_eq!(
        pair.take_events().last(),
        Some(&Event::Pong(Default::default()))
    );
    // The next ping is measured from its own send.
    pair.advance(Duration::from_millis(4958));
    assert_eq!(pair.server_frames()[0].opcode, 0x9);
    pair.advance(Duration::from_millis(7));
    pair.server_send(&frame(0xA, b""));
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(7)));
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
    pair.client.send_ping(b"p").unwrap();
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
