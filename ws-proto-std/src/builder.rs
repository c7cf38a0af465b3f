//! [`Builder`] and [`connect`]: everything a connection takes, then DNS, TCP, TLS and the
//! handshake, following redirects.

use std::io::{Read, Write};
use std::time::Instant;

use ws_proto::trace::{self, ConnectSpan};
use ws_proto::{ConnectPlan, IntoClientRequest, Response};

use crate::socket::WebSocket;
use crate::tls::{self, Tls};
use crate::transport::{Locked, Transport};
use crate::Error;

/// Connects to a `ws://` or `wss://` URL (or an [`IntoClientRequest`]: a `Request`, an
/// `http::Uri`, an `http::Request<()>`) with the default settings and waits for the handshake
/// to complete.
///
/// ```no_run
/// let (ws, response) = ws_proto_std::connect("wss://echo.example/chat")?;
/// println!("{:?}", response.subprotocol());
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), ws_proto_std::Error>(())
/// ```
pub fn connect(request: impl IntoClientRequest) -> Result<(WebSocket, Response), Error> {
    Builder::new(request).connect()
}

ws_proto::client_builder! {
    /// Everything a connection takes: every setter of [`ClientOptions`] (the request, limits,
    /// timers, redirects), plus TLS.
    ///
    /// Setters chain; an invalid header or subprotocol is reported by `connect`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ws_proto_std::Builder;
    ///
    /// let (ws, _response) = Builder::new("wss://example.com/chat")
    ///     .header("Cookie", "PHPSID=82u98fjhakfusuanfnahfi")
    ///     .origin("https://example.com")
    ///     .subprotocol("chat.v2")
    ///     .ping_interval(Duration::from_secs(55))
    ///     .pong_timeout(Duration::from_secs(10))
    ///     .connect()?;
    /// # Ok::<(), ws_proto_std::Error>(())
    /// ```
    Builder
}

impl Builder {
    // ---- connecting ----

    /// Resolves the host, connects (trying every address), runs TLS for `wss://`, all within
    /// the connect timeout, and waits for the handshake, following redirects. Returns the open
    /// socket and the server's response, as the tokio adapter (and tungstenite) does.
    pub fn connect(&self) -> Result<(WebSocket, Response), Error> {
        self.connect_with(&mut |_| {})
    }

    /// Runs the handshake over `transport` (and TLS over it for `wss://`). The URL's host and
    /// port name the server; nothing is resolved or connected, and redirects are reported as
    /// rejections.
    pub fn connect_transport(
        &self,
        transport: impl Transport,
    ) -> Result<(WebSocket, Response), Error> {
        let plan = ConnectPlan::new(&self.options)?;
        let ws = self.start(transport, &plan, Instant::now())?;
        let response = ws.wait_open()?;
        Ok((ws, response))
    }

    /// Runs the handshake over any `Read + Write` stream (see [`Locked`] for what a stream
    /// that is not a [`Transport`] cannot do).
    pub fn connect_stream<S: Read + Write + Send + 'static>(
        &self,
        stream: S,
    ) -> Result<(WebSocket, Response), Error> {
        self.connect_transport(Locked::new(stream))
    }

    /// [`connect`](Self::connect), calling `on_transport` on every connection made (redirects
    /// make several) once TCP and TLS are up and the handshake request is sent.
    pub(crate) fn connect_with(
        &self,
        on_transport: &mut dyn FnMut(&WebSocket),
    ) -> Result<(WebSocket, Response), Error> {
        let mut plan = ConnectPlan::new(&self.options)?;
        ConnectSpan::new(&plan).in_scope(|| loop {
            let started = Instant::now();
            let stream = crate::connect::tcp(&plan, started)?;
            let ws = self.start(stream, &plan, started)?;
            on_transport(&ws);
            let error = match ws.wait_open() {
                Ok(response) => return Ok((ws, response)),
                Err(error) => error,
            };
            plan.follow(error)?;
        })
    }

    /// The connection over `transport`, TLS done within the connect timeout of an attempt that
    /// started at `started`, its handshake request sent.
    fn start(
        &self,
        transport: impl Transport,
        plan: &ConnectPlan,
        started: Instant,
    ) -> Result<WebSocket, Error> {
        let tls = match plan.tls_server_name() {
            Some(name) => {
                let config = self
                    .tls
                    .client_config()
                    .map_err(|e| tls::tls_error(name, e))?;
                let mut tls = Tls::new(config, name)?;
                if let Err(e) = tls.handshake(&transport, plan, started) {
                    trace::tls_handshake(name, Err(&e));
                    return Err(e);
                }
                Some(tls)
            }
            None => None,
        };
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(|e| {
            Error::Io(std::io::Error::other(format!(
                "the OS random number generator failed: {e}"
            )))
        })?;
        WebSocket::new(transport, plan.start(seed, Instant::now()), tls)
    }
}
