//! The opening handshake request: a `ws://` or `wss://` URL plus the headers a user chooses.
//!
//! Everything is validated when it is set, so a bad header is refused where it is written rather
//! than when the request goes out.

use std::fmt;
use std::net::Ipv6Addr;

use bytes::{BufMut, BytesMut};

use crate::http2::ExtendedConnect;

/// A handshake request under construction.
///
/// ```
/// let request = ws_proto::Request::new("wss://example.com/chat?room=1#ignored")?
///     .with_header("Cookie", "session=abc")?
///     .with_origin("https://example.com")?
///     .with_subprotocol("chat.v2")?;
/// assert_eq!(request.host(), "example.com");
/// assert_eq!(request.port(), 443);
/// assert_eq!(request.target(), "/chat?room=1");
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    secure: bool,
    host: String,
    port: u16,
    target: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The URL is malformed; the text says how.
    InvalidUrl(&'static str),
    /// The URL's scheme is not `ws` or `wss`.
    UnsupportedScheme(String),
    /// A header name is empty or not an HTTP token.
    InvalidHeaderName(String),
    /// A header value contains CR, LF, NUL or another control character.
    InvalidHeaderValue(String),
    /// The header is one the handshake itself sets (its name); the `Display` text says what to
    /// use instead.
    ReservedHeader(String),
    /// A subprotocol is not an HTTP token.
    InvalidSubprotocol(String),
    /// A subprotocol was offered twice.
    DuplicateSubprotocol(String),
    /// A redirect from `wss://` to `ws://` was refused.
    InsecureRedirect(String),
    /// An `http::Request` whose method is not GET (RFC 6455 §4.1: "The method of the request
    /// MUST be GET").
    UnsupportedMethod(String),
    /// The proxy URL is malformed; the text says how.
    InvalidProxyUrl(&'static str),
    /// The proxy URL's scheme is not `http`, `socks5` or `socks5h`.
    UnsupportedProxyScheme(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            RequestError::UnsupportedScheme(s) => {
                write!(f, "unsupported URL scheme {s:?} (expected ws or wss)")
            }
            RequestError::InvalidHeaderName(n) => write!(f, "invalid header name {n:?}"),
            RequestError::InvalidHeaderValue(n) => {
                write!(f, "invalid value for header {n:?}: control characters (CR, LF, NUL) are not allowed")
            }
            RequestError::ReservedHeader(n) => {
                write!(f, "header {n:?} is set by the handshake")?;
                match reserved(n) {
                    Some(instead) => write!(f, ": {instead}"),
                    None => Ok(()),
                }
            }
            RequestError::InvalidSubprotocol(p) => write!(f, "invalid subprotocol {p:?}"),
            RequestError::DuplicateSubprotocol(p) => write!(f, "subprotocol {p:?} offered twice"),
            RequestError::InvalidProxyUrl(why) => write!(f, "invalid proxy URL: {why}"),
            RequestError::UnsupportedProxyScheme(s) => write!(
                f,
                "unsupported proxy scheme {s:?} (expected http, socks5 or socks5h)"
            ),
            RequestError::UnsupportedMethod(m) => {
                write!(f, "a WebSocket handshake is a GET request, not {m}")
            }
            RequestError::InsecureRedirect(to) => {
                write!(
                    f,
                    "refused to follow a redirect from wss:// to the insecure {to:?}"
                )
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// RFC 7230 §3.2.6 `tchar`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What to do instead of setting `name`, if the handshake sets it.
fn reserved(name: &str) -> Option<&'static str> {
    RESERVED
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map(|(_, instead)| *instead)
}

/// Headers the handshake writes itself, with what to use instead.
const RESERVED: &[(&str, &str)] = &[
    ("host", "it comes from the URL"),
    ("upgrade", "the handshake sets it"),
    ("connection", "the handshake sets it"),
    ("sec-websocket-key", "the handshake sets it"),
    ("sec-websocket-version", "the handshake sets it"),
    ("sec-websocket-accept", "it is a response header"),
    (
        "sec-websocket-protocol",
        "offer each with the builder's .subprotocol(), or Request::with_subprotocol",
    ),
    (
        "sec-websocket-extensions",
        "extensions are negotiated by the core",
    ),
    (
        "origin",
        "set it with the builder's .origin(), or Request::with_origin",
    ),
    ("content-length", "the handshake has no body"),
    ("transfer-encoding", "the handshake has no body"),
];

impl Request {
    /// Parses a `ws://` or `wss://` URL.
    ///
    /// The fragment is dropped (RFC 6455 §3: "Fragment identifiers are meaningless in the
    /// context of WebSocket URIs"); bytes not allowed in a request target are percent-encoded.
    pub fn new(url: &str) -> Result<Request, RequestError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(RequestError::InvalidUrl("missing \"://\""))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(RequestError::UnsupportedScheme(scheme.to_owned()));
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(RequestError::InvalidUrl(
                "credentials in the URL are not supported; send an Authorization header",
            ));
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            Some(port) => port,
            None if secure => 443,
            None => 80,
        };
        let mut target = String::with_capacity(path_and_query.len() + 1);
        if !path_and_query.starts_with('/') {
            target.push('/');
        }
        for c in path_and_query.chars() {
            match c {
                '!'..='~' if !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}') => {
                    target.push(c)
                }
                _ => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        target.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
        Ok(Request {
            secure,
            host,
            port,
            target,
            origin: None,
            subprotocols: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// Adds a header. Refuses names that are not tokens, values with control characters (so no
    /// header can be smuggled with CR/LF), and the headers the handshake sets itself, with one
    /// exception so that the headers of a complete handshake request (one built for tungstenite,
    /// say) can be copied over as they are: `Host`, `Upgrade`, `Connection` and
    /// `Sec-WebSocket-Version` with the very value the handshake sends anyway, and any
    /// `Sec-WebSocket-Key`, are accepted and change nothing. (The key is drawn afresh for every
    /// connection, as RFC 6455 §4.1 requires: "The nonce MUST be selected randomly for each
    /// connection.")
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Request, RequestError> {
        if !is_token(name) {
            return Err(RequestError::InvalidHeaderName(name.to_owned()));
        }
        if reserved(name).is_some() {
            check_value(name, value)?;
            if self.sends_anyway(name, value) {
                return Ok(self);
            }
            return Err(RequestError::ReservedHeader(name.to_owned()));
        }
        check_value(name, value)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Whether the handshake sends header `name` with `value` itself (or, for the key, a value
    /// of its own that must replace any other).
    fn sends_anyway(&self, name: &str, value: &str) -> bool {
        let same = |expected: &str| value.trim().eq_ignore_ascii_case(expected);
        match name.to_ascii_lowercase().as_str() {
            "host" => same(&self.host_header()),
            "upgrade" => same("websocket"),
            "connection" => same("upgrade"),
            "sec-websocket-version" => same("13"),
            "sec-websocket-key" => true,
            _ => false,
        }
    }

    /// Sets the `Origin` header (Workerman's `websocketOrigin`).
    pub fn with_origin(mut self, origin: &str) -> Result<Request, RequestError> {
        check_value("Origin", origin)?;
        self.origin = Some(origin.to_owned());
        Ok(self)
    }

    /// Offers a subprotocol (Workerman's `websocketClientProtocol`); call once per protocol, in
    /// order of preference. The server's choice must be one of them.
    pub fn with_subprotocol(mut self, protocol: &str) -> Result<Request, RequestError> {
        if !is_token(protocol) {
            return Err(RequestError::InvalidSubprotocol(protocol.to_owned()));
        }
        if self.subprotocols.iter().any(|p| p == protocol) {
            return Err(RequestError::DuplicateSubprotocol(protocol.to_owned()));
        }
        self.subprotocols.push(protocol.to_owned());
        Ok(self)
    }

    /// The request to send after a redirect to `location` (a 3xx's `Location` header).
    ///
    /// `location` may be absolute (`ws`, `wss`, `http` and `https` map to `ws` and `wss`),
    /// scheme-relative (`//host/path`), an absolute path or a relative path. Headers, origin and
    /// subprotocols carry over, except that `Authorization` and `Cookie` are dropped when the
    /// redirect leaves the original scheme, host and port. A downgrade from `wss` to `ws` is
    /// refused.
    ///
    /// ```
    /// let r = ws_proto::Request::new("wss://a.example/v1/ws")?;
    /// assert_eq!(r.redirect("../v2/ws")?.target(), "/v2/ws");
    /// assert_eq!(r.redirect("https://b.example:8443/x")?.host_header(), "b.example:8443");
    /// assert!(r.redirect("http://b.example/").is_err());
    /// # Ok::<(), ws_proto::RequestError>(())
    /// ```
    pub fn redirect(&self, location: &str) -> Result<Request, RequestError> {
        let location = location.trim();
        let scheme = if self.secure { "wss" } else { "ws" };
        let url = if let Some((given, rest)) = location.split_once("://") {
            let mapped = match given.to_ascii_lowercase().as_str() {
                "http" | "ws" => "ws",
                "https" | "wss" => "wss",
                _ => return Err(RequestError::UnsupportedScheme(given.to_owned())),
            };
            format!("{mapped}://{rest}")
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("{scheme}://{rest}")
        } else if location.starts_with('/') {
            format!("{scheme}://{}{location}", self.host_header())
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!(
                "{scheme}://{}{}",
                self.host_header(),
                normalize(&format!("{dir}{location}"))
            )
        };
        let mut next = Request::new(&url)?;
        if self.secure && !next.secure {
            return Err(RequestError::InsecureRedirect(url));
        }
        let same_origin = next.secure == self.secure
            && next.host.eq_ignore_ascii_case(&self.host)
            && next.port == self.port;
        next.origin = self.origin.clone();
        next.subprotocols = self.subprotocols.clone();
        next.headers = self
            .headers
            .iter()
            .filter(|(name, _)| {
                same_origin
                    || !(name.eq_ignore_ascii_case("authorization")
                        || name.eq_ignore_ascii_case("cookie"))
            })
            .cloned()
            .collect();
        Ok(next)
    }

    /// Whether the URL was `wss://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host to connect to: a name or an IP address, without brackets.
    pub fn host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The port: explicit, or 80 for `ws` and 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The `Host` header value: IPv6 literals in brackets, the port only when it is not the
    /// scheme's default (RFC 6455 §4.1 point 4, RFC 7230 §5.4).
    pub fn host_header(&self) -> String {
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The offered subprotocols, in order.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The `Origin`, if set.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The user's headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Writes the request with the given `Sec-WebSocket-Key` and extension offers.
    pub(crate) fn write(&self, key: &str, extensions: &[String], out: &mut BytesMut) {
        // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST be at
        // least 1.1."
        out.put_slice(b"GET ");
        out.put_slice(self.target.as_bytes());
        out.put_slice(b" HTTP/1.1\r\n");
        let mut line = |name: &str, value: &str| {
            out.put_slice(name.as_bytes());
            out.put_slice(b": ");
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        };
        line("Host", &self.host_header());
        line("Upgrade", "websocket");
        line("Connection", "Upgrade");
        line("Sec-WebSocket-Key", key);
        line("Sec-WebSocket-Version", "13");
        if let Some(origin) = &self.origin {
            line("Origin", origin);
        }
        if !self.subprotocols.is_empty() {
            line("Sec-WebSocket-Protocol", &self.subprotocols.join(", "));
        }
        if !extensions.is_empty() {
            line("Sec-WebSocket-Extensions", &extensions.join(", "));
        }
        for (name, value) in &self.headers {
            line(name, value);
        }
        out.put_slice(b"\r\n");
    }

    /// The extended CONNECT (RFC 8441 §4) with the given extension offers: the same header
    /// fields as [`write`](Self::write) but the key and the HTTP/1.1 upgrade's own.
    pub(crate) fn extended_connect(&self, extensions: &[String]) -> ExtendedConnect {
        // RFC 8441 §5: `:protocol` takes the place of Sec-WebSocket-Key and -Accept, while
        // Origin, Sec-WebSocket-Version, -Protocol and -Extensions are used as in RFC 6455. The
        // authority is `:authority` (RFC 9113 §8.3.1), and RFC 9113 §8.2.2: "An endpoint MUST
        // NOT generate an HTTP/2 message containing connection-specific header fields"
        // (Upgrade, Connection).
        let mut headers = vec![("sec-websocket-version".to_owned(), "13".to_owned())];
        if let Some(origin) = &self.origin {
            headers.push(("origin".to_owned(), origin.clone()));
        }
        if !self.subprotocols.is_empty() {
            headers.push((
                "sec-websocket-protocol".to_owned(),
                self.subprotocols.join(", "),
            ));
        }
        if !extensions.is_empty() {
            headers.push(("sec-websocket-extensions".to_owned(), extensions.join(", ")));
        }
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            // The hop-by-hop headers of HTTP/1.1 are dropped, as an intermediary translating
            // to HTTP/2 does (RFC 9113 §8.2.2: "An intermediary transforming an HTTP/1.x
            // message to HTTP/2 MUST remove connection-specific header fields"); TE is kept
            // only as "trailers", the one value HTTP/2 allows.
            let hop_by_hop = matches!(name.as_str(), "keep-alive" | "proxy-connection")
                || (name == "te" && !value.trim().eq_ignore_ascii_case("trailers"));
            if !hop_by_hop {
                headers.push((name, value.clone()));
            }
        }
        ExtendedConnect {
            scheme: if self.secure { "https" } else { "http" },
            authority: self.host_header(),
            path: self.target.clone(),
            headers,
        }
    }
}

/// Resolves `.` and `..` segments of a path (RFC 3986 §5.2.4), keeping any query.
fn normalize(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    // A trailing "." or ".." names a directory.
    if path.ends_with("/.") || path.ends_with("/..") {
        segments.push("");
    }
    let mut out = format!("/{}", segments.join("/"));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub(crate) fn check_value(name: &str, value: &str) -> Result<(), RequestError> {
    // RFC 7230 §3.2: field-value is visible characters, spaces, tabs and obs-text; CR and LF would
    // end the header and let a caller inject others.
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7F) {
        return Err(RequestError::InvalidHeaderValue(name.to_owned()));
    }
    Ok(())
}

/// Splits `host[:port]` or `[v6][:port]`, validating both.
pub(crate) fn split_host_port(authority: &str) -> Result<(String, Option<u16>), RequestError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or(RequestError::InvalidUrl("unclosed '[' in the host"))?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| RequestError::InvalidUrl("invalid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(RequestError::InvalidUrl(
                "unexpected characters after the IPv6 address",
            ))?),
        };
        (format!("[{addr}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(RequestError::InvalidUrl("missing host"));
    }
    // RFC 3986 reg-name characters; anything else (spaces, controls, '\\') is refused.
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b))
    {
        return Err(RequestError::InvalidUrl("invalid character in the host"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(RequestError::InvalidUrl("invalid port")),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(request: &Request) -> String {
        let mut out = BytesMut::new();
        request.write("dGhlIHNhbXBsZSBub25jZQ==", &[], &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn url_forms() {
        let r = Request::new("ws://example.com").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.target(), r.host_header()),
            ("example.com", 80, "/", "example.com".into())
        );
        let r = Request::new("WSS://example.com:443/a/b?x=1&y#frag").unwrap();
        assert_eq!(
            (r.is_secure(), r.port(), r.target(), r.host_header()),
            (true, 443, "/a/b?x=1&y", "example.com".into())
        );
        let r = Request::new("ws://example.com:8080?q").unwrap();
        assert_eq!(
            (r.target(), r.host_header()),
            ("/?q", "example.com:8080".into())
        );
        let r = Request::new("ws://[::1]:9001/x").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.host_header()),
            ("::1", 9001, "[::1]:9001".into())
        );
        let r = Request::new("wss://[2001:db8::1]/").unwrap();
        assert_eq!(r.host_header(), "[2001:db8::1]");
        let r = Request::new("ws://h/a b/é\"").unwrap();
        assert_eq!(r.target(), "/a%20b/%C3%A9%22");
    }

    #[test]
    fn url_errors() {
        assert_eq!(
            Request::new("http://x/").unwrap_err(),
            RequestError::UnsupportedScheme("http".into())
        );
        assert!(matches!(
            Request::new("example.com"),
            Err(RequestError::InvalidUrl(_))
        ));
        assert!(matches!(
            Request::new("ws:///path"),
            Err(RequestError::InvalidUrl("missing host"))
        ));
        assert!(matches!(
            Request::new("ws://h:0/"),
            Err(RequestError::InvalidUrl("invalid port"))
        ));
        assert!(matches!(
            Request::new("ws://h:70000/"),
            Err(RequestError::InvalidUrl("invalid port"))
        ));
        assert!(matches!(
            Request::new("ws://h:+80/"),
            Err(RequestError::InvalidUrl("invalid port"))
        ));
        assert!(matches!(
            Request::new("ws://[::1/"),
            Err(RequestError::InvalidUrl(_))
        ));
        assert!(matches!(
            Request::new("ws://[nope]/"),
            Err(RequestError::InvalidUrl("invalid IPv6 address"))
        ));
        assert!(matches!(
            Request::new("ws://user:pw@h/"),
            Err(RequestError::InvalidUrl(_))
        ));
        assert!(matches!(
            Request::new("ws://a b/"),
            Err(RequestError::InvalidUrl(_))
        ));
    }

    #[test]
    fn header_validation() {
        let r = Request::new("ws://h/").unwrap();
        assert_eq!(
            r.clone().with_header("X-A", "v\r\nEvil: 1").unwrap_err(),
            RequestError::InvalidHeaderValue("X-A".into())
        );
        assert_eq!(
            r.clone().with_header("X-A", "v\n").unwrap_err(),
            RequestError::InvalidHeaderValue("X-A".into())
        );
        assert_eq!(
            r.clone().with_header("Bad Name", "v").unwrap_err(),
            RequestError::InvalidHeaderName("Bad Name".into())
        );
        assert_eq!(
            r.clone().with_header("", "v").unwrap_err(),
            RequestError::InvalidHeaderName("".into())
        );
        for name in [
            "Host",
            "upgrade",
            "CONNECTION",
            "sec-websocket-version",
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Extensions",
            "Origin",
            "Content-Length",
        ] {
            assert!(
                matches!(
                    r.clone().with_header(name, "x"),
                    Err(RequestError::ReservedHeader(_))
                ),
                "{name}"
            );
        }
        // The text names the method a builder user has (issue 16, item 7).
        assert_eq!(
            r.clone()
                .with_header("Sec-WebSocket-Protocol", "chat")
                .unwrap_err()
                .to_string(),
            "header \"Sec-WebSocket-Protocol\" is set by the handshake: offer each with the \
             builder's .subprotocol(), or Request::with_subprotocol"
        );
        assert!(r.clone().with_origin("o\r\n").is_err());
        assert_eq!(
            r.clone().with_subprotocol("a b").unwrap_err(),
            RequestError::InvalidSubprotocol("a b".into())
        );
        assert_eq!(
            r.with_subprotocol("chat")
                .unwrap()
                .with_subprotocol("chat")
                .unwrap_err(),
            RequestError::DuplicateSubprotocol("chat".into())
        );
    }

    /// Issue 16, item 7: the headers of a whole handshake request, as tungstenite users build
    /// it, copy over; the handshake's own values are no conflict, a different one still is.
    #[test]
    fn a_copied_handshake_request_is_accepted() {
        let copied = [
            ("Host", "example.com:8080"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Authorization", "Bearer t"),
        ];
        let mut r = Request::new("ws://example.com:8080/").unwrap();
        for (name, value) in copied {
            r = r.with_header(name, value).unwrap();
        }
        assert_eq!(
            r.headers().collect::<Vec<_>>(),
            [("Authorization", "Bearer t")]
        );
        let mut out = bytes::BytesMut::new();
        r.write("bmV3IGtleQ==", &[], &mut out);
        let head = String::from_utf8(out.to_vec()).unwrap();
        assert_eq!(head.matches("Host: ").count(), 1);
        assert!(!head.contains("dGhlIHNhbXBsZSBub25jZQ=="));
        for (name, value) in [
            ("Host", "other.example"),
            ("Upgrade", "h2c"),
            ("Connection", "close"),
        ] {
            assert_eq!(
                r.clone().with_header(name, value).unwrap_err(),
                RequestError::ReservedHeader(name.into())
            );
        }
    }

    #[test]
    fn redirects() {
        let r = Request::new("ws://a.example:8080/app/ws?x=1")
            .unwrap()
            .with_header("Authorization", "Bearer t")
            .unwrap()
            .with_header("X-Trace", "1")
            .unwrap()
            .with_subprotocol("chat")
            .unwrap();
        let same = r.redirect("/other?y").unwrap();
        assert_eq!(
            (same.host_header(), same.target()),
            ("a.example:8080".into(), "/other?y")
        );
        assert_eq!(same.headers().count(), 2);
        assert_eq!(same.subprotocols(), ["chat"]);
        let rel = r.redirect("v2/./ws").unwrap();
        assert_eq!(rel.target(), "/app/v2/ws");
        let cross = r.redirect("https://b.example/ws").unwrap();
        assert_eq!((cross.is_secure(), cross.port()), (true, 443));
        assert_eq!(cross.headers().collect::<Vec<_>>(), [("X-Trace", "1")]);
        let scheme_relative = r.redirect("//c.example/z").unwrap();
        assert_eq!(
            (scheme_relative.is_secure(), scheme_relative.host()),
            (false, "c.example")
        );
        assert!(matches!(
            r.redirect("ftp://x/"),
            Err(RequestError::UnsupportedScheme(_))
        ));
        let secure = Request::new("wss://a.example/").unwrap();
        assert!(matches!(
            secure.redirect("ws://a.example/"),
            Err(RequestError::InsecureRedirect(_))
        ));
    }

    #[test]
    fn exact_request_bytes() {
        let r = Request::new("ws://server.example.com:8000/chat?x=1")
            .unwrap()
            .with_origin("http://example.com")
            .unwrap()
            .with_subprotocol("chat")
            .unwrap()
            .with_subprotocol("superchat")
            .unwrap()
            .with_header("Cookie", "a=b")
            .unwrap();
        assert_eq!(
            written(&r),
            "GET /chat?x=1 HTTP/1.1\r\n\
             Host: server.example.com:8000\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Cookie: a=b\r\n\
             \r\n"
        );
    }
}
