//! The connection plan: where to connect, whether TLS runs and for which name, and what a
//! handshake rejection leads to (a redirect followed, or the end), written once for every
//! adapter.

use std::fmt;
use std::time::{Duration, Instant};

use crate::client::ClientState;
use crate::client_error::ClientError;
use crate::config::Config;
use crate::handshake::Rejection;
use crate::options::ClientOptions;
use crate::request::{Request, RequestError};

/// One connection's course, from the first TCP connection to an open WebSocket, redirects
/// included. An adapter asks it where to connect ([`address`](Self::address)), whether to run
/// TLS and for which name ([`tls_server_name`](Self::tls_server_name)), starts the protocol with
/// [`start`](Self::start), and when an attempt fails asks [`follow`](Self::follow) whether to
/// try again elsewhere. Steps that come before TLS
/// (a proxy tunnel) belong here too, so every adapter gets them by moving bytes.
///
/// ```
/// use ws_proto::{ClientOptions, ConnectPlan};
///
/// let plan = ConnectPlan::new(&ClientOptions::new("wss://example.com:8443/chat"))?;
/// assert_eq!(plan.address(), ("example.com", 8443));
/// assert_eq!(plan.tls_server_name(), Some("example.com"));
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    request: Request,
    config: Config,
    connect_timeout: Option<Duration>,
    max_redirects: u32,
    followed: u32,
}

impl ConnectPlan {
    /// The plan for `options`; fails if its request is invalid.
    pub fn new(options: &ClientOptions) -> Result<ConnectPlan, RequestError> {
        Ok(ConnectPlan {
            request: options.request()?.clone(),
            config: options.get_config().clone(),
            connect_timeout: options.get_connect_timeout(),
            max_redirects: options.get_max_redirects(),
            followed: 0,
        })
    }

    /// The host and port to open a TCP connection to (every address the host resolves to may
    /// be tried in turn).
    pub fn address(&self) -> (&str, u16) {
        (self.request.host(), self.request.port())
    }

    /// For a `wss://` URL, the name TLS sends as SNI and verifies the certificate for (an IP
    /// address is verified against the certificate's IP addresses and sends no SNI).
    pub fn tls_server_name(&self) -> Option<&str> {
        self.request.is_secure().then(|| self.request.host())
    }

    /// The time allowed for DNS, TCP and TLS together.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The error for an attempt that outlasted the connect timeout.
    pub fn timed_out(&self) -> ClientError {
        ClientError::ConnectTimeout {
            host: self.request.host().to_owned(),
            port: self.request.port(),
            timeout: self.connect_timeout.unwrap_or_default(),
        }
    }

    /// What is left at `now` of the connect timeout of an attempt that started at `started`:
    /// `Ok(None)` without a timeout, [`timed_out`](Self::timed_out) once it is spent. The
    /// adapters bound each step (DNS, each TCP attempt, each TLS read) by it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ws_proto::{ClientError, ClientOptions, ConnectPlan};
    ///
    /// let options = ClientOptions::new("ws://example.com/").connect_timeout(Duration::from_secs(2));
    /// let plan = ConnectPlan::new(&options)?;
    /// let start = Instant::now();
    /// let left = plan.time_left(start, start + Duration::from_millis(500));
    /// assert_eq!(left.unwrap(), Some(Duration::from_millis(1500)));
    /// let spent = plan.time_left(start, start + Duration::from_secs(2)).unwrap_err();
    /// assert!(matches!(spent, ClientError::ConnectTimeout { port: 80, timeout, .. } if timeout == Duration::from_secs(2)));
    /// # Ok::<(), ws_proto::RequestError>(())
    /// ```
    pub fn time_left(
        &self,
        started: Instant,
        now: Instant,
    ) -> Result<Option<Duration>, ClientError> {
        let Some(timeout) = self.connect_timeout else {
            return Ok(None);
        };
        match timeout.checked_sub(now.saturating_duration_since(started)) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(self.timed_out()),
        }
    }

    /// The request the next attempt sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The protocol for this attempt, once the transport is ready: its handshake timeout runs
    /// from `now`. `seed` must come from the OS (see [`ClientState::new`]).
    pub fn start(&self, seed: [u8; 32], now: Instant) -> ClientState {
        ClientState::new(self.request.clone(), self.config.clone(), seed, now)
    }

    /// What an attempt that ended with `error` before opening leads to: `Ok(())` for a
    /// redirect to follow, the plan now pointing at its target (connect again from
    /// [`address`](Self::address)); otherwise the error to report: `error` itself (not a
    /// rejection, no `Location`, or redirects off), or [`ClientError::Redirect`] for a redirect
    /// that cannot be followed.
    pub fn follow(&mut self, error: ClientError) -> Result<(), ClientError> {
        let Some(rejection) = error.rejection() else {
            return Err(error);
        };
        if self.redirect(rejection)? {
            Ok(())
        } else {
            Err(error)
        }
    }

    /// What a rejected handshake leads to: `Ok(true)`, a redirect followed (the plan points at
    /// its target); `Ok(false)`, not one; `Err`, a redirect that cannot be followed.
    fn redirect(&mut self, rejection: &Rejection) -> Result<bool, RedirectError> {
        let Some(location) = rejection.location().filter(|_| self.max_redirects > 0) else {
            return Ok(false);
        };
        if self.followed >= self.max_redirects {
            return Err(RedirectError::TooMany {
                limit: self.max_redirects,
                location: location.to_owned(),
            });
        }
        self.request =
            self.request
                .redirect(location)
                .map_err(|source| RedirectError::Invalid {
                    location: location.to_owned(),
                    source,
                })?;
        self.followed += 1;
        Ok(true)
    }
}

/// A redirect that was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// The server kept redirecting past the configured limit.
    TooMany {
        /// The limit.
        limit: u32,
        /// The redirect that was not followed.
        location: String,
    },
    /// The `Location` was not a URL the client can follow (a `wss` to `ws` downgrade among
    /// them).
    Invalid {
        /// The `Location` header's value.
        location: String,
        /// Why it was refused.
        source: RequestError,
    },
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::TooMany { limit, location } => {
                write!(f, "more than {limit} redirects (next was {location:?})")
            }
            RedirectError::Invalid { location, source } => {
                write!(f, "redirect to {location:?} not followed: {source}")
            }
        }
    }
}

impl std::error::Error for RedirectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedirectError::Invalid { source, .. } => Some(source),
            RedirectError::TooMany { .. } => None,
        }
    }
}
