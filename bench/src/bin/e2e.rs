//! End-to-end loopback comparison of WebSocket clients against one minimal server (issue #9).
//!
//! `cd bench && CARGO_TARGET_DIR=/work/target-bench cargo run --release --bin e2e`
//!
//! Environment:
//! - `BENCH_ROUNDS` (default 5): interleaved rounds; each round runs every client once per
//!   scenario, in a rotated order. The table shows the median.
//! - `BENCH_SCALE` (default 1.0): multiplies every scenario's message count (0.05 for a quick run).
//! - `BENCH_CLIENTS`, `BENCH_SCENARIOS`: comma-separated substrings (or `=` and an
//!   exact name) to select clients/scenarios.
//!
//! "vs best other crate" is the time relative to the fastest of the other crates
//! (tokio-tungstenite, tokio-websockets, fastwebsockets, sockudo-ws, wtx, yawc): 0.67x means 1.5
//! times as fast as the best of them.
//!
//! Each async client runs on its own current-thread tokio runtime; the ws-proto-std client runs
//! on the main thread. Only the data phase is timed (after the handshake, until the last message
//! is received or the server acknowledged the last message sent).
//!
//! The streamed scenarios (256 MiB messages, received with `read_stream` and sent with
//! `send_from_reader`) run only ws-proto and the raw floors, and also report the peak heap of
//! the client's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use ws_proto_bench::measure::{check, env_f64, print_table, selected, Stopwatch, Times};
use ws_proto_bench::peers::{self, manual_handshake, no_deflate, Res};
use ws_proto_bench::{frame_unit, fresh_key, header, header_len, payload, rt, start_server, ACK};

// ---------------------------------------------------------------- peak heap

/// The system allocator, counting the live bytes of the threads that ask it to (see
/// [`HeapWatch`]): one thread-local read per call otherwise.
struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted. A const initializer and no destructor:
    /// reading it never allocates, so the allocator may.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// Live bytes allocated by counted threads since the watch started (frees of blocks allocated
/// before it make it lower, never higher), and its peak.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn counted() -> bool {
    COUNTED.with(Cell::get)
}

