//! Invariants shared by the fuzz targets. Each target drives a `ClientState` through a
//! `Checked` wrapper, which asserts after every step what must always hold.

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use ws_proto::{ClientState, Config, Event, InputError, Output, Request};
pub use ws_proto_tests::{accept_response, parse_client_frames, reassemble_streamed, request_key};

/// Small limits, so the memory invariant is tight.
pub fn config() -> Config {
    let mut config = Config::default();
    config
        .max_frame_size(64 << 10)
        .max_message_size(128 << 10)
        .max_response_size(4 << 10)
        .max_rejection_body(1 << 10)
        .send_high_water_mark(256 << 10)
        .ping_interval(Some(Duration::from_secs(5)));
    config
}

/// A client whose every step is checked.
pub struct Checked {
    pub client: ClientState,
    pub now: Instant,
    pub events: Vec<Event>,
    /// Every byte handed out as a transmit.
    pub wire: Vec<u8>,
    /// The length of the handshake request at the start of `wire`.
    pub request_len: usize,
    /// Whether `drain` works as ws-proto-tokio does: first offering each message to be lent
    /// (`poll_message_with`), recording a copy of the lent ones in `events`, and writing the
    /// bytes where they lie (`peek_transmit`, `advance_transmit`), in short writes.
    pub borrow: bool,
    /// `wire.len()` when `Closed` was emitted.
    closed_at: Option<usize>,
    limits: usize,
}

impl Checked {
    pub fn new() -> Checked {
        Checked::with_config(config())
    }

    /// A client with `config` (whose limits bound the receive side).
    pub fn with_config(config: Config) -> Checked {
        Checked::start(config, ClientState::new)
    }

    /// A client whose handshake is an HTTP/2 extended CONNECT (RFC 8441): it writes no request,
    /// and its response comes through `handle_connect_response`.
    pub fn extended_connect() -> Checked {
        Checked::start(config(), ClientState::new_extended_connect)
    }

    fn start(
        config: Config,
        new: fn(Request, Config, [u8; 32], Instant) -> ClientState,
    ) -> Checked {
        let limits = config.get_max_frame_size()
            + config.get_max_message_size()
            + config.get_max_response_size()
            + 64;
        let request = Request::new("ws://fuzz.example/ws").expect("valid URL");
        let now = Instant::now();
        let client = new(request, config, [3; 32], now);
        let mut checked = Checked {
            client,
            now,
            events: Vec::new(),
            wire: Vec::new(),
            request_len: 0,
            borrow: false,
            closed_at: None,
            limits,
        };
        checked.drain();
        checked.request_len = checked.wire.len();
        checked
    }

    /// The 101 response this client expects, with `extra` header lines.
    pub fn accept_with(&self, extra: &str) -> Vec<u8> {
        accept_response(&request_key(&self.wire[..self.request_len]), extra).into_bytes()
    }

    /// The plain 101 response this client expects (no extension accepted).
    pub fn accept(&self) -> Vec<u8> {
        self.accept_with("")
    }

