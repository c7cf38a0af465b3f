//! [`ClientOptions`]: everything a client connection takes besides TLS, shared by the adapters'
//! builders, whose setters are the ones defined here.

use std::time::Duration;

use crate::config::Config;
use crate::http2::HttpVersion;
use crate::into_request::IntoClientRequest;
use crate::proxy::{proxy_from_vars, Proxy};
use crate::request::{Request, RequestError};

/// Redirects followed by default, as browsers' fetch does for HTTP.
const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Payload bytes a reconnecting client holds for delivery, by default.
const DEFAULT_OUTBOX_LIMIT: usize = 4 << 20;

/// DNS, TCP and TLS together, by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The options of a client connection: the request (URL, headers, origin, subprotocols), the
/// core's [`Config`] (limits, timers, keepalive, compression, the default message type), the
/// connect timeout and the redirect limit.
///
/// An invalid URL, header, origin or subprotocol is kept and reported by
/// [`request`](Self::request), so the setters chain without `?`. The adapters' builders have the
/// same setters, with the same meanings, and add TLS.
///
/// ```
/// use std::time::Duration;
/// let options = ws_proto::ClientOptions::new("wss://example.com/chat")
///     .header("Cookie", "session=1")
///     .subprotocol("chat.v2")
///     .ping_interval(Duration::from_secs(30))
///     .max_redirects(2);
/// assert_eq!(options.request()?.host(), "example.com");
/// assert_eq!(options.get_max_redirects(), 2);
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientOptions {
    request: Result<Request, RequestError>,
    config: Config,
    connect_timeout: Option<Duration>,
    max_redirects: u32,
    outbox_limit: usize,
    proxy: ProxySetting,
    http_version: HttpVersion,
}

/// How connections reach the server.
#[derive(Debug, Clone)]
enum ProxySetting {
    Direct,
    /// Through this proxy, or the reason its URL is invalid (reported when connecting).
    Proxy(Result<Proxy, RequestError>),
    /// Through the proxy the environment names for each connection's URL.
    Env,
}

impl ClientOptions {
    /// Options for a `ws://` or `wss://` URL (or anything else that names a request: see
    /// [`IntoClientRequest`]), with the defaults of [`Config`], a 10 s connect timeout and up
    /// to 5 redirects.
    pub fn new(request: impl IntoClientRequest) -> ClientOptions {
        ClientOptions::from_result(request.into_client_request())
    }

    /// Options for a request built with [`Request`]'s own methods.
    pub fn from_request(request: Request) -> ClientOptions {
        ClientOptions::from_result(Ok(request))
    }

