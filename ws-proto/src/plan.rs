//! The connection plan: where to connect, whether TLS runs and for which name, and what a
//! handshake rejection leads to (a redirect followed, or the end), written once for every
//! adapter.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::client::ClientState;
use crate::client_error::ClientError;
use crate::handshake::Rejection;
use crate::http2::{Http2Error, HttpVersion, ALPN_H2, ALPN_HTTP1};
use crate::options::ClientOptions;
use crate::proxy::{Proxy, ProxyError, ProxyHandshake};
use crate::request::{Request, RequestError};
use crate::trace::event;

/// One connection's course, from the first TCP connection to an open WebSocket, redirects
/// included. An adapter asks it where to connect ([`address`](Self::address)), whether to run
/// TLS and for which name ([`tls_server_name`](Self::tls_server_name)), starts the protocol with
/// [`start`](Self::start), and when an attempt fails asks [`follow`](Self::follow) whether to
/// try again elsewhere. Steps that come before TLS
/// (a proxy tunnel) belong here too, so every adapter gets them by moving bytes.
///
/// ```
/// use ws_proto::{ClientOptions, ConnectPlan};
///
/// let plan = ConnectPlan::new(&ClientOptions::new("wss://example.com:8443/chat"))?;
/// assert_eq!(plan.address(), ("example.com", 8443));
/// assert_eq!(plan.tls_server_name(), Some("example.com"));
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    request: Request,
    options: ClientOptions,
    /// The proxy for the current request.
    proxy: Option<Proxy>,
    followed: u32,
    /// The server's HTTP/2 did not carry WebSockets: the next attempts use HTTP/1.1.
    http1_only: bool,
}

impl ConnectPlan {
    /// The plan for `options`; fails if its request is invalid.
    pub fn new(options: &ClientOptions) -> Result<ConnectPlan, RequestError> {
        let request = options.request()?.clone();
        Ok(ConnectPlan {
            proxy: options.proxy_for(&request)?,
            request,
            options: options.clone(),
            followed: 0,
            http1_only: false,
        })
    }

    /// The host and port to open a TCP connection to (every address the host resolves to may
    /// be tried in turn): the proxy's, when there is one.
    pub fn address(&self) -> (&str, u16) {
        match &self.proxy {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (self.request.host(), self.request.port()),
        }
    }

    /// The proxy this attempt goes through.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// The server's host and port, when the proxy wants its address looked up here
    /// (`socks5://` and a host name): pass the address found to
    /// [`proxy_handshake`](Self::proxy_handshake).
    pub fn resolve_target(&self) -> Option<(&str, u16)> {
        let proxy = self.proxy.as_ref()?;
        let host = self.request.host();
        (proxy.resolves_locally() && host.parse::<IpAddr>().is_err())
            .then_some((host, self.request.port()))
    }

    /// The proxy's handshake, once TCP to [`address`](Self::address) is up, when there is a
    /// proxy; `resolved` is the address found for [`resolve_target`](Self::resolve_target).
    /// Drive it to open before TLS; its errors go through
    /// [`proxy_failed`](Self::proxy_failed).
    pub fn proxy_handshake(
        &self,
        resolved: Option<IpAddr>,
    ) -> Result<Option<ProxyHandshake>, ClientError> {
        let Some(proxy) = &self.proxy else {
            return Ok(None);
        };
        let (host, port) = (self.request.host(), self.request.port());
        ProxyHandshake::new(proxy, host, port, resolved, self.options.get_config())
            .map(Some)
            .map_err(|e| self.proxy_failed(e))
    }

    /// The error for a proxy that did not open the tunnel.
    pub fn proxy_failed(&self, error: ProxyError) -> ClientError {
        event!(debug, %error, "proxy handshake failed");
        ClientError::Proxy {
            proxy: self
                .proxy
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            error,
        }
    }

    /// For a `wss://` URL, the name TLS sends as SNI and verifies the certificate for (an IP
    /// address is verified against the certificate's IP addresses and sends no SNI).
    pub fn tls_server_name(&self) -> Option<&str> {
        self.request.is_secure().then(|| self.request.host())
    }

