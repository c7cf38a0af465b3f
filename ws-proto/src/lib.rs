//! A strict RFC 6455 WebSocket client as a sans-IO state machine.
//!
//! [`ClientState`] takes bytes read from a transport, the time and user commands, and gives back
//! events, bytes to write and its next deadline. It performs no I/O, reads no clock, starts no
//! thread and draws no entropy of its own, so it runs in any event loop: std threads
//! (`ws-proto-std`), tokio (`ws-proto-tokio`), an io_uring loop, a game engine, a simulator.
//!
//! It is strict where RFC 6455 says MUST: the handshake response is fully validated, every
//! frame is masked with a fresh unpredictable key, text is validated as UTF-8 as it arrives, every
//! protocol violation fails the connection with the right close code (1002, 1007, 1009), and
//! every limit is checked before memory is committed.
//!
//! # The run loop
//!
//! Feed an input or issue a command, then drain: call [`ClientState::poll_output`] until it
//! returns [`Output::Timeout`], writing every transmit in order and handling every event. Here
//! the "server" is two canned byte strings, so the loop runs as written:
//!
//! ```
//! use std::time::Instant;
//! use ws_proto::{accept_key, ClientState, Config, Event, Message, Output, Request};
//!
//! let request = Request::new("ws://example.com/chat")?;
//! // The seed must come from the OS in real use (the adapters use getrandom).
//! let mut client = ClientState::new(request, Config::default(), [7; 32], Instant::now());
//! // A send before the handshake completes is queued.
//! client.send_text("hello")?;
//!
//! // The drain: write each transmit, handle each event, stop at the deadline.
//! fn drain(client: &mut ClientState, wire: &mut Vec<u8>, events: &mut Vec<Event>) -> Option<Instant> {
//!     loop {
//!         match client.poll_output() {
//!             Output::Transmit(bytes) => wire.extend_from_slice(&bytes.to_vec()),
//!             Output::Event(event) => events.push(event),
//!             Output::Timeout(deadline) => return deadline,
//!         }
//!     }
//! }
//! let (mut wire, mut events) = (Vec::new(), Vec::new());
//!
//! // The handshake request is the first output.
//! drain(&mut client, &mut wire, &mut events);
//! let request = String::from_utf8(std::mem::take(&mut wire))?;
//! let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
//!
//! // What the transport read: a 101 and, in the same read, a text frame.
//! let mut input = format!(
//!     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!      Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
//!     accept_key(key)
//! )
//! .into_bytes();
//! input.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
//! client.handle_input(&input, Instant::now())?;
//! // With no keepalive configured, nothing is scheduled once open.
//! assert_eq!(drain(&mut client, &mut wire, &mut events), None);
//!
//! // The queued message went out, masked, and the events came in order.
//! assert_eq!(wire.len(), 2 + 4 + 5);
//! assert!(matches!(events[0], Event::Open(_)));
//! assert_eq!(events[1], Event::Message(Message::Text("hi".into())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A real loop also waits for the transport or the deadline, whichever comes first, and calls
//! [`ClientState::handle_timeout`] when the deadline passes and [`ClientState::handle_eof`] when
//! the transport's read side ends (or fails). To read without a copy, read into a
//! [`ReadLease`] from [`ClientState::lease_read`] and hand it back with
//! [`ClientState::handle_lease`]. The loop ends after [`Event::Closed`], once the drain reaches
//! `Output::Timeout`: then close the transport.
//!
//! # Over HTTP/2
//!
//! WebSockets over HTTP/2 (RFC 8441) run the same framing on an HTTP/2 stream; the HTTP/2
//! library is the caller's. Start with [`ClientState::new_extended_connect`] (no request bytes),
//! send the request [`ClientState::extended_connect`] describes (`CONNECT` with
//! `:protocol = websocket`), hand the response to [`ClientState::handle_connect_response`] (a
//! 2xx is checked by the same rules as a 101; anything else is a [`Rejection`] whose body is the
//! stream's DATA), then run the loop above with the stream's DATA as input, END_STREAM as
//! [`ClientState::handle_eof`] and a reset or GOAWAY as [`ClientState::handle_stream_reset`].
//! [`ConnectPlan`] says which version to speak ([`HttpVersion`], ALPN).
//!
//! # The client layer
//!
//! What a client decides that is neither I/O nor the protocol is here too, so every adapter
//! gets it by moving bytes: [`ClientOptions`] (the request and every option), [`ConnectPlan`]
//! (where to connect, whether TLS runs and for which name, whether a rejection's redirect is
//! followed), [`Reconnect`] (when to try again), [`Outbox`] (a reconnecting client's messages until
//! the server is known to have read them), `TlsOptions` (with the `rustls` feature: the
//! trust roots), [`ClientError`] (every way a connection can fail, by stage) and
//! [`ClientEvent`] (what a connection yields, its end split into a clean close or an error).
//!
//! # Features
//!
//! All off by default, so the core has no dependency it does not need; the adapters turn on
//! the ones they use.
//!
//! - `deflate`: permessage-deflate (RFC 7692): `DeflateConfig`, compressed messages both ways
//!   (zlib-rs, pure Rust).
//! - `http`: [`IntoClientRequest`] for `http::Uri` and `http::Request<()>`, and
//!   `Response::to_http`: the types tokio-tungstenite users already have.
//! - `rustls`: `TlsOptions`, the trust roots of `wss://` connections (the webpki roots, plus
//!   extra certificates or a whole rustls `ClientConfig`), shared by the adapters.
//! - `native-roots`: `TlsOptions::set_native_roots`, the operating system's trust store
//!   (through rustls-native-certs) in place of the webpki roots.
//! - `ring` / `aws-lc-rs`: the rustls crypto provider `TlsOptions` uses when none is given to
//!   it or installed as rustls's process default (aws-lc-rs if both are on).
//! - `tracing`: events and spans for the `tracing` crate: DNS, each TCP attempt, TLS, the proxy's
//!   steps, the handshake, redirects, closes, timeouts, violations and reconnections (see
//!   [`trace`]); nothing is compiled in without it.
//! - `arbitrary`: derives `arbitrary::Arbitrary` for fuzzing.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod client_error;
mod client_event;
mod close;
mod closing;
mod config;
#[cfg(feature = "deflate")]
mod deflate;
#[cfg(feature = "deflate")]
mod deflate_stream;
mod error;
mod event;
mod extension;
pub mod frame;
mod handshake;
mod headers;
mod http2;
mod into_request;
mod lease;
mod mask;
mod message;
mod options;
mod outbox;
mod output;
mod pings;
mod plan;
mod proxy;
mod read_size;
mod reconnect;
mod recv;
mod recv_stream;
mod request;
mod rng;
mod send;
mod send_stream;
mod stats;
mod text;
mod timer;
#[cfg(feature = "rustls")]
mod tls;
pub mod trace;
mod transmit;
mod utf8;
#[cfg(feature = "deflate")]
mod zlib;