    fn from_result(request: Result<Request, RequestError>) -> ClientOptions {
        ClientOptions {
            request,
            config: Config::default(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            outbox_limit: DEFAULT_OUTBOX_LIMIT,
            proxy: ProxySetting::Direct,
            http_version: HttpVersion::Auto,
        }
    }

    /// The request, or why it is invalid.
    pub fn request(&self) -> Result<&Request, RequestError> {
        self.request.as_ref().map_err(Clone::clone)
    }

    /// The core's configuration.
    pub fn get_config(&self) -> &Config {
        &self.config
    }

    /// The time allowed for DNS, TCP and TLS together, if bounded.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// How many redirects are followed.
    pub fn get_max_redirects(&self) -> u32 {
        self.max_redirects
    }

    /// Which HTTP version carries the WebSocket (HTTP/2 only in the tokio adapter, with its
    /// `http2` feature; the std adapter always uses HTTP/1.1).
    pub fn get_http_version(&self) -> HttpVersion {
        self.http_version
    }

    /// Sets the HTTP version.
    #[doc(hidden)]
    pub fn set_http_version(&mut self, version: HttpVersion) {
        self.http_version = version;
    }

    /// The most payload bytes a reconnecting client holds for delivery ([`Outbox`]).
    ///
    /// [`Outbox`]: crate::Outbox
    pub fn get_outbox_limit(&self) -> usize {
        self.outbox_limit
    }

    /// The proxy a connection to `request`'s URL goes through, if any: the one set, or the
    /// environment's (read now) with `proxy_from_env`. An invalid proxy URL is the error.
    pub fn proxy_for(&self, request: &Request) -> Result<Option<Proxy>, RequestError> {
        match &self.proxy {
            ProxySetting::Direct => Ok(None),
            ProxySetting::Proxy(proxy) => proxy.clone().map(Some),
            ProxySetting::Env => proxy_from_vars(
                |name| std::env::var(name).ok(),
                request.is_secure(),
                request.host(),
                request.port(),
            ),
        }
    }

    /// Connects through `proxy` (`None`: directly).
    #[doc(hidden)]
    pub fn set_proxy(&mut self, proxy: Option<Result<Proxy, RequestError>>) {
        self.proxy = proxy.map_or(ProxySetting::Direct, ProxySetting::Proxy);
    }

    /// Connects through the proxy the environment names.
    #[doc(hidden)]
    pub fn set_proxy_from_env(&mut self) {
        self.proxy = ProxySetting::Env;
    }

    /// Sets the outbox limit.
    #[doc(hidden)]
    pub fn set_outbox_limit(&mut self, bytes: usize) {
        self.outbox_limit = bytes;
    }

    /// Changes the request, keeping the first error.
    #[doc(hidden)]
    pub fn map_request(&mut self, f: impl FnOnce(Request) -> Result<Request, RequestError>) {
        // The placeholder is overwritten before anyone can see it.
        let request = std::mem::replace(&mut self.request, Err(RequestError::InvalidUrl("")));
        self.request = request.and_then(f);
    }

    /// The core's configuration, to change.
    #[doc(hidden)]
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Sets the connect timeout (`None`: unbounded).
    #[doc(hidden)]
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) {
        self.connect_timeout = timeout;
    }

    /// Sets the redirect limit.
    #[doc(hidden)]
    pub fn set_max_redirects(&mut self, limit: u32) {
        self.max_redirects = limit;
    }

    fn options_mut(&mut self) -> &mut ClientOptions {
        self
    }
}

crate::client_option_setters!(ClientOptions);

/// Defines an adapter's `Builder`: [`ClientOptions`] and `TlsOptions` with every setter of
/// both, and the constructors. The adapter adds the methods that connect, and may name fields
/// of its own in braces after the name (each starts as its `Default`).
#[doc(hidden)]
#[macro_export]
macro_rules! client_builder {
    ($(#[$meta:meta])* $name:ident $({ $($field:ident: $fty:ty),* $(,)? })?) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            options: $crate::ClientOptions,
            tls: $crate::TlsOptions,
            $($($field: $fty,)*)?
        }

        impl $name {
            /// Options for a `ws://` or `wss://` URL, or anything else that names a request
            /// (`IntoClientRequest`: a `Request`, and with the `http` feature an `http::Uri` or
            /// `http::Request<()>`), with the defaults of `ClientOptions` and the webpki roots.
            /// An invalid request is reported by the method that connects.
            pub fn new(request: impl $crate::IntoClientRequest) -> Self {
                Self::from_options($crate::ClientOptions::new(request))
            }

            /// Options for a request built with `Request`'s own methods.
            pub fn from_request(request: $crate::Request) -> Self {
                Self::from_options($crate::ClientOptions::from_request(request))
            }

            /// A front over `options`, with the default TLS settings.
            pub fn from_options(options: $crate::ClientOptions) -> Self {
                Self {
                    options,
                    tls: $crate::TlsOptions::default(),
                    $($($field: ::std::default::Default::default(),)*)?
                }
            }

            /// The options set so far.
            pub fn options(&self) -> &$crate::ClientOptions {
                &self.options
            }

            fn options_mut(&mut self) -> &mut $crate::ClientOptions {
                &mut self.options
            }

            fn tls_mut(&mut self) -> &mut $crate::TlsOptions {
                &mut self.tls
            }
        }

        $crate::client_option_setters!($name);
        $crate::client_tls_setters!($name);
    };
}

