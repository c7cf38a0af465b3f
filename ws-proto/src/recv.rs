//! The receive path: which frames a client accepts, reassembly of fragmented messages, and
//! incremental UTF-8 validation of text, all working in the connection's receive buffer.

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{parse_close_body, CloseCode};
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode};
use crate::message::Message;
use crate::text::Utf8Bytes;
use crate::utf8::Utf8Validator;

/// What a complete frame amounts to.
#[derive(Debug)]
pub(crate) enum Received {
    Message(Message),
    Ping(Bytes),
    Pong(Bytes),
    /// A Close frame: its code and reason, if it had a body.
    Close(Option<(CloseCode, String)>),
}

/// A fragmented message in progress.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: BytesMut,
}

/// Decodes frames from the receive buffer.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// The header of the frame whose payload is arriving.
    head: Option<FrameHeader>,
    /// How many bytes of that payload have been UTF-8 validated.
    checked: usize,
    partial: Option<Partial>,
    utf8: Utf8Validator,
    max_frame: usize,
    max_message: usize,
    /// RSV bits a negotiated extension defines (none yet).
    rsv_allowed: u8,
}

impl Receiver {
    pub(crate) fn new(max_frame: usize, max_message: usize) -> Self {
        Receiver {
            head: None,
            checked: 0,
            partial: None,
            utf8: Utf8Validator::default(),
            max_frame,
            max_message,
            rsv_allowed: 0,
        }
    }

    /// Bytes held by a fragmented message in progress.
    pub(crate) fn buffered(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Releases memory held for a message in progress.
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.partial = None;
    }

    /// Decodes the next complete frame from `rx`, consuming it.
    ///
    /// Returns `Ok(None)` when `rx` holds no complete frame; text payload already in `rx` has been
    /// validated by then, so invalid UTF-8 fails at once even mid-frame.
    pub(crate) fn poll(&mut self, rx: &mut BytesMut) -> Result<Option<Received>, ProtocolError> {
        loop {
            let head = match self.head {
                Some(head) => head,
                None => {
                    let Some((head, len)) = FrameHeader::parse(rx)? else {
                        return Ok(None);
                    };
                    self.check(&head)?;
                    rx.advance(len);
                    self.head = Some(head);
                    self.checked = 0;
                    head
                }
            };
            // `check` bounded the length by max_frame, a usize.
            let len = head.payload_len as usize;
            if self.is_text(&head) && self.checked < len.min(rx.len()) {
                let upto = len.min(rx.len());
                self.utf8
                    .feed(&rx[self.checked..upto])
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
                self.checked = upto;
            }
            if rx.len() < len {
                // Reserve what the frame still needs (bounded by max_frame) so large frames do
                // not grow the buffer by repeated doubling.
                rx.reserve(len - rx.len());
                return Ok(None);
            }
            self.head = None;
            let payload = rx.split_to(len).freeze();
            if let Some(received) = self.complete(head, payload)? {
                return Ok(Some(received));
            }
        }
    }

    fn is_text(&self, head: &FrameHeader) -> bool {
        match head.opcode {
            OpCode::Text => true,
            OpCode::Continuation => self.partial.as_ref().is_some_and(|p| p.text),
            _ => false,
        }
    }

    /// The header checks of a client, before any payload is buffered.
    fn check(&mut self, head: &FrameHeader) -> Result<(), ProtocolError> {
        // §5.2 RSV1-3: "MUST be 0 unless an extension is negotiated that defines meanings for
        // non-zero values. If a nonzero value is received and none of the negotiated extensions
        // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
        // WebSocket Connection_."
        if head.rsv & !self.rsv_allowed != 0 {
            return Err(ProtocolError::ReservedBits(head.rsv));
        }
        // §5.1: "The client MUST close a connection if it detects a masked frame."
        if head.mask.is_some() {
            return Err(ProtocolError::MaskedFrame);
        }
        if head.opcode.is_control() {
            // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST
            // NOT be fragmented."
            if !head.fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if head.payload_len > 125 {
                return Err(ProtocolError::ControlTooLong(head.payload_len));
            }
            return Ok(());
        }
        // §5.4: a fragmented message is a first frame, continuations, and a final continuation;
        // "Control frames MAY be injected in the middle of a fragmented message", nothing else.
        match (head.opcode, &self.partial) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if head.payload_len > self.max_frame as u64 {
            return Err(ProtocolError::FrameTooBig {
                len: head.payload_len,
                limit: self.max_frame,
            });
        }
        let so_far = self.buffered() as u64;
        if so_far + head.payload_len > self.max_message as u64 {
            return Err(ProtocolError::MessageTooBig {
                len: so_far + head.payload_len,
                limit: self.max_message,
            });
        }
        if head.opcode == OpCode::Text {
            self.utf8.reset();
        }
        Ok(())
    }

    fn complete(
        &mut self,
        head: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Received>, ProtocolError> {
        let text = self.is_text(&head);
        let message = match head.opcode {
            OpCode::Ping => return Ok(Some(Received::Ping(payload))),
            OpCode::Pong => return Ok(Some(Received::Pong(payload))),
            OpCode::Close => {
                let body = parse_close_body(&payload)?;
                return Ok(Some(Received::Close(body.map(|(c, r)| (c, r.to_owned())))));
            }
            // An unfragmented message leaves as a slice of the receive buffer, without a copy.
            OpCode::Text | OpCode::Binary if head.fin => payload,
            OpCode::Text | OpCode::Binary => {
                self.partial = Some(Partial {
                    text,
                    data: BytesMut::from(&payload[..]),
                });
                return Ok(None);
            }
            OpCode::Continuation => {
                let partial = self
                    .partial
                    .as_mut()
                    .expect("checked: a message is in progress");
                partial.data.extend_from_slice(&payload);
                if !head.fin {
                    return Ok(None);
                }
                self.partial.take().expect("present").data.freeze()
            }
        };
        if text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(Received::Message(Message::Text(
                Utf8Bytes::from_validated(message),
            ))))
        } else {
            Ok(Some(Received::Message(Message::Binary(message))))
        }
    }
}
