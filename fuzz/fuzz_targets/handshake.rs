//! The handshake response parser, fed raw bytes as the server's whole answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::{Error, Event};
use ws_proto_fuzz::{same_events_however_split, Start};

fuzz_target!(|data: &[u8]| {
    let run = same_events_however_split(Start::Raw, data, true);
    for event in &run.events {
        if let Event::Closed(closed) = event {
            if let Some(Error::Rejected(rejection)) = &closed.error {
                assert!(
                    rejection.body().len() <= 1 << 10,
                    "rejection body over its cap"
                );
            }
        }
    }
});
