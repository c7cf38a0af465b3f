//! The opening handshake's response side (RFC 6455 §4.1-4.2): the accept key, strict validation of
//! the server's answer, and rejections with their status, headers and the start of their body.

use std::fmt;

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};

use crate::config::Config;
use crate::extension::{parse_extensions, Extension};
use crate::headers::Headers;
use crate::request::Request;

/// RFC 6455 §1.3: the GUID appended to the key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
///
/// ```
/// // RFC 6455 §1.3
/// assert_eq!(ws_proto::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes())
}

/// The server's accepting (101) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Headers,
    subprotocol: Option<String>,
    extensions: Vec<Extension>,
    /// What permessage-deflate negotiated, if the server accepted it.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::deflate::Negotiated>,
}

impl Response {
    /// The status code: 101 over HTTP/1.1, a 2xx (200) over HTTP/2.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the WebSocket runs on an HTTP/2 stream (RFC 8441) rather than an upgraded
    /// HTTP/1.1 connection.
    pub fn is_http2(&self) -> bool {
        self.status != 101
    }

    /// The response headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol the server chose, one of those offered.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, each one the client offered.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The response as an `http::Response` (status 101 and HTTP/1.1, or the 2xx and HTTP/2,
    /// every header in order), for code written against tungstenite's response type.
    ///
    /// Header names and values were checked when the response was parsed (httparse's rules),
    /// which `http` accepts too; a value `http` would refuse is left out rather than failing.
    #[cfg(feature = "http")]
    pub fn to_http(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::SWITCHING_PROTOCOLS);
        *response.version_mut() = if self.is_http2() {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        let headers = response.headers_mut();
        for (name, value) in self.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// A non-101 answer to the opening handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    reason: String,
    headers: Headers,
    body: Bytes,
}

impl Rejection {
    /// The HTTP status code, for example 403.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, for example `Forbidden` (empty over HTTP/2, which has none).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The response headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The start of the body (up to [`Config::max_rejection_body`] bytes), de-chunked.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `Location` of a redirect (3xx), for an adapter to follow.
    pub fn location(&self) -> Option<&str> {
        if (300..400).contains(&self.status) {
            self.headers.get_str("Location")
        } else {
            None
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        // HTTP/2 has no reason phrase.
        if !self.reason.is_empty() {
            write!(f, " {}", self.reason)?;
        }
        if let Some(location) = self.location() {
            write!(f, " (Location: {location})")?;
        }
        let body = String::from_utf8_lossy(&self.body);
        let body = body.trim();
        if !body.is_empty() {
            let shown: String = body.chars().take(200).collect();
            write!(f, ": {shown:?}")?;
        }
        Ok(())
    }
}

/// Why a 101 response was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The response is not valid HTTP.
    Malformed(httparse::Error),
    /// The response head exceeded [`Config::max_response_size`].
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The response had more than [`Config::max_response_headers`] headers.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The response was not HTTP/1.1.
    HttpVersion,
    /// `Upgrade` was missing or not `websocket`.
    Upgrade,
    /// `Connection` was missing or lacked the `upgrade` token.
    Connection,
    /// `Sec-WebSocket-Accept` was missing or wrong.
    Accept,
    /// A header that must appear once appeared several times.
    DuplicateHeader(&'static str),
    /// The server chose a subprotocol the client did not offer.
    Subprotocol(String),
    /// `Sec-WebSocket-Extensions` was malformed.
    MalformedExtensions,
    /// The server accepted an extension the client did not offer, or one twice.
    Extension(String),
    /// The server's permessage-deflate parameters break RFC 7692 §7.1.
    #[cfg(feature = "deflate")]
    Deflate(crate::deflate::DeflateError),
    /// The stream ended before the response was complete.
    UnexpectedEof,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Malformed(e) => write!(f, "malformed HTTP response: {e}"),
            HandshakeError::TooLarge { limit } => {
                write!(f, "response head larger than {limit} bytes")
            }
            HandshakeError::TooManyHeaders { limit } => {
                write!(f, "response has more than {limit} headers")
            }
            HandshakeError::HttpVersion => f.write_str("response is not HTTP/1.1"),
            HandshakeError::Upgrade => f.write_str("missing or wrong \"Upgrade: websocket\""),
            HandshakeError::Connection => f.write_str("missing \"Connection: upgrade\""),
            HandshakeError::Accept => f.write_str("missing or wrong Sec-WebSocket-Accept"),
            HandshakeError::DuplicateHeader(h) => write!(f, "header {h} sent more than once"),
            HandshakeError::Subprotocol(p) => {
                write!(f, "server chose subprotocol {p:?}, which was not offered")
            }
            HandshakeError::MalformedExtensions => {
                f.write_str("malformed Sec-WebSocket-Extensions")
            }
            HandshakeError::Extension(e) => {
                write!(f, "server accepted extension {e:?}, which was not offered")
            }
            HandshakeError::UnexpectedEof => f.write_str("connection closed during the handshake"),
            #[cfg(feature = "deflate")]
            HandshakeError::Deflate(e) => write!(f, "invalid permessage-deflate response: {e}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// What the handshake reader found in the buffered bytes.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A valid 101; its head was consumed.
    Accepted(Response),
    /// A non-101 head; its body follows.
    /// Boxed: a rare state, which would otherwise add its size to every open connection.
    Rejected(Box<PendingRejection>),
}

/// Reads the response head from `rx`, consuming it when complete.
pub(crate) struct ResponseReader {
    expected_accept: String,
    /// How far `rx` has been searched for the end of the head.
    scanned: usize,
}

impl fmt::Debug for ResponseReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseReader")
            .field("scanned", &self.scanned)
            .finish()
    }
}

impl ResponseReader {
    pub(crate) fn new(key: &str) -> Self {
        ResponseReader {
            expected_accept: accept_key(key),
            scanned: 0,
        }
    }

