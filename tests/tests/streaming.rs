//! Streamed messages through `ClientState`: receiving in chunks (the same bytes and close codes
//! as whole messages, however the input is split, compressed or not, text chunks each valid
//! UTF-8) and sending in parts (fragments that reassemble to the message, compressed or not,
//! misuse refused with nothing changed).

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use proptest::prelude::*;
use ws_proto::{CloseCode, Config, Error, Event, Message, MessageType, ProtocolError, SendError};
use ws_proto_tests::{accept_response, close_body, frame, raw_frame, reassemble_streamed, Pair};

const DEFLATE: &str = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

/// A piece of server output.
#[derive(Debug, Clone)]
enum Piece {
    /// A message in fragments of the given sizes (the rest in a last one), compressed or not.
    Message {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        compressed: bool,
    },
    Ping(Vec<u8>),
    Close(u16),
    /// A frame that breaks a rule.
    RawFrame(u8, Vec<u8>),
}

fn payload(text: bool) -> BoxedStrategy<Vec<u8>> {
    if text {
        prop_oneof![
            "\\PC{0,300}".prop_map(String::into_bytes),
            // Multi-byte code points, so cuts fall inside them.
            "[κόσμε€𝄞a]{0,200}".prop_map(String::into_bytes),
            // Sometimes not UTF-8 at all.
            proptest::collection::vec(any::<u8>(), 0..40),
        ]
        .boxed()
    } else {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            (any::<u8>(), 0usize..5000).prop_map(|(b, n)| vec![b; n]),
        ]
        .boxed()
    }
}

fn piece(deflate: bool) -> impl Strategy<Value = Piece> {
    prop_oneof![
        8 => (any::<bool>(), proptest::collection::vec(0usize..200, 0..4), any::<bool>())
            .prop_flat_map(move |(text, cuts, compressed)| {
                payload(text).prop_map(move |payload| Piece::Message {
                    text,
                    payload,
                    cuts: cuts.clone(),
                    compressed: compressed && deflate,
                })
            }),
        2 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Piece::Ping),
        1 => prop_oneof![Just(1000u16), Just(4000), Just(999)].prop_map(Piece::Close),
        1 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(b, p)| Piece::RawFrame(b, p)),
    ]
}

/// The server's compressor: raw DEFLATE, a sync flush per message, the tail removed.
struct ServerDeflate(Compress);

impl ServerDeflate {
    fn new() -> Self {
        ServerDeflate(Compress::new(Compression::default(), false))
    }

    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let start = self.0.total_in();
        loop {
            let used = (self.0.total_in() - start) as usize;
            out.reserve(1024);
            self.0
                .compress_vec(&data[used..], &mut out, FlushCompress::Sync)
                .unwrap();
            // The flush is complete once all input is in and the output was not filled.
            if (self.0.total_in() - start) as usize == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.is_empty() {
            // An empty message right after a flush: RFC 7692 §7.2.3.6's single 0x00.
            return vec![0];
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        out
    }
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut deflate = ServerDeflate::new();
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Message {
                text,
                payload,
                cuts,
                compressed,
            } => {
                let body = if *compressed {
                    deflate.compress(payload)
                } else {
                    payload.clone()
                };
                let mut rest = &body[..];
                let mut first = true;
                for &cut in cuts.iter().chain([&usize::MAX]) {
                    let n = cut.min(rest.len());
                    let last = n == rest.len();
                    let opcode = match (first, text) {
                        (false, _) => 0x0,
                        (true, true) => 0x1,
                        (true, false) => 0x2,
                    };
                    let rsv1 = if first && *compressed { 0x40 } else { 0 };
                    let fin = if last { 0x80 } else { 0 };
                    out.extend(raw_frame(fin | rsv1 | opcode, &rest[..n]));
                    rest = &rest[n..];
                    first = false;
                    if last {
                        break;
                    }
                }
            }
            Piece::Ping(b) => out.extend(frame(0x9, b)),
            Piece::Close(code) => out.extend(frame(0x8, &close_body(*code, ""))),
            Piece::RawFrame(b0, payload) => out.extend(raw_frame(*b0, payload)),
        }
    }
    out
}