/// Defines the setters of [`ClientOptions`] on `$ty`, which has a method
/// `fn options_mut(&mut self) -> &mut ws_proto::ClientOptions`: the adapters' builders take
/// them from here, so every option has one name, one meaning and one doc on every builder.
#[doc(hidden)]
#[macro_export]
macro_rules! client_option_setters {
    ($ty:ty) => {
        impl $ty {
            /// Adds a header to the handshake request (Workerman's `headers`), such as
            /// `Cookie` or `Authorization`. A name or value with CR or LF, or a header the
            /// handshake sets itself (`Sec-WebSocket-*`, `Upgrade`, `Connection`, `Host`), is
            /// refused when connecting.
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.options_mut()
                    .map_request(|r| r.with_header(name, value));
                self
            }

            /// Sets the `Origin` header (Workerman's `websocketOrigin`).
            pub fn origin(mut self, origin: &str) -> Self {
                self.options_mut().map_request(|r| r.with_origin(origin));
                self
            }

            /// Offers a subprotocol (Workerman's `websocketClientProtocol`); call once per
            /// protocol, in order of preference. The server's choice is checked against the
            /// offers and reported by the response.
            pub fn subprotocol(mut self, protocol: &str) -> Self {
                self.options_mut()
                    .map_request(|r| r.with_subprotocol(protocol));
                self
            }

            /// Replaces the core's whole `Config`: limits, timers and defaults at once.
            pub fn config(mut self, config: $crate::Config) -> Self {
                *self.options_mut().config_mut() = config;
                self
            }

            /// The type of `send_default_type`'s bytes (default text, like Workerman's
            /// `websocketType`). No other method changes the type of what it is given.
            pub fn default_message_type(mut self, message_type: $crate::MessageType) -> Self {
                self.options_mut()
                    .config_mut()
                    .default_message_type(message_type);
                self
            }

            /// Sends a keepalive ping at this interval while open (default off), like
            /// Workerman's `websocketPingInterval`; with `pong_timeout` a silent server is
            /// detected.
            pub fn ping_interval(mut self, interval: ::std::time::Duration) -> Self {
                self.options_mut()
                    .config_mut()
                    .ping_interval(Some(interval));
                self
            }

            /// After a keepalive ping, how long the server has to send anything before the
            /// connection is closed as dead (default 10 s).
            pub fn pong_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.options_mut().config_mut().pong_timeout(timeout);
                self
            }

            /// Time allowed for the opening handshake, from the transport being ready (TCP
            /// connected and TLS done) to the 101 (default 10 s; `None` waits forever).
            pub fn handshake_timeout(mut self, timeout: Option<::std::time::Duration>) -> Self {
                self.options_mut().config_mut().handshake_timeout(timeout);
                self
            }

            /// Time allowed for the closing handshake (default 5 s).
            pub fn close_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.options_mut().config_mut().close_timeout(timeout);
                self
            }

            /// Largest received frame payload (default 16 MiB); a larger one fails the
            /// connection with 1009.
            pub fn max_frame_size(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().max_frame_size(bytes);
                self
            }

            /// Largest received message (default 64 MiB); a larger one fails the connection
            /// with 1009.
            pub fn max_message_size(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().max_message_size(bytes);
                self
            }

            /// Receive messages that do not fit in one chunk as a start, chunks and an end
            /// (`Event::MessageStart`, `MessageData`, `MessageEnd`) from `read_event` and the
            /// socket's stream (default off: messages come whole). `read_stream` streams and
            /// `read` assembles whatever this says. See `Config::recv_streaming`.
            pub fn recv_streaming(mut self, on: bool) -> Self {
                self.options_mut().config_mut().recv_streaming(on);
                self
            }

            /// The largest chunk of a streamed message (default 64 KiB), which bounds the
            /// memory a streamed message holds.
            pub fn recv_chunk_size(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().recv_chunk_size(bytes);
                self
            }

            /// Largest streamed message (default `None`: no limit, since a streamed message is
            /// never held whole); a larger one fails the connection with 1009.
            pub fn max_streamed_message_size(mut self, bytes: Option<usize>) -> Self {
                self.options_mut()
                    .config_mut()
                    .max_streamed_message_size(bytes);
                self
            }

            /// Largest handshake response head (default 16 KiB).
            pub fn max_response_size(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().max_response_size(bytes);
                self
            }

            /// Most headers in the handshake response (default 64).
            pub fn max_response_headers(mut self, count: usize) -> Self {
                self.options_mut().config_mut().max_response_headers(count);
                self
            }

            /// How much of a rejection's body is kept (default 4 KiB).
            pub fn max_rejection_body(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().max_rejection_body(bytes);
                self
            }

            /// The send buffer's high-water mark (default 1 MiB, Workerman's
            /// `maxSendBufferSize`): above it a send waits for the buffer to drain, or is
            /// refused with `BufferFull` by a send that must not wait.
            pub fn send_high_water_mark(mut self, bytes: usize) -> Self {
                self.options_mut().config_mut().send_high_water_mark(bytes);
                self
            }

            /// Time allowed for DNS, every TCP attempt and TLS together (default 10 s).
            pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.options_mut().set_connect_timeout(Some(timeout));
                self
            }

            /// How many redirects (3xx with `Location`) to follow (default 5). With 0 the first
            /// is reported as the rejection it is (its `location()` says where it pointed);
            /// past a limit above 0, as too many redirects. A redirect from `wss` to `ws` is
            /// refused.
            pub fn max_redirects(mut self, limit: usize) -> Self {
                self.options_mut()
                    .set_max_redirects(u32::try_from(limit).unwrap_or(u32::MAX));
                self
            }

            /// The most payload bytes a reconnecting client (the session, the event client)
            /// holds for delivery: messages sent between connections, and messages the server
            /// has not yet been shown to have read (default 4 MiB). Past it a send waits, or is
            /// refused with `BufferFull` by a send that must not wait. See [`Outbox`].
            ///
            /// [`Outbox`]: $crate::Outbox
            pub fn outbox_limit(mut self, bytes: usize) -> Self {
                self.options_mut().set_outbox_limit(bytes);
                self
            }

            /// Connects through a proxy: `http://[user:password@]host:port` (HTTP `CONNECT`),
            /// `socks5://…` (SOCKS5, the server's name resolved here) or `socks5h://…` (resolved
            /// by the proxy). Every connection goes through it: redirects and reconnections
            /// too. `wss://` runs TLS inside the tunnel, checked for the server's name. The
            /// proxy's answer counts against the connect timeout and is bounded by
            /// `max_response_size`. An invalid URL is reported by the method that connects.
            pub fn proxy(mut self, url: &str) -> Self {
                self.options_mut().set_proxy(Some($crate::Proxy::new(url)));
                self
            }

            /// Connects through `proxy`, built with [`Proxy`]'s own methods (extra headers for
            /// an HTTP proxy's `CONNECT`, say); see [`proxy`](Self::proxy).
            ///
            /// [`Proxy`]: $crate::Proxy
            pub fn proxy_with(mut self, proxy: $crate::Proxy) -> Self {
                self.options_mut().set_proxy(Some(Ok(proxy)));
                self
            }

            /// Connects through the proxy the environment names, as curl reads it:
            /// `https_proxy` for `wss://`, `http_proxy` for `ws://`, else `all_proxy`
            /// (lower-case names first), except for the hosts `no_proxy` lists (see
            /// [`proxy_from_vars`]). Read for each connection, so a redirect to another host
            /// gets its own answer. Off by default: a library does not follow the environment
            /// unless asked.
            ///
            /// [`proxy_from_vars`]: $crate::proxy_from_vars
            pub fn proxy_from_env(mut self) -> Self {
                self.options_mut().set_proxy_from_env();
                self
            }

            /// Offers permessage-deflate (RFC 7692) with these parameters, or `None` not to
            /// offer it (default: offered with `DeflateConfig::default()`).
            #[cfg(feature = "deflate")]
            pub fn permessage_deflate(mut self, deflate: Option<$crate::DeflateConfig>) -> Self {
                self.options_mut().config_mut().permessage_deflate(deflate);
                self
            }
        }
    };
}
