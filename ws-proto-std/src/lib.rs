//! A blocking WebSocket client on `std::net` and rustls, driving the sans-IO [`ws_proto`] core.
//!
//! - [`connect`] and [`Builder`]: `ws://` and `wss://` URLs, headers, origin, subprotocols, the
//!   core's limits and timers, TCP connect timeout (every resolved address is tried,
//!   `TCP_NODELAY` on), TLS roots (webpki roots, plus extra roots or a whole rustls
//!   `ClientConfig`), redirects. Any other stream works through [`Transport`] or [`Locked`].
//! - [`WebSocket`]: `send(Message)` / `send_text` / `send_binary` / `send_ping` / `close`, the
//!   batching `feed` / `feed_text` / `feed_binary` then one `flush` (one write for many
//!   messages; a full buffer is written out, not refused; [`feeder`](WebSocket::feeder) locks
//!   the connection once for a whole batch of them), and
//!   [`read`](WebSocket::read) (the next message), [`read_event`](WebSocket::read_event)
//!   (the next event) or [`events`](WebSocket::events) (every event, an [`Iterator`] as the tokio
//!   socket is a `Stream`). All methods take `&self` and the handle is `Clone + Send + Sync`.
//! - [`Client`] and [`Handler`]: Workerman-style callbacks (`on_connect`, `on_open`,
//!   `on_message`, `on_ping`, `on_pong`, `on_close`, `on_error`) with a
//!   [`ReconnectPolicy`] and a [`ClientHandle`] to stop it.
//! - [`Error`]: which stage failed (DNS, TCP, TLS, the transport, the server's answer, the
//!   protocol, a timeout), typed, with a `Display` that names the stage and the peer.
//!
//! HTTP/1.1 only: the opening handshake is always the RFC 6455 upgrade, and TLS offers no ALPN
//! protocol. WebSockets over HTTP/2 (RFC 8441) are in `ws-proto-tokio` with its `http2`
//! feature; [`ClientOptions::get_http_version`](ws_proto::ClientOptions::get_http_version) is
//! not consulted here.
//!
//! The adapter holds no protocol logic: handshake validation, framing, masking, UTF-8, auto-pong,
//! the close handshake, keepalive, timeouts and the send queue are the core's. This crate moves
//! bytes, reads the clock and supplies entropy from the OS.
//!
//! # Example
//!
//! An echo server from another implementation (tungstenite) on loopback, and a client:
//!
//! ```
//! use ws_proto_std::{Builder, CloseCode, Error, Message};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let url = format!("ws://{}/chat", listener.local_addr()?);
//! let server = std::thread::spawn(move || {
//!     let mut ws = tungstenite::accept(listener.accept().unwrap().0).unwrap();
//!     while let Ok(msg) = ws.read() {
//!         if msg.is_text() || msg.is_binary() {
//!             ws.send(msg).unwrap();
//!         }
//!     }
//! });
//!
//! let (ws, _response) = Builder::new(&url).header("Cookie", "token=abc").connect()?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.read()?, Message::Text("hello".into()));
//!
//! ws.close(CloseCode::NORMAL, "bye")?;
//! match ws.read() {
//!     Err(Error::Closed { code, reason }) => assert_eq!((code, reason.as_str()), (CloseCode::NORMAL, "bye")),
//!     other => panic!("{other:?}"),
//! }
//! server.join().unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `deflate` (default): permessage-deflate (RFC 7692), offered to every server; turn off
//!   default features to drop it and its zlib.
//! - `http` (default): [`connect`] and [`Builder::new`] take an `http::Uri` or an
//!   `http::Request<()>` too, and `Response::to_http` gives the response as an
//!   `http::Response`, as with tokio-tungstenite.
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
//!
//! # Threads, locks and timers
//!
//! A connection is one [`ws_proto::ClientState`] (and, for `wss://`, one rustls
//! `ClientConnection`, which is sans-IO too) under a mutex, plus a transport whose methods take
//! `&self` so it can be read and written at the same time (`&TcpStream` is `Read + Write`).
//! The rules that make sending from one thread while another reads safe, with no lock held
//! across a blocking call:
//!
//! - **Reading.** One thread at a time reads (a second reader waits on a reader mutex). It
//!   blocks in the transport's `read` *without* the state lock, then takes the lock only to feed
//!   the bytes to TLS and the core, and releases it. Events are taken from the core one at a
//!   time, as `read_event` is called (an [`Events`] iterator and the event [`Client`] take the
//!   whole data messages that arrived together in one step, and decode nothing else), so a
//!   Close the core holds behind earlier messages takes effect only once the reader has seen
//!   (and perhaps answered) them.
//! - **Writing.** Every input or command is followed by a flush. A thread flushing marks itself
//!   as the writer in the state, takes the core's next chunk (encrypted, for TLS) under the lock,
//!   releases the lock, writes, and repeats until nothing is left. A thread that finds a writer
//!   already active leaves its bytes to it. So chunks go out in the order the core produced them,
//!   and a sender never waits on a lock while another thread is blocked in a write; while the
//!   writer is blocked, further sends accumulate in the core, bounded by its high-water mark.
//! - **Timers.** Before each read the reader sets the transport's read timeout to the core's
//!   next deadline and runs `handle_timeout` when it passes, so keepalive pings, the pong
//!   timeout and the handshake and close timeouts fire while blocked in `read`. A command from
//!   another thread can add a deadline the blocked reader has not seen: `close` starts the close
//!   timeout, `close_timeout` from now. So a read never blocks longer than `close_timeout` at a
//!   time; the reader then looks at the deadlines again, and no deadline is ever overslept.
//! - **The end.** After the core's `Closed`, the last bytes (a final Close frame, then TLS's
//!   `close_notify`) are written and the transport is shut down, which also wakes a blocked
//!   reader. A failed read or write ends the core too, and its error takes the place of the
//!   `Closed` event, after every event that came before it.
//!
//! Progress on input needs a thread in `read` / `read_event` (the event [`Client`] is such a
//! loop). With [`Locked`], a stream that is not a [`Transport`], reads and writes take turns.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod client;
mod connect;
mod events;
mod feeder;
mod socket;
mod streaming;
mod tls;
mod transport;

pub use builder::{connect, Builder};
pub use client::{Client, ClientHandle, Handler};
pub use events::Events;
pub use feeder::Feeder;
pub use socket::WebSocket;
pub use streaming::MessageReader;
pub use transport::{Locked, Transport};
ws_proto::adapter_exports!();
pub use {rustls, ws_proto};
