//! [`Session`]: a connection that comes back. Workerman's lifecycle (`onConnect`,
//! `onWebSocketConnect`, `onMessage`, `onWebSocketPing/Pong`, `onError`, `onClose`,
//! `reConnect`) as one stream of [`SessionEvent`]s, with the shared [`ReconnectPolicy`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::Sleep;
use ws_proto::{
    ClientOptions, CloseCode, ConnectPlan, Message, Reconnect, ReconnectPolicy, Response,
    TlsOptions,
};

use crate::conn::{now, seed, Incoming};
use crate::connect;
use crate::stream::WebSocket;
use crate::tls::MaybeTlsStream;
use crate::Error;

/// What happens to a [`Session`], in order.
///
/// A connection goes `Connected`, `Open`, then any number of `Message`, `Ping` and `Pong`, then
/// `Error` (when it failed) and `Closed`. A connection attempt whose transport never came up
/// yields only `Error`. Then `Reconnecting` if the policy allows another attempt, or the stream
/// ends.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The transport (TCP, and TLS for `wss://`) is up; the opening handshake starts
    /// (Workerman's `onConnect`). Sends are accepted from now on and queued until `Open`.
    Connected,
    /// The server accepted the handshake (`onWebSocketConnect`).
    Open(Response),
    /// A data message (`onMessage`).
    Message(Message),
    /// A ping from the server, already answered (`onWebSocketPing`).
    Ping(Bytes),
    /// A pong from the server (`onWebSocketPong`).
    Pong(Bytes),
    /// The send buffer fell below its high-water mark after having reached it
    /// (`onBufferDrain`).
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
    /// The next attempt starts after `delay` (`reConnect`).
    Reconnecting {
        /// The attempt about to be made: 1 after a drop, counting up until one opens.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
}

type Connecting = Pin<Box<dyn Future<Output = Result<MaybeTlsStream, Error>> + Send>>;

enum State {
    /// Not polled yet.
    Idle,
    /// DNS, TCP and TLS.
    Connecting {
        transport: Connecting,
        plan: ConnectPlan,
    },
    /// The handshake or the open connection.
    Connected {
        socket: Box<WebSocket<MaybeTlsStream>>,
        plan: ConnectPlan,
    },
    /// Waiting for the next attempt.
    Waiting(Pin<Box<Sleep>>),
    /// The policy gave up, or the user closed.
    Done,
}

