//! WebSockets over HTTP/2 (RFC 8441): the extended CONNECT request a connection sends in place
//! of the HTTP/1.1 upgrade, the HTTP version a client asks for, and how an HTTP/2 stream can
//! end abnormally. The HTTP/2 framing itself is the adapter's (a library such as `h2`); the
//! core checks the response and runs the WebSocket framing on the stream's DATA, exactly as
//! over HTTP/1.1.

use std::fmt;

/// The extended CONNECT request that opens a WebSocket on an HTTP/2 stream (RFC 8441 §4),
/// from [`ClientState::extended_connect`](crate::ClientState::extended_connect): the
/// pseudo-header fields and the regular header fields, in the order to send them.
///
/// ```
/// use std::time::Instant;
/// use ws_proto::{ClientState, Config, Request};
///
/// let request = Request::new("wss://example.com/chat")?.with_subprotocol("chat")?;
/// let client =
///     ClientState::new_extended_connect(request, Config::default(), [7; 32], Instant::now());
/// let connect = client.extended_connect();
/// assert_eq!((connect.method(), connect.protocol()), ("CONNECT", "websocket"));
/// assert_eq!(connect.uri(), "https://example.com/chat");
/// let mut headers = connect.headers();
/// assert_eq!(headers.next(), Some(("sec-websocket-version", "13")));
/// assert_eq!(headers.next(), Some(("sec-websocket-protocol", "chat")));
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedConnect {
    pub(crate) scheme: &'static str,
    pub(crate) authority: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl ExtendedConnect {
    /// `:method`: always `CONNECT`, the method RFC 8441 §4 extends with `:protocol`.
    pub fn method(&self) -> &'static str {
        "CONNECT"
    }

    /// `:protocol`: always `websocket`, the value RFC 8441 §5 requires to open a WebSocket.
    pub fn protocol(&self) -> &'static str {
        "websocket"
    }

    /// `:scheme`: `https` for `wss://`, `http` for `ws://` (RFC 8441 §4 and §5: a request with
    /// `:protocol` carries `:scheme` and `:path` too).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// `:authority`: the host, with the port when it is not the scheme's default.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `:path`: the path and query of the URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `:scheme`, `:authority` and `:path` as one URI, as HTTP libraries take them.
    pub fn uri(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    /// The regular header fields, names in lowercase (RFC 9113 §8.2.1: "Field names MUST be
    /// converted to lowercase when constructing an HTTP/2 message"): `sec-websocket-version`,
    /// `origin`, `sec-websocket-protocol`, `sec-websocket-extensions` and the user's headers.
    /// There is no `Sec-WebSocket-Key` (RFC 8441 §5: `:protocol` supersedes the key and the
    /// accept value), nor `Host` (the authority is `:authority`), `Upgrade` or `Connection`;
    /// the user's `Keep-Alive`, `Proxy-Connection` and `TE` (but `TE: trailers`), which are
    /// HTTP/1.1's own, are left out (RFC 9113 §8.2.2).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Which HTTP version carries a `wss://` WebSocket (tokio adapter with its `http2` feature;
/// the std adapter always uses HTTP/1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpVersion {
    /// HTTP/2 when the server offers it by ALPN and enables extended CONNECT (RFC 8441),
    /// HTTP/1.1 otherwise (the default). `ws://` always uses HTTP/1.1.
    #[default]
    Auto,
    /// HTTP/1.1 only: ALPN offers `http/1.1` alone.
    Http1,
    /// HTTP/2 only; a server that does not speak it, or does not enable extended CONNECT, is
    /// an [`Http2Error`]. Over `ws://` this is HTTP/2 with prior knowledge (RFC 9113 §3.3).
    Http2,
}

/// The ALPN identifiers (RFC 7301) of HTTP/2 and HTTP/1.1.
pub const ALPN_H2: &[u8] = b"h2";
/// The ALPN identifier of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// What a connection that asked for HTTP/2 found instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Http2Error {
    /// HTTP/2 was required and the server did not choose `h2` by ALPN.
    NotNegotiated,
    /// HTTP/2 was required and the server did not announce SETTINGS_ENABLE_CONNECT_PROTOCOL
    /// = 1, without which RFC 8441 §3 forbids sending `:protocol`.
    ExtendedConnectDisabled,
}

impl fmt::Display for Http2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Http2Error::NotNegotiated => "HTTP/2 was required but the server did not choose h2",
            Http2Error::ExtendedConnectDisabled => {
                "HTTP/2 was required but the server does not enable extended CONNECT (RFC 8441)"
            }
        })
    }
}