    pub(crate) fn read(
        &mut self,
        rx: &mut BytesMut,
        request: &Request,
        config: &Config,
    ) -> Result<Parsed, HandshakeError> {
        // Parse only once the blank line has arrived, so a response fed one byte at a time costs
        // a linear scan, not a parse per byte.
        let from = self.scanned.saturating_sub(3);
        let window = &rx[from..rx.len().min(config.max_response_size + 4)];
        let blank_line =
            window.windows(2).any(|w| w == b"\n\n") || window.windows(3).any(|w| w == b"\n\r\n");
        if !blank_line {
            if rx.len() > config.max_response_size {
                return Err(HandshakeError::TooLarge {
                    limit: config.max_response_size,
                });
            }
            self.scanned = rx.len();
            return Ok(Parsed::Partial);
        }
        let mut headers = vec![httparse::EMPTY_HEADER; config.max_response_headers];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(rx) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::TooManyHeaders {
                    limit: config.max_response_headers,
                })
            }
            Err(e) => return Err(HandshakeError::Malformed(e)),
        };
        if len > config.max_response_size {
            return Err(HandshakeError::TooLarge {
                limit: config.max_response_size,
            });
        }
        // RFC 6455 §4.1: "the HTTP version MUST be at least 1.1" (the request is HTTP/1.1, so
        // the response is too).
        if response.version != Some(1) {
            return Err(HandshakeError::HttpVersion);
        }
        let status = response.code.unwrap_or_default();
        let headers = Headers::from_httparse(response.headers);
        let reason = response.reason.unwrap_or_default().to_owned();
        rx.advance(len);
        if status != 101 {
            // §4.1: "If the status code received from the server is not 101, the client handles
            // the response per HTTP [RFC2616] procedures."
            return Ok(Parsed::Rejected(Box::new(PendingRejection::new(
                status, reason, headers, config,
            ))));
        }
        self.validate(headers, request, config)
            .map(Parsed::Accepted)
    }

    /// RFC 6455 §4.1, the client's checks of a 101 response, points 2-6: the upgrade's own
    /// (2-4) here, the negotiation (5-6) in [`negotiate`], shared with HTTP/2.
    fn validate(
        &self,
        headers: Headers,
        request: &Request,
        config: &Config,
    ) -> Result<Response, HandshakeError> {
        let single = |name: &'static str| single(&headers, name);
        // Point 2: "If the response lacks an |Upgrade| header field or the |Upgrade| header field
        // contains a value that is not an ASCII case-insensitive match for the value "websocket",
        // the client MUST _Fail the WebSocket Connection_."
        match single("Upgrade")? {
            Some(v) if v.eq_ignore_ascii_case("websocket") => {}
            _ => return Err(HandshakeError::Upgrade),
        }
        // Point 3: "If the response lacks a |Connection| header field or the |Connection| header
        // field doesn't contain a token that is an ASCII case-insensitive match for the value
        // "Upgrade", the client MUST _Fail the WebSocket Connection_."
        let upgrade_token = headers.get_all("Connection").any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
        });
        if !upgrade_token {
            return Err(HandshakeError::Connection);
        }
        // Point 4: the accept value must be the base64 SHA-1 of key + GUID, exactly.
        if single("Sec-WebSocket-Accept")? != Some(self.expected_accept.as_str()) {
            return Err(HandshakeError::Accept);
        }
        negotiate(101, headers, request, config)
    }
}

