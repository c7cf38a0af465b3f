//! The event client: Workerman's `AsyncTcpConnection` callbacks and `reConnect`, on a thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use ws_proto::{
    CloseCode, Message, MessageType, Outbox, Pong, Reconnect, ReconnectPolicy, Response, SendError,
};

use crate::builder::Builder;
use crate::events::Ahead;
use crate::socket::WebSocket;
use crate::{Error, Event};

/// Callbacks of the event [`Client`]; every method has a no-op default.
///
/// The `client` argument sends through the client's outbox (see [`ClientHandle::send`]) and
/// reaches the current connection; keep a clone to send from another thread.
#[allow(unused_variables)]
pub trait Handler {
    /// TCP is up (and TLS done) and the handshake request is on its way (Workerman's
    /// `onConnect`). Messages sent now, and those sent while there was no connection, go out
    /// right after the handshake, in order, ahead of anything sent later.
    fn on_connect(&mut self, client: &ClientHandle) {}
    /// The server accepted the handshake (Workerman's `onWebSocketConnect`).
    fn on_open(&mut self, client: &ClientHandle, response: &Response) {}
    /// A complete message, text or binary.
    fn on_message(&mut self, client: &ClientHandle, message: Message) {}
    /// The server sent a ping; the pong is already on its way.
    fn on_ping(&mut self, client: &ClientHandle, payload: &[u8]) {}
    /// The server sent a pong, with the round trip of the ping it answers (the outbox's own
    /// acknowledgement pongs are not reported).
    fn on_pong(&mut self, client: &ClientHandle, pong: &Pong) {}
    /// The outbox reached its limit ([`Builder::outbox_limit`](crate::Builder::outbox_limit),
    /// Workerman's `onBufferFull`): sends now wait, or are refused by
    /// [`ClientHandle::try_send`], until [`on_drain`](Self::on_drain). Called on the client's
    /// thread, right after the callback whose send filled it, or with the next event when
    /// another thread's send did.
    fn on_buffer_full(&mut self, client: &ClientHandle) {}
    /// The outbox was full and has room again (Workerman's `onBufferDrain`).
    fn on_drain(&mut self, client: &ClientHandle) {}
    /// A connection that reached [`on_connect`](Self::on_connect) ended, with the close code and
    /// reason (1006 and a description of the failure when it was not closed cleanly).
    fn on_close(&mut self, code: CloseCode, reason: &str) {}
    /// Something failed: DNS, TCP, TLS, a handshake rejection (with its status), the protocol,
    /// a timeout or the transport. Called before the matching [`on_close`](Self::on_close).
    fn on_error(&mut self, error: &Error) {}
    /// Messages the client accepted and cannot show were delivered, in the order they were
    /// sent: after a connection that failed (after its [`on_close`](Self::on_close)), those it
    /// carried that the server did not acknowledge (it may have read some); when `run` ends,
    /// those that never reached a connection. See [`Outbox`].
    fn on_undelivered(&mut self, messages: Vec<Message>) {}
}

/// A connection that reports through a [`Handler`] and reconnects by a [`ReconnectPolicy`].
///
/// [`run`](Self::run) connects, dispatches events until the connection ends, waits as the policy
/// says and connects again, until the policy gives up or [`ClientHandle::stop`] is called. The
/// attempt count starts over after every successful handshake. Messages go through an
/// [`Outbox`], as with the tokio adapter's `Session`: see [`ClientHandle::send`].
#[derive(Debug)]
pub struct Client<H> {
    builder: Builder,
    handler: H,
    policy: ReconnectPolicy,
    control: Arc<Control>,
}

/// Sends through a [`Client`]'s outbox, stops it, and reaches its current connection, from any
/// thread.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    control: Arc<Control>,
}

#[derive(Debug)]
struct Control {
    state: Mutex<ControlState>,
    /// Wakes a reconnection delay early when the client is stopped.
    stopped: Condvar,
    /// Wakes senders waiting for room in the outbox.
    room: Condvar,
    /// The type of `send_default_type`'s bytes.
    default_type: MessageType,
    /// The outbox filled up and `on_buffer_full` is due; an atomic, so the client's thread
    /// checks it after every event without taking the lock.
    became_full: AtomicBool,
}

