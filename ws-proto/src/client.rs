//! `ClientState`: the sans-IO WebSocket client connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::BytesMut;

use crate::close::{close_body, truncate_reason, CloseCode, MAX_REASON_LEN};
use crate::closing::Closing;
use crate::config::Config;
use crate::error::{Error, InputError, ProtocolError, SendError, Timeout};
use crate::event::{Closed, Event, Pong};
use crate::frame::{OpCode, MAX_CONTROL_PAYLOAD};
use crate::handshake::{
    check_connect_response, HandshakeError, Parsed, PendingRejection, Response, ResponseReader,
};
use crate::headers::Headers;
use crate::http2::{ExtendedConnect, StreamReset};
use crate::lease::ReadLease;
use crate::message::{Message, MessageRef, MessageType};
use crate::output::Output;
use crate::pings::PingsInFlight;
use crate::read_size::{ReadSize, MIN_READ_ROOM, READ_ROOM};
use crate::recv::{Received, Receiver, Streaming};
use crate::request::Request;
use crate::rng::Rng;
use crate::send::Sender;
use crate::stats::Stats;
use crate::timer::{Timer, Timers};
use crate::trace::event;
use crate::transmit::Transmit;

/// A receive buffer above this capacity is released once empty, so an idle connection holds
/// little memory. (Received messages keep their own share of it alive as long as they need.)
/// Within the least read room, so the buffer is kept between the reads of a request-response
/// exchange.
const KEEP_RX_CAPACITY: usize = MIN_READ_ROOM;

/// A number for each connection made in this process, so that a lease handed to the wrong
/// connection is told from its own.
fn next_connection_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

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

/// The connection's life; the closing handshake within `Open` is [`Closing`]'s.
#[derive(Debug)]
enum Phase {
    Connecting,
    Rejecting(Box<PendingRejection>),
    Open,
    Closed,
}

