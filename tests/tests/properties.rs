//! Property tests over whole connections: the same events come out however the input is split
//! and whether messages are lent or handed out,
//! arbitrary input never panics and ends with at most one `Closed`, and what the client sends
//! parses back to what was sent.

use proptest::prelude::*;
use ws_proto::{Config, Event};
use ws_proto_tests::{accept_response, close_body, frame, parse_client_frames, raw_frame, Pair};

/// A piece of server output: mostly valid frames, sometimes violations or garbage.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Binary(Vec<u8>),
    FragmentedText(Vec<String>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    RawFrame(u8, Vec<u8>),
    Garbage(Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => "\\PC{0,40}".prop_map(Piece::Text),
        4 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Piece::Binary),
        2 => proptest::collection::vec("\\PC{0,8}", 1..4).prop_map(Piece::FragmentedText),
        2 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Piece::Ping),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Piece::Pong),
        1 => (prop_oneof![Just(1000u16), Just(1001), Just(4000), Just(1005), any::<u16>()], "\\PC{0,10}")
            .prop_map(|(c, r)| Piece::Close(c, r)),
        1 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(b, p)| Piece::RawFrame(b, p)),
        1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(Piece::Garbage),
    ]
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(s) => out.extend(frame(0x1, s.as_bytes())),
            Piece::Binary(b) => out.extend(frame(0x2, b)),
            Piece::FragmentedText(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    let opcode = if i == 0 { 0x1 } else { 0x0 };
                    let fin = if i + 1 == parts.len() { 0x80 } else { 0 };
                    out.extend(raw_frame(fin | opcode, part.as_bytes()));
                }
            }
            Piece::Ping(b) => out.extend(frame(0x9, b)),
            Piece::Pong(b) => out.extend(frame(0xA, b)),
            Piece::Close(code, reason) => out.extend(frame(0x8, &close_body(*code, reason))),
            Piece::RawFrame(b0, payload) => out.extend(raw_frame(*b0, payload)),
            Piece::Garbage(g) => out.extend_from_slice(g),
        }
    }
    out
}

/// Runs a connection fed `stream` (after the 101) in the given chunk sizes; returns the events
/// and every byte the client wrote after the request.
fn run(stream: &[u8], with_101: bool, chunks: &[usize], eof: bool) -> (Vec<Event>, Vec<u8>) {
    run_with(stream, with_101, chunks, eof, Pair::server_send, false)
}

/// [`run`] with the reads delivered by `send` (a copy, or straight into the receive buffer),
/// and messages lent where they can be (`lend`).
fn run_with(
    stream: &[u8],
    with_101: bool,
    chunks: &[usize],
    eof: bool,
    send: fn(&mut Pair, &[u8]),
    lend: bool,
) -> (Vec<Event>, Vec<u8>) {
    let mut pair = Pair::new(Config::default());
    pair.lend = lend;
    let mut input = if with_101 {
        accept_response(&pair.key(), "").into_bytes()
    } else {
        Vec::new()
    };
    input.extend_from_slice(stream);
    let mut rest = &input[..];
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&usize::MAX)).clamp(1, rest.len());
        send(&mut pair, &rest[..n]);
        rest = &rest[n..];
    }
    if eof {
        pair.server_eof();
    }
    (pair.take_events(), pair.to_server.to_vec())
}

