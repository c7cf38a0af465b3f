//! [`WebSocket`]: a connection driven by blocking reads and writes, shareable across threads.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Buf;
use ws_proto::{
    ClientState, CloseCode, Event as CoreEvent, Message, MessageRef, ReadSize, ReadyState,
    Response, SendError, Transmit,
};

use crate::tls::Tls;
use crate::transport::Transport;
use crate::{Error, Event};

/// An open (or opening) WebSocket connection.
///
/// Cloning is cheap and gives another handle to the same connection, so one thread can
/// [`read`](Self::read) while others send: every method takes `&self`. The transport is shut down
/// when the connection ends, and released when the last handle is dropped.
///
/// Timers (keepalive pings, the pong, handshake and close timeouts) run while a thread is
/// blocked in [`read`](Self::read) or [`read_event`](Self::read_event): the connection makes
/// progress on input only while some thread reads.
#[derive(Clone, Debug)]
pub struct WebSocket {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    transport: Box<dyn TransportDebug>,
    state: Mutex<State>,
    /// Signalled when a writer stops, for senders waiting for room (`State::waiting`).
    written: Condvar,
    /// Signalled when receiving resumes (or a close starts), for a reader that stopped reading.
    resumed: Condvar,
    /// Set by `pause_recv` and cleared by `resume_recv`, both under the lock: an `Ahead` hands
    /// out messages without the lock, and looks here first (the core's own flag is the truth).
    pause_hint: AtomicBool,
    /// Held by the one thread reading; the raw read buffer and the read timeout last set.
    reader: Mutex<ReadSide>,
    /// The longest a read blocks between looks at the core's deadline (see the crate docs).
    max_block: Duration,
}

/// `Transport` plus `Debug`, so `Shared` can derive it.
trait TransportDebug: Transport {}
impl<T: Transport> TransportDebug for T {}

impl std::fmt::Debug for dyn TransportDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

#[derive(Debug)]
struct ReadSide {
    /// Ciphertext read for TLS, sized by the core's read-size policy; plain connections read
    /// into the core's own buffer instead.
    buf: Vec<u8>,
    size: ReadSize,
    timeout: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct State {
    core: ClientState,
    tls: Option<Tls>,
    /// A thread is writing: it takes every chunk in order until none is left, so chunks are
    /// never reordered and no thread waits on a lock while another is blocked in a write.
    writing: bool,
    /// Senders waiting on `written` for the writer to make room.
    waiting: usize,
    /// A transport or TLS failure: reported in place of the core's abnormal end.
    failure: Option<Error>,
    /// An event `next_message` took that was not a message, for `next_event`.
    held: Option<CoreEvent>,
    /// Messages taken ahead (`events::Ahead`) and given back unread, by a dropped
    /// [`Events`](crate::Events) iterator or for a pause: they come before `held` and
    /// anything the core still holds.
    unread: VecDeque<Message>,
    /// The end (`Closed`, or the failure) was returned: later reads say `AlreadyClosed`.
    reported: bool,
    /// The transport was shut down.
    shut: bool,
}

impl State {
    /// The next item for `read_event`, one core event at a time, so that a Close the core holds
    /// behind earlier events takes effect only after the reader has seen (and perhaps answered)
    /// them. The end is `Closed`, or the transport's failure in its place.
    /// `Ok(None)` is the core's `Drained`, which only the event client reports.
    fn next_event(&mut self) -> Option<Result<Option<Event>, Error>> {
        let event = if self.core.is_recv_paused() {
            // A paused core decodes nothing until the resume (`ClientState::pause_recv`) and
            // gives only the events it queued itself (`Drained`, which the event client's
            // sends wait for): what was received before the pause and set aside here waits
            // as well, all but such an event.
            match self.held.take_if(|e| matches!(e, CoreEvent::Drained)) {
                Some(drained) => drained,
                None => self.core.poll_event()?,
            }
        } else {
            if let Some(message) = self.unread.pop_front() {
                return Some(Ok(Some(Event::Message(message))));
            }
            if self.reported {
                return None;
            }
            self.held.take().or_else(|| self.core.poll_event())?
        };
        if let CoreEvent::Closed(_) = &event {
            self.reported = true;
        }
        let failure = if self.reported {
            self.failure.take()
        } else {
            None
        };
        Some(Event::from_event(event, failure).transpose())
    }