impl std::error::Error for Http2Error {}

/// The HTTP/2 stream carrying the WebSocket was reset (RST_STREAM) or its connection went away
/// (GOAWAY) before the closing handshake completed: an abnormal closure (1006), with the
/// HTTP/2 error code (RFC 9113 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamReset {
    code: u32,
    goaway: bool,
}

impl StreamReset {
    /// A reset of the stream (RST_STREAM) with `code`.
    pub fn reset(code: u32) -> StreamReset {
        StreamReset {
            code,
            goaway: false,
        }
    }

    /// The end of the whole connection (GOAWAY) with `code`.
    pub fn goaway(code: u32) -> StreamReset {
        StreamReset { code, goaway: true }
    }

    /// The HTTP/2 error code, such as 0x8 (CANCEL).
    pub fn code(&self) -> u32 {
        self.code
    }

    /// Whether the connection went away (GOAWAY) rather than the stream alone being reset.
    pub fn is_goaway(&self) -> bool {
        self.goaway
    }

    /// The code's name in RFC 9113 §7 (`CANCEL`), if it has one.
    pub fn code_name(&self) -> Option<&'static str> {
        Some(match self.code {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }
}

impl fmt::Display for StreamReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.goaway {
            "HTTP/2 connection went away (GOAWAY)"
        } else {
            "HTTP/2 stream reset (RST_STREAM)"
        };
        write!(f, "{what} with error code {:#x}", self.code)?;
        if let Some(name) = self.code_name() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

impl std::error::Error for StreamReset {}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::BytesMut;

    use super::*;
    use crate::handshake::{check_connect_response, Parsed, ResponseReader};
    use crate::{
        ClientState, CloseCode, Config, Error, Event, HandshakeError, Headers, InputError, Message,
        Output, Request, Timeout,
    };

    fn request() -> Request {
        Request::new("wss://example.com:8443/chat?room=1#frag")
            .unwrap()
            .with_origin("https://example.com")
            .unwrap()
            .with_subprotocol("chat")
            .unwrap()
            .with_subprotocol("superchat")
            .unwrap()
            .with_header("X-Trace-Id", "42")
            .unwrap()
    }

    fn client(config: Config, now: Instant) -> ClientState {
        ClientState::new_extended_connect(request(), config, [3; 32], now)
    }

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    /// Everything the drain gives: the bytes written and the events.
    fn drain(client: &mut ClientState) -> (Vec<u8>, Vec<Event>) {
        let (mut wire, mut events) = (Vec::new(), Vec::new());
        loop {
            match client.poll_output() {
                Output::Transmit(t) => wire.extend_from_slice(&t.to_vec()),
                Output::Event(e) => events.push(e),
                Output::Timeout(_) => return (wire, events),
            }
        }
    }

    fn closed(events: &[Event]) -> &crate::Closed {
        match events.last() {
            Some(Event::Closed(closed)) => closed,
            other => panic!("expected Closed, got {other:?}"),
        }
    }

    #[test]
    #[cfg(feature = "deflate")]
    fn the_extended_connect_carries_the_request_and_the_offers() {
        let connect = client(Config::default(), Instant::now()).extended_connect();
        assert_eq!(connect.method(), "CONNECT");
        assert_eq!(connect.protocol(), "websocket");
        assert_eq!(connect.scheme(), "https");
        assert_eq!(connect.authority(), "example.com:8443");
        assert_eq!(connect.path(), "/chat?room=1");
        assert_eq!(connect.uri(), "https://example.com:8443/chat?room=1");
        assert_eq!(
            connect.headers().collect::<Vec<_>>(),
            [
                ("sec-websocket-version", "13"),
                ("origin", "https://example.com"),
                ("sec-websocket-protocol", "chat, superchat"),
                (
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits"
                ),
                ("x-trace-id", "42"),
            ]
        );
        // HTTP/1.1's hop-by-hop headers stay out of HTTP/2.
        let hop_by_hop = request()
            .with_header("Keep-Alive", "timeout=5")
            .unwrap()
            .with_header("Proxy-Connection", "keep-alive")
            .unwrap()
            .with_header("TE", "gzip")
            .unwrap()
            .with_header("X-After", "1")
            .unwrap();
        let connect = ClientState::new_extended_connect(
            hop_by_hop.clone().with_header("te", "trailers").unwrap(),
            Config::default(),
            [3; 32],
            Instant::now(),
        )
        .extended_connect();
        let names: Vec<_> = connect.headers().map(|(n, _)| n).skip(4).collect();
        assert_eq!(names, ["x-trace-id", "x-after", "te"]);
        let plain = ClientState::new_extended_connect(
            Request::new("ws://[::1]/").unwrap(),
            Config::default(),
            [3; 32],
            Instant::now(),
        );
        let connect = plain.extended_connect();
        assert_eq!((connect.scheme(), connect.authority()), ("http", "[::1]"));
    }

