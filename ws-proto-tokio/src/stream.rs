//! [`WebSocket`]: an open connection as a `Stream` of events and a `Sink` of messages, with
//! inherent async methods for users without `futures-util`.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::{ClientState, CloseFrame, Message, MessageRef, ReadyState};

use crate::conn::{Conn, Ending, Incoming};
use crate::split::{self, WsReader, WsWriter};
use crate::streaming::{read_stream, ConnRef, MessageStream};
use crate::{Error, Event};

/// [`WebSocket::read_event`] for a connection reached through `poll`.
pub(crate) async fn read_event(
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<Option<Incoming>>,
) -> Result<Event, Error> {
    poll_fn(|cx| poll_item(poll(cx)))
        .await
        .unwrap_or(Err(Error::AlreadyClosed))
}

/// [`WebSocket::read`] for a connection reached through `poll`.
pub(crate) async fn read_message(
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<Option<Incoming>>,
) -> Result<Message, Error> {
    read_data(|cx| {
        poll(cx).map(|incoming| {
            incoming.map(|incoming| match incoming {
                Incoming::Message(m) => Ok(m),
                other => Err(other),
            })
        })
    })
    .await
}

/// The next data message as `poll` gives it (`Ok`), skipping the other events it gives (`Err`)
/// and ending with an `Err` at the end of the connection: [`WebSocket::read`] and
/// [`WebSocket::read_with`].
pub(crate) async fn read_data<R>(
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<R, Incoming>>>,
) -> Result<R, Error> {
    loop {
        match poll_fn(&mut poll).await {
            Some(Ok(data)) => return Ok(data),
            Some(Err(incoming)) => {
                if let Event::Close(frame) = incoming.into_result()? {
                    return Err(frame.into());
                }
            }
            None => return Err(Error::AlreadyClosed),
        }
    }
}

/// The stream's item for a poll of the connection. Messages, most of the stream, are converted
/// right here: through `into_result` they cost a call per message.
#[inline(always)]
pub(crate) fn poll_item(poll: Poll<Option<Incoming>>) -> Poll<Option<Result<Event, Error>>> {
    Poll::Ready(match ready!(poll) {
        Some(Incoming::Message(m)) => Some(Ok(Event::Message(m))),
        other => other.map(Incoming::into_result),
    })
}

impl Incoming {
    pub(crate) fn into_result(self) -> Result<Event, Error> {
        match self {
            Incoming::Open(r) => Ok(Event::Open(r)),
            Incoming::Message(m) => Ok(Event::Message(m)),
            Incoming::MessageStart(kind) => Ok(Event::MessageStart(kind)),
            Incoming::MessageData(data) => Ok(Event::MessageData(data)),
            Incoming::MessageEnd => Ok(Event::MessageEnd),
            Incoming::Ping(p) => Ok(Event::Ping(p)),
            Incoming::Pong(p) => Ok(Event::Pong(p)),
            Incoming::Drained => unreachable!("only a session's connection reports Drained"),
            Incoming::Closed(ending) => match *ending {
                Ending {
                    error: Some(error), ..
                } => Err(error),
                Ending { code, reason, .. } => Ok(Event::Close(CloseFrame { code, reason })),
            },
        }
    }
}

/// A WebSocket connection over a transport `T` (by default a TCP or TLS stream).
///
/// As a [`Stream`] it yields `Ok(`[`Event`]`)` for messages, pings, pongs and the clean close,
/// or one `Err` when the connection fails, then ends. As a [`Sink`](futures_sink::Sink) of [`Message`] it sends:
/// `start_send` (`feed`) only encodes, `poll_flush` writes everything fed so far in one write,
/// and `poll_ready` holds back while more than [`Config::send_high_water_mark`] bytes are
/// waiting. `poll_close` (`SinkExt::close`) starts the closing handshake with 1000; keep polling
/// the stream to see the server's answer.
///
/// The connection makes progress (reads, pongs, keepalive pings, timeouts) while the stream is
/// polled, as with every tokio WebSocket; writes also progress while the sink is flushed.
///
/// Every method here is cancel-safe: all progress lives in the socket, not in the futures, so a
/// future dropped inside `tokio::select!` loses no received data and leaves no half-written
/// frame behind. Each method says what a cancelled call did.
///
/// [`Config::send_high_water_mark`]: ws_proto::Config::send_high_water_mark
#[derive(Debug)]
pub struct WebSocket<T> {
    conn: Conn<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WebSocket<T> {
    /// Runs `core`, its handshake request queued, over `io`; see [`Builder::start`].
    ///
    /// [`Builder::start`]: crate::Builder::start
    pub(crate) fn start(io: T, core: ClientState) -> Self {
        WebSocket {
            conn: Conn::new(io, core),
        }
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Conn<T> {
        &mut self.conn
    }

    #[inline]
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Conn<T>) -> R) -> R {
        f(&mut self.conn)
    }

    /// The next event. The connection ends with one [`Event::Close`] (a clean close) or one
    /// `Err` (a failure); later calls return [`Error::AlreadyClosed`]. (As a [`Stream`], the
    /// socket ends with `None` instead.)
    ///
    /// Cancel-safe: a dropped call has consumed no event; bytes it read are kept for the next.
    pub async fn read_event(&mut self) -> Result<Event, Error> {
        self.conn.stream_as_configured();
        read_event(|cx| self.conn.poll_incoming(cx)).await
    }

