//! [`Builder`]: every option of a connection, then `connect`, `connect_with`, `start` or
//! `session`.

use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::trace::ConnectSpan;
use ws_proto::{ConnectPlan, IntoClientRequest, ReconnectPolicy, Response};

use crate::conn::{now, seed};
use crate::connect::within_connect_timeout;
use crate::session::Session;
use crate::stream::WebSocket;
use crate::tls::{self, MaybeTlsStream};
use crate::{Error, Event};

ws_proto::client_builder! {
    /// Options for a connection: every setter of [`ClientOptions`] (the request, limits, timers,
    /// redirects), plus TLS. An invalid URL, header, origin or subprotocol is reported by the
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
    Builder {
        http2: Http2Options,
    }
}

/// Without the `http2` feature there is nothing to set.
#[cfg(not(feature = "http2"))]
#[derive(Debug, Clone, Default)]
pub(crate) struct Http2Options;

#[cfg(feature = "http2")]
pub(crate) use crate::http2::Http2Options;

/// The socket for one attempt of `plan`, its handshake started: over HTTP/2 when the feature
/// is on and the server allows it (see [`Builder::http_version`]), else over HTTP/1.1.
pub(crate) async fn start_attempt(
    plan: &mut ConnectPlan,
    tls: &ws_proto::TlsOptions,
    http2: &Http2Options,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    #[cfg(feature = "http2")]
    return crate::http2::open(plan, tls, http2).await;
    #[cfg(not(feature = "http2"))]
    {
        let _ = http2;
        let io = crate::connect::transport(plan, tls).await?;
        Ok(WebSocket::start(io, plan.start(seed()?, now())))
    }
}

#[cfg(feature = "http2")]
#[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
impl Builder {
    /// Which HTTP version carries a `wss://` WebSocket (default [`HttpVersion::Auto`]: HTTP/2
    /// when the server chooses `h2` by ALPN and enables extended CONNECT, RFC 8441, else
    /// HTTP/1.1). A server that speaks HTTP/2 without extended CONNECT gets a fresh HTTP/1.1
    /// connection: the HTTP/2 one cannot carry an upgrade. [`HttpVersion::Http2`] makes that
    /// an error ([`Error::Http2`]) and, for `ws://`, speaks HTTP/2 with prior knowledge.
    ///
    /// The socket is the same [`WebSocket`] either way; over HTTP/2 its transport is
    /// [`MaybeTlsStream::Http2`], and a reset stream or a GOAWAY ends it with
    /// [`Error::StreamReset`] and the HTTP/2 error code.
    ///
    /// [`HttpVersion::Auto`]: crate::HttpVersion::Auto
    /// [`HttpVersion::Http2`]: crate::HttpVersion::Http2
    pub fn http_version(mut self, version: crate::HttpVersion) -> Self {
        self.options.set_http_version(version);
        self
    }

    /// Opens WebSockets over HTTP/2 on the pool's connection to the origin, one stream each,
    /// rather than on a connection of their own: see [`Http2Pool`](crate::Http2Pool).
    pub fn http2_pool(mut self, pool: &crate::Http2Pool) -> Self {
        self.http2.pool = Some(pool.clone());
        self
    }
}

impl Builder {
    /// Connects: DNS (trying every address), TCP, TLS for `wss://`, then the opening
    /// handshake, following redirects. Returns the open socket and the server's response.
    /// With the `http2` feature, a `wss://` WebSocket may run over HTTP/2: see
    /// `Builder::http_version`.
    ///
    /// Cancel-safe in the sense that dropping it abandons the attempt and closes the transport;
    /// there is no connection to lose yet.
    pub async fn connect(self) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
        let mut plan = ConnectPlan::new(&self.options)?;
        let span = ConnectSpan::new(&plan);
        span.instrument(async {
            loop {
                let socket = start_attempt(&mut plan, &self.tls, &self.http2).await?;
                match handshake(socket).await {
                    Ok(open) => return Ok(open),
                    Err(e) => plan.follow(e)?,
                }
            }
        })
        .await
    }

    /// Runs the opening handshake over a stream the caller already has (a Unix socket, a proxy
    /// tunnel), with TLS over it for a `wss://` URL (verified for the URL's host with the
    /// builder's roots), and returns the open socket and the response. The connect timeout
    /// bounds TLS. Redirects cannot be followed on a given stream and are reported as
    /// [`Error::Rejected`]. A stream that is already TLS goes with a `ws://` URL (with the port,
    /// `ws://host:443/`, if the `Host` header should carry it).
    /// The handshake is HTTP/1.1's: the stream carries this one WebSocket.
    pub async fn connect_with<T>(
        self,
        io: T,
    ) -> Result<(WebSocket<MaybeTlsStream<T>>, Response), Error>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let plan = ConnectPlan::new(&self.options)?;
        let io = within_connect_timeout(&plan, tls::secure(&plan, &self.tls, io)).await?;
        handshake(WebSocket::start(io, plan.start(seed()?, now()))).await
    }

    /// Starts the handshake over `io` and returns at once. Messages sent before the server
    /// accepts are queued (up to the high-water mark) and go out first, in order, right after
    /// the 101; the stream's first item is [`Event::Open`] with the response.
    pub fn start<T>(self, io: T) -> Result<WebSocket<T>, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let plan = ConnectPlan::new(&self.options)?;
        Ok(WebSocket::start(io, plan.start(seed()?, now())))
    }

    /// A connection that reconnects by `policy` when it drops, as a stream of lifecycle events.
    /// Nothing happens until the session is polled; only an invalid request fails here.
    pub fn session(self, policy: ReconnectPolicy) -> Result<Session, Error> {
        ConnectPlan::new(&self.options)?;
        Ok(Session::new(self.options, self.tls, self.http2, policy))
    }
}

/// Drives the socket to its `Open` event.
async fn handshake<T>(mut socket: WebSocket<T>) -> Result<(WebSocket<T>, Response), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match socket.read_event().await? {
            Event::Open(response) => return Ok((socket, *response)),
            // The core reports nothing else before `Open`, and ends with an error if it never
            // opens.
            _ => continue,
        }
    }
}

/// Connects to a `ws://` or `wss://` URL (or an [`IntoClientRequest`]: a `Request`, an
/// `http::Uri`, an `http::Request<()>`) with the default options; see [`Builder`] for more.
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    Builder::new(request).connect().await
}
