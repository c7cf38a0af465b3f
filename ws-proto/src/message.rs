//! Data messages.

use bytes::Bytes;

use crate::error::SendError;
use crate::text::Utf8Bytes;

/// A complete data message, received or to send.
///
/// Built and read the way tungstenite's `Message` is, so code moves between the two unchanged:
///
/// ```
/// use ws_proto::{Bytes, Message};
///
/// let text = Message::text("hello");
/// assert!(text.is_text() && text.to_text() == Some("hello"));
/// let data = Message::binary(vec![1, 2, 3]);
/// assert!(data.is_binary() && data.into_data() == Bytes::from_static(&[1, 2, 3]));
/// // Conversions: a string is text, bytes are binary.
/// assert_eq!(Message::from("hi"), Message::text("hi"));
/// assert_eq!(Message::from(vec![0xff]), Message::binary(vec![0xff]));
/// // Binary that is valid UTF-8 reads as text too; other bytes do not.
/// assert_eq!(Message::binary("ok").into_text().unwrap(), "ok");
/// assert!(Message::binary(vec![0xff]).into_text().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, validated as UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// `data`, copied, as a message of `message_type` (the default type's sends): text must be
    /// UTF-8, and is never made from bytes by a method that does not say so.
    pub fn of_type(message_type: MessageType, data: &[u8]) -> Result<Message, SendError> {
        Ok(match message_type {
            MessageType::Text => {
                Message::text(std::str::from_utf8(data).map_err(|_| SendError::InvalidUtf8)?)
            }
            MessageType::Binary => Message::binary(Bytes::copy_from_slice(data)),
        })
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The text: a text message's, or a binary message's payload if it is valid UTF-8.
    pub fn to_text(&self) -> Option<&str> {
        MessageRef::from(self).to_text()
    }

    /// The payload as text: a text message's, or a binary message's if it is valid UTF-8
    /// (otherwise the payload comes back as the error).
    pub fn into_text(self) -> Result<Utf8Bytes, Bytes> {
        match self {
            Message::Text(t) => Ok(t),
            Message::Binary(b) => Utf8Bytes::try_from(b.clone()).map_err(|_| b),
        }
    }

    /// The payload, whatever the type.
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        MessageRef::from(self).message_type()
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        MessageRef::from(self).as_bytes()
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A complete data message lent where it was received, for the duration of a call: see
/// [`ClientState::poll_message_with`](crate::ClientState::poll_message_with). Reading small
/// messages this way costs no reference count and no move of an owned [`Message`]; keep what
/// outlives the call with [`to_message`](Self::to_message), a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message, validated as UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl<'a> MessageRef<'a> {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            MessageRef::Text(t) => t.as_bytes(),
            MessageRef::Binary(b) => b,
        }
    }

    /// The text: a text message's, or a binary message's payload if it is valid UTF-8.
    pub fn to_text(&self) -> Option<&'a str> {
        match *self {
            MessageRef::Text(t) => Some(t),
            MessageRef::Binary(b) => std::str::from_utf8(b).ok(),
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            MessageRef::Text(_) => MessageType::Text,
            MessageRef::Binary(_) => MessageType::Binary,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned copy.
    pub fn to_message(&self) -> Message {
        match *self {
            MessageRef::Text(t) => Message::text(t),
            MessageRef::Binary(b) => Message::from(b),
        }
    }
}

impl<'a> From<&'a Message> for MessageRef<'a> {
    fn from(message: &'a Message) -> Self {
        match message {
            Message::Text(t) => MessageRef::Text(t.as_str()),
            Message::Binary(b) => MessageRef::Binary(b),
        }
    }
}

/// The type of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MessageType {
    /// Text (opcode 0x1): UTF-8.
    #[default]
    Text,
    /// Binary (opcode 0x2).
    Binary,
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Message::Text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}
