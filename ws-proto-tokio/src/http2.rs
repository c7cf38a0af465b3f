//! WebSockets over HTTP/2 (RFC 8441) with the `h2` crate: the transport is one HTTP/2 stream
//! ([`Http2Stream`], a [`MaybeTlsStream`] variant, so the socket is the same [`WebSocket`]),
//! its connection shared by the sockets to one origin through an [`Http2Pool`]. Which version
//! to speak and what a refusal leads to are the core's ([`ConnectPlan::speaks_http2`],
//! [`ConnectPlan::http2_refused`]); this module moves bytes and headers.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ws_proto::{ClientState, ConnectPlan, Headers, StreamReset, TlsOptions};

use crate::conn::{now, seed, stream_reset};
use crate::connect::{transport, within_connect_timeout};
use crate::stream::WebSocket;
use crate::tls::MaybeTlsStream;
use crate::Error;

/// The receive window of each WebSocket's stream: what the server may send ahead of the
/// reader. Capacity is released as the core takes the bytes, so a paused reader pushes back
/// on its own stream only.
const STREAM_WINDOW: u32 = 256 << 10;
/// The receive window of the whole connection, shared by its streams.
const CONNECTION_WINDOW: u32 = 4 << 20;

/// The HTTP/2 settings of a builder beyond the version (which is `ClientOptions`'): the pool,
/// if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Http2Options {
    pub(crate) pool: Option<Http2Pool>,
}

/// One HTTP/2 stream carrying a WebSocket: DATA both ways, END_STREAM as the end, a reset
/// (RST_STREAM) or the connection's GOAWAY as an I/O error whose inner error is the core's
/// [`StreamReset`] with the HTTP/2 error code (the socket reports it as
/// [`Error::StreamReset`]).
///
/// Writes take the stream's send capacity (HTTP/2 flow control): a write waits until the
/// server's window has room, as a TCP write waits for the socket buffer. Reads hand out DATA
/// and release its capacity as it is taken.
pub struct Http2Stream {
    send: Option<SendStream<Bytes>>,
    recv: Option<RecvStream>,
    /// Received DATA not yet read.
    pending: Bytes,
    /// This stream's share of a pooled connection.
    lease: Option<Lease>,
    /// How the connection ended, once it has.
    connection: ConnectionEnd,
    /// The connection failed under the stream: the error, held until the connection's end
    /// says whether a GOAWAY explains it.
    fault: Option<io::Error>,
}

/// The end of an HTTP/2 connection, as its task saw it: the GOAWAY that ended it, if one did.
/// A GOAWAY's code reaches the streams only this way: h2 fails them with the broken
/// connection that follows it.
#[derive(Clone, Default)]
struct ConnectionEnd(Arc<Mutex<EndState>>);

#[derive(Default)]
struct EndState {
    /// `Some` once the connection ended, with its GOAWAY if any.
    ended: Option<Option<StreamReset>>,
    waiting: Vec<std::task::Waker>,
}

impl ConnectionEnd {
    fn finish(&self, goaway: Option<StreamReset>) {
        let mut state = lock(&self.0);
        state.ended = Some(goaway);
        for waker in state.waiting.drain(..) {
            waker.wake();
        }
    }

