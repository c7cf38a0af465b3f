//! Proxies: a tunnel to the server through an HTTP `CONNECT` or SOCKS5 proxy, opened on the
//! transport before TLS and the opening handshake. Sans-IO like the rest of the core: a
//! [`ProxyHandshake`] says what to write and how much to read, and the adapters move the bytes.

mod env;
mod error;
mod http;
mod socks5;
mod url;

use std::net::IpAddr;

use crate::trace::event;

pub use env::proxy_from_vars;
pub use error::{ProxyError, ProxyStage};
pub use url::{Proxy, ProxyKind};

use http::HttpConnect;
use socks5::Socks5;

/// Where the tunnel leads: a host name the proxy resolves, or an address resolved here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetAddr {
    Domain(String),
    Ip(IpAddr),
}

/// One proxy's handshake, from the first byte written to the open tunnel.
///
/// Drive it like the core: write what [`poll_transmit`](Self::poll_transmit) gives; while it
/// is not [`is_open`](Self::is_open), read at most [`read_limit`](Self::read_limit) bytes and
/// hand them to [`handle_input`](Self::handle_input) (an end of stream to
/// [`handle_eof`](Self::handle_eof)). Reading no more than the limit means no byte of what
/// follows the proxy's answer is ever read here, so the transport goes on to TLS or the
/// handshake as it is. `handle_input` also takes more than the limit (it returns how much it
/// used; the rest belongs to the tunnel), so any split of the answer gives the same result.
///
/// ```
/// use ws_proto::{Proxy, ProxyHandshake};
///
/// let proxy = Proxy::new("http://127.0.0.1:3128")?;
/// let mut handshake = ProxyHandshake::new(&proxy, "example.com", 443, None, &Default::default())?;
/// let request = handshake.poll_transmit().unwrap();
/// assert!(request.starts_with(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"));
/// let answer = b"HTTP/1.1 200 Connection established\r\n\r\n";
/// let mut used = 0;
/// while !handshake.is_open() {
///     let n = handshake.read_limit().min(answer.len() - used);
///     used += handshake.handle_input(&answer[used..used + n])?;
/// }
/// assert_eq!(used, answer.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ProxyHandshake {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Http(HttpConnect),
    Socks5(Socks5),
}

impl ProxyHandshake {
    /// The handshake through `proxy` to `host:port`. `resolved` is the target's address when
    /// the proxy wants one resolved here ([`Proxy::resolves_locally`]); otherwise the host
    /// name goes to the proxy. The HTTP answer is bounded by `config`'s
    /// [`max_response_size`](crate::Config::max_response_size), `max_response_headers` and
    /// `max_rejection_body`.
    pub fn new(
        proxy: &Proxy,
        host: &str,
        port: u16,
        resolved: Option<IpAddr>,
        config: &crate::Config,
    ) -> Result<ProxyHandshake, ProxyError> {
        event!(
            debug,
            kind = ?proxy.kind(),
            proxy_host = proxy.host(),
            proxy_port = proxy.port(),
            target_host = host,
            target_port = port,
            "proxy handshake"
        );
        let inner = match proxy.kind() {
            ProxyKind::Http => Inner::Http(HttpConnect::new(proxy, host, port, config)),
            ProxyKind::Socks5 | ProxyKind::Socks5h => {
                let target = match (resolved, host.parse::<IpAddr>()) {
                    (_, Ok(ip)) | (Some(ip), _) => TargetAddr::Ip(ip),
                    (None, Err(_)) => TargetAddr::Domain(host.to_owned()),
                };
                Inner::Socks5(Socks5::new(target, port, proxy.credentials())?)
            }
        };
        Ok(ProxyHandshake { inner })
    }

    /// Bytes to write to the proxy now, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        match &mut self.inner {
            Inner::Http(h) => h.poll_transmit(),
            Inner::Socks5(s) => s.poll_transmit(),
        }
    }

    /// The most bytes to read next: never past the end of the proxy's answer. 0 once open.
    pub fn read_limit(&self) -> usize {
        match &self.inner {
            Inner::Http(h) => h.read_limit(),
            Inner::Socks5(s) => s.read_limit(),
        }
    }

    /// Takes bytes read from the proxy; returns how many it used. Once the tunnel is open
    /// ([`is_open`](Self::is_open)) the rest of `data` is the tunnel's first bytes.
    pub fn handle_input(&mut self, data: &[u8]) -> Result<usize, ProxyError> {
        let result = match &mut self.inner {
            Inner::Http(h) => h.handle_input(data),
            Inner::Socks5(s) => s.handle_input(data),
        };
        if result.is_ok() && self.is_open() {
            event!(debug, "proxy tunnel open");
        }
        result
    }

    /// The proxy closed the connection before the tunnel opened: the error for it.
    pub fn handle_eof(&mut self) -> ProxyError {
        match &mut self.inner {
            Inner::Http(h) => h.handle_eof(),
            Inner::Socks5(s) => ProxyError::Closed { stage: s.stage() },
        }
    }

    /// Whether the tunnel is open: what follows is the server's.
    pub fn is_open(&self) -> bool {
        match &self.inner {
            Inner::Http(h) => h.is_open(),
            Inner::Socks5(s) => s.is_open(),
        }
    }
}
