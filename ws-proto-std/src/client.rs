//! The event client: Workerman's `AsyncTcpConnection` callbacks and `reConnect`, on a thread.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ws_proto::{CloseCode, Message, Reconnect, ReconnectPolicy, Response};

use crate::builder::Builder;
use crate::socket::WebSocket;
use crate::{Error, Event};

/// Callbacks of the event [`Client`]; every method has a no-op default.
///
/// The `ws` argument is the current connection: send from any callback, or keep a clone to
/// send from another thread.
#[allow(unused_variables)]
pub trait Handler {
    /// TCP is up (and TLS started) and the handshake request is on its way (Workerman's
    /// `onConnect`). Sends made now are queued and go out right after the handshake, in order,
    /// ahead of anything sent later.
    fn on_connect(&mut self, ws: &WebSocket) {}
    /// The server accepted the handshake (Workerman's `onWebSocketConnect`).
    fn on_open(&mut self, ws: &WebSocket, response: &Response) {}
    /// A complete message, text or binary.
    fn on_message(&mut self, ws: &WebSocket, message: Message) {}
    /// The server sent a ping; the pong is already on its way.
    fn on_ping(&mut self, ws: &WebSocket, payload: &[u8]) {}
    /// The server sent a pong.
    fn on_pong(&mut self, ws: &WebSocket, payload: &[u8]) {}
    /// The send buffer fell below its high-water mark again (Workerman's `onBufferDrain`).
    fn on_drain(&mut self, ws: &WebSocket) {}
    /// A connection that reached [`on_connect`](Self::on_connect) ended, with the close code and
    /// reason (1006 and a description of the failure when it was not closed cleanly).
    fn on_close(&mut self, code: CloseCode, reason: &str) {}
    /// Something failed: DNS, TCP, TLS, a handshake rejection (with its status), the protocol,
    /// a timeout or the transport. Called before the matching [`on_close`](Self::on_close).
    fn on_error(&mut self, error: &Error) {}
}

/// A connection that reports through a [`Handler`] and reconnects by a [`ReconnectPolicy`].
///
/// [`run`](Self::run) connects, dispatches events until the connection ends, waits as the policy
/// says and connects again, until the policy gives up or [`ClientHandle::stop`] is called. The
/// attempt count starts over after every successful handshake.
#[derive(Debug)]
pub struct Client<H> {
    builder: Builder,
    handler: H,
    policy: ReconnectPolicy,
    control: Arc<Control>,
}

/// Stops a running [`Client`] from any thread, and reaches its current connection.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    control: Arc<Control>,
}

#[derive(Debug, Default)]
struct Control {
    state: Mutex<ControlState>,
    /// Wakes a reconnection delay early when the client is stopped.
    stopped: Condvar,
}

#[derive(Debug, Default)]
struct ControlState {
    stopped: bool,
    current: Option<WebSocket>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientHandle {
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
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.control.lock().stopped
    }

    /// The current connection, if one is up.
    pub fn connection(&self) -> Option<WebSocket> {
        self.control.lock().current.clone()
    }
}

impl<H: Handler> Client<H> {
    /// A client that connects as `builder` says and reports to `handler`. It does not reconnect
    /// until [`reconnect`](Self::reconnect) sets a policy.
    pub fn new(builder: Builder, handler: H) -> Self {
        Client {
            builder,
            handler,
            policy: ReconnectPolicy::never(),
            control: Arc::default(),
        }
    }

    /// When and how often to reconnect after a connection ends or fails
    /// (`ReconnectPolicy::fixed(Duration::from_secs(1))` is Workerman's `reConnect(1)`).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A handle to stop the client from another thread or from a callback.
    pub fn handle(&self) -> ClientHandle {
        ClientHandle {
            control: self.control.clone(),
        }
    }

    /// Connects and dispatches events until the policy gives up or the client is stopped, then
    /// returns the handler.
    pub fn run(mut self) -> H {
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
        self.handler
    }

    /// One connection from DNS to its end. Returns whether the handshake succeeded.
    fn session(&mut self) -> bool {
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
            if state.stopped {
                // `stop` ran before this connection existed; it ends right after the handshake.
                let _ = ws.close(CloseCode::NORMAL, "");
            }
            drop(state);
            handler.on_connect(ws);
        });
        let (ws, response) = match connected {
            Ok(connected) => connected,
            Err(error) => {
                handler.on_error(&error);
                if transport_up {
                    handler.on_close(error.close_code(), &error.to_string());
                }
                return false;
            }
        };
        handler.on_open(&ws, &response);
        loop {
            match ws.read_item() {
                Ok(Some(Event::Message(message))) => handler.on_message(&ws, message),
                Ok(Some(Event::Ping(payload))) => handler.on_ping(&ws, &payload),
                Ok(Some(Event::Pong(payload))) => handler.on_pong(&ws, &payload),
                Ok(None) => handler.on_drain(&ws),
                Ok(Some(Event::Close(frame))) => {
                    handler.on_close(frame.code, &frame.reason);
                    return true;
                }
                // `Open` came through `connect_with`; later kinds of event are not dispatched.
                Ok(_) => {}
                Err(error) => {
                    handler.on_error(&error);
                    handler.on_close(error.close_code(), &error.to_string());
                    return true;
                }
            }
        }
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