#[derive(Debug)]
struct ControlState {
    stopped: bool,
    current: Option<WebSocket>,
    outbox: Outbox,
    /// The thread in `run`: its callbacks must not wait for room that only it can make.
    runner: Option<ThreadId>,
    /// `pause_recv` is in force, for this connection and the next.
    recv_paused: bool,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientHandle {
    /// Sends `message` through the outbox: written now on the current connection, or kept for
    /// the next one while there is none, and held until the server is known to have read it
    /// (see [`Outbox`]; what cannot be shown delivered comes back through
    /// [`Handler::on_undelivered`]). Waits while the outbox is full
    /// ([`Builder::outbox_limit`](crate::Builder::outbox_limit)), except in the client's own
    /// callbacks, where waiting could never end: there a full outbox is refused, as by
    /// [`try_send`](Self::try_send). After [`stop`](Self::stop) sends are refused with
    /// [`SendError::Closed`]. An `Err` always means the message was not taken: once the outbox
    /// has it, a failing write is reported as the connection's end.
    pub fn send(&self, message: Message) -> Result<(), Error> {
        let mut state = self.control.lock();
        while let Err(SendError::BufferFull { .. }) = state.outbox.check_send() {
            if state.stopped || state.runner == Some(std::thread::current().id()) {
                break;
            }
            state = self
                .control
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        self.send_locked(state, message)
    }

    /// Sends `message` through the outbox if it has room, without waiting: a full outbox is
    /// [`SendError::BufferFull`] (wait for [`Handler::on_drain`]).
    pub fn try_send(&self, message: Message) -> Result<(), Error> {
        self.send_locked(self.control.lock(), message)
    }

    /// Sends a text message; see [`send`](Self::send).
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send(Message::text(text))
    }

    /// Sends a binary message; see [`send`](Self::send).
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send(Message::binary(data.to_vec()))
    }

    /// Sends `data` as the configured default type
    /// ([`Builder::default_message_type`](crate::Builder::default_message_type), Workerman's
    /// `websocketType`): with text, the default, `data` must be UTF-8. See [`send`](Self::send).
    pub fn send_default_type(&self, data: &[u8]) -> Result<(), Error> {
        self.send(Message::of_type(self.control.default_type, data)?)
    }

    fn send_locked(
        &self,
        mut state: MutexGuard<'_, ControlState>,
        message: Message,
    ) -> Result<(), Error> {
        if state.stopped {
            return Err(SendError::Closed.into());
        }
        let ControlState {
            current, outbox, ..
        } = &mut *state;
        let ws = current.clone();
        match &ws {
            None => outbox.send(message, None)?,
            Some(ws) => ws.with_core(|core| outbox.send(message, Some(core)))?,
        }
        if outbox.poll_full() {
            self.control.became_full.store(true, Ordering::Relaxed);
        }
        // Written without the client's lock: a blocked write must not stop the reader from
        // taking the acknowledgements. The outbox has the message: a write that fails is the
        // connection's end, which the handler hears of (`on_error`, `on_close`, and
        // `on_undelivered` unless the server acknowledged it), so the send itself succeeded.
        drop(state);
        if let Some(ws) = ws {
            let _ = ws.flush();
        }
        Ok(())
    }

    /// Stops reading from the server (Workerman's `pauseRecv()`): no more messages reach the
    /// handler, the server's bytes wait in the kernel and TCP pushes back on it, until
    /// [`resume_recv`](Self::resume_recv). Sends and keepalive pings still go out; the pong
    /// timeout waits for the resume. It lasts across reconnections: a new connection's
    /// handshake completes, then it waits too.
    pub fn pause_recv(&self) {
        let mut state = self.control.lock();
        state.recv_paused = true;
        if let Some(ws) = &state.current {
            ws.pause_recv();
        }
    }

    /// Takes messages again after [`pause_recv`](Self::pause_recv); what waited is delivered
    /// in order.
    pub fn resume_recv(&self) {
        let mut state = self.control.lock();
        state.recv_paused = false;
        if let Some(ws) = &state.current {
            ws.resume_recv();
        }
    }

    /// Whether [`pause_recv`](Self::pause_recv) is in force.
    pub fn is_recv_paused(&self) -> bool {
        self.control.lock().recv_paused
    }

    /// Stops reconnecting and closes the current connection with 1000 (normal closure); `run`
    /// returns once it has ended.
    pub fn stop(&self) {
        let mut state = self.control.lock();
        state.stopped = true;
        if let Some(ws) = &state.current {
            // Refused only when the connection is already closing or closed: it is ending anyway.
            let _ = ws.close(CloseCode::NORMAL, "");
        }
        drop(state);
        self.control.stopped.notify_all();
        self.control.room.notify_all();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.control.lock().stopped
    }

    /// The current connection, if one is up (its [`rtt`](WebSocket::rtt) and
    /// [`stats`](WebSocket::stats) among the rest). Sends on it bypass the outbox: they go on
    /// this connection or nowhere.
    pub fn connection(&self) -> Option<WebSocket> {
        self.control.lock().current.clone()
    }

    /// Payload bytes the outbox holds: messages waiting for a connection or not yet
    /// acknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.control.lock().outbox.buffered_amount()
    }
}

impl<H: Handler> Client<H> {
    /// A client that connects as `builder` says and reports to `handler`. It does not reconnect
    /// until [`reconnect`](Self::reconnect) sets a policy.
    pub fn new(builder: Builder, handler: H) -> Self {
        let outbox = Outbox::new(builder.options().get_outbox_limit());
        let default_type = builder.options().get_config().get_default_message_type();
        Client {
            builder,
            handler,
            policy: ReconnectPolicy::never(),
            control: Arc::new(Control {
                state: Mutex::new(ControlState {
                    stopped: false,
                    current: None,
                    outbox,
                    runner: None,
                    recv_paused: false,
                }),
                stopped: Condvar::new(),
                room: Condvar::new(),
                default_type,
                became_full: AtomicBool::new(false),
            }),
        }
    }

