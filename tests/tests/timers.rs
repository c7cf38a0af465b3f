//! Keepalive pings, the pong timeout that detects a dead peer, and `poll_timeout`.

use std::time::Duration;

use ws_proto::{CloseCode, Config, Error, Event, Timeout};
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
