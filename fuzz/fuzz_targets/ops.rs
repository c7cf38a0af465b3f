//! The whole state machine driven by an arbitrary sequence of inputs and commands.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ws_proto::{CloseCode, Message, SendError};
use ws_proto_fuzz::Checked;

#[derive(Debug, Arbitrary)]
enum Op {
    /// The valid 101 for this client.
    Accept,
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
}

fuzz_target!(|ops: Vec<Op>| {
    let mut run = Checked::new();
    // The data frames the user got accepted, in order: they must come out exactly so.
    let mut sent: Vec<(u8, Vec<u8>)> = Vec::new();
    for op in ops {
        let before = run.client.buffered_amount();
        let result = match op {
            Op::Accept => {
                let accept = run.accept();
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
            Op::SendPing(data) => run.client.send_ping(&data).map(|()| (0x9, data)),
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
            Ok(frame) => sent.push(frame),
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
    // Every accepted data frame and user ping went out in order, unmasked to what was sent,
    // unless the connection ended before the handshake released the queue.
    let frames = run.frames();
    let user: Vec<(u8, Vec<u8>)> = frames
        .into_iter()
        .filter(|f| {
            matches!(f.opcode, 0x1 | 0x2 | 0x9) && !(f.opcode == 0x9 && f.payload.is_empty())
        })
        .map(|f| (f.opcode, f.payload))
        .collect();
    let user_sent: Vec<(u8, Vec<u8>)> = sent
        .into_iter()
        .filter(|(op, p)| !(*op == 0x9 && p.is_empty()))
        .collect();
    assert!(
        user_sent.starts_with(&user),
        "frames out of order or altered"
    );
    // Whatever did not go out is still counted, never silently dropped.
    let unsent: usize = user_sent[user.len()..].iter().map(|(_, p)| p.len()).sum();
    assert!(run.client.buffered_amount() >= unsent);
});