fn grow(by: isize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; the counting has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && counted() {
            grow(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() && counted() {
            grow(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() && counted() {
            grow(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts the calling thread's heap from `start` to `stop`: one watch at a time.
struct HeapWatch;

impl HeapWatch {
    fn start() -> Self {
        LIVE.store(0, Relaxed);
        PEAK.store(0, Relaxed);
        COUNTED.with(|c| c.set(true));
        HeapWatch
    }

    /// The peak of the live bytes since `start`, in bytes.
    fn stop(self) -> usize {
        COUNTED.with(|c| c.set(false));
        PEAK.load(Relaxed).max(0) as usize
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Receive `n` messages of `size` bytes. With `lent`, ws-proto reads each where it was
    /// received (`read_with`); the other clients read as in the plain scenario (fastwebsockets'
    /// and wtx's frames are lent already).
    Recv { text: bool, lent: bool },
    /// Send `n` messages, all fed then one flush, then wait for the ack. With `values`, every
    /// client is given each message as a value holding a clone of one `Bytes`, the `Sink` way
    /// (`feed(Message::Binary(bytes.clone()))`), ws-proto included, whose own way otherwise is
    /// `feed_binary(&[u8])`; the clients without such an API (fastwebsockets, wtx) sit it out.
    SendBatched { values: bool },
    /// Send `n` messages, each written out (send = feed + flush), then wait for the ack.
    SendEach,
    /// `n` round trips: send one message, receive its echo.
    Echo,
    /// Like `SendEach`, but each message is first copied into a new buffer that is then given
    /// to the client: an application that builds every message in its own memory.
    SendOwned,
    /// Messages too large to hold, streamed: see [`Streamed`]. Only ws-proto and the raw floors.
    Streamed(Streamed),
}

#[derive(Clone, Copy, Debug)]
enum Streamed {
    /// Receive `n` messages of `size` bytes chunk by chunk (`read_stream`), checking each chunk.
    Recv,
    /// Send `n` messages of `size` bytes from a [`Source`] (`send_from_reader`: a fragment per
    /// 64 KiB read), then wait for the ack.
    Send,
}

#[derive(Clone, Debug)]
struct Scenario {
    name: &'static str,
    kind: Kind,
    n: usize,
    size: usize,
}

impl Scenario {
    fn path(&self) -> String {
        match self.kind {
            Kind::Recv { text, .. } => format!(
                "/recv?n={}&size={}&op={}",
                self.n,
                self.size,
                if text { 1 } else { 2 }
            ),
            Kind::Streamed(Streamed::Recv) => {
                format!("/recv?n={}&size={}&op=2", self.n, self.size)
            }
            Kind::SendBatched { .. }
            | Kind::SendEach
            | Kind::SendOwned
            | Kind::Streamed(Streamed::Send) => {
                format!("/send?n={}&size={}", self.n, self.size)
            }
            Kind::Echo => format!("/echo?n={}&size={}", self.n, self.size),
        }
    }
    fn payload_bytes(&self) -> usize {
        self.n * self.size
    }
}

const CLIENTS: [&str; 14] = [
    "ws-proto-tokio",
    "ws-proto-tokio session",
    "tokio-tungstenite",
    "tokio-websockets",
    "fastwebsockets",
    "sockudo-ws",
    "wtx",
    "yawc",
    "ws-proto-std",
    "ws-proto-std callbacks",
    "raw",
    "raw+mask",
    "raw+utf8",
    "raw+mask+clone",
];

// ---------------------------------------------------------------- ws-proto-tokio

async fn ws_proto_tokio(url: &str, sc: &Scenario) -> Res<Times> {
    use ws_proto_tokio::{Event, Message};
    let mut ws = peers::ws_proto_tokio(url, no_deflate()).await?;
    let data = Bytes::from(payload(sc.size, false));
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { lent: true, .. } => {
            let mut got = 0;
            for _ in 0..sc.n {
                got += ws.read_with(|m| m.len()).await?;
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::Recv { lent: false, .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                if let Event::Message(m) = ws.next().await.ok_or("eof")?? {
                    got += m.len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                match sc.kind {
                    Kind::Streamed(_) => {
                        unreachable!("run() gives streamed scenarios to their own clients")
                    }
                    Kind::SendOwned => ws.send(Message::Binary(data.to_vec().into())).await?,
                    Kind::SendEach => ws.send_binary(&data).await?,
                    Kind::SendBatched { values: true } => {
                        ws.feed(Message::Binary(data.clone())).await?
                    }
                    _ => ws.feed_binary(&data).await?,
                }
            }
            ws.flush().await?;
            while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send_binary(&data).await?;
                while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
            }
        }
    }
    Ok(start.stop())
}

/// ws-proto-tokio's event client (`Session`, Workerman's events as a stream), receiving: from
/// its `Open` to the last message.
async fn ws_proto_tokio_session(url: &str, sc: &Scenario) -> Res<Times> {
    use ws_proto_tokio::{ReconnectPolicy, SessionEvent};
    let mut session = ws_proto_tokio::Builder::new(url)
        .config(no_deflate())
        .session(ReconnectPolicy::never())?;
    loop {
        match session.next().await.ok_or("ended before Open")? {
            SessionEvent::Open(_) => break,
            SessionEvent::Error(e) => return Err(e.into()),
            _ => {}
        }
    }
    let start = Stopwatch::start();
    let (mut got, mut count) = (0, 0);
    while count < sc.n {
        match session.next().await.ok_or("eof")? {
            SessionEvent::Message(m) => {
                got += m.len();
                count += 1;
            }
            SessionEvent::Error(e) => return Err(e.into()),
            _ => {}
        }
    }
    check(got, sc.payload_bytes())?;
    Ok(start.stop())
}

// ---------------------------------------------------------------- tokio-tungstenite

async fn tokio_tungstenite(url: &str, sc: &Scenario) -> Res<Times> {
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = peers::tokio_tungstenite(url).await?;
    let data = Bytes::from(payload(sc.size, false));
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                match ws.next().await.ok_or("eof")?? {
                    Message::Binary(b) => got += b.len(),
                    Message::Text(t) => got += t.len(),
                    _ => continue,
                }
                count += 1;
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                let message = match sc.kind {
                    Kind::SendOwned => Message::Binary(data.to_vec().into()),
                    _ => Message::Binary(data.clone()),
                };
                ws.feed(message).await?;
                if !matches!(sc.kind, Kind::SendBatched { .. }) {
                    ws.flush().await?;
                }
            }
            ws.flush().await?;
            while !ws.next().await.ok_or("eof")??.is_binary() {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send(Message::Binary(data.clone())).await?;
                while !ws.next().await.ok_or("eof")??.is_binary() {}
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- tokio-websockets

async fn tokio_websockets(url: &str, sc: &Scenario) -> Res<Times> {
    use tokio_websockets::Message;
    let mut ws = peers::tokio_websockets(url).await?;
    let data = Bytes::from(payload(sc.size, false));
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                let m = ws.next().await.ok_or("eof")??;
                if m.is_binary() || m.is_text() {
                    got += m.as_payload().len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                let message = match sc.kind {
                    Kind::SendOwned => Message::binary(data.to_vec()),
                    _ => Message::binary(data.clone()),
                };
                ws.feed(message).await?;
                if !matches!(sc.kind, Kind::SendBatched { .. }) {
                    ws.flush().await?;
                }
            }
            ws.flush().await?;
            while !ws.next().await.ok_or("eof")??.is_binary() {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send(Message::binary(data.clone())).await?;
                while !ws.next().await.ok_or("eof")??.is_binary() {}
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- fastwebsockets

async fn fastwebsockets(url: &str, sc: &Scenario) -> Res<Times> {
    use fastwebsockets::{Frame, OpCode, Payload};
    let mut ws = peers::fastwebsockets(url).await?;
    let data = payload(sc.size, false);
    // Masking happens in place: a borrowed `&[u8]` would be copied into a fresh Vec per frame.
    let mut scratch = data.clone();
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                let frame = ws.read_frame().await?;
                if matches!(frame.opcode, OpCode::Binary | OpCode::Text) {
                    got += frame.payload.len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                if matches!(sc.kind, Kind::SendOwned) {
                    ws.write_frame(Frame::binary(Payload::Owned(data.to_vec())))
                        .await?;
                } else {
                    scratch.copy_from_slice(&data);
                    ws.write_frame(Frame::binary(Payload::BorrowedMut(&mut scratch)))
                        .await?;
                }
                if !matches!(sc.kind, Kind::SendBatched { .. }) {
                    ws.flush().await?;
                }
            }
            ws.flush().await?;
            while ws.read_frame().await?.opcode != OpCode::Binary {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                scratch.copy_from_slice(&data);
                ws.write_frame(Frame::binary(Payload::BorrowedMut(&mut scratch)))
                    .await?;
                ws.flush().await?;
                while ws.read_frame().await?.opcode != OpCode::Binary {}
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- sockudo-ws

async fn sockudo(url: &str, sc: &Scenario) -> Res<Times> {
    use sockudo_ws::Message;
    let mut ws = peers::sockudo(url).await?;
    let data = Bytes::from(payload(sc.size, false));
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                match ws.next().await.ok_or("eof")?? {
                    Message::Binary(b) | Message::Text(b) => got += b.len(),
                    _ => continue,
                }
                count += 1;
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                let message = match sc.kind {
                    Kind::SendOwned => Message::Binary(data.to_vec().into()),
                    _ => Message::Binary(data.clone()),
                };
                ws.feed(message).await?;
                if !matches!(sc.kind, Kind::SendBatched { .. }) {
                    ws.flush().await?;
                }
            }
            ws.flush().await?;
            while !matches!(ws.next().await.ok_or("eof")??, Message::Binary(_)) {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send(Message::Binary(data.clone())).await?;
                while !matches!(ws.next().await.ok_or("eof")??, Message::Binary(_)) {}
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- wtx

/// wtx writes each frame straight to the stream (there is no feed), masking the payload in place:
/// like fastwebsockets, a scratch copy per message.
async fn wtx(url: &str, sc: &Scenario) -> Res<Times> {
    use wtx::collection::Vector;
    use wtx::web_socket::{Frame, OpCode, WebSocketPayloadOrigin};
    let mut ws = peers::wtx(url).await?;
    let data = payload(sc.size, false);
    let mut scratch = data.clone();
    let mut buffer = Vector::new();
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                let frame = ws
                    .read_frame(&mut buffer, WebSocketPayloadOrigin::Adaptive)
                    .await?;
                if matches!(frame.op_code(), OpCode::Binary | OpCode::Text) {
                    got += frame.payload().len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned | Kind::Echo => {
            for _ in 0..sc.n {
                if matches!(sc.kind, Kind::SendOwned) {
                    ws.write_frame(&mut Frame::new_fin(OpCode::Binary, data.to_vec()))
                        .await?;
                } else {
                    scratch.copy_from_slice(&data);
                    ws.write_frame(&mut Frame::new_fin(OpCode::Binary, &mut scratch[..]))
                        .await?;
                }
                if matches!(sc.kind, Kind::Echo) {
                    wtx_next_binary(&mut ws, &mut buffer).await?;
                }
            }
            if !matches!(sc.kind, Kind::Echo) {
                wtx_next_binary(&mut ws, &mut buffer).await?;
            }
        }
    }
    Ok(start.stop())
}

async fn wtx_next_binary(ws: &mut peers::Wtx, buffer: &mut wtx::collection::Vector<u8>) -> Res<()> {
    use wtx::web_socket::{OpCode, WebSocketPayloadOrigin};
    while ws
        .read_frame(buffer, WebSocketPayloadOrigin::Adaptive)
        .await?
        .op_code()
        != OpCode::Binary
    {}
    Ok(())
}

// ---------------------------------------------------------------- yawc

async fn yawc(url: &str, sc: &Scenario) -> Res<Times> {
    use yawc::{Frame, OpCode};
    let mut ws = peers::yawc(url, yawc::Options::default()).await?;
    let data = Bytes::from(payload(sc.size, false));
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } => {
            let (mut got, mut count) = (0, 0);
            while count < sc.n {
                let frame = ws.next_frame().await?;
                if matches!(frame.opcode(), OpCode::Binary | OpCode::Text) {
                    got += frame.payload().len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::SendBatched { .. } | Kind::SendEach | Kind::SendOwned => {
            for _ in 0..sc.n {
                let frame = match sc.kind {
                    Kind::SendOwned => Frame::binary(data.to_vec()),
                    _ => Frame::binary(data.clone()),
                };
                ws.feed(frame).await?;
                if !matches!(sc.kind, Kind::SendBatched { .. }) {
                    ws.flush().await?;
                }
            }
            ws.flush().await?;
            while ws.next_frame().await?.opcode() != OpCode::Binary {}
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send(Frame::binary(data.clone())).await?;
                while ws.next_frame().await?.opcode() != OpCode::Binary {}
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- raw (the floor)

/// Gives the masked frame in `frame` a fresh key: its payload is masked again, in place, with
/// the old key XOR the new one.
fn remask(frame: &mut [u8], head_len: usize, i: usize) {
    let new = fresh_key(i);
    let (head, payload) = frame.split_at_mut(head_len);
    let old = &mut head[head_len - 4..];
    let both = [0, 1, 2, 3].map(|j| old[j] ^ new[j]);
    ws_proto::apply_mask(payload, both);
    old.copy_from_slice(&new);
}

/// What the raw client does beyond moving the bytes: each floor adds only what every client
/// must do in the scenarios it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Nothing: "raw".
    Bare,
    /// A fresh masking key for each frame sent, masked in place with no copy, as §5.3 requires:
    /// "raw+mask", the floor for any client that sends as the RFC says.
    Mask,
    /// Each text message received parsed out of the reads and validated as UTF-8 (§8.1 fails
    /// the connection on invalid text, so every client validates before handing text out),
    /// with the fastest validator at hand (simdutf8's `basic`): "raw+utf8", the floor of the
    /// text receives.
    Utf8,
    /// As `Mask`, but each message is given as a value holding a clone of one `Bytes`, as in
    /// the `values` scenario: copied from it into its frame, masked and the value dropped.
    /// "raw+mask+clone", the floor of `feed(Message::Binary(bytes.clone()))`.
    MaskClone,
}

impl Work {
    fn of(client: &str) -> Option<Self> {
        Some(match client {
            "raw" => Self::Bare,
            "raw+mask" => Self::Mask,
            "raw+utf8" => Self::Utf8,
            "raw+mask+clone" => Self::MaskClone,
            _ => return None,
        })
    }
}

/// Counts the whole text frames at the front of `data` and their payload bytes, validating
/// each payload, and returns how many bytes they took: a frame cut by the end of `data` is left
/// for the next read.
fn validate_frames(data: &[u8], messages: &mut usize, payload_bytes: &mut usize) -> Res<usize> {
    let mut at = 0;
    while let [b0, b1, rest @ ..] = &data[at..] {
        let (head, len) = match b1 & 0x7F {
            126 if rest.len() >= 2 => (4, u16::from_be_bytes([rest[0], rest[1]]) as usize),
            126 => break,
            127 => return Err("64-bit length in a text receive".into()),
            n => (2, n as usize),
        };
        if *b0 != 0x81 || b1 & 0x80 != 0 {
            return Err("not a whole unmasked text frame".into());
        }
        let Some(payload) = data.get(at + head..at + head + len) else {
            break;
        };
        simdutf8::basic::from_utf8(payload).map_err(|_| "invalid UTF-8")?;
        *messages += 1;
        *payload_bytes += len;
        at += head + len;
    }
    Ok(at)
}

/// The same bytes with no WebSocket code, doing only the [`Work`] asked for.
async fn raw(url: &str, sc: &Scenario, work: Work) -> Res<Times> {
    let mut tcp = peers::tcp(url).await?;
    manual_handshake(&mut tcp, url, None).await?;
    let key = [1, 2, 3, 4];
    let remask_each = matches!(work, Work::Mask | Work::MaskClone);
    // Reads of up to 256 KiB, as ws-proto-tokio makes: on this VM 64 KiB reads made the floor
    // slower than every client receiving 1 MiB messages (363 against 231 ms per 1000).
    let mut buf = vec![0u8; 256 << 10];
    let start;
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { .. } if work == Work::Utf8 => {
            start = Stopwatch::start();
            // The bytes of a frame cut by the end of a read are moved to the front for the
            // next, as a client's receive buffer does.
            let (mut messages, mut got, mut kept) = (0, 0, 0);
            while messages < sc.n {
                let n = tcp.read(&mut buf[kept..]).await?;
                if n == 0 {
                    return Err("eof".into());
                }
                let filled = kept + n;
                let used = validate_frames(&buf[..filled], &mut messages, &mut got)?;
                buf.copy_within(used..filled, 0);
                kept = filled - used;
            }
            check(got, sc.payload_bytes())?;
        }
        Kind::Recv { .. } => {
            let total = sc.n * (header_len(sc.size, false) + sc.size);
            start = Stopwatch::start();
            let mut got = 0;
            while got < total {
                let n = tcp.read(&mut buf).await?;
                if n == 0 {
                    return Err("eof".into());
                }
                got += n;
            }
        }
        Kind::SendBatched { .. } => {
            let (unit, per) = frame_unit(2, sc.size, Some(key));
            let data = Bytes::from(payload(sc.size, false));
            start = Stopwatch::start();
            let frame_len = unit.len() / per;
            let head_len = header_len(sc.size, true);
            let mut unit = unit;
            let mut sent = 0;
            while sent < sc.n {
                let frames = per.min(sc.n - sent);
                let unit = &mut unit[..frames * frame_len];
                if remask_each {
                    for (i, frame) in unit.chunks_exact_mut(frame_len).enumerate() {
                        if work == Work::MaskClone {
                            let message = data.clone();
                            let (head, body) = frame.split_at_mut(head_len);
                            let key = fresh_key(sent + i);
                            head[head_len - 4..].copy_from_slice(&key);
                            body.copy_from_slice(&message);
                            ws_proto::apply_mask(body, key);
                        } else {
                            remask(frame, head_len, sent + i);
                        }
                    }
                }
                tcp.write_all(unit).await?;
                sent += frames;
            }
            let mut ack = [0u8; ACK.len()];
            tcp.read_exact(&mut ack).await?;
        }
        Kind::SendEach | Kind::SendOwned | Kind::Echo => {
            let mut frame = Vec::new();
            header(2, sc.size, Some(key), &mut frame);
            let mut body = payload(sc.size, false);
            ws_proto::apply_mask(&mut body, key);
            frame.extend_from_slice(&body);
            let reply = header_len(sc.size, false) + sc.size;
            let mut ack = [0u8; ACK.len()];
            let head_len = header_len(sc.size, true);
            start = Stopwatch::start();
            for i in 0..sc.n {
                // SendOwned: a new copy of the frame each time, as the clients get.
                let mut owned;
                let frame = if matches!(sc.kind, Kind::SendOwned) {
                    owned = frame.clone();
                    &mut owned
                } else {
                    &mut frame
                };
                if remask_each {
                    remask(frame, head_len, i);
                }
                tcp.write_all(frame).await?;
                if matches!(sc.kind, Kind::Echo) {
                    tcp.read_exact(&mut buf[..reply]).await?;
                }
            }
            if !matches!(sc.kind, Kind::Echo) {
                tcp.read_exact(&mut ack).await?;
            }
        }
    }
    Ok(start.stop())
}

// ---------------------------------------------------------------- ws-proto-std (blocking)

fn ws_proto_std(url: &str, sc: &Scenario) -> Res<Times> {
    let ws = peers::ws_proto_std(url, no_deflate())?;
    let data = payload(sc.size, false);
    let start = Stopwatch::start();
    match sc.kind {
        Kind::Streamed(_) => unreachable!("run() gives streamed scenarios to their own clients"),
        Kind::Recv { lent: true, .. } => {
            let mut got = 0;
            for _ in 0..sc.n {
                got += ws.read_with(|m| m.len())?;
            }
            check(got, sc.payload_bytes())?;
        }
        // As the tokio client's `Stream` of events: the iterator of them.
        Kind::Recv { lent: false, .. } => {
            let (mut got, mut count) = (0, 0);
            let mut events = ws.events();
            while count < sc.n {
                if let ws_proto_std::Event::Message(m) = events.next().ok_or("eof")?? {
                    got += m.len();
                    count += 1;
                }
            }
            check(got, sc.payload_bytes())?;
        }
        // Batched: the feeds of a `Feeder`, the connection locked once for the batch, which
        // write out by themselves when the send buffer reaches its high-water mark.
        Kind::SendBatched { values } => {
            let bytes = Bytes::from(data.clone());
            let mut feeder = ws.feeder();
            for _ in 0..sc.n {
                if values {
                    feeder.feed(ws_proto::Message::Binary(bytes.clone()))?;
                } else {
                    feeder.feed_binary(&data)?;
                }
            }
            feeder.flush()?;
            drop(feeder);
            ws.read()?;
        }
        Kind::SendEach => {
            for _ in 0..sc.n {
                ws.send_binary(&data)?;
            }
            ws.read()?;
        }
        Kind::SendOwned => {
            for _ in 0..sc.n {
                ws.send(ws_proto::Message::Binary(data.clone().into()))?;
            }
            ws.read()?;
        }
        Kind::Echo => {
            for _ in 0..sc.n {
                ws.send_binary(&data)?;
                ws.read()?;
            }
        }
    }
    Ok(start.stop())
}

/// ws-proto-std's event client (Workerman's callbacks): a handler counting the messages on the
/// thread that runs the client, from `on_open` to the last message.
fn ws_proto_std_callbacks(url: &str, sc: &Scenario) -> Res<Times> {
    struct Count {
        n: usize,
        count: usize,
        got: usize,
        start: Option<Stopwatch>,
        times: Option<Times>,
    }
    impl ws_proto_std::Handler for Count {
        fn on_open(&mut self, _: &ws_proto_std::ClientHandle, _: &ws_proto_std::Response) {
            self.start = Some(Stopwatch::start());
        }
        fn on_message(&mut self, client: &ws_proto_std::ClientHandle, message: ws_proto::Message) {
            self.got += message.len();
            self.count += 1;
            if self.count == self.n {
                self.times = self.start.take().map(Stopwatch::stop);
                client.stop();
            }
        }
    }
    let mut config = no_deflate();
    // The server does not answer a Close: end the connection soon after ours.
    config.close_timeout(std::time::Duration::from_millis(10));
    let builder = ws_proto_std::Builder::new(url).config(config);
    let count = Count {
        n: sc.n,
        count: 0,
        got: 0,
        start: None,
        times: None,
    };
    let count = ws_proto_std::Client::new(builder, count).run();
    check(count.got, sc.payload_bytes())?;
    Ok(count
        .times
        .ok_or("the connection ended before the last message")?)
}

// ---------------------------------------------------------------- streamed (256 MiB messages)

/// Bytes of the block a [`Source`] repeats: one `send_from_reader` read.
const SOURCE_BLOCK: usize = 64 << 10;

/// A message of `left` bytes read from a fixed block repeated (a file or a socket, without
/// their cost): what the streamed sends read from. With `payload(SOURCE_BLOCK, false)` as the
/// block, the bytes are `payload(len, false)`'s, whose pattern repeats every 256 bytes.
struct Source<'a> {
    block: &'a [u8],
    /// Where in `block` the next read starts.
    at: usize,
    left: usize,
}

impl<'a> Source<'a> {
    fn new(block: &'a [u8], len: usize) -> Self {
        Source {
            block,
            at: 0,
            left: len,
        }
    }

    /// The next at most `max` bytes of the message (empty at its end).
    fn next_piece(&mut self, max: usize) -> &'a [u8] {
        let n = max.min(self.left).min(self.block.len() - self.at);
        let piece = &self.block[self.at..self.at + n];
        self.at = (self.at + n) % self.block.len();
        self.left -= n;
        piece
    }
}

impl io::Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = self.next_piece(buf.len());
        buf[..piece.len()].copy_from_slice(piece);
        Ok(piece.len())
    }
}

impl AsyncRead for Source<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let piece = self.get_mut().next_piece(buf.remaining());
        buf.put_slice(piece);
        Poll::Ready(Ok(()))
    }
}

/// The work done on every received chunk (or, in the raw client, every run of payload bytes in
/// one read), `at` bytes into its message: its first and last bytes checked against
/// `payload`'s pattern, so each chunk is touched and the order of the chunks is checked.
fn touch(at: usize, chunk: &[u8]) -> Res<()> {
    let last = chunk.len() - 1;
    if chunk[0] != (at * 7) as u8 || chunk[last] != ((at + last) * 7) as u8 {
        return Err(format!("wrong payload bytes {at}..{}", at + chunk.len()).into());
    }
    Ok(())
}

async fn ws_proto_tokio_streamed(url: &str, sc: &Scenario, flow: Streamed) -> Res<Times> {
    use ws_proto_tokio::Event;
    let mut ws = peers::ws_proto_tokio(url, no_deflate()).await?;
    let block = payload(SOURCE_BLOCK, false);
    let start = Stopwatch::start();
    match flow {
        Streamed::Recv => {
            let mut got = 0;
            for _ in 0..sc.n {
                let mut message = ws.read_stream().await?;
                let mut at = 0;
                while let Some(chunk) = message.next_chunk().await? {
                    touch(at, &chunk)?;
                    at += chunk.len();
                }
                check(at, sc.size)?;
                got += at;
            }
            check(got, sc.payload_bytes())?;
        }
        Streamed::Send => {
            for _ in 0..sc.n {
                let source = Source::new(&block, sc.size);
                let sent = ws
                    .send_from_reader(ws_proto::MessageType::Binary, source)
                    .await?;
                check(sent as usize, sc.size)?;
            }
            while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
        }
    }
    Ok(start.stop())
}

fn ws_proto_std_streamed(url: &str, sc: &Scenario, flow: Streamed) -> Res<Times> {
    let ws = peers::ws_proto_std(url, no_deflate())?;
    let block = payload(SOURCE_BLOCK, false);
    let start = Stopwatch::start();
    match flow {
        Streamed::Recv => {
            let mut got = 0;
            for _ in 0..sc.n {
                let mut message = ws.read_stream()?;
                let mut at = 0;
                while let Some(chunk) = message.next_chunk()? {
                    touch(at, &chunk)?;
                    at += chunk.len();
                }
                check(at, sc.size)?;
                got += at;
            }
            check(got, sc.payload_bytes())?;
        }
        Streamed::Send => {
            for _ in 0..sc.n {
                let source = Source::new(&block, sc.size);
                let sent = ws.send_from_reader(ws_proto::MessageType::Binary, source)?;
                check(sent as usize, sc.size)?;
            }
            ws.read()?;
        }
    }
    Ok(start.stop())
}

/// The raw client's receiving side for streamed messages: frame headers parsed from reads into
/// a fixed buffer (a header may span two reads), and each run of payload bytes in a read
/// touched as ws-proto's clients touch a chunk.
#[derive(Default)]
struct RawFrames {
    head: [u8; 14],
    /// Bytes of the next header in `head`.
    head_len: usize,
    /// Payload bytes left in the current frame.
    left: usize,
    fin: bool,
    /// Bytes received of the current message.
    at: usize,
    messages: usize,
    payload: usize,
}

impl RawFrames {
    /// The length of the header that starts `head`, as far as it is known.
    fn head_need(&self) -> usize {
        if self.head_len < 2 {
            return 2;
        }
        let b1 = self.head[1];
        let base = match b1 & 0x7F {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        base + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    fn feed(&mut self, mut data: &[u8], size: usize) -> Res<()> {
        while !data.is_empty() {
            if self.left == 0 {
                // A header, or the rest of one.
                while self.head_len < self.head_need() && !data.is_empty() {
                    self.head[self.head_len] = data[0];
                    self.head_len += 1;
                    data = &data[1..];
                }
                let need = self.head_need();
                if self.head_len < need {
                    return Ok(());
                }
                let (b0, b1) = (self.head[0], self.head[1]);
                if b1 & 0x80 != 0 || b0 & 0x0F >= 8 {
                    return Err("unexpected masked or control frame".into());
                }
                self.left = match b1 & 0x7F {
                    126 => u16::from_be_bytes([self.head[2], self.head[3]]) as usize,
                    127 => u64::from_be_bytes(self.head[2..10].try_into().unwrap()) as usize,
                    n => n as usize,
                };
                if b0 & 0x0F != 0 {
                    self.at = 0;
                }
                self.fin = b0 & 0x80 != 0;
                self.head_len = 0;
            } else {
                let here = self.left.min(data.len());
                touch(self.at, &data[..here])?;
                self.at += here;
                self.payload += here;
                self.left -= here;
                data = &data[here..];
            }
            if self.left == 0 && self.head_len == 0 && self.fin {
                check(self.at, size)?;
                self.messages += 1;
                self.fin = false;
            }
        }
        Ok(())
    }
}

/// The raw floor for streamed messages. Receiving: reads into a fixed 256 KiB buffer, headers
/// parsed by [`RawFrames`]. Sending: the frames ws-proto's `send_from_reader` sends (a
/// non-final fragment per 64 KiB read from the [`Source`], then an empty final one), each read
/// straight into a buffer behind room for its header and written with it in one write; the
/// source yields bytes masked in advance with a fixed key, or with `remask_each` plain bytes
/// masked in place with a fresh key per frame (§5.3).
async fn raw_streamed(url: &str, sc: &Scenario, flow: Streamed, remask_each: bool) -> Res<Times> {
    let mut tcp = peers::tcp(url).await?;
    manual_handshake(&mut tcp, url, None).await?;
    let start;
    match flow {
        Streamed::Recv => {
            let mut buf = vec![0u8; 256 << 10];
            let mut frames = RawFrames::default();
            start = Stopwatch::start();
            while frames.messages < sc.n {
                let n = tcp.read(&mut buf).await?;
                if n == 0 {
                    return Err("eof".into());
                }
                frames.feed(&buf[..n], sc.size)?;
            }
            check(frames.payload, sc.payload_bytes())?;
        }
        Streamed::Send => {
            const ROOM: usize = 14;
            let fixed = [1, 2, 3, 4];
            let mut block = payload(SOURCE_BLOCK, false);
            if !remask_each {
                ws_proto::apply_mask(&mut block, fixed);
            }
            let mut frame = vec![0u8; ROOM + SOURCE_BLOCK];
            let mut head = Vec::with_capacity(ROOM);
            let mut frames = 0u32;
            start = Stopwatch::start();
            for _ in 0..sc.n {
                let mut source = Source::new(&block, sc.size);
                let mut opcode = 2;
                loop {
                    let n = source.read(&mut frame[ROOM..]).await?;
                    let key = if remask_each {
                        let key = fresh_key(frames as usize);
                        ws_proto::apply_mask(&mut frame[ROOM..ROOM + n], key);
                        key
                    } else {
                        fixed
                    };
                    frames = frames.wrapping_add(1);
                    head.clear();
                    header(opcode, n, Some(key), &mut head);
                    if n > 0 {
                        head[0] &= 0x7F; // not the last fragment
                    }
                    frame[ROOM - head.len()..ROOM].copy_from_slice(&head);
                    tcp.write_all(&frame[ROOM - head.len()..ROOM + n]).await?;
                    if n == 0 {
                        break;
                    }
                    opcode = 0;
                }
            }
            let mut ack = [0u8; ACK.len()];
            tcp.read_exact(&mut ack).await?;
        }
    }
    Ok(start.stop())
}

/// Whether `client` runs `sc`: raw+mask differs from raw only where the client sends frames,
/// and the streamed scenarios are for ws-proto and the floors.
fn applies(client: &str, sc: &Scenario) -> bool {
    if matches!(client, "ws-proto-std callbacks" | "ws-proto-tokio session") {
        // The event clients hand out owned messages; they send through the same sockets as
        // the adapters' own rows.
        return matches!(sc.kind, Kind::Recv { lent: false, .. });
    }
    match client {
        // Each added floor runs where it differs from raw and raw+mask (see `Work`).
        "raw+utf8" => return matches!(sc.kind, Kind::Recv { text: true, .. }),
        "raw+mask+clone" => return matches!(sc.kind, Kind::SendBatched { values: true }),
        _ => {}
    }
    match sc.kind {
        Kind::Recv { .. } => client != "raw+mask",
        Kind::SendBatched { values: true } => !matches!(client, "fastwebsockets" | "wtx"),
        Kind::Streamed(Streamed::Recv) => {
            matches!(client, "ws-proto-tokio" | "ws-proto-std" | "raw")
        }
        Kind::Streamed(Streamed::Send) => {
            matches!(
                client,
                "ws-proto-tokio" | "ws-proto-std" | "raw" | "raw+mask"
            )
        }
        _ => true,
    }
}

fn run(client: &str, url: &str, sc: &Scenario) -> Res<Times> {
    let Kind::Streamed(flow) = sc.kind else {
        return run_whole(client, url, sc);
    };
    // Everything the client's thread allocates from here until its runtime is dropped.
    let watch = HeapWatch::start();
    let result = match client {
        "ws-proto-std" => ws_proto_std_streamed(url, sc, flow),
        "ws-proto-tokio" => rt().block_on(ws_proto_tokio_streamed(url, sc, flow)),
        "raw" => rt().block_on(raw_streamed(url, sc, flow, false)),
        "raw+mask" => rt().block_on(raw_streamed(url, sc, flow, true)),
        _ => unreachable!(),
    };
    let peak = watch.stop();
    result.map(|times| Times {
        peak_heap: Some(peak),
        ..times
    })
}

fn run_whole(client: &str, url: &str, sc: &Scenario) -> Res<Times> {
    match client {
        "ws-proto-std" => ws_proto_std(url, sc),
        "ws-proto-std callbacks" => ws_proto_std_callbacks(url, sc),
        "ws-proto-tokio" => rt().block_on(ws_proto_tokio(url, sc)),
        "ws-proto-tokio session" => rt().block_on(ws_proto_tokio_session(url, sc)),
        "tokio-tungstenite" => rt().block_on(tokio_tungstenite(url, sc)),
        "tokio-websockets" => rt().block_on(tokio_websockets(url, sc)),
        "fastwebsockets" => rt().block_on(fastwebsockets(url, sc)),
        "sockudo-ws" => rt().block_on(sockudo(url, sc)),
        "wtx" => rt().block_on(wtx(url, sc)),
        "yawc" => rt().block_on(yawc(url, sc)),
        floor => rt().block_on(raw(url, sc, Work::of(floor).expect("a client of CLIENTS"))),
    }
}

fn main() {
    let rounds = env_f64("BENCH_ROUNDS", 5.0).max(1.0) as usize;
    let scale = env_f64("BENCH_SCALE", 1.0);
    let n = |base: usize| ((base as f64 * scale).round() as usize).max(1);
    let scenarios: Vec<Scenario> = [
        Scenario {
            name: "recv 16 B binary",
            kind: Kind::Recv {
                text: false,
                lent: false,
            },
            n: n(1_000_000),
            size: 16,
        },
        Scenario {
            name: "recv 16 B binary, lent",
            kind: Kind::Recv {
                text: false,
                lent: true,
            },
            n: n(1_000_000),
            size: 16,
        },
        Scenario {
            name: "recv 1 KiB text",
            kind: Kind::Recv {
                text: true,
                lent: false,
            },
            n: n(200_000),
            size: 1024,
        },
        Scenario {
            name: "recv 1 KiB text, lent",
            kind: Kind::Recv {
                text: true,
                lent: true,
            },
            n: n(200_000),
            size: 1024,
        },
        Scenario {
            name: "send 16 B binary batched",
            kind: Kind::SendBatched { values: false },
            n: n(1_000_000),
            size: 16,
        },
        Scenario {
            name: "batched 16 B sends, as Message values",
            kind: Kind::SendBatched { values: true },
            n: n(1_000_000),
            size: 16,
        },
        Scenario {
            name: "echo 16 B round trip",
            kind: Kind::Echo,
            n: n(20_000),
            size: 16,
        },
        Scenario {
            name: "recv 1 MiB binary",
            kind: Kind::Recv {
                text: false,
                lent: false,
            },
            n: n(1000),
            size: 1 << 20,
        },
        Scenario {
            name: "send 1 MiB binary",
            kind: Kind::SendEach,
            n: n(1000),
            size: 1 << 20,
        },
        Scenario {
            name: "send 1 MiB binary, each in a new buffer",
            kind: Kind::SendOwned,
            n: n(1000),
            size: 1 << 20,
        },
        Scenario {
            name: "recv 10 x 256 MiB streamed",
            kind: Kind::Streamed(Streamed::Recv),
            n: n(10),
            size: 256 << 20,
        },
        Scenario {
            name: "send 10 x 256 MiB from a source",
            kind: Kind::Streamed(Streamed::Send),
            n: n(10),
            size: 256 << 20,
        },
    ]
    .into_iter()
    .filter(|s| selected("BENCH_SCENARIOS", s.name))
    .collect();
    let clients: Vec<&str> = CLIENTS
        .into_iter()
        .filter(|c| selected("BENCH_CLIENTS", c))
        .collect();

    let port = start_server();
    let base = format!("ws://127.0.0.1:{port}");
    // Warm-up: every client once on a small version of every scenario (pre-builds server units).
    for sc in &scenarios {
        let mut small = sc.clone();
        small.n = (sc.n / 50).max(1);
        for c in clients.iter().filter(|c| applies(c, sc)) {
            let url = format!("{base}{}", small.path());
            if let Err(e) = run(c, &url, &small) {
                eprintln!("warm-up {c} / {}: {e}", sc.name);
            }
        }
    }

    // times[scenario][client][round], None where the run failed.
    let mut times = vec![vec![Vec::<Option<Times>>::new(); clients.len()]; scenarios.len()];
    for round in 0..rounds {
        for (si, sc) in scenarios.iter().enumerate() {
            let url = format!("{base}{}", sc.path());
            for k in 0..clients.len() {
                // Rotate the order every round so no client always runs first or last.
                let ci = (k + round + si) % clients.len();
                if !applies(clients[ci], sc) {
                    continue;
                }
                let time = run(clients[ci], &url, sc)
                    .inspect_err(|e| eprintln!("{} / {}: {e}", clients[ci], sc.name));
                times[si][ci].push(time.ok());
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }

    println!(
        "rounds: {rounds}, scale: {scale}; median of the rounds; spread = (max - min) / median; \
         vs raw, raw+mask, raw+utf8, raw+mask+clone: the median of each round's ratio to that \
         floor in the same round, with the middle half of those ratios (25th to 75th \
         percentile); CPU: the client thread's CPU time (user and kernel) per message, median \
         of the rounds; a floor's vs best other crate: what no client can go below"
    );
    for (si, sc) in scenarios.iter().enumerate() {
        let rows: Vec<(&str, &[Option<Times>])> = clients
            .iter()
            .enumerate()
            .filter(|(_, c)| applies(c, sc))
            .map(|(ci, c)| (*c, &times[si][ci][..]))
            .collect();
        let title = format!("{} (n = {}, {} B each)", sc.name, sc.n, sc.size);
        // raw and raw+mask have a column in every table; the other floors where they run.
        let floors: Vec<&str> = ["raw", "raw+mask", "raw+utf8", "raw+mask+clone"]
            .into_iter()
            .filter(|f| matches!(*f, "raw" | "raw+mask") || applies(f, sc))
            .collect();
        print_table(&title, sc.n, sc.payload_bytes(), &rows, &floors);
    }

    // The streamed scenarios' peak heap: the most of any round.
    let streamed: Vec<usize> = (0..scenarios.len())
        .filter(|&si| matches!(scenarios[si].kind, Kind::Streamed(_)))
        .collect();
    if streamed.is_empty() {
        return;
    }
    println!();
    println!("### peak heap (MiB)");
    println!();
    println!(
        "The client thread's live heap at its highest, from before connecting until the \
         connection and its runtime are dropped (the runtime, the connection and the 64 KiB \
         source block included), the most of the rounds."
    );
    println!();
    print!("| client |");
    for &si in &streamed {
        print!(" {} |", scenarios[si].name);
    }
    println!();
    print!("|---|");
    for _ in &streamed {
        print!("---:|");
    }
    println!();
    for (ci, c) in clients.iter().enumerate() {
        if !streamed.iter().any(|&si| applies(c, &scenarios[si])) {
            continue;
        }
        print!("| {c} |");
        for &si in &streamed {
            let peaks: Vec<usize> = times[si][ci]
                .iter()
                .flatten()
                .filter_map(|t| t.peak_heap)
                .collect();
            match peaks.iter().max() {
                Some(&peak) => print!(" {:.2} |", peak as f64 / (1 << 20) as f64),
                None if applies(c, &scenarios[si]) => print!(" failed |"),
                None => print!(" - |"),
            }
        }
        println!();
    }
}
