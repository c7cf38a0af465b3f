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
//!   server never holds a whole message.
//! - `/send?n=N&size=S`: count N data messages from the client (data frames with FIN set, so a
//!   message sent in fragments counts once), then answer with a one-byte binary frame (the
//!   ack), then discard.
//! - `/echo?n=N&size=S`: N times, read one frame, unmask it, send its payload back unmasked.
//! - `/idle`: the 101, then discard.

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

type FramesCache = Mutex<HashMap<(u8, usize), Arc<Frames>>>;

fn cached_frames(opcode: u8, size: usize) -> Arc<Frames> {
    static CACHE: OnceLock<FramesCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    cache
        .lock()
        .unwrap()
        .entry((opcode, size))
        .or_insert_with(|| {
            Arc::new(if size > UNIT_BYTES {
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

/// A client frame's header, as the server reads it.
struct Head {
    fin: bool,
    opcode: u8,
    len: usize,
    key: [u8; 4],
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
        if !self.ensure(2)? {
            return Ok(None);
        }
        let b0 = self.buf[self.pos];
        let b1 = self.buf[self.pos + 1];
        let (len, hlen) = match b1 & 0x7F {
            126 => {
                if !self.ensure(4)? {
                    return Ok(None);
                }
                let p = self.pos;
                (
                    u16::from_be_bytes([self.buf[p + 2], self.buf[p + 3]]) as usize,
                    4,
                )
            }
            127 => {
                if !self.ensure(10)? {
                    return Ok(None);
                }
                let p = self.pos;
                let mut raw = [0; 8];
                raw.copy_from_slice(&self.buf[p + 2..p + 10]);
                (u64::from_be_bytes(raw) as usize, 10)
            }
            n => (n as usize, 2),
        };
        let masked = b1 & 0x80 != 0;
        let total = hlen + if masked { 4 } else { 0 };
        if !self.ensure(total)? {
            return Ok(None);
        }
        let mut key = [0; 4];
        if masked {
            key.copy_from_slice(&self.buf[self.pos + hlen..self.pos + hlen + 4]);
        }
        self.pos += total;
        Ok(Some(Head {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0F,
            len,
            key,
        }))
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
    let key = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let n = param(query, "n");
    let size = param(query, "size");
    let op = param(query, "op").max(1) as u8;
    let frames = (path == "/recv").then(|| cached_frames(op, size));
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        ws_proto::accept_key(&key)
    );
    s.write_all(response.as_bytes())?;
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
