//! The whole state machine driven by an arbitrary sequence of inputs and commands, messages sent
//! in parts and received streamed among them, compressed when the server accepts
//! permessage-deflate.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use flate2::{Decompress, FlushDecompress, Status};
use libfuzzer_sys::fuzz_target;
use ws_proto::{CloseCode, Message, MessageType, SendError};
use ws_proto_fuzz::{reassemble_streamed, Checked};

#[derive(Debug, Arbitrary)]
enum Op {
    /// The valid 101 for this client.
    Accept,
    /// The valid 101 accepting permessage-deflate, with `client_max_window_bits` of 8 + (its
    /// value mod 8) if any, and `client_no_context_takeover` if set.
    AcceptDeflate {
        window_bits: Option<u8>,
        no_context_takeover: bool,
    },
    Input(Vec<u8>),
    Eof,
    Advance(u16),
    SendText(String),
    SendBinary(Vec<u8>),
    SendPing(Vec<u8>),
    /// `send_message` with a payload of its own, grown past 64 KiB (the size sent without a
    /// copy) when `large`, and kept shared by a clone here when `shared`.
    SendOwned {
        data: Vec<u8>,
        large: bool,
        shared: bool,
    },
    Close(u16, String),
    /// `send_message_start`: text or binary.
    SendStart(bool),
    /// `send_message_chunk`: arbitrary bytes (for text, cut anywhere, or not UTF-8 at all).
    SendChunk(Vec<u8>),
    SendEnd,
    /// Receive messages streamed or whole, from the next one.
    RecvStreaming(bool),
    /// From now on, drain as ws-proto-tokio does (messages lent, bytes written where they lie
    /// in short writes), or with owned events and transmits.
    Borrow(bool),
}

/// A data message the user had accepted, with its payload so far and whether it ended.
#[derive(Debug, PartialEq)]
struct Sent {
    opcode: u8,
    payload: Vec<u8>,
    complete: bool,
}

