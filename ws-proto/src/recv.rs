//! The receive path: which frames a client accepts, reassembly of fragmented messages,
//! inflation of compressed ones, and incremental UTF-8 validation of text, all working in the
//! connection's receive buffer.

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{parse_close_body, CloseCode};
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, RSV1};
use crate::message::{Message, MessageRef, MessageType};
use crate::recv_stream::{Step, Streamed};
use crate::text::{str_from_validated, Utf8Bytes};
use crate::utf8::Utf8Validator;

/// What a complete frame amounts to.
#[derive(Debug)]
pub(crate) enum Received {
    Message(Message),
    Ping(Bytes),
    Pong(Bytes),
    /// A Close frame: its code and reason, if it had a body.
    Close(Option<(CloseCode, String)>),
    /// The first frame of a streamed message arrived.
    Start(MessageType),
    /// A chunk of a streamed message.
    Data(Bytes),
    /// The streamed message is complete.
    End,
}

/// How messages are received: whole (the default), or streamed when they may be large.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Streaming {
    /// Whether messages are streamed (those that do not fit in one chunk).
    pub(crate) on: bool,
    /// The largest chunk handed out (at least 4, so a code point always fits).
    pub(crate) chunk: usize,
    /// The largest streamed message, if any.
    pub(crate) limit: Option<usize>,
}

/// A message being assembled: fragmented, compressed, or both.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    /// The message so far: payloads, or inflated output for a compressed message.
    data: BytesMut,
}

/// Decodes frames from the receive buffer.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// The header of the frame whose payload is arriving.
    head: Option<FrameHeader>,
    /// How many bytes of that payload have been validated or inflated.
    checked: usize,
    /// How many bytes of a streamed frame's payload have been taken from the buffer.
    taken: u64,
    partial: Option<Partial>,
    utf8: Utf8Validator,
    max_frame: usize,
    max_message: usize,
    /// RSV bits a negotiated extension defines.
    rsv_allowed: u8,
    streaming: Streaming,
    /// A message being streamed, and whether its start was reported.
    streamed: Option<Streamed>,
    started: bool,
    /// A run of whole small data frames, checked and split from the receive buffer in one
    /// step, handed out one by one by `whole_message`.
    ready: Bytes,
    /// Boxed, as the sender's deflater: a connection without compression holds a pointer.
    #[cfg(feature = "deflate")]
    inflater: Option<Box<crate::deflate_stream::Inflater>>,
}

impl Receiver {
    pub(crate) fn new(max_frame: usize, max_message: usize, streaming: Streaming) -> Self {
        Receiver {
            streaming: Streaming {
                chunk: streaming.chunk.max(4),
                ..streaming
            },
            streamed: None,
            started: true,
            head: None,
            checked: 0,
            taken: 0,
            partial: None,
            utf8: Utf8Validator::default(),
            max_frame,
            max_message,
            rsv_allowed: 0,
            ready: Bytes::new(),
            #[cfg(feature = "deflate")]
            inflater: None,
        }
    }