    /// Drains the outputs until the deadline, asserting the invariants.
    pub fn drain(&mut self) {
        let mut closed_now = false;
        loop {
            // The bytes already queued, through the writer's half of the drain: the buffered
            // amount is exactly what was accepted and not yet handed out.
            loop {
                let before = self.client.buffered_amount();
                if self.borrow {
                    let Some((head, body)) = self.client.peek_transmit() else {
                        break;
                    };
                    assert!(head.len() + body.len() > 0, "nothing shown to write");
                    assert!(
                        head.len() + body.len() <= before,
                        "shown more than buffered"
                    );
                    // Short writes, some ending inside a frame.
                    let shown = [head, body].concat();
                    let n = shown.len().min(13);
                    self.wire.extend_from_slice(&shown[..n]);
                    self.client.advance_transmit(n);
                    assert_eq!(self.client.buffered_amount(), before - n);
                    continue;
                }
                let Some(transmit) = self.client.poll_transmit() else {
                    break;
                };
                assert!(!transmit.is_empty(), "an empty transmit");
                assert_eq!(transmit.len(), before - self.client.buffered_amount());
                self.wire.extend_from_slice(&transmit.to_vec());
            }
            let before = self.client.buffered_amount();
            if self.borrow {
                let stats = self.client.stats();
                if let Some(message) = self.client.poll_message_with(|m| m.to_message()) {
                    assert!(self.closed_at.is_none() && !closed_now, "lent after Closed");
                    // Lending decodes: it queues no bytes and counts the message.
                    assert_eq!(self.client.buffered_amount(), before);
                    let after = self.client.stats();
                    assert_eq!(after.messages_received, stats.messages_received + 1);
                    assert_eq!(
                        after.payload_received,
                        stats.payload_received + message.len() as u64
                    );
                    self.events.push(Event::Message(message));
                    continue;
                }
            }
            match self.client.poll_output() {
                Output::Transmit(transmit) => {
                    // Nothing was queued, so these are bytes that decoding queued in this very
                    // call (a pong, the answer to a Close), handed out whole.
                    assert!(!transmit.is_empty(), "an empty transmit");
                    assert_eq!(self.client.buffered_amount(), before);
                    self.wire.extend_from_slice(&transmit.to_vec());
                }
                Output::Event(event) => {
                    assert!(
                        self.closed_at.is_none() && !closed_now,
                        "event after Closed: {event:?}"
                    );
                    closed_now = matches!(event, Event::Closed(_));
                    self.events.push(event);
                }
                Output::Timeout(deadline) => {
                    assert_eq!(deadline, self.client.poll_timeout());
                    assert!(!closed_now || deadline.is_none(), "a deadline after Closed");
                    break;
                }
            }
        }
        match self.closed_at {
            // The final Close frame, if any, was handed out with the Closed event.
            None if closed_now => self.closed_at = Some(self.wire.len()),
            Some(at) => assert_eq!(self.wire.len(), at, "output after Closed"),
            None => {}
        }
        assert!(
            self.client.received_buffered() <= self.limits,
            "receive side holds {} bytes, limits allow {}",
            self.client.received_buffered(),
            self.limits
        );
        assert_eq!(self.client.is_closed(), self.closed_at.is_some());
    }

    pub fn input(&mut self, bytes: &[u8]) {
        self.client
            .handle_input(bytes, self.now)
            .expect("no lease is out");
        self.drain();
    }

    /// Like [`input`](Self::input), read straight into the receive buffer through a lease.
    pub fn read_in_place(&mut self, bytes: &[u8]) {
        let mut lease = self.client.lease_read().expect("no lease is out");
        assert!(lease.is_empty(), "the read sees only the spare room");
        assert!(bytes.len() <= lease.room(), "pieces fit the least room");
        lease.buf_mut().put_slice(bytes);
        self.client
            .handle_lease(lease, self.now)
            .expect("the connection's own lease");
        self.drain();
    }

    /// Like [`read_in_place`](Self::read_in_place), with the client drained while the lease is
    /// out, as another thread may, and other input refused meanwhile without effect.
    pub fn read_lent(&mut self, bytes: &[u8]) {
        let mut lease = self.client.lease_read().expect("no lease is out");
        assert!(lease.is_empty(), "the read sees only the spare room");
        self.drain();
        let held = self.client.received_buffered();
        assert_eq!(
            self.client.handle_input(bytes, self.now),
            Err(InputError::LeaseOutstanding)
        );
        assert_eq!(self.client.handle_eof(), Err(InputError::LeaseOutstanding));
        assert_eq!(
            self.client.received_buffered(),
            held,
            "a refused input changed nothing"
        );
        let n = lease
            .fill_with(|room| {
                room[..bytes.len()].copy_from_slice(bytes);
                Ok::<_, ()>(bytes.len())
            })
            .expect("the read succeeded");
        assert_eq!((n, lease.len()), (bytes.len(), bytes.len()));
        self.client
            .handle_lease(lease, self.now)
            .expect("the connection's own lease");
        self.drain();
    }

    pub fn eof(&mut self) {
        self.client.handle_eof().expect("no lease is out");
        self.drain();
        assert!(
            self.client.is_closed(),
            "end of stream always ends the connection"
        );
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.drain();
    }

    /// Every frame the client wrote after the request, unmasked. Asserts that the wire parses
    /// completely into masked, minimally encoded frames.
    pub fn frames(&self) -> Vec<ws_proto_tests::ClientFrame> {
        let mut buf = BytesMut::from(&self.wire[self.request_len..]);
        let frames = parse_client_frames(&mut buf);
        assert!(buf.is_empty(), "the client wrote a partial frame");
        let deflate = self.deflate().is_some();
        for f in &frames {
            // RFC 7692 §6: RSV1 marks a compressed message, on its first frame only, and only
            // once permessage-deflate was agreed; no other extension is ever agreed here.
            let rsv = f.rsv == 0 || (deflate && f.rsv == 0b100 && matches!(f.opcode, 0x1 | 0x2));
            assert!(f.mask.is_some() && f.minimal_length && rsv, "{f:?}");
        }
        frames
    }