    #[test]
    #[cfg(feature = "deflate")]
    fn no_http1_bytes_and_sends_wait_for_the_response() {
        let now = Instant::now();
        let mut client = client(Config::default(), now);
        client.send_text("early").unwrap();
        let (wire, events) = drain(&mut client);
        assert!(wire.is_empty() && events.is_empty());
        // DATA cannot come before the response's HEADERS, but if fed it waits for them.
        client.handle_input(&[0x81, 0x02, b'h', b'i'], now).unwrap();
        assert_eq!(drain(&mut client), (Vec::new(), Vec::new()));
        let response = headers(&[
            ("sec-websocket-protocol", "superchat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; server_no_context_takeover",
            ),
        ]);
        client.handle_connect_response(200, response, now).unwrap();
        let (wire, events) = drain(&mut client);
        let Event::Open(response) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(response.status(), 200);
        assert!(response.is_http2());
        assert_eq!(response.subprotocol(), Some("superchat"));
        assert_eq!(response.extensions()[0].name, "permessage-deflate");
        assert_eq!(client.subprotocol(), Some("superchat"));
        assert_eq!(events[1], Event::Message(Message::Text("hi".into())));
        // The queued message went out, masked, once open.
        assert_eq!(&wire[..2], [0x81, 0x80 | 5]);
        // Later ones are compressed as negotiated (RSV1 set).
        client.send_text(&"later ".repeat(50)).unwrap();
        let (wire, _) = drain(&mut client);
        assert_eq!(wire[0], 0xc1);
        assert!(wire.len() < 100);
        assert_eq!(
            client.handle_connect_response(200, Headers::default(), now),
            Err(InputError::UnexpectedConnectResponse)
        );
    }

    /// The 2xx is held to the 101's rules by the very same code: every case fails identically
    /// on both paths.
    #[test]
    fn the_response_is_checked_as_a_101_is() {
        let request = request();
        let config = Config::default();
        let cases: &[(&str, &str)] = &[
            ("sec-websocket-protocol", "other"),
            ("sec-websocket-extensions", "x-never-offered"),
            ("sec-websocket-extensions", "a b"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; server_max_window_bits=7",
            ),
            (
                "sec-websocket-extensions",
                "permessage-deflate; bogus_parameter",
            ),
            (
                "sec-websocket-extensions",
                "permessage-deflate, permessage-deflate",
            ),
        ];
        for &(name, value) in cases {
            let over_h2 = check_connect_response(200, headers(&[(name, value)]), &request, &config)
                .err()
                .unwrap_or_else(|| panic!("{name}: {value} was accepted over HTTP/2"));
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{name}: {value}\r\n\r\n"
            );
            let over_h1 = ResponseReader::new("dGhlIHNhbXBsZSBub25jZQ==")
                .read(&mut BytesMut::from(head.as_bytes()), &request, &config)
                .err()
                .unwrap();
            assert_eq!(over_h2, over_h1, "{name}: {value}");
        }
        // A duplicated subprotocol header, as for a 101.
        assert_eq!(
            check_connect_response(
                200,
                headers(&[
                    ("sec-websocket-protocol", "chat"),
                    ("Sec-WebSocket-Protocol", "chat")
                ]),
                &request,
                &config
            )
            .err(),
            Some(HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol"))
        );
        // Nothing is required of a 2xx beyond that: no Upgrade, Connection or Accept.
        assert!(matches!(
            check_connect_response(204, Headers::default(), &request, &config),
            Ok(Parsed::Accepted(r)) if r.status() == 204 && r.subprotocol().is_none()
        ));
        // A failed check ends the connection as over HTTP/1.1.
        let mut client = client(config, Instant::now());
        client
            .handle_connect_response(200, headers(&cases[..1]), Instant::now())
            .unwrap();
        let (_, events) = drain(&mut client);
        let end = closed(&events);
        assert_eq!(end.code, CloseCode::ABNORMAL);
        assert_eq!(
            end.error,
            Some(Error::Handshake(HandshakeError::Subprotocol(
                "other".into()
            )))
        );
    }

