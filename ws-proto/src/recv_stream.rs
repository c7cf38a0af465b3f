//! Streamed receive: a message handed out as chunks of payload as they arrive, whatever its
//! size, in memory bounded by the chunk size. Text is handed out in chunks that are each valid
//! UTF-8; compressed payload is inflated one chunk at a time.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::frame::FrameHeader;
use crate::utf8::sequence_len;

/// What the next step of a streamed message gives.
#[derive(Debug)]
pub(crate) enum Step {
    /// A chunk of payload (valid UTF-8 on its own, for text).
    Data(Bytes),
    /// The frame's payload is all taken and the message goes on in a later frame.
    FrameDone,
    /// The message is complete.
    End,
    /// Nothing more until more input arrives.
    NeedInput,
}

/// A message being streamed.
#[derive(Debug)]
pub(crate) struct Streamed {
    text: bool,
    compressed: bool,
    /// The message's size so far against the limit: payload lengths as frame headers announce
    /// them, or inflated bytes as they are produced.
    size: u64,
    /// Payload not yet handed out: the start of a code point whose rest comes in the next frame
    /// (uncompressed text), or inflated output (compressed).
    held: BytesMut,
    /// How much of the deflate tail has been inflated once the final frame's payload is in.
    #[cfg(feature = "deflate")]
    tail: usize,
    /// The tail is in and inflating it produced everything it will.
    #[cfg(feature = "deflate")]
    tail_done: bool,
    /// The last inflate filled the output: the inflater may hold more.
    #[cfg(feature = "deflate")]
    pending: bool,
}

impl Streamed {
    pub(crate) fn new(text: bool, compressed: bool) -> Self {
        Streamed {
            text,
            compressed,
            size: 0,
            held: BytesMut::new(),
            #[cfg(feature = "deflate")]
            tail: 0,
            #[cfg(feature = "deflate")]
            tail_done: false,
            #[cfg(feature = "deflate")]
            pending: false,
        }
    }