pub use client::{ClientState, ReadyState};
pub use client_error::ClientError;
pub use client_event::{ClientEvent, CloseFrame};
pub use close::{CloseCode, MAX_REASON_LEN};
pub use config::Config;
#[cfg(feature = "deflate")]
pub use deflate::{DeflateConfig, DeflateError};
pub use error::{Error, InputError, ProtocolError, SendError, Timeout};
pub use event::{Closed, Event, Pong};
pub use extension::Extension;
pub use handshake::{accept_key, HandshakeError, Rejection, Response};
pub use headers::Headers;
pub use http2::{ExtendedConnect, Http2Error, HttpVersion, StreamReset, ALPN_H2, ALPN_HTTP1};
pub use into_request::IntoClientRequest;
pub use lease::ReadLease;
pub use mask::apply_mask;
pub use message::{Message, MessageRef, MessageType};
pub use options::ClientOptions;
pub use outbox::Outbox;
pub use output::Output;
pub use plan::{ConnectPlan, RedirectError};
pub use proxy::{proxy_from_vars, Proxy, ProxyError, ProxyHandshake, ProxyKind, ProxyStage};
pub use read_size::{ReadSize, READ_ROOM};
pub use reconnect::{Reconnect, ReconnectPolicy};
pub use request::{Request, RequestError};
pub use stats::Stats;
pub use text::Utf8Bytes;
#[cfg(feature = "rustls")]
pub use tls::TlsOptions;
pub use transmit::Transmit;

pub use bytes::Bytes;
#[cfg(feature = "http")]
pub use http;
#[cfg(feature = "rustls")]
pub use rustls;

/// The core names both adapters re-export, written once so the two cannot drift apart: the
/// same error and event types, the same message, request and proxy types. Expanded in each
/// adapter's root; `feature = "http"` is the adapter's own feature of that name.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_exports {
    () => {
        /// The `http` crate, whose `Uri` and `Request<()>` `connect` takes.
        #[cfg(feature = "http")]
        pub use $crate::http;
        /// Every way a connection can fail, named by the stage that failed: the same type in
        /// both adapters.
        pub use $crate::ClientError as Error;
        /// What a connection yields: the same type in both adapters.
        pub use $crate::ClientEvent as Event;
        pub use $crate::{
            Bytes, ClientOptions, CloseCode, CloseFrame, Config, HandshakeError, IntoClientRequest,
            Message, MessageRef, MessageType, Pong, ProtocolError, Proxy, ProxyError, ProxyKind,
            ProxyStage, ReadyState, ReconnectPolicy, RedirectError, Rejection, Request,
            RequestError, Response, SendError, Stats, Timeout, Utf8Bytes,
        };
    };
}
