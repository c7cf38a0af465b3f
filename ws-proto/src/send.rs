//! The send path: masked frame encoding into the output (frames gathered in one buffer, and a
//! large payload the caller gave away masked in place, sealed with its header), the queue of sends
//! made before the handshake completes, the high-water mark, and compression when negotiated.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::SendError;
#[cfg(feature = "deflate")]
use crate::frame::RSV1;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::{apply_mask, put_masked};
use crate::rng::Rng;
use crate::send_stream::OutStream;
use crate::transmit::Transmit;

/// Output buffers above this capacity are released once drained, so an idle connection holds
/// little memory.
const KEEP_CAPACITY: usize = 1 << 10;

/// Owned payloads of at least this size are masked in place and sent as a transmit's body,
/// after their header: the copy saved is worth the second segment of the write.
const OWN_CHUNK: usize = 64 << 10;

/// Encoded bytes in order: sealed transmits, then the buffer that gathers frames.
#[derive(Debug, Default)]
struct Output {
    /// Complete transmits, oldest first; all of them go before `open`.
    sealed: VecDeque<Transmit>,
    /// The total length of `sealed`.
    sealed_len: usize,
    /// Frames written since the last sealed transmit (minus what `advance` wrote of them).
    open: BytesMut,
}

impl Output {
    #[inline]
    fn len(&self) -> usize {
        self.sealed_len + self.open.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seals the frames gathered so far, with `body` (the payload of the last of them) after.
    fn seal(&mut self, body: Bytes) {
        let transmit = Transmit::new(self.open.split().freeze(), body);
        if !transmit.is_empty() {
            self.sealed_len += transmit.len();
            self.sealed.push_back(transmit);
        }
    }

    /// Moves everything in `later` after what is here.
    fn append(&mut self, mut later: Output) {
        if later.is_empty() {
            // Keeps this buffer's memory (the request's) for the frames to come.
            return;
        }
        if self.is_empty() {
            *self = later;
            return;
        }
        if !later.sealed.is_empty() {
            self.seal(Bytes::new());
            self.sealed_len += later.sealed_len;
            self.sealed.append(&mut later.sealed);
        }
        self.open.extend_from_slice(&later.open);
    }

    /// The oldest transmit; a drained gathering buffer gives back memory it grew for a burst.
    #[inline]
    fn take(&mut self) -> Option<Transmit> {
        // Sealed transmits are never empty, so a zero length means there are none: the common
        // case skips the queue.
        if self.sealed_len > 0 {
            let transmit = self.sealed.pop_front()?;
            self.sealed_len -= transmit.len();
            return Some(transmit);
        }
        if self.open.is_empty() {
            return None;
        }
        let frames = self.open.split().freeze();
        self.release_spare();
        Some(Transmit::new(frames, Bytes::new()))
    }

    /// The next bytes to write, left in place: the oldest transmit's two segments, or the
    /// gathered frames.
    #[inline]
    fn peek(&self) -> (&[u8], &[u8]) {
        match self.sealed.front() {
            Some(transmit) => (transmit.head(), transmit.body()),
            None => (&self.open, &[]),
        }
    }

    /// Steps past `n` bytes of what `peek` showed.
    #[inline]
    fn advance(&mut self, n: usize) {
        let (head, body) = self.peek();
        assert!(
            n <= head.len() + body.len(),
            "advanced past the bytes to write: {n} > {}",
            head.len() + body.len()
        );
        if let Some(transmit) = self.sealed.front_mut() {
            transmit.advance(n);
            self.sealed_len -= n;
            if transmit.is_empty() {
                self.sealed.pop_front();
            }
            return;
        }
        // The written bytes stay in the allocation until the next frames need their room:
        // `reserve` then moves what is left to the front, in place.
        self.open.advance(n);
        if self.open.is_empty() {
            self.release_spare();
        }
    }

    /// Gives back the emptied gathering buffer's room if a burst grew it.
    #[inline]
    fn release_spare(&mut self) {
        if self.open.capacity() > KEEP_CAPACITY {
            self.open = BytesMut::new();
        }
    }
}

/// Encodes outgoing frames.
#[derive(Debug)]
pub(crate) struct Sender {
    /// Bytes ready for the transport, in order.
    out: Output,
    /// Frames sent before the handshake completed; moved to `out` when it does.
    queued: Output,
    /// Whether frames go to `queued` (until the handshake completes).
    holding: bool,
    rng: Rng,
    /// Set when the buffer reached the high-water mark; cleared with a `Drained` event.
    full: bool,
    /// A message being sent in parts.
    stream: Option<OutStream>,
    /// Boxed: inline it would add about 180 bytes to every connection, compressed or not;
    /// a compressed message pays one pointer to follow beside zlib's work.
    #[cfg(feature = "deflate")]
    deflater: Option<Box<crate::deflate_stream::Deflater>>,
}

impl Sender {
    pub(crate) fn new(rng: Rng) -> Self {
        Sender {
            out: Output::default(),
            queued: Output::default(),
            holding: true,
            rng,
            full: false,
            stream: None,
            #[cfg(feature = "deflate")]
            deflater: None,
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The buffer the handshake request is written to.
    pub(crate) fn raw(&mut self) -> &mut BytesMut {
        &mut self.out.open
    }

    /// Bytes accepted but not yet handed to the transport.
    pub(crate) fn buffered(&self) -> usize {
        self.out.len() + self.queued.len()
    }

    /// Whether the buffer is at or above `limit`; remembers it so a drain can be signalled.
    pub(crate) fn check_full(&mut self, limit: usize) -> bool {
        let full = self.buffered() >= limit;
        self.full |= full;
        full
    }

    /// Releases the frames queued before the handshake, ahead of anything sent after.
    pub(crate) fn release_queue(&mut self) {
        self.holding = false;
        let queued = std::mem::take(&mut self.queued);
        self.out.append(queued);
    }

    /// Compresses data messages from now on, as negotiated.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_deflate(&mut self, agreed: &crate::deflate::Negotiated) {
        self.deflater = Some(Box::new(crate::deflate_stream::Deflater::new(agreed)));
    }

    /// Encodes one data message: compressed (RSV1 set) when negotiated and long enough.
    pub(crate) fn message(&mut self, opcode: OpCode, payload: &[u8]) {
        #[cfg(feature = "deflate")]
        if let Some(deflater) = self.deflater.as_mut().filter(|d| d.wants(payload.len())) {
            let dst = &mut dst(self.holding, &mut self.out, &mut self.queued).open;
            let rng = &mut self.rng;
            return deflater.compress(payload, |compressed| {
                write_frame(dst, rng, opcode, RSV1, true, compressed)
            });
        }
        self.frame(opcode, payload)
    }

    /// Encodes one uncompressed frame.
    pub(crate) fn frame(&mut self, opcode: OpCode, payload: &[u8]) {
        let dst = dst(self.holding, &mut self.out, &mut self.queued);
        write_frame(&mut dst.open, &mut self.rng, opcode, 0, true, payload);
    }

    /// Whether a message is being sent in parts.
    #[inline]
    pub(crate) fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// Starts a message sent in parts; compressed if negotiated (a message started before the
    /// handshake completes is not).
    pub(crate) fn start_stream(&mut self, opcode: OpCode) -> Result<(), SendError> {
        if self.stream.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let stream = OutStream::new(opcode);
        #[cfg(feature = "deflate")]
        let stream = stream.compressed(self.deflater.is_some());
        self.stream = Some(stream);
        Ok(())
    }

    /// Sends a part of the message started; a text part is refused, with nothing sent, if it
    /// cannot continue UTF-8 (see [`OutStream`]).
    pub(crate) fn stream_part(&mut self, data: &[u8]) -> Result<(), SendError> {
        let stream = self.stream.as_ref().ok_or(SendError::NoMessageInProgress)?;
        if !stream.is_text() {
            self.stream_frame(data, false);
            return Ok(());
        }
        let part = stream.split_text(data)?;
        if let Some(code_point) = part.completed() {
            self.stream_frame(code_point, false);
        }
        self.stream_frame(part.body, false);
        self.stream.as_mut().expect("started").hold(&part);
        Ok(())
    }

    /// Ends the message started with its final frame; refused, with nothing sent, inside a
    /// code point.
    pub(crate) fn end_stream(&mut self) -> Result<(), SendError> {
        let stream = self.stream.as_ref().ok_or(SendError::NoMessageInProgress)?;
        stream.check_end()?;
        self.stream_frame(&[], true);
        self.stream = None;
        Ok(())
    }

    /// Encodes a part of the streamed message as a fragment (compressed: whatever DEFLATE
    /// produced from it, if anything), or its final fragment.
    fn stream_frame(&mut self, data: &[u8], last: bool) {
        if data.is_empty() && !last {
            return;
        }
        let stream = self.stream.as_mut().expect("started");
        let dst = &mut dst(self.holding, &mut self.out, &mut self.queued).open;
        let rng = &mut self.rng;
        #[cfg(feature = "deflate")]
        if stream.is_compressed() {
            let deflater = self.deflater.as_mut().expect("compression was negotiated");
            return deflater.compress_part(data, last, |compressed| {
                if compressed.is_empty() && !last {
                    return;
                }
                // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
                let rsv = if stream.is_begun() { 0 } else { RSV1 };
                write_frame(dst, rng, stream.next_opcode(), rsv, last, compressed);
            });
        }
        write_frame(dst, rng, stream.next_opcode(), 0, last, data);
    }

    /// Encodes one data message whose payload the caller gave away. A large payload that
    /// nothing else shares is masked in place and becomes the body of a transmit, after its header:
    /// no copy. Anything else (shared, small, or to be compressed) is copied as usual.
    #[inline]
    pub(crate) fn message_owned(&mut self, opcode: OpCode, payload: Bytes) {
        // Inlined up to here, so a small payload's `Bytes` is read where the caller has it
        // rather than moved through another call's frame.
        if payload.len() < OWN_CHUNK {
            return self.message(opcode, &payload);
        }
        self.large_message_owned(opcode, payload)
    }

    fn large_message_owned(&mut self, opcode: OpCode, payload: Bytes) {
        #[cfg(feature = "deflate")]
        if self
            .deflater
            .as_ref()
            .is_some_and(|d| d.wants(payload.len()))
        {
            return self.message(opcode, &payload);
        }
        let mut payload = match payload.try_into_mut() {
            Ok(payload) => payload,
            Err(shared) => return self.frame(opcode, &shared),
        };
        let key = self.rng.next_u32().to_ne_bytes();
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(key),
            payload_len: payload.len() as u64,
        };
        let (head, head_len) = header.to_bytes();
        apply_mask(&mut payload, key);
        let dst = dst(self.holding, &mut self.out, &mut self.queued);
        dst.open.extend_from_slice(&head[..head_len]);
        dst.seal(payload.freeze());
    }