    /// A data message the core has decoded, taken directly: unlike other events, it needs no
    /// bookkeeping and no write (decoding one queues no bytes). Another event is held for
    /// `next_event`. Called when none is held and the end is not reported.
    fn next_message(&mut self) -> Option<Message> {
        match self.core.poll_event()? {
            CoreEvent::Message(message) => Some(message),
            event => {
                self.held = Some(event);
                None
            }
        }
    }

    /// Whether what the core has decoded is next in line: no event is held for `next_event`,
    /// no message was given back, and the end is not reported.
    fn decoded_is_next(&self) -> bool {
        self.held.is_none() && self.unread.is_empty() && !self.reported
    }

    /// Moves the next data messages, up to `ahead`'s room of [`AHEAD`], into `ahead`: those
    /// given back first, then whole ones at the front of the input, stopping before anything
    /// else, which stays undecoded (`ClientState::poll_message`): a Close behind them takes
    /// effect only once the reader has seen them, as when read one at a time.
    fn take_ahead(&mut self, ahead: &mut VecDeque<Message>) {
        while ahead.len() < AHEAD {
            match self.unread.pop_front() {
                Some(message) => ahead.push_back(message),
                None => break,
            }
        }
        while ahead.len() < AHEAD && self.decoded_is_next() {
            match self.core.poll_message() {
                Some(message) => ahead.push_back(message),
                None => break,
            }
        }
    }

    /// Puts messages taken ahead back in front of everything else, in order.
    fn give_back(&mut self, ahead: &mut VecDeque<Message>) {
        while let Some(message) = ahead.pop_back() {
            self.unread.push_front(message);
        }
    }

    /// Records a transport or TLS failure, reported in place of the core's abnormal end; the
    /// transport will be shut down. What arrived before it is still delivered, first.
    fn fail(&mut self, error: Error) {
        self.failure.get_or_insert(error);
        // Refused only while the reader has a lease out (a write failed meanwhile): the
        // transport is shut down next, so that read returns and the reader reports the end.
        let _ = self.core.handle_eof();
    }

    /// The next bytes to write, if any.
    fn next_transmit(&mut self) -> Option<Outgoing> {
        match &mut self.tls {
            None => self.core.poll_transmit().map(Outgoing::Plain),
            Some(tls) => tls
                .transmit(&mut self.core)
                .or_else(|| {
                    // After the core's last bytes (a final Close frame), and only once: rustls
                    // queues close_notify a single time.
                    self.core.is_closed().then(|| tls.close())?;
                    tls.transmit(&mut self.core)
                })
                .map(Outgoing::Tls),
        }
    }
}

/// The most data messages taken ahead (`events::Ahead`) under one lock.
const AHEAD: usize = 64;

/// Where a reader of data messages takes the next one from.
enum Taken<'a> {
    /// What the core has decoded, when it is next in line (`State::decoded_is_next`).
    Decoded(&'a mut State),
    /// A message `read_events` returned.
    Read(Message),
}

/// Bytes for the transport: the core's own, or TLS records.
enum Outgoing {
    Plain(Transmit),
    Tls(Vec<u8>),
}

impl Outgoing {
    /// Writes all of it: a frame's header and its uncopied payload in one gathering write.
    fn write_to(&self, transport: &dyn TransportDebug) -> io::Result<()> {
        match self {
            Outgoing::Plain(transmit) => {
                let mut slices = [IoSlice::new(&[]); 2];
                let n = transmit.chunks_vectored(&mut slices);
                transport.write_all_vectored(&mut slices[..n])
            }
            Outgoing::Tls(records) => transport.write_all(records),
        }
    }
}

impl WebSocket {
    pub(crate) fn new(
        transport: impl Transport,
        core: ClientState,
        tls: Option<Tls>,
    ) -> Result<WebSocket, Error> {
        let max_block = core
            .config()
            .get_close_timeout()
            .max(Duration::from_millis(1));
        let ws = WebSocket {
            shared: Arc::new(Shared {
                transport: Box::new(transport),
                written: Condvar::new(),
                resumed: Condvar::new(),
                pause_hint: AtomicBool::new(false),
                state: Mutex::new(State {
                    core,
                    tls,
                    writing: false,
                    waiting: 0,
                    failure: None,
                    held: None,
                    unread: VecDeque::new(),
                    reported: false,
                    shut: false,
                }),
                reader: Mutex::new(ReadSide {
                    buf: Vec::new(),
                    size: ReadSize::default(),
                    timeout: None,
                }),
                max_block,
            }),
        };
        // The handshake request (and, for wss, the TLS ClientHello) goes out now.
        ws.write_out(ws.lock())?;
        Ok(ws)
    }

