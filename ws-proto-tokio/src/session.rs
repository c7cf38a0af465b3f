//! [`Session`]: a connection that comes back. Workerman's lifecycle (`onConnect`,
//! `onWebSocketConnect`, `onMessage`, `onWebSocketPing/Pong`, `onError`, `onClose`,
//! `reConnect`) as one stream of [`SessionEvent`]s, with the shared [`ReconnectPolicy`].

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::Sleep;
use ws_proto::trace::ConnectSpan;
use ws_proto::{
    ClientOptions, ClientState, CloseCode, ConnectPlan, Message, Outbox, Pong, Reconnect,
    ReconnectPolicy, Response, SendError, TlsOptions,
};

use crate::builder::{start_attempt, Http2Options};
use crate::conn::{now, Ending, Incoming};
use crate::stream::WebSocket;
use crate::tls::MaybeTlsStream;
use crate::Error;

/// What happens to a [`Session`], in order.
///
/// A connection goes `Connected`, `Open`, then any number of `Message`, `Ping`, `Pong` and
/// `Drained`, then `Error` (when it failed), `Closed` and `Undelivered` (when it failed with
/// messages the server may not have read). A connection attempt whose transport never came up
/// yields only `Error`. Then `Reconnecting` if the policy allows another attempt, or the stream
/// ends, after a last `Undelivered` with whatever never reached a connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The transport (TCP, and TLS for `wss://`) is up; the opening handshake starts
    /// (Workerman's `onConnect`). Over HTTP/2 the server has answered the extended CONNECT too
    /// (its answer, accepting or not, is the next event). Messages sent while there was no connection are queued on it,
    /// in order, and go out right after the server accepts.
    Connected,
    /// The server accepted the handshake (`onWebSocketConnect`).
    Open(Response),
    /// A data message (`onMessage`).
    Message(Message),
    /// A ping from the server, already answered (`onWebSocketPing`).
    Ping(Bytes),
    /// A pong from the server (`onWebSocketPong`), with the round trip of the ping it answers.
    /// The outbox's own acknowledgement pongs are not reported.
    Pong(Pong),
    /// The outbox reached its limit ([`Builder::outbox_limit`](crate::Builder::outbox_limit),
    /// `onBufferFull`): sends wait, and `try_feed` refuses, until [`Drained`](Self::Drained).
    BufferFull,
    /// The outbox was full and has room again (`onBufferDrain`).
    Drained,
    /// Why a connection or an attempt failed (`onError`): DNS, TCP, TLS, rejection, protocol,
    /// timeout or I/O.
    Error(Error),
    /// A connection ended (`onClose`).
    Closed {
        /// The close code (1006 when no Close frame was exchanged).
        code: CloseCode,
        /// The close reason, or a description of the failure.
        reason: String,
        /// Whether both Close frames were exchanged.
        clean: bool,
    },
    /// Messages the session accepted and cannot show were delivered, in the order they were
    /// sent: after a connection that failed, those it carried that the server did not
    /// acknowledge (it may have read some); when the session ends, those that never reached a
    /// connection. Nothing accepted disappears without either a clean close, an
    /// acknowledgement, or this event. See [`Outbox`].
    Undelivered(Vec<Message>),
    /// The next attempt starts after `delay` (`reConnect`).
    Reconnecting {
        /// The attempt about to be made: 1 after a drop, counting up until one opens.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
}

/// An attempt's socket, its handshake started, and the plan as the attempt left it (a server
/// whose HTTP/2 cannot carry WebSockets is asked for HTTP/1.1 from then on).
type Connecting =
    Pin<Box<dyn Future<Output = (Result<WebSocket<MaybeTlsStream>, Error>, ConnectPlan)> + Send>>;

