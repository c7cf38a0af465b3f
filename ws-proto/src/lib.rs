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
//! Feed inputs, then drain `poll_event`, then `poll_transmit`, and again until both are empty
//! (decoding a frame or acting on an event can queue bytes), then read `poll_timeout`. Here the
//! "server" is two canned byte strings, so the loop runs as written:
//!
//! ```
//! use std::time::Instant;
//! use ws_proto::{accept_key, ClientState, Config, Event, Message, Request};
//!
//! let request = Request::new("ws://example.com/chat")?;
//! let now = Instant::now();
//! // The seed must come from the OS in real use (the adapters use getrandom).
//! let mut client = ClientState::new(request, Config::default(), [7; 32], now);
//!
//! // A send before the handshake completes is queued.
//! client.send_text("hello").unwrap();
//!
//! // The handshake request is the first output. Write it to the transport.
//! let request_bytes = client.poll_transmit().expect("the request");
//! let text = std::str::from_utf8(&request_bytes)?;
//! let key = text.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
//!
//! // Read from the transport and feed what arrives: a 101 and, in the same read, a text frame.
//! let mut input = format!(
//!     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!      Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
//!     accept_key(key)
//! )
//! .into_bytes();
//! input.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
//! client.handle_input(&input, Instant::now());
//!
//! // The queued message goes out now, masked.
//! let frame = client.poll_transmit().expect("the queued message");
//! assert_eq!(frame.len(), 2 + 4 + 5);
//! assert!(matches!(client.poll_event(), Some(Event::Open(_))));
//! assert_eq!(client.poll_event(), Some(Event::Message(Message::Text("hi".into()))));
//! assert_eq!(client.poll_event(), None);
//! // With no keepalive configured, nothing is scheduled once open.
//! assert_eq!(client.poll_timeout(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A real loop also waits for the transport or the deadline, whichever comes first, and calls
//! [`ClientState::handle_timeout`] when the deadline passes and [`ClientState::handle_eof`] when
//! the transport's read side ends. It stops after [`Event::Closed`], once `poll_transmit`
//! returns `None`.
#![deny(missing_docs)]

mod client;
mod close;
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
mod mask;
mod message;
mod reconnect;
mod recv;
mod request;
mod rng;
mod send;
mod text;
mod timer;
mod utf8;

pub use client::{ClientState, ReadyState, READ_ROOM};
pub use close::{CloseCode, MAX_REASON_LEN};
pub use config::Config;
#[cfg(feature = "deflate")]
pub use deflate::{DeflateConfig, DeflateError};
pub use error::{Error, ProtocolError, SendError, Timeout};
pub use event::{Closed, Event};
pub use extension::Extension;
pub use handshake::{accept_key, HandshakeError, Rejection, Response};
pub use headers::Headers;
pub use mask::apply_mask;
pub use message::{Message, MessageType};
pub use reconnect::ReconnectPolicy;
pub use request::{Request, RequestError};
pub use text::Utf8Bytes;

pub use bytes::Bytes;
