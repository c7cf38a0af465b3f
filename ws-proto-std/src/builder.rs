//! [`Builder`] and [`connect`]: everything a connection takes, then DNS, TCP, TLS and the
//! handshake, following redirects.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;
use ws_proto::{ClientState, Config, MessageType, Request, RequestError, Response};

use crate::error::Error;
use crate::socket::WebSocket;
use crate::tls::{self, Tls};
use crate::transport::{Locked, Transport};

/// Connects to a `ws://` or `wss://` URL with the default settings and waits for the
/// handshake to complete.
///
/// ```no_run
/// let ws = ws_proto_std::connect("wss://echo.example/chat")?;
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), ws_proto_std::Error>(())
/// ```
pub fn connect(url: &str) -> Result<WebSocket, Error> {
    Builder::new(url).connect()
}

/// Everything a connection takes: the request (URL, headers, origin, subprotocols), the core's
/// limits and timers, the TCP connect timeout, TLS roots and the redirect limit.
///
/// Setters chain; an invalid header or subprotocol is reported by `connect`.
///
/// ```no_run
/// use std::time::Duration;
/// use ws_proto_std::Builder;
///
/// let ws = Builder::new("wss://example.com/chat")
///     .header("Cookie", "PHPSID=82u98fjhakfusuanfnahfi")
///     .origin("https://example.com")
///     .subprotocol("chat.v2")
///     .ping_interval(Duration::from_secs(55))
///     .pong_timeout(Duration::from_secs(10))
///     .connect()?;
/// # Ok::<(), ws_proto_std::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    request: Result<Request, RequestError>,
    config: Config,
    connect_timeout: Duration,
    max_redirects: usize,
    extra_roots: Vec<CertificateDer<'static>>,
    tls_config: Option<Arc<ClientConfig>>,
}

impl Builder {
    /// Starts from a `ws://` or `wss://` URL.
    pub fn new(url: &str) -> Builder {
        Builder::from_request(Request::new(url))
    }

    /// Starts from a request built with [`ws_proto::Request`].
    pub fn from_request(request: Result<Request, RequestError>) -> Builder {
        Builder {
            request,
            config: Config::default(),
            connect_timeout: Duration::from_secs(10),
            max_redirects: 5,
            extra_roots: Vec::new(),
            tls_config: None,
        }
    }

    fn map_request(mut self, f: impl FnOnce(Request) -> Result<Request, RequestError>) -> Self {
        self.request = self.request.and_then(f);
        self
    }

    fn map_config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    // ---- the request ----

    /// Adds a handshake header (for example `Cookie`).
    pub fn header(self, name: &str, value: &str) -> Self {
        self.map_request(|r| r.with_header(name, value))
    }

    /// Sets the `Origin` header.
    pub fn origin(self, origin: &str) -> Self {
        self.map_request(|r| r.with_origin(origin))
    }

    /// Offers a subprotocol; call once per protocol, in order of preference. The server's choice
    /// is checked against the offers.
    pub fn subprotocol(self, protocol: &str) -> Self {
        self.map_request(|r| r.with_subprotocol(protocol))
    }

    // ---- the core's settings ----

    /// Replaces all limits, timers and defaults at once.
    pub fn config(self, config: Config) -> Self {
        self.map_config(|c| *c = config)
    }

    /// The type of a plain [`WebSocket::send`] (default text, like Workerman's `websocketType`).
    pub fn default_message_type(self, message_type: MessageType) -> Self {
        self.map_config(|c| {
            c.default_message_type(message_type);
        })
    }

    /// Sends a keepalive ping at this interval while open (default: off).
    pub fn ping_interval(self, interval: Duration) -> Self {
        self.map_config(|c| {
            c.ping_interval(Some(interval));
        })
    }

    /// After a keepalive ping, the server must send something within this time or the
    /// connection is closed as dead (default 10 s).
    pub fn pong_timeout(self, timeout: Duration) -> Self {
        self.map_config(|c| {
            c.pong_timeout(timeout);
        })
    }

    /// Time allowed from the start of the connection (TLS included) to the 101 (default 10 s;
    /// `None` waits forever).
    pub fn handshake_timeout(self, timeout: Option<Duration>) -> Self {
        self.map_config(|c| {
            c.handshake_timeout(timeout);
        })
    }

    /// Time allowed for the closing handshake (default 5 s).
    pub fn close_timeout(self, timeout: Duration) -> Self {
        self.map_config(|c| {
            c.close_timeout(timeout);
        })
    }