    /// Whether nothing is ready for the transport.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Hands out the next transmit. Returns whether the buffer drained below `limit` after
    /// having been full.
    pub(crate) fn take(&mut self, limit: usize) -> (Option<Transmit>, bool) {
        let Some(transmit) = self.out.take() else {
            return (None, false);
        };
        (Some(transmit), self.taken(limit))
    }

    /// The next bytes to write, left in place (both empty when there are none).
    #[inline]
    pub(crate) fn peek(&self) -> (&[u8], &[u8]) {
        self.out.peek()
    }

    /// Steps past `n` bytes of what `peek` showed. Returns whether the buffer drained below
    /// `limit` after having been full.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize, limit: usize) -> bool {
        self.out.advance(n);
        self.taken(limit)
    }

    /// After bytes left the buffer: whether it drained below `limit` after having been full.
    #[inline]
    fn taken(&mut self, limit: usize) -> bool {
        // The burst is out: a stream kept for its messages is not needed while none are sent.
        #[cfg(feature = "deflate")]
        if self.out.is_empty() && self.stream.is_none() {
            if let Some(deflater) = self.deflater.as_mut() {
                deflater.release();
            }
        }
        let drained = self.full && self.buffered() < limit;
        if drained {
            self.full = false;
        }
        drained
    }
}