/// A WebSocket client connection as a pure state machine: bytes and time in, events, bytes and a
/// deadline out. It performs no I/O, reads no clock and draws no entropy of its own.
///
/// Methods fall into four groups:
///
/// - **inputs** tell it what happened: [`handle_input`](Self::handle_input) (bytes read from the
///   transport, copied in), [`lease_read`](Self::lease_read) then
///   [`handle_lease`](Self::handle_lease) (bytes read straight into the receive buffer),
///   [`handle_eof`](Self::handle_eof) (the transport's read side ended) and
///   [`handle_timeout`](Self::handle_timeout) (the deadline passed; calling it early or twice is
///   harmless). Over HTTP/2 (RFC 8441, [`new_extended_connect`](Self::new_extended_connect)),
///   also [`handle_connect_response`](Self::handle_connect_response) (the answer to the
///   extended CONNECT) and [`handle_stream_reset`](Self::handle_stream_reset) (RST_STREAM or
///   GOAWAY).
/// - **commands** ask it to do something: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_message`](Self::send_message),
///   [`send_default_type`](Self::send_default_type), [`send_ping`](Self::send_ping) and [`close`](Self::close). A refused
///   command returns `Err` and changes nothing.
/// - **the drain**: after every input or command, call [`poll_output`](Self::poll_output) until
///   it returns [`Output::Timeout`], writing each [`Output::Transmit`] in order and handling each
///   [`Output::Event`] (commands issued meanwhile join the same queue). Frames are decoded as the
///   queue is drained, so an answer to a message goes out before a Close that arrived after it.
///   Two partial polls serve loops that read and write apart: [`poll_transmit`](Self::poll_transmit)
///   takes only bytes (for a writer) and [`poll_event`](Self::poll_event) only events (for a
///   reader whose transport cannot take bytes right now); what one leaves, `poll_output` yields.
///   Two borrowing forms save a reference count per message or per write:
///   [`poll_message_with`](Self::poll_message_with) lends a small message where it was received,
///   and [`peek_transmit`](Self::peek_transmit) / [`advance_transmit`](Self::advance_transmit)
///   write the bytes where they lie.
/// - **getters**: [`ready_state`](Self::ready_state), [`buffered_amount`](Self::buffered_amount),
///   [`is_writable`](Self::is_writable), [`check_send`](Self::check_send),
///   [`subprotocol`](Self::subprotocol), [`poll_timeout`](Self::poll_timeout),
///   [`extended_connect`](Self::extended_connect) (the request to send over HTTP/2).
///
/// Time is an argument: every method that can move a deadline takes `now`.
///
/// A violation by the server never panics and never returns an error from an input: the client
/// queues the right Close frame (1002, 1007, 1009) and emits [`Event::Closed`] with the typed
/// cause. `Closed` is emitted exactly once and nothing follows it but the final Close frame's
/// transmit, if one is due; once the drain reaches `Output::Timeout` after `Closed`, close the
/// transport.
pub struct ClientState {
    config: Config,
    request: Request,
    phase: Phase,
    /// Input not yet decoded. Frames are decoded one at a time by `poll_event`, so a Close or
    /// a violation takes effect only after the events before it were polled, and what the user
    /// sends in answer to those (an echo of the last message) goes out before the client's Close.
    rx: BytesMut,
    /// The room `lease_read` offers.
    read_size: ReadSize,
    /// The last lease came back empty: the read would have blocked.
    read_was_empty: bool,
    /// This connection's number, which its leases carry.
    number: u32,
    /// A lease is out. At most one is, and handing it back consumes it, so the number alone
    /// tells a lease of this connection's from another's.
    leased: bool,
    /// When the latest input arrived: the time a Close decoded later was received.
    input_at: Instant,
    /// The HTTP/1.1 response's reader; `None` when the handshake is an extended CONNECT, whose
    /// response comes through `handle_connect_response`.
    reader: Option<ResponseReader>,
    /// The HTTP/2 stream's reset, reported in place of an unexpected end of stream.
    reset: Option<StreamReset>,
    receiver: Receiver,
    sender: Sender,
    /// Events that are not frames: `Open`, `Drained`, `Closed`.
    events: VecDeque<Event>,
    timers: Timers,
    subprotocol: Option<String>,
    closing: Closing,
    /// [`pause_recv`](ClientState::pause_recv) was called and not yet undone.
    recv_paused: bool,
    /// A keepalive ping is unanswered and its pong timeout waits for reading to resume: while
    /// nothing is read, silence proves nothing.
    pong_owed: bool,
    /// The pings awaiting their pongs.
    pings: PingsInFlight,
    /// The round-trip time of the last ping answered.
    rtt: Option<Duration>,
    stats: Stats,
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
    /// Starts a connection: the handshake request is the first output and the handshake
    /// timeout runs from `now`.
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
        let reader = Some(ResponseReader::new(&key));
        ClientState::start(request, config, sender, reader, now)
    }

    /// Starts a connection whose opening handshake is an HTTP/2 extended CONNECT (RFC 8441),
    /// made by the adapter's HTTP/2 library: there is no HTTP/1.1 request to write. Send the
    /// request [`extended_connect`](Self::extended_connect) describes on a new stream, hand its
    /// response to [`handle_connect_response`](Self::handle_connect_response), then run the
    /// stream as any transport: its DATA is the input, the transmits are its DATA, its end
    /// (END_STREAM) is [`handle_eof`](Self::handle_eof) and a reset is
    /// [`handle_stream_reset`](Self::handle_stream_reset). The handshake timeout runs from
    /// `now` until the response; sends before it are queued as usual.
    ///
    /// `seed` as for [`new`](Self::new).
    pub fn new_extended_connect(
        request: Request,
        config: Config,
        seed: [u8; 32],
        now: Instant,
    ) -> ClientState {
        ClientState::start(request, config, Sender::new(Rng::new(seed)), None, now)
    }

    fn start(
        request: Request,
        config: Config,
        sender: Sender,
        reader: Option<ResponseReader>,
        now: Instant,
    ) -> ClientState {
        let mut timers = Timers::default();
        if let Some(timeout) = config.handshake_timeout {
            timers.set(Timer::Handshake, now + timeout);
        }
        ClientState {
            receiver: Receiver::new(
                config.max_frame_size,
                config.max_message_size,
                Streaming {
                    on: config.recv_streaming,
                    chunk: config.recv_chunk_size,
                    limit: config.max_streamed_message_size,
                },
            ),
            config,
            request,
            phase: Phase::Connecting,
            rx: BytesMut::new(),
            read_size: ReadSize::default(),
            read_was_empty: false,
            number: next_connection_number(),
            leased: false,
            input_at: now,
            reader,
            reset: None,
            sender,
            events: VecDeque::new(),
            timers,
            subprotocol: None,
            closing: Closing::default(),
            recv_paused: false,
            pong_owed: false,
            pings: PingsInFlight::default(),
            rtt: None,
            stats: Stats::default(),
        }
    }

    // ---- inputs ----

    /// Feeds bytes read from the transport, copying them. Any split is fine: a response or
    /// frame may arrive one byte at a time, and bytes after the 101 response are processed in
    /// the same call. Refused while a [`ReadLease`] is out.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> Result<(), InputError> {
        self.check_no_lease()?;
        if self.accepts_input() && !data.is_empty() {
            self.stats.bytes_received += data.len() as u64;
            self.rx.extend_from_slice(data);
            self.received(now);
        }
        Ok(())
    }

    /// Lends the receive buffer's spare room, so the transport reads straight into it (no
    /// copy). Read into the lease, then hand it back with [`handle_lease`](Self::handle_lease),
    /// with or without bytes (a read that would block brings none). Until then the connection
    /// takes no other input, but the lease owns its room: the connection itself may be used
    /// meanwhile (sends from another thread, say). Refused while another lease is out.
    ///
    /// The room is sized by the [`ReadSize`] policy, or by what a large frame still needs once
    /// its header is in, and is at most [`READ_ROOM`].
    #[inline]
    pub fn lease_read(&mut self) -> Result<ReadLease, InputError> {
        self.check_no_lease()?;
        // After a read that found nothing, an empty buffer is offered the least room: a socket
        // polled before its data arrives (or woken for nothing) is not lent a large buffer
        // that it hands back unread, to be freed as idle and allocated again at the next poll.
        let wanted = if self.read_was_empty && self.rx.is_empty() {
            MIN_READ_ROOM
        } else {
            self.read_size.get()
        };
        if self.rx.capacity() - self.rx.len() < wanted / 4 {
            self.rx.reserve(wanted);
        }
        // The reader sees only the spare room: it cannot touch the bytes already received. An
        // empty buffer is all room, and lending it whole saves a split (the common case between
        // messages).
        let buf = if self.rx.is_empty() {
            std::mem::take(&mut self.rx)
        } else {
            self.rx.split_off(self.rx.len())
        };
        self.leased = true;
        Ok(ReadLease {
            room: buf.capacity().min(READ_ROOM),
            buf,
            owner: self.number,
        })
    }

    /// Takes back the lease from [`lease_read`](Self::lease_read) with what was read into it.
    ///
    /// When nothing was read (the read would block) and no input is pending, the receive buffer
    /// gives its memory back, so an idle connection holds none. `now` is read only when the
    /// lease holds bytes: a reader polled before its data arrives may hand back an empty lease
    /// with any earlier instant instead of reading the clock.
    #[inline]
    pub fn handle_lease(&mut self, lease: ReadLease, now: Instant) -> Result<(), InputError> {
        if lease.owner != self.number || !self.leased {
            return Err(InputError::UnknownLease);
        }
        self.leased = false;
        let read = lease.buf.len();
        self.read_size.record(read, lease.room);
        self.read_was_empty = read == 0;
        if !self.accepts_input() {
            // The connection ended, or the server's Close arrived, while the lease was out.
            return Ok(());
        }
        if self.rx.is_empty() {
            self.rx = lease.buf;
        } else {
            // Joins without a copy: the room is the buffer's own tail.
            self.rx.unsplit(lease.buf);
        }
        if read == 0 {
            self.release_idle_rx();
        } else {
            self.stats.bytes_received += read as u64;
            self.received(now);
        }
        Ok(())
    }

    /// Input other than the lease's is refused while one is out: its bytes were read first.
    fn check_no_lease(&self) -> Result<(), InputError> {
        if self.leased {
            return Err(InputError::LeaseOutstanding);
        }
        Ok(())
    }

    /// Whether input is taken. §1.4: after the server's Close, "the other peer ... [does not]
    /// send any more data"; whatever follows is discarded, as is anything after the end.
    fn accepts_input(&self) -> bool {
        !matches!(self.phase, Phase::Closed)
            && !self.closing.is_received()
            && !self.closing.is_eof()
    }

    /// New input is in `rx`.
    fn received(&mut self, now: Instant) {
        // Anything from the server proves it alive.
        self.timers.stop(Timer::Pong);
        self.pong_owed = false;
        self.input_at = now;
        self.read_handshake(now);
    }

    /// Gives back a large, empty receive buffer, so an idle connection holds little.
    #[inline]
    fn release_idle_rx(&mut self) {
        if self.rx.is_empty() && self.rx.capacity() > KEEP_RX_CAPACITY {
            self.rx = BytesMut::new();
        }
    }

    /// The transport's read side ended.
    ///
    /// After the closing handshake this completes a clean close; otherwise the connection ended
    /// abnormally (1006). A transport that failed (a reset, a TLS error) ended too: report it
    /// here, and the input before it is still decoded first. Refused while a [`ReadLease`] is out.
    pub fn handle_eof(&mut self) -> Result<(), InputError> {
        self.check_no_lease()?;
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
            Phase::Open => self.closing.set_eof(),
        }
        Ok(())
    }

    /// The HTTP/2 stream carrying the connection was reset (RST_STREAM) or its connection went
    /// away (GOAWAY): the end of the stream, as [`handle_eof`](Self::handle_eof), reported as
    /// [`Error::StreamReset`] with the HTTP/2 error code unless the closing handshake had
    /// completed (then the close is clean, as with END_STREAM). Input before it is still
    /// decoded first. Refused while a [`ReadLease`] is out.
    pub fn handle_stream_reset(&mut self, reset: StreamReset) -> Result<(), InputError> {
        self.check_no_lease()?;
        self.reset.get_or_insert(reset);
        match &self.phase {
            Phase::Connecting => {
                let error = Error::StreamReset(reset);
                self.finish(CloseCode::ABNORMAL, error.to_string(), false, Some(error));
            }
            _ => self.handle_eof()?,
        }
        Ok(())
    }

    /// The response to the extended CONNECT of a connection made with
    /// [`new_extended_connect`](Self::new_extended_connect): its status and headers (names in
    /// any case). RFC 8441 §5: a 2xx accepts, and the headers are then held to the same rules
    /// as a 101's (only an offered subprotocol, only offered extensions, permessage-deflate's
    /// parameters negotiated identically); the connection opens ([`Event::Open`]) and frames
    /// flow. Any other status is a [`Rejection`](crate::Rejection) whose body is the stream's
    /// DATA up to its end ([`Config::max_rejection_body`]), reported when the stream ends.
    ///
    /// A response to a connection that already ended (its handshake timed out) is ignored;
    /// one to a connection that expects none is refused.
    pub fn handle_connect_response(
        &mut self,
        status: u16,
        headers: Headers,
        now: Instant,
    ) -> Result<(), InputError> {
        self.check_no_lease()?;
        match self.phase {
            Phase::Closed => return Ok(()),
            Phase::Connecting if self.reader.is_none() => {}
            _ => return Err(InputError::UnexpectedConnectResponse),
        }
        match check_connect_response(status, headers, &self.request, &self.config) {
            Ok(Parsed::Accepted(response)) => self.open(response, now),
            Ok(Parsed::Rejected(pending)) => {
                self.phase = Phase::Rejecting(pending);
                // The body may be empty (Content-Length: 0), or be in already.
                self.read_handshake(now);
            }
            Ok(Parsed::Partial) => {}
            Err(e) => self.handshake_failed(e),
        }
        Ok(())
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
                    if matches!(self.phase, Phase::Open) && !self.closing.is_started() {
                        self.sender.frame(OpCode::Ping, &[]);
                        self.pings.sent(&[], now);
                        if self.recv_paused {
                            self.pong_owed = true;
                        } else if !self.timers.is_set(Timer::Pong) {
                            self.timers.set(Timer::Pong, now + self.config.pong_timeout);
                        }
                        if let Some(interval) = self.config.ping_interval {
                            self.timers.set(Timer::Ping, now + interval);
                        }
                    }
                }
                Timer::Pong => self.time_out(Timeout::Pong),
                Timer::Close => match self.closing.take_received() {
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
    /// becomes the [`body`](Transmit::body) of a transmit, after its header: it is not copied.
    /// Any other payload is copied, as by `send_text` and `send_binary`.
    #[inline]
    pub fn send_message(&mut self, message: Message) -> Result<(), SendError> {
        let limit = self.accept_send()?;
        self.check_no_stream()?;
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.into_bytes()),
            Message::Binary(data) => (OpCode::Binary, data),
        };
        self.count_sent(payload.len());
        self.sender.message_owned(opcode, payload);
        self.sender.check_full(limit);
        Ok(())
    }

    /// Sends `data` as the configured default type ([`Config::default_message_type`],
    /// Workerman's `websocketType`). With text, the default, `data` must be UTF-8: bytes are
    /// never turned into text by a method that does not say so in its name.
    pub fn send_default_type(&mut self, data: &[u8]) -> Result<(), SendError> {
        match self.config.default_message_type {
            MessageType::Text => {
                std::str::from_utf8(data).map_err(|_| SendError::InvalidUtf8)?;
                self.send_frame(OpCode::Text, data)
            }
            MessageType::Binary => self.send_frame(OpCode::Binary, data),
        }
    }

    /// Starts a message sent in parts, of any size: [`send_message_chunk`](Self::send_message_chunk)
    /// sends each part as it comes (each becomes a fragment, or with compression whatever
    /// DEFLATE produced from it), and [`send_message_end`](Self::send_message_end) ends it.
    /// Pings and a Close may go out between parts; another message may not start until this one
    /// ends ([`SendError::MessageInProgress`]). Refused while the buffer is full, as any send.
    ///
    /// A text message's parts may cut a code point anywhere, but each must continue valid
    /// UTF-8: a part that cannot is refused ([`SendError::InvalidUtf8`]) and nothing of it is
    /// sent, and the start of a code point at a part's end is held back until the next part
    /// completes it.
    pub fn send_message_start(&mut self, kind: MessageType) -> Result<(), SendError> {
        self.accept_send()?;
        let opcode = match kind {
            MessageType::Text => OpCode::Text,
            MessageType::Binary => OpCode::Binary,
        };
        self.sender.start_stream(opcode)
    }

    /// Sends the next part of the message started with
    /// [`send_message_start`](Self::send_message_start); an empty part sends nothing. Refused
    /// while the buffer is full, as any send, and changes nothing then.
    pub fn send_message_chunk(&mut self, data: &[u8]) -> Result<(), SendError> {
        let limit = self.accept_send()?;
        self.sender.stream_part(data)?;
        self.stats.payload_sent += data.len() as u64;
        self.sender.check_full(limit);
        Ok(())
    }

    /// Ends the message started with [`send_message_start`](Self::send_message_start) with its
    /// final frame. Never refused for a full buffer (it adds a few bytes); refused with
    /// [`SendError::InvalidUtf8`] when a text message would end inside a code point, and the
    /// message stays open.
    pub fn send_message_end(&mut self) -> Result<(), SendError> {
        match self.check_send() {
            Ok(()) | Err(SendError::BufferFull { .. }) => {}
            Err(e) => return Err(e),
        }
        self.sender.end_stream()?;
        self.stats.messages_sent += 1;
        self.sender.check_full(self.config.send_high_water_mark);
        Ok(())
    }

    /// Whether a message is being sent in parts.
    pub fn is_sending_message(&self) -> bool {
        self.sender.is_streaming()
    }

    /// Sends a ping with up to 125 bytes of payload at `now`; the pong that answers it carries
    /// the round trip ([`Pong::rtt`](crate::Pong::rtt)).
    pub fn send_ping(&mut self, payload: &[u8], now: Instant) -> Result<(), SendError> {
        self.send_untimed_ping(payload)?;
        self.pings.sent(payload, now);
        Ok(())
    }

    /// A ping whose round trip nobody asks for: the outbox's acknowledgement requests, whose
    /// pongs the user never sees.
    pub(crate) fn send_untimed_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        self.send_frame(OpCode::Ping, payload)
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123 bytes).
    ///
    /// The client then waits for the server's Close and for the end of the stream, bounded by
    /// [`Config::close_timeout`]. Before the handshake completes, the close is sent right after
    /// the queued messages. Closing is never refused for a full buffer, and closing a connection
    /// that is already closing or closed is a no-op, so `close` is safe to call twice.
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        match self.phase {
            Phase::Closed => {}
            _ if self.closing.is_started() => {}
            Phase::Connecting | Phase::Rejecting(_) => self.closing.request(code, reason),
            Phase::Open => self.send_close(code, reason, now),
        }
        Ok(())
    }

    /// Stops taking messages from the server, as Workerman's `pauseRecv()`: once open,
    /// [`is_recv_paused`](Self::is_recv_paused) tells the adapter to stop reading the
    /// transport, so TCP pushes back on the server, and input already received is not decoded
    /// (no message, ping or pong event) until [`resume_recv`](Self::resume_recv). Sends, pongs
    /// already due and keepalive pings still go out; the pong timeout waits, since a server
    /// whose answer is not read cannot be judged silent, and runs again from the resume.
    ///
    /// Reading comes back by itself when a close starts (the client's or a timeout's): the
    /// closing handshake needs the server's Close. A server's Close that arrives while paused
    /// is seen after the resume, as any other frame.
    pub fn pause_recv(&mut self) {
        self.recv_paused = true;
        if self.timers.is_set(Timer::Pong) {
            self.timers.stop(Timer::Pong);
            self.pong_owed = true;
        }
    }

    /// Streams messages that do not fit in one chunk, or stops streaming them; see
    /// [`Config::recv_streaming`]. Takes effect from the next message whose first frame is
    /// decoded (frames are decoded as events are polled, so set it before polling for the
    /// message it should apply to); a message already started goes on as it began.
    pub fn set_recv_streaming(&mut self, on: bool) {
        self.receiver.set_streaming(on);
    }

    /// Takes messages again after [`pause_recv`](Self::pause_recv); a keepalive ping left
    /// unanswered meanwhile gets its full pong timeout from `now`. Harmless when not paused.
    pub fn resume_recv(&mut self, now: Instant) {
        self.recv_paused = false;
        if std::mem::take(&mut self.pong_owed) && self.is_open() {
            self.timers.set(Timer::Pong, now + self.config.pong_timeout);
        }
    }

    // ---- polls ----

    /// The next output: bytes to write first, then events (decoding frames as needed), and
    /// once there is nothing else, the deadline. Call it until it returns [`Output::Timeout`].
    #[inline]
    pub fn poll_output(&mut self) -> Output {
        if let Some(transmit) = self.poll_transmit() {
            return Output::Transmit(transmit);
        }
        if let Some(event) = self.poll_event() {
            return Output::Event(event);
        }
        // Decoding can queue bytes without an event (the answer to a Close).
        match self.poll_transmit() {
            Some(transmit) => Output::Transmit(transmit),
            None => Output::Timeout(self.timers.next()),
        }
    }

    /// Only the bytes [`poll_output`](Self::poll_output) would yield next: for a writer that
    /// runs apart from the reader (another thread, or the sending half of a split socket). It
    /// decodes nothing; frames sent one after another come out together, as one transmit.
    #[must_use]
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        // Adapters ask after every event and before every read: most often nothing is ready.
        if self.sender.is_empty() {
            return None;
        }
        let (transmit, drained) = self.sender.take(self.config.send_high_water_mark);
        if let Some(transmit) = &transmit {
            self.count_written(transmit.len(), drained);
        }
        transmit
    }

    /// The bytes [`poll_transmit`](Self::poll_transmit) would hand out next, left where they
    /// are: encoded frames, and the uncopied payload that follows them (see
    /// [`Transmit`]), either possibly empty; `None` when nothing waits. For a writer that owns
    /// the state while it writes (one task driving the connection): it writes from the
    /// connection's own buffer and reports what the transport took with
    /// [`advance_transmit`](Self::advance_transmit), so no `Transmit` is split off, counted and
    /// dropped per write. A writer that writes apart from the state (another thread, with the
    /// state's lock released) takes a [`Transmit`] with `poll_transmit` instead; the two mix
    /// freely, and the bytes come out the same.
    #[must_use]
    #[inline]
    pub fn peek_transmit(&self) -> Option<(&[u8], &[u8])> {
        if self.sender.is_empty() {
            return None;
        }
        Some(self.sender.peek())
    }

    /// Marks the first `n` bytes [`peek_transmit`](Self::peek_transmit) showed as written (the
    /// head's first, then the body's). The buffered amount falls by `n`, and `Drained` follows
    /// when it falls below the high-water mark after having reached it.
    ///
    /// # Panics
    ///
    /// If `n` is more than `peek_transmit` showed, as [`Buf::advance`](bytes::Buf::advance)
    /// does: the transport cannot have written bytes it was not given.
    #[inline]
    pub fn advance_transmit(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let drained = self.sender.advance(n, self.config.send_high_water_mark);
        self.count_written(n, drained);
    }

    /// After `n` bytes left for the transport; `drained`: the send buffer fell below its
    /// high-water mark after having reached it.
    #[inline]
    fn count_written(&mut self, n: usize, drained: bool) {
        self.stats.bytes_sent += n as u64;
        if drained && !matches!(self.phase, Phase::Closed) {
            self.events.push_back(Event::Drained);
        }
    }

    /// Only the next event [`poll_output`](Self::poll_output) would yield, leaving bytes queued:
    /// for a reader whose transport cannot take bytes right now (its write would block). Bytes
    /// that decoding queues (a pong, the answer to a Close) wait for the next `poll_output` or
    /// `poll_transmit`.
    ///
    /// A Close from the server, or a violation that fails the connection, takes effect when the
    /// events received before it have been polled: messages sent in answer to those go out
    /// before the client's Close frame.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        if !self.events.is_empty() {
            return self.pop_event();
        }
        // While receiving is paused, what was received waits too.
        if self.is_recv_paused() {
            return None;
        }
        // Nothing to decode, the common case between reads (and of every poll a busy runtime
        // makes before the data is in): the decoders are skipped, without a call.
        if self.is_input_idle() {
            self.release_idle_rx();
            return None;
        }
        self.decode_next()
    }

    /// Whether nothing received waits to be decoded and the transport has not ended.
    #[inline]
    fn is_input_idle(&self) -> bool {
        !self.receiver.has_ready() && self.rx.is_empty() && !self.closing.is_eof()
    }

    /// The oldest queued event.
    fn pop_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        // Its events (`Open`, `Drained`, `Closed`) are few: the emptied queue gives its memory
        // back, so an idle connection holds none.
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
        event
    }

    /// The next event decoded from what was received.
    fn decode_next(&mut self) -> Option<Event> {
        let event = self.decode_event();
        if event.is_some() {
            self.release_after_last();
        }
        event
    }

    /// The next event if it is a whole data message that can be read where it was received:
    /// the message is lent to `read`, and `read`'s result returned. `None` when the next event
    /// is anything else, or there is none: [`poll_event`](Self::poll_event) (or
    /// [`poll_output`](Self::poll_output)) gives it, a message among them.
    ///
    /// Small messages (unfragmented, uncompressed, with a length under 64 KiB) come this way
    /// once a read has brought several: no reference count is taken on the receive buffer and
    /// no owned [`Message`] is moved, which is most of a small message's cost. A loop that
    /// offers each event to `poll_message_with` first and takes what it declines from
    /// `poll_event` sees the messages `poll_event` alone would give, in the same order, each
    /// once:
    ///
    /// ```
    /// # use ws_proto::{ClientState, Event, MessageRef};
    /// fn read_all(state: &mut ClientState, total: &mut usize) {
    ///     loop {
    ///         if state.poll_message_with(|m: MessageRef<'_>| *total += m.len()).is_some() {
    ///             continue;
    ///         }
    ///         match state.poll_event() {
    ///             Some(Event::Message(m)) => *total += m.len(),
    ///             Some(_other) => {}
    ///             None => break,
    ///         }
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn poll_message_with<R>(&mut self, read: impl FnOnce(MessageRef<'_>) -> R) -> Option<R> {
        if !self.whole_message_is_next() {
            return None;
        }
        let (result, kind, len) = self.receiver.lend_message(&mut self.rx, read)?;
        self.count_received(kind, len);
        self.release_after_last();
        Some(result)
    }

    /// [`poll_message_with`](Self::poll_message_with)'s message owned: the next event if it is a
    /// whole data message as that lends, `None` otherwise, with nothing else decoded. For an
    /// adapter that takes the messages decoded together in one step: a Close behind them takes
    /// effect only when [`poll_event`](Self::poll_event) decodes it, after the reader has seen
    /// (and perhaps answered) the messages before it, as it would one event at a time.
    #[inline]
    pub fn poll_message(&mut self) -> Option<Message> {
        if !self.whole_message_is_next() {
            return None;
        }
        let message = self.take_whole_message()?;
        self.release_after_last();
        Some(message)
    }

    /// A small whole message at the front of the input, counted as received.
    #[inline]
    fn take_whole_message(&mut self) -> Option<Message> {
        let message = self.receiver.whole_message(&mut self.rx)?;
        self.count_received(message.message_type(), message.len());
        Some(message)
    }

    /// Whether a whole message at the front of the input would be what `poll_event` gives
    /// next: no event is queued before it, the connection is open and receiving not paused.
    #[inline]
    fn whole_message_is_next(&self) -> bool {
        self.events.is_empty() && matches!(self.phase, Phase::Open) && !self.is_recv_paused()
    }

    /// After an event decoded from the last of what was received: an inflate stream kept for a
    /// burst and a large receive buffer go now, as the next poll may be long in coming.
    #[inline]
    fn release_after_last(&mut self) {
        if self.rx.is_empty() && !self.receiver.has_ready() {
            self.receiver.release_idle();
            self.release_idle_rx();
        }
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
            Phase::Open if self.closing.is_started() => ReadyState::Closing,
            Phase::Open => ReadyState::Open,
            Phase::Closed => ReadyState::Closed,
        }
    }

    /// Whether the handshake completed and no Close frame has been sent or received.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open) && !self.closing.is_started()
    }

    /// Whether the adapter should stop reading the transport: receiving was paused
    /// ([`pause_recv`](Self::pause_recv)) and the connection is open (the handshake is read
    /// regardless, and so is everything once a close starts).
    pub fn is_recv_paused(&self) -> bool {
        self.recv_paused && self.is_open()
    }

    /// Whether [`Event::Closed`] has been emitted.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Bytes accepted by sends but not yet handed out as transmits, queued messages
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
        self.check_send().is_ok()
    }

    /// What a send would meet now: `Ok` if it would be accepted;
    /// [`SendError::BufferFull`] if it must wait for the buffer to drain (an adapter waits for
    /// [`Event::Drained`], or for its writes to take the buffered bytes); [`SendError::Closing`]
    /// or [`SendError::Closed`] if it is refused for good. The same rule the send methods apply.
    pub fn check_send(&self) -> Result<(), SendError> {
        if matches!(self.phase, Phase::Closed) {
            return Err(SendError::Closed);
        }
        if self.closing.is_started() {
            return Err(SendError::Closing);
        }
        let limit = self.config.send_high_water_mark;
        if self.buffered_amount() >= limit {
            return Err(SendError::BufferFull {
                buffered: self.buffered_amount(),
                limit,
            });
        }
        Ok(())
    }

    /// The round-trip time of the last ping answered, a keepalive one
    /// ([`Config::ping_interval`]) or [`send_ping`](Self::send_ping)'s, as Python websockets'
    /// `latency`: from the ping's send to the read that brought its pong. `None` until one is
    /// answered. Each answer's own is in its [`Event::Pong`].
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// What went through the connection so far: messages and payload bytes each way, and the
    /// bytes read and written (with compression, the two differ).
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The subprotocol the server chose, once open.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extended CONNECT (RFC 8441) that opens this connection on an HTTP/2 stream: its
    /// pseudo-header fields and headers, built from the [`Request`] and the [`Config`] (the
    /// same Origin, subprotocols, extension offers and user headers as the HTTP/1.1 request).
    /// For a connection made with [`new_extended_connect`](Self::new_extended_connect).
    pub fn extended_connect(&self) -> ExtendedConnect {
        self.request
            .extended_connect(&self.config.extension_offers())
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
                    // An extended CONNECT's response is not in the stream: the input waits for
                    // `handle_connect_response`.
                    let Some(reader) = &mut self.reader else {
                        return;
                    };
                    match reader.read(&mut self.rx, &self.request, &self.config) {
                        Ok(Parsed::Partial) => return,
                        Ok(Parsed::Accepted(response)) => self.open(response, now),
                        Ok(Parsed::Rejected(pending)) => self.phase = Phase::Rejecting(pending),
                        Err(e) => return self.handshake_failed(e),
                    }
                }
                Phase::Rejecting(pending) => {
                    if pending.read(&mut self.rx) {
                        self.reject();
                    }
                    return;
                }
                Phase::Open | Phase::Closed => return,
            }
        }
    }

    fn open(&mut self, response: Response, now: Instant) {
        self.phase = Phase::Open;
        self.timers.stop(Timer::Handshake);
        // Its work is done; the key it expected need not be held for the connection's life.
        self.reader = None;
        // So is the buffer the response was read into, unless frames followed it: a
        // connection that opens and idles holds none.
        if self.rx.is_empty() {
            self.rx = BytesMut::new();
        }
        if let Some(interval) = self.config.ping_interval {
            self.timers.set(Timer::Ping, now + interval);
        }
        self.subprotocol = response.subprotocol().map(str::to_owned);
        #[cfg(feature = "deflate")]
        if let Some(agreed) = &response.deflate {
            self.receiver.enable_deflate(agreed);
            self.sender.enable_deflate(agreed);
        }
        event!(
            debug,
            conn = self.number,
            status = response.status(),
            subprotocol = response.subprotocol(),
            extensions = ?response.extensions(),
            "handshake accepted"
        );
        // Messages sent before the handshake go first, before anything sent from now on.
        self.sender.release_queue();
        self.events.push_back(Event::Open(Box::new(response)));
        if let Some((code, reason)) = self.closing.take_requested() {
            self.send_close(code, &reason, now);
        }
    }

    /// The next event decoded from the input, if any.
    #[inline]
    fn decode_event(&mut self) -> Option<Event> {
        // Most events are small whole messages: decoded here without the general path.
        if matches!(self.phase, Phase::Open) {
            if let Some(message) = self.take_whole_message() {
                return Some(Event::Message(message));
            }
        }
        if matches!(self.phase, Phase::Open) {
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

    #[inline]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn count_received(&mut self, kind: MessageType, len: usize) {
        event!(trace, conn = self.number, ?kind, len, "message received");
        self.stats.messages_received += 1;
        self.stats.payload_received += len as u64;
    }

    /// Decodes frames until one makes an event, the input runs out, or the connection ends.
    fn read_frame(&mut self) -> Option<Event> {
        while !self.closing.is_received() {
            match self.receiver.poll(&mut self.rx) {
                Ok(Some(Received::Message(message))) => {
                    self.count_received(message.message_type(), message.len());
                    return Some(Event::Message(message));
                }
                Ok(Some(Received::Ping(payload))) => {
                    // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
                    // in response, unless it already received a Close frame." Nothing may
                    // follow our own Close either.
                    if !self.closing.is_sent() {
                        self.sender.frame(OpCode::Pong, &payload);
                    }
                    return Some(Event::Ping(payload));
                }
                Ok(Some(Received::Pong(payload))) => {
                    let rtt = self.pings.answered(&payload, self.input_at);
                    self.rtt = rtt.or(self.rtt);
                    event!(trace, conn = self.number, ?rtt, "pong received");
                    return Some(Event::Pong(Pong { payload, rtt }));
                }
                Ok(Some(Received::Start(kind))) => return Some(Event::MessageStart(kind)),
                Ok(Some(Received::Data(data))) => {
                    self.stats.payload_received += data.len() as u64;
                    return Some(Event::MessageData(data));
                }
                Ok(Some(Received::End)) => {
                    self.stats.messages_received += 1;
                    return Some(Event::MessageEnd);
                }
                Ok(Some(Received::Close(body))) => self.on_close(body),
                Ok(None) => break,
                Err(e) => {
                    self.fail(e);
                    return None;
                }
            }
        }
        if self.closing.take_eof() {
            self.end_of_stream();
        } else {
            self.release_idle_rx();
        }
        None
    }

    /// The transport's end, once everything before it was decoded: a clean close after the
    /// closing handshake, else an abnormal end (1006).
    fn end_of_stream(&mut self) {
        match self.closing.take_received() {
            Some((code, reason)) => self.finish(code, reason, true, None),
            None => {
                let error = self.reset.map_or(Error::UnexpectedEof, Error::StreamReset);
                self.finish(CloseCode::ABNORMAL, error.to_string(), false, Some(error))
            }
        }
    }

    fn handshake_failed(&mut self, e: HandshakeError) {
        event!(warn, conn = self.number, error = %e, "handshake failed");
        self.finish(
            CloseCode::ABNORMAL,
            e.to_string(),
            false,
            Some(Error::Handshake(e)),
        );
    }

    fn on_close(&mut self, body: Option<(CloseCode, String)>) {
        let now = self.input_at;
        let (code, reason) = body.unwrap_or((CloseCode::NO_STATUS, String::new()));
        event!(
            debug,
            conn = self.number,
            code = code.as_u16(),
            reason,
            "close received"
        );
        if self.closing.received(code, reason) {
            // "(When sending a Close frame in response, the endpoint typically echos the status
            // code it received.)" A Close without a code is answered without one.
            let echo = (code != CloseCode::NO_STATUS).then(|| code.as_u16().to_be_bytes());
            self.sender
                .frame(OpCode::Close, echo.as_ref().map_or(&[][..], |c| &c[..]));
            self.timers.stop(Timer::Ping);
            self.timers
                .set(Timer::Close, now + self.config.close_timeout);
        }
        // Either way the server's end of stream should follow: §7.1.1, "the client SHOULD wait
        // for the server to close the connection".
        self.timers.stop(Timer::Pong);
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
            self.check_no_stream()?;
            event!(
                trace,
                conn = self.number,
                len = payload.len(),
                "message sent"
            );
            self.count_sent(payload.len());
            self.sender.message(opcode, payload);
        }
        self.sender.check_full(limit);
        Ok(())
    }

    #[inline]
    fn count_sent(&mut self, len: usize) {
        self.stats.messages_sent += 1;
        self.stats.payload_sent += len as u64;
    }

    /// §5.4: "the fragments of one message MUST NOT be interleaved between the fragments of
    /// another": no message may start while one is sent in parts.
    #[inline]
    fn check_no_stream(&self) -> Result<(), SendError> {
        if self.sender.is_streaming() {
            return Err(SendError::MessageInProgress);
        }
        Ok(())
    }

    /// Whether a send may go ahead ([`check_send`](Self::check_send)). Returns the mark, and
    /// remembers a full buffer so its drain is signalled.
    fn accept_send(&mut self) -> Result<usize, SendError> {
        let limit = self.config.send_high_water_mark;
        match self.check_send() {
            Err(e @ SendError::BufferFull { .. }) => {
                self.sender.check_full(limit);
                Err(e)
            }
            Err(e) => Err(e),
            Ok(()) => Ok(limit),
        }
    }

    fn send_close(&mut self, code: CloseCode, reason: &str, now: Instant) {
        event!(
            debug,
            conn = self.number,
            code = code.as_u16(),
            reason,
            "close sent"
        );
        self.sender.frame(OpCode::Close, &close_body(code, reason));
        self.closing.sent();
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
        event!(warn, conn = self.number, %error, code = code.as_u16(), "protocol violation");
        if !self.closing.is_sent() {
            self.sender
                .frame(OpCode::Close, &close_body(code, truncate_reason(&reason)));
            self.closing.sent();
        }
        self.finish(code, reason, false, Some(Error::Protocol(error)));
    }

    fn time_out(&mut self, which: Timeout) {
        event!(warn, conn = self.number, timeout = %which, "timed out");
        self.finish(
            CloseCode::ABNORMAL,
            which.to_string(),
            false,
            Some(Error::Timeout(which)),
        );
    }

    fn reject(&mut self) {
        if let Phase::Rejecting(pending) = std::mem::replace(&mut self.phase, Phase::Closed) {
            let rejection = pending.finish();
            event!(
                info,
                conn = self.number,
                status = rejection.status(),
                location = rejection.location(),
                "handshake rejected"
            );
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
        event!(
            debug,
            conn = self.number,
            code = code.as_u16(),
            reason,
            clean,
            "closed"
        );
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.rx = BytesMut::new();
        self.receiver.clear();
        let closed = Closed {
            code,
            reason,
            clean,
            error,
        };
        self.events.push_back(Event::Closed(Box::new(closed)));
    }
}
