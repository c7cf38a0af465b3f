//! HTTP `CONNECT` (RFC 9110 §9.3.6): the request, and the proxy's answer read without ever
//! reading past it.

use base64::Engine;

use super::error::{ProxyError, ProxyStage};
use super::url::Proxy;
use crate::config::Config;
use crate::headers::Headers;

const STAGE: ProxyStage = ProxyStage::HttpConnect;

/// An HTTP proxy's tunnel request and answer.
#[derive(Debug)]
pub(crate) struct HttpConnect {
    /// The request, until written.
    request: Option<Vec<u8>>,
    state: State,
    /// Bytes of heads read, interim answers included: a proxy that sends interim answers
    /// forever is stopped by the same cap as one large head.
    head_bytes: usize,
    max_head: usize,
    max_headers: usize,
    max_body: usize,
}

#[derive(Debug)]
enum State {
    /// Reading the answer's head, held here.
    Head(Vec<u8>),
    /// A refusal with a `Content-Length`: the start of its body, for the error.
    Body {
        error: ProxyError,
        remaining: usize,
    },
    Open,
    Failed,
}

impl HttpConnect {
    pub(crate) fn new(proxy: &Proxy, host: &str, port: u16, config: &Config) -> HttpConnect {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        // RFC 9110 §9.3.6: "the request-target consists of only the host name and port number
        // of the tunnel destination"; §7.2: a client MUST send Host, here the same authority.
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some((user, password)) = proxy.credentials() {
            // RFC 7617: Basic credentials are base64("user:password").
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        for (name, value) in proxy.headers() {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        HttpConnect {
            request: Some(request.into_bytes()),
            state: State::Head(Vec::new()),
            head_bytes: 0,
            max_head: config.max_response_size,
            max_headers: config.max_response_headers,
            max_body: config.max_rejection_body,
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.request.take()
    }

    /// The head ends at the first empty line; httparse also takes bare LF line ends, so the
    /// shortest end from here is `\n\n`: two bytes, or one just after a CR or LF.
    pub(crate) fn read_limit(&self) -> usize {
        match &self.state {
            State::Head(head) if matches!(head.last(), Some(b'\r' | b'\n')) => 1,
            State::Head(_) => 2,
            State::Body { remaining, .. } => *remaining,
            State::Open | State::Failed => 0,
        }
    }

    pub(crate) fn handle_input(&mut self, data: &[u8]) -> Result<usize, ProxyError> {
        let mut used = 0;
        while used < data.len() {
            match &mut self.state {
                State::Head(head) => {
                    head.push(data[used]);
                    used += 1;
                    self.head_bytes += 1;
                    if head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n") {
                        let head = std::mem::take(head);
                        self.state = self.answer(&head)?;
                    } else if self.head_bytes >= self.max_head {
                        return self.fail(ProxyError::ResponseTooLarge {
                            limit: self.max_head,
                        });
                    }
                }
                State::Body { error, remaining } => {
                    let n = (*remaining).min(data.len() - used);
                    if let ProxyError::Rejected { body, .. } = error {
                        body.extend_from_slice(&data[used..used + n]);
                    }
                    used += n;
                    *remaining -= n;
                    if *remaining == 0 {
                        return self.finish_body();
                    }
                }
                State::Open => return Ok(used),
                State::Failed => return Err(failed()),
            }
        }
        match self.state {
            State::Failed => Err(failed()),
            _ => Ok(used),
        }
    }

    /// The connection ended: mid-head, the proxy failed; mid-body, the refusal is reported
    /// with the body so far.
    pub(crate) fn handle_eof(&mut self) -> ProxyError {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Body { error, .. } => error,
            State::Open | State::Failed => failed(),
            State::Head(_) => ProxyError::Closed { stage: STAGE },
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// What a complete head leads to: the tunnel, another head after an interim answer, or a
    /// refusal (at once, or after the start of its body).
    fn answer(&mut self, head: &[u8]) -> Result<State, ProxyError> {
        let mut headers = vec![httparse::EMPTY_HEADER; self.max_headers];
        let mut response = httparse::Response::new(&mut headers);
        let invalid = |what: String| ProxyError::InvalidResponse { stage: STAGE, what };
        let parsed = match response.parse(head) {
            Ok(httparse::Status::Complete(_)) => Ok(()),
            Ok(httparse::Status::Partial) => Err(invalid("incomplete head".into())),
            Err(httparse::Error::TooManyHeaders) => {
                Err(invalid(format!("more than {} headers", self.max_headers)))
            }
            Err(e) => Err(invalid(e.to_string())),
        };
        if let Err(e) = parsed {
            self.state = State::Failed;
            return Err(e);
        }
        let status = response.code.unwrap_or_default();
        match status {
            // RFC 9110 §15.2: a client MUST be able to parse interim responses; the final
            // answer follows.
            100..=199 => Ok(State::Head(Vec::new())),
            // RFC 9110 §9.3.6: "A client MUST ignore any Content-Length or Transfer-Encoding
            // header fields received in a successful response to CONNECT."
            200..=299 => Ok(State::Open),
            _ => {
                let headers = Headers::from_httparse(response.headers);
                let length = headers
                    .get_str("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok());
                // RFC 9112 §6.3: without a length, a response the proxy closes after (HTTP/1.0,
                // or `Connection: close`) has a body that runs to the end of the connection.
                let closes = response.version == Some(0)
                    || headers
                        .get_str("connection")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("close"));
                let length = length.or(closes.then_some(usize::MAX)).unwrap_or(0);
                let error = ProxyError::Rejected {
                    status,
                    reason: response.reason.unwrap_or_default().to_owned(),
                    headers,
                    body: Vec::new(),
                };
                // A body of unknown end on a connection that stays open is not waited for: the
                // refusal is reported now rather than after bytes that may never come.
                let remaining = length.min(self.max_body);
                if remaining == 0 {
                    self.state = State::Failed;
                    return Err(error);
                }
                Ok(State::Body { error, remaining })
            }
        }
    }

    fn finish_body(&mut self) -> Result<usize, ProxyError> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Body { error, .. } => Err(error),
            _ => Err(failed()),
        }
    }

    fn fail(&mut self, error: ProxyError) -> Result<usize, ProxyError> {
        self.state = State::Failed;
        Err(error)
    }
}

/// Input after the handshake failed.
fn failed() -> ProxyError {
    ProxyError::InvalidResponse {
        stage: STAGE,
        what: "the handshake already failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn connect(url: &str, host: &str) -> HttpConnect {
        let mut config = Config::default();
        config.max_response_size(256).max_rejection_body(8);
        HttpConnect::new(&Proxy::new(url).unwrap(), host, 443, &config)
    }

    /// Feeds `answer` reading at most `read_limit()` bytes at a time, as an adapter does;
    /// returns the outcome and how many bytes were read.
    fn drive(machine: &mut HttpConnect, answer: &[u8]) -> (Result<(), ProxyError>, usize) {
        let mut read = 0;
        while !machine.is_open() {
            let n = machine.read_limit().min(answer.len() - read);
            if n == 0 {
                return (Err(machine.handle_eof()), read);
            }
            let chunk = &answer[read..read + n];
            read += n;
            match machine.handle_input(chunk) {
                Ok(used) => assert_eq!(used, n, "everything within the limit is used"),
                Err(e) => return (Err(e), read),
            }
        }
        (Ok(()), read)
    }

    #[test]
    fn the_request_carries_the_authority_credentials_and_extra_headers() {
        let proxy = Proxy::new("http://al%40ce:pw@proxy:3128")
            .unwrap()
            .with_header("X-Trace", "1")
            .unwrap();
        let mut m = HttpConnect::new(&proxy, "::1", 8443, &Config::default());
        assert_eq!(
            String::from_utf8(m.poll_transmit().unwrap()).unwrap(),
            "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\
             Proxy-Authorization: Basic YWxAY2U6cHc=\r\nX-Trace: 1\r\n\r\n"
        );
        assert_eq!(m.poll_transmit(), None, "written once");
    }

    #[test]
    fn a_2xx_opens_without_reading_a_byte_of_the_tunnel() {
        let answer =
            b"HTTP/1.1 200 Connection established\r\nContent-Length: 99\r\n\r\n\x16\x03\x01";
        let mut m = connect("http://p:1", "example.com");
        let (result, read) = drive(&mut m, answer);
        assert_eq!((result, read), (Ok(()), answer.len() - 3));
        // Given everything at once, it uses the head only.
        let mut m = connect("http://p:1", "example.com");
        assert_eq!(m.handle_input(answer), Ok(answer.len() - 3));
        assert!(m.is_open());
        // Bare LF line ends, and an interim answer first.
        let mut m = connect("http://p:1", "example.com");
        let lf = b"HTTP/1.1 100 Continue\n\nHTTP/1.0 200 OK\nVia: x\n\nrest";
        assert_eq!(drive(&mut m, lf), (Ok(()), lf.len() - 4));
    }

    #[test]
    fn a_refusal_carries_status_reason_headers_and_the_start_of_the_body() {
        let answer = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 20\r\n\r\nauthentication needed";
        let mut m = connect("http://p:1", "example.com");
        let (result, read) = drive(&mut m, answer);
        let Err(ProxyError::Rejected {
            status,
            reason,
            headers,
            body,
        }) = result
        else {
            panic!("{result:?}")
        };
        assert_eq!(
            (status, reason.as_str()),
            (407, "Proxy Authentication Required")
        );
        assert_eq!(
            headers.get_str("proxy-authenticate"),
            Some("Basic realm=\"p\"")
        );
        // Capped at max_rejection_body (8 here).
        assert_eq!(
            (body.as_slice(), read),
            (&b"authenti"[..], answer.len() - 13)
        );
        // No length: reported at once. A body cut short: reported with what came.
        let mut m = connect("http://p:1", "example.com");
        let (result, _) = drive(&mut m, b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert!(
            matches!(result, Err(ProxyError::Rejected { status: 503, ref body, .. }) if body.is_empty())
        );
        // No length, but the proxy closes after it: the body runs to the end.
        let mut m = connect("http://p:1", "example.com");
        let (result, _) = drive(
            &mut m,
            b"HTTP/1.0 407 Auth\r\nProxy-Authenticate: Basic\r\n\r\n<html>",
        );
        assert!(
            matches!(result, Err(ProxyError::Rejected { status: 407, ref body, .. }) if body == b"<html>")
        );
        let mut m = connect("http://p:1", "example.com");
        let (result, _) = drive(
            &mut m,
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nab",
        );
        assert!(
            matches!(result, Err(ProxyError::Rejected { status: 502, ref body, .. }) if body == b"ab")
        );
    }

    #[test]
    fn garbage_an_oversized_head_and_an_early_end_are_typed_errors() {
        let mut m = connect("http://p:1", "example.com");
        let (result, _) = drive(&mut m, b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
        assert!(
            matches!(
                result,
                Err(ProxyError::InvalidResponse {
                    stage: ProxyStage::HttpConnect,
                    ..
                })
            ),
            "{result:?}"
        );
        let mut m = connect("http://p:1", "example.com");
        let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(300));
        let (result, read) = drive(&mut m, big.as_bytes());
        assert_eq!(
            (result, read),
            (Err(ProxyError::ResponseTooLarge { limit: 256 }), 256)
        );
        // Interim answers count against the same cap.
        let mut m = connect("http://p:1", "example.com");
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(20);
        let (result, read) = drive(&mut m, &interim);
        assert_eq!(
            (result, read),
            (Err(ProxyError::ResponseTooLarge { limit: 256 }), 256)
        );
        let mut m = connect("http://p:1", "example.com");
        let (result, _) = drive(&mut m, b"HTTP/1.1 200 OK\r\n");
        assert_eq!(
            result,
            Err(ProxyError::Closed {
                stage: ProxyStage::HttpConnect
            })
        );
        assert_eq!(m.read_limit(), 0);
    }

    proptest! {
        /// The same outcome, and the tunnel's bytes untouched, however the answer is split.
        #[test]
        fn any_split_gives_the_same_result(
            status in prop::sample::select(vec![200u16, 204, 403, 407, 502]),
            body_len in 0usize..12,
            tunnel in prop::collection::vec(any::<u8>(), 0..16),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut answer = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
            let head_len = answer.len();
            if status >= 300 {
                answer.extend(std::iter::repeat_n(b'b', body_len));
            }
            let answer_len = answer.len();
            answer.extend_from_slice(&tunnel);
            let whole = {
                let mut m = connect("http://p:1", "h");
                m.handle_input(&answer)
            };
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(answer.len() + 1)).collect();
            points.extend([0, answer.len()]);
            points.sort_unstable();
            let mut m = connect("http://p:1", "h");
            let mut split = Ok(0);
            for pair in points.windows(2) {
                match m.handle_input(&answer[pair[0]..pair[1]]) {
                    Ok(used) => {
                        split = Ok(pair[0] + used);
                        if m.is_open() { break; }
                    }
                    Err(e) => { split = Err(e); break; }
                }
            }
            prop_assert_eq!(&split, &whole);
            if status < 300 {
                prop_assert_eq!(whole, Ok(head_len));
            } else {
                let rejected = matches!(&whole, Err(ProxyError::Rejected { body, .. }) if body.len() == body_len.min(8));
                prop_assert!(rejected, "{:?}", whole);
                prop_assert!(answer_len >= head_len);
            }
        }
    }
}
