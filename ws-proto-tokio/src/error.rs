//! The adapter's error: every way a connection can fail, named by the stage that failed.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ws_proto::{
    HandshakeError, ProtocolError, RedirectError, Rejection, RequestError, SendError, Timeout,
};

/// Why connecting, sending or receiving failed.
///
/// The variants follow the life of a connection: the request, DNS, TCP, TLS, the opening
/// handshake (rejected, redirected or invalid), then the open connection (protocol violations,
/// timeouts, I/O) and refused commands.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL, a header, the origin or a subprotocol was invalid.
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
        /// The host and port from the URL.
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
    /// The TLS handshake failed (for example an untrusted certificate or a name mismatch).
    Tls {
        /// The server name the certificate was checked against.
        host: String,
        /// The TLS error (a [`rustls::Error`] inside an I/O error).
        source: io::Error,
    },
    /// The server answered the opening handshake with a status other than 101; see
    /// [`Rejection::status`].
    Rejected(Box<Rejection>),
    /// A redirect was not followed: one too many, or a `Location` that cannot be followed
    /// (malformed, or `wss` to `ws`).
    Redirect(RedirectError),
    /// The server's 101 response was invalid.
    Handshake(HandshakeError),
    /// The server violated RFC 6455; the close code sent is [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The opening handshake, a keepalive pong or the closing handshake did not come in time.
    Timeout(Timeout),
    /// The server ended the stream without a closing handshake (close code 1006).
    UnexpectedEof,
    /// Reading from or writing to the established transport failed.
    Io(io::Error),
    /// A command was refused (the connection is closing, the send buffer is full, ...); nothing
    /// was sent.
    Send(SendError),
    /// A [`Session`](crate::Session) was asked to send between connections.
    NotConnected,
    /// A failure the core reports that this version of the adapter does not name
    /// (`ws_proto::Error` is non-exhaustive).
    Other(ws_proto::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(e) => write!(f, "invalid request: {e}"),
            Error::Dns { host, source } => write!(f, "DNS lookup of {host:?} failed: {source}"),
            Error::Connect {
                host,
                port,
                attempts,
            } => {
                write!(f, "TCP connect to {host}:{port} failed")?;
                for (i, (addr, e)) in attempts.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}{addr}: {e}")?;
                }
                Ok(())
            }
            Error::ConnectTimeout {
                host,
                port,
                timeout,
            } => write!(f, "connecting to {host}:{port} timed out after {timeout:?}"),
            Error::Tls { host, source } => {
                write!(f, "TLS handshake with {host:?} failed: {source}")
            }
            Error::Rejected(r) => write!(f, "handshake rejected by the server: {r}"),
            Error::Redirect(e) => write!(f, "{e}"),
            Error::Handshake(e) => write!(f, "invalid handshake response: {e}"),
            Error::Protocol(e) => write!(f, "protocol violation by the server: {e}"),
            Error::Timeout(t) => write!(f, "{t}"),
            Error::UnexpectedEof => f.write_str("connection closed without a close handshake"),
            Error::Io(e) => write!(f, "transport I/O failed: {e}"),
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::NotConnected => {
                f.write_str("not connected (connecting or waiting to reconnect)")
            }
            Error::Other(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Request(e) => Some(e),
            Error::Redirect(e) => Some(e),
            Error::Dns { source, .. } | Error::Tls { source, .. } | Error::Io(source) => {
                Some(source)
            }
            Error::Connect { attempts, .. } => attempts.last().map(|(_, e)| e as _),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Other(e) => Some(e),
            Error::ConnectTimeout { .. }
            | Error::Rejected(_)
            | Error::Timeout(_)
            | Error::UnexpectedEof
            | Error::NotConnected => None,
        }
    }
}

impl From<ws_proto::Error> for Error {
    fn from(e: ws_proto::Error) -> Self {
        match e {
            ws_proto::Error::Rejected(r) => Error::Rejected(r),
            ws_proto::Error::Handshake(e) => Error::Handshake(e),
            ws_proto::Error::Protocol(e) => Error::Protocol(e),
            ws_proto::Error::Timeout(t) => Error::Timeout(t),
            ws_proto::Error::UnexpectedEof => Error::UnexpectedEof,
            other => Error::Other(other),
        }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}
