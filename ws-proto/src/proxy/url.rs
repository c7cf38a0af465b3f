//! [`Proxy`]: a proxy URL, `http://`, `socks5://` or `socks5h://`, with its credentials and
//! the extra headers an HTTP proxy gets.

use std::fmt;

use crate::request::{check_value, is_token, split_host_port, RequestError};

/// The port of a proxy URL without one, as curl assumes for every scheme.
const DEFAULT_PORT: u16 = 1080;

/// The kind of proxy, from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// `http://`: an HTTP proxy, asked for a tunnel with `CONNECT` (for `ws://` as for
    /// `wss://`, so the proxy never sees the WebSocket's bytes as HTTP).
    Http,
    /// `socks5://`: SOCKS5, the target's name resolved here, as curl does.
    Socks5,
    /// `socks5h://`: SOCKS5, the target's name resolved by the proxy.
    Socks5h,
}

/// A proxy to reach the server through: `http://[user:password@]host[:port]`,
/// `socks5://…` or `socks5h://…` (port 1080 when none is given, as curl assumes).
/// Credentials may be percent-encoded (`%40` for `@`).
///
/// ```
/// use ws_proto::{Proxy, ProxyKind};
///
/// let proxy = Proxy::new("socks5h://alice:s%40cret@proxy.example:1081")?;
/// assert_eq!(proxy.kind(), ProxyKind::Socks5h);
/// assert_eq!((proxy.host(), proxy.port()), ("proxy.example", 1081));
/// assert_eq!(proxy.credentials(), Some(("alice", "s@cret")));
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Proxy {
    // The password stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("headers", &self.headers.len())
            .finish()
    }
}

impl Proxy {
    /// Parses a proxy URL. A URL without a scheme (`host:port`, as proxy environment
    /// variables often hold) is an HTTP proxy.
    pub fn new(url: &str) -> Result<Proxy, RequestError> {
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "http" => ProxyKind::Http,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            _ => return Err(RequestError::UnsupportedProxyScheme(scheme.to_owned())),
        };
        // A path (`http://proxy:3128/`) means nothing to a proxy and is ignored, as curl does.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port).map_err(|e| match e {
            RequestError::InvalidUrl(why) => RequestError::InvalidProxyUrl(why),
            other => other,
        })?;
        let credentials = userinfo
            .map(|userinfo| {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Ok::<_, RequestError>((percent_decode(user)?, percent_decode(password)?))
            })
            .transpose()?;
        Ok(Proxy {
            kind,
            host,
            port: port.unwrap_or(DEFAULT_PORT),
            credentials,
            headers: Vec::new(),
        })
    }

    /// Adds a header to the HTTP proxy's `CONNECT` request (a `Proxy-Authorization` of
    /// another scheme, say). Ignored by SOCKS5 proxies.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Proxy, RequestError> {
        if !is_token(name) {
            return Err(RequestError::InvalidHeaderName(name.to_owned()));
        }
        check_value(name, value)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The kind of proxy.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host: a name or an IP address, without brackets.
    pub fn host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The username and password from the URL.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// The extra headers of the `CONNECT` request.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether the target's host name is resolved here and the proxy gets an address
    /// (`socks5://`); the adapters then look it up and pass the address to
    /// [`ProxyHandshake::new`](crate::ProxyHandshake::new).
    pub fn resolves_locally(&self) -> bool {
        self.kind == ProxyKind::Socks5
    }
}

impl fmt::Display for Proxy {
    /// The URL without credentials, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// RFC 3986 §2.1 percent-decoding of a URL's userinfo part, which must be UTF-8.
fn percent_decode(s: &str) -> Result<String, RequestError> {
    let bad = RequestError::InvalidProxyUrl("invalid percent-encoding in the credentials");
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next(), bytes.next()];
        let digit = |d: Option<u8>| (d? as char).to_digit(16);
        match hex.map(digit) {
            [Some(hi), Some(lo)] => out.push((hi * 16 + lo) as u8),
            _ => return Err(bad),
        }
    }
    String::from_utf8(out).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_credentials() {
        let p = Proxy::new("http://127.0.0.1:3128/").unwrap();
        assert_eq!(
            (p.kind(), p.host(), p.port()),
            (ProxyKind::Http, "127.0.0.1", 3128)
        );
        assert_eq!(p.credentials(), None);
        let p = Proxy::new("proxy.example").unwrap();
        assert_eq!((p.kind(), p.port()), (ProxyKind::Http, 1080));
        let p = Proxy::new("SOCKS5://u:@[::1]:9050").unwrap();
        assert_eq!(
            (p.kind(), p.host(), p.port()),
            (ProxyKind::Socks5, "::1", 9050)
        );
        assert_eq!(p.credentials(), Some(("u", "")));
        assert!(p.resolves_locally());
        assert_eq!(p.to_string(), "socks5://[::1]:9050");
        let p = Proxy::new("socks5h://a%3Ab:p%25w@h").unwrap();
        assert_eq!(p.credentials(), Some(("a:b", "p%w")));
        assert!(!format!("{p:?}").contains("p%w"), "no password in Debug");
    }

    #[test]
    fn invalid_proxy_urls() {
        assert_eq!(
            Proxy::new("https://proxy:443"),
            Err(RequestError::UnsupportedProxyScheme("https".into()))
        );
        assert_eq!(
            Proxy::new("http://proxy:0"),
            Err(RequestError::InvalidProxyUrl("invalid port"))
        );
        assert_eq!(
            Proxy::new("http://u:%zz@proxy"),
            Err(RequestError::InvalidProxyUrl(
                "invalid percent-encoding in the credentials"
            ))
        );
        assert_eq!(
            Proxy::new("http://proxy")
                .unwrap()
                .with_header("X", "a\r\nb"),
            Err(RequestError::InvalidHeaderValue("X".into()))
        );
    }
}