/// Runs a connection fed `stream` in reads of the given sizes, then the end of the stream;
/// returns the events and every byte the client wrote after the request.
fn run(config: &Config, deflate: bool, stream: &[u8], reads: &[usize]) -> (Vec<Event>, Vec<u8>) {
    let mut pair = Pair::new(config.clone());
    let extra = if deflate { DEFLATE } else { "" };
    let mut input = accept_response(&pair.key(), extra).into_bytes();
    input.extend_from_slice(stream);
    let mut rest = &input[..];
    let mut sizes = reads.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&usize::MAX)).clamp(1, rest.len());
        pair.server_send(&rest[..n]);
        rest = &rest[n..];
    }
    pair.server_eof();
    (pair.take_events(), pair.to_server.to_vec())
}

fn streaming_config(chunk: usize) -> Config {
    let mut config = Config::default();
    config.recv_streaming(true).recv_chunk_size(chunk);
    config
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    /// Streamed or whole, split any way, compressed or not: the same messages, the same pings,
    /// the same close code and reason, the same bytes sent back.
    #[test]
    fn streamed_messages_are_the_whole_messages_however_the_input_is_split(
        deflate: bool,
        pieces in proptest::collection::vec(piece(true), 0..8),
        reads in proptest::collection::vec(1usize..300, 1..6),
        chunk in 4usize..100,
    ) {
        let pieces: Vec<Piece> = pieces
            .into_iter()
            .map(|p| match p {
                Piece::Message { text, payload, cuts, compressed } => {
                    Piece::Message { text, payload, cuts, compressed: compressed && deflate }
                }
                other => other,
            })
            .collect();
        let stream = encode(&pieces);
        let whole = run(&Config::default(), deflate, &stream, &[usize::MAX]);
        let config = streaming_config(chunk);
        for reads in [&[usize::MAX][..], &reads, &[1]] {
            let (events, sent) = run(&config, deflate, &stream, reads);
            let events = reassemble_streamed(events, chunk);
            prop_assert_eq!(&events, &whole.0);
            prop_assert_eq!(&sent, &whole.1);
        }
    }

    /// A message sent in parts, cut anywhere, compressed or not, arrives as the message.
    #[test]
    fn a_message_sent_in_parts_reassembles(
        deflate: bool,
        text: bool,
        payload in "[κόσμε€𝄞a-z]{0,400}",
        cuts in proptest::collection::vec(0usize..120, 0..8),
    ) {
        let mut pair = open(deflate, Config::default());
        let kind = if text { MessageType::Text } else { MessageType::Binary };
        pair.client.send_message_start(kind).unwrap();
        let data = payload.as_bytes();
        let mut rest = data;
        for &cut in &cuts {
            let n = cut.min(rest.len());
            pair.client.send_message_chunk(&rest[..n]).unwrap();
            // A ping between parts goes out between fragments.
            pair.client.send_ping(b"p", pair.now).unwrap();
            rest = &rest[n..];
        }
        pair.client.send_message_chunk(rest).unwrap();
        pair.client.send_message_end().unwrap();
        pair.drain();
        let (opcode, got) = received_by_server(&mut pair, deflate);
        prop_assert_eq!(opcode, if text { 0x1 } else { 0x2 });
        prop_assert_eq!(got, data);
    }
}

fn open(deflate: bool, config: Config) -> Pair {
    let mut pair = Pair::new(config);
    pair.accept(if deflate { DEFLATE } else { "" });
    assert!(matches!(pair.events.remove(0), Event::Open(_)));
    pair
}

/// The server's view of one data message the client sent (pings skipped): its opcode and its
/// payload, inflated if RSV1 says so. Checks the fragment rules: RSV1 on the first frame only,
/// continuations after it, FIN on the last alone.
fn received_by_server(pair: &mut Pair, deflate: bool) -> (u8, Vec<u8>) {
    let frames: Vec<_> = pair
        .server_frames()
        .into_iter()
        .filter(|f| f.opcode != 0x9)
        .collect();
    let first = &frames[0];
    let compressed = first.rsv == 0x4;
    assert!(!compressed || deflate);
    let mut body = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.opcode == 0x0, i > 0, "{frames:?}");
        assert_eq!(f.fin, i + 1 == frames.len(), "{frames:?}");
        assert!(i == 0 || f.rsv == 0);
        body.extend_from_slice(&f.payload);
    }
    if !compressed {
        return (first.opcode, body);
    }
    body.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut inflate = Decompress::new(false);
    let mut out = Vec::with_capacity(body.len() * 20 + 1024);
    inflate
        .decompress_vec(&body, &mut out, FlushDecompress::Sync)
        .unwrap();
    (first.opcode, out)
}

