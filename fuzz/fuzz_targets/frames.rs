//! The frame decoder after a valid handshake, fed arbitrary bytes; with permessage-deflate
//! negotiated for half of the inputs, so the inflate path is fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::{CloseCode, Event};
use ws_proto_fuzz::{
    config, reassemble_streamed, same_events_however_split, same_events_however_split_with, Start,
};

fuzz_target!(|data: &[u8]| {
    // The first byte's bit 0: end of stream after the input; bit 1: deflate negotiated; bit 2:
    // the same input received streamed too, in chunks of 4 + (the top five bits) bytes.
    let (flags, data) = data.split_first().map_or((0, data), |(f, rest)| (*f, rest));
    let start = if flags & 2 != 0 {
        Start::OpenDeflate
    } else {
        Start::Open
    };
    let eof = flags & 1 == 1;
    let run = same_events_however_split(start, data, eof);
    if flags & 4 != 0 {
        // Streamed, the same input gives the same messages (put back together from their
        // chunks, which must each be valid), pings, close code and bytes sent back.
        let chunk = 4 + (flags >> 3) as usize;
        let mut streaming = config();
        let limit = streaming.get_max_message_size();
        streaming
            .recv_streaming(true)
            .recv_chunk_size(chunk)
            .max_streamed_message_size(Some(limit));
        let streamed = same_events_however_split_with(streaming, start, data, eof);
        let events = reassemble_streamed(streamed.events.clone(), chunk);
        match run.events.last() {
            // The whole-message limits (the frame's, or an inflated message's as it grows) can
            // end a connection earlier than the streamed limit: up to there, all agrees.
            Some(Event::Closed(c)) if c.code == CloseCode::MESSAGE_TOO_BIG => {
                let before = run.events.len() - 1;
                assert_eq!(
                    events[..before.min(events.len())],
                    run.events[..before.min(events.len())]
                );
            }
            _ => {
                assert_eq!(events, run.events);
                assert_eq!(streamed.wire, run.wire);
            }
        }
    }
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
        frames
            .iter()
            .all(|f| matches!(f.opcode, 0x8 | 0xA) && f.fin),
        "only pongs and a Close"
    );
});
