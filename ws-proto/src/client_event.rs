//! [`ClientEvent`]: what a client connection yields, in the same shape in both adapters (each
//! re-exports it as its `Event`), and the one place a core [`Event`] becomes one.

use bytes::Bytes;

use crate::client_error::ClientError;
use crate::close::CloseCode;
use crate::event::{Closed, Event, Pong};
use crate::handshake::Response;
use crate::message::{Message, MessageType};

/// An event of a client connection: the core's [`Event`]s, with its end split the way callers
/// handle it. A clean close is [`Close`](Self::Close); a failure is the `Err` the read returns
/// instead, so a `?` ends the loop on it.
///
/// Pings and pongs are events rather than kinds of [`Message`] (as they are in tungstenite): a
/// `match` on a message then has two arms, text and binary, and a control frame can never be
/// mistaken for data or sent by accident where a message was meant. The core's
/// [`Event::Drained`] is not one: a socket's sends wait for room by themselves (the blocking
/// `feed`, the `Sink`'s `poll_ready`), and the callback client and the session report it in
/// their own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server accepted the handshake. Only a connection started without waiting for it
    /// (the tokio adapter's `Builder::start`) yields this; `connect` returns the response.
    Open(Box<Response>),
    /// A complete data message, text or binary.
    Message(Message),
    /// A streamed message begins (see [`Config::recv_streaming`](crate::Config::recv_streaming));
    /// its chunks follow, then [`MessageEnd`](Self::MessageEnd).
    MessageStart(MessageType),
    /// A chunk of the streamed message; for text, valid UTF-8 on its own.
    MessageData(Bytes),
    /// The streamed message is complete.
    MessageEnd,
    /// The server sent a ping; the pong is already on its way.
    Ping(Bytes),
    /// The server sent a pong.
    Pong(Pong),
    /// The closing handshake completed cleanly, with the server's code and reason. Nothing
    /// follows it.
    Close(CloseFrame),
}

/// The code and reason of a clean close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code the server sent (1005 when its Close had none).
    pub code: CloseCode,
    /// The reason the server sent.
    pub reason: String,
}

impl ClientEvent {
    /// The adapter's item for a core event, `None` for [`Event::Drained`]. `failure` is what
    /// the transport or TLS reported, if anything: it explains an unclean end better than the
    /// core's own cause (see [`ClientError::ending`]).
    pub fn from_event(
        event: Event,
        failure: Option<ClientError>,
    ) -> Option<Result<ClientEvent, ClientError>> {
        Some(Ok(match event {
            Event::Open(response) => ClientEvent::Open(response),
            Event::Message(message) => ClientEvent::Message(message),
            Event::MessageStart(kind) => ClientEvent::MessageStart(kind),
            Event::MessageData(data) => ClientEvent::MessageData(data),
            Event::MessageEnd => ClientEvent::MessageEnd,
            Event::Ping(payload) => ClientEvent::Ping(payload),
            Event::Pong(payload) => ClientEvent::Pong(payload),
            Event::Closed(closed) => return Some(ClientEvent::from_closed(*closed, failure)),
            // `Drained`, and whatever later versions of the core add.
            _ => return None,
        }))
    }

    /// The end of a connection: [`Close`](Self::Close) when it was clean, else its error.
    pub fn from_closed(
        closed: Closed,
        failure: Option<ClientError>,
    ) -> Result<ClientEvent, ClientError> {
        match ClientError::ending(closed, failure)? {
            Closed {
                error: Some(error), ..
            } => Err(error.into()),
            Closed { code, reason, .. } => Ok(ClientEvent::Close(CloseFrame { code, reason })),
        }
    }
}

/// A clean close as the error of a call that returns only messages (`read`).
impl From<CloseFrame> for ClientError {
    fn from(frame: CloseFrame) -> Self {
        ClientError::Closed {
            code: frame.code,
            reason: frame.reason,
        }
    }
}
