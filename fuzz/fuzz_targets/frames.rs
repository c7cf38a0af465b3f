//! The frame decoder after a valid handshake, fed arbitrary bytes; with permessage-deflate
//! negotiated for half of the inputs, so the inflate path is fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::Event;
use ws_proto_fuzz::{same_events_however_split, Start};

fuzz_target!(|data: &[u8]| {
    // The first byte's bit 0: end of stream after the input; bit 1: deflate negotiated.
    let (flags, data) = data.split_first().map_or((0, data), |(f, rest)| (*f, rest));
    let start = if flags & 2 != 0 {
        Start::OpenDeflate
    } else {
        Start::Open
    };
    let run = same_events_however_split(start, data, flags & 1 == 1);
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
    let pongs: Vec<&[u8]> = frames
        .iter()
        .filter(|f| f.opcode == 0xA)
        .map(|f| &f.payload[..])
        .collect();
    assert_eq!(pongs, pings[..pongs.len()]);
    let closes = frames.iter().filter(|f| f.opcode == 0x8).count();
    assert!(closes <= 1);
    if closes == 1 {
        assert_eq!(
            frames.last().map(|f| f.opcode),
            Some(0x8),
            "nothing after the Close frame"
        );
    }
    assert!(
        frames.iter().all(|f| matches!(f.opcode, 0x8 | 0xA)),
        "only pongs and a Close"
    );
});