/// A WebSocket connection that reconnects by a [`ReconnectPolicy`], as a [`Stream`] of
/// [`SessionEvent`]s (or [`next_event`](Self::next_event)). Made by
/// [`Builder::session`](crate::Builder::session).
///
/// Sends are synchronous: they queue in the current connection (refused with
/// [`Error::NotConnected`] between connections) and are written while the session is polled,
/// so they can be called from any `select!` branch. Everything happens while the session is
/// polled; keep polling it.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_proto_tokio::Error> {
/// use std::time::Duration;
/// use ws_proto_tokio::{Builder, ReconnectPolicy, SessionEvent};
///
/// let policy = ReconnectPolicy::exponential(Duration::from_millis(500), Duration::from_secs(30));
/// let mut session = Builder::new("wss://example.com/feed").session(policy)?;
/// while let Some(event) = session.next_event().await {
///     match event {
///         SessionEvent::Open(_) => session.send_text("subscribe").unwrap(),
///         SessionEvent::Message(m) => println!("{m:?}"),
///         SessionEvent::Error(e) => eprintln!("{e}"),
///         other => println!("{other:?}"),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Session {
    options: ClientOptions,
    tls: TlsOptions,
    reconnect: Reconnect,
    state: State,
    /// The user closed: no more attempts.
    stopping: bool,
    /// Events produced together (`Error` then `Closed` then `Reconnecting`), given out in order.
    pending: std::collections::VecDeque<SessionEvent>,
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
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `options`, whose request is valid.
    pub(crate) fn new(options: ClientOptions, tls: TlsOptions, policy: ReconnectPolicy) -> Session {
        Session {
            options,
            tls,
            reconnect: Reconnect::new(policy),
            state: State::Idle,
            stopping: false,
            pending: Default::default(),
        }
    }

    /// The next event, or `None` once the policy gave up or the session was closed.
    ///
    /// Cancel-safe: a dropped call has consumed no event, and a connection attempt in progress
    /// continues with the next call.
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Sends `data` as the configured default type (text unless
    /// [`Builder::default_message_type`](crate::Builder::default_message_type) says binary).
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.with_socket(|s| Ok(s.conn_mut().core_mut().send_default_type(data)?))
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_message(&Message::Text(text.into()))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_message(&Message::Binary(Bytes::copy_from_slice(data)))
    }

    /// Sends a message of either type.
    pub fn send_message(&mut self, message: &Message) -> Result<(), Error> {
        self.with_socket(|s| s.conn_mut().start_send(message.clone()))
    }

    /// Sends a ping (at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.with_socket(|s| Ok(s.conn_mut().core_mut().send_ping(payload)?))
    }

    /// Closes for good: starts the closing handshake if connected (the stream then yields
    /// `Closed` and ends), or ends the stream at once.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if let State::Connected { socket, .. } = &mut self.state {
            // Closing again is a no-op: the connection ends by itself, and stays ended.
            socket.conn_mut().core_mut().close(code, reason, now())?;
        } else {
            self.state = State::Done;
        }
        self.stopping = true;
        Ok(())
    }

    /// Whether the current connection is open.
    pub fn is_open(&self) -> bool {
        matches!(&self.state, State::Connected { socket, .. } if socket.ready_state() == ws_proto::ReadyState::Open)
    }

    /// Bytes sent on the current connection but not yet written.
    pub fn buffered_amount(&self) -> usize {
        match &self.state {
            State::Connected { socket, .. } => socket.buffered_amount(),
            _ => 0,
        }
    }

    fn with_socket(
        &mut self,
        f: impl FnOnce(&mut WebSocket<MaybeTlsStream>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match &mut self.state {
            State::Connected { socket, .. } => f(socket),
            _ => Err(Error::NotConnected),
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            match &mut self.state {
                State::Idle => self.start_attempt(),
                State::Connecting { transport, .. } => {
                    let result = ready!(transport.as_mut().poll(cx));
                    let State::Connecting { plan, .. } =
                        std::mem::replace(&mut self.state, State::Done)
                    else {
                        unreachable!("matched Connecting above")
                    };
                    match result.and_then(|io| Ok(WebSocket::start(io, plan.start(seed()?, now()))))
                    {
                        Ok(socket) => {
                            self.pending.push_back(SessionEvent::Connected);
                            self.state = State::Connected {
                                socket: Box::new(socket),
                                plan,
                            };
                        }
                        Err(e) => {
                            self.pending.push_back(SessionEvent::Error(e));
                            self.retry_later();
                        }
                    }
                }
                State::Connected { socket, .. } => {
                    match ready!(socket.conn_mut().poll_incoming(cx)) {
                        Some(Incoming::Open(response)) => {
                            self.reconnect.opened();
                            return Poll::Ready(Some(SessionEvent::Open(*response)));
                        }
                        Some(Incoming::Message(m)) => {
                            return Poll::Ready(Some(SessionEvent::Message(m)))
                        }
                        Some(Incoming::Ping(p)) => return Poll::Ready(Some(SessionEvent::Ping(p))),
                        Some(Incoming::Pong(p)) => return Poll::Ready(Some(SessionEvent::Pong(p))),
                        Some(Incoming::Drained) => return Poll::Ready(Some(SessionEvent::Drained)),
                        Some(Incoming::Closed(ending)) => {
                            let State::Connected { mut plan, .. } =
                                std::mem::replace(&mut self.state, State::Done)
                            else {
                                unreachable!("matched Connected above")
                            };
                            let closed = SessionEvent::Closed {
                                code: ending.code,
                                reason: ending.reason,
                                clean: ending.clean,
                            };
                            match ending.error.map(|e| plan.follow(e)) {
                                // A redirect: the transport closes, the next one starts now.
                                Some(Ok(())) if !self.stopping => {
                                    self.pending.push_back(closed);
                                    self.connect(plan);
                                }
                                Some(Ok(())) => self.pending.push_back(closed),
                                Some(Err(e)) => {
                                    self.pending.push_back(SessionEvent::Error(e));
                                    self.pending.push_back(closed);
                                    self.retry_later();
                                }
                                None => {
                                    self.pending.push_back(closed);
                                    self.retry_later();
                                }
                            }
                        }
                        // The socket ends only after `Closed`, which leaves this state.
                        None => self.state = State::Done,
                    }
                }
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    self.start_attempt();
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    /// A new attempt from the options' own URL.
    fn start_attempt(&mut self) {
        match ConnectPlan::new(&self.options) {
            Ok(plan) => self.connect(plan),
            // `Builder::session` checked the request.
            Err(e) => {
                self.pending.push_back(SessionEvent::Error(e.into()));
                self.state = State::Done;
            }
        }
    }

    /// Opens the transport `plan` names.
    fn connect(&mut self, plan: ConnectPlan) {
        let tls = self.tls.clone();
        let target = plan.clone();
        self.state = State::Connecting {
            transport: Box::pin(async move { connect::transport(&target, &tls).await }),
            plan,
        };
    }

    /// Schedules the next attempt by the policy, or ends the session.
    fn retry_later(&mut self) {
        self.state = State::Done;
        if self.stopping {
            return;
        }
        // The jitter needs no cryptographic quality; without entropy the longest delay the
        // policy allows is used, which is never too short.
        let random = getrandom::u32().unwrap_or(u32::MAX);
        if let Some((attempt, delay)) = self.reconnect.next_delay(random) {
            self.pending
                .push_back(SessionEvent::Reconnecting { attempt, delay });
            self.state = State::Waiting(Box::pin(tokio::time::sleep(delay)));
        }
    }
}

impl Stream for Session {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.get_mut().poll_event(cx)
    }
}