fn check_closed_once_and_last(events: &[Event]) -> Result<(), TestCaseError> {
    let closed = events
        .iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .count();
    prop_assert!(closed <= 1, "more than one Closed: {events:?}");
    if closed == 1 {
        prop_assert!(
            matches!(events.last(), Some(Event::Closed(_))),
            "events after Closed: {events:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn events_do_not_depend_on_how_input_is_split(
        pieces in proptest::collection::vec(piece(), 0..12),
        chunks in proptest::collection::vec(1usize..40, 1..8),
        eof: bool,
    ) {
        let stream = encode(&pieces);
        let whole = run(&stream, true, &[usize::MAX], eof);
        let split = run(&stream, true, &chunks, eof);
        let bytewise = run(&stream, true, &[1], eof);
        let in_place = run_with(&stream, true, &chunks, eof, Pair::server_send_in_place, false);
        let lent = run_with(&stream, true, &chunks, eof, Pair::server_send_in_place, true);
        let lent_whole = run_with(&stream, true, &[usize::MAX], eof, Pair::server_send, true);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(&whole, &bytewise);
        prop_assert_eq!(&whole, &in_place);
        prop_assert_eq!(&whole, &lent);
        prop_assert_eq!(&whole, &lent_whole);
        check_closed_once_and_last(&whole.0)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_close_at_most_once(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        with_101: bool,
        chunks in proptest::collection::vec(1usize..64, 1..6),
        eof: bool,
    ) {
        let (events, _) = run(&bytes, with_101, &chunks, eof);
        check_closed_once_and_last(&events)?;
        if eof {
            prop_assert!(matches!(events.last(), Some(Event::Closed(_))), "EOF always ends the connection");
        }
    }

    #[test]
    fn sent_messages_parse_back_unmasked(
        messages in proptest::collection::vec(prop_oneof![
            "\\PC{0,200}".prop_map(|s| (0x1u8, s.into_bytes())),
            proptest::collection::vec(any::<u8>(), 0..70_000).prop_map(|b| (0x2u8, b)),
            proptest::collection::vec(any::<u8>(), 0..126).prop_map(|b| (0x9u8, b)),
        ], 0..10),
        before_open: bool,
    ) {
        let mut pair = if before_open { Pair::new(Config::default()) } else { Pair::open() };
        for (opcode, payload) in &messages {
            match opcode {
                0x1 => pair.client.send_text(std::str::from_utf8(payload).unwrap()).unwrap(),
                0x2 => pair.client.send_binary(payload).unwrap(),
                _ => pair.client.send_ping(payload, pair.now).unwrap(),
            }
        }
        let accepted: usize = messages.iter().map(|(_, p)| p.len()).sum();
        prop_assert!(pair.client.buffered_amount() >= accepted);
        if before_open {
            pair.accept("");
        }
        pair.drain();
        prop_assert_eq!(pair.client.buffered_amount(), 0);
        let mut wire = pair.to_server.clone();
        let frames = parse_client_frames(&mut wire);
        prop_assert!(wire.is_empty());
        let got: Vec<(u8, Vec<u8>)> = frames.into_iter().map(|f| {
            assert!(f.mask.is_some() && f.fin && f.rsv == 0 && f.minimal_length);
            (f.opcode, f.payload)
        }).collect();
        prop_assert_eq!(got, messages);
    }

    #[test]
    fn bytes_written_in_place_in_short_writes_are_the_bytes_handed_out(
        messages in proptest::collection::vec(
            (any::<bool>(), prop_oneof![
                4 => proptest::collection::vec(any::<u8>(), 0..300),
                // Owned, these are masked in place and leave as a transmit's body.
                1 => proptest::collection::vec(any::<u8>(), 65_536..70_000),
            ]),
            0..8,
        ),
        writes in proptest::collection::vec(1usize..3000, 1..8),
        take_every in 1usize..5,
    ) {
        // The same seed: both clients mask alike. `handed` takes transmits; `in_place` writes
        // from the connection's buffer in short writes between the sends, now and then taking
        // a transmit instead.
        let mut handed = Pair::open();
        let mut in_place = Pair::open();
        let mut wire = Vec::new();
        let mut sizes = writes.iter().cycle();
        let mut write = |client: &mut ws_proto::ClientState, step: usize| -> Result<bool, TestCaseError> {
            let before = client.buffered_amount();
            if step.is_multiple_of(take_every) {
                let Some(transmit) = client.poll_transmit() else { return Ok(false) };
                wire.extend_from_slice(&transmit.to_vec());
                prop_assert_eq!(client.buffered_amount(), before - transmit.len());
                return Ok(true);
            }
            let Some((head, body)) = client.peek_transmit() else { return Ok(false) };
            let shown = [head, body].concat();
            prop_assert!(!shown.is_empty());
            let n = (*sizes.next().unwrap()).min(shown.len());
            wire.extend_from_slice(&shown[..n]);
            client.advance_transmit(n);
            prop_assert_eq!(client.buffered_amount(), before - n);
            Ok(true)
        };
        for (step, (owned, payload)) in messages.iter().enumerate() {
            for pair in [&mut handed, &mut in_place] {
                if *owned {
                    // Large owned payloads are masked where they lie: a transmit's body.
                    pair.client.send_message(ws_proto::Message::binary(payload.clone())).unwrap();
                } else {
                    pair.client.send_binary(payload).unwrap();
                }
            }
            write(&mut in_place.client, step + 1)?;
        }
        let mut step = 1;
        while write(&mut in_place.client, step)? {
            step += 1;
        }
        handed.drain();
        prop_assert_eq!(&wire[..], &handed.to_server[..]);
        prop_assert_eq!(in_place.client.stats().bytes_sent, handed.client.stats().bytes_sent);
    }
}
