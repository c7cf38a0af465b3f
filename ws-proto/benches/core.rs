//! Micro-benchmarks of the sans-IO core, from memory, no sockets (issue #9).
//!
//! `cargo bench -p ws-proto` (add `--features deflate` to build the core as the adapters do;
//! compression is never negotiated here). Groups:
//!
//! - `recv/{binary,text}/SIZE`: server frames fed through `handle_input` in 64 KiB reads, the
//!   outputs drained with `poll_output` after each read.
//! - `send/binary/SIZE`: `send_binary` (encode + mask into the output buffer) and one
//!   `poll_transmit` per batch, as the tokio adapter's feed-then-flush does.
//! - `mask/apply_mask/SIZE` next to `mask/copy/SIZE`, a plain `copy_from_slice` of the same
//!   size: the physical limit of a pass over the bytes.
//! - `utf8/{ascii,multibyte}/{simdutf8,std}/SIZE`: `simdutf8::compat::from_utf8`, the bulk of
//!   the core's incremental text validator, beside `std::str::from_utf8`.
//! - `handshake/build` (ClientState::new + the request) and `handshake/validate` (plus feeding
//!   the 101 and taking `Open`).
//!
//! Throughput is payload bytes (not wire bytes). The whole run takes about two minutes.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_proto::{accept_key, ClientState, Config, Event, Output, Request};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];
/// Size of one simulated transport read.
const READ: usize = 64 << 10;
/// Small messages are processed in batches of about this many payload bytes per iteration.
const BATCH_BYTES: usize = 256 << 10;
const SEED: [u8; 32] = [42; 32];

fn config() -> Config {
    #[allow(unused_mut)]
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    config.permessage_deflate(None);
    config
}

/// The handshake request of a client made with `SEED`, and the 101 answering it.
fn handshake_pair() -> (Request, Vec<u8>) {
    let request = Request::new("ws://bench.example/socket").unwrap();
    let mut client = ClientState::new(request.clone(), config(), SEED, Instant::now());
    let bytes = client.poll_transmit().unwrap().to_vec();
    let text = std::str::from_utf8(&bytes).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    (request, response.into_bytes())
}

/// An open client: handshake done, events and output drained.
fn open_client() -> ClientState {
    let (request, response) = handshake_pair();
    let now = Instant::now();
    let mut client = ClientState::new(request, config(), SEED, now);
    let _ = client.poll_transmit();
    client.handle_input(&response, now).unwrap();
    assert!(matches!(
        client.poll_output(),
        Output::Event(Event::Open(_))
    ));
    while !matches!(client.poll_output(), Output::Timeout(_)) {}
    client
}

