//! Keepalive pings, the pong timeout that detects a dead peer, and `poll_timeout`.

use std::time::Duration;

use ws_proto::{CloseCode, Config, Error, Event, Pong, Timeout};
use ws_proto_tests::{frame, Pair};

fn keepalive(interval: u64, pong: u64) -> Config {
    let mut config = Config::default();
    config
        .ping_interval(Some(Duration::from_secs(interval)))
        .pong_timeout(Duration::from_secs(pong));
    config
}

#[test]
fn pings_at_the_interval_while_the_server_answers() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(30))
    );
    for round in 1..=3 {
        pair.advance(Duration::from_secs(30));
        let frames = pair.server_frames();
        assert_eq!(frames.len(), 1, "round {round}");
        assert_eq!((frames[0].opcode, frames[0].payload.len()), (0x9, 0));
        // The pong deadline is armed, and the next ping is scheduled.
        assert_eq!(
            pair.client.poll_timeout(),
            Some(pair.now + Duration::from_secs(10))
        );
        pair.server_send(&frame(0xA, b""));
        assert_eq!(
            pair.client.poll_timeout(),
            Some(pair.now + Duration::from_secs(30))
        );
    }
    assert_eq!(pair.take_events().len(), 3, "three pong events");
}

#[test]
fn a_silent_server_is_declared_dead() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.server_frames().len(), 1);
    pair.advance(Duration::from_millis(9999));
    assert!(pair.events.is_empty());
    pair.advance(Duration::from_millis(1));
    let events = pair.take_events();
    let [Event::Closed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.code, c.clean, &c.error),
        (
            CloseCode::ABNORMAL,
            false,
            &Some(Error::Timeout(Timeout::Pong))
        )
    );
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn any_data_counts_as_a_sign_of_life() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    pair.advance(Duration::from_secs(35));
    pair.server_send(&frame(0x1, b"busy, but alive"));
    pair.advance(Duration::from_secs(20));
    assert!(!pair.client.is_closed());
}

#[test]
fn no_timers_when_idle_without_keepalive() {
    let pair = Pair::open();
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn handle_timeout_early_or_twice_is_harmless() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    let now = pair.now;
    pair.client.handle_timeout(now);
    pair.client.handle_timeout(now + Duration::from_secs(29));
    pair.drain();
    assert!(pair.server_frames().is_empty());
    pair.client.handle_timeout(now + Duration::from_secs(30));
    pair.client.handle_timeout(now + Duration::from_secs(30));
    pair.drain();
    assert_eq!(pair.server_frames().len(), 1, "one ping, not two");
}

#[test]
fn a_paused_client_decodes_nothing_until_resumed_and_the_pong_timeout_waits() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    pair.client.pause_recv();
    assert!(pair.client.is_recv_paused());
    // Bytes that arrived anyway (a read already under way) wait, undecoded.
    pair.server_send(&frame(0x1, b"held"));
    assert!(pair.take_events().is_empty());
    pair.advance(Duration::from_secs(30));
    // The keepalive ping still goes out, but nothing can answer it while nothing is read:
    // no pong deadline, only the next ping.
    let frames = pair.server_frames();
    assert_eq!((frames.len(), frames[0].opcode), (1, 0x9));
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(30))
    );
    pair.advance(Duration::from_secs(25));
    assert!(!pair.client.is_closed());
    assert!(pair.take_events().is_empty());
    // On resume the held message comes out, and the unanswered ping gets a full timeout.
    pair.client.resume_recv(pair.now);
    assert!(!pair.client.is_recv_paused());
    pair.drain();
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(5))
    );
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::Message(m)] if m.to_text() == Some("held")),
        "{events:?}"
    );
    pair.advance(Duration::from_secs(5));
    assert_eq!(pair.server_frames().len(), 1, "the next ping");
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now + Duration::from_secs(5)),
        "the deadline set on resume still runs: the first ping is still unanswered"
    );
}

#[test]
fn pausing_suspends_a_pong_deadline_already_running_and_a_close_reads_again() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.server_frames().len(), 1);
    pair.client.pause_recv();
    pair.advance(Duration::from_secs(20));
    assert!(!pair.client.is_closed(), "the pong timeout waits");
    pair.client.resume_recv(pair.now);
    pair.advance(Duration::from_millis(9999));
    assert!(!pair.client.is_closed());
    pair.advance(Duration::from_millis(1));
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::Closed(c)] if c.error == Some(Error::Timeout(Timeout::Pong))),
        "{events:?}"
    );

    // A close started while paused needs the server's answer: reading resumes by itself.
    let mut pair = Pair::open();
    pair.client.pause_recv();
    pair.client
        .close(CloseCode::NORMAL, "bye", pair.now)
        .unwrap();
    assert!(!pair.client.is_recv_paused());
    pair.drain();
    pair.server_send(&ws_proto_tests::close_frame(1000, "bye"));
    pair.server_eof();
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::Closed(c)] if c.clean && c.code == CloseCode::NORMAL),
        "{events:?}"
    );
}

#[test]
fn the_handshake_is_read_while_paused() {
    let mut pair = Pair::new(Config::default());
    pair.client.pause_recv();
    assert!(!pair.client.is_recv_paused(), "not open yet");
    pair.accept("");
    assert!(pair.client.is_recv_paused());
    let events = pair.take_events();
    assert!(matches!(events.as_slice(), [Event::Open(_)]), "{events:?}");
}

#[test]
fn an_empty_lease_reads_no_time() {
    let mut pair = Pair::open_with(keepalive(30, 10));
    let opened = pair.now;
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.server_frames().len(), 1, "the keepalive ping");
    let pong_due = pair.client.poll_timeout();
    assert_eq!(pong_due, Some(pair.now + Duration::from_secs(10)));
    // Reads that find nothing, handed back with an instant from before the ping (an adapter
    // need not read the clock for them): no deadline moves, nothing counts as input.
    for _ in 0..3 {
        let lease = pair.client.lease_read().unwrap();
        pair.client.handle_lease(lease, opened).unwrap();
    }
    pair.drain();
    assert_eq!(pair.client.poll_timeout(), pong_due);
    assert_eq!(pair.take_events(), []);
    // The pong's round trip runs from the ping to the read that brings it.
    pair.now += Duration::from_secs(2);
    pair.server_send_in_place(&frame(0xA, b""));
    assert_eq!(
        pair.take_events(),
        [Event::Pong(Pong {
            payload: Default::default(),
            rtt: Some(Duration::from_secs(2)),
        })]
    );
    assert_eq!(
        pair.client.poll_timeout(),
        Some(pair.now - Duration::from_secs(2) + Duration::from_secs(30))
    );
}