fuzz_target!(|ops: Vec<Op>| {
    let mut run = Checked::new();
    // The data messages and pings the user got accepted, in order: they must come out exactly
    // so.
    let mut sent: Vec<Sent> = Vec::new();
    let mut pings: Vec<Vec<u8>> = Vec::new();
    for op in ops {
        let before = run.client.buffered_amount();
        let sending = run.client.is_sending_message();
        let result = match op {
            Op::Accept => {
                let accept = run.accept();
                run.input(&accept);
                continue;
            }
            Op::AcceptDeflate {
                window_bits,
                no_context_takeover,
            } => {
                let mut agreed = "Sec-WebSocket-Extensions: permessage-deflate".to_owned();
                if let Some(bits) = window_bits {
                    agreed += &format!("; client_max_window_bits={}", 8 + bits % 8);
                }
                if no_context_takeover {
                    agreed += "; client_no_context_takeover";
                }
                let accept = run.accept_with(&format!("{agreed}\r\n"));
                run.input(&accept);
                continue;
            }
            Op::Input(bytes) => {
                run.input(&bytes);
                continue;
            }
            Op::Eof => {
                run.eof();
                continue;
            }
            Op::Advance(ms) => {
                run.advance(Duration::from_millis(ms as u64 * 10));
                continue;
            }
            Op::SendText(text) => run
                .client
                .send_text(&text)
                .map(|()| (0x1, text.into_bytes())),
            Op::SendBinary(data) => run.client.send_binary(&data).map(|()| (0x2, data)),
            Op::SendPing(data) => run.client.send_ping(&data, run.now).map(|()| (0x9, data)),
            Op::SendOwned {
                mut data,
                large,
                shared,
            } => {
                if large {
                    data.resize(data.len() + (64 << 10), 0xA5);
                }
                let payload = Bytes::from(data.clone());
                let kept = shared.then(|| payload.clone());
                let result = run.client.send_message(Message::Binary(payload));
                if let Some(kept) = kept {
                    assert!(kept == data, "a shared payload was changed");
                }
                result.map(|()| (0x2, data))
            }
            Op::SendStart(text) => {
                let kind = if text {
                    MessageType::Text
                } else {
                    MessageType::Binary
                };
                let result = run.client.send_message_start(kind);
                if result.is_ok() {
                    assert!(!sending, "a second message started");
                    sent.push(Sent {
                        opcode: if text { 0x1 } else { 0x2 },
                        payload: Vec::new(),
                        complete: false,
                    });
                }
                result.map(|()| (0, Vec::new()))
            }
            Op::SendChunk(data) => {
                let result = run.client.send_message_chunk(&data);
                if result.is_ok() {
                    let message = sent.last_mut().expect("a message was started");
                    assert!(!message.complete);
                    message.payload.extend_from_slice(&data);
                }
                result.map(|()| (0, Vec::new()))
            }
            Op::SendEnd => {
                let result = run.client.send_message_end();
                if result.is_ok() {
                    let message = sent.last_mut().expect("a message was started");
                    if message.opcode == 0x1 {
                        assert!(std::str::from_utf8(&message.payload).is_ok());
                    }
                    message.complete = true;
                }
                result.map(|()| (0, Vec::new()))
            }
            Op::RecvStreaming(on) => {
                run.client.set_recv_streaming(on);
                run.drain();
                continue;
            }
            Op::Borrow(on) => {
                run.borrow = on;
                run.drain();
                continue;
            }
            Op::Close(code, reason) => {
                let r = run.client.close(CloseCode::new(code), &reason, run.now);
                if r.is_err() {
                    assert_eq!(
                        run.client.buffered_amount(),
                        before,
                        "a refused close changes nothing"
                    );
                }
                run.drain();
                continue;
            }
        };
        match result {
            // Empty pings are left out: keepalive pings are empty too.
            Ok((0x9, payload)) if !payload.is_empty() => pings.push(payload),
            // A part of a message, or an empty ping.
            Ok((0 | 0x9, _)) => {}
            Ok((opcode, payload)) => {
                assert!(
                    !sending,
                    "a whole message accepted while one is sent in parts"
                );
                sent.push(Sent {
                    opcode,
                    payload,
                    complete: true,
                });
            }
            Err(e) => {
                assert_eq!(
                    run.client.buffered_amount(),
                    before,
                    "a refused send changes nothing"
                );
                if let SendError::BufferFull { limit, .. } = e {
                    assert!(before >= limit);
                }
            }
        }
        run.drain();
    }
    // Streamed messages came out as a start, valid chunks and an end.
    let chunk = run.client.config().get_recv_chunk_size();
    reassemble_streamed(run.events.clone(), chunk);
    // Every accepted message and user ping went out in order, unmasked to what was sent,
    // fragments never interleaved, unless the connection ended before the handshake released
    // the queue.
    let mut wire: Vec<Sent> = Vec::new();
    let mut compressed: Vec<bool> = Vec::new();
    let mut wire_pings: Vec<Vec<u8>> = Vec::new();
    for f in run.frames() {
        match f.opcode {
            0x9 if !f.payload.is_empty() => wire_pings.push(f.payload),
            0x1 | 0x2 => {
                assert!(
                    wire.last().is_none_or(|m| m.complete),
                    "a message started inside another"
                );
                compressed.push(f.rsv != 0);
                wire.push(Sent {
                    opcode: f.opcode,
                    payload: f.payload,
                    complete: f.fin,
                });
            }
            0x0 => {
                let message = wire.last_mut().expect("a continuation after a start");
                assert!(!message.complete, "a continuation after a final frame");
                message.payload.extend_from_slice(&f.payload);
                message.complete = f.fin;
            }
            _ => {}
        }
    }
    // Compressed messages inflate to what was accepted, never reaching back further than the
    // agreed window nor, without context takeover, into an earlier message (RFC 7692 §7.1.1.2,
    // §7.1.2.2). flate2 inflates here: zlib-rs's inflate, which ws-proto does not use.
    let deflate = run.deflate();
    if let Some(agreed) = deflate {
        // zlib cannot make a raw stream with a 256-byte window: the client uses 512 bytes,
        // whose back-references reach at most 250 bytes (zlib keeps 262 bytes of lookahead).
        let fresh = || Decompress::new_with_window_bits(false, agreed.window_bits.max(9));
        let mut inflater = fresh();
        for (message, &compressed) in wire.iter_mut().zip(&compressed) {
            if !compressed {
                continue;
            }
            if agreed.no_context_takeover {
                inflater = fresh();
            }
            let mut data = std::mem::take(&mut message.payload);
            if message.complete {
                // §7.2.2: put back the sync-flush tail the sender removed (§7.2.1).
                data.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
            }
            message.payload = inflate(&mut inflater, &data);
        }
    } else {
        assert!(!compressed.contains(&true), "compressed, not agreed");
    }
    assert!(
        pings.starts_with(&wire_pings),
        "pings out of order or altered"
    );
    assert!(wire.len() <= sent.len(), "more messages out than accepted");
    for (out, accepted) in wire.iter().zip(&sent) {
        assert_eq!(out.opcode, accepted.opcode, "messages out of order");
        if out.complete {
            assert!(
                accepted.complete && out.payload == accepted.payload,
                "a message altered"
            );
        } else {
            assert!(
                accepted.payload.starts_with(&out.payload),
                "a message altered"
            );
        }
    }
    // Whatever did not go out is still counted, never silently dropped, but for the start of
    // a code point a text message in parts holds back (at most three bytes). Compressed, a
    // message's bytes out and queued are fewer than its own, and a part may wait inside the
    // compressor: a whole message left is at least one byte queued.
    let mut unsent: usize = sent
        .iter()
        .enumerate()
        .map(|(i, accepted)| {
            let out = wire.get(i).map_or(0, |m| m.payload.len());
            let left = accepted.payload.len() - out;
            match (accepted.complete, deflate.is_some()) {
                (true, false) => left,
                (true, true) => left.min(1),
                (false, false) => left.saturating_sub(3),
                (false, true) => 0,
            }
        })
        .sum();
    unsent += pings[wire_pings.len()..]
        .iter()
        .map(Vec::len)
        .sum::<usize>();
    assert!(run.client.buffered_amount() >= unsent);
});

/// Inflates all of `data`, which must be a valid (possibly unfinished) raw DEFLATE stream
/// continuing what `inflater` saw before.
fn inflate(inflater: &mut Decompress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * data.len() + 64);
    let mut used = 0;
    loop {
        let before = inflater.total_in();
        let status = inflater
            .decompress_vec(&data[used..], &mut out, FlushDecompress::Sync)
            .expect("the client's DEFLATE stream inflates");
        used += (inflater.total_in() - before) as usize;
        // Done when all input is taken and the output had room to spare, so nothing is left
        // inside the inflater.
        if status == Status::StreamEnd || (used == data.len() && out.len() < out.capacity()) {
            assert_eq!(
                used,
                data.len(),
                "bytes after the end of the DEFLATE stream"
            );
            return out;
        }
        out.reserve(out.capacity());
    }
}
