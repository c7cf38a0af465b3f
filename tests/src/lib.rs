//! Test harness for ws-proto: a small sans-IO fake server and a virtual clock driving a
//! [`ClientState`], after quinn's `Pair`.
//!
//! The fake server is deliberately simple and hand-written (it builds server frames byte by
//! byte and unmasks client frames with its own loop), so that it checks the client rather than
//! mirroring its code.

pub mod proxies;
pub mod python;
pub mod relay;
pub mod servers;

use std::time::{Duration, Instant};

/// The README's examples, compiled (and the runnable ones run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

use bytes::{BufMut, Bytes, BytesMut};
use ws_proto::{
    accept_key, ClientState, Config, Event, Message, MessageType, Output, Request, Utf8Bytes,
};

/// A fixed seed, so request bytes and masking keys are reproducible.
pub const SEED: [u8; 32] = [42; 32];

/// A frame as the server saw it, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV bits.
    pub rsv: u8,
    /// Opcode value.
    pub opcode: u8,
    /// The masking key (every client frame must have one).
    pub mask: Option<[u8; 4]>,
    /// The unmasked payload.
    pub payload: Vec<u8>,
    /// Whether the length used its minimal encoding.
    pub minimal_length: bool,
}

/// Encodes an unmasked server frame, any header bits allowed (for violation tests).
pub fn raw_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first_byte];
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A final, unmasked server frame with `opcode`.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(0x80 | opcode, payload)
}

/// A server Close frame with a code and reason.
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(reason.as_bytes());
    frame(0x8, &body)
}

/// The standard 101 response for a request carrying `key`, plus `extra` header lines.
pub fn accept_response(key: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key)
    )
}

/// Extracts the `Sec-WebSocket-Key` from a request.
pub fn request_key(request: &[u8]) -> String {
    let text = std::str::from_utf8(request).expect("request is ASCII");
    text.lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key")
        .to_owned()
}

/// Decodes every complete client frame at the start of `buf`, consuming them.
pub fn parse_client_frames(buf: &mut BytesMut) -> Vec<ClientFrame> {
    let mut frames = Vec::new();
    loop {
        if buf.len() < 2 {
            return frames;
        }
        let (b0, b1) = (buf[0], buf[1]);
        let (len, mut at, minimal_length) = match b1 & 0x7F {
            126 => {
                if buf.len() < 4 {
                    return frames;
                }
                let n = u16::from_be_bytes([buf[2], buf[3]]) as usize;
                (n, 4, n >= 126)
            }
            127 => {
                if buf.len() < 10 {
                    return frames;
                }
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&buf[2..10]);
                let n = u64::from_be_bytes(raw) as usize;
                (n, 10, n > 0xFFFF)
            }
            n => (n as usize, 2, true),
        };
        let mask = if b1 & 0x80 != 0 {
            if buf.len() < at + 4 {
                return frames;
            }
            let key = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
            at += 4;
            Some(key)
        } else {
            None
        };
        if buf.len() < at + len {
            return frames;
        }
        let mut payload = buf[at..at + len].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        let _ = buf.split_to(at + len);
        frames.push(ClientFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0x0F,
            mask,
            payload,
            minimal_length,
        });
    }
}

/// A client and a fake server stepped in virtual time.
#[derive(Debug)]
pub struct Pair {
    /// The client under test.
    pub client: ClientState,
    /// The virtual clock's current time.
    pub now: Instant,
    /// Everything the client wrote that the server has not parsed yet.
    pub to_server: BytesMut,
    /// Events the client emitted, in order.
    pub events: Vec<Event>,
    /// The handshake request bytes.
    pub request: Vec<u8>,
    /// Whether `drain` first offers each message to be lent
    /// ([`ClientState::poll_message_with`]), copying the lent ones into `events`.
    pub lend: bool,
}

impl Pair {
    /// A client for `ws://example.com/chat` with `config`, not yet connected.
    pub fn new(config: Config) -> Pair {
        Pair::with_request(Request::new("ws://example.com/chat").unwrap(), config)
    }

    /// A client for `request` with `config`, not yet connected.
    pub fn with_request(request: Request, config: Config) -> Pair {
        let now = Instant::now();
        let client = ClientState::new(request, config, SEED, now);
        let mut pair = Pair {
            client,
            now,
            to_server: BytesMut::new(),
            events: Vec::new(),
            request: Vec::new(),
            lend: false,
        };
        pair.drain();
        let end = pair
            .to_server
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("the request is complete in the first transmit")
            + 4;
        pair.request = pair.to_server.split_to(end).to_vec();
        pair
    }

    /// A connected pair with the default config.
    pub fn open() -> Pair {
        Pair::open_with(Config::default())
    }

    /// A connected pair with `config`; the `Open` event is consumed.
    pub fn open_with(config: Config) -> Pair {
        let mut pair = Pair::new(config);
        pair.accept("");
        assert!(
            matches!(pair.events.remove(0), Event::Open(_)),
            "open event first"
        );
        pair
    }

    /// The `Sec-WebSocket-Key` the client sent.
    pub fn key(&self) -> String {
        request_key(&self.request)
    }

    /// The server answers 101 with `extra` header lines.
    pub fn accept(&mut self, extra: &str) {
        let response = accept_response(&self.key(), extra);
        self.server_send(response.as_bytes());
    }

