//! [`ProxyError`]: how a proxy refused or failed to open the tunnel, named by the stage.

use std::fmt;

use crate::headers::Headers;

/// The step of a proxy's handshake that was under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyStage {
    /// HTTP `CONNECT` and its answer.
    HttpConnect,
    /// SOCKS5 method negotiation (RFC 1928 §3).
    Socks5Greeting,
    /// SOCKS5 username/password authentication (RFC 1929).
    Socks5Auth,
    /// SOCKS5 `CONNECT` and its reply (RFC 1928 §4-6).
    Socks5Connect,
}

impl fmt::Display for ProxyStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyStage::HttpConnect => "HTTP CONNECT",
            ProxyStage::Socks5Greeting => "SOCKS5 greeting",
            ProxyStage::Socks5Auth => "SOCKS5 authentication",
            ProxyStage::Socks5Connect => "SOCKS5 CONNECT",
        })
    }
}

/// Why a proxy did not open the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx (407: it wants
    /// credentials, in the proxy URL's `user:password@`).
    Rejected {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// The answer's headers (`Proxy-Authenticate` among them for a 407).
        headers: Headers,
        /// The start of the body, when the answer gave a `Content-Length`.
        body: Vec<u8>,
    },
    /// The answer was not the protocol's: the text says what was wrong.
    InvalidResponse {
        /// The stage.
        stage: ProxyStage,
        /// What was wrong.
        what: String,
    },
    /// The HTTP proxy's answer head exceeded the limit.
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The proxy closed the connection before its answer was complete.
    Closed {
        /// The stage.
        stage: ProxyStage,
    },
    /// The SOCKS5 proxy accepts none of the offered methods (no authentication, and
    /// username/password when credentials were given).
    NoAcceptableMethod,
    /// The SOCKS5 proxy requires username/password authentication and the proxy URL has no
    /// credentials.
    CredentialsRequired,
    /// The SOCKS5 proxy refused the username and password (RFC 1929 status, non-zero).
    AuthFailed {
        /// The status byte.
        status: u8,
    },
    /// The SOCKS5 proxy refused to connect to the target (RFC 1928 §6 reply field).
    Refused {
        /// The reply code (1 to 8 are defined; see `Display`).
        code: u8,
    },
    /// The target host name is longer than SOCKS5's 255 bytes, or a username or password is
    /// longer than RFC 1929's 255 bytes.
    TooLong {
        /// What was too long: "host name", "username" or "password".
        what: &'static str,
    },
}

impl ProxyError {
    /// The stage the error belongs to.
    pub fn stage(&self) -> ProxyStage {
        match self {
            ProxyError::Rejected { .. } | ProxyError::ResponseTooLarge { .. } => {
                ProxyStage::HttpConnect
            }
            ProxyError::InvalidResponse { stage, .. } | ProxyError::Closed { stage } => *stage,
            ProxyError::NoAcceptableMethod | ProxyError::CredentialsRequired => {
                ProxyStage::Socks5Greeting
            }
            ProxyError::AuthFailed { .. } => ProxyStage::Socks5Auth,
            ProxyError::Refused { .. } | ProxyError::TooLong { .. } => ProxyStage::Socks5Connect,
        }
    }
}

/// RFC 1928 §6: the meaning of a reply code.
fn socks5_reply_meaning(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = self.stage();
        match self {
            ProxyError::Rejected { status, reason, .. } => {
                write!(f, "{stage}: the proxy answered {status} {reason}")?;
                if *status == 407 {
                    f.write_str(" (it wants credentials: user:password@ in the proxy URL)")?;
                }
                Ok(())
            }
            ProxyError::InvalidResponse { what, .. } => write!(f, "{stage}: invalid answer: {what}"),
            ProxyError::ResponseTooLarge { limit } => {
                write!(f, "{stage}: the answer's head is larger than {limit} bytes")
            }
            ProxyError::Closed { .. } => {
                write!(f, "{stage}: the proxy closed the connection mid-answer")
            }
            ProxyError::NoAcceptableMethod => {
                write!(f, "{stage}: the proxy accepts none of the offered authentication methods")
            }
            ProxyError::CredentialsRequired => write!(
                f,
                "{stage}: the proxy requires a username and password (user:password@ in the proxy URL)"
            ),
            ProxyError::AuthFailed { status } => {
                write!(f, "{stage}: username or password refused (status {status})")
            }
            ProxyError::Refused { code } => write!(
                f,
                "{stage}: the proxy refused: {} (reply {code})",
                socks5_reply_meaning(*code)
            ),
            ProxyError::TooLong { what } => {
                write!(f, "{stage}: the {what} is longer than 255 bytes")
            }
        }
    }
}

impl std::error::Error for ProxyError {}