    fn poll_end(&self, cx: &mut Context<'_>) -> Poll<Option<StreamReset>> {
        let mut state = lock(&self.0);
        match state.ended {
            Some(goaway) => Poll::Ready(goaway),
            None => {
                state.waiting.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl fmt::Debug for Http2Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http2Stream")
            .field("open", &self.send.is_some())
            .field("pending", &self.pending.len())
            .field("pooled", &self.lease.is_some())
            .finish()
    }
}

/// An `h2` error before the socket runs: a reset or GOAWAY as [`Error::StreamReset`], anything
/// else as I/O.
fn h2_failed(e: h2::Error) -> Error {
    let e = h2_error(e);
    match stream_reset(&e) {
        Some(reset) => Error::StreamReset(reset),
        None => Error::Io(e),
    }
}

/// An `h2` error as an I/O error: a reset or GOAWAY carries the core's [`StreamReset`], which
/// the socket reports as [`Error::StreamReset`].
fn h2_error(e: h2::Error) -> io::Error {
    match e.reason() {
        Some(reason) if e.is_go_away() => io::Error::other(StreamReset::goaway(reason.into())),
        Some(reason) if e.is_reset() => io::Error::other(StreamReset::reset(reason.into())),
        _ => match e.into_io() {
            Some(io) => io,
            None => io::Error::other("HTTP/2 stream failed"),
        },
    }
}

impl AsyncRead for Http2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.fault.is_some() {
            return this.poll_fault(cx).map(Err);
        }
        loop {
            let Some(recv) = &mut this.recv else {
                return Poll::Ready(Ok(()));
            };
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                // The bytes are the core's now: the server may send as many more.
                let _ = recv.flow_control().release_capacity(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(recv.poll_data(cx)) {
                Some(Ok(data)) => this.pending = data,
                Some(Err(e)) => return this.failed(cx, e).map(Err),
                // END_STREAM: the end of the input.
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl Http2Stream {
    /// The error for `e`: a reset or GOAWAY as it is; the connection's failure once the
    /// connection's end tells whether a GOAWAY came first.
    fn failed(&mut self, cx: &mut Context<'_>, e: h2::Error) -> Poll<io::Error> {
        if !e.is_io() {
            return Poll::Ready(h2_error(e));
        }
        self.fault = Some(h2_error(e));
        self.poll_fault(cx)
    }

    fn poll_fault(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let goaway = ready!(self.connection.poll_end(cx));
        let fault = self.fault.take();
        Poll::Ready(match (goaway, fault) {
            (Some(goaway), _) => io::Error::other(goaway),
            (None, Some(fault)) => fault,
            (None, None) => io::ErrorKind::BrokenPipe.into(),
        })
    }

    /// Sends as much of `bufs` as the stream's capacity allows, as one DATA payload.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if self.fault.is_some() {
            return self.poll_fault(cx).map(Err);
        }
        let Some(send) = &mut self.send else {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        };
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        send.reserve_capacity(len);
        loop {
            let capacity = send.capacity().min(len);
            if capacity > 0 {
                let mut data = BytesMut::with_capacity(capacity);
                for b in bufs {
                    let take = b.len().min(capacity - data.len());
                    data.extend_from_slice(&b[..take]);
                }
                return match send.send_data(data.freeze(), false) {
                    Ok(()) => Poll::Ready(Ok(capacity)),
                    Err(e) => self.failed(cx, e).map(Err),
                };
            }
            match ready!(send.poll_capacity(cx)) {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return self.failed(cx, e).map(Err),
                None => {
                    // The stream is gone: its reset says why.
                    return match ready!(send.poll_reset(cx)) {
                        Ok(reason) => {
                            let reset = StreamReset::reset(reason.into());
                            Poll::Ready(Err(io::Error::other(reset)))
                        }
                        Err(e) => self.failed(cx, e).map(Err),
                    };
                }
            }
        }
    }
}

impl AsyncWrite for Http2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// The connection's task writes the frames: nothing to flush here.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the stream (END_STREAM) and lets go of it: the connection closes once no stream
    /// and no pool holds it.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(mut send) = this.send.take() {
            let _ = send.send_data(Bytes::new(), true);
        }
        this.recv = None;
        this.pending = Bytes::new();
        this.lease = None;
        Poll::Ready(Ok(()))
    }
}

/// A pool of HTTP/2 connections, one per origin, shared by the WebSockets of every builder
/// given it ([`Builder::http2_pool`](crate::Builder::http2_pool)): each WebSocket is a stream
/// with its own flow control, closing one leaves the others open, and a connection closes when
/// the last WebSocket on it does (or, with [`idle_timeout`](Self::idle_timeout), that long
/// after). Cheap to clone: clones are the same pool.
///
/// Without a pool every WebSocket over HTTP/2 has a connection of its own. A pool also
/// remembers an origin whose HTTP/2 does not enable extended CONNECT, and goes to it over
/// HTTP/1.1 directly from then on.
///
/// Connections are keyed by origin (and proxy), not by TLS settings: builders that share a pool
/// should trust the same roots and present the same client certificate, as the connection the
/// first one opened serves them all.
#[derive(Clone, Default)]
pub struct Http2Pool {
    inner: Arc<PoolInner>,
}

