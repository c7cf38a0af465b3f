//! The pump between a transport and a [`ClientState`]: every read is fed to the core, every chunk
//! the core produces is written, its deadline is a tokio timer. Both the stream and the sink
//! halves of the API are thin calls into this.
//!
//! Cancel safety comes from keeping all progress here rather than in futures: a partly written
//! chunk stays in `out`, bytes read are handed to the core before `poll_*` returns, and events
//! stay queued in the core until a poll takes one. A dropped future therefore loses nothing.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::Sleep;
use ws_proto::{
    ClientState, CloseCode, Event, InputError, Message, MessageRef, MessageType, Pong, Response,
    SendError, StreamReset,
};

use crate::wake::{Side, Waiting};
use crate::Error;

/// What the core reported, with the end of the connection in the adapter's terms.
#[derive(Debug)]
pub(crate) enum Incoming {
    // Boxed: the two rare variants would otherwise make every message a large value to move.
    Open(Box<Response>),
    Message(Message),
    MessageStart(MessageType),
    MessageData(Bytes),
    MessageEnd,
    Ping(Bytes),
    Pong(Pong),
    Drained,
    Closed(Box<Ending>),
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) struct Ending {
    pub(crate) code: CloseCode,
    pub(crate) reason: String,
    pub(crate) clean: bool,
    pub(crate) error: Option<Error>,
}

/// The connection is over: the last bytes go out, then the transport is shut down, bounded by
/// a deadline so a peer that stopped reading cannot hold the stream open.
#[derive(Debug)]
struct Finishing {
    ending: Box<Ending>,
    deadline: Instant,
}

/// The reset an HTTP/2 transport reports as its I/O error's inner error, if `e` is one.
pub(crate) fn stream_reset(e: &io::Error) -> Option<StreamReset> {
    e.get_ref()?.downcast_ref::<StreamReset>().copied()
}

/// The clock the core runs on: tokio's, so a paused test clock drives the core's timers.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Pending, with the task's wake registered as tokio's own I/O would, when the task has spent
/// tokio's budget: its transport and timer would refuse every poll (they yield for it), so the
/// drain yields before leasing a read buffer or starting a write it would only undo. A runtime
/// polling many connections in one task (one `join_all`) meets this on most of its polls. Only
/// a check: the budget taken is restored as the guard drops.
#[inline]
fn poll_budget(cx: &mut Context<'_>) -> Poll<()> {
    drop(ready!(tokio::task::coop::poll_proceed(cx)));
    Poll::Ready(())
}

/// A 32-byte seed from the OS for the core's key generator.
pub(crate) fn seed() -> Result<[u8; 32], Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        Error::Io(io::Error::other(format!(
            "the OS random number generator failed: {e}"
        )))
    })?;
    Ok(seed)
}

#[derive(Debug)]
pub(crate) struct Conn<T> {
    io: T,
    core: ClientState,
    needs_flush: bool,
    /// The core's deadline and its tokio timer; `None` while the core has none. A timer left
    /// registered (the handshake's, once open) would bound every wait for I/O, wake the task
    /// for nothing when it expires, and hold its memory while the connection idles.
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    waiting: Waiting,
    /// A transport failure, reported in place of the core's end-of-stream.
    io_error: Option<io::Error>,
    finishing: Option<Finishing>,
    /// The transport's write side is shut down: nothing more can be written.
    shut: bool,
    /// The closing event was delivered: the stream is over.
    done: bool,
    /// `Drained` is reported (a session's lifecycle has it; a socket's sink waits by itself).
    report_drained: bool,
    /// When the connection was made: the instant an empty read lease goes back with, as the
    /// core reads no time from one and the clock need not be read for a read that found
    /// nothing (most reads of a busy runtime's polls).
    epoch: Instant,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Conn<T> {
    /// Runs `core` over `io`; nothing is written until the first poll.
    pub(crate) fn new(io: T, core: ClientState) -> Self {
        Conn {
            io,
            core,
            needs_flush: false,
            timer: None,
            waiting: Waiting::None,
            io_error: None,
            finishing: None,
            shut: false,
            done: false,
            report_drained: false,
            epoch: now(),
        }
    }

    pub(crate) fn core(&self) -> &ClientState {
        &self.core
    }

    /// The core, for commands; its bytes go out with the next flush or read.
    pub(crate) fn core_mut(&mut self) -> &mut ClientState {
        &mut self.core
    }

    /// Messages come whole or streamed as configured (`Builder::recv_streaming`), for
    /// `read_event` and the `Stream`, after a `read` or `read_stream` chose otherwise.
    #[inline]
    pub(crate) fn stream_as_configured(&mut self) {
        let on = self.core.config().get_recv_streaming();
        self.core.set_recv_streaming(on);
    }

    /// Reports the core's `Drained` as [`Incoming::Drained`], for a session.
    pub(crate) fn report_drained(&mut self) {
        self.report_drained = true;
    }

    pub(crate) fn io(&self) -> &T {
        &self.io
    }

    /// The next event. Writes what the core has queued (pongs, close echoes, keepalive pings)
    /// along the way, without letting a blocked write stop reading.
    ///
    /// An event already decoded is returned without touching the wakers (only a poll that may
    /// return `Pending` needs the caller's waker registered).
    pub(crate) fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        if !self.done && self.finishing.is_none() {
            match self.core.poll_event() {
                Some(Event::Message(m)) => return Poll::Ready(Some(Incoming::Message(m))),
                Some(event) => {
                    if let Some(incoming) = self.on_event(event) {
                        return Poll::Ready(Some(incoming));
                    }
                }
                None => {}
            }
        }
        self.poll_incoming_io(cx)
    }