/// An unmasked server frame header for a final frame of `opcode` with `len` bytes.
fn server_header(opcode: u8, len: usize, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// Text payload: ASCII with a multi-byte character every so often (about 10% non-ASCII bytes),
/// cut on a character boundary to exactly `len` bytes.
fn text_payload(len: usize) -> Vec<u8> {
    repeated(
        "The quick brown fox jumps over the lazy dog. Grüße, señor! €10 ",
        len,
    )
}

fn multibyte_payload(len: usize) -> Vec<u8> {
    // Two-, three- and four-byte sequences only.
    repeated("κόσμε日本語の文章𝄞😀абвгд", len)
}

/// `pattern` repeated to exactly `len` bytes of UTF-8: cut on a character boundary, then padded
/// with dots.
fn repeated(pattern: &str, len: usize) -> Vec<u8> {
    let mut s = String::with_capacity(len + pattern.len());
    while s.len() < len {
        s.push_str(pattern);
    }
    let mut cut = len;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    while s.len() < len {
        s.push('.');
    }
    s.into_bytes()
}

fn recv(c: &mut Criterion) {
    let mut group = c.benchmark_group("recv");
    for (kind, opcode) in [("binary", 0x2u8), ("text", 0x1u8)] {
        for (size, name) in SIZES {
            let payload = if opcode == 1 {
                text_payload(size)
            } else {
                vec![0xA5; size]
            };
            let count = (BATCH_BYTES / size).max(1);
            let mut wire = Vec::with_capacity(count * (size + 10));
            for _ in 0..count {
                server_header(opcode, size, &mut wire);
                wire.extend_from_slice(&payload);
            }
            group.throughput(Throughput::Bytes((count * size) as u64));
            let mut client = open_client();
            let now = Instant::now();
            group.bench_function(BenchmarkId::new(kind, name), |b| {
                b.iter(|| {
                    let mut got = 0;
                    for read in wire.chunks(READ) {
                        client.handle_input(read, now).unwrap();
                        loop {
                            match client.poll_output() {
                                Output::Event(Event::Message(m)) => {
                                    got += m.len();
                                    black_box(&m);
                                }
                                Output::Timeout(_) => break,
                                other => {
                                    let _ = black_box(other);
                                }
                            }
                        }
                    }
                    assert_eq!(got, count * size);
                })
            });
            assert!(client.is_open());
        }
    }
    group.finish();
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    for (size, name) in SIZES {
        let payload = vec![0x5Au8; size];
        let count = (BATCH_BYTES / size).max(1);
        group.throughput(Throughput::Bytes((count * size) as u64));
        let mut client = open_client();
        group.bench_function(BenchmarkId::new("binary", name), |b| {
            b.iter(|| {
                for _ in 0..count {
                    client.send_binary(black_box(&payload)).unwrap();
                }
                let mut wire = 0;
                loop {
                    match client.poll_output() {
                        Output::Transmit(transmit) => {
                            wire += transmit.len();
                            black_box(&transmit);
                        }
                        Output::Timeout(_) => break wire,
                        Output::Event(event) => {
                            black_box(event);
                        }
                    }
                }
            })
        });
    }
    group.finish();
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for (size, name) in [
        (16usize, "16B"),
        (256, "256B"),
        (4 << 10, "4KiB"),
        (64 << 10, "64KiB"),
        (1 << 20, "1MiB"),
    ] {
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0x11u8; size];
        let src = vec![0x22u8; size];
        group.bench_function(BenchmarkId::new("apply_mask", name), |b| {
            b.iter(|| ws_proto::apply_mask(black_box(&mut buf), black_box([1, 2, 3, 4])))
        });
        group.bench_function(BenchmarkId::new("copy", name), |b| {
            b.iter(|| black_box(&mut buf[..]).copy_from_slice(black_box(&src)))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (size, name) in [
        (16usize, "16B"),
        (1 << 10, "1KiB"),
        (64 << 10, "64KiB"),
        (1 << 20, "1MiB"),
    ] {
        group.throughput(Throughput::Bytes(size as u64));
        let ascii = vec![b'a'; size];
        let multi = multibyte_payload(size);
        for (kind, text) in [("ascii", &ascii), ("multibyte", &multi)] {
            // What the core validates text with, beside the standard library's validator.
            group.bench_function(BenchmarkId::new(format!("{kind}/simdutf8"), name), |b| {
                b.iter(|| simdutf8::compat::from_utf8(black_box(text)).is_ok())
            });
            group.bench_function(BenchmarkId::new(format!("{kind}/std"), name), |b| {
                b.iter(|| std::str::from_utf8(black_box(text)).is_ok())
            });
        }
    }
    group.finish();
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    let (request, response) = handshake_pair();
    let now = Instant::now();
    group.bench_function("build", |b| {
        b.iter(|| {
            let mut client = ClientState::new(request.clone(), config(), SEED, now);
            client.poll_transmit()
        })
    });
    group.bench_function("validate", |b| {
        b.iter(|| {
            let mut client = ClientState::new(request.clone(), config(), SEED, now);
            let _ = client.poll_transmit();
            client.handle_input(black_box(&response), now).unwrap();
            let open = matches!(client.poll_output(), Output::Event(Event::Open(_)));
            assert!(open);
            client
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = recv, send, mask, utf8, handshake
}
criterion_main!(benches);