#[derive(Default)]
struct PoolInner {
    connections: Mutex<HashMap<String, Pooled>>,
    /// Origins whose HTTP/2 does not carry WebSockets: asked for HTTP/1.1 straight away.
    http1_only: Mutex<std::collections::HashSet<String>>,
    /// Per origin, held while its connection is set up, so sockets opened together share one
    /// (and setups to different origins do not wait for each other).
    connecting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    idle_timeout: Mutex<Duration>,
}

/// A pooled connection: the handle that opens streams, and how many WebSockets use it.
#[derive(Clone)]
struct Pooled {
    send: SendRequest<Bytes>,
    end: ConnectionEnd,
    live: Arc<AtomicUsize>,
}

/// An HTTP/2 connection: the handle that opens streams, and its end.
type Connection = (SendRequest<Bytes>, ConnectionEnd);

/// A WebSocket's use of a pooled connection; the last one dropped lets the pool close it.
struct Lease {
    pool: Weak<PoolInner>,
    key: String,
    live: Arc<AtomicUsize>,
}

impl fmt::Debug for Http2Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http2Pool")
            .field("connections", &self.connections())
            .finish()
    }
}

impl Http2Pool {
    /// An empty pool whose connections close with their last WebSocket.
    pub fn new() -> Http2Pool {
        Http2Pool::default()
    }

    /// Keeps a connection open for `timeout` after its last WebSocket closed, for the next one
    /// to reuse (default zero: closed at once). Clones share the setting, as they share the
    /// connections.
    pub fn idle_timeout(self, timeout: Duration) -> Http2Pool {
        *lock(&self.inner.idle_timeout) = timeout;
        self
    }

    /// How many connections the pool holds open.
    pub fn connections(&self) -> usize {
        lock(&self.inner.connections).len()
    }

    /// The open connection to `key` with a lease on it, if there is one that still takes
    /// streams.
    fn take(&self, key: &str) -> Option<(Connection, Lease)> {
        let mut connections = lock(&self.inner.connections);
        let pooled = connections.get(key)?.clone();
        let ended = lock(&pooled.end.0).ended.is_some();
        if ended || !is_usable(&pooled.send) {
            connections.remove(key);
            return None;
        }
        let lease = self.lease(key, &pooled.live);
        Some(((pooled.send, pooled.end), lease))
    }

    /// Lets go of the connection to `key` if it is still the one `end` belongs to.
    fn evict(&self, key: &str, end: &ConnectionEnd) {
        let mut connections = lock(&self.inner.connections);
        if connections
            .get(key)
            .is_some_and(|p| Arc::ptr_eq(&p.end.0, &end.0))
        {
            connections.remove(key);
        }
    }

    fn insert(&self, key: &str, (send, end): Connection) -> Lease {
        let live = Arc::new(AtomicUsize::new(0));
        let lease = self.lease(key, &live);
        let pooled = Pooled { send, end, live };
        lock(&self.inner.connections).insert(key.to_owned(), pooled);
        lease
    }