    /// Reads until the server accepts the handshake.
    pub(crate) fn wait_open(&self) -> Result<Response, Error> {
        loop {
            match self.read_events(false)? {
                Event::Open(response) => return Ok(*response),
                Event::Close(frame) => return Err(frame.into()),
                // The core emits nothing else before `Open`.
                _ => {}
            }
        }
    }

    // ---- commands ----

    /// Sends `message` and writes it out. A payload of 64 KiB or more that nothing else shares
    /// (built in a `Vec`, say) is masked where it lies and written from there, with no copy.
    ///
    /// Waits as [`feed`](Self::feed) does when the send buffer is full. Before the handshake
    /// completes the message is queued; if another thread is writing, that thread writes it.
    pub fn send(&self, message: Message) -> Result<(), Error> {
        self.send_with(|core| core.send_message(message))
    }

    /// Sends a text message; see [`send`](Self::send).
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send_with(|core| core.send_text(text))
    }

    /// Sends a binary message; see [`send`](Self::send).
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|core| core.send_binary(data))
    }

    /// Sends `data` as the configured default type
    /// ([`Builder::default_message_type`](crate::Builder::default_message_type), Workerman's
    /// `websocketType`): with text, the default, `data` must be UTF-8.
    pub fn send_default_type(&self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|core| core.send_default_type(data))
    }

    /// Sends a ping with up to 125 bytes of payload.
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.command(|core| core.send_ping(payload, Instant::now()))
    }

    /// Starts a message sent in parts, of any size: [`send_message_chunk`](Self::send_message_chunk)
    /// sends each part and [`send_message_end`](Self::send_message_end) ends it;
    /// [`send_from_reader`](Self::send_from_reader) does all three from a `Read`. Pings and a
    /// close may go out between parts; another message may not start until this one ends
    /// ([`SendError::MessageInProgress`]). See [`ClientState::send_message_start`] for the rule
    /// on text parts.
    pub fn send_message_start(&self, kind: ws_proto::MessageType) -> Result<(), Error> {
        self.queue(|core| core.send_message_start(kind)).map(drop)
    }

    /// Sends the next part of the message started, waiting first while the send buffer is
    /// full, as [`send`](Self::send) does, and writes it out.
    pub fn send_message_chunk(&self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|core| core.send_message_chunk(data))
    }

    /// Ends the message started and writes out its last frame.
    pub fn send_message_end(&self) -> Result<(), Error> {
        self.command(|core| core.send_message_end())
    }

    /// Queues `message` without writing it: several feeds and one [`flush`](Self::flush) make
    /// one write. Anything queued also goes out with the next send, read or close.
    ///
    /// When more than the high-water mark
    /// ([`Builder::send_high_water_mark`](crate::Builder::send_high_water_mark)) is buffered,
    /// this writes out what is buffered first (or waits while another thread does), as
    /// tungstenite's `write` does, so a loop of feeds never fails for a full buffer. Only before
    /// the handshake completes, when nothing can be written yet, is a full buffer refused with
    /// [`SendError::BufferFull`]. [`try_feed`](Self::try_feed) never waits.
    pub fn feed(&self, message: Message) -> Result<(), Error> {
        self.queue(|core| core.send_message(message)).map(drop)
    }

    /// Queues a text message without writing it; see [`feed`](Self::feed).
    pub fn feed_text(&self, text: &str) -> Result<(), Error> {
        self.queue(|core| core.send_text(text)).map(drop)
    }

    /// Queues a binary message without writing it; see [`feed`](Self::feed).
    pub fn feed_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.queue(|core| core.send_binary(data)).map(drop)
    }

    /// Queues `data` as the default type without writing it; see [`feed`](Self::feed) and
    /// [`send_default_type`](Self::send_default_type).
    pub fn feed_default_type(&self, data: &[u8]) -> Result<(), Error> {
        self.queue(|core| core.send_default_type(data)).map(drop)
    }

    /// Queues `message` if the send buffer has room, without writing and without waiting:
    /// a full buffer is [`SendError::BufferFull`], and the message is not queued. For callers
    /// that must never block (a callback that would rather drop or defer).
    pub fn try_feed(&self, message: Message) -> Result<(), Error> {
        Ok(self.lock().core.send_message(message)?)
    }

    /// Writes everything queued, in one write when nothing else is in the way.
    pub fn flush(&self) -> Result<(), Error> {
        self.write_out(self.lock())
    }

    /// Starts the closing handshake. Keep reading: the end arrives as [`Event::Close`] from
    /// [`read_event`](Self::read_event) (or [`Error::Closed`] from [`read`](Self::read)) once the
    /// server answers, or after the close timeout.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let closed = self.command(|core| core.close(code, reason, Instant::now()));
        // A paused reader reads again: the closing handshake needs the server's Close.
        self.shared.resumed.notify_all();
        closed
    }

    /// Stops reading from the server (Workerman's `pauseRecv()`): once the handshake is done,
    /// the reader blocks without reading, so the server's bytes wait in the kernel and TCP
    /// pushes back on it, until [`resume_recv`](Self::resume_recv) or a close. Sends and
    /// keepalive pings still go out; the pong timeout waits for the resume. See
    /// [`ClientState::pause_recv`].
    ///
    /// Messages taken ahead and not yet handed out, by an [`Events`](crate::Events) iterator
    /// or the event [`Client`](crate::Client), wait for the resume as well.
    pub fn pause_recv(&self) {
        let mut st = self.lock();
        st.core.pause_recv();
        self.shared.pause_hint.store(true, Ordering::Relaxed);
    }

    /// Reads again after [`pause_recv`](Self::pause_recv): what waited is delivered, in order.
    pub fn resume_recv(&self) {
        let mut st = self.lock();
        st.core.resume_recv(Instant::now());
        self.shared.pause_hint.store(false, Ordering::Relaxed);
        drop(st);
        self.shared.resumed.notify_all();
    }

    // ---- reads ----

    /// The next data message.
    ///
    /// Pings are answered by the core, and pings and pongs are skipped. The end of the
    /// connection is an `Err`: [`Error::Closed`] with the code and reason after a clean close,
    /// otherwise the failure. Use [`read_event`](Self::read_event) to see every event.
    pub fn read(&self) -> Result<Message, Error> {
        self.read_data(|taken| match taken {
            Taken::Decoded(st) => st.next_message(),
            Taken::Read(message) => Some(message),
        })
    }

    /// The next data message, lent to `read` where it was received: as [`read`](Self::read),
    /// but small messages that arrived together cost no reference count and no owned
    /// [`Message`] (about half of such a message's cost); the others are lent from their owned
    /// copy. Returns what `read` returned; keep what must outlive the call with
    /// [`MessageRef::to_message`], a copy.
    ///
    /// `read` is called once per call, with the connection locked: other threads' sends wait
    /// for it, and it must not use this socket (that would deadlock). Collect what to send, and
    /// send it after.
    ///
    /// ```no_run
    /// # fn run(ws: &ws_proto_std::WebSocket) -> Result<(), ws_proto_std::Error> {
    /// let mut total = 0;
    /// loop {
    ///     total += ws.read_with(|message| message.len())?;
    /// }
    /// # }
    /// ```
    pub fn read_with<R>(&self, mut read: impl FnMut(MessageRef<'_>) -> R) -> Result<R, Error> {
        self.read_data(|taken| match taken {
            Taken::Decoded(st) => st.core.poll_message_with(&mut read),
            Taken::Read(message) => Some(read((&message).into())),
        })
    }

    /// The next data message as `take` makes it, from what the core has decoded or from a
    /// message read; the other events are skipped, and the end of the connection is an `Err`.
    fn read_data<R>(&self, mut take: impl FnMut(Taken<'_>) -> Option<R>) -> Result<R, Error> {
        loop {
            {
                // One lock per message: the mode is set where the next one is taken.
                let mut st = self.lock();
                st.core.set_recv_streaming(false);
                if st.decoded_is_next() {
                    if let Some(data) = take(Taken::Decoded(&mut st)) {
                        return Ok(data);
                    }
                }
            }
            match self.read_events(false)? {
                Event::Message(message) => {
                    if let Some(data) = take(Taken::Read(message)) {
                        return Ok(data);
                    }
                }
                Event::Close(frame) => return Err(frame.into()),
                // Pings, pongs, and the rest of a message a `read_stream` reader left unread.
                _ => {}
            }
        }
    }

    /// Moves the next data messages, up to `ahead`'s room, into `ahead` under one lock (see
    /// `State::take_ahead`).
    pub(crate) fn take_ahead(&self, ahead: &mut VecDeque<Message>) {
        self.lock().take_ahead(ahead);
    }

    /// Whether [`pause_recv`](Self::pause_recv) was called since the last resume; a plain
    /// load, for a reader holding messages taken ahead.
    #[inline]
    pub(crate) fn pause_hinted(&self) -> bool {
        self.shared.pause_hint.load(Ordering::Relaxed)
    }

    /// Gives back messages taken ahead and not handed out: the next reads return them first.
    pub(crate) fn give_back(&self, ahead: &mut VecDeque<Message>) {
        self.lock().give_back(ahead);
    }

    /// Gives back messages taken ahead if receiving is paused: they wait for the resume.
    pub(crate) fn hold_back_if_paused(&self, ahead: &mut VecDeque<Message>) {
        let mut st = self.lock();
        if st.core.is_recv_paused() {
            st.give_back(ahead);
        } else if matches!(
            st.core.ready_state(),
            ReadyState::Closing | ReadyState::Closed
        ) {
            // Reading came back by itself for the close, for good: no need to look again.
            self.shared.pause_hint.store(false, Ordering::Relaxed);
        }
    }

    /// The next event, blocking until one arrives.
    ///
    /// The connection ends with exactly one [`Event::Close`] (a clean close) or one `Err` (a
    /// failure: the protocol, a timeout, the transport or TLS). Later calls return
    /// [`Error::AlreadyClosed`].
    pub fn read_event(&self) -> Result<Event, Error> {
        self.read_events(true)
    }

    /// [`read_event`](Self::read_event), with messages whole or streamed as configured
    /// (`configured`), or as the last read left it.
    pub(crate) fn read_events(&self, configured: bool) -> Result<Event, Error> {
        loop {
            if let Some(event) = self.read_item(configured)? {
                return Ok(event);
            }
        }
    }

    /// The next event, or `None` when the send buffer drained (for the event client's
    /// `on_drain`); see [`read_events`](Self::read_events) for `configured`.
    pub(crate) fn read_item(&self, configured: bool) -> Result<Option<Event>, Error> {
        // An event already decoded needs neither the reader's lock nor, unless decoding queued
        // bytes (a pong, a Close echo) or the connection ended (the transport is shut down),
        // a write.
        let mut st = self.lock();
        if configured {
            let on = st.core.config().get_recv_streaming();
            st.core.set_recv_streaming(on);
        }
        if let Some(item) = st.next_event() {
            if st.core.buffered_amount() > 0 || st.reported {
                // A write failure is queued as the next item: the event taken is returned.
                let _ = self.write_out(st);
            }
            return item;
        }
        drop(st);
        let mut side = self
            .shared
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            let (timeout, mut lease) = {
                let mut st = self.lock();
                let item = st.next_event();
                // Polling the core can queue bytes (a Close that waited behind an event) even
                // when it returns nothing: write them before blocking in a read. A write
                // failure is queued as the next item, so an event taken is returned regardless.
                let flushed = self.write_out(st);
                if let Some(item) = item {
                    return item;
                }
                flushed?;
                let mut st = self.lock();
                if st.reported {
                    return Err(Error::AlreadyClosed);
                }
                let now = Instant::now();
                let timeout = match st.core.poll_timeout() {
                    Some(deadline) if deadline <= now => {
                        st.core.handle_timeout(now);
                        self.write_out(st)?;
                        continue;
                    }
                    // A command from another thread can add a deadline (the close timeout)
                    // while this thread is blocked, so never block longer than that deadline
                    // could be away.
                    Some(deadline) => (deadline - now).min(self.shared.max_block),
                    None => self.shared.max_block,
                };
                if st.core.is_recv_paused() {
                    // Nothing is read: the server's bytes wait in the kernel and TCP pushes
                    // back. The timers still run, at their deadlines.
                    drop(
                        self.shared
                            .resumed
                            .wait_timeout(st, timeout)
                            .unwrap_or_else(PoisonError::into_inner),
                    );
                    continue;
                }
                // A plain connection reads straight into the core's receive buffer: no copy,
                // which matters for large messages. TLS reads ciphertext into `side.buf`. This
                // thread holds the reader lock, so no other lease is out.
                let lease = match st.tls {
                    None => Some(st.core.lease_read()?),
                    Some(_) => None,
                };
                (timeout, lease)
            };
            if side.timeout != Some(timeout) {
                // A failure here (a transport without timeouts) only delays the timers.
                if self
                    .shared
                    .transport
                    .set_read_timeout(Some(timeout))
                    .is_ok()
                {
                    side.timeout = Some(timeout);
                }
            }
            let transport = &*self.shared.transport;
            let result = match &mut lease {
                Some(lease) => lease.fill_with(|room| transport.read(room)),
                None => {
                    // A new buffer when the size changes, so a shrunk one gives its memory back.
                    let size = side.size.get();
                    if side.buf.len() != size {
                        side.buf = vec![0; size];
                    }
                    transport.read(&mut side.buf)
                }
            };
            let mut st = self.lock();
            if let Some(lease) = lease {
                // The lease goes back whatever the result; what was read is in it.
                st.core.handle_lease(lease, Instant::now())?;
            }
            match result {
                Ok(0) => st.core.handle_eof()?,
                Ok(n) => {
                    let State { core, tls, .. } = &mut *st;
                    if let Some(tls) = tls {
                        let offered = side.buf.len();
                        side.size.record(n, offered);
                        if let Err(e) = tls.receive(&side.buf[..n], core, Instant::now()) {
                            st.fail(e);
                        }
                    }
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => st.fail(Error::Io(e)),
            }
            // Pongs, close echoes and TLS records produced by the input go out now.
            self.write_out(st)?;
        }
    }

    // ---- getters ----

    /// The subprotocol the server chose.
    pub fn subprotocol(&self) -> Option<String> {
        self.lock().core.subprotocol().map(str::to_owned)
    }

    /// The connection's state.
    pub fn ready_state(&self) -> ReadyState {
        self.lock().core.ready_state()
    }

    /// Whether the handshake completed and no Close frame has been sent or received.
    pub fn is_open(&self) -> bool {
        self.lock().core.is_open()
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.lock().core.is_closed()
    }

    /// Whether receiving is paused ([`pause_recv`](Self::pause_recv)) on the open connection.
    pub fn is_recv_paused(&self) -> bool {
        self.lock().core.is_recv_paused()
    }

    /// The round-trip time of the last ping answered, keepalive
    /// ([`Builder::ping_interval`](crate::Builder::ping_interval)) or `send_ping`'s, as Python
    /// websockets' `latency` (each pong carries its own: [`Pong::rtt`](crate::Pong::rtt)); see
    /// [`ClientState::rtt`].
    pub fn rtt(&self) -> Option<std::time::Duration> {
        self.lock().core.rtt()
    }

    /// Messages and bytes each way so far; see [`Stats`](crate::Stats).
    pub fn stats(&self) -> crate::Stats {
        self.lock().core.stats()
    }

    /// Bytes accepted by sends and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.lock().core.buffered_amount()
    }

    /// Whether a send would be accepted now (the buffered amount is below the high-water mark).
    pub fn is_writable(&self) -> bool {
        self.lock().core.is_writable()
    }

    // ---- internals ----

    /// Runs `f` on the core, for the event client's outbox; its bytes go out with the next
    /// flush, send or read.
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut ClientState) -> R) -> R {
        f(&mut self.lock().core)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `send` once the core would accept a message: while the buffer is over its
    /// high-water mark, what is buffered is written out first, or, when another thread is
    /// writing it, this one waits for that. Returns the lock, for a write right after.
    fn queue(
        &self,
        send: impl FnOnce(&mut ClientState) -> Result<(), SendError>,
    ) -> Result<MutexGuard<'_, State>, Error> {
        self.queue_locked(self.lock(), send)
    }

    /// [`queue`](Self::queue) with the connection already locked.
    pub(crate) fn queue_locked<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        send: impl FnOnce(&mut ClientState) -> Result<(), SendError>,
    ) -> Result<MutexGuard<'a, State>, Error> {
        while let Err(SendError::BufferFull { .. }) = st.core.check_send() {
            if st.writing {
                st.waiting += 1;
                st = self
                    .shared
                    .written
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                st.waiting -= 1;
                continue;
            }
            let before = st.core.buffered_amount();
            self.write_out(st)?;
            st = self.lock();
            if !st.writing && st.core.buffered_amount() >= before {
                // Nothing could be written: the handshake holds the queue. `send` says so.
                break;
            }
        }
        send(&mut st.core)?;
        Ok(st)
    }

    /// [`queue`](Self::queue), then a write.
    fn send_with(
        &self,
        send: impl FnOnce(&mut ClientState) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        let st = self.queue(send)?;
        self.write_out(st)
    }

    fn command(
        &self,
        f: impl FnOnce(&mut ClientState) -> Result<(), ws_proto::SendError>,
    ) -> Result<(), Error> {
        let mut st = self.lock();
        f(&mut st.core)?;
        self.write_out(st)
    }

    /// Writes everything the core and TLS have ready, unless another thread already is (it
    /// will take these bytes too). The state lock is released during each write.
    pub(crate) fn write_out<'a>(&'a self, mut st: MutexGuard<'a, State>) -> Result<(), Error> {
        if st.writing {
            return Ok(());
        }
        st.writing = true;
        loop {
            let Some(outgoing) = st.next_transmit() else {
                st.writing = false;
                self.wake_senders(&st);
                if (st.failure.is_some() || st.core.is_closed()) && !st.shut {
                    st.shut = true;
                    drop(st);
                    // The peer may already be gone; there is nothing left to tell it.
                    let _ = self.shared.transport.shutdown();
                }
                return Ok(());
            };
            drop(st);
            let written = outgoing.write_to(&*self.shared.transport);
            st = self.lock();
            if let Err(e) = written {
                st.writing = false;
                self.wake_senders(&st);
                let report = io::Error::new(e.kind(), e.to_string());
                st.fail(Error::Io(e));
                st.shut = true;
                drop(st);
                let _ = self.shared.transport.shutdown();
                return Err(Error::Io(report));
            }
        }
    }

    /// Wakes the senders waiting for room; the condition variable is touched only when there
    /// are any, as waking costs a system call even when nobody waits.
    fn wake_senders(&self, st: &State) {
        if st.waiting > 0 {
            self.shared.written.notify_all();
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