    pub(crate) fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Bytes held back, not yet handed out.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// Counts `len` more bytes of message against `limit`.
    pub(crate) fn grow(&mut self, len: u64, limit: Option<usize>) -> Result<(), ProtocolError> {
        self.size += len;
        match limit {
            Some(limit) if self.size > limit as u64 => Err(ProtocolError::MessageTooBig {
                len: self.size,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// The next step of an uncompressed frame `head`, of which `taken` payload bytes were taken
    /// from `rx` already. Chunks are slices of `rx`: no copy, except a code point cut by a
    /// frame's end, put together from both frames.
    pub(crate) fn step(
        &mut self,
        head: &FrameHeader,
        taken: &mut u64,
        rx: &mut BytesMut,
        chunk: usize,
    ) -> Result<Step, ProtocolError> {
        loop {
            let left = head.payload_len - *taken;
            let take = left.min(rx.len() as u64).min(chunk as u64) as usize;
            if self.text && !self.held.is_empty() && take > 0 {
                let need = sequence_len(self.held[0]) - self.held.len();
                let k = need.min(take);
                self.held.extend_from_slice(&rx[..k]);
                rx.advance(k);
                *taken += k as u64;
                match simdutf8::compat::from_utf8(&self.held) {
                    Ok(_) => return Ok(Step::Data(self.held.split().freeze())),
                    Err(e) if e.error_len().is_some() => return Err(ProtocolError::InvalidUtf8),
                    Err(_) => continue,
                }
            }
            if take > 0 {
                let n = if self.text {
                    complete_prefix(&rx[..take])?
                } else {
                    take
                };
                if n > 0 {
                    *taken += n as u64;
                    return Ok(Step::Data(rx.split_to(n).freeze()));
                }
                if (take as u64) < left {
                    // The rest of the code point has not arrived yet.
                    return Ok(Step::NeedInput);
                }
                // The frame ends inside a code point: its start waits for the next frame.
                self.held.extend_from_slice(&rx[..take]);
                rx.advance(take);
                *taken += take as u64;
            } else if left > 0 {
                return Ok(Step::NeedInput);
            }
            if !head.fin {
                return Ok(Step::FrameDone);
            }
            // §8.1: a text message that ends inside a code point is not UTF-8.
            if !self.held.is_empty() {
                return Err(ProtocolError::InvalidUtf8);
            }
            return Ok(Step::End);
        }
    }

    /// The next step of a compressed frame `head`: its payload inflated into chunks of at most
    /// `chunk` bytes, the deflate tail after the final frame's.
    #[cfg(feature = "deflate")]
    pub(crate) fn step_compressed(
        &mut self,
        head: &FrameHeader,
        taken: &mut u64,
        rx: &mut BytesMut,
        chunk: usize,
        limit: Option<usize>,
        inflater: &mut crate::deflate_stream::Inflater,
    ) -> Result<Step, ProtocolError> {
        use crate::deflate_stream::{InflateError, TAIL};
        let corrupt = |e: Result<InflateError, ProtocolError>| match e {
            Ok(InflateError::Corrupt) => ProtocolError::InvalidCompressedData,
            // `inflate_into` has no limit of its own; `grow` applies the message's.
            Ok(InflateError::TooBig(len)) => ProtocolError::MessageTooBig {
                len,
                limit: limit.unwrap_or(usize::MAX),
            },
            Err(invalid_text) => invalid_text,
        };
        loop {
            if self.held.len() >= chunk {
                if let Some(data) = self.ready()? {
                    return Ok(Step::Data(data));
                }
            }
            let left = head.payload_len - *taken;
            let before = self.held.len();
            if left > 0 || self.pending {
                let avail = left.min(rx.len() as u64) as usize;
                if avail == 0 && !self.pending {
                    // What was inflated goes out now: a chunk never waits for more input.
                    return Ok(self.ready()?.map_or(Step::NeedInput, Step::Data));
                }
                let inflated = inflater.inflate_into(&rx[..avail], &mut self.held, chunk);
                let (used, full) = self.checked(inflated).map_err(corrupt)?;
                rx.advance(used);
                *taken += used as u64;
                // The output filled up: more of it may be waiting in the inflater, and comes
                // out (or its fault is found) before the frame is over, however reads fall.
                self.pending = full;
            } else if !head.fin {
                return Ok(self.ready()?.map_or(Step::FrameDone, Step::Data));
            } else if !self.tail_done {
                // §7.2.2: the tail the sender removed is appended before the end is inflated.
                let inflated = inflater.inflate_into(&TAIL[self.tail..], &mut self.held, chunk);
                let (used, full) = self.checked(inflated).map_err(corrupt)?;
                self.tail += used;
                self.tail_done = !full;
            } else {
                if let Some(data) = self.ready()? {
                    return Ok(Step::Data(data));
                }
                // §8.1: a text message that ends inside a code point is not UTF-8.
                if !self.held.is_empty() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                inflater.end_message();
                return Ok(Step::End);
            }
            self.grow((self.held.len() - before) as u64, limit)?;
        }
    }

    /// What inflating gave, but when it failed, the text inflated before the fault is checked
    /// first, so the error reported does not depend on how the input was split into reads.
    #[cfg(feature = "deflate")]
    fn checked<T>(
        &self,
        inflated: Result<T, crate::deflate_stream::InflateError>,
    ) -> Result<T, Result<crate::deflate_stream::InflateError, ProtocolError>> {
        match inflated {
            Ok(v) => Ok(v),
            Err(e) if self.text => Err(complete_prefix(&self.held).map(|_| e)),
            Err(e) => Err(Ok(e)),
        }
    }

    /// The inflated output that can be handed out: all of it, or for text all but the start of
    /// a code point whose rest is still to be inflated.
    #[cfg(feature = "deflate")]
    fn ready(&mut self) -> Result<Option<Bytes>, ProtocolError> {
        let n = if self.text {
            complete_prefix(&self.held)?
        } else {
            self.held.len()
        };
        Ok((n > 0).then(|| self.held.split_to(n).freeze()))
    }
}

/// The length of the longest prefix of `data` made of whole code points; an error if `data`
/// cannot be the start of UTF-8 text. What follows the prefix (at most three bytes) is the
/// start of a code point.
fn complete_prefix(data: &[u8]) -> Result<usize, ProtocolError> {
    if data.is_ascii() {
        return Ok(data.len());
    }
    match simdutf8::compat::from_utf8(data) {
        Ok(_) => Ok(data.len()),
        Err(e) if e.error_len().is_some() => Err(ProtocolError::InvalidUtf8),
        Err(e) => Ok(e.valid_up_to()),
    }
}