    /// The server sends `bytes` in one read.
    pub fn server_send(&mut self, bytes: &[u8]) {
        self.client
            .handle_input(bytes, self.now)
            .expect("no lease is out");
        self.drain();
    }

    /// The server sends `bytes` in one read, which goes straight into the client's receive
    /// buffer through a [`ReadLease`](ws_proto::ReadLease). `bytes` must fit the lease's room.
    pub fn server_send_in_place(&mut self, bytes: &[u8]) {
        let mut lease = self.client.lease_read().expect("no lease is out");
        assert!(lease.is_empty(), "the read sees only the spare room");
        // At least a quarter of the smallest room (1 KiB) the client reserves.
        assert!(lease.room() >= 256);
        assert!(
            bytes.len() <= lease.room(),
            "{} > {}",
            bytes.len(),
            lease.room()
        );
        lease.buf_mut().put_slice(bytes);
        assert_eq!(lease.len(), bytes.len());
        self.client
            .handle_lease(lease, self.now)
            .expect("the connection's own lease");
        self.drain();
    }

    /// The server ends the stream.
    pub fn server_eof(&mut self) {
        self.client.handle_eof().expect("no lease is out");
        self.drain();
    }

    /// Advances the virtual clock by `by`, firing every deadline on the way in order.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(deadline) = self.client.poll_timeout() {
            if deadline > end {
                break;
            }
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Collects the client's outputs, bytes and events, until it reports its deadline.
    pub fn drain(&mut self) {
        loop {
            if self.lend {
                if let Some(message) = self.client.poll_message_with(|m| m.to_message()) {
                    self.events.push(Event::Message(message));
                    continue;
                }
            }
            match self.client.poll_output() {
                Output::Transmit(transmit) => self.to_server.put(transmit),
                Output::Event(event) => self.events.push(event),
                Output::Timeout(_) => return,
            }
        }
    }

    /// The frames the client sent since the last call.
    pub fn server_frames(&mut self) -> Vec<ClientFrame> {
        let frames = parse_client_frames(&mut self.to_server);
        for f in &frames {
            assert!(f.mask.is_some(), "every client frame is masked: {f:?}");
            assert!(
                f.minimal_length,
                "every client frame uses the minimal length: {f:?}"
            );
        }
        frames
    }

    /// Takes the events emitted so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// Streamed events put back together as whole messages, asserting on the way what the chunks
/// must be: between a start and an end, never empty, at most `chunk` bytes, each valid UTF-8
/// for text. A message cut short by the end of the connection is dropped, as the whole-message
/// mode never reports it. With the same limits, the result is what the whole-message mode gives.
pub fn reassemble_streamed(events: Vec<Event>, chunk: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let mut current: Option<(MessageType, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::MessageStart(kind) => {
                assert!(current.is_none(), "a start inside a message");
                current = Some((kind, Vec::new()));
            }
            Event::MessageData(data) => {
                let (kind, buf) = current.as_mut().expect("data inside a message");
                assert!(
                    !data.is_empty() && data.len() <= chunk,
                    "a chunk of {} bytes",
                    data.len()
                );
                if *kind == MessageType::Text {
                    assert!(
                        std::str::from_utf8(&data).is_ok(),
                        "a text chunk is not UTF-8"
                    );
                }
                buf.extend_from_slice(&data);
            }
            Event::MessageEnd => {
                let (kind, buf) = current.take().expect("an end inside a message");
                out.push(Event::Message(match kind {
                    MessageType::Text => Message::Text(
                        Utf8Bytes::try_from(Bytes::from(buf)).expect("a whole text is UTF-8"),
                    ),
                    MessageType::Binary => Message::Binary(buf.into()),
                }));
            }
            Event::Closed(_) => {
                current = None;
                out.push(event);
            }
            other => out.push(other),
        }
    }
    out
}

/// The payload of a Close frame with `code` and `reason`.
pub fn close_body(code: u16, reason: &str) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(reason.as_bytes());
    body
}

/// A `Bytes` of `s`.
pub fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Runs `future` to its end on a current-thread tokio runtime with timers and I/O.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Connects with `builder`, sends one message and checks the echo, then closes cleanly.
pub fn round_trip_std(builder: ws_proto_std::Builder) -> Result<(), ws_proto::ClientError> {
    let (ws, response) = builder.connect()?;
    assert_eq!(response.status(), 101);
    ws.send_text("round trip")?;
    assert_eq!(ws.read()?, Message::text("round trip"));
    ws.close(ws_proto::CloseCode::NORMAL, "")?;
    assert!(matches!(
        ws.read(),
        Err(ws_proto::ClientError::Closed { .. })
    ));
    Ok(())
}

/// [`round_trip_std`] with the tokio adapter (a binary message this time).
pub fn round_trip_tokio(builder: ws_proto_tokio::Builder) -> Result<(), ws_proto::ClientError> {
    block_on(async {
        let (mut ws, _) = builder.connect().await?;
        ws.send(Message::binary(vec![1, 2, 3])).await?;
        assert_eq!(ws.read().await?, Message::binary(vec![1, 2, 3]));
        ws.close(ws_proto::CloseCode::NORMAL, "").await?;
        assert!(matches!(
            ws.read().await,
            Err(ws_proto::ClientError::Closed { .. })
        ));
        Ok(())
    })
}
