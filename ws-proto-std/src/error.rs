//! The adapter's error: which stage failed (URL, DNS, TCP, TLS, the transport, the server's
//! answer, the protocol) and where.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ws_proto::{CloseCode, RedirectError, RequestError, SendError};

/// Everything that can go wrong, named by the stage that failed.
///
/// The `Display` text names the stage and the peer, so a log line alone tells whether DNS, TCP,
/// TLS or the server's answer was the problem.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL, a header, the origin or a subprotocol was refused before anything was sent.
    Request(RequestError),
    /// The host name could not be resolved.
    Dns {
        /// The host looked up.
        host: String,
        /// Why the lookup failed.
        source: io::Error,
    },
    /// No TCP connection could be made to any address the host resolved to.
    Connect {
        /// The host connected to.
        host: String,
        /// The port connected to.
        port: u16,
        /// Every address tried, with why it failed (a timeout is `ErrorKind::TimedOut`).
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
    /// The host is not a valid TLS server name (SNI).
    ServerName(String),
    /// The TLS session failed: certificate verification, a handshake failure or an alert.
    Tls {
        /// The host whose certificate was checked.
        host: String,
        /// What rustls reported.
        source: Box<rustls::Error>,
    },
    /// Reading from the transport failed after the connection was made.
    Read(io::Error),
    /// Writing to the transport failed after the connection was made.
    Write(io::Error),
    /// The server's answer or its later conduct ended the connection: a handshake rejection
    /// (with its status), an invalid 101, a protocol violation, a timeout or an end of stream
    /// before the closing handshake.
    WebSocket(ws_proto::Error),
    /// The connection was closed cleanly with this code and reason (returned by
    /// [`WebSocket::read`](crate::WebSocket::read) once the closing handshake completed).
    Closed {
        /// The close code.
        code: CloseCode,
        /// The close reason.
        reason: String,
    },
    /// The connection's end was already reported; nothing more will be read.
    AlreadyClosed,
    /// A send or close was refused and changed nothing.
    Send(SendError),
    /// The operating system's random number generator failed (it seeds the masking keys).
    Entropy(getrandom::Error),
    /// A redirect was not followed: one too many, or a `Location` that cannot be followed
    /// (malformed, or `wss` to `ws`).
    Redirect(RedirectError),
}

impl Error {
    /// The handshake rejection, when the server answered with a status other than 101.
    pub fn rejection(&self) -> Option<&ws_proto::Rejection> {
        match self {
            Error::WebSocket(ws_proto::Error::Rejected(rejection)) => Some(rejection),
            _ => None,
        }
    }
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
                if attempts.is_empty() {
                    return f.write_str(": the name resolved to no address");
                }
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
            Error::ServerName(host) => write!(f, "{host:?} is not a valid TLS server name"),
            Error::Tls { host, source } => write!(f, "TLS with {host:?} failed: {source}"),
            Error::Read(e) => write!(f, "reading from the connection failed: {e}"),
            Error::Write(e) => write!(f, "writing to the connection failed: {e}"),
            Error::WebSocket(e) => write!(f, "{e}"),
            Error::Closed { code, reason } => {
                write!(f, "connection closed with code {code}")?;
                if !reason.is_empty() {
                    write!(f, " ({reason:?})")?;
                }
                Ok(())
            }
            Error::AlreadyClosed => f.write_str("the connection is already closed"),
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::Entropy(e) => write!(f, "the OS random number generator failed: {e}"),
            Error::Redirect(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Request(e) => Some(e),
            Error::Dns { source, .. } => Some(source),
            Error::Tls { source, .. } => Some(source.as_ref()),
            Error::Read(e) | Error::Write(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Redirect(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}

/// The adapter hands back every read lease before any other input, so a refused input would be
/// a bug in it: reported as a failed read rather than panicked on.
impl From<ws_proto::InputError> for Error {
    fn from(e: ws_proto::InputError) -> Self {
        Error::Read(io::Error::other(e))
    }
}

impl From<RedirectError> for Error {
    fn from(e: RedirectError) -> Self {
        Error::Redirect(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}