#[allow(clippy::large_enum_variant)] // One at a time, and `Connected` is the lasting one.
enum State {
    /// Not polled yet.
    Idle,
    /// DNS, TCP and TLS (and over HTTP/2, the CONNECT).
    Connecting(Connecting),
    /// The handshake or the open connection.
    Connected {
        socket: Box<WebSocket<MaybeTlsStream>>,
        plan: ConnectPlan,
        /// The server accepted the handshake.
        opened: bool,
    },
    /// Waiting for the next attempt.
    Waiting(Pin<Box<Sleep>>),
    /// The policy gave up, or the user closed.
    Done,
}

impl State {
    /// The current connection's core, once its transport is up.
    fn connection(&mut self) -> Option<&mut ClientState> {
        match self {
            State::Connected { socket, .. } => Some(socket.conn_mut().core_mut()),
            _ => None,
        }
    }
}

/// Events a wait for room ([`Session::ready`]) holds for [`Session::next_event`] before it stops
/// reading: what a server sends meanwhile is bounded.
const HOLD_EVENTS: usize = 256;

/// A WebSocket connection that reconnects by a [`ReconnectPolicy`], as a [`Stream`] of
/// [`SessionEvent`]s (or [`next_event`](Self::next_event)). Made by
/// [`Builder::session`](crate::Builder::session).
///
/// Sends go through an [`Outbox`]: accepted whether or not a connection is up (Workerman queues
/// them too), written in order on the current connection or the next one, and kept until the
/// server is known to have read them, so a connection that fails reports what it may have lost
/// ([`SessionEvent::Undelivered`]) instead of losing it silently. The same sending methods as
/// [`WebSocket`]: async `send` / `feed` / `flush` / `ready`, which wait for room in the outbox
/// (its limit is [`Builder::outbox_limit`](crate::Builder::outbox_limit)), and `try_feed`,
/// which never waits.
///
/// Everything happens while the session is polled: keep calling `next_event`. The async sends
/// drive the session too while they wait (connecting, reading acknowledgements), holding the
/// events that arrive meanwhile for `next_event`.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_proto_tokio::Error> {
/// use std::time::Duration;
/// use ws_proto_tokio::{Builder, Message, ReconnectPolicy, SessionEvent};
///
/// let policy = ReconnectPolicy::exponential(Duration::from_millis(500), Duration::from_secs(30));
/// let mut session = Builder::new("wss://example.com/feed").session(policy)?;
/// // Accepted before any connection exists; it goes out on the first one.
/// session.send(Message::text("subscribe")).await?;
/// while let Some(event) = session.next_event().await {
///     match event {
///         SessionEvent::Message(m) => println!("{m:?}"),
///         SessionEvent::Undelivered(lost) => eprintln!("{} messages to send again", lost.len()),
///         SessionEvent::Error(e) => eprintln!("{e}"),
///         other => println!("{other:?}"),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Session {
    options: ClientOptions,
    tls: TlsOptions,
    http2: Http2Options,
    reconnect: Reconnect,
    state: State,
    outbox: Outbox,
    /// The user closed: no more attempts.
    stopping: bool,
    /// Events produced and not yet taken, in order.
    pending: VecDeque<SessionEvent>,
    /// `pause_recv` is in force, for this connection and the next.
    recv_paused: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle => "idle",
            State::Connecting { .. } => "connecting",
            State::Connected { .. } => "connected",
            State::Waiting(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("Session")
            .field("state", &state)
            .field("reconnect", &self.reconnect)
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `options`, whose request is valid.
    pub(crate) fn new(
        options: ClientOptions,
        tls: TlsOptions,
        http2: Http2Options,
        policy: ReconnectPolicy,
    ) -> Session {
        Session {
            outbox: Outbox::new(options.get_outbox_limit()),
            options,
            tls,
            http2,
            reconnect: Reconnect::new(policy),
            state: State::Idle,
            stopping: false,
            pending: VecDeque::new(),
            recv_paused: false,
        }
    }

    /// The next event, or `None` once the policy gave up or the session was closed.
    ///
    /// Cancel-safe: a dropped call has consumed no event, and a connection attempt in progress
    /// continues with the next call.
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    // ---- sending ----

    /// Sends `message`: waits for room in the outbox, then writes it on the current connection,
    /// or keeps it for the next one. See [`feed`](Self::feed) and [`flush`](Self::flush).
    ///
    /// `Ok` once the outbox has the message: a write that fails then is the connection's end,
    /// reported by [`next_event`](Self::next_event) (with the message in
    /// [`SessionEvent::Undelivered`] unless the server acknowledged it), not by this call, so
    /// an `Err` always means the message was not taken.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.feed(message).await?;
        let _ = self.flush().await;
        Ok(())
    }

    /// Sends a text message; see [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(Message::text(text)).await
    }

    /// Sends a binary message; see [`send`](Self::send).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(Message::binary(Bytes::copy_from_slice(data)))
            .await
    }

    /// Sends `data` as the configured default type
    /// ([`Builder::default_message_type`](crate::Builder::default_message_type), Workerman's
    /// `websocketType`): with text, the default, `data` must be UTF-8.
    pub async fn send_default_type(&mut self, data: &[u8]) -> Result<(), Error> {
        let message_type = self.options.get_config().get_default_message_type();
        self.send(Message::of_type(message_type, data)?).await
    }

    /// Accepts `message` once the outbox has room, without writing it; the next
    /// [`flush`](Self::flush), send or poll writes it.
    ///
    /// Cancel-safe: a dropped call has not accepted the message.
    pub async fn feed(&mut self, message: Message) -> Result<(), Error> {
        self.ready().await?;
        self.try_feed(message)
    }

    /// Accepts `message` if the outbox has room, without waiting: a full outbox is
    /// [`SendError::BufferFull`] (wait for [`SessionEvent::Drained`]), a closed session
    /// [`SendError::Closed`]. For a `select!` arm or a callback that must not wait.
    pub fn try_feed(&mut self, message: Message) -> Result<(), Error> {
        Ok(self.outbox.send(message, self.state.connection())?)
    }

    /// Writes what the current connection has queued. Messages waiting for a connection stay
    /// in the outbox, for the next one. An error is the current connection failing; the
    /// session reports its end as events all the same.
    ///
    /// Cancel-safe: what a dropped call did not write stays queued, in order.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| match &mut self.state {
            State::Connected { socket, .. } => socket.conn_mut().poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        })
        .await
    }

    /// Waits until the outbox has room for a message. Meanwhile the session runs (connects,
    /// reads the acknowledgements that make room), holding other events for
    /// [`next_event`](Self::next_event); with 256 of them held it stops and returns
    /// [`SendError::BufferFull`], so that what arrives stays bounded: take the events, then
    /// try again.
    ///
    /// Cancel-safe: a dropped call has lost no event.
    pub async fn ready(&mut self) -> Result<(), Error> {
        poll_fn(|cx| loop {
            match self.outbox.check_send() {
                Err(SendError::BufferFull { .. }) => {}
                result => return Poll::Ready(result.map_err(Error::from)),
            }
            if self.pending.len() >= HOLD_EVENTS {
                return Poll::Ready(self.outbox.check_send().map_err(Error::from));
            }
            if ready!(self.poll_progress(cx)).is_none() {
                return Poll::Ready(Err(SendError::Closed.into()));
            }
        })
        .await
    }

    /// Sends a ping (at most 125 bytes) on the current connection and writes it out; between
    /// connections it is refused with [`Error::NotConnected`] (a ping is not worth keeping).
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        match self.state.connection() {
            Some(core) => core.send_ping(payload, now())?,
            None => return Err(Error::NotConnected),
        }
        self.flush().await
    }

    /// Closes for good: starts the closing handshake if connected (the stream then yields
    /// `Closed` and ends), or ends the stream at once. Messages not yet handed to the
    /// connection are reported as [`SessionEvent::Undelivered`]; closing again is a no-op.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.stopping = true;
        if matches!(self.state, State::Done) {
            return Ok(());
        }
        match self.state.connection() {
            Some(core) => core.close(code, reason, now())?,
            None => self.finish(),
        }
        self.flush().await
    }

    /// Stops reading from the server (Workerman's `pauseRecv()`): no more messages, pings or
    /// pongs come out, the server's bytes wait in the kernel and TCP pushes back on it, until
    /// [`resume_recv`](Self::resume_recv). Keep polling: sends, keepalive pings and
    /// reconnections go on (the pong timeout waits for the resume, and the outbox's
    /// acknowledgements too, so a full outbox stays full). It lasts across reconnections: a
    /// new connection's handshake completes, then it waits too.
    pub fn pause_recv(&mut self) {
        self.recv_paused = true;
        if let State::Connected { socket, .. } = &mut self.state {
            socket.pause_recv();
        }
    }

    /// Takes messages again after [`pause_recv`](Self::pause_recv); what waited is delivered
    /// in order.
    pub fn resume_recv(&mut self) {
        self.recv_paused = false;
        if let State::Connected { socket, .. } = &mut self.state {
            socket.resume_recv();
        }
    }

    /// Whether [`pause_recv`](Self::pause_recv) is in force.
    pub fn is_recv_paused(&self) -> bool {
        self.recv_paused
    }

    // ---- getters ----

    /// Whether the current connection is open.
    pub fn is_open(&self) -> bool {
        matches!(&self.state, State::Connected { socket, .. } if socket.ready_state() == ws_proto::ReadyState::Open)
    }

    /// Payload bytes the outbox holds: messages waiting for a connection or not yet
    /// acknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.outbox.buffered_amount()
    }

    /// The current connection's keepalive round trip, if one is up and a ping was answered; see
    /// [`WebSocket::rtt`](crate::WebSocket::rtt).
    pub fn rtt(&self) -> Option<std::time::Duration> {
        match &self.state {
            State::Connected { socket, .. } => socket.rtt(),
            _ => None,
        }
    }

    /// What went through the current connection, if one is up; see
    /// [`Stats`](crate::Stats).
    pub fn stats(&self) -> Option<crate::Stats> {
        match &self.state {
            State::Connected { socket, .. } => Some(socket.stats()),
            _ => None,
        }
    }

    // ---- the run loop ----

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            if ready!(self.poll_progress(cx)).is_none() {
                return Poll::Ready(None);
            }
        }
    }

    /// Moves the session one step, queuing what happened in `pending`; `None` once it is over.
    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        match &mut self.state {
            State::Idle => self.start_attempt(),
            State::Connecting(attempt) => {
                let (result, plan) = ready!(attempt.as_mut().poll(cx));
                self.state = State::Done;
                match result {
                    Ok(mut socket) => {
                        let conn = socket.conn_mut();
                        conn.report_drained();
                        // A session delivers messages whole.
                        conn.core_mut().set_recv_streaming(false);
                        // What waited for a connection is queued on it first.
                        self.outbox.pump(conn.core_mut());
                        if self.recv_paused {
                            conn.pause_recv();
                        }
                        self.pending.push_back(SessionEvent::Connected);
                        self.state = State::Connected {
                            socket: Box::new(socket),
                            plan,
                            opened: false,
                        };
                    }
                    Err(e) => {
                        self.pending.push_back(SessionEvent::Error(e));
                        self.retry_later();
                    }
                }
            }
            State::Connected { socket, opened, .. } => {
                let conn = socket.conn_mut();
                let event = match ready!(conn.poll_incoming(cx)) {
                    Some(Incoming::Open(response)) => {
                        *opened = true;
                        self.reconnect.opened();
                        Some(SessionEvent::Open(*response))
                    }
                    Some(Incoming::Message(m)) => Some(SessionEvent::Message(m)),
                    // Streaming is off for a session's connections.
                    Some(
                        Incoming::MessageStart(_) | Incoming::MessageData(_) | Incoming::MessageEnd,
                    ) => None,
                    Some(Incoming::Ping(p)) => Some(SessionEvent::Ping(p)),
                    Some(Incoming::Pong(p)) => {
                        (!self.outbox.handle_pong(&p.payload, conn.core_mut()))
                            .then_some(SessionEvent::Pong(p))
                    }
                    Some(Incoming::Drained) => {
                        // The connection has room: more of what waits can go.
                        self.outbox.pump(conn.core_mut());
                        None
                    }
                    Some(Incoming::Closed(ending)) => {
                        self.ended(*ending);
                        None
                    }
                    // The socket ends only after `Closed`, which leaves this state.
                    None => {
                        self.finish();
                        None
                    }
                };
                self.pending.extend(event);
            }
            State::Waiting(sleep) => {
                ready!(sleep.as_mut().poll(cx));
                self.start_attempt();
            }
            State::Done => return Poll::Ready(None),
        }
        if self.outbox.poll_full() {
            self.pending.push_back(SessionEvent::BufferFull);
        }
        if self.outbox.poll_drained() {
            self.pending.push_back(SessionEvent::Drained);
        }
        Poll::Ready(Some(()))
    }

    /// The current connection ended: its events, then a redirect, the next attempt or the end.
    fn ended(&mut self, ending: Ending) {
        let State::Connected {
            mut plan, opened, ..
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            unreachable!("called in the Connected state")
        };
        let undelivered = if opened {
            self.outbox.detach(ending.clean)
        } else {
            // The handshake never completed, so nothing queued on the connection was sent.
            self.outbox.requeue();
            Vec::new()
        };
        let closed = SessionEvent::Closed {
            code: ending.code,
            reason: ending.reason,
            clean: ending.clean,
        };
        // `Some(Ok)`: a redirect to follow; `Some(Err)`: the failure; `None`: a clean end.
        let next = match ending.error.map(|e| plan.follow(e)) {
            Some(Err(e)) => {
                self.pending.push_back(SessionEvent::Error(e));
                None
            }
            next => next,
        };
        self.pending.push_back(closed);
        if !undelivered.is_empty() {
            self.pending
                .push_back(SessionEvent::Undelivered(undelivered));
        }
        match next {
            // A redirect: the transport closes, the next one starts now.
            Some(Ok(())) if !self.stopping => self.connect(plan),
            _ => self.retry_later(),
        }
    }

    /// A new attempt from the options' own URL.
    fn start_attempt(&mut self) {
        match ConnectPlan::new(&self.options) {
            Ok(plan) => self.connect(plan),
            // `Builder::session` checked the request.
            Err(e) => {
                self.pending.push_back(SessionEvent::Error(e.into()));
                self.finish();
            }
        }
    }

    /// Opens the transport `plan` names and starts the handshake on it.
    fn connect(&mut self, mut plan: ConnectPlan) {
        let (tls, http2) = (self.tls.clone(), self.http2.clone());
        let span = ConnectSpan::new(&plan);
        self.state = State::Connecting(Box::pin(span.instrument(async move {
            let socket = start_attempt(&mut plan, &tls, &http2).await;
            (socket, plan)
        })));
    }

    /// Schedules the next attempt by the policy, or ends the session.
    fn retry_later(&mut self) {
        if self.stopping {
            return self.finish();
        }
        // The jitter needs no cryptographic quality; without entropy the longest delay the
        // policy allows is used, which is never too short.
        let random = getrandom::u32().unwrap_or(u32::MAX);
        match self.reconnect.next_delay(random) {
            Some((attempt, delay)) => {
                self.pending
                    .push_back(SessionEvent::Reconnecting { attempt, delay });
                self.state = State::Waiting(Box::pin(tokio::time::sleep(delay)));
            }
            None => self.finish(),
        }
    }

    /// The session is over: what never reached a connection is given back.
    fn finish(&mut self) {
        self.state = State::Done;
        let left = self.outbox.stop();
        if !left.is_empty() {
            self.pending.push_back(SessionEvent::Undelivered(left));
        }
    }
}

impl Stream for Session {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.get_mut().poll_event(cx)
    }
}
