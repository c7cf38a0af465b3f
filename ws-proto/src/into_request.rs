//! [`IntoClientRequest`]: what `connect` and the builders accept as the request, as
//! tokio-tungstenite's trait of the same name does: a URL (`&str`, `String`), a [`Request`], and
//! with the `http` feature an `http::Uri` or an `http::Request<()>`.

use crate::request::{Request, RequestError};

/// Something that names a WebSocket request: a `ws://` or `wss://` URL, a [`Request`], or (with
/// the `http` feature) an `http::Uri` or a whole `http::Request<()>`.
///
/// ```
/// use ws_proto::IntoClientRequest;
///
/// let request = "wss://example.com/chat".into_client_request()?;
/// assert_eq!(request.port(), 443);
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
pub trait IntoClientRequest {
    /// The request, or why it is invalid.
    fn into_client_request(self) -> Result<Request, RequestError>;
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<Request, RequestError> {
        Request::new(self)
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<Request, RequestError> {
        Request::new(&self)
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<Request, RequestError> {
        Request::new(self)
    }
}

impl IntoClientRequest for Request {
    fn into_client_request(self) -> Result<Request, RequestError> {
        Ok(self)
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<Request, RequestError> {
        (&self).into_client_request()
    }
}

#[cfg(feature = "http")]
impl IntoClientRequest for &http::Uri {
    fn into_client_request(self) -> Result<Request, RequestError> {
        Request::new(&self.to_string())
    }
}

/// A request as a tokio-tungstenite user builds it: the method must be GET; every header is
/// copied, `Sec-WebSocket-Protocol` becomes offered subprotocols (in order) and `Origin` the
/// origin, and the handshake's own headers (`Host`, `Upgrade`, `Connection`,
/// `Sec-WebSocket-Version`, `Sec-WebSocket-Key`) are accepted as
/// [`Request::with_header`] accepts them.
///
/// ```
/// use ws_proto::IntoClientRequest;
///
/// let request = http::Request::get("wss://example.com/chat")
///     .header("Sec-WebSocket-Protocol", "chat.v2, chat.v1")
///     .header("Authorization", "Bearer t0ken")
///     .body(())
///     .unwrap()
///     .into_client_request()?;
/// assert_eq!(request.subprotocols(), ["chat.v2", "chat.v1"]);
/// assert_eq!(request.headers().collect::<Vec<_>>(), [("authorization", "Bearer t0ken")]);
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[cfg(feature = "http")]
impl IntoClientRequest for http::Request<()> {
    fn into_client_request(self) -> Result<Request, RequestError> {
        if self.method() != http::Method::GET {
            return Err(RequestError::UnsupportedMethod(self.method().to_string()));
        }
        let mut request = self.uri().into_client_request()?;
        for (name, value) in self.headers() {
            let value = value
                .to_str()
                .map_err(|_| RequestError::InvalidHeaderValue(name.to_string()))?;
            request = match name.as_str() {
                "sec-websocket-protocol" => value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .try_fold(request, |r, p| r.with_subprotocol(p))?,
                "origin" => request.with_origin(value)?,
                name => request.with_header(name, value)?,
            };
        }
        Ok(request)
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use super::*;

    #[test]
    fn a_tungstenite_style_request_is_taken_whole() {
        let uri: http::Uri = "ws://example.com:8080/feed?x=1".parse().unwrap();
        let request = http::Request::get(uri.clone())
            .header("Host", "example.com:8080")
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Origin", "https://example.com")
            .header("Cookie", "a=1")
            .body(())
            .unwrap()
            .into_client_request()
            .unwrap();
        assert_eq!((request.host(), request.port()), ("example.com", 8080));
        assert_eq!(request.target(), "/feed?x=1");
        assert_eq!(request.origin(), Some("https://example.com"));
        assert_eq!(request.headers().collect::<Vec<_>>(), [("cookie", "a=1")]);
        assert_eq!(uri.into_client_request().unwrap().target(), "/feed?x=1");
    }

    #[test]
    fn what_cannot_be_a_websocket_request_is_refused() {
        let post = http::Request::post("ws://example.com/").body(()).unwrap();
        assert_eq!(
            post.into_client_request(),
            Err(RequestError::UnsupportedMethod("POST".into()))
        );
        let other_host = http::Request::get("ws://example.com/")
            .header("Host", "evil.example")
            .body(())
            .unwrap();
        assert_eq!(
            other_host.into_client_request(),
            Err(RequestError::ReservedHeader("host".into()))
        );
        let http_uri: http::Uri = "http://example.com/".parse().unwrap();
        assert_eq!(
            http_uri.into_client_request(),
            Err(RequestError::UnsupportedScheme("http".into()))
        );
        let binary = http::Request::get("ws://example.com/")
            .header("X-Bytes", http::HeaderValue::from_bytes(b"\xff").unwrap())
            .body(())
            .unwrap();
        assert_eq!(
            binary.into_client_request(),
            Err(RequestError::InvalidHeaderValue("x-bytes".into()))
        );
    }
}