    /// The next data message, as tungstenite's `read`: pings are answered by the core, and
    /// pings and pongs are skipped. The end of the connection is an `Err`:
    /// [`Error::Closed`] with the server's code and reason after a clean close, otherwise the
    /// failure.
    ///
    /// Cancel-safe, as [`read_event`](Self::read_event).
    pub async fn read(&mut self) -> Result<Message, Error> {
        self.conn.core_mut().set_recv_streaming(false);
        read_message(|cx| self.conn.poll_incoming(cx)).await
    }

    /// The next data message, lent to `read` where it was received: as [`read`](Self::read),
    /// but small messages that arrived together cost no reference count and no owned
    /// [`Message`] (most of such a message's cost); the others are lent from their
    /// owned copy. Returns what `read` returned; keep what must outlive the call with
    /// [`MessageRef::to_message`], a copy. `read` is called once per call, with the
    /// connection's state borrowed: it cannot send (collect what to send, and send it after).
    ///
    /// fastwebsockets and wtx lend their frames the same way; a closure, rather than a
    /// returned borrow, lets the next read reuse the buffer without a guard to drop first.
    ///
    /// ```no_run
    /// # async fn run(mut ws: ws_proto_tokio::WebSocket<tokio::net::TcpStream>) -> Result<(), ws_proto_tokio::Error> {
    /// let mut total = 0;
    /// loop {
    ///     total += ws.read_with(|message| message.len()).await?;
    /// }
    /// # }
    /// ```
    ///
    /// Cancel-safe, as [`read_event`](Self::read_event): a dropped call has lent nothing.
    pub async fn read_with<R>(
        &mut self,
        mut read: impl FnMut(MessageRef<'_>) -> R,
    ) -> Result<R, Error> {
        self.conn.core_mut().set_recv_streaming(false);
        read_data(|cx| self.conn.poll_message_with(cx, &mut read)).await
    }

    /// The next data message, to be read as it arrives, in constant memory whatever its size:
    /// see [`MessageStream`]. A message that fits in one chunk is read whole and handed out the
    /// same way. Pings are answered, and pings, pongs and the rest of a message an earlier
    /// stream left unread are skipped. The end of the connection is an `Err`, as from
    /// [`read`](Self::read).
    ///
    /// Streamed messages are not held to [`Builder::max_message_size`](crate::Builder::max_message_size)
    /// (nothing is buffered) but to [`Builder::max_streamed_message_size`](crate::Builder::max_streamed_message_size),
    /// unlimited by default.
    ///
    /// Cancel-safe, as [`read_event`](Self::read_event).
    pub async fn read_stream(&mut self) -> Result<MessageStream<'_, T>, Error> {
        read_stream(ConnRef::Own(&mut self.conn)).await
    }

    /// The connection's state.
    pub fn ready_state(&self) -> ReadyState {
        self.conn.core().ready_state()
    }

    /// Whether the handshake completed and no Close frame has been sent or received.
    pub fn is_open(&self) -> bool {
        self.conn.core().is_open()
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.conn.core().is_closed()
    }

    /// Whether a send would be accepted without waiting (the buffered amount is below the
    /// high-water mark).
    pub fn is_writable(&self) -> bool {
        self.conn.core().is_writable()
    }

    /// Stops reading from the server (Workerman's `pauseRecv()`): once the handshake is done,
    /// reads yield nothing new and the server's bytes wait in the kernel, so TCP pushes back
    /// on it, until [`resume_recv`](Self::resume_recv) or a close. Sends and keepalive pings
    /// still go out while the stream is polled; the pong timeout waits for the resume. See
    /// [`ClientState::pause_recv`](ws_proto::ClientState::pause_recv).
    pub fn pause_recv(&mut self) {
        self.conn.pause_recv();
    }

    /// Reads again after [`pause_recv`](Self::pause_recv): what waited is delivered, in order.
    pub fn resume_recv(&mut self) {
        self.conn.resume_recv();
    }

    /// Whether receiving is paused on the open connection.
    pub fn is_recv_paused(&self) -> bool {
        self.conn.core().is_recv_paused()
    }

    /// The subprotocol the server chose, once open.
    pub fn subprotocol(&self) -> Option<&str> {
        self.conn.core().subprotocol()
    }

    /// Bytes sent but not yet handed to the transport.
    pub fn buffered_amount(&self) -> usize {
        self.conn.core().buffered_amount()
    }

    /// The round-trip time of the last ping answered, keepalive
    /// ([`Builder::ping_interval`](crate::Builder::ping_interval)) or `send_ping`'s, as Python
    /// websockets' `latency` (each pong carries its own: [`Pong::rtt`](crate::Pong::rtt)); see
    /// [`ClientState::rtt`](ws_proto::ClientState::rtt).
    pub fn rtt(&self) -> Option<std::time::Duration> {
        self.conn.core().rtt()
    }

    /// Messages and bytes each way so far; see [`Stats`](crate::Stats).
    pub fn stats(&self) -> crate::Stats {
        self.conn.core().stats()
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        self.conn.io()
    }

    /// Splits the socket into a writer and a reader that can live in different tasks, in the
    /// order of `StreamExt::split` (`let (write, read) = socket.split();`), which this inherent
    /// method takes the place of: the halves have every method of the whole socket, not only
    /// `Sink` and `Stream`. [`WsReader::reunite`] puts them back together.
    pub fn split(self) -> (WsWriter<T>, WsReader<T>) {
        split::split(self.conn)
    }

    pub(crate) fn from_conn(conn: Conn<T>) -> Self {
        WebSocket { conn }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<T> {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let conn = &mut self.get_mut().conn;
        conn.stream_as_configured();
        poll_item(conn.poll_incoming(cx))
    }
}

crate::sending::sending!(WebSocket);
