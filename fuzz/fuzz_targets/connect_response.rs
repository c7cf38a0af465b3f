//! The answer to an HTTP/2 extended CONNECT (RFC 8441): any status and headers, then any DATA
//! and any end (END_STREAM, RST_STREAM, GOAWAY or none). Besides the `Checked` invariants: only
//! a 2xx opens; a 2xx is judged exactly as a 101 with the same negotiation headers is (the same
//! verdict, the same handshake error); before the answer nothing is written.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::{Error, Event, Headers, StreamReset};
use ws_proto_fuzz::Checked;

#[derive(Arbitrary, Debug)]
enum Ending {
    Open,
    EndStream,
    Reset(u32),
    GoAway(u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    data: Vec<u8>,
    end: Ending,
}

/// What a handshake came to: opened, or the handshake error it failed with, or something else.
#[derive(Debug, PartialEq)]
enum Verdict {
    Opened,
    Invalid(ws_proto::HandshakeError),
    Other,
}

fn verdict(events: &[Event]) -> Verdict {
    for event in events {
        match event {
            Event::Open(_) => return Verdict::Opened,
            Event::Closed(closed) => {
                return match &closed.error {
                    Some(Error::Handshake(e)) => Verdict::Invalid(e.clone()),
                    _ => Verdict::Other,
                }
            }
            _ => {}
        }
    }
    Verdict::Other
}

/// The header as a line of a 101 means the same to httparse, and leaves the 101's own checks
/// alone.
fn fits_a_101(name: &str, value: &[u8]) -> bool {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let own = ["upgrade", "connection", "sec-websocket-accept"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n));
    let text = value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b));
    let trimmed = value.first().is_none_or(|b| !b.is_ascii_whitespace())
        && value.last().is_none_or(|b| !b.is_ascii_whitespace());
    token && !own && text && trimmed
}

fuzz_target!(|input: Input| {
    let mut h2 = Checked::extended_connect();
    assert!(h2.wire.is_empty(), "no HTTP/1.1 request");
    let headers: Headers = input
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let now = h2.now;
    h2.client
        .handle_connect_response(input.status, headers, now)
        .expect("the answer this connection waits for");
    h2.drain();
    let accepted = (200..300).contains(&input.status);
    let over_h2 = verdict(&h2.events);
    if !accepted {
        assert_ne!(over_h2, Verdict::Opened, "status {} opened", input.status);
    }
    if accepted && input.headers.iter().all(|(n, v)| fits_a_101(n, v)) && input.headers.len() < 32 {
        let mut h1 = Checked::new();
        let extra: String = input
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}\r\n", String::from_utf8_lossy(v)))
            .collect();
        let accept = h1.accept_with(&extra);
        h1.input(&accept);
        assert_eq!(over_h2, verdict(&h1.events), "{extra:?}");
    }
    h2.input(&input.data);
    match input.end {
        Ending::Open => {}
        Ending::EndStream => h2.eof(),
        Ending::Reset(code) | Ending::GoAway(code) => {
            let reset = match input.end {
                Ending::Reset(_) => StreamReset::reset(code),
                _ => StreamReset::goaway(code),
            };
            h2.client
                .handle_stream_reset(reset)
                .expect("no lease is out");
            h2.drain();
            assert!(h2.client.is_closed(), "a reset always ends the connection");
        }
    }
});
