//! [`ClientError`]: every way a client connection can fail, named by the stage that failed. Both
//! adapters report it as their `Error`, so a program moved from one to the other matches the
//! same variants.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::close::CloseCode;
use crate::error::{Error, InputError, ProtocolError, SendError, Timeout};
use crate::event::Closed;
use crate::handshake::{HandshakeError, Rejection};
use crate::http2::{Http2Error, StreamReset};
use crate::plan::RedirectError;
use crate::proxy::ProxyError;
use crate::request::RequestError;

/// Why connecting, sending or receiving failed.
///
/// The variants follow the life of a connection: the request, DNS, TCP, TLS, the opening
/// handshake (rejected, redirected or invalid), then the open connection (protocol violations,
/// timeouts, the transport, the end) and refused commands. The `Display` text names the stage
/// and the peer, so a log line alone tells whether DNS, TCP, TLS or the server's answer was the
/// problem.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL, a header, the origin or a subprotocol was invalid; nothing was sent.
    Request(RequestError),
    /// Resolving the host failed or returned no address.
    Dns {
        /// The host looked up.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// Every address of the host refused or failed the TCP connection.
    Connect {
        /// The host from the URL.
        host: String,
        /// The port.
        port: u16,
        /// Each address tried, with its error, in order.
        attempts: Vec<(SocketAddr, io::Error)>,
    },
    /// DNS, TCP and TLS together took longer than the connect timeout.
    ConnectTimeout {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The configured limit.
        timeout: Duration,
    },
    /// The proxy did not open the tunnel to the server: it refused (an HTTP status other than
    /// 2xx, a SOCKS5 reply code), wanted credentials, or answered something else. Reaching
    /// the proxy is [`Dns`](Self::Dns) / [`Connect`](Self::Connect) with the proxy's host.
    Proxy {
        /// The proxy, without credentials (`http://127.0.0.1:3128`).
        proxy: String,
        /// What went wrong, and at which stage.
        error: ProxyError,
    },
    /// The TLS handshake failed: an untrusted certificate, a name mismatch, an alert, a host
    /// that is not a valid server name. The [`rustls::Error`], when there is one, is the I/O
    /// error's inner error (`source.get_ref()`), as tokio-rustls reports it.
    ///
    /// [`rustls::Error`]: https://docs.rs/rustls/latest/rustls/enum.Error.html
    Tls {
        /// The server name the certificate was checked against.
        host: String,
        /// What failed.
        source: io::Error,
    },
    /// The server answered the opening handshake with a status other than 101; see
    /// [`Rejection::status`] (and [`Rejection::location`] for a redirect not followed).
    Rejected(Box<Rejection>),
    /// A redirect was not followed: one too many, or a `Location` that cannot be followed.
    Redirect(RedirectError),
    /// The server's 101 response was invalid.
    Handshake(HandshakeError),
    /// The server violated RFC 6455; the close code sent is [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The opening handshake, a keepalive pong or the closing handshake did not come in time.
    Timeout(Timeout),
    /// The server ended the stream without a closing handshake (close code 1006).
    UnexpectedEof,
    /// Reading from or writing to the established transport failed (close code 1006).
    Io(io::Error),
    /// The HTTP/2 stream carrying the WebSocket was reset (RST_STREAM) or its connection went
    /// away (GOAWAY) before the closing handshake completed (close code 1006); see
    /// [`StreamReset::code`] for the HTTP/2 error code.
    StreamReset(StreamReset),
    /// HTTP/2 was required ([`HttpVersion::Http2`](crate::HttpVersion::Http2)) and the server
    /// does not offer WebSockets over it.
    Http2(Http2Error),
    /// The closing handshake completed, with the server's code and reason: the end of a
    /// connection, for calls that return it as an error.
    Closed {
        /// The close code (1005 when the server's Close had none).
        code: CloseCode,
        /// The close reason.
        reason: String,
    },
    /// The connection's end was already reported; nothing more will be read.
    AlreadyClosed,
    /// A command was refused (the connection is closing, the send buffer is full, ...);
    /// nothing was sent.
    Send(SendError),
    /// A reconnecting client was asked to do something that needs a connection, between
    /// connections.
    NotConnected,
}

impl ClientError {
    /// The handshake rejection, when the server answered with a status other than 101.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            ClientError::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// The close code a connection that ended with this error reports: the code of a clean
    /// close, the code the client sent for a protocol violation, or 1006 (no Close frame was
    /// exchanged) for everything else.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ClientError::Closed { code, .. } => *code,
            ClientError::Protocol(e) => e.close_code(),
            _ => CloseCode::ABNORMAL,
        }
    }
}

