//! The loopback server shared by the `e2e` and `idle_memory` binaries, and frame helpers.
//!
//! The server is deliberately minimal so it is never the bottleneck: std threads, raw TCP, its
//! own 101 (with the accept key), pre-encoded unmasked frames written from one big pre-built
//! buffer, client bytes read in 256 KiB reads and skipped after a minimal header parse. The
//! scenario is chosen by the request path:
//!
//! - `/recv?n=N&size=S&op=1|2`: after the 101, N final frames (text or binary) of S bytes, then
//!   read and discard until the client goes away. Frames larger than the ~1 MiB buffer (256 MiB,
//!   say) are written as a header and then the same 1 MiB of payload again and again, so the
//!   server never holds a whole message. If the client offered permessage-deflate, the 101
//!   accepts it and the frames are JSON-like text of S bytes compressed once in advance.
//! - `/send?n=N&size=S`: count N data messages from the client (data frames with FIN set, so a
//!   message sent in fragments counts once, and a compressed one is never inflated), then
//!   answer with a one-byte binary frame (the ack), then discard.
//! - `/echo?n=N&size=S`: N times, read one frame, unmask it, send its payload back unmasked.
//! - `/idle`: the 101, then discard.

pub mod heap;
pub mod measure;
pub mod peers;
pub mod tokio_server;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use ws_proto::{accept_key, ClientState, Config, Event, Output, Request, Transmit};

/// Bytes of frames per pre-built server write buffer (the buffer is written repeatedly).
const UNIT_BYTES: usize = 1 << 20;
const READ_BUF: usize = 256 << 10;

/// The acknowledgement frame the server sends at the end of a send scenario.
pub const ACK: [u8; 3] = [0x82, 0x01, 0x00];

/// `payload` compressed as one permessage-deflate message (RFC 7692 §7.2.1): raw DEFLATE with a
/// 32 KiB window and a fresh context (so it needs no context takeover), level 6, sync flush,
/// the 4-byte tail removed.
pub fn deflate_message(payload: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::new(6), false);
    let mut out = Vec::with_capacity(payload.len() + 1024);
    c.compress_vec(payload, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// An unmasked final frame holding `payload` compressed (RSV1 set).
pub fn compressed_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let body = deflate_message(payload);
    let mut frame = Vec::with_capacity(body.len() + 10);
    header(opcode, body.len(), None, &mut frame);
    frame[0] |= 0x40;
    frame.extend_from_slice(&body);
    frame
}

/// The server's answer to a request head's permessage-deflate offer (its first), or `None`
/// when there is none. The no-context-takeover parameters the client offered are accepted;
/// window sizes are left out, so both sides use 32 KiB windows (the server's frames are
/// compressed that way in advance, each on its own, which any answer allows).
pub fn accept_deflate(request_head: &str) -> Option<String> {
    let offer = request_head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
        .flat_map(|(_, value)| value.split(','))
        .find(|o| o.trim().starts_with("permessage-deflate"))?;
    let mut answer = "permessage-deflate".to_owned();
    for param in offer.split(';').map(str::trim) {
        if param == "client_no_context_takeover" || param == "server_no_context_takeover" {
            answer.push_str("; ");
            answer.push_str(param);
        }
    }
    Some(answer)
}

/// The 101 for a request head: the accept key, and permessage-deflate if offered.
pub fn switching_protocols(request_head: &str) -> String {
    let key = request_head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })
        .unwrap_or_default();
    let extensions = accept_deflate(request_head)
        .map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extensions}\r\n",
        accept_key(key)
    )
}

/// A current-thread tokio runtime: every async client runs on one, as most applications' I/O
/// tasks would.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Raises this process's soft limit on open files to its hard limit: thousands of connections
/// need more than the usual 1024. A child process inherits it.
pub fn raise_nofile() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for both calls.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// Starts this executable again with `args` (which must make it call [`serve_until_eof`]) as a
/// server process, so the server's allocations and memory never mix with the client's; returns
/// the child and the ports it serves. The child serves until its stdin is closed
/// (`drop(child.stdin.take())`).
pub fn server_process(args: &[&str]) -> (std::process::Child, Vec<u16>) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server process");
    let mut line = String::new();
    io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports = line
        .split_whitespace()
        .map(|p| p.parse().expect("server port"))
        .collect();
    (child, ports)
}

