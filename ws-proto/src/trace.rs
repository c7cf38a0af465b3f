//! What a connection reports to the `tracing` crate, with the `tracing` feature: the steps the
//! adapters take with I/O (DNS, each TCP attempt, TLS), reported through the functions here so
//! every adapter (yours too) names them alike, beside what the core reports itself (the proxy's
//! steps, the handshake, redirects, closes, timeouts, violations, reconnections). Without the
//! feature every function here is empty and inlined away, and the core's own reports are not
//! compiled at all.
//!
//! Levels: `debug` for each step, `info` for redirects and reconnections, `warn` for timeouts
//! and violations, `trace` for each message and pong; nothing per message above `trace`. The
//! events after the handshake carry `conn`, the connection's number in the process (the same in
//! every event of one connection), since they happen outside any span the client could enter.

use std::io;
use std::net::SocketAddr;

use crate::plan::ConnectPlan;

/// Emits a `tracing` event with the feature; without it, nothing, and its arguments are not
/// evaluated.
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        tracing::$level!($($arg)+);
    }};
}
pub(crate) use event;

/// The URL of the plan's request, for the connect span.
#[cfg(feature = "tracing")]
struct Url<'a>(&'a ConnectPlan);

#[cfg(feature = "tracing")]
impl std::fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let request = self.0.request();
        let scheme = if request.is_secure() { "wss" } else { "ws" };
        write!(
            f,
            "{scheme}://{}:{}{}",
            request.host(),
            request.port(),
            request.target()
        )
    }
}

/// The `ws_connect` span (`info`, field `url`) of a connection attempt, redirects included:
/// DNS, TCP, the proxy, TLS and the handshake happen inside it. Without the feature, nothing.
#[derive(Debug, Clone)]
pub struct ConnectSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl ConnectSpan {
    /// The span for connecting as `plan` says.
    #[inline]
    pub fn new(plan: &ConnectPlan) -> ConnectSpan {
        let _ = plan;
        ConnectSpan {
            #[cfg(feature = "tracing")]
            span: tracing::info_span!("ws_connect", url = %Url(plan)),
        }
    }

    /// Runs `connect` (blocking) inside the span.
    #[inline]
    pub fn in_scope<T>(&self, connect: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(connect);
        #[cfg(not(feature = "tracing"))]
        connect()
    }

    /// `connect` (a future) inside the span, entered each time it is polled.
    #[inline]
    pub fn instrument<F: std::future::Future>(
        &self,
        connect: F,
    ) -> impl std::future::Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(connect, self.span.clone());
        #[cfg(not(feature = "tracing"))]
        connect
    }
}

/// DNS answered for `host` (`debug`): the addresses, or why not.
#[inline]
pub fn resolved(host: &str, port: u16, result: Result<&[SocketAddr], &io::Error>) {
    #[cfg(feature = "tracing")]
    match result {
        Ok(addrs) => tracing::debug!(host, port, addresses = ?addrs, "resolved"),
        Err(error) => tracing::debug!(host, port, %error, "resolution failed"),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (host, port, result);
}

/// A TCP connection to `addr` was attempted (`debug`): connected, or why not.
#[inline]
pub fn tcp_attempt(addr: SocketAddr, result: Result<(), &io::Error>) {
    #[cfg(feature = "tracing")]
    match result {
        Ok(()) => tracing::debug!(%addr, "tcp connected"),
        Err(error) => tracing::debug!(%addr, %error, "tcp connect failed"),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (addr, result);
}

/// The TLS handshake with `server_name` ended (`debug`): the protocol version, cipher suite and
/// ALPN protocol agreed, or why it failed.
#[cfg(feature = "rustls")]
#[inline]
pub fn tls_handshake(
    server_name: &str,
    result: Result<&rustls::CommonState, &dyn std::fmt::Display>,
) {
    #[cfg(feature = "tracing")]
    match result {
        Ok(state) => tracing::debug!(
            server_name,
            version = ?state.protocol_version(),
            suite = ?state.negotiated_cipher_suite().map(|s| s.suite()),
            alpn = ?state.alpn_protocol().map(String::from_utf8_lossy),
            "tls established"
        ),
        Err(error) => tracing::debug!(server_name, %error, "tls failed"),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (server_name, result);
}
