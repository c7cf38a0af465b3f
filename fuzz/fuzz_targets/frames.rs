//! The frame decoder after a valid handshake, fed arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::Event;
use ws_proto_fuzz::same_events_however_split;

fuzz_target!(|data: &[u8]| {
    let (eof, data) = match data.split_first() {
        Some((flag, rest)) => (flag & 1 == 1, rest),
        None => (false, data),
    };
    let run = same_events_however_split(true, data, eof);
    assert!(matches!(run.events.first(), Some(Event::Open(_))));
    // What the client wrote parses back: a pong echoing each ping, then at most one Close.
    let frames = run.frames();
    let pings: Vec<&[u8]> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Ping(p) => Some(&p[..]),
            _ => None,
        })
        .collect();
    let pongs: Vec<&[u8]> = frames.iter().filter(|f| f.opcode == 0xA).map(|f| &f.payload[..]).collect();
    assert_eq!(pongs, pings[..pongs.len()]);
    let closes = frames.iter().filter(|f| f.opcode == 0x8).count();
    assert!(closes <= 1);
    if closes == 1 {
        assert_eq!(frames.last().map(|f| f.opcode), Some(0x8), "nothing after the Close frame");
    }
    assert!(frames.iter().all(|f| matches!(f.opcode, 0x8 | 0xA)), "only pongs and a Close");
});
