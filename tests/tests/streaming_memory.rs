//! Messages of 1 GiB through both adapters in constant memory: received with `read_stream` and
//! sent with `send_from_reader`, plain and with permessage-deflate, against Python's
//! `websockets` (an independent server, in its own process) on loopback. Every byte is checked
//! against a pattern, by the test on receipt and by the server on its side, and the heap the
//! client's thread holds at its peak, counted by a per-thread counting allocator, stays under
//! 2 MiB.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use ws_proto::{Message, MessageType};
use ws_proto_tests::block_on;
use ws_proto_tests::python::Server;

const SIZE: u64 = 1 << 30;
const PEAK_LIMIT: isize = 2 << 20;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Allocations on this thread are counted: the client's thread, not the test harness's.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the only addition is counting the live bytes of counted threads.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            let live = LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            PEAK.fetch_max(live + layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            let grow = new_size as isize - layout.size() as isize;
            let live = LIVE.fetch_add(grow, Ordering::Relaxed);
            PEAK.fetch_max(live + grow, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Counts this thread's allocations from now; returns the live bytes to measure the peak from.
fn start_counting() -> isize {
    COUNTED.with(|c| c.set(true));
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

/// The peak since `start_counting`, above where it started.
fn peak_since(base: isize) -> isize {
    PEAK.load(Ordering::Relaxed) - base
}

const BLOCK: usize = 65536;

/// The pattern of `stream_server.py`: 64 KiB blocks, block K being K in eight hex digits and
/// then letters that are the same in every block.
struct Pattern {
    base: Vec<u8>,
    offset: u64,
}

impl Pattern {
    fn new() -> Self {
        Pattern {
            base: (0..BLOCK)
                .map(|i| 97 + ((i * i + i / 7) % 26) as u8)
                .collect(),
            offset: 0,
        }
    }

    /// The next `out.len()` bytes of the pattern.
    fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let (k, at) = (self.offset / BLOCK as u64, self.offset as usize % BLOCK);
            let head = format!("{k:08x}");
            let n = (BLOCK - at).min(out.len() - done);
            let head_len = 8usize.saturating_sub(at).min(n);
            out[done..done + head_len]
                .copy_from_slice(&head.as_bytes()[at.min(8)..at.min(8) + head_len]);
            out[done + head_len..done + n].copy_from_slice(&self.base[at + head_len..at + n]);
            done += n;
            self.offset += n as u64;
        }
    }

    /// Checks that `chunk` is the next part of the pattern.
    fn check(&mut self, chunk: &[u8]) {
        let mut done = 0;
        while done < chunk.len() {
            let (k, at) = (self.offset / BLOCK as u64, self.offset as usize % BLOCK);
            let n = (BLOCK - at).min(chunk.len() - done);
            let part = &chunk[done..done + n];
            let head_len = 8usize.saturating_sub(at).min(n);
            let head = format!("{k:08x}");
            assert_eq!(
                &part[..head_len],
                &head.as_bytes()[at.min(8)..at.min(8) + head_len],
                "block number at offset {}",
                self.offset
            );
            assert!(
                part[head_len..] == self.base[at + head_len..at + n],
                "payload differs in the block at offset {}",
                self.offset
            );
            done += n;
            self.offset += n as u64;
        }
    }
}

/// `SIZE` bytes of the pattern as a reader, for `send_from_reader`.
struct PatternReader {
    pattern: Pattern,
    left: u64,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        self.pattern.fill(&mut buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

impl tokio::io::AsyncRead for PatternReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let n = (buf.remaining() as u64).min(this.left).min(BLOCK as u64) as usize;
        this.pattern.fill(buf.initialize_unfilled_to(n));
        buf.advance(n);
        this.left -= n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

fn server(deflate: bool) -> Server {
    Server::start("stream_server.py", &[if deflate { "1" } else { "0" }])
}

fn kind(deflate: bool) -> (MessageType, &'static str) {
    // Text with compression, so chunks of inflated text are checked as UTF-8 too.
    if deflate {
        (MessageType::Text, "text")
    } else {
        (MessageType::Binary, "binary")
    }
}

fn std_receives(deflate: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = server(deflate);
    let (ws, response) = ws_proto_std::connect(server.url().as_str()).unwrap();
    assert_eq!(response.extensions().is_empty(), !deflate);
    let (kind, name) = kind(deflate);
    ws.send_text(&format!("send {SIZE} {name}")).unwrap();
    let base = start_counting();
    let mut message = ws.read_stream().unwrap();
    assert_eq!(message.message_type(), kind);
    let mut pattern = Pattern::new();
    while let Some(chunk) = message.next_chunk().unwrap() {
        pattern.check(&chunk);
    }
    drop(message);
    let peak = peak_since(base);
    COUNTED.with(|c| c.set(false));
    assert_eq!(pattern.offset, SIZE);
    ws.close(ws_proto::CloseCode::NORMAL, "").unwrap();
    assert!(ws.read().is_err());
    println!("std receive, deflate {deflate}: peak heap {peak} bytes");
    assert!(peak < PEAK_LIMIT, "peak heap {peak} bytes");
}

fn std_sends(deflate: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = server(deflate);
    let (ws, _) = ws_proto_std::connect(server.url().as_str()).unwrap();
    ws.send_text("recv").unwrap();
    let (kind, _) = kind(deflate);
    let base = start_counting();
    let source = PatternReader {
        pattern: Pattern::new(),
        left: SIZE,
    };
    assert_eq!(ws.send_from_reader(kind, source).unwrap(), SIZE);
    let peak = peak_since(base);
    COUNTED.with(|c| c.set(false));
    assert_eq!(ws.read().unwrap(), Message::text(format!("ok {SIZE}")));
    ws.close(ws_proto::CloseCode::NORMAL, "").unwrap();
    println!("std send, deflate {deflate}: peak heap {peak} bytes");
    assert!(peak < PEAK_LIMIT, "peak heap {peak} bytes");
}

fn tokio_receives(deflate: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = server(deflate);
    block_on(async {
        let (mut ws, response) = ws_proto_tokio::connect(server.url().as_str())
            .await
            .unwrap();
        assert_eq!(response.extensions().is_empty(), !deflate);
        let (kind, name) = kind(deflate);
        ws.send_text(&format!("send {SIZE} {name}")).await.unwrap();
        let base = start_counting();
        let mut message = ws.read_stream().await.unwrap();
        assert_eq!(message.message_type(), kind);
        let mut pattern = Pattern::new();
        while let Some(chunk) = message.next_chunk().await.unwrap() {
            pattern.check(&chunk);
        }
        drop(message);
        let peak = peak_since(base);
        COUNTED.with(|c| c.set(false));
        assert_eq!(pattern.offset, SIZE);
        ws.close(ws_proto::CloseCode::NORMAL, "").await.unwrap();
        assert!(ws.read().await.is_err());
        println!("tokio receive, deflate {deflate}: peak heap {peak} bytes");
        assert!(peak < PEAK_LIMIT, "peak heap {peak} bytes");
    });
}

fn tokio_sends(deflate: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = server(deflate);
    block_on(async {
        let (mut ws, _) = ws_proto_tokio::connect(server.url().as_str())
            .await
            .unwrap();
        ws.send_text("recv").await.unwrap();
        let (kind, _) = kind(deflate);
        let base = start_counting();
        let source = PatternReader {
            pattern: Pattern::new(),
            left: SIZE,
        };
        assert_eq!(ws.send_from_reader(kind, source).await.unwrap(), SIZE);
        let peak = peak_since(base);
        COUNTED.with(|c| c.set(false));
        assert_eq!(
            ws.read().await.unwrap(),
            Message::text(format!("ok {SIZE}"))
        );
        ws.close(ws_proto::CloseCode::NORMAL, "").await.unwrap();
        println!("tokio send, deflate {deflate}: peak heap {peak} bytes");
        assert!(peak < PEAK_LIMIT, "peak heap {peak} bytes");
    });
}

#[test]
fn std_receives_1_gib_in_constant_memory() {
    std_receives(false);
}

#[test]
fn std_receives_1_gib_compressed_text_in_constant_memory() {
    std_receives(true);
}

#[test]
fn std_sends_1_gib_from_a_reader_in_constant_memory() {
    std_sends(false);
}

#[test]
fn std_sends_1_gib_compressed_text_from_a_reader_in_constant_memory() {
    std_sends(true);
}

#[test]
fn tokio_receives_1_gib_in_constant_memory() {
    tokio_receives(false);
}

#[test]
fn tokio_receives_1_gib_compressed_text_in_constant_memory() {
    tokio_receives(true);
}

#[test]
fn tokio_sends_1_gib_from_a_reader_in_constant_memory() {
    tokio_sends(false);
}

#[test]
fn tokio_sends_1_gib_compressed_text_from_a_reader_in_constant_memory() {
    tokio_sends(true);
}
