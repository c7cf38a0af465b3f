//! A message sent in parts: which frame each part becomes, and the rule for text parts.
//!
//! A text message's parts may cut a code point anywhere (a reader's buffer does), but every
//! part must continue valid UTF-8: bytes that can never become a code point are refused, and the
//! start of a code point at a part's end is held back until the next part completes it, so an
//! end that comes inside a code point can be refused with nothing sent.

use crate::error::SendError;
use crate::frame::OpCode;
use crate::utf8::sequence_len;

/// The message being sent in parts.
#[derive(Debug)]
pub(crate) struct OutStream {
    opcode: OpCode,
    /// A frame went out: the next ones are continuations.
    begun: bool,
    /// Compressed, as negotiated when it started.
    #[cfg(feature = "deflate")]
    compressed: bool,
    /// The start of a code point held back from the last text part.
    carry: [u8; 4],
    carried: usize,
}

/// A text part split by the rule.
pub(crate) struct TextPart<'a> {
    /// The held code point, if this part completed it.
    completed: Option<([u8; 4], usize)>,
    /// Whole code points.
    pub(crate) body: &'a [u8],
    /// What is held back after this part.
    carry: ([u8; 4], usize),
}

impl TextPart<'_> {
    /// The bytes of the held code point this part completed, if it did.
    pub(crate) fn completed(&self) -> Option<&[u8]> {
        self.completed.as_ref().map(|(bytes, len)| &bytes[..*len])
    }
}

impl OutStream {
    pub(crate) fn new(opcode: OpCode) -> Self {
        OutStream {
            opcode,
            begun: false,
            #[cfg(feature = "deflate")]
            compressed: false,
            carry: [0; 4],
            carried: 0,
        }
    }

    /// Compressed or not.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed(self, compressed: bool) -> Self {
        OutStream { compressed, ..self }
    }

    /// Whether its frames carry compressed data.
    #[cfg(feature = "deflate")]
    pub(crate) fn is_compressed(&self) -> bool {
        self.compressed
    }

    pub(crate) fn is_text(&self) -> bool {
        self.opcode == OpCode::Text
    }

    /// The opcode of the next frame, which begins the message if none did.
    pub(crate) fn next_opcode(&mut self) -> OpCode {
        if std::mem::replace(&mut self.begun, true) {
            OpCode::Continuation
        } else {
            self.opcode
        }
    }

    /// Whether a frame went out.
    #[cfg(feature = "deflate")]
    pub(crate) fn is_begun(&self) -> bool {
        self.begun
    }

    /// Splits a text part, refusing it (with nothing changed) if it cannot continue UTF-8.
    pub(crate) fn split_text<'a>(&self, mut data: &'a [u8]) -> Result<TextPart<'a>, SendError> {
        let mut completed = None;
        if self.carried > 0 {
            let (mut bytes, mut len) = (self.carry, self.carried);
            let take = (sequence_len(bytes[0]) - len).min(data.len());
            bytes[len..len + take].copy_from_slice(&data[..take]);
            len += take;
            data = &data[take..];
            match simdutf8::compat::from_utf8(&bytes[..len]) {
                Ok(_) => completed = Some((bytes, len)),
                Err(e) if e.error_len().is_some() => return Err(SendError::InvalidUtf8),
                // Still incomplete: all of `data` went into it.
                Err(_) => {
                    return Ok(TextPart {
                        completed: None,
                        body: &[],
                        carry: (bytes, len),
                    })
                }
            }
        }
        let end = match simdutf8::compat::from_utf8(data) {
            Ok(_) => data.len(),
            Err(e) if e.error_len().is_some() => return Err(SendError::InvalidUtf8),
            Err(e) => e.valid_up_to(),
        };
        let mut carry = ([0; 4], data.len() - end);
        carry.0[..carry.1].copy_from_slice(&data[end..]);
        Ok(TextPart {
            completed,
            body: &data[..end],
            carry,
        })
    }

    /// Commits a text part: what it held back is held.
    pub(crate) fn hold(&mut self, part: &TextPart<'_>) {
        (self.carry, self.carried) = part.carry;
    }

    /// Whether the message can end here: not inside a code point.
    pub(crate) fn check_end(&self) -> Result<(), SendError> {
        if self.carried > 0 {
            return Err(SendError::InvalidUtf8);
        }
        Ok(())
    }
}