    /// Accepts compressed messages as negotiated.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_deflate(&mut self, agreed: &crate::deflate::Negotiated) {
        self.rsv_allowed = RSV1;
        self.inflater = Some(Box::new(crate::deflate_stream::Inflater::new(agreed)));
    }

    /// Streams messages from the next one that starts, or stops streaming them.
    pub(crate) fn set_streaming(&mut self, on: bool) {
        self.streaming.on = on;
    }

    /// Whether a message is in progress, whole or streamed.
    fn in_message(&self) -> bool {
        self.partial.is_some() || self.streamed.is_some()
    }

    /// Bytes held by a message in progress.
    pub(crate) fn buffered(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
            + self.streamed.as_ref().map_or(0, Streamed::held)
    }

    /// Bytes held on the receive side besides the receive buffer.
    pub(crate) fn held(&self) -> usize {
        self.buffered() + self.ready.len()
    }

    /// Whether decoding may have something to give without new input: frames split off the
    /// receive buffer waiting to be handed out, or a streamed frame whose end (or inflated
    /// output) comes after the chunk just handed out.
    #[inline]
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty() || (self.streamed.is_some() && self.head.is_some())
    }

    /// Nothing received waits to be decoded: between messages, the inflate stream kept for a
    /// burst of them is freed (a message in progress keeps it).
    pub(crate) fn release_idle(&mut self) {
        #[cfg(feature = "deflate")]
        if self.partial.is_none() && self.streamed.is_none() {
            if let Some(inflater) = self.inflater.as_mut() {
                inflater.release();
            }
        }
    }

    /// Releases memory held for a message in progress.
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.partial = None;
        self.streamed = None;
        self.ready = Bytes::new();
        #[cfg(feature = "deflate")]
        {
            self.inflater = None;
        }
    }

    /// Decodes the next complete frame from `rx`, consuming it.
    ///
    /// Returns `Ok(None)` when `rx` holds no complete frame. Text payload already in `rx` has
    /// been validated by then (and compressed payload inflated), so invalid UTF-8 and an
    /// oversized inflated message fail at once, even mid-frame.
    pub(crate) fn poll(&mut self, rx: &mut BytesMut) -> Result<Option<Received>, ProtocolError> {
        if let Some(message) = self.whole_message(rx) {
            return Ok(Some(Received::Message(message)));
        }
        loop {
            let head = match self.head {
                Some(head) => head,
                None => {
                    let Some((head, header_len)) = FrameHeader::parse(rx)? else {
                        return Ok(None);
                    };
                    self.check(&head)?;
                    rx.advance(header_len);
                    self.head = Some(head);
                    self.checked = 0;
                    self.taken = 0;
                    head
                }
            };
            if !std::mem::replace(&mut self.started, true) {
                let kind = match head.opcode {
                    OpCode::Text => MessageType::Text,
                    _ => MessageType::Binary,
                };
                return Ok(Some(Received::Start(kind)));
            }
            if self.streamed.is_some() && !head.opcode.is_control() {
                match self.step_streamed(&head, rx)? {
                    Step::Data(data) => return Ok(Some(Received::Data(data))),
                    Step::NeedInput => return Ok(None),
                    Step::FrameDone => self.head = None,
                    Step::End => {
                        self.head = None;
                        self.streamed = None;
                        return Ok(Some(Received::End));
                    }
                }
                continue;
            }
            // `check` bounded the length by max_frame, a usize.
            let len = head.payload_len as usize;
            let upto = len.min(rx.len());
            if self.checked < upto && !head.opcode.is_control() {
                self.process(&head, &rx[self.checked..upto])?;
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

    /// The common case: an unfragmented, uncompressed data frame with a 7- or 16-bit length,
    /// whole in `rx`, within the limits, and valid UTF-8 if text. The whole run of such frames
    /// at the front of `rx` is split off at once, so each message costs a reference count rather
    /// than a split of the receive buffer. Anything else, every violation included, is left to
    /// [`poll`](Self::poll), which reports it once the run is handed out.
    #[inline]
    pub(crate) fn whole_message(&mut self, rx: &mut BytesMut) -> Option<Message> {
        let (text, head_len, len) = self.next_small(rx)?;
        let payload = if head_len + len == self.ready.len() {
            // The run's last frame takes over its share of the buffer, so once the application
            // drops its messages the buffer is free to be reused for the next read.
            let mut last = std::mem::take(&mut self.ready);
            last.advance(head_len);
            last
        } else {
            let payload = self.ready.slice(head_len..head_len + len);
            self.ready.advance(head_len + len);
            payload
        };
        Some(if text {
            Message::Text(Utf8Bytes::from_validated(payload))
        } else {
            Message::Binary(payload)
        })
    }

    /// [`whole_message`](Self::whole_message)'s message lent to `read` from the run instead of
    /// handed out: no reference count is taken. Returns `read`'s result and what was read (the
    /// type and length, for the statistics).
    #[inline]
    pub(crate) fn lend_message<R>(
        &mut self,
        rx: &mut BytesMut,
        read: impl FnOnce(MessageRef<'_>) -> R,
    ) -> Option<(R, MessageType, usize)> {
        let (text, head_len, len) = self.next_small(rx)?;
        let payload = &self.ready[head_len..head_len + len];
        let message = if text {
            MessageRef::Text(str_from_validated(payload))
        } else {
            MessageRef::Binary(payload)
        };
        let kind = message.message_type();
        let result = read(message);
        if head_len + len == self.ready.len() {
            // The run's share of the receive buffer goes back with it, so the buffer is free to
            // be reused for the next read.
            self.ready = Bytes::new();
        } else {
            self.ready.advance(head_len + len);
        }
        Some((result, kind, len))
    }

    /// The next frame of the run `whole_message` hands out, splitting the run off `rx` first
    /// if none is left: whether it is text, its header's length and its payload's.
    #[inline]
    fn next_small(&mut self, rx: &mut BytesMut) -> Option<(bool, usize, usize)> {
        if self.ready.is_empty() {
            if self.head.is_some() || self.in_message() {
                return None;
            }
            let run = self.whole_run(rx);
            if run == 0 {
                return None;
            }
            self.ready = rx.split_to(run).freeze();
        }
        Some(small_frame(&self.ready).expect("`ready` holds only frames `whole_run` accepted"))
    }

    /// The length of the run of frames at the front of `rx` that `whole_message` hands out.
    fn whole_run(&self, rx: &[u8]) -> usize {
        let mut end = 0;
        while let Some((text, head_len, len)) = small_frame(&rx[end..]) {
            if len > self.max_frame || len > self.max_message {
                break;
            }
            if self.streaming.on && len > self.streaming.chunk {
                break;
            }
            let Some(body) = rx.get(end + head_len..end + head_len + len) else {
                break;
            };
            // `is_ascii` first: on short payloads it costs a fraction of a full validator's
            // setup.
            if text && !body.is_ascii() && simdutf8::basic::from_utf8(body).is_err() {
                break;
            }
            end += head_len + len;
        }
        end
    }

    /// Validates or inflates newly arrived payload bytes of the data frame `head`.
    fn process(&mut self, head: &FrameHeader, new: &[u8]) -> Result<(), ProtocolError> {
        match &mut self.partial {
            #[cfg(feature = "deflate")]
            Some(partial) if partial.compressed => {
                let inflater = self.inflater.as_mut().expect("compression was negotiated");
                let start = partial.data.len();
                let inflated = inflater.inflate(new, &mut partial.data, self.max_message);
                // What was inflated before an error is checked first, so the error reported
                // does not depend on how the input was split into reads.
                if partial.text {
                    self.utf8
                        .feed(&partial.data[start..])
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                inflated.map_err(|e| inflate_error(e, self.max_message))?;
                Ok(())
            }
            Some(partial) if !partial.text => Ok(()),
            // An unfragmented text frame has no `Partial`; a fragmented one is text.
            None if head.opcode != OpCode::Text => Ok(()),
            _ => self.utf8.feed(new).map_err(|_| ProtocolError::InvalidUtf8),
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
        // RFC 7692 §6.1: the "Per-Message Compressed" bit is set on "the first frame of the
        // message" only; on a control frame or a continuation it is an error.
        if head.rsv & RSV1 != 0 && !matches!(head.opcode, OpCode::Text | OpCode::Binary) {
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
            if head.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlTooLong(head.payload_len));
            }
            return Ok(());
        }
        // §5.4: a fragmented message is a first frame, continuations, and a final continuation;
        // "Control frames MAY be injected in the middle of a fragmented message", nothing else.
        match (head.opcode, self.in_message()) {
            (OpCode::Continuation, false) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if self.check_streamed(head)? {
            return Ok(());
        }
        if head.payload_len > self.max_frame as u64 {
            return Err(ProtocolError::FrameTooBig {
                len: head.payload_len,
                limit: self.max_frame,
            });
        }
        let compressed = match head.opcode {
            OpCode::Continuation => self.partial.as_ref().is_some_and(|p| p.compressed),
            _ => head.rsv & RSV1 != 0,
        };
        // A compressed message's limit applies to its inflated size, checked while inflating.
        let so_far = self.buffered() as u64;
        if !compressed && so_far + head.payload_len > self.max_message as u64 {
            return Err(ProtocolError::MessageTooBig {
                len: so_far + head.payload_len,
                limit: self.max_message,
            });
        }
        if matches!(head.opcode, OpCode::Text | OpCode::Binary) {
            let text = head.opcode == OpCode::Text;
            if text {
                self.utf8.reset();
            }
            // Only an unfragmented, uncompressed message skips assembly (and its copy).
            if compressed || !head.fin {
                self.partial = Some(Partial {
                    text,
                    compressed,
                    data: BytesMut::new(),
                });
            }
        }
        Ok(())
    }

    /// The checks of a frame of a streamed message, which starts one if it should be
    /// streamed. Returns whether the frame is streamed. The frame and message limits bound what
    /// is buffered, and nothing is: only the streamed message limit applies.
    fn check_streamed(&mut self, head: &FrameHeader) -> Result<bool, ProtocolError> {
        let compressed = head.rsv & RSV1 != 0;
        if matches!(head.opcode, OpCode::Text | OpCode::Binary) {
            // A message that fits in one chunk is no larger whole, and is faster.
            let one_chunk =
                head.fin && !compressed && head.payload_len <= self.streaming.chunk as u64;
            if !self.streaming.on || one_chunk {
                return Ok(false);
            }
            self.streamed = Some(Streamed::new(head.opcode == OpCode::Text, compressed));
            self.started = false;
        }
        let Some(streamed) = &mut self.streamed else {
            return Ok(false);
        };
        if !streamed.is_compressed() {
            streamed.grow(head.payload_len, self.streaming.limit)?;
        }
        Ok(true)
    }

    /// The next step of the streamed message's frame `head`.
    fn step_streamed(
        &mut self,
        head: &FrameHeader,
        rx: &mut BytesMut,
    ) -> Result<Step, ProtocolError> {
        let streamed = self.streamed.as_mut().expect("a message is streamed");
        let mut taken = self.taken;
        let chunk = self.streaming.chunk;
        let step = if streamed.is_compressed() {
            #[cfg(feature = "deflate")]
            {
                let inflater = self.inflater.as_mut().expect("compression was negotiated");
                streamed.step_compressed(
                    head,
                    &mut taken,
                    rx,
                    chunk,
                    self.streaming.limit,
                    inflater,
                )
            }
            #[cfg(not(feature = "deflate"))]
            unreachable!("RSV1 is refused without deflate")
        } else {
            streamed.step(head, &mut taken, rx, chunk)
        };
        self.taken = taken;
        step
    }

    fn complete(
        &mut self,
        head: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Received>, ProtocolError> {
        match head.opcode {
            OpCode::Ping => return Ok(Some(Received::Ping(payload))),
            OpCode::Pong => return Ok(Some(Received::Pong(payload))),
            OpCode::Close => {
                let body = parse_close_body(&payload)?;
                return Ok(Some(Received::Close(body.map(|(c, r)| (c, r.to_owned())))));
            }
            // An unfragmented message leaves as a slice of the receive buffer, without a copy.
            OpCode::Text | OpCode::Binary if self.partial.is_none() => {
                let message = if head.opcode == OpCode::Text {
                    self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                    Message::Text(Utf8Bytes::from_validated(payload))
                } else {
                    Message::Binary(payload)
                };
                return Ok(Some(Received::Message(message)));
            }
            _ => {}
        }
        let partial = self
            .partial
            .as_mut()
            .expect("checked: a message is in progress");
        if !partial.compressed {
            partial.data.extend_from_slice(&payload);
        }
        if !head.fin {
            return Ok(None);
        }
        #[cfg(feature = "deflate")]
        if partial.compressed {
            let inflater = self.inflater.as_mut().expect("compression was negotiated");
            let start = partial.data.len();
            let inflated = inflater.finish(&mut partial.data, self.max_message);
            if partial.text {
                self.utf8
                    .feed(&partial.data[start..])
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            inflated.map_err(|e| inflate_error(e, self.max_message))?;
        }
        let partial = self.partial.take().expect("present");
        let data = trimmed(partial.data);
        let message = if partial.text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            Message::Text(Utf8Bytes::from_validated(data))
        } else {
            Message::Binary(data)
        };
        Ok(Some(Received::Message(message)))
    }
}

/// An assembled message's bytes, without the room its buffer has beyond them: growing by
/// doubling (and inflating into generous room) leaves up to half of it unused, which the message
/// would hold for as long as the user keeps it. Shrinking in place costs no copy, and a buffer
/// of the message's exact size becomes `Bytes` without a separate reference count.
fn trimmed(data: BytesMut) -> Bytes {
    let mut data = Vec::from(data);
    data.shrink_to_fit();
    Bytes::from(data)
}

/// The header of a frame `whole_message` can take: FIN set, RSV clear, Text or Binary, MASK
/// clear (§5.1: a server never masks), and a minimal 7- or 16-bit length. Returns whether it is
/// text, the header length and the payload length.
fn small_frame(buf: &[u8]) -> Option<(bool, usize, usize)> {
    match *buf {
        [b0 @ (0x81 | 0x82), len @ 0..=125, ..] => Some((b0 == 0x81, 2, len as usize)),
        [b0 @ (0x81 | 0x82), 126, hi, lo, ..] => {
            let len = u16::from_be_bytes([hi, lo]) as usize;
            // §5.2: "the minimal number of bytes MUST be used to encode the length".
            (len >= 126).then_some((b0 == 0x81, 4, len))
        }
        _ => None,
    }
}

#[cfg(feature = "deflate")]
fn inflate_error(e: crate::deflate_stream::InflateError, limit: usize) -> ProtocolError {
    match e {
        crate::deflate_stream::InflateError::TooBig(len) => {
            ProtocolError::MessageTooBig { len, limit }
        }
        crate::deflate_stream::InflateError::Corrupt => ProtocolError::InvalidCompressedData,
    }
}