impl ClientError {
    /// The end of a connection as an adapter reports it: `Err(transport)` when the transport or
    /// TLS failed (the adapter saw it) and the connection did not close cleanly, as that
    /// failure explains the end better than the core's "unexpected end of stream"; otherwise
    /// `Ok(closed)`, clean or with the cause the core saw. After a clean close, whatever
    /// happened to the transport no longer matters.
    pub fn ending(closed: Closed, transport: Option<ClientError>) -> Result<Closed, ClientError> {
        match transport {
            Some(failure) if !closed.clean => Err(failure),
            _ => Ok(closed),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Request(e) => write!(f, "invalid request: {e}"),
            ClientError::Dns { host, source } => {
                write!(f, "DNS lookup of {host:?} failed: {source}")
            }
            ClientError::Proxy { proxy, error } => write!(f, "proxy {proxy}: {error}"),
            ClientError::Connect {
                host,
                port,
                attempts,
            } => {
                write!(f, "TCP connect to {host}:{port} failed")?;
                if attempts.is_empty() {
                    return f.write_str(": the name resolved to no address");
                }
                for (i, (addr, e)) in attempts.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}{addr}: {e}")?;
                }
                Ok(())
            }
            ClientError::ConnectTimeout {
                host,
                port,
                timeout,
            } => write!(f, "connecting to {host}:{port} timed out after {timeout:?}"),
            ClientError::Tls { host, source } => {
                write!(f, "TLS handshake with {host:?} failed: {source}")
            }
            ClientError::Rejected(r) => write!(f, "handshake rejected by the server: {r}"),
            ClientError::Redirect(e) => write!(f, "{e}"),
            ClientError::Handshake(e) => write!(f, "invalid handshake response: {e}"),
            ClientError::Protocol(e) => write!(f, "protocol violation by the server: {e}"),
            ClientError::Timeout(t) => write!(f, "{t}"),
            ClientError::UnexpectedEof => {
                f.write_str("connection closed without a close handshake")
            }
            ClientError::Io(e) => write!(f, "transport I/O failed: {e}"),
            ClientError::StreamReset(r) => write!(f, "{r} without a close handshake"),
            ClientError::Http2(e) => write!(f, "{e}"),
            ClientError::Closed { code, reason } => {
                write!(f, "connection closed with code {code}")?;
                if !reason.is_empty() {
                    write!(f, " ({reason:?})")?;
                }
                Ok(())
            }
            ClientError::AlreadyClosed => f.write_str("the connection is already closed"),
            ClientError::Send(e) => write!(f, "send refused: {e}"),
            ClientError::NotConnected => {
                f.write_str("not connected (connecting or waiting to reconnect)")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Request(e) => Some(e),
            ClientError::Dns { source, .. } | ClientError::Tls { source, .. } => Some(source),
            ClientError::Io(e) => Some(e),
            ClientError::Connect { attempts, .. } => attempts.last().map(|(_, e)| e as _),
            ClientError::Redirect(e) => Some(e),
            ClientError::Proxy { error, .. } => Some(error),
            ClientError::Handshake(e) => Some(e),
            ClientError::Protocol(e) => Some(e),
            ClientError::Send(e) => Some(e),
            ClientError::StreamReset(r) => Some(r),
            ClientError::Http2(e) => Some(e),
            ClientError::ConnectTimeout { .. }
            | ClientError::Rejected(_)
            | ClientError::Timeout(_)
            | ClientError::UnexpectedEof
            | ClientError::Closed { .. }
            | ClientError::AlreadyClosed
            | ClientError::NotConnected => None,
        }
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        match e {
            Error::Rejected(r) => ClientError::Rejected(r),
            Error::Handshake(e) => ClientError::Handshake(e),
            Error::Protocol(e) => ClientError::Protocol(e),
            Error::Timeout(t) => ClientError::Timeout(t),
            Error::UnexpectedEof => ClientError::UnexpectedEof,
            Error::StreamReset(r) => ClientError::StreamReset(r),
        }
    }
}

/// The end of a connection as an error: its failure, or the clean close's code and reason.
impl From<Closed> for ClientError {
    fn from(closed: Closed) -> Self {
        match closed.error {
            Some(e) => e.into(),
            None => ClientError::Closed {
                code: closed.code,
                reason: closed.reason,
            },
        }
    }
}

impl From<RequestError> for ClientError {
    fn from(e: RequestError) -> Self {
        ClientError::Request(e)
    }
}

impl From<RedirectError> for ClientError {
    fn from(e: RedirectError) -> Self {
        ClientError::Redirect(e)
    }
}

impl From<SendError> for ClientError {
    fn from(e: SendError) -> Self {
        ClientError::Send(e)
    }
}

/// An adapter hands back every read lease before any other input, so a refused input would be
/// a bug in it: reported as a transport failure rather than panicked on.
impl From<InputError> for ClientError {
    fn from(e: InputError) -> Self {
        ClientError::Io(io::Error::other(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(clean: bool) -> Closed {
        Closed {
            code: if clean {
                CloseCode::NORMAL
            } else {
                CloseCode::ABNORMAL
            },
            reason: String::new(),
            clean,
            error: (!clean).then_some(Error::UnexpectedEof),
        }
    }

    #[test]
    fn a_transport_failure_explains_only_an_end_that_was_not_clean() {
        let reset = || ClientError::Io(io::ErrorKind::ConnectionReset.into());
        let failed = ClientError::ending(closed(false), Some(reset())).unwrap_err();
        assert!(
            matches!(&failed, ClientError::Io(e) if e.kind() == io::ErrorKind::ConnectionReset)
        );
        assert_eq!(failed.close_code(), CloseCode::ABNORMAL);
        // A reset after both Close frames were exchanged changes nothing.
        let clean = ClientError::ending(closed(true), Some(reset())).unwrap();
        assert!(clean.clean && clean.error.is_none());
        // Without a transport failure, the core's cause stands.
        let eof = ClientError::ending(closed(false), None).unwrap();
        assert!(matches!(ClientError::from(eof), ClientError::UnexpectedEof));
        let normal = ClientError::from(closed(true));
        assert!(matches!(&normal, ClientError::Closed { code, .. } if *code == CloseCode::NORMAL));
        assert_eq!(normal.close_code(), CloseCode::NORMAL);
    }
}