    /// Largest received frame payload (default 16 MiB).
    pub fn max_frame_size(self, bytes: usize) -> Self {
        self.map_config(|c| {
            c.max_frame_size(bytes);
        })
    }

    /// Largest received message (default 64 MiB).
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.map_config(|c| {
            c.max_message_size(bytes);
        })
    }

    /// Largest handshake response head (default 16 KiB).
    pub fn max_response_size(self, bytes: usize) -> Self {
        self.map_config(|c| {
            c.max_response_size(bytes);
        })
    }

    /// Most headers in the handshake response (default 64).
    pub fn max_response_headers(self, count: usize) -> Self {
        self.map_config(|c| {
            c.max_response_headers(count);
        })
    }

    /// How much of a rejection's body is kept (default 4 KiB).
    pub fn max_rejection_body(self, bytes: usize) -> Self {
        self.map_config(|c| {
            c.max_rejection_body(bytes);
        })
    }

    /// The send buffer's high-water mark (default 1 MiB): sends are refused with
    /// [`SendError::BufferFull`](ws_proto::SendError::BufferFull) above it.
    pub fn send_high_water_mark(self, bytes: usize) -> Self {
        self.map_config(|c| {
            c.send_high_water_mark(bytes);
        })
    }

    // ---- transport ----

    /// Time allowed for each TCP connection attempt (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many redirects (3xx with `Location`) to follow (default 5; 0 reports them as
    /// rejections).
    pub fn max_redirects(mut self, redirects: usize) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// Trusts `cert` as a root for `wss://`, besides the webpki roots.
    pub fn root_certificate(mut self, cert: CertificateDer<'static>) -> Self {
        self.extra_roots.push(cert);
        self
    }

    /// Uses this rustls configuration for `wss://` instead of the default one (the roots from
    /// [`root_certificate`](Self::root_certificate) are then not used).
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    // ---- connecting ----

    /// Resolves the host, connects (trying every address), starts TLS for `wss://`, and waits
    /// for the handshake, following redirects.
    pub fn connect(&self) -> Result<WebSocket, Error> {
        self.connect_with(&mut |_| {}).map(|(ws, _)| ws)
    }

    /// Runs the handshake over `transport` (and TLS over it for `wss://`). The URL's host and
    /// port name the server; nothing is resolved or connected, and redirects are reported as
    /// rejections.
    pub fn connect_transport(&self, transport: impl Transport) -> Result<WebSocket, Error> {
        let request = self.request.clone()?;
        let ws = self.start(transport, request)?;
        ws.wait_open()?;
        Ok(ws)
    }

    /// Runs the handshake over any `Read + Write` stream (see [`Locked`] for what a stream
    /// that is not a [`Transport`] cannot do).
    pub fn connect_stream<S: Read + Write + Send + 'static>(
        &self,
        stream: S,
    ) -> Result<WebSocket, Error> {
        self.connect_transport(Locked::new(stream))
    }

    /// [`connect`](Self::connect), calling `on_transport` on every connection made (redirects
    /// make several) once TCP is up and the handshake request is sent.
    pub(crate) fn connect_with(
        &self,
        on_transport: &mut dyn FnMut(&WebSocket),
    ) -> Result<(WebSocket, Response), Error> {
        let mut request = self.request.clone()?;
        let mut redirects = 0;
        loop {
            let stream = crate::connect::tcp(request.host(), request.port(), self.connect_timeout)?;
            let ws = self.start(stream, request.clone())?;
            on_transport(&ws);
            let error = match ws.wait_open() {
                Ok(response) => return Ok((ws, response)),
                Err(error) => error,
            };
            let Some(location) = error.rejection().and_then(|r| r.location()) else {
                return Err(error);
            };
            if redirects == self.max_redirects {
                return Err(Error::TooManyRedirects {
                    limit: self.max_redirects,
                    location: location.to_owned(),
                });
            }
            redirects += 1;
            request = request.redirect(location)?;
        }
    }

    /// The connection over `transport` with its handshake request sent.
    fn start(&self, transport: impl Transport, request: Request) -> Result<WebSocket, Error> {
        let tls = if request.is_secure() {
            let config = match &self.tls_config {
                Some(config) => config.clone(),
                None => tls::client_config(&self.extra_roots, request.host())?,
            };
            Some(Tls::new(config, request.host())?)
        } else {
            None
        };
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(Error::Entropy)?;
        let core = ClientState::new(request, self.config.clone(), seed, Instant::now());
        WebSocket::new(transport, core, tls)
    }
}
