//! The send path: masked frame encoding into one contiguous output buffer, the queue of sends
//! made before the handshake completes, the high-water mark, and compression when negotiated.

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::{apply_mask, mask_into};
use crate::rng::Rng;

/// Output buffers above this capacity are released once drained, so an idle connection holds
/// little memory.
const KEEP_CAPACITY: usize = 1 << 10;

/// Payloads longer than this are masked on their way in, through a block of this size that stays
/// in L1 cache, instead of being copied and then masked in a second pass over memory.
const MASK_BLOCK: usize = 4 << 10;

/// The largest payload with a 2-byte header (§5.2: a 7-bit length), framed on the stack.
const SMALL_PAYLOAD: usize = 125;

/// RSV1 marks a compressed message (RFC 7692 §6).
#[cfg(feature = "deflate")]
const RSV1: u8 = 0b100;

/// Encodes outgoing frames.
#[derive(Debug)]
pub(crate) struct Sender {
    /// Bytes ready for the transport, in order.
    out: BytesMut,
    /// Frames sent before the handshake completed; moved to `out` when it does.
    queued: BytesMut,
    /// Whether frames go to `queued` (until the handshake completes).
    holding: bool,
    rng: Rng,
    /// Set when the buffer reached the high-water mark; cleared with a `Drained` event.
    full: bool,
    #[cfg(feature = "deflate")]
    deflater: Option<crate::deflate_stream::Deflater>,
}

impl Sender {
    pub(crate) fn new(rng: Rng) -> Self {
        Sender {
            out: BytesMut::new(),
            queued: BytesMut::new(),
            holding: true,
            rng,
            full: false,
            #[cfg(feature = "deflate")]
            deflater: None,
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The buffer the handshake request is written to.
    pub(crate) fn raw(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// Bytes accepted but not yet handed to the transport.
    pub(crate) fn buffered(&self) -> usize {
        self.out.len() + self.queued.len()
    }

    /// Whether nothing is ready for the transport.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.out.is_empty()
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
        if !self.queued.is_empty() {
            let queued = std::mem::take(&mut self.queued);
            self.out.extend_from_slice(&queued);
        }
    }

    /// Compresses data messages from now on, as negotiated.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_deflate(&mut self, agreed: &crate::deflate::Negotiated) {
        self.deflater = Some(crate::deflate_stream::Deflater::new(agreed));
    }

    /// Encodes one data message: compressed (RSV1 set) when negotiated and long enough.
    pub(crate) fn message(&mut self, opcode: OpCode, payload: &[u8]) {
        #[cfg(feature = "deflate")]
        if let Some(deflater) = self.deflater.as_mut().filter(|d| d.wants(payload.len())) {
            let dst = if self.holding {
                &mut self.queued
            } else {
                &mut self.out
            };
            let rng = &mut self.rng;
            return deflater.compress(payload, |compressed| {
                write_frame(dst, rng, opcode, RSV1, compressed)
            });
        }
        self.frame(opcode, payload)
    }

    /// Encodes one uncompressed frame.
    pub(crate) fn frame(&mut self, opcode: OpCode, payload: &[u8]) {
        let dst = if self.holding {
            &mut self.queued
        } else {
            &mut self.out
        };
        write_frame(dst, &mut self.rng, opcode, 0, payload);
    }

    /// Hands out everything ready, as one contiguous chunk. Returns whether the buffer drained
    /// below `limit` after having been full.
    pub(crate) fn take(&mut self, limit: usize) -> (Option<Bytes>, bool) {
        if self.out.is_empty() {
            return (None, false);
        }
        let chunk = self.out.split().freeze();
        if self.out.capacity() > KEEP_CAPACITY {
            self.out = BytesMut::new();
        }
        let drained = self.full && self.buffered() < limit;
        if drained {
            self.full = false;
        }
        (Some(chunk), drained)
    }
}

/// Appends one final, masked frame to `dst`.
#[inline]
fn write_frame(dst: &mut BytesMut, rng: &mut Rng, opcode: OpCode, rsv: u8, payload: &[u8]) {
    // §5.3: "The masking key is a 32-bit value chosen at random by the client ... a fresh
    // masking key for each frame".
    let key = rng.next_u32().to_ne_bytes();
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode,
        mask: Some(key),
        payload_len: payload.len() as u64,
    };
    if payload.len() <= SMALL_PAYLOAD {
        // Header, key and masked payload put together on the stack, then one copy into the
        // output: for small frames the output's capacity checks cost more than the bytes.
        let mut frame = [0u8; MAX_HEADER_LEN + SMALL_PAYLOAD];
        let head = (&mut frame[..MAX_HEADER_LEN]).try_into();
        let head_len = header.write_to(head.expect("a MAX_HEADER_LEN slice"));
        let end = head_len + payload.len();
        mask_into(&mut frame[head_len..end], payload, key);
        dst.extend_from_slice(&frame[..end]);
        return;
    }
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.write_to(&mut head);
    dst.reserve(head_len + payload.len());
    dst.extend_from_slice(&head[..head_len]);
    if payload.len() <= MASK_BLOCK {
        let start = dst.len();
        dst.extend_from_slice(payload);
        apply_mask(&mut dst[start..], key);
        return;
    }
    // Blocks are a multiple of 4 bytes long, so each starts at key index 0.
    let mut block = [0u8; MASK_BLOCK];
    for chunk in payload.chunks(MASK_BLOCK) {
        let block = &mut block[..chunk.len()];
        block.copy_from_slice(chunk);
        apply_mask(block, key);
        dst.extend_from_slice(block);
    }
}
