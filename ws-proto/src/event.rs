//! What the state machine reports.

use std::time::Duration;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::error::Error;
use crate::handshake::Response;
use crate::message::{Message, MessageType};

/// An event, drained with [`ClientState::poll_event`](crate::ClientState::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted the handshake (Workerman's `onWebSocketConnect`). Messages sent before
    /// this were queued and are now on their way, ahead of anything sent later. (Boxed, like
    /// `Closed`: the two rare events would otherwise make every message a large value to move.)
    Open(Box<Response>),
    /// A complete data message.
    Message(Message),
    /// A streamed message begins ([`Config::recv_streaming`](crate::Config::recv_streaming)):
    /// its payload follows as [`MessageData`](Self::MessageData) chunks, then
    /// [`MessageEnd`](Self::MessageEnd). Pings and pongs may come between them.
    MessageStart(MessageType),
    /// A chunk of the streamed message's payload, in order, as it arrived (inflated, if
    /// compressed), never empty and at most [`Config::recv_chunk_size`](crate::Config::recv_chunk_size)
    /// bytes. A text message's chunks are each valid UTF-8: a code point cut by a read or a
    /// frame is held back until complete.
    MessageData(Bytes),
    /// The streamed message is complete and valid. A connection that ends before this (a
    /// Close, a violation, a lost transport) ends the message incomplete: [`Closed`](Self::Closed)
    /// says why.
    MessageEnd,
    /// The server sent a ping; the pong has already been queued.
    Ping(Bytes),
    /// The server sent a pong.
    Pong(Pong),
    /// The send buffer fell below its high-water mark after having reached it: sends are
    /// accepted again (Workerman's `onBufferDrain`).
    Drained,
    /// The connection is over. Emitted exactly once; no event follows it. Bytes still returned by
    /// [`poll_transmit`](crate::ClientState::poll_transmit) (a final Close frame) should be
    /// written before the transport is closed.
    Closed(Box<Closed>),
}

/// A pong from the server, with the round trip of the ping it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// Its application data: a ping's, echoed (§5.5.3), or anything for an unsolicited pong.
    pub payload: Bytes,
    /// From the send of the ping it answers (the oldest unanswered one with the same payload,
    /// keepalive or [`send_ping`](crate::ClientState::send_ping)) to the read that brought it:
    /// websocat's `--print-ping-rtts`. `None` for an unsolicited pong.
    pub rtt: Option<Duration>,
}

/// How the connection ended, in the shape of the browser's `CloseEvent` plus a typed cause.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Closed {
    /// The close code: the server's (1005 if its Close had none), the one the client sent when it
    /// failed the connection, or 1006 when no Close frame was exchanged.
    pub code: CloseCode,
    /// The close reason, or a description of the failure.
    pub reason: String,
    /// Whether both Close frames were exchanged.
    pub clean: bool,
    /// Why the connection failed, if it did.
    pub error: Option<Error>,
}
