//! [`Builder`]: every option of a connection, then `connect`, `connect_with`, `start` or
//! `session`.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::{Config, MessageType, ReconnectPolicy, Request, RequestError, Response};

use crate::connect::Connector;
use crate::error::Error;
use crate::redirect::Redirects;
use crate::session::Session;
use crate::stream::{Event, WebSocket};
use crate::tls::{MaybeTlsStream, TlsOptions};

/// Redirects followed by default, as browsers' fetch does for HTTP.
const DEFAULT_MAX_REDIRECTS: u32 = 5;
/// DNS, TCP and TLS together, by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for a connection. An invalid URL, header, origin or subprotocol is reported by the
/// method that connects, so the options chain without `?`.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_proto_tokio::Error> {
/// use std::time::Duration;
/// let (socket, response) = ws_proto_tokio::Builder::new("wss://example.com/chat")
///     .header("Cookie", "session=1")
///     .origin("https://example.com")
///     .subprotocol("chat.v2")
///     .ping_interval(Duration::from_secs(30))
///     .pong_timeout(Duration::from_secs(10))
///     .connect()
///     .await?;
/// assert_eq!(response.subprotocol(), socket.subprotocol());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    request: Result<Request, RequestError>,
    config: Config,
    connector: Connector,
    max_redirects: u32,
}

impl Builder {
    /// Options for a `ws://` or `wss://` URL, with the defaults of [`Config`], a 10 s connect
    /// timeout, the webpki roots and up to 5 redirects.
    pub fn new(url: &str) -> Builder {
        Builder::from_request_result(Request::new(url))
    }

    /// Options for a request built with [`Request`]'s own methods.
    pub fn from_request(request: Request) -> Builder {
        Builder::from_request_result(Ok(request))
    }

    fn from_request_result(request: Result<Request, RequestError>) -> Builder {
        Builder {
            request,
            config: Config::default(),
            connector: Connector {
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                tls: TlsOptions::default(),
            },
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }

    fn map_request(mut self, f: impl FnOnce(Request) -> Result<Request, RequestError>) -> Builder {
        self.request = self.request.and_then(f);
        self
    }

    fn map_config(mut self, f: impl FnOnce(&mut Config)) -> Builder {
        f(&mut self.config);
        self
    }

    /// Adds a header to the handshake request (Workerman's `headers`). Headers the handshake
    /// sets itself are refused.
    pub fn header(self, name: &str, value: &str) -> Builder {
        self.map_request(|r| r.with_header(name, value))
    }

    /// Sets `Origin` (Workerman's `websocketOrigin`).
    pub fn origin(self, origin: &str) -> Builder {
        self.map_request(|r| r.with_origin(origin))
    }

    /// Offers a subprotocol; call once per protocol, in order of preference. The server's
    /// choice is verified and available from [`Response::subprotocol`].
    pub fn subprotocol(self, protocol: &str) -> Builder {
        self.map_request(|r| r.with_subprotocol(protocol))
    }

    /// Replaces the whole [`Config`] (limits, timers, defaults).
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// The type of a plain `send` in a [`Session`](crate::Session) (Workerman's
    /// `websocketType`).
    pub fn default_message_type(self, kind: MessageType) -> Builder {
        self.map_config(|c| {
            c.default_message_type(kind);
        })
    }

    /// Sends a keepalive ping at this interval while open (default off), like Workerman's
    /// `websocketPingInterval`; with [`pong_timeout`](Self::pong_timeout) a silent server is
    /// detected.
    pub fn ping_interval(self, interval: Duration) -> Builder {
        self.map_config(|c| {
            c.ping_interval(Some(interval));
        })
    }

    /// After a keepalive ping, how long the server has to send anything before it is
    /// considered dead (default 10 s).
    pub fn pong_timeout(self, timeout: Duration) -> Builder {
        self.map_config(|c| {
            c.pong_timeout(timeout);
        })
    }

    /// Time allowed for the opening handshake once the transport is up (default 10 s).
    pub fn handshake_timeout(self, timeout: Option<Duration>) -> Builder {
        self.map_config(|c| {
            c.handshake_timeout(timeout);
        })
    }

    /// Time allowed for the closing handshake (default 5 s).
    pub fn close_timeout(self, timeout: Duration) -> Builder {
        self.map_config(|c| {
            c.close_timeout(timeout);
        })
    }

    /// Largest received frame (default 16 MiB).
    pub fn max_frame_size(self, bytes: usize) -> Builder {
        self.map_config(|c| {
            c.max_frame_size(bytes);
        })
    }

    /// Largest received message (default 64 MiB).
    pub fn max_message_size(self, bytes: usize) -> Builder {
        self.map_config(|c| {
            c.max_message_size(bytes);
        })
    }

    /// Largest handshake response head (default 16 KiB).
    pub fn max_response_size(self, bytes: usize) -> Builder {
        self.map_config(|c| {
            c.max_response_size(bytes);
        })
    }

    /// Most headers in the handshake response (default 64).
    pub fn max_response_headers(self, count: usize) -> Builder {
        self.map_config(|c| {
            c.max_response_headers(count);
        })
    }

    /// How much of a rejection's body is kept (default 4 KiB).
    pub fn max_rejection_body(self, bytes: usize) -> Builder {
        self.map_config(|c| {
            c.max_rejection_body(bytes);
        })
    }

    /// The send buffer's high-water mark, where `poll_ready` starts waiting (default 1 MiB).
    pub fn send_high_water_mark(self, bytes: usize) -> Builder {
        self.map_config(|c| {
            c.send_high_water_mark(bytes);
        })
    }

    /// Time allowed for DNS, TCP and TLS together (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connector.connect_timeout = Some(timeout);
        self
    }