    /// When and how often to reconnect after a connection ends or fails
    /// (`ReconnectPolicy::fixed(Duration::from_secs(1))` is Workerman's `reConnect(1)`).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A handle to send, and to stop the client, from another thread or from a callback.
    pub fn handle(&self) -> ClientHandle {
        ClientHandle {
            control: self.control.clone(),
        }
    }

    /// Connects and dispatches events until the policy gives up or the client is stopped, then
    /// returns the handler. Messages still in the outbox are given to
    /// [`Handler::on_undelivered`] last.
    pub fn run(mut self) -> H {
        self.control.lock().runner = Some(std::thread::current().id());
        let mut reconnect = Reconnect::new(self.policy);
        while !self.control.lock().stopped {
            if self.session() {
                reconnect.opened();
            }
            self.control.lock().current = None;
            // Without OS randomness the jitter is lost, not the reconnection.
            let random = getrandom::u32().unwrap_or(u32::MAX);
            let Some((_, delay)) = reconnect.next_delay(random) else {
                break;
            };
            self.wait(delay);
        }
        let mut state = self.control.lock();
        state.runner = None;
        state.stopped = true;
        let left = state.outbox.stop();
        drop(state);
        self.control.room.notify_all();
        if !left.is_empty() {
            self.handler.on_undelivered(left);
        }
        self.handler
    }

    /// One connection from DNS to its end. Returns whether the handshake succeeded.
    fn session(&mut self) -> bool {
        let handle = self.handle();
        let Client {
            builder,
            handler,
            control,
            ..
        } = self;
        let mut transport_up = false;
        let connected = builder.connect_with(&mut |ws| {
            transport_up = true;
            let mut state = control.lock();
            state.current = Some(ws.clone());
            // What an earlier connection of this attempt (a redirect) was given never went out.
            state.outbox.requeue();
            ws.with_core(|core| {
                // The handler takes messages whole.
                core.set_recv_streaming(false);
                state.outbox.pump(core);
            });
            if state.recv_paused {
                ws.pause_recv();
            }
            if state.stopped {
                // `stop` ran before this connection existed; it ends right after the handshake.
                let _ = ws.close(CloseCode::NORMAL, "");
            }
            drop(state);
            handler.on_connect(&handle);
        });
        let (ws, response) = match connected {
            Ok(connected) => connected,
            Err(error) => {
                control.lock().outbox.requeue();
                handler.on_error(&error);
                if transport_up {
                    handler.on_close(error.close_code(), &error.to_string());
                }
                return false;
            }
        };
        handler.on_open(&handle, &response);
        // Messages that arrived together are taken in one step, as by `WebSocket::events`.
        let mut ahead = Ahead::default();
        let clean = loop {
            // A plain load first: the swap's locked instruction only when it is due.
            if control.became_full.load(Ordering::Relaxed)
                && control.became_full.swap(false, Ordering::Relaxed)
            {
                handler.on_buffer_full(&handle);
            }
            match ahead.next_item(&ws, false) {
                Ok(Some(Event::Message(message))) => handler.on_message(&handle, message),
                Ok(Some(Event::Ping(payload))) => handler.on_ping(&handle, &payload),
                Ok(Some(Event::Pong(pong))) => {
                    let mut state = control.lock();
                    let ours = ws.with_core(|core| state.outbox.handle_pong(&pong.payload, core));
                    let drained = state.outbox.poll_drained();
                    drop(state);
                    if ours {
                        control.room.notify_all();
                    } else {
                        handler.on_pong(&handle, &pong);
                    }
                    if drained {
                        handler.on_drain(&handle);
                    }
                }
                Ok(None) => {
                    // The connection's buffer drained: more of what waits can go.
                    let mut state = control.lock();
                    ws.with_core(|core| state.outbox.pump(core));
                }
                Ok(Some(Event::Close(frame))) => {
                    handler.on_close(frame.code, &frame.reason);
                    break true;
                }
                // `Open` came through `connect_with`; later kinds of event are not dispatched.
                Ok(Some(_)) => {}
                Err(error) => {
                    handler.on_error(&error);
                    handler.on_close(error.close_code(), &error.to_string());
                    break false;
                }
            }
        };
        let undelivered = control.lock().outbox.detach(clean);
        control.room.notify_all();
        if !undelivered.is_empty() {
            handler.on_undelivered(undelivered);
        }
        true
    }

    /// Sleeps for `delay`, or until the client is stopped.
    fn wait(&self, delay: Duration) {
        let deadline = Instant::now() + delay;
        let mut state = self.control.lock();
        while !state.stopped {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .control
                .stopped
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