/// Where frames go: the queue until the handshake completes (`holding`), then the output. A
/// function of the fields, not of the `Sender`, so the rng and the deflater stay borrowable.
#[inline]
fn dst<'a>(holding: bool, out: &'a mut Output, queued: &'a mut Output) -> &'a mut Output {
    if holding {
        queued
    } else {
        out
    }
}

/// Appends one masked frame to `dst`, final unless a fragment (`fin` false).
#[inline]
fn write_frame(
    dst: &mut BytesMut,
    rng: &mut Rng,
    opcode: OpCode,
    rsv: u8,
    fin: bool,
    payload: &[u8],
) {
    // §5.3: "The masking key is a 32-bit value chosen at random by the client ... a fresh
    // masking key for each frame".
    let key = rng.next_u32().to_ne_bytes();
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask: Some(key),
        payload_len: payload.len() as u64,
    };
    let (head, head_len) = header.to_bytes();
    put_masked(dst, head, head_len, payload, key);
}

#[cfg(all(test, feature = "deflate"))]
mod tests {
    use super::*;
    use crate::deflate::Negotiated;

    fn compressing(no_context_takeover: bool) -> Sender {
        let mut sender = Sender::new(Rng::new([7; 32]));
        sender.release_queue();
        sender.enable_deflate(&Negotiated::symmetric(15, no_context_takeover));
        sender
    }

    /// Whether the deflater holds a zlib stream, as its `Debug` says.
    fn allocated(sender: &Sender) -> bool {
        format!("{:?}", sender.deflater.as_ref().unwrap()).contains("allocated: true")
    }

    #[test]
    fn a_burst_shares_one_stream_freed_when_the_output_drains() {
        let mut sender = compressing(true);
        sender.message(OpCode::Text, b"first message of a burst");
        sender.message(OpCode::Text, b"second message of a burst");
        assert!(allocated(&sender), "kept while the burst is buffered");
        let (transmit, _) = sender.take(usize::MAX);
        assert!(transmit.is_some());
        assert!(sender.is_empty());
        assert!(!allocated(&sender), "freed once the output drained");
    }

    #[test]
    fn a_message_in_parts_and_a_shared_context_outlive_a_drain() {
        let mut sender = compressing(true);
        sender.start_stream(OpCode::Binary).unwrap();
        sender.stream_part(&[1; 3000]).unwrap();
        sender.take(usize::MAX);
        assert!(allocated(&sender), "the message started is not over");
        sender.end_stream().unwrap();
        sender.take(usize::MAX);
        assert!(!allocated(&sender));

        // With context takeover the next message refers back: the stream stays.
        let mut sender = compressing(false);
        sender.message(OpCode::Text, b"context");
        sender.take(usize::MAX);
        assert!(allocated(&sender));
    }
}