#[test]
fn a_streamed_message_comes_out_as_it_arrives_with_pings_between_fragments() {
    let mut pair = open(false, streaming_config(4));
    let mut first = raw_frame(0x01, "κόσμε".as_bytes());
    first.truncate(2 + 3); // "κ" and the first byte of "ό": a code point cut by the read.
    pair.server_send(&first);
    assert_eq!(
        pair.take_events(),
        [
            Event::MessageStart(MessageType::Text),
            Event::MessageData(Bytes::from_static("κ".as_bytes())),
        ]
    );
    let rest = &raw_frame(0x01, "κόσμε".as_bytes())[5..];
    pair.server_send(rest);
    pair.server_send(&frame(0x9, b"hi"));
    pair.server_send(&raw_frame(0x80, b"!"));
    // Chunks of at most 4 bytes: two code points each.
    let data: Vec<Event> = ["όσ", "με"]
        .iter()
        .map(|s| Event::MessageData(Bytes::copy_from_slice(s.as_bytes())))
        .collect();
    let mut expected = data;
    expected.push(Event::Ping(Bytes::from_static(b"hi")));
    expected.push(Event::MessageData(Bytes::from_static(b"!")));
    expected.push(Event::MessageEnd);
    assert_eq!(pair.take_events(), expected);
    // The pong went out while the message was still arriving.
    let frames = pair.server_frames();
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0xA, &b"hi"[..])
    );
}

#[test]
fn invalid_utf8_fails_at_once_after_the_chunks_before_it() {
    let mut pair = open(false, streaming_config(8));
    // Not final: the message would go on, but the bad byte ends it where it is.
    let mut bytes = b"abcdefgh".to_vec();
    bytes.extend_from_slice(&[0xC0, 0x80]);
    bytes.extend_from_slice(b"more text");
    pair.server_send(&raw_frame(0x01, &bytes));
    let events = pair.take_events();
    assert_eq!(events[0], Event::MessageStart(MessageType::Text));
    assert_eq!(
        events[1],
        Event::MessageData(Bytes::from_static(b"abcdefgh"))
    );
    let Event::Closed(closed) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(closed.code, CloseCode::INVALID_PAYLOAD);
    assert_eq!(
        closed.error,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn a_text_message_ending_inside_a_code_point_is_1007() {
    let mut pair = open(false, streaming_config(64));
    pair.server_send(&raw_frame(0x01, &"a€".as_bytes()[..3]));
    pair.server_send(&raw_frame(0x80, b""));
    let events = pair.take_events();
    assert_eq!(
        events[..2],
        [
            Event::MessageStart(MessageType::Text),
            Event::MessageData(Bytes::from_static(b"a")),
        ]
    );
    assert!(matches!(&events[2], Event::Closed(c) if c.code == CloseCode::INVALID_PAYLOAD));
}

#[test]
fn limits_of_whole_messages_do_not_apply_to_streamed_ones_but_their_own_does() {
    let mut config = streaming_config(1024);
    config.max_frame_size(100).max_message_size(100);
    let mut pair = open(false, config.clone());
    let big = vec![7u8; 10_000];
    pair.server_send(&frame(0x2, &big));
    let events = pair.take_events();
    assert_eq!(
        events.first(),
        Some(&Event::MessageStart(MessageType::Binary))
    );
    assert_eq!(events.last(), Some(&Event::MessageEnd));
    let total: usize = events
        .iter()
        .map(|e| match e {
            Event::MessageData(d) => d.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(total, 10_000);

    config.max_streamed_message_size(Some(5000));
    let mut pair = open(false, config);
    // Refused from the header, before any payload arrives.
    pair.server_send(&frame(0x2, &big)[..4]);
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::Closed(c)] if c.code == CloseCode::MESSAGE_TOO_BIG
            && c.error == Some(Error::Protocol(ProtocolError::MessageTooBig { len: 10_000, limit: 5000 }))),
        "{events:?}"
    );
}

#[test]
fn a_compressed_message_streams_in_bounded_chunks_and_its_limit_is_the_inflated_size() {
    // 1 MiB of zeros compresses to about a kilobyte: a bomb for a whole-message client.
    let zeros = vec![0u8; 1 << 20];
    let compressed = ServerDeflate::new().compress(&zeros);
    let mut config = streaming_config(16 << 10);
    let mut pair = open(true, config.clone());
    pair.server_send(&raw_frame(0xC2, &compressed));
    let events = pair.take_events();
    let chunks: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::MessageData(d) => Some(d.len()),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.iter().sum::<usize>(), 1 << 20);
    assert!(chunks.iter().all(|&n| n <= 16 << 10), "{chunks:?}");
    assert_eq!(events.last(), Some(&Event::MessageEnd));

    config.max_streamed_message_size(Some(100_000));
    let mut pair = open(true, config);
    pair.server_send(&raw_frame(0xC2, &compressed));
    let events = pair.take_events();
    assert!(
        matches!(events.last(), Some(Event::Closed(c)) if c.code == CloseCode::MESSAGE_TOO_BIG),
        "{events:?}"
    );
}