    /// The next data message lent to `read` where it was received (see
    /// [`ClientState::poll_message_with`]), or handed to it from its owned copy; any other
    /// event comes back as the `Err`.
    pub(crate) fn poll_message_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        read: &mut impl FnMut(MessageRef<'_>) -> R,
    ) -> Poll<Option<Result<R, Incoming>>> {
        if !self.done && self.finishing.is_none() {
            if let Some(result) = self.core.poll_message_with(&mut *read) {
                return Poll::Ready(Some(Ok(result)));
            }
        }
        Poll::Ready(match ready!(self.poll_incoming(cx)) {
            Some(Incoming::Message(m)) => Some(Ok(read((&m).into()))),
            other => other.map(Err),
        })
    }

    /// [`poll_incoming`](Self::poll_incoming) once no decoded event is waiting.
    fn poll_incoming_io(&mut self, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        self.with_waker(Side::Read, cx, Self::poll_drain)
    }

    /// Polls with the waker the transport and the timer should get for a poll of `side` from
    /// `cx`'s task (see `wake.rs`), noting whether the task waits.
    #[inline]
    fn with_waker<R>(
        &mut self,
        side: Side,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Self, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let waker = self.waiting.waker_for(side, cx.waker());
        let result = poll(self, &mut Context::from_waker(&waker));
        self.waiting.polled(side, cx.waker(), result.is_ready());
        result
    }