    #[test]
    fn a_non_2xx_is_a_rejection_with_the_streams_body() {
        let now = Instant::now();
        let mut client = client(Config::default(), now);
        let response = headers(&[("content-type", "text/plain"), ("x-why", "no")]);
        client.handle_connect_response(400, response, now).unwrap();
        client.handle_input(b"bad ", now).unwrap();
        client.handle_input(b"request", now).unwrap();
        assert!(drain(&mut client).1.is_empty());
        client.handle_eof().unwrap();
        let (wire, events) = drain(&mut client);
        assert!(wire.is_empty());
        let Some(Error::Rejected(rejection)) = &closed(&events).error else {
            panic!("{events:?}")
        };
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.reason(), "");
        assert_eq!(rejection.headers().get_str("X-Why"), Some("no"));
        assert_eq!(&rejection.body()[..], b"bad request");
        assert_eq!(rejection.to_string(), "400: \"bad request\"");
        // With a Content-Length of 0 the rejection is complete at once.
        let mut client = super::tests::client(Config::default(), now);
        client
            .handle_connect_response(403, headers(&[("content-length", "0")]), now)
            .unwrap();
        let (_, events) = drain(&mut client);
        assert!(matches!(&closed(&events).error, Some(Error::Rejected(r)) if r.status() == 403));
    }

    #[test]
    fn the_handshake_timeout_applies() {
        let now = Instant::now();
        let mut config = Config::default();
        config.handshake_timeout(Some(Duration::from_secs(2)));
        let mut client = client(config, now);
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(2)));
        client.handle_timeout(now + Duration::from_secs(2));
        let (_, events) = drain(&mut client);
        assert_eq!(
            closed(&events).error,
            Some(Error::Timeout(Timeout::Handshake))
        );
        // A late response is ignored.
        client
            .handle_connect_response(200, Headers::default(), now)
            .unwrap();
        assert!(drain(&mut client).1.is_empty());
        // Over HTTP/1.1 there is no such response.
        let mut h1 = ClientState::new(request(), Config::default(), [3; 32], now);
        assert_eq!(
            h1.handle_connect_response(200, Headers::default(), now),
            Err(InputError::UnexpectedConnectResponse)
        );
    }

    fn open_client(now: Instant) -> ClientState {
        let mut client = client(Config::default(), now);
        client
            .handle_connect_response(200, Headers::default(), now)
            .unwrap();
        let (_, events) = drain(&mut client);
        assert!(matches!(events[..], [Event::Open(_)]));
        client
    }

    #[test]
    fn a_reset_is_an_abnormal_closure_with_the_http2_code() {
        let now = Instant::now();
        let mut client = open_client(now);
        client.handle_input(&[0x82, 0x01, 7], now).unwrap();
        client.handle_stream_reset(StreamReset::reset(0x8)).unwrap();
        let (_, events) = drain(&mut client);
        // What came before the reset is delivered first.
        assert_eq!(events[0], Event::Message(Message::Binary(vec![7].into())));
        let end = closed(&events);
        assert_eq!((end.code, end.clean), (CloseCode::ABNORMAL, false));
        assert_eq!(end.error, Some(Error::StreamReset(StreamReset::reset(8))));
        assert_eq!(
            end.reason,
            "HTTP/2 stream reset (RST_STREAM) with error code 0x8 (CANCEL) without a close handshake"
        );
        // A GOAWAY before the response.
        let mut client = super::tests::client(Config::default(), now);
        client
            .handle_stream_reset(StreamReset::goaway(0x2))
            .unwrap();
        let (_, events) = drain(&mut client);
        let error = closed(&events).error.clone().unwrap();
        assert_eq!(error, Error::StreamReset(StreamReset::goaway(2)));
        assert_eq!(
            crate::ClientError::from(error).to_string(),
            "HTTP/2 connection went away (GOAWAY) with error code 0x2 (INTERNAL_ERROR) without a \
             close handshake"
        );
    }

    #[test]
    fn end_stream_or_a_reset_after_the_close_is_the_clean_end() {
        let now = Instant::now();
        for reset in [None, Some(StreamReset::reset(0x0))] {
            let mut client = open_client(now);
            client.close(CloseCode::NORMAL, "bye", now).unwrap();
            let (wire, _) = drain(&mut client);
            assert_eq!(wire[0], 0x88);
            // The server's Close (1000), then the end of the stream.
            client.handle_input(&[0x88, 0x02, 0x03, 0xe8], now).unwrap();
            match reset {
                None => client.handle_eof().unwrap(),
                Some(reset) => client.handle_stream_reset(reset).unwrap(),
            }
            let (_, events) = drain(&mut client);
            let end = closed(&events);
            assert_eq!((end.code, end.clean), (CloseCode::NORMAL, true));
            assert_eq!(end.error, None);
        }
    }
}
