//! Error types: why a connection ended ([`Error`], [`ProtocolError`], [`Timeout`]) and why a
//! command was refused ([`SendError`]). Local misuse and remote violations are kept apart: the
//! first is an `Err` from a command that changes nothing, the second ends the connection with a
//! [`Closed`](crate::Closed) event.

use std::fmt;

use crate::close::CloseCode;
use crate::handshake::{HandshakeError, Rejection};
use crate::http2::StreamReset;

/// Why a connection ended abnormally, carried by [`Closed::error`](crate::Closed::error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server answered the opening handshake with a status other than 101.
    Rejected(Box<Rejection>),
    /// The server's 101 response was invalid.
    Handshake(HandshakeError),
    /// The server violated the protocol; the client sent the Close code of
    /// [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// A deadline passed.
    Timeout(Timeout),
    /// The stream ended before the closing handshake completed (close code 1006).
    UnexpectedEof,
    /// The HTTP/2 stream carrying the WebSocket was reset, or its connection went away, before
    /// the closing handshake completed (close code 1006).
    StreamReset(StreamReset),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected(r) => write!(f, "handshake rejected: {r}"),
            Error::Handshake(e) => write!(f, "invalid handshake response: {e}"),
            Error::Protocol(e) => write!(f, "protocol violation by the server: {e}"),
            Error::Timeout(t) => write!(f, "{t}"),
            Error::UnexpectedEof => f.write_str("connection closed without a close handshake"),
            Error::StreamReset(r) => write!(f, "{r} without a close handshake"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::StreamReset(r) => Some(r),
            _ => None,
        }
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// The opening handshake did not complete in time.
    Handshake,
    /// Nothing arrived from the server in time after a keepalive ping: the peer is considered dead.
    Pong,
    /// The closing handshake did not complete in time.
    Close,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "opening handshake timed out",
            Timeout::Pong => "no answer to a keepalive ping in time: peer considered dead",
            Timeout::Close => "closing handshake timed out",
        })
    }
}

/// A violation of RFC 6455 by the server. Each maps to the close code the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame used a reserved opcode.
    UnknownOpcode(u8),
    /// A frame set an RSV bit that no negotiated extension defines.
    ReservedBits(u8),
    /// The server masked a frame.
    MaskedFrame,
    /// A payload length was not in its minimal form.
    NonMinimalLength,
    /// A 64-bit payload length had its most significant bit set.
    LengthOverflow,
    /// A control frame had FIN clear.
    FragmentedControl,
    /// A control frame's payload was longer than 125 bytes.
    ControlTooLong(u64),
    /// A continuation frame arrived with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new data frame arrived while a fragmented message was in progress.
    ExpectedContinuation,
    /// A text message was not valid UTF-8.
    InvalidUtf8,
    /// A Close frame body was one byte long.
    CloseBodyTooShort,
    /// A Close frame carried a code that may not be sent.
    InvalidCloseCode(u16),
    /// A Close frame's reason was not valid UTF-8.
    InvalidCloseReason,
    /// A frame was larger than [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooBig {
        /// The announced payload length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A compressed message was not valid DEFLATE data.
    InvalidCompressedData,
    /// A message was larger than [`Config::max_message_size`](crate::Config::max_message_size);
    /// for a compressed message, its inflated size.
    MessageTooBig {
        /// The size the message would have reached.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code sent to the server for this violation.
    pub fn close_code(&self) -> CloseCode {
        match self {
            // §8.1 and §7.4.1: "1007 indicates that an endpoint is terminating the connection
            // because it has received data within a message that was not consistent with the type
            // of the message (e.g., non-UTF-8 [RFC3629] data within a text message)."
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCloseReason => {
                CloseCode::INVALID_PAYLOAD
            }
            // §7.4.1: "1009 indicates that an endpoint is terminating the connection because it
            // has received a message that is too big for it to process."
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnknownOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:#05b} set without an extension")
            }
            ProtocolError::MaskedFrame => f.write_str("masked frame from the server"),
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::LengthOverflow => f.write_str("payload length with the top bit set"),
            ProtocolError::FragmentedControl => f.write_str("fragmented control frame"),
            ProtocolError::ControlTooLong(n) => {
                write!(f, "control frame payload of {n} bytes (max 125)")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside a fragmented message")
            }
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in a text message"),
            ProtocolError::CloseBodyTooShort => f.write_str("close frame body of one byte"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            ProtocolError::InvalidCloseReason => f.write_str("invalid UTF-8 in the close reason"),
            ProtocolError::InvalidCompressedData => f.write_str("invalid compressed data"),
            ProtocolError::FrameTooBig { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the limit of {limit}")
            }
            ProtocolError::MessageTooBig { len, limit } => {
                write!(f, "message of {len} bytes exceeds the limit of {limit}")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Why a command was refused. A refused command changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// A Close frame has been sent or received: no more messages may be sent.
    Closing,
    /// The connection is closed.
    Closed,
    /// The send buffer is at or above its high-water mark; wait for
    /// [`Event::Drained`](crate::Event::Drained).
    BufferFull {
        /// Bytes buffered now.
        buffered: usize,
        /// The configured high-water mark.
        limit: usize,
    },
    /// A control frame payload (ping) was longer than 125 bytes.
    ControlTooLong(usize),
    /// A plain `send` with text as the default type was given bytes that are not UTF-8; or a
    /// part of a streamed text message cannot continue UTF-8 text, or its end came inside a
    /// code point.
    InvalidUtf8,
    /// A message is being sent in parts ([`ClientState::send_message_start`](crate::ClientState::send_message_start)):
    /// another cannot start, whole or in parts, until it ends.
    MessageInProgress,
    /// A part or an end was sent with no message started.
    NoMessageInProgress,
    /// The close code may not be sent (RFC 6455 §7.4).
    InvalidCloseCode(CloseCode),
    /// The close reason was longer than 123 bytes.
    CloseReasonTooLong(usize),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closing => f.write_str("the connection is closing"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::BufferFull { buffered, limit } => {
                write!(
                    f,
                    "send buffer full ({buffered} bytes buffered, high-water mark {limit})"
                )
            }
            SendError::ControlTooLong(n) => write!(f, "ping payload of {n} bytes (max 125)"),
            SendError::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            SendError::MessageInProgress => {
                f.write_str("a message is being sent in parts; end it first")
            }
            SendError::NoMessageInProgress => f.write_str("no message is being sent in parts"),
            SendError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            SendError::CloseReasonTooLong(n) => write!(f, "close reason of {n} bytes (max 123)"),
        }
    }
}

impl std::error::Error for SendError {}

/// Why an input was refused; it changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputError {
    /// A [`ReadLease`](crate::ReadLease) is out: hand it back with
    /// [`handle_lease`](crate::ClientState::handle_lease) before any other input, so bytes are
    /// taken in the order they were read.
    LeaseOutstanding,
    /// The lease handed back is not the one this connection has out (another connection's, or
    /// none is out); its bytes were dropped.
    UnknownLease,
    /// [`handle_connect_response`](crate::ClientState::handle_connect_response) on a connection
    /// that is not waiting for one: it did not start with
    /// [`new_extended_connect`](crate::ClientState::new_extended_connect), or its response was
    /// handled already.
    UnexpectedConnectResponse,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputError::LeaseOutstanding => "a read lease is out; hand it back first",
            InputError::UnknownLease => "this read lease is not the one the connection has out",
            InputError::UnexpectedConnectResponse => {
                "no extended CONNECT response is awaited on this connection"
            }
        })
    }
}

impl std::error::Error for InputError {}
