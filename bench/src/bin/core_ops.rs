//! Drives the sans-IO core from memory for `instructions.sh`: `core_ops MODE N SIZE` receives
//! (`recv`, `recvtext`: N frames fed in 64 KiB inputs, all events drained; `lend`: binary, each
//! message offered to `poll_message_with` first) or sends (`send`: N binary messages from a
//! slice, `sendmsg`: N `Message::Binary` values each holding a clone of one `Bytes`; output
//! taken every 1000) messages of SIZE bytes, with no I/O at all.

use std::time::Instant;
use ws_proto::{Config, Event, Message};
use ws_proto_bench::{drain, open_core};

fn main() {
    let mode = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let size: usize = std::env::args().nth(3).map_or(16, |s| s.parse().unwrap());
    let now = Instant::now();
    let mut c = open_core(Config::default(), None);
    match mode.as_str() {
        "recv" | "recvtext" | "lend" => {
            let op = if mode == "recvtext" { 1 } else { 2 };
            let mut frame = Vec::new();
            ws_proto_bench::header(op, size, None, &mut frame);
            // ASCII: text validation at its fastest, as for most text protocols.
            frame.extend(std::iter::repeat_n(b'a', size));
            let per = (65536 / frame.len()).max(1);
            let chunk: Vec<u8> = frame
                .iter()
                .copied()
                .cycle()
                .take(frame.len() * per)
                .collect();
            let mut got = 0usize;
            let mut count = 0;
            while count < n {
                c.handle_input(&chunk, now).unwrap();
                if mode == "lend" {
                    while let Some(len) = c.poll_message_with(|m| m.len()) {
                        got += len;
                        count += 1;
                    }
                }
                drain(&mut c, drop, |e| {
                    if let Event::Message(m) = e {
                        got += m.len();
                        count += 1;
                    }
                });
            }
            assert_eq!(got, count * size);
        }
        "send" | "sendmsg" => {
            let data = vec![b'a'; size];
            let mut total = 0;
            let bytes = bytes::Bytes::from(data.clone());
            for i in 0..n {
                if mode == "sendmsg" {
                    c.send_message(Message::Binary(bytes.clone())).unwrap();
                } else {
                    c.send_binary(&data).unwrap();
                }
                if i % 1000 == 999 {
                    drain(&mut c, |t| total += t.len(), drop);
                }
            }
            drain(&mut c, |t| total += t.len(), drop);
            assert!(total > n * size);
        }
        _ => panic!(),
    }
}