    /// The lock held while the connection to `key` is set up.
    fn setting_up(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = lock(&self.inner.connecting);
        // Locks nobody holds or waits for go, so the map holds only origins being set up.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }

    fn lease(&self, key: &str, live: &Arc<AtomicUsize>) -> Lease {
        live.fetch_add(1, Ordering::SeqCst);
        Lease {
            pool: Arc::downgrade(&self.inner),
            key: key.to_owned(),
            live: live.clone(),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let idle = *lock(&pool.idle_timeout);
        let (key, live) = (std::mem::take(&mut self.key), self.live.clone());
        let close = move |pool: &PoolInner| {
            let mut connections = lock(&pool.connections);
            // Still idle, and still the same connection: dropping the pool's handle closes it
            // (h2 ends a connection that no handle and no stream holds).
            if live.load(Ordering::SeqCst) == 0
                && connections
                    .get(&key)
                    .is_some_and(|p| Arc::ptr_eq(&p.live, &live))
            {
                connections.remove(&key);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !idle.is_zero() => {
                let pool = Arc::downgrade(&pool);
                runtime.spawn(async move {
                    tokio::time::sleep(idle).await;
                    if let Some(pool) = pool.upgrade() {
                        close(&pool);
                    }
                });
            }
            _ => close(&pool),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a connection's handle can still open streams, without waiting.
fn is_usable(send: &SendRequest<Bytes>) -> bool {
    let mut send = send.clone();
    let waker = std::task::Waker::noop();
    !matches!(
        send.poll_ready(&mut Context::from_waker(waker)),
        Poll::Ready(Err(_))
    )
}

/// The pool's key: the server's origin and the way there.
fn origin_key(plan: &ConnectPlan) -> String {
    let request = plan.request();
    let (host, port) = plan.address();
    format!(
        "{}://{}:{} via {host}:{port}",
        if request.is_secure() { "wss" } else { "ws" },
        request.host(),
        request.port(),
    )
}

/// Opens the socket for `plan`: a stream of a pooled HTTP/2 connection, a new HTTP/2
/// connection's stream, or HTTP/1.1 as before, as the plan decides from ALPN and the server's
/// SETTINGS. Returns the socket with its handshake started.
pub(crate) async fn open(
    plan: &mut ConnectPlan,
    tls: &TlsOptions,
    options: &Http2Options,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let mut retried = false;
    loop {
        let route = {
            // Sockets opened together wait for the first to set the connection up, then
            // share it; each sends its CONNECT and waits for the answer without holding the
            // others up.
            let _connecting = match &options.pool {
                Some(pool) => Some(pool.setting_up(&origin_key(plan)).lock_owned().await),
                None => None,
            };
            route(plan, tls, options).await?
        };
        let (connection, lease) = match route {
            Route::Http1(io) => return Ok(WebSocket::start(io, plan.start(seed()?, now()))),
            Route::Http2(connection, lease) => (connection, lease),
        };
        let end = connection.1.clone();
        match start_stream(plan, connection, lease).await {
            Ok(socket) => return Ok(socket),
            Err(Opening::Failed(e)) => return Err(e),
            // A pooled connection that takes no more streams (the server is going away):
            // once more, on a new connection.
            Err(Opening::Refused(e)) => match &options.pool {
                Some(pool) if !retried => {
                    pool.evict(&origin_key(plan), &end);
                    retried = true;
                }
                _ => return Err(e),
            },
        }
    }
}

/// Where a WebSocket runs.
#[allow(clippy::large_enum_variant)] // Moved once, into the socket.
enum Route {
    /// On a transport of its own, with the HTTP/1.1 upgrade.
    Http1(MaybeTlsStream),
    /// On a stream of this HTTP/2 connection, pooled or not.
    Http2(Connection, Option<Lease>),
}

async fn route(
    plan: &mut ConnectPlan,
    tls: &TlsOptions,
    options: &Http2Options,
) -> Result<Route, Error> {
    let key = origin_key(plan);
    if let Some(pool) = &options.pool {
        if lock(&pool.inner.http1_only).contains(&key) {
            plan.http2_refused()?;
        }
    }
    loop {
        if let Some((connection, lease)) = options.pool.as_ref().and_then(|p| p.take(&key)) {
            return Ok(Route::Http2(connection, Some(lease)));
        }
        let io = transport(plan, &with_alpn(plan, tls)?).await?;
        let alpn = match &io {
            MaybeTlsStream::Tls(tls) => tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec),
            _ => None,
        };
        if !plan.speaks_http2(alpn.as_deref())? {
            return Ok(Route::Http1(io));
        }
        let connection = within_connect_timeout(plan, handshake(io)).await?;
        if !connection.0.is_extended_connect_protocol_enabled() {
            // The HTTP/2 connection cannot carry an upgrade: a fresh one for HTTP/1.1, or the
            // error when HTTP/2 is required. Dropping the handle closes this one. A pool
            // remembers, so the next WebSocket to the origin goes straight to HTTP/1.1.
            plan.http2_refused()?;
            if let Some(pool) = &options.pool {
                lock(&pool.inner.http1_only).insert(key.clone());
            }
            continue;
        }
        let lease = options
            .pool
            .as_ref()
            .map(|p| p.insert(&key, connection.clone()));
        return Ok(Route::Http2(connection, lease));
    }
}

/// The builder's TLS settings with the plan's ALPN protocols.
fn with_alpn(plan: &ConnectPlan, tls: &TlsOptions) -> Result<TlsOptions, Error> {
    let tls_error = |e: rustls::Error| Error::Tls {
        host: plan.request().host().to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    };
    let mut config = (*tls.client_config().map_err(tls_error)?).clone();
    config.alpn_protocols = plan.alpn_protocols().iter().map(|p| p.to_vec()).collect();
    let mut tls = tls.clone();
    tls.set_config(Arc::new(config));
    Ok(tls)
}

/// The HTTP/2 connection preface both ways, the connection left running in a task; returns
/// once the server's SETTINGS are in (its preface starts with them, RFC 9113 §3.4, so they
/// precede the answer to a PING).
async fn handshake(io: MaybeTlsStream) -> Result<Connection, Error> {
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(h2_failed)?;
    let mut ping = connection
        .ping_pong()
        .expect("a new connection's ping_pong");
    let end = ConnectionEnd::default();
    let ending = end.clone();
    tokio::spawn(async move {
        let goaway = match connection.await {
            Err(e) if e.is_go_away() => e.reason().map(|r| StreamReset::goaway(r.into())),
            _ => None,
        };
        ending.finish(goaway);
    });
    ping.ping(h2::Ping::opaque()).await.map_err(h2_failed)?;
    Ok((send, end))
}

/// Why no socket came of a stream.
enum Opening {
    /// The connection opened no stream (it went away, say): another connection may.
    Refused(Error),
    /// The attempt failed.
    Failed(Error),
}

/// Runs `step` until the core's deadline, if it has one: `None` once the deadline passed.
async fn within<T>(
    deadline: Option<std::time::Instant>,
    step: impl Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at.into(), step).await.ok(),
        None => Some(step.await),
    }
}

/// Sends the core's extended CONNECT on a new stream and hands the response to the core; the
/// socket then runs on the stream. Waiting for a stream (the server's concurrency limit) and
/// for the answer are both bounded by the handshake timeout.
async fn start_stream(
    plan: &ConnectPlan,
    (send, connection): Connection,
    lease: Option<Lease>,
) -> Result<WebSocket<MaybeTlsStream>, Opening> {
    let mut core = plan.start_extended_connect(seed().map_err(Opening::Failed)?, now());
    let connect = core.extended_connect();
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(connect.uri());
    for (name, value) in connect.headers() {
        request = request.header(name, value);
    }
    let mut request = request
        .body(())
        .map_err(|e| Opening::Failed(Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e))))?;
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from(connect.protocol()));
    let opened = within(core.poll_timeout(), async {
        let mut send = send.ready().await?;
        send.send_request(request, false)
    })
    .await;
    let mut stream = Http2Stream {
        send: None,
        recv: None,
        pending: Bytes::new(),
        lease,
        connection,
        fault: None,
    };
    match opened {
        Some(Ok((response, send))) => {
            stream.send = Some(send);
            stream.recv = response_within_deadline(&mut core, response)
                .await
                .map_err(Opening::Failed)?;
        }
        Some(Err(e)) => return Err(Opening::Refused(h2_failed(e))),
        // The core reports the timeout, through the socket.
        None => core.handle_timeout(now()),
    }
    Ok(WebSocket::start(
        MaybeTlsStream::Http2(Box::new(stream)),
        core,
    ))
}

/// Waits for the response within the core's handshake deadline and hands it to the core;
/// returns the response's body, the WebSocket's input. A reset or a deadline passed is the
/// core's to report, through the socket.
async fn response_within_deadline(
    core: &mut ClientState,
    response: h2::client::ResponseFuture,
) -> Result<Option<RecvStream>, Error> {
    let Some(answer) = within(core.poll_timeout(), response).await else {
        core.handle_timeout(now());
        return Ok(None);
    };
    match answer {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let headers: Headers = parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes()))
                .collect();
            core.handle_connect_response(parts.status.as_u16(), headers, now())?;
            Ok(Some(body))
        }
        Err(e) => match h2_failed(e) {
            Error::StreamReset(reset) => {
                core.handle_stream_reset(reset)?;
                Ok(None)
            }
            other => Err(other),
        },
    }
}