    /// The time allowed for DNS, TCP and TLS together.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.options.get_connect_timeout()
    }

    /// The error for an attempt that outlasted the connect timeout.
    pub fn timed_out(&self) -> ClientError {
        event!(warn, timeout = ?self.connect_timeout(), "connect timed out");
        ClientError::ConnectTimeout {
            host: self.request.host().to_owned(),
            port: self.request.port(),
            timeout: self.options.get_connect_timeout().unwrap_or_default(),
        }
    }

    /// What is left at `now` of the connect timeout of an attempt that started at `started`:
    /// `Ok(None)` without a timeout, [`timed_out`](Self::timed_out) once it is spent. The
    /// adapters bound each step (DNS, each TCP attempt, each TLS read) by it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ws_proto::{ClientError, ClientOptions, ConnectPlan};
    ///
    /// let options = ClientOptions::new("ws://example.com/").connect_timeout(Duration::from_secs(2));
    /// let plan = ConnectPlan::new(&options)?;
    /// let start = Instant::now();
    /// let left = plan.time_left(start, start + Duration::from_millis(500));
    /// assert_eq!(left.unwrap(), Some(Duration::from_millis(1500)));
    /// let spent = plan.time_left(start, start + Duration::from_secs(2)).unwrap_err();
    /// assert!(matches!(spent, ClientError::ConnectTimeout { port: 80, timeout, .. } if timeout == Duration::from_secs(2)));
    /// # Ok::<(), ws_proto::RequestError>(())
    /// ```
    pub fn time_left(
        &self,
        started: Instant,
        now: Instant,
    ) -> Result<Option<Duration>, ClientError> {
        let Some(timeout) = self.options.get_connect_timeout() else {
            return Ok(None);
        };
        match timeout.checked_sub(now.saturating_duration_since(started)) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(self.timed_out()),
        }
    }

    /// The request the next attempt sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The protocol for this attempt, once the transport is ready: its handshake timeout runs
    /// from `now`. `seed` must come from the OS (see [`ClientState::new`]).
    pub fn start(&self, seed: [u8; 32], now: Instant) -> ClientState {
        ClientState::new(
            self.request.clone(),
            self.options.get_config().clone(),
            seed,
            now,
        )
    }

    /// The protocol for an attempt over an HTTP/2 stream (RFC 8441): as [`start`](Self::start),
    /// with the handshake an extended CONNECT ([`ClientState::new_extended_connect`]).
    pub fn start_extended_connect(&self, seed: [u8; 32], now: Instant) -> ClientState {
        ClientState::new_extended_connect(
            self.request.clone(),
            self.options.get_config().clone(),
            seed,
            now,
        )
    }

    /// The ALPN protocols (RFC 7301) TLS offers, in order of preference, for an adapter that
    /// can run WebSockets over HTTP/2: `h2` then `http/1.1` by default, only `http/1.1` when
    /// HTTP/1.1 is asked for ([`HttpVersion::Http1`]) or HTTP/2 turned out not to carry
    /// WebSockets ([`http2_refused`](Self::http2_refused)), only `h2` when HTTP/2 is required.
    /// An adapter without HTTP/2 offers none, as before.
    pub fn alpn_protocols(&self) -> &'static [&'static [u8]] {
        match self.http_version() {
            HttpVersion::Auto => &[ALPN_H2, ALPN_HTTP1],
            HttpVersion::Http1 => &[ALPN_HTTP1],
            HttpVersion::Http2 => &[ALPN_H2],
        }
    }

    /// Whether the attempt speaks HTTP/2, given the protocol ALPN chose (`None` when none, or
    /// no TLS): `h2` chosen, or over `ws://` HTTP/2 required (with prior knowledge, RFC 9113
    /// §3.3). HTTP/2 required and not chosen over TLS is [`Http2Error::NotNegotiated`].
    pub fn speaks_http2(&self, alpn: Option<&[u8]>) -> Result<bool, ClientError> {
        match (self.http_version(), alpn) {
            (HttpVersion::Http1, _) => Ok(false),
            (_, Some(ALPN_H2)) => Ok(true),
            (HttpVersion::Http2, _) if !self.request.is_secure() => Ok(true),
            (HttpVersion::Http2, _) => Err(ClientError::Http2(Http2Error::NotNegotiated)),
            (HttpVersion::Auto, _) => Ok(false),
        }
    }

    /// An HTTP/2 server that did not enable extended CONNECT (RFC 8441 §3): with
    /// [`HttpVersion::Auto`], `Ok` and the plan now asks for HTTP/1.1 (open a fresh connection
    /// and offer `http/1.1` alone: the HTTP/2 one cannot carry an upgrade); with HTTP/2
    /// required, [`Http2Error::ExtendedConnectDisabled`].
    pub fn http2_refused(&mut self) -> Result<(), ClientError> {
        match self.http_version() {
            HttpVersion::Http2 => Err(ClientError::Http2(Http2Error::ExtendedConnectDisabled)),
            _ => {
                self.http1_only = true;
                Ok(())
            }
        }
    }

    fn http_version(&self) -> HttpVersion {
        if self.http1_only {
            HttpVersion::Http1
        } else {
            self.options.get_http_version()
        }
    }

    /// What an attempt that ended with `error` before opening leads to: `Ok(())` for a
    /// redirect to follow, the plan now pointing at its target (connect again from
    /// [`address`](Self::address)); otherwise the error to report: `error` itself (not a
    /// rejection, no `Location`, or redirects off), or [`ClientError::Redirect`] for a redirect
    /// that cannot be followed.
    pub fn follow(&mut self, error: ClientError) -> Result<(), ClientError> {
        let Some(rejection) = error.rejection() else {
            return Err(error);
        };
        if self.redirect(rejection)? {
            Ok(())
        } else {
            Err(error)
        }
    }

    /// What a rejected handshake leads to: `Ok(true)`, a redirect followed (the plan points at
    /// its target); `Ok(false)`, not one; `Err`, a redirect that cannot be followed.
    fn redirect(&mut self, rejection: &Rejection) -> Result<bool, RedirectError> {
        let Some(location) = rejection
            .location()
            .filter(|_| self.options.get_max_redirects() > 0)
        else {
            return Ok(false);
        };
        if self.followed >= self.options.get_max_redirects() {
            return Err(RedirectError::TooMany {
                limit: self.options.get_max_redirects(),
                location: location.to_owned(),
            });
        }
        let invalid = |source| RedirectError::Invalid {
            location: location.to_owned(),
            source,
        };
        let request = self.request.redirect(location).map_err(invalid)?;
        // The environment may send the new host another way.
        self.proxy = self.options.proxy_for(&request).map_err(invalid)?;
        self.request = request;
        self.followed += 1;
        event!(
            info,
            location,
            followed = self.followed,
            "following a redirect"
        );
        Ok(true)
    }
}