/// The one value of header `name`, trimmed; a header sent twice is an error.
fn single<'h>(headers: &'h Headers, name: &'static str) -> Result<Option<&'h str>, HandshakeError> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(name));
    }
    Ok(first.map(|v| std::str::from_utf8(v).unwrap_or("\u{fffd}").trim()))
}

/// The answer to an extended CONNECT (RFC 8441 §5): a 2xx accepts, and its headers are checked
/// by the same rules as a 101's ([`negotiate`]); anything else is a rejection, whose body
/// follows as the stream's DATA.
pub(crate) fn check_connect_response(
    status: u16,
    headers: Headers,
    request: &Request,
    config: &Config,
) -> Result<Parsed, HandshakeError> {
    if !(200..300).contains(&status) {
        return Ok(Parsed::Rejected(Box::new(PendingRejection::new(
            status,
            String::new(),
            headers,
            config,
        ))));
    }
    negotiate(status, headers, request, config).map(Parsed::Accepted)
}

/// RFC 6455 §4.1 points 5 and 6, for a 101 and for an HTTP/2 2xx alike (RFC 8441 §5 keeps
/// Sec-WebSocket-Protocol and -Extensions as RFC 6455 defines them): only offered extensions,
/// with permessage-deflate's parameters negotiated, and only an offered subprotocol.
fn negotiate(
    status: u16,
    headers: Headers,
    request: &Request,
    config: &Config,
) -> Result<Response, HandshakeError> {
    // Point 5: "If the response includes a |Sec-WebSocket-Extensions| header field and this
    // header field indicates the use of an extension that was not present in the client's
    // handshake ..., the client MUST _Fail the WebSocket Connection_."
    let mut extensions: Vec<Extension> = Vec::new();
    let mut agreed = Agreed::default();
    for value in headers.get_all("Sec-WebSocket-Extensions") {
        let value = std::str::from_utf8(value).map_err(|_| HandshakeError::MalformedExtensions)?;
        for ext in parse_extensions(value).ok_or(HandshakeError::MalformedExtensions)? {
            if extensions
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&ext.name))
            {
                return Err(HandshakeError::Extension(ext.name));
            }
            accept_extension(config, &ext, &mut agreed)?;
            extensions.push(ext);
        }
    }
    // Point 6: "If the response includes a |Sec-WebSocket-Protocol| header field and this
    // header field indicates the use of a subprotocol that was not present in the client's
    // handshake ..., the client MUST _Fail the WebSocket Connection_."
    let subprotocol = match single(&headers, "Sec-WebSocket-Protocol")? {
        None => None,
        Some(p) if request.subprotocols().iter().any(|o| o == p) => Some(p.to_owned()),
        Some(p) => return Err(HandshakeError::Subprotocol(p.to_owned())),
    };
    Ok(Response {
        status,
        headers,
        subprotocol,
        extensions,
        #[cfg(feature = "deflate")]
        deflate: agreed,
    })
}

/// What the extensions in a response agreed on.
#[cfg(feature = "deflate")]
type Agreed = Option<crate::deflate::Negotiated>;
#[cfg(not(feature = "deflate"))]
type Agreed = Option<std::convert::Infallible>;

/// Accepts `ext` if the client offered it, recording what it agrees on.
#[cfg(feature = "deflate")]
fn accept_extension(
    config: &Config,
    ext: &Extension,
    agreed: &mut Agreed,
) -> Result<(), HandshakeError> {
    match &config.permessage_deflate {
        Some(offer) if ext.name.eq_ignore_ascii_case(crate::deflate::NAME) => {
            *agreed = Some(offer.negotiate(ext).map_err(HandshakeError::Deflate)?);
            Ok(())
        }
        _ => Err(HandshakeError::Extension(ext.name.clone())),
    }
}

