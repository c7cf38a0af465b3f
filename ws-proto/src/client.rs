//! `ClientState`: the sans-IO WebSocket client connection.

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use crate::close::{close_body, truncate_reason, CloseCode, MAX_REASON_LEN};
use crate::config::Config;
use crate::error::{Error, ProtocolError, SendError, Timeout};
use crate::event::{Closed, Event};
use crate::frame::OpCode;
use crate::handshake::{Parsed, PendingRejection, Response, ResponseReader};
use crate::message::{Message, MessageType};
use crate::recv::{Received, Receiver};
use crate::request::Request;
use crate::rng::Rng;
use crate::send::Sender;
use crate::timer::{Timer, Timers};

/// A receive buffer above this capacity is released once empty, so an idle connection holds
/// little memory. (Received messages keep their own share of it alive as long as they need.)
const KEEP_RX_CAPACITY: usize = 1 << 10;

/// The most room [`ClientState::handle_read`] reserves when less than a quarter of it is left:
/// large enough that a burst of small messages arrives in few reads. (Receiving 1 KiB messages
/// over loopback, reads of up to 256 KiB took a quarter less CPU per message than reads of up
/// to 32 KiB.)
pub const READ_ROOM: usize = 256 << 10;

/// The room of a new connection's first reads: the handshake's response fits many times over,
/// and a stream of messages grows it to `READ_ROOM` in two full reads. Starting at `READ_ROOM`
/// would reserve 256 KiB for every handshake.
const FIRST_READ_ROOM: usize = 32 << 10;

/// The least room `handle_read` reserves, once reads bring only small pieces: within
/// `KEEP_RX_CAPACITY`, so the buffer is kept between the reads of a request-response exchange
/// instead of being allocated for each and released when the next would block.
const MIN_READ_ROOM: usize = KEEP_RX_CAPACITY;

/// The event queue is shrunk back once drained past this many entries.
const KEEP_EVENTS: usize = 8;

/// The connection's state as the browser API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// The opening handshake is in progress; sends are queued.
    Connecting,
    /// The handshake completed; messages flow both ways.
    Open,
    /// A Close frame has been sent or received.
    Closing,
    /// The connection is over; [`Event::Closed`] has been emitted.
    Closed,
}

#[derive(Debug)]
enum Phase {
    Connecting,
    Rejecting(PendingRejection),
    Open,
    Closing,
    Closed,
}

