//! A strict RFC 6455 WebSocket client for tokio: the [`ws_proto`] sans-IO core driven by tokio
//! I/O and timers, with `wss://` through rustls.
//!
//! - [`connect`] / [`Builder`]: DNS (every address tried), TCP with `TCP_NODELAY`, TLS verified
//!   against the webpki roots with SNI, the opening handshake, redirects; or
//!   [`Builder::connect_with`] over any `AsyncRead + AsyncWrite` (a Unix socket, your own TLS).
//! - [`WebSocket`]: a `Stream` of [`Event`]s and a `Sink` of [`Message`]s, as with
//!   tokio-tungstenite; [`WebSocket::split`] gives an owned reader and writer. Every async method
//!   is cancel-safe.
//! - [`Session`]: reconnects by a [`ReconnectPolicy`] and reports the Workerman lifecycle as
//!   [`SessionEvent`]s.
//! - [`Error`]: what failed and where (DNS, TCP, TLS, rejection with its status, protocol,
//!   timeout, I/O).
//!
//! All protocol policy (validation, masking, UTF-8, auto-pong, close handshake, keepalive,
//! timeouts, the send queue) is the core's; this crate only moves bytes, reads tokio's clock
//! (so `start_paused` tests drive the core's timers) and supplies OS entropy.
//!
//! # Example
//!
//! An echo server from tokio-tungstenite on loopback, and a client that talks to it:
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use ws_proto_tokio::{CloseCode, Event, Message};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}/echo", listener.local_addr()?);
//! tokio::spawn(async move {
//!     let (tcp, _) = listener.accept().await.unwrap();
//!     let mut server = tokio_tungstenite::accept_async(tcp).await.unwrap();
//!     while let Some(Ok(msg)) = server.next().await {
//!         if msg.is_text() || msg.is_binary() {
//!             server.send(msg).await.unwrap();
//!         }
//!     }
//! });
//!
//! let (mut socket, response) = ws_proto_tokio::connect(&url).await?;
//! assert_eq!(response.status(), 101);
//! socket.send(Message::Text("hello".into())).await?;
//! let echoed = socket.next().await.unwrap()?;
//! assert_eq!(echoed, Event::Message(Message::Text("hello".into())));
//!
//! socket.close(CloseCode::NORMAL, "done").await?;
//! match socket.next().await.unwrap()? {
//!     Event::Close(frame) => assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::NORMAL, "done")),
//!     other => panic!("expected the close, got {other:?}"),
//! }
//! assert!(socket.next().await.is_none());
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `deflate` (default): permessage-deflate (RFC 7692), offered to every server; turn off
//!   default features to drop it and its zlib.
//! - `http` (default): [`connect`] and [`Builder::new`] take an `http::Uri` or an
//!   `http::Request<()>` too, and `Response::to_http` gives the response as an
//!   `http::Response`, as with tokio-tungstenite.
//! - `http2`: WebSockets over HTTP/2 (RFC 8441, with the `h2` crate): `wss://` offers `h2` by
//!   ALPN and runs the WebSocket on a stream when the server enables extended CONNECT,
//!   HTTP/1.1 otherwise; `Builder::http_version` forces either, and an `Http2Pool` shares one
//!   connection among the WebSockets to an origin. The socket is the same `WebSocket`.
//! - `native-roots`: `Builder::native_roots` trusts the operating system's certificate store
//!   (a corporate CA installed on the machine) in place of the webpki roots, which stay the
//!   default because they are the same on every machine and need no system file.
//! - `ring` (default) / `aws-lc-rs`: rustls's crypto provider for `wss://`. For aws-lc-rs
//!   (FIPS-capable, preferring the post-quantum X25519MLKEM768 key exchange) without ring, turn
//!   off default features and list `aws-lc-rs` with the others you want; with both on,
//!   aws-lc-rs is used. `Builder::crypto_provider`, or a provider the program installed as
//!   rustls's process default, takes precedence over either.
//! - `tracing`: events and spans for the `tracing` crate: a `ws_connect` span around DNS, each
//!   TCP attempt, the proxy's steps, TLS (version, cipher suite, ALPN) and the handshake
//!   (status, subprotocol, extensions); redirects and reconnections (`info`); closes (who,
//!   code, reason); timeouts and violations (`warn`); each message and pong at `trace` only.
//!   Events after the handshake carry `conn`, the connection's number. Off, none of it is
//!   compiled (see `ws_proto::trace`).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod conn;
mod connect;
#[cfg(feature = "http2")]
mod http2;
mod sending;
mod session;
mod split;
mod stream;
mod streaming;
mod tls;
mod wake;

pub use builder::{connect, Builder};
#[cfg(feature = "http2")]
#[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
pub use http2::{Http2Pool, Http2Stream};
pub use session::{Session, SessionEvent};
pub use split::{ReuniteError, WsReader, WsWriter};
pub use stream::WebSocket;
pub use streaming::MessageStream;
pub use tls::MaybeTlsStream;
pub use ws_proto::{Http2Error, HttpVersion, StreamReset};
ws_proto::adapter_exports!();
pub use {rustls, rustls_pki_types, ws_proto};