    /// What permessage-deflate agreed for the client's messages, read from the 101 that opened
    /// the connection; `None` when the server did not accept the extension.
    pub fn deflate(&self) -> Option<ClientDeflate> {
        let response = self.events.iter().find_map(|e| match e {
            Event::Open(response) => Some(response),
            _ => None,
        })?;
        let extension = response
            .extensions()
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case("permessage-deflate"))?;
        let mut agreed = ClientDeflate {
            window_bits: 15,
            no_context_takeover: false,
        };
        for (name, value) in &extension.params {
            match name.to_ascii_lowercase().as_str() {
                "client_max_window_bits" => {
                    if let Some(bits) = value {
                        agreed.window_bits = bits.trim_matches('"').parse().expect("accepted");
                    }
                }
                "client_no_context_takeover" => agreed.no_context_takeover = true,
                _ => {}
            }
        }
        Some(agreed)
    }
}

/// The permessage-deflate parameters that bind the client's compressor (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientDeflate {
    /// `client_max_window_bits`: the largest back-reference is under 2^window_bits bytes.
    pub window_bits: u8,
    /// `client_no_context_takeover`: each message is compressed on its own.
    pub no_context_takeover: bool,
}

impl Default for Checked {
    fn default() -> Self {
        Checked::new()
    }
}

/// How the input starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The input is the server's whole answer.
    Raw,
    /// A valid 101 comes first.
    Open,
    /// A valid 101 accepting permessage-deflate comes first.
    OpenDeflate,
}

/// Feeds `input` (after the start given) in one piece, byte by byte, through leases, and in
/// pieces to a client that lends messages and is written in place, then the end of stream when
/// `eof`; asserts all the runs give the same events and output, and returns the first.
pub fn same_events_however_split(start: Start, input: &[u8], eof: bool) -> Checked {
    same_events_however_split_with(config(), start, input, eof)
}

/// [`same_events_however_split`] for clients with `config`.
pub fn same_events_however_split_with(
    config: Config,
    start: Start,
    input: &[u8],
    eof: bool,
) -> Checked {
    // Streamed, chunks follow the reads: what must not depend on them is the messages.
    let chunk = config.get_recv_chunk_size();
    let same = |events: &[Event]| match config.get_recv_streaming() {
        true => reassemble_streamed(events.to_vec(), chunk),
        false => events.to_vec(),
    };
    let mut whole = Checked::with_config(config.clone());
    let mut bytewise = Checked::with_config(config.clone());
    let mut in_place = Checked::with_config(config.clone());
    let mut borrowing = Checked::with_config(config.clone());
    borrowing.borrow = true;
    let mut all = match start {
        Start::Raw => Vec::new(),
        Start::Open => whole.accept(),
        Start::OpenDeflate => {
            // Both window sizes small, so the inflate window differs from the default.
            whole.accept_with(
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
            )
        }
    };
    all.extend_from_slice(input);
    whole.input(&all);
    for b in &all {
        bytewise.input(std::slice::from_ref(b));
    }
    // Reads straight into the receive buffer, in pieces that fall anywhere in a frame; every
    // other lease drained meanwhile.
    for (i, piece) in all.chunks(97).enumerate() {
        if i % 2 == 0 {
            in_place.read_in_place(piece);
        } else {
            in_place.read_lent(piece);
        }
    }
    for piece in all.chunks(61) {
        borrowing.input(piece);
    }
    if eof {
        whole.eof();
        bytewise.eof();
        in_place.eof();
        borrowing.eof();
    }
    assert_eq!(same(&whole.events), same(&bytewise.events));
    assert_eq!(whole.wire, bytewise.wire);
    assert_eq!(same(&whole.events), same(&in_place.events));
    assert_eq!(whole.wire, in_place.wire);
    assert_eq!(same(&whole.events), same(&borrowing.events));
    assert_eq!(whole.wire, borrowing.wire);
    // Before a 101, the client writes nothing but its request.
    if !whole.events.iter().any(|e| matches!(e, Event::Open(_))) {
        assert_eq!(whole.wire.len(), whole.request_len);
    }
    whole
}