/// A WebSocket client connection as a pure state machine: bytes and time in, events, bytes and a
/// deadline out. It performs no I/O, reads no clock and draws no entropy of its own.
///
/// Methods fall into four groups:
///
/// - **inputs** tell it what happened: [`handle_input`](Self::handle_input) (bytes read from the
///   transport), [`handle_eof`](Self::handle_eof) (the transport's read side ended) and
///   [`handle_timeout`](Self::handle_timeout) (the deadline from `poll_timeout` passed; calling it
///   early or twice is harmless).
/// - **commands** ask it to do something: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send`](Self::send), [`send_ping`](Self::send_ping) and
///   [`close`](Self::close). A refused command returns `Err` and changes nothing.
/// - **polls** give what it produced, and must be drained after every input or command:
///   [`poll_event`](Self::poll_event) until `None`, then [`poll_transmit`](Self::poll_transmit)
///   (bytes to write, in order) until `None`, and again while either gave something: frames
///   are decoded as events are polled, and decoding or acting on an event can queue bytes (a
///   pong, a Close echo, an answer). Then [`poll_timeout`](Self::poll_timeout) (when to call
///   `handle_timeout` next).
/// - **getters**: [`ready_state`](Self::ready_state), [`buffered_amount`](Self::buffered_amount),
///   [`is_writable`](Self::is_writable), [`subprotocol`](Self::subprotocol).
///
/// Time is an argument: every method that can move a deadline takes `now`.
///
/// A violation by the server never panics and never returns an error from an input: the client
/// queues the right Close frame (1002, 1007, 1009) and emits [`Event::Closed`] with the typed
/// cause. `Closed` is emitted exactly once and nothing follows it; after it, `poll_transmit` may
/// still return a final Close frame to write before closing the transport.
pub struct ClientState {
    config: Config,
    request: Request,
    phase: Phase,
    /// Input not yet decoded. Frames are decoded one at a time by `poll_event`, so a Close or
    /// a violation takes effect only after the events before it were polled, and what the user
    /// sends in answer to those (an echo of the last message) goes out before the client's Close.
    rx: BytesMut,
    /// The room `handle_read` reserves: it grows while reads fill what they are offered and
    /// shrinks while they bring a small part of it.
    read_room: usize,
    /// When the latest input arrived: the time a Close decoded later was received.
    input_at: Instant,
    /// The transport's read side ended; acted on once the input before it is decoded.
    eof: bool,
    reader: ResponseReader,
    receiver: Receiver,
    sender: Sender,
    /// Events that are not frames: `Open`, `Drained`, `Closed`.
    events: VecDeque<Event>,
    timers: Timers,
    subprotocol: Option<String>,
    /// A Close frame went out (ours or our echo).
    close_sent: bool,
    /// The server's Close: its code (1005 when it had none) and reason.
    close_received: Option<(CloseCode, String)>,
    /// A close requested before the handshake completed, sent right after it.
    pending_close: Option<(CloseCode, String)>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field("state", &self.ready_state())
            .field("buffered_amount", &self.buffered_amount())
            .field("pending_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl ClientState {
    /// Starts a connection: the handshake request is ready in [`poll_transmit`](Self::poll_transmit)
    /// and the handshake timeout runs from `now`.
    ///
    /// `seed` keys the generator of the handshake key and the masking keys; it must come from a
    /// cryptographically secure source (the adapters use the OS) and never be reused.
    pub fn new(request: Request, config: Config, seed: [u8; 32], now: Instant) -> ClientState {
        let mut sender = Sender::new(Rng::new(seed));
        // §4.1 point 7: "a randomly selected 16-byte value that has been base64-encoded".
        let mut nonce = [0u8; 16];
        sender.rng().fill(&mut nonce);
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        request.write(&key, &config.extension_offers(), sender.raw());
        let mut timers = Timers::default();
        if let Some(timeout) = config.handshake_timeout {
            timers.set(Timer::Handshake, now + timeout);
        }
        ClientState {
            receiver: Receiver::new(config.max_frame_size, config.max_message_size),
            config,
            request,
            phase: Phase::Connecting,
            rx: BytesMut::new(),
            read_room: FIRST_READ_ROOM,
            input_at: now,
            eof: false,
            reader: ResponseReader::new(&key),
            sender,
            events: VecDeque::new(),
            timers,
            subprotocol: None,
            close_sent: false,
            close_received: None,
            pending_close: None,
        }
    }

    // ---- inputs ----

    /// Feeds bytes read from the transport. Any split is fine: a response or frame may arrive one
    /// byte at a time, and bytes after the 101 response are processed in the same call.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if !self.accepts_input() || data.is_empty() {
            return;
        }
        self.rx.extend_from_slice(data);
        self.received(now);
    }

    /// Like [`handle_input`](Self::handle_input), but `read` reads straight into the receive
    /// buffer, saving the copy. `read` gets an empty buffer whose spare capacity is the room to
    /// fill: between a quarter of 1 KiB and [`READ_ROOM`] (more while reads fill it, less while
    /// they bring small pieces), and all that a large frame still needs once its header is in (up
    /// to the frame limit). It appends what it reads, for example with tokio's
    /// `AsyncReadExt::read_buf`; what it returns is passed through. Only appended bytes reach the
    /// connection.
    ///
    /// When nothing was appended (the read would block) and no input is pending, the receive
    /// buffer gives its memory back, so an idle connection holds none.
    pub fn handle_read<R>(&mut self, now: Instant, read: impl FnOnce(&mut BytesMut) -> R) -> R {
        let mut room = self.lend_room();
        let result = read(&mut room);
        self.handle_room(now, room);
        result
    }

    /// [`handle_read`](Self::handle_read) in two steps, for a read made without `&mut self`:
    /// ws-proto-std reads with the connection unlocked, so that other threads can send
    /// meanwhile. This lends the room `handle_read` would offer; append what is read and give it
    /// back through [`handle_room`](Self::handle_room). Until then, feed no other input.
    #[must_use]
    #[inline]
    pub fn lend_room(&mut self) -> BytesMut {
        if self.rx.capacity() - self.rx.len() < self.read_room / 4 {
            self.rx.reserve(self.read_room);
        }
        // The reader sees only the spare room: it cannot touch the bytes already received. An
        // empty buffer is all room, and lending it whole saves a split (the common case between
        // messages).
        if self.rx.is_empty() {
            std::mem::take(&mut self.rx)
        } else {
            self.rx.split_off(self.rx.len())
        }
    }

    /// Takes back the room from [`lend_room`](Self::lend_room) with the bytes read appended
    /// (none if the read would block), as `handle_read` does after its read.
    #[inline]
    pub fn handle_room(&mut self, now: Instant, room: BytesMut) {
        let start = self.rx.len();
        let (appended, offered) = (room.len(), room.capacity());
        if self.rx.is_empty() {
            self.rx = room;
        } else {
            // Joins without a copy: the room is the buffer's own tail.
            self.rx.unsplit(room);
        }
        if appended == offered {
            self.read_room = (self.read_room * 4).min(READ_ROOM);
        } else if appended > 0 && appended <= offered / 8 {
            self.read_room = (self.read_room / 2).max(MIN_READ_ROOM);
        }
        if appended == 0 {
            self.release_idle_rx();
        } else if self.accepts_input() {
            self.received(now);
        } else {
            self.rx.truncate(start);
        }
    }

    /// Whether input is taken. §1.4: after the server's Close, "the other peer ... [does not]
    /// send any more data"; whatever follows is discarded, as is anything after the end.
    fn accepts_input(&self) -> bool {
        !matches!(self.phase, Phase::Closed) && self.close_received.is_none() && !self.eof
    }

    /// New input is in `rx`.
    fn received(&mut self, now: Instant) {
        // Anything from the server proves it alive.
        self.timers.stop(Timer::Pong);
        self.input_at = now;
        self.read_handshake(now);
        // The read that brought the 101 may have brought nothing after it.
        self.release_idle_rx();
    }

    /// Gives back a large, empty receive buffer, so an idle connection holds little.
    fn release_idle_rx(&mut self) {
        if self.rx.is_empty() && self.rx.capacity() > KEEP_RX_CAPACITY {
            self.rx = BytesMut::new();
        }
    }

    /// The transport's read side ended.
    ///
    /// After the closing handshake this completes a clean close; otherwise the connection ended
    /// abnormally (1006).
    pub fn handle_eof(&mut self) {
        match &self.phase {
            Phase::Closed => {}
            Phase::Connecting => {
                let err = crate::handshake::HandshakeError::UnexpectedEof;
                self.finish(
                    CloseCode::ABNORMAL,
                    err.to_string(),
                    false,
                    Some(Error::Handshake(err)),
                );
            }
            Phase::Rejecting(_) => self.reject(),
            // Frames that arrived before the end are decoded first: a Close among them decides
            // how the connection ended.
            Phase::Open | Phase::Closing => self.eof = true,
        }
    }

    /// Runs the timers due at `now`. Harmless when none is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Handshake => match self.phase {
                    Phase::Connecting => self.time_out(Timeout::Handshake),
                    // A rejection's body that is slow to arrive is reported as far as it came.
                    Phase::Rejecting(_) => self.reject(),
                    _ => {}
                },
                Timer::Ping => {
                    if matches!(self.phase, Phase::Open) {
                        self.sender.frame(OpCode::Ping, &[]);
                        if !self.timers.is_set(Timer::Pong) {
                            self.timers.set(Timer::Pong, now + self.config.pong_timeout);
                        }
                        if let Some(interval) = self.config.ping_interval {
                            self.timers.set(Timer::Ping, now + interval);
                        }
                    }
                }
                Timer::Pong => self.time_out(Timeout::Pong),
                Timer::Close => match self.close_received.take() {
                    // Both Close frames were exchanged; only the server's end of stream is late.
                    Some((code, reason)) => self.finish(code, reason, true, None),
                    None => self.time_out(Timeout::Close),
                },
            }
        }
    }

    // ---- commands ----

    /// Sends a text message. Before the handshake completes it is queued.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_frame(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message. Before the handshake completes it is queued.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_frame(OpCode::Binary, data)
    }

    /// Sends `message`, taking its payload. A payload of 64 KiB or more that nothing else
    /// shares (one built in a `Vec` or `BytesMut` and converted, say) is masked where it lies and
    /// handed to [`poll_transmit`](Self::poll_transmit) as a chunk of its own, after its header:
    /// it is not copied. Any other payload is copied, as by `send_text` and `send_binary`.
    pub fn send_message(&mut self, message: Message) -> Result<(), SendError> {
        let limit = self.accept_send()?;
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.into_bytes()),
            Message::Binary(data) => (OpCode::Binary, data),
        };
        self.sender.message_owned(opcode, payload);
        self.sender.check_full(limit);
        Ok(())
    }

    /// Sends a message of the configured default type ([`Config::default_message_type`]).
    /// With text as the default, `data` must be UTF-8.
    pub fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        match self.config.default_message_type {
            MessageType::Text => {
                std::str::from_utf8(data).map_err(|_| SendError::InvalidUtf8)?;
                self.send_frame(OpCode::Text, data)
            }
            MessageType::Binary => self.send_frame(OpCode::Binary, data),
        }
    }

    /// Sends a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        self.send_frame(OpCode::Ping, payload)
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123 bytes).
    ///
    /// The client then waits for the server's Close and for the end of the stream, bounded by
    /// [`Config::close_timeout`]. Before the handshake completes, the close is sent right after
    /// the queued messages. Closing is never refused for a full buffer.
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        match self.phase {
            Phase::Closed => Err(SendError::Closed),
            _ if self.close_sent || self.pending_close.is_some() => Err(SendError::Closing),
            Phase::Connecting | Phase::Rejecting(_) => {
                self.pending_close = Some((code, reason.to_owned()));
                Ok(())
            }
            Phase::Open | Phase::Closing => {
                self.send_close(code, reason, now);
                Ok(())
            }
        }
    }

    // ---- polls ----

    /// The next bytes to write. Frames sent one after another come out together, as one chunk
    /// (many small sends become one write), except that a payload
    /// [`send_message`](Self::send_message) did not copy is a chunk of its own. Write each chunk
    /// whole, in order, and call again until `None`.
    #[must_use]
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        // Adapters ask after every event and before every read: most often nothing is ready.
        if self.sender.is_empty() {
            return None;
        }
        let (chunk, drained) = self.sender.take(self.config.send_high_water_mark);
        if drained && !matches!(self.phase, Phase::Closed) {
            self.events.push_back(Event::Drained);
        }
        chunk
    }

    /// The next event.
    ///
    /// A Close from the server, or a violation that fails the connection, takes effect when the
    /// events received before it have been polled: messages sent in answer to those go out
    /// before the client's Close frame.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        // Nothing to decode, the common case between reads: the decoders are skipped.
        if !self.receiver.has_ready() && self.rx.is_empty() && !self.eof {
            self.release_idle_rx();
        } else if let Some(event) = self.decode_event() {
            return Some(event);
        }
        if self.events.capacity() > KEEP_EVENTS {
            self.events.shrink_to(KEEP_EVENTS);
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- getters ----

    /// The connection's state.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Connecting | Phase::Rejecting(_) => ReadyState::Connecting,
            Phase::Open => ReadyState::Open,
            Phase::Closing => ReadyState::Closing,
            Phase::Closed => ReadyState::Closed,
        }
    }

    /// Whether the handshake completed and no Close frame has been sent or received.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// Whether [`Event::Closed`] has been emitted.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Bytes accepted by sends but not yet returned by `poll_transmit`, queued messages
    /// included (the browser's `bufferedAmount`). After the connection closes, what never went
    /// out is still counted here, so nothing is dropped silently.
    pub fn buffered_amount(&self) -> usize {
        self.sender.buffered()
    }

    /// Bytes held on the receive side: input not yet handed out as events, plus a message being
    /// assembled (fragmented, or being inflated).
    pub fn received_buffered(&self) -> usize {
        self.rx.len() + self.receiver.held()
    }

    /// Whether a send would be accepted now: the buffered amount is below the high-water mark.
    pub fn is_writable(&self) -> bool {
        !matches!(self.phase, Phase::Closed)
            && !self.close_sent
            && self.pending_close.is_none()
            && self.buffered_amount() < self.config.send_high_water_mark
    }

    /// The subprotocol the server chose, once open.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The handshake request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- internals ----

    /// Reads the server's response while the handshake is in progress; frames after the 101
    /// stay in `rx` for `poll_event`.
    fn read_handshake(&mut self, now: Instant) {
        loop {
            match &mut self.phase {
                Phase::Connecting => {
                    match self.reader.read(&mut self.rx, &self.request, &self.config) {
                        Ok(Parsed::Partial) => return,
                        Ok(Parsed::Accepted(response)) => self.open(response, now),
                        Ok(Parsed::Rejected(pending)) => self.phase = Phase::Rejecting(pending),
                        Err(e) => {
                            return self.finish(
                                CloseCode::ABNORMAL,
                                e.to_string(),
                                false,
                                Some(Error::Handshake(e)),
                            )
                        }
                    }
                }
                Phase::Rejecting(pending) => {
                    if pending.read(&mut self.rx) {
                        self.reject();
                    }
                    return;
                }
                Phase::Open | Phase::Closing | Phase::Closed => return,
            }
        }
    }

    fn open(&mut self, response: Response, now: Instant) {
        self.phase = Phase::Open;
        self.timers.stop(Timer::Handshake);
        if let Some(interval) = self.config.ping_interval {
            self.timers.set(Timer::Ping, now + interval);
        }
        self.subprotocol = response.subprotocol().map(str::to_owned);
        #[cfg(feature = "deflate")]
        if let Some(agreed) = &response.deflate {
            self.receiver.enable_deflate(agreed);
            self.sender.enable_deflate(agreed);
        }
        // Messages sent before the handshake go first, before anything sent from now on.
        self.sender.release_queue();
        self.events.push_back(Event::Open(Box::new(response)));
        if let Some((code, reason)) = self.pending_close.take() {
            self.send_close(code, &reason, now);
        }
    }

    /// The next event decoded from the input, if any.
    #[inline]
    fn decode_event(&mut self) -> Option<Event> {
        // Most events are small whole messages: decoded here without the general path.
        if matches!(self.phase, Phase::Open) {
            if let Some(message) = self.receiver.whole_message(&mut self.rx) {
                return Some(Event::Message(message));
            }
        }
        if matches!(self.phase, Phase::Open | Phase::Closing) {
            if let Some(event) = self.read_frame() {
                return Some(event);
            }
            // The end of the connection, if decoding reached it.
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
        }
        None
    }

    /// Decodes frames until one makes an event, the input runs out, or the connection ends.
    fn read_frame(&mut self) -> Option<Event> {
        while self.close_received.is_none() {
            match self.receiver.poll(&mut self.rx) {
                Ok(Some(Received::Message(message))) => return Some(Event::Message(message)),
                Ok(Some(Received::Ping(payload))) => {
                    // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
                    // in response, unless it already received a Close frame." Nothing may
                    // follow our own Close either.
                    if !self.close_sent {
                        self.sender.frame(OpCode::Pong, &payload);
                    }
                    return Some(Event::Ping(payload));
                }
                Ok(Some(Received::Pong(payload))) => return Some(Event::Pong(payload)),
                Ok(Some(Received::Close(body))) => self.on_close(body),
                Ok(None) => break,
                Err(e) => {
                    self.fail(e);
                    return None;
                }
            }
        }
        if self.eof {
            self.eof = false;
            self.end_of_stream();
        } else {
            self.release_idle_rx();
        }
        None
    }

    /// The transport's end, once everything before it was decoded: a clean close after the
    /// closing handshake, else an abnormal end (1006).
    fn end_of_stream(&mut self) {
        match self.close_received.take() {
            Some((code, reason)) => self.finish(code, reason, true, None),
            None => self.finish(
                CloseCode::ABNORMAL,
                Error::UnexpectedEof.to_string(),
                false,
                Some(Error::UnexpectedEof),
            ),
        }
    }

    fn on_close(&mut self, body: Option<(CloseCode, String)>) {
        let now = self.input_at;
        if !self.close_sent {
            // §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close
            // frame, the endpoint MUST send a Close frame in response. (When sending a Close
            // frame in response, the endpoint typically echos the status code it received.)"
            let echo = body.as_ref().map(|(code, _)| code.as_u16().to_be_bytes());
            self.sender
                .frame(OpCode::Close, echo.as_ref().map_or(&[][..], |c| &c[..]));
            self.close_sent = true;
            self.timers.stop(Timer::Ping);
            self.timers
                .set(Timer::Close, now + self.config.close_timeout);
        }
        // Either way the server's end of stream should follow: §7.1.1, "the client SHOULD wait
        // for the server to close the connection".
        self.timers.stop(Timer::Pong);
        self.close_received = Some(body.unwrap_or_else(|| (CloseCode::NO_STATUS, String::new())));
        self.phase = Phase::Closing;
        self.receiver.clear();
        // §1.4: after the server's Close, the server sends no more data; whatever followed it
        // is discarded.
        self.rx.clear();
    }

    fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        let limit = self.accept_send()?;
        if opcode.is_control() {
            self.sender.frame(opcode, payload);
        } else {
            self.sender.message(opcode, payload);
        }
        self.sender.check_full(limit);
        Ok(())
    }

    /// Whether a send may go ahead: not after a Close, not above the high-water mark. Returns
    /// the mark.
    fn accept_send(&mut self) -> Result<usize, SendError> {
        match self.phase {
            Phase::Closed => return Err(SendError::Closed),
            _ if self.close_sent || self.pending_close.is_some() => return Err(SendError::Closing),
            _ => {}
        }
        let limit = self.config.send_high_water_mark;
        if self.sender.check_full(limit) {
            return Err(SendError::BufferFull {
                buffered: self.buffered_amount(),
                limit,
            });
        }
        Ok(limit)
    }

    fn send_close(&mut self, code: CloseCode, reason: &str, now: Instant) {
        self.sender.frame(OpCode::Close, &close_body(code, reason));
        self.close_sent = true;
        self.phase = Phase::Closing;
        self.timers.stop(Timer::Ping);
        self.timers.stop(Timer::Pong);
        self.timers
            .set(Timer::Close, now + self.config.close_timeout);
    }

    /// §7.1.7 _Fail the WebSocket Connection_: send a Close with the violation's code (unless one
    /// was sent already) and end the connection without waiting.
    fn fail(&mut self, error: ProtocolError) {
        let code = error.close_code();
        let reason = error.to_string();
        if !self.close_sent {
            self.sender
                .frame(OpCode::Close, &close_body(code, truncate_reason(&reason)));
            self.close_sent = true;
        }
        self.finish(code, reason, false, Some(Error::Protocol(error)));
    }

    fn time_out(&mut self, which: Timeout) {
        self.finish(
            CloseCode::ABNORMAL,
            which.to_string(),
            false,
            Some(Error::Timeout(which)),
        );
    }

    fn reject(&mut self) {
        if let Phase::Rejecting(pending) = std::mem::replace(&mut self.phase, Phase::Closing) {
            let rejection = pending.finish();
            let reason = rejection.to_string();
            self.finish(
                CloseCode::ABNORMAL,
                reason,
                false,
                Some(Error::Rejected(Box::new(rejection))),
            );
        }
    }

    /// Emits the one `Closed` event and releases receive-side memory.
    fn finish(&mut self, code: CloseCode, reason: String, clean: bool, error: Option<Error>) {
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.rx = BytesMut::new();
        self.receiver.clear();
        self.close_received = None;
        let closed = Closed {
            code,
            reason,
            clean,
            error,
        };
        self.events.push_back(Event::Closed(Box::new(closed)));
    }
}