/// A redirect that was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// The server kept redirecting past the configured limit.
    TooMany {
        /// The limit.
        limit: u32,
        /// The redirect that was not followed.
        location: String,
    },
    /// The `Location` was not a URL the client can follow (a `wss` to `ws` downgrade among
    /// them).
    Invalid {
        /// The `Location` header's value.
        location: String,
        /// Why it was refused.
        source: RequestError,
    },
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::TooMany { limit, location } => {
                write!(f, "more than {limit} redirects (next was {location:?})")
            }
            RedirectError::Invalid { location, source } => {
                write!(f, "redirect to {location:?} not followed: {source}")
            }
        }
    }
}

impl std::error::Error for RedirectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedirectError::Invalid { source, .. } => Some(source),
            RedirectError::TooMany { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(url: &str, version: HttpVersion) -> ConnectPlan {
        let mut options = ClientOptions::new(url);
        options.set_http_version(version);
        ConnectPlan::new(&options).unwrap()
    }

    /// Which HTTP carries the WebSocket, for every version asked and every ALPN answer.
    #[test]
    fn the_http_version_follows_the_option_alpn_and_the_settings() {
        let h2 = Some(ALPN_H2);
        let h1 = Some(ALPN_HTTP1);
        let auto = plan("wss://example.com/", HttpVersion::Auto);
        assert_eq!(auto.alpn_protocols(), [ALPN_H2, ALPN_HTTP1]);
        assert!(auto.speaks_http2(h2).unwrap());
        assert!(!auto.speaks_http2(h1).unwrap());
        assert!(!auto.speaks_http2(None).unwrap());
        // ws:// never negotiates: HTTP/1.1 unless HTTP/2 is required.
        assert!(!plan("ws://example.com/", HttpVersion::Auto)
            .speaks_http2(None)
            .unwrap());
        assert!(plan("ws://example.com/", HttpVersion::Http2)
            .speaks_http2(None)
            .unwrap());

        let http1 = plan("wss://example.com/", HttpVersion::Http1);
        assert_eq!(http1.alpn_protocols(), [ALPN_HTTP1]);
        assert!(!http1.speaks_http2(h2).unwrap());

        let mut http2 = plan("wss://example.com/", HttpVersion::Http2);
        assert_eq!(http2.alpn_protocols(), [ALPN_H2]);
        assert!(http2.speaks_http2(h2).unwrap());
        assert!(matches!(
            http2.speaks_http2(h1),
            Err(ClientError::Http2(Http2Error::NotNegotiated))
        ));
        assert!(matches!(
            http2.http2_refused(),
            Err(ClientError::Http2(Http2Error::ExtendedConnectDisabled))
        ));

        // Auto, and the server's HTTP/2 has no extended CONNECT: HTTP/1.1 from then on.
        let mut auto = auto;
        auto.http2_refused().unwrap();
        assert_eq!(auto.alpn_protocols(), [ALPN_HTTP1]);
        assert!(!auto.speaks_http2(h2).unwrap());
    }
}
