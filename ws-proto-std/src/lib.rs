//! Blocking std adapter for ws-proto (docs below are filled in with the event client).
#![deny(missing_docs)]

mod builder;
mod client;
mod connect;
mod error;
mod socket;
mod tls;
mod transport;

pub use builder::{connect, Builder};
pub use client::{Client, ClientHandle, Handler};
pub use error::Error;
pub use socket::WebSocket;
pub use transport::{Locked, Transport};

pub use rustls;
pub use ws_proto;
pub use ws_proto::{CloseCode, Event, Message, MessageType, ReconnectPolicy, Response};