    /// The core's drain, with the transport's readiness in between.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if self.finishing.is_some() {
                return self.poll_finish(cx).map(Some);
            }
            // While a write is blocked, events are still taken and reads still made: two peers
            // that each wait for the other to read before reading would never move again.
            let event = match self.poll_write_out(cx) {
                Poll::Ready(Ok(())) => match self.core.poll_event() {
                    // Decoding can queue bytes without an event (the answer to a Close): they
                    // are written at the top of the loop.
                    None if self.core.peek_transmit().is_some() => continue,
                    event => event,
                },
                Poll::Ready(Err(e)) => {
                    self.fail(e);
                    continue;
                }
                Poll::Pending => self.core.poll_event(),
            };
            match event {
                Some(event) => {
                    if let Some(incoming) = self.on_event(event) {
                        return Poll::Ready(Some(incoming));
                    }
                }
                None => {
                    // The timer and the read would be refused: no lease handed back unread.
                    ready!(poll_budget(cx));
                    let deadline = self.core.poll_timeout();
                    if self.poll_deadline(deadline, cx).is_ready() {
                        self.core.handle_timeout(now());
                        continue;
                    }
                    if self.core.is_recv_paused() {
                        // Nothing is read: TCP pushes back on the server. `resume_recv` or a
                        // close wakes this side.
                        return Poll::Pending;
                    }
                    ready!(self.poll_read_input(cx));
                }
            }
        }
    }

    /// Reads once from the transport straight into the core's receive buffer.
    fn poll_read_input(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The core refuses input only while a lease is out, and each lease goes back within
        // this poll: a refusal would be a bug here, reported as a failed transport.
        if let Err(e) = ready!(self.poll_read_lease(cx)) {
            self.fail(io::Error::other(e));
        }
        Poll::Ready(())
    }

    fn poll_read_lease(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), InputError>> {
        let mut lease = self.core.lease_read()?;
        // `read_buf` fills the lease's spare room (tokio handles the uninitialized memory), and
        // dropping the future after one poll is cancel-safe: the lease goes back either way.
        let read = std::pin::pin!(self.io.read_buf(&mut lease.buf_mut())).poll(cx);
        let at = if lease.is_empty() { self.epoch } else { now() };
        self.core.handle_lease(lease, at)?;
        match ready!(read) {
            Ok(0) => self.core.handle_eof()?,
            Ok(_) => {}
            // TLS peers that end without close_notify: the WebSocket close handshake already
            // tells a complete connection from a truncated one.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.core.handle_eof()?,
            Err(e) => self.fail(e),
        }
        Poll::Ready(Ok(()))
    }

    /// What the stream yields for a core event, if anything: `Closed` starts the finish (the
    /// last bytes out, the transport shut down) and the others only wake the writer.
    fn on_event(&mut self, event: Event) -> Option<Incoming> {
        match event {
            Event::Open(response) => {
                // Sends queued before the handshake can go now.
                self.waiting.wake_side(Side::Write);
                // The handshake's timer is not needed by an open connection without keepalive,
                // which may not be polled again for a long while: it would hold its memory and
                // wake the task for nothing.
                if self.core.poll_timeout().is_none() {
                    self.timer = None;
                }
                Some(Incoming::Open(response))
            }
            Event::Message(m) => Some(Incoming::Message(m)),
            Event::MessageStart(kind) => Some(Incoming::MessageStart(kind)),
            Event::MessageData(data) => Some(Incoming::MessageData(data)),
            Event::MessageEnd => Some(Incoming::MessageEnd),
            Event::Ping(p) => Some(Incoming::Ping(p)),
            Event::Pong(p) => Some(Incoming::Pong(p)),
            Event::Closed(closed) => {
                let (code, clean) = (closed.code, closed.clean);
                let failure = self.io_error.take().map(Error::Io);
                let (reason, error) = match Error::ending(*closed, failure) {
                    Ok(closed) => (closed.reason, closed.error.map(Error::from)),
                    Err(failure) => (failure.to_string(), Some(failure)),
                };
                let deadline = now() + self.core.config().get_close_timeout();
                self.finishing = Some(Finishing {
                    ending: Box::new(Ending {
                        code,
                        reason,
                        clean,
                        error,
                    }),
                    deadline,
                });
                self.waiting.wake_side(Side::Write);
                None
            }
            Event::Drained => {
                // A writer waiting in `poll_ready` may proceed.
                self.waiting.wake_side(Side::Write);
                self.report_drained.then_some(Incoming::Drained)
            }
            // Whatever later versions of the core add.
            _ => None,
        }
    }

    /// Ready when a message can be accepted, or when the connection is closing and
    /// `start_send` will say so: anything but a full buffer.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.accepts_sends() {
            return Poll::Ready(Ok(()));
        }
        self.with_waker(Side::Write, cx, |c, cx| loop {
            if c.accepts_sends() {
                return Poll::Ready(Ok(()));
            }
            ready!(c.poll_write_out(cx)).map_err(|e| c.fail_copy(e))?;
            if !c.accepts_sends() {
                // Queued before the handshake: only the stream's `Open` releases the queue, and
                // it wakes this side when it does.
                return Poll::Pending;
            }
        })
    }

    /// Whether a send would not have to wait: it is accepted, or refused for good.
    pub(crate) fn accepts_sends(&self) -> bool {
        !matches!(self.core.check_send(), Err(SendError::BufferFull { .. }))
    }

    /// Queues with `queue`, taken as it runs, once a send would not have to wait: the first
    /// step of `feed` and of each `send_*`. Ready at once when it ran already.
    #[inline]
    pub(crate) fn poll_queue<Q>(
        &mut self,
        cx: &mut Context<'_>,
        queue: &mut Option<Q>,
    ) -> Poll<Result<(), Error>>
    where
        Q: FnOnce(&mut Self) -> Result<(), Error>,
    {
        if queue.is_none() {
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_ready(cx))?;
        let queue = queue.take().expect("checked above");
        Poll::Ready(queue(self))
    }

    /// Queues `message`; a large payload nothing else shares is sent without a copy.
    pub(crate) fn start_send(&mut self, message: Message) -> Result<(), Error> {
        self.core.send_message(message).map_err(Error::Send)
    }

    /// Writes everything the core has to write now. Before the handshake completes, queued
    /// messages stay queued: the core releases them on the 101.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_waker(Side::Write, cx, |c, cx| {
            ready!(c.poll_write_out(cx)).map_err(|e| c.fail_copy(e))?;
            Poll::Ready(Ok(()))
        })
    }

    /// Starts the closing handshake with 1000 unless one is under way, and flushes.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // A no-op when a close is under way already.
        self.close(CloseCode::NORMAL, "")?;
        self.poll_flush(cx)
    }

    /// Starts the closing handshake (a no-op when one is under way); a reader that paused
    /// reads again, as the handshake needs the server's Close.
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.core.close(code, reason, now())?;
        self.waiting.wake_side(Side::Read);
        Ok(())
    }

    /// Stops reading the transport once open; see [`ClientState::pause_recv`].
    pub(crate) fn pause_recv(&mut self) {
        self.core.pause_recv();
    }

    /// Reads again, waking the reader.
    pub(crate) fn resume_recv(&mut self) {
        self.core.resume_recv(now());
        self.waiting.wake_side(Side::Read);
    }

    /// Writes what the core has to write from where it lies, a frame's header and its
    /// uncopied payload in one vectored write, then flushes the transport.
    #[inline]
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Most calls (each turn of the drain) find nothing to write: they cost a test, not a
        // call that saves and restores the writer's registers.
        if self.shut || (!self.needs_flush && self.core.peek_transmit().is_none()) {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_queued(cx)
    }

    /// [`poll_write_out`](Self::poll_write_out) with something to write or flush.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(poll_budget(cx));
        while let Some((head, body)) = self.core.peek_transmit() {
            let io = Pin::new(&mut self.io);
            let n = match (head.is_empty(), body.is_empty()) {
                (false, false) => {
                    let slices = [IoSlice::new(head), IoSlice::new(body)];
                    ready!(io.poll_write_vectored(cx, &slices))?
                }
                (false, true) => ready!(io.poll_write(cx, head))?,
                (true, _) => ready!(io.poll_write(cx, body))?,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.core.advance_transmit(n);
            self.needs_flush = true;
        }
        if self.needs_flush {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.needs_flush = false;
        }
        Poll::Ready(Ok(()))
    }

    /// The last bytes (a final Close frame) out and the transport shut down, then the ending.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        let deadline = self.finishing.as_ref().map(|f| f.deadline);
        if self.poll_deadline(deadline, cx).is_pending() {
            // Write errors no longer matter: the connection is over and its cause is known.
            match self.poll_write_out(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {
                    if Pin::new(&mut self.io).poll_shutdown(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Err(_)) => {}
            }
        }
        self.shut = true;
        self.done = true;
        let finishing = self.finishing.take().expect("poll_finish while finishing");
        Poll::Ready(Incoming::Closed(finishing.ending))
    }

    /// Ready once `deadline` has passed; pending (with the timer armed) before, or when `None`.
    fn poll_deadline(&mut self, deadline: Option<Instant>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(at) = deadline else {
            self.timer = None;
            return Poll::Pending;
        };
        let tokio_at = tokio::time::Instant::from_std(at);
        let (armed, sleep) = self
            .timer
            .get_or_insert_with(|| (at, Box::pin(tokio::time::sleep_until(tokio_at))));
        if *armed != at {
            sleep.as_mut().reset(tokio_at);
            *armed = at;
        }
        sleep.as_mut().poll(cx)
    }

    /// The transport failed: the core ends the connection, and the stream reports `e` as the
    /// cause.
    fn fail(&mut self, e: io::Error) {
        // Never refused: every lease is handed back within the poll that took it.
        match stream_reset(&e) {
            // A stream of a multiplexed connection (HTTP/2) that was reset: the core's input.
            Some(reset) => {
                let _ = self.core.handle_stream_reset(reset);
            }
            None => {
                self.io_error.get_or_insert(e);
                let _ = self.core.handle_eof();
            }
        }
        self.waiting.wake_side(Side::Read);
    }

    /// Like [`fail`](Self::fail) for the sink, which reports the error too: both halves get it.
    fn fail_copy(&mut self, e: io::Error) -> Error {
        let copy = match stream_reset(&e) {
            Some(reset) => Error::StreamReset(reset),
            None => Error::Io(io::Error::new(e.kind(), e.to_string())),
        };
        self.fail(e);
        copy
    }
}