/// The child side of [`server_process`]: prints the ports of the servers already started, then
/// serves until the parent closes its stdin (or dies).
pub fn serve_until_eof(ports: &[u16]) {
    let line: Vec<String> = ports.iter().map(u16::to_string).collect();
    println!("{}", line.join(" "));
    io::stdout().flush().unwrap();
    let _ = io::stdin().read_to_end(&mut Vec::new());
}

/// Starts the server on an ephemeral loopback port, accepting forever on its own thread.
pub fn start_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = handle(stream);
            });
        }
    });
    port
}

/// Encodes a final frame header; `mask` adds the MASK bit and the key.
pub fn header(opcode: u8, len: usize, mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    let bit = if mask.is_some() { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(bit | len as u8),
        126..=0xFFFF => {
            out.push(bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// The masking key of the raw floors' `i`th frame: a fresh one for every frame, as §5.3
/// requires, with no random number generator to time.
pub fn fresh_key(i: usize) -> [u8; 4] {
    (i as u32).wrapping_mul(0x9E37_79B9).to_ne_bytes()
}

/// Header length of a frame of `len` bytes.
pub fn header_len(len: usize, masked: bool) -> usize {
    let base = match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    };
    base + if masked { 4 } else { 0 }
}

/// Valid UTF-8 of exactly `len` bytes: mostly ASCII with some two- and three-byte characters.
pub fn text_payload(len: usize) -> Vec<u8> {
    let pattern = "The quick brown fox jumps over the lazy dog. Grüße, señor! €10 ";
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

/// JSON-like text of exactly `len` bytes: an array of small records whose numbers and names
/// vary (a fixed pseudo-random sequence), so it compresses about as well as real API traffic
/// rather than as well as a repeated sentence. ASCII, so any cut is valid UTF-8.
pub fn json_payload(len: usize) -> Vec<u8> {
    let mut s = String::with_capacity(len + 256);
    s.push('[');
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let events = ["trade", "quote", "cancel", "fill", "heartbeat"];
    let mut id = 1_000_000;
    while s.len() < len {
        id += 1 + next(9);
        s.push_str(&format!(
            "{{\"id\":{id},\"user\":\"user_{}\",\"event\":\"{}\",\"price\":{}.{:02},\
             \"qty\":{},\"ts\":{},\"ok\":{}}},",
            next(50_000),
            events[next(events.len() as u64) as usize],
            next(2000),
            next(100),
            next(1000),
            1_764_000_000_000 + id * 37,
            next(2) == 0,
        ));
    }
    s.truncate(len.saturating_sub(1));
    s.push(']');
    s.truncate(len);
    s.into_bytes()
}

pub fn payload(len: usize, text: bool) -> Vec<u8> {
    if text {
        text_payload(len)
    } else {
        (0..len).map(|i| (i * 7) as u8).collect()
    }
}

/// A buffer of whole frames (about 1 MiB, at least one frame) to write repeatedly, and how many
/// frames it holds. `mask` pre-masks the payloads (for the raw client).
pub fn frame_unit(opcode: u8, size: usize, mask: Option<[u8; 4]>) -> (Vec<u8>, usize) {
    let mut payload = payload(size, opcode == 1);
    if let Some(key) = mask {
        ws_proto::apply_mask(&mut payload, key);
    }
    let per = (UNIT_BYTES / (size + 14)).max(1);
    let mut unit = Vec::with_capacity(per * (size + 14));
    for _ in 0..per {
        header(opcode, size, mask, &mut unit);
        unit.extend_from_slice(&payload);
    }
    (unit, per)
}

/// Writes `n` frames from a pre-built unit of `per` frames of `frame_len` bytes each.
pub fn write_frames<W: Write>(w: &mut W, unit: &[u8], per: usize, n: usize) -> io::Result<()> {
    let frame_len = unit.len() / per;
    for _ in 0..n / per {
        w.write_all(unit)?;
    }
    w.write_all(&unit[..(n % per) * frame_len])
}

/// Writes `n` unmasked final frames of `size` bytes each, the payload taken from `piece` again
/// and again: messages of any size from a fixed buffer. A payload of `payload(size, ..)` when
/// `piece` is `payload(piece.len(), ..)` for binary (its pattern repeats every 256 bytes and
/// `piece.len()` is a multiple of 256); valid UTF-8 for text if `piece` is.
pub fn write_large_frames<W: Write>(
    w: &mut W,
    opcode: u8,
    size: usize,
    piece: &[u8],
    n: usize,
) -> io::Result<()> {
    let mut head = Vec::with_capacity(14);
    for _ in 0..n {
        head.clear();
        header(opcode, size, None, &mut head);
        w.write_all(&head)?;
        let mut left = size;
        while left > 0 {
            let here = left.min(piece.len());
            w.write_all(&piece[..here])?;
            left -= here;
        }
    }
    Ok(())
}

/// What the server writes a `/recv` scenario's frames from, built once per opcode and size.
enum Frames {
    /// Whole frames, `per` of them, written repeatedly (see [`frame_unit`]).
    Unit { bytes: Vec<u8>, per: usize },
    /// Frames larger than a unit: 1 MiB of payload, written again and again after each
    /// header (see [`write_large_frames`]).
    Large { piece: Vec<u8> },
}

type FramesCache = Mutex<HashMap<(u8, usize, bool), Arc<Frames>>>;

/// The frames of a `/recv` scenario; `compressed`: [`json_payload`] text compressed once in
/// advance (see [`compressed_frame`]), repeated.
fn cached_frames(opcode: u8, size: usize, compressed: bool) -> Arc<Frames> {
    static CACHE: OnceLock<FramesCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    cache
        .lock()
        .unwrap()
        .entry((opcode, size, compressed))
        .or_insert_with(|| {
            Arc::new(if compressed {
                let frame = compressed_frame(opcode, &json_payload(size));
                let per = (UNIT_BYTES / frame.len()).max(1);
                Frames::Unit {
                    bytes: frame.repeat(per),
                    per,
                }
            } else if size > UNIT_BYTES {
                Frames::Large {
                    piece: payload(UNIT_BYTES, opcode == 1),
                }
            } else {
                let (bytes, per) = frame_unit(opcode, size, None);
                Frames::Unit { bytes, per }
            })
        })
        .clone()
}

/// A frame's header, as the servers (and the compression floor) read it.
pub struct Head {
    pub fin: bool,
    pub opcode: u8,
    pub len: usize,
    /// Zero if the frame is not masked.
    pub key: [u8; 4],
}

/// The frame header at the start of `buf` and its length, or how many bytes it needs to be
/// known (more than `buf` holds).
pub fn parse_head(buf: &[u8]) -> Result<(Head, usize), usize> {
    let [b0, b1, ..] = *buf else { return Err(2) };
    let base = match b1 & 0x7F {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    let masked = b1 & 0x80 != 0;
    let total = base + if masked { 4 } else { 0 };
    if buf.len() < total {
        return Err(total);
    }
    let len = match base {
        4 => u16::from_be_bytes([buf[2], buf[3]]) as usize,
        10 => u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
        _ => (b1 & 0x7F) as usize,
    };
    let mut key = [0; 4];
    if masked {
        key.copy_from_slice(&buf[base..total]);
    }
    let head = Head {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        len,
        key,
    };
    Ok((head, total))
}

struct Reader {
    s: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Reader {
    /// Makes at least `n` bytes available; false at the end of the stream.
    fn ensure(&mut self, n: usize) -> io::Result<bool> {
        while self.end - self.pos < n {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            }
            let got = self.s.read(&mut self.buf[self.end..])?;
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    /// The next frame's header.
    fn header(&mut self) -> io::Result<Option<Head>> {
        let mut need = 2;
        loop {
            if !self.ensure(need)? {
                return Ok(None);
            }
            match parse_head(&self.buf[self.pos..self.end]) {
                Ok((head, len)) => {
                    self.pos += len;
                    return Ok(Some(head));
                }
                Err(more) => need = more,
            }
        }
    }

    fn skip(&mut self, mut n: usize) -> io::Result<bool> {
        loop {
            let here = (self.end - self.pos).min(n);
            self.pos += here;
            n -= here;
            if n == 0 {
                return Ok(true);
            }
            self.pos = 0;
            self.end = 0;
            let got = self.s.read(&mut self.buf)?;
            if got == 0 {
                return Ok(false);
            }
            self.end = got;
        }
    }

    fn payload(&mut self, n: usize, out: &mut Vec<u8>) -> io::Result<bool> {
        out.clear();
        if n <= self.buf.len() {
            if !self.ensure(n)? {
                return Ok(false);
            }
            out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(true);
        }
        out.extend_from_slice(&self.buf[self.pos..self.end]);
        self.pos = self.end;
        let start = out.len();
        out.resize(n, 0);
        self.s.read_exact(&mut out[start..])?;
        Ok(true)
    }

    fn drain(&mut self) {
        while matches!(self.s.read(&mut self.buf), Ok(n) if n > 0) {}
    }
}

fn param(query: &str, name: &str) -> usize {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn handle(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // The request head, byte by byte so nothing after it is consumed (not timed).
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let n = param(query, "n");
    let size = param(query, "size");
    let op = param(query, "op").max(1) as u8;
    let compressed = accept_deflate(&head).is_some();
    let frames = (path == "/recv").then(|| cached_frames(op, size, compressed));
    s.write_all(switching_protocols(&head).as_bytes())?;
    let mut reader = Reader {
        s: s.try_clone()?,
        buf: vec![0; READ_BUF],
        pos: 0,
        end: 0,
    };
    match path {
        "/recv" => match &*frames.unwrap() {
            Frames::Unit { bytes, per } => write_frames(&mut s, bytes, *per, n)?,
            Frames::Large { piece } => write_large_frames(&mut s, op, size, piece, n)?,
        },
        "/send" => {
            let mut messages = 0;
            while messages < n {
                let Some(Head {
                    fin, opcode, len, ..
                }) = reader.header()?
                else {
                    return Ok(());
                };
                if !reader.skip(len)? {
                    return Ok(());
                }
                if fin && opcode < 8 {
                    messages += 1;
                }
            }
            s.write_all(&ACK)?;
        }
        "/echo" => {
            let mut payload = Vec::new();
            let mut out = Vec::new();
            let mut frames = 0;
            while frames < n {
                let Some(Head {
                    opcode, len, key, ..
                }) = reader.header()?
                else {
                    return Ok(());
                };
                if !reader.payload(len, &mut payload)? {
                    return Ok(());
                }
                if opcode >= 8 {
                    continue;
                }
                ws_proto::apply_mask(&mut payload, key);
                out.clear();
                header(opcode, len, None, &mut out);
                out.extend_from_slice(&payload);
                s.write_all(&out)?;
                frames += 1;
            }
        }
        _ => {}
    }
    reader.drain();
    Ok(())
}

/// An open `ClientState` after an in-memory handshake; `extensions` is the server's answer.
pub fn open_core(config: Config, extensions: Option<&str>) -> ClientState {
    let request = Request::new("ws://memory.example/socket").unwrap();
    let mut client = ClientState::new(request, config, [9; 32], Instant::now());
    let req = client.poll_transmit().unwrap();
    let text = std::str::from_utf8(req.head()).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let ext = extensions
        .map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n"))
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{ext}\r\n",
        accept_key(key)
    );
    drop(req);
    client
        .handle_input(response.as_bytes(), Instant::now())
        .unwrap();
    let mut events = Vec::new();
    drain(&mut client, drop, |e| events.push(e));
    assert!(
        matches!(events[..], [Event::Open(_)]),
        "not open: {events:?}"
    );
    client
}

/// The core's drain: every output until the deadline, transmits and events to the callbacks.
pub fn drain(
    client: &mut ClientState,
    mut on_transmit: impl FnMut(Transmit),
    mut on_event: impl FnMut(Event),
) {
    loop {
        match client.poll_output() {
            Output::Transmit(transmit) => on_transmit(transmit),
            Output::Event(event) => on_event(event),
            Output::Timeout(_) => return,
        }
    }
}