    /// Trusts `root` for `wss://`, in addition to the webpki roots.
    pub fn root_certificate(mut self, root: CertificateDer<'static>) -> Builder {
        self.connector.tls.extra_roots.push(root);
        self
    }

    /// Uses this rustls configuration for `wss://` instead of the default one (client
    /// certificates, custom verification, ALPN). Roots given with
    /// [`root_certificate`](Self::root_certificate) are then ignored.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Builder {
        self.connector.tls.config = Some(config);
        self
    }

    /// How many redirects (3xx with `Location`) `connect` and sessions follow (default 5;
    /// 0 reports the first as [`Error::Rejected`]). A redirect from `wss` to `ws` is refused.
    pub fn max_redirects(mut self, limit: usize) -> Builder {
        self.max_redirects = u32::try_from(limit).unwrap_or(u32::MAX);
        self
    }

    /// Connects: DNS (trying every address), TCP, TLS for `wss://`, then the opening
    /// handshake, following redirects. Returns the open socket and the server's response.
    ///
    /// Cancel-safe in the sense that dropping it abandons the attempt and closes the transport;
    /// there is no connection to lose yet.
    pub async fn connect(self) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
        let mut request = self.request?;
        let mut redirects = Redirects::new(self.max_redirects);
        loop {
            let io = self.connector.connect(&request).await?;
            let socket = WebSocket::start(io, request.clone(), self.config.clone())?;
            match handshake(socket).await {
                Ok(open) => return Ok(open),
                Err(e) => request = redirects.follow(&request, e)?,
            }
        }
    }

    /// Runs the opening handshake over a transport the caller already has (a Unix socket, a
    /// TLS stream, a proxy tunnel) and returns the open socket and the response. Redirects
    /// cannot be followed on a given transport and are reported as [`Error::Rejected`].
    pub async fn connect_with<T>(self, io: T) -> Result<(WebSocket<T>, Response), Error>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        handshake(self.start(io)?).await
    }

    /// Starts the handshake over `io` and returns at once. Messages sent before the server
    /// accepts are queued (up to the high-water mark) and go out first, in order, right after
    /// the 101; the stream's first item is [`Event::Open`] with the response.
    pub fn start<T>(self, io: T) -> Result<WebSocket<T>, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        WebSocket::start(io, self.request?, self.config)
    }

    /// A connection that reconnects by `policy` when it drops, as a stream of lifecycle events.
    /// Nothing happens until the session is polled; only an invalid request fails here.
    pub fn session(self, policy: ReconnectPolicy) -> Result<Session, Error> {
        Ok(Session::new(
            self.request?,
            self.config,
            self.connector,
            self.max_redirects,
            policy,
        ))
    }
}

/// Drives the socket to its `Open` event.
async fn handshake<T>(mut socket: WebSocket<T>) -> Result<(WebSocket<T>, Response), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match socket.recv().await {
            Some(Ok(Event::Open(response))) => return Ok((socket, *response)),
            Some(Err(e)) => return Err(e),
            // The core reports nothing before `Open`, and ends with an error if it never opens.
            Some(Ok(_)) => continue,
            None => return Err(Error::UnexpectedEof),
        }
    }
}

/// Connects to a `ws://` or `wss://` URL with the default options; see [`Builder`] for more.
pub async fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    Builder::new(url).connect().await
}