#[test]
fn streaming_is_switched_per_message() {
    let mut pair = open(false, Config::default());
    let big = vec![1u8; 200_000];
    pair.client.set_recv_streaming(true);
    pair.server_send(&frame(0x2, &big));
    assert_eq!(pair.events[0], Event::MessageStart(MessageType::Binary));
    pair.take_events();
    pair.client.set_recv_streaming(false);
    pair.server_send(&frame(0x2, &big));
    assert_eq!(
        pair.take_events(),
        [Event::Message(Message::Binary(big.into()))]
    );
}

#[test]
fn misuse_of_a_message_in_parts_is_refused_and_changes_nothing() {
    let mut pair = open(false, Config::default());
    assert_eq!(
        pair.client.send_message_chunk(b"x"),
        Err(SendError::NoMessageInProgress)
    );
    assert_eq!(
        pair.client.send_message_end(),
        Err(SendError::NoMessageInProgress)
    );
    pair.client.send_message_start(MessageType::Text).unwrap();
    assert!(pair.client.is_sending_message());
    assert_eq!(
        pair.client.send_message_start(MessageType::Binary),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        pair.client.send_text("x"),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        pair.client.send_message(Message::Binary(Bytes::new())),
        Err(SendError::MessageInProgress)
    );
    // Half of "€", then bytes that cannot continue it: refused, nothing sent.
    pair.client
        .send_message_chunk(&"€".as_bytes()[..1])
        .unwrap();
    let buffered = pair.client.buffered_amount();
    assert_eq!(
        pair.client.send_message_chunk(b"a"),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(pair.client.send_message_end(), Err(SendError::InvalidUtf8));
    assert_eq!(pair.client.buffered_amount(), buffered);
    pair.client
        .send_message_chunk(&"€".as_bytes()[1..])
        .unwrap();
    pair.client.send_message_end().unwrap();
    assert!(!pair.client.is_sending_message());
    pair.client.send_text("after").unwrap();
    pair.drain();
    let frames = pair.server_frames();
    let shape: Vec<(bool, u8, &[u8])> = frames
        .iter()
        .map(|f| (f.fin, f.opcode, &f.payload[..]))
        .collect();
    assert_eq!(
        shape,
        [
            (false, 0x1, "€".as_bytes()),
            (true, 0x0, &b""[..]),
            (true, 0x1, &b"after"[..]),
        ]
    );
}

#[test]
fn a_close_between_parts_goes_out_and_ends_the_message() {
    let mut pair = open(false, Config::default());
    pair.client.send_message_start(MessageType::Binary).unwrap();
    pair.client.send_message_chunk(b"abc").unwrap();
    pair.client.close(CloseCode::NORMAL, "", pair.now).unwrap();
    assert_eq!(
        pair.client.send_message_chunk(b"d"),
        Err(SendError::Closing)
    );
    assert_eq!(pair.client.send_message_end(), Err(SendError::Closing));
    pair.drain();
    let frames = pair.server_frames();
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].fin, frames[0].opcode), (false, 0x2));
    assert_eq!(frames[1].opcode, 0x8);
}