/// Without an extension codec nothing is offered, so nothing may be accepted.
#[cfg(not(feature = "deflate"))]
fn accept_extension(_: &Config, ext: &Extension, _: &mut Agreed) -> Result<(), HandshakeError> {
    Err(HandshakeError::Extension(ext.name.clone()))
}

/// How a rejection's body is delimited.
#[derive(Debug)]
enum Framing {
    Length(u64),
    Chunked,
    UntilEof,
}

/// A rejection whose body is still arriving.
#[derive(Debug)]
pub(crate) struct PendingRejection {
    rejection: Rejection,
    framing: Framing,
    /// Received but not yet de-chunked bytes.
    raw: BytesMut,
    body: BytesMut,
    cap: usize,
}

impl PendingRejection {
    fn new(status: u16, reason: String, headers: Headers, config: &Config) -> Self {
        let chunked = headers.get_all("Transfer-Encoding").any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
        });
        let length = headers
            .get_str("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let framing = match (chunked, length) {
            (true, _) => Framing::Chunked,
            (false, Some(n)) => Framing::Length(n),
            // RFC 7230 §3.3.3: 1xx, 204 and 304 responses have no body.
            _ if status < 200 || status == 204 || status == 304 => Framing::Length(0),
            _ => Framing::UntilEof,
        };
        PendingRejection {
            rejection: Rejection {
                status,
                reason,
                headers,
                body: Bytes::new(),
            },
            framing,
            raw: BytesMut::new(),
            body: BytesMut::new(),
            cap: config.max_rejection_body,
        }
    }

    /// Takes body bytes from `rx`; true once the body is complete or the cap is reached.
    pub(crate) fn read(&mut self, rx: &mut BytesMut) -> bool {
        match &mut self.framing {
            Framing::Length(remaining) => {
                let take = (*remaining).min(rx.len() as u64) as usize;
                let keep = take.min(self.cap - self.body.len());
                self.body.extend_from_slice(&rx[..keep]);
                rx.advance(take);
                *remaining -= take as u64;
                *remaining == 0 || self.body.len() >= self.cap
            }
            Framing::UntilEof => {
                let keep = rx.len().min(self.cap - self.body.len());
                self.body.extend_from_slice(&rx[..keep]);
                rx.clear();
                self.body.len() >= self.cap
            }
            Framing::Chunked => {
                let room = (self.cap + 64).saturating_sub(self.raw.len());
                let take = rx.len().min(room);
                self.raw.extend_from_slice(&rx[..take]);
                rx.clear();
                self.dechunk()
            }
        }
    }

    /// Decodes complete chunks from `raw`; true at the last chunk or once the cap is reached.
    ///
    /// A chunk is consumed only when all of it (and its CRLF) has arrived, except the one that
    /// fills the cap. `raw` never holds more than the cap plus room for a chunk header, so a body
    /// that never completes cannot grow it.
    fn dechunk(&mut self) -> bool {
        let raw_full = |raw: &BytesMut, cap: usize| raw.len() >= cap + 64;
        loop {
            let (header, size) = match httparse::parse_chunk_size(&self.raw) {
                Ok(httparse::Status::Complete(found)) => found,
                Ok(httparse::Status::Partial) => return raw_full(&self.raw, self.cap),
                Err(_) => return true,
            };
            if size == 0 {
                return true;
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            let room = self.cap - self.body.len();
            let available = self.raw.len() - header;
            if size >= room {
                if available >= room {
                    self.body
                        .extend_from_slice(&self.raw[header..header + room]);
                    return true;
                }
                return raw_full(&self.raw, self.cap);
            }
            if available < size + 2 {
                return raw_full(&self.raw, self.cap);
            }
            self.body
                .extend_from_slice(&self.raw[header..header + size]);
            self.raw.advance(header + size + 2);
        }
    }

    /// The rejection with the body received so far.
    pub(crate) fn finish(mut self) -> Rejection {
        self.rejection.body = self.body.freeze();
        self.rejection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> ResponseReader {
        ResponseReader::new("dGhlIHNhbXBsZSBub25jZQ==")
    }

    fn run(response: &str, request: &Request) -> Result<Parsed, HandshakeError> {
        let mut rx = BytesMut::from(response.as_bytes());
        reader().read(&mut rx, request, &Config::default())
    }

    fn ok_head(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{extra}\r\n"
        )
    }

    #[test]
    fn rfc_section_1_3_accept() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn accepts_valid_response_case_insensitively() {
        let request = Request::new("ws://h/").unwrap();
        let resp = "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
                    sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert!(matches!(run(resp, &request), Ok(Parsed::Accepted(_))));
    }

    #[test]
    fn strict_checks() {
        let plain = Request::new("ws://h/").unwrap();
        let chat = plain.clone().with_subprotocol("chat").unwrap();
        let cases: Vec<(String, &Request, HandshakeError)> = vec![
            (
                ok_head("").replace("Upgrade: websocket\r\n", ""),
                &plain,
                HandshakeError::Upgrade,
            ),
            (
                ok_head("").replace("websocket", "h2c"),
                &plain,
                HandshakeError::Upgrade,
            ),
            (
                ok_head("").replace("Connection: Upgrade\r\n", ""),
                &plain,
                HandshakeError::Connection,
            ),
            (
                ok_head("").replace("Connection: Upgrade", "Connection: close"),
                &plain,
                HandshakeError::Connection,
            ),
            (
                ok_head("").replace(
                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=",
                ),
                &plain,
                HandshakeError::Accept,
            ),
            (
                ok_head("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
                &plain,
                HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"),
            ),
            (
                ok_head("Sec-WebSocket-Protocol: chat\r\n"),
                &plain,
                HandshakeError::Subprotocol("chat".into()),
            ),
            (
                ok_head("Sec-WebSocket-Protocol: other\r\n"),
                &chat,
                HandshakeError::Subprotocol("other".into()),
            ),
            (
                ok_head("Sec-WebSocket-Extensions: x-never-offered\r\n"),
                &plain,
                HandshakeError::Extension("x-never-offered".into()),
            ),
            (
                ok_head("Sec-WebSocket-Extensions: a b\r\n"),
                &plain,
                HandshakeError::MalformedExtensions,
            ),
            (
                ok_head("").replace("HTTP/1.1", "HTTP/1.0"),
                &plain,
                HandshakeError::HttpVersion,
            ),
        ];
        for (resp, request, expected) in cases {
            assert_eq!(run(&resp, request).unwrap_err(), expected, "{resp}");
        }
        let Ok(Parsed::Accepted(r)) = run(&ok_head("Sec-WebSocket-Protocol: chat\r\n"), &chat)
        else {
            panic!("subprotocol chosen from the offer must be accepted")
        };
        assert_eq!(r.subprotocol(), Some("chat"));
    }

    #[test]
    fn size_and_header_limits() {
        let request = Request::new("ws://h/").unwrap();
        let mut config = Config::default();
        config.max_response_size(64).max_response_headers(4);
        let mut rx = BytesMut::from(&b"HTTP/1.1 101 OK\r\nX-Pad: "[..]);
        rx.extend_from_slice(&[b'a'; 100]);
        assert_eq!(
            reader().read(&mut rx, &request, &config).unwrap_err(),
            HandshakeError::TooLarge { limit: 64 }
        );
        let mut rx =
            BytesMut::from(&b"HTTP/1.1 101 OK\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n"[..]);
        assert_eq!(
            reader().read(&mut rx, &request, &config).unwrap_err(),
            HandshakeError::TooManyHeaders { limit: 4 }
        );
    }

    #[test]
    fn chunked_rejection_body_is_decoded() {
        let request = Request::new("ws://h/").unwrap();
        let head = "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n";
        let Ok(Parsed::Rejected(mut pending)) = run(head, &request) else {
            panic!()
        };
        let body = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
        // Done exactly when the last-chunk line is complete; trailers are not waited for.
        let last_chunk_end = body.len() - 2;
        for (i, b) in body.iter().enumerate() {
            let done = pending.read(&mut BytesMut::from(&[*b][..]));
            assert_eq!(done, i + 1 == last_chunk_end, "byte {i}");
            if done {
                break;
            }
        }
        let rejection = pending.finish();
        assert_eq!(rejection.status(), 401);
        assert_eq!(&rejection.body()[..], b"hello, world");
        assert_eq!(rejection.to_string(), "401 Unauthorized: \"hello, world\"");
    }
}
