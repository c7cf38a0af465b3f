//! The DEFLATE streams of a permessage-deflate connection (RFC 7692 §7.2), with a hard cap on
//! inflated size.

use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, Status};

use crate::deflate::Negotiated;
use crate::zlib;

/// §7.2.1: the sender removes these four octets (the empty stored block of a sync flush) from
/// the end of every compressed message; the receiver appends them before inflating the end.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most inflated output one call produces; the cap is checked after each.
const STEP: usize = 256 << 10;
/// The least room an inflate call is given.
const MIN_ROOM: usize = 1 << 10;

/// Compresses outgoing messages.
///
/// The zlib stream (368 KiB at 15 window bits; 154 KiB fitted to a 1 KiB message sent without
/// context takeover) is created by the first message that is compressed, not at the handshake.
/// Without context takeover it is reset after each message and kept while the send buffer
/// holds anything, so a burst of messages sets up one stream, and freed when the buffer drains
/// ([`release`](Self::release)): an idle compressed connection holds no DEFLATE state.
pub(crate) struct Deflater {
    /// The stream and what it was created with.
    compress: Option<(Deflate, Sizes)>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
    threshold: usize,
    scratch: Vec<u8>,
}

/// The sizes a zlib stream is created with.
#[derive(Clone, Copy)]
struct Sizes {
    window_bits: u8,
    mem_level: u8,
}

impl Sizes {
    /// zlib's default memLevel, which every peer's deflater is created with: blocks of up to
    /// 16 K symbols.
    const MEM_LEVEL: u8 = 8;

    /// Whether a stream created with these sizes compresses a message to the same bytes as one
    /// created with `needed`: for the messages `needed` was fitted to, larger sizes change none.
    fn cover(self, needed: Sizes) -> bool {
        self.window_bits >= needed.window_bits && self.mem_level >= needed.mem_level
    }
}

/// The least window that loses no match in a message of `len` bytes compressed on its own
/// (zlib reaches back at most the window less 262 bytes, its lookahead), and at least 9 bits,
/// zlib's least for raw DEFLATE. A message compressed alone never refers back further than its
/// own start, so its bytes are the same as with the negotiated window, while a smaller window
/// is less memory for zlib to allocate and clear: sending 1 KiB messages without context
/// takeover spent a quarter of its time clearing a fresh 15-bit stream.
fn window_bits_for(len: usize) -> u8 {
    let needed = (len + 262).next_power_of_two().trailing_zeros();
    needed.clamp(9, 15) as u8
}

/// The least memLevel at which a message of `len` bytes compressed on its own is one block, as
/// it is at the default unless it is longer than a default block: zlib ends a block once
/// 2^(memLevel + 6) - 1 symbols wait, and `len` bytes make at most `len`. zlib clears the
/// symbol buffer (3 bytes per symbol) at the start of each block and at each reset, twice per
/// message without context takeover: 48 KiB each time at the default, 6 KiB for a 1 KiB
/// message at memLevel 5.
fn mem_level_for(len: usize) -> u8 {
    (1..Sizes::MEM_LEVEL)
        .find(|m| len < (1 << (m + 6)) - 1)
        .unwrap_or(Sizes::MEM_LEVEL)
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("allocated", &self.compress.is_some())
            .finish()
    }
}

impl Deflater {
    pub(crate) fn new(agreed: &Negotiated) -> Self {
        Deflater {
            compress: None,
            level: agreed.level,
            window_bits: agreed.client_window_bits,
            no_context_takeover: agreed.client_no_context_takeover,
            threshold: agreed.threshold,
            scratch: Vec::new(),
        }
    }

    /// Whether a message of `len` bytes is worth compressing.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.threshold
    }

    /// Compresses one whole message and hands the result (without the sync-flush tail) to
    /// `emit`; without context takeover, the stream is reset afterwards (and freed by
    /// [`release`](Self::release)).
    pub(crate) fn compress<R>(&mut self, payload: &[u8], emit: impl FnOnce(&[u8]) -> R) -> R {
        let sizes = if self.no_context_takeover {
            Sizes {
                window_bits: window_bits_for(payload.len()).min(self.window_bits),
                mem_level: mem_level_for(payload.len()),
            }
        } else {
            self.negotiated()
        };
        self.compress_in(sizes, payload, true, emit)
    }

    /// Once the messages sent have left the send buffer: frees the output room, which holds
    /// nothing between messages (after a 64 KiB message it is 80 KiB, a sixth of what an idle
    /// connection kept with context takeover), and the stream too without context takeover
    /// (nothing carries over).
    pub(crate) fn release(&mut self) {
        if self.no_context_takeover {
            self.compress = None;
        }
        self.scratch = Vec::new();
    }

    /// Compresses a part of a message and hands what DEFLATE produced to `emit` (possibly
    /// nothing: a part too small to complete a block stays in the stream). The `last` part ends
    /// the message: its output is flushed and ends without the sync-flush tail.
    pub(crate) fn compress_part<R>(
        &mut self,
        payload: &[u8],
        last: bool,
        emit: impl FnOnce(&[u8]) -> R,
    ) -> R {
        // A message sent in parts may grow to any size: the negotiated sizes.
        self.compress_in(self.negotiated(), payload, last, emit)
    }

    /// The negotiated window and zlib's default memLevel.
    fn negotiated(&self) -> Sizes {
        Sizes {
            window_bits: self.window_bits,
            mem_level: Sizes::MEM_LEVEL,
        }
    }

    /// [`compress_part`](Self::compress_part) in a stream created with at least `sizes`: a
    /// stream kept from the message before is used if it [covers](Sizes::cover) them (it was
    /// reset).
    fn compress_in<R>(
        &mut self,
        sizes: Sizes,
        payload: &[u8],
        last: bool,
        emit: impl FnOnce(&[u8]) -> R,
    ) -> R {
        if self
            .compress
            .as_ref()
            .is_none_or(|(_, kept)| !kept.cover(sizes))
        {
            let fresh = Deflate::new_with_config(DeflateConfig {
                level: self.level as i32,
                // Negative: raw DEFLATE, no zlib header.
                window_bits: -i32::from(sizes.window_bits),
                mem_level: i32::from(sizes.mem_level),
                ..DeflateConfig::default()
            });
            self.compress = Some((fresh, sizes));
        }
        let (compress, _) = self.compress.as_mut().expect("created above");
        let flush = if last {
            DeflateFlush::SyncFlush
        } else {
            DeflateFlush::NoFlush
        };
        self.scratch.clear();
        // Room for the worst case (stored blocks, or 9-bit literals at level 1, plus the flush),
        // so one call does it: a call that fills the output exactly and is repeated to finish
        // the flush emits a second, empty, flush block (zlib's manual warns of this).
        self.scratch.reserve(payload.len() + payload.len() / 4 + 64);
        let mut consumed = 0;
        loop {
            if self.scratch.capacity() - self.scratch.len() < 64 {
                self.scratch.reserve(self.scratch.capacity().max(1024));
            }
            consumed += zlib::deflate(compress, &payload[consumed..], &mut self.scratch, flush);
            // The part is in once all input is consumed and the output was not filled.
            if consumed == payload.len() && self.scratch.len() < self.scratch.capacity() {
                break;
            }
        }
        if !last {
            return emit(&self.scratch);
        }
        if self.scratch.ends_with(&TAIL) {
            self.scratch.truncate(self.scratch.len() - TAIL.len());
        } else {
            // An empty message right after a flush produces no output at all: there is nothing
            // new to flush. RFC 7692 §7.2.3.6 encodes it as a single 0x00, which with the tail
            // the receiver appends is one empty stored block.
            debug_assert!(
                self.scratch.is_empty(),
                "a sync flush ends with the empty stored block"
            );
            self.scratch.push(0x00);
        }
        let result = emit(&self.scratch);
        if self.no_context_takeover {
            // Nothing carries over to the next message: the next starts from an empty window.
            compress.reset();
        }
        if self.scratch.capacity() > 64 << 10 && payload.len() < 16 << 10 {
            self.scratch.shrink_to(16 << 10);
        }
        result
    }
}

/// Why inflating failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The inflated message would exceed the limit; the size reached so far.
    TooBig(u64),
    /// The compressed data is not valid DEFLATE.
    Corrupt,
}

/// Inflates incoming messages.
///
/// Like the deflater, the zlib stream is created by the first compressed message; without
/// context takeover it is reset at the end of each message, kept while more input waits to be
/// decoded, and freed once the receive buffer is drained ([`release`](Self::release)).
pub(crate) struct Inflater {
    decompress: Option<Inflate>,
    window_bits: u8,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("allocated", &self.decompress.is_some())
            .finish()
    }
}

impl Inflater {
    pub(crate) fn new(agreed: &Negotiated) -> Self {
        Inflater {
            decompress: None,
            // A window at least as large as the server's is always safe; 9 is zlib's raw
            // minimum.
            window_bits: agreed.server_window_bits.max(9),
            no_context_takeover: agreed.server_no_context_takeover,
        }
    }

    /// Inflates `input`, appending to `out`, failing as soon as `out` would exceed `limit`
    /// bytes: memory stays bounded by the limit plus one step, whatever the ratio.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut consumed = 0;
        loop {
            let cap = (out.len() + STEP).min(limit + 1);
            let (used, full) = self.inflate_into(&input[consumed..], out, cap)?;
            consumed += used;
            if out.len() > limit {
                return Err(InflateError::TooBig(out.len() as u64));
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Inflates from `input`, appending to `out` until it holds `cap` bytes. Returns the input
    /// consumed and whether `out` filled up: if it did, more output may be pending (call again,
    /// with the rest of the input or none); if not, all of `input` was consumed.
    pub(crate) fn inflate_into(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        cap: usize,
    ) -> Result<(usize, bool), InflateError> {
        let bits = self.window_bits;
        let decompress = self
            .decompress
            .get_or_insert_with(|| Inflate::new(false, bits));
        let mut consumed = 0;
        // Room costs nothing until zlib writes it, and a finished message gives back what it
        // did not use. Start with room for 8 times the input, a ratio text and JSON rarely
        // pass, so that one call mostly inflates all there is (each call also copies its output
        // into zlib's window, and each growth may copy the buffer); double while zlib fills it.
        let mut step = input.len().saturating_mul(8).clamp(MIN_ROOM, STEP);
        loop {
            let start = out.len();
            if start >= cap {
                return Ok((consumed, true));
            }
            // Room the buffer has already goes first: the message's last call (its 4-byte tail,
            // which rarely makes output) would otherwise grow a buffer of the right size by a
            // whole step, a reallocation for nothing.
            let spare = out.capacity() - start;
            let room = if spare > 0 { spare } else { step }.min(cap - start);
            let (status, used, produced) = zlib::inflate(decompress, &input[consumed..], out, room);
            consumed += used;
            let status = status.map_err(|_| InflateError::Corrupt)?;
            if status == Status::StreamEnd {
                // A final block ends the DEFLATE stream; what follows starts a new one.
                decompress.reset(false);
                if consumed == input.len() {
                    return Ok((consumed, false));
                }
                continue;
            }
            if consumed == input.len() && produced < room {
                return Ok((consumed, false));
            }
            if produced == room {
                step = (step * 2).min(STEP);
            }
            if produced == 0 && status == Status::BufError {
                if consumed == input.len() {
                    // No input left and no output pending.
                    return Ok((consumed, false));
                }
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// Ends a message: inflates the removed tail and, without context takeover, resets the
    /// stream for the next.
    pub(crate) fn finish(&mut self, out: &mut BytesMut, limit: usize) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, limit)?;
        self.end_message();
        Ok(())
    }

    /// A message ended: without context takeover, the next starts from an empty window.
    pub(crate) fn end_message(&mut self) {
        if self.no_context_takeover {
            if let Some(decompress) = self.decompress.as_mut() {
                decompress.reset(false);
            }
        }
    }

    /// Frees the stream and its window between messages without context takeover (nothing
    /// carries over), once nothing received waits to be decoded.
    pub(crate) fn release(&mut self) {
        if self.no_context_takeover {
            self.decompress = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc7692_section_7_2_3_1_hello() {
        // "Hello" compressed without context takeover: 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00.
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, true));
        let mut out = BytesMut::new();
        inflater
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        inflater.finish(&mut out, 100).unwrap();
        assert_eq!(&out[..], b"Hello");
        // §7.2.3.2: with context takeover, a second "Hello" refers back to the first.
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = BytesMut::new();
        inflater
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        inflater.finish(&mut out, 100).unwrap();
        out.clear();
        inflater
            .inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        inflater.finish(&mut out, 100).unwrap();
        assert_eq!(&out[..], b"Hello");
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for no_takeover in [false, true] {
            for window in [9, 12, 15] {
                let mut deflater = Deflater::new(&Negotiated::symmetric(window, no_takeover));
                let mut inflater = Inflater::new(&Negotiated::symmetric(window, no_takeover));
                for i in 0..20 {
                    let message = format!("message {i} {}", "abc".repeat(i * 50)).into_bytes();
                    let compressed = deflater.compress(&message, <[u8]>::to_vec);
                    let mut out = BytesMut::new();
                    inflater.inflate(&compressed, &mut out, 1 << 20).unwrap();
                    inflater.finish(&mut out, 1 << 20).unwrap();
                    assert_eq!(&out[..], &message[..]);
                }
            }
        }
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false));
        let bomb = deflater.compress(&vec![0u8; 10 << 20], <[u8]>::to_vec);
        assert!(
            bomb.len() < 20_000,
            "10 MiB of zeros compresses to {} bytes",
            bomb.len()
        );
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = BytesMut::new();
        let err = inflater.inflate(&bomb, &mut out, 1 << 20).unwrap_err();
        assert_eq!(err, InflateError::TooBig((1 << 20) + 1));
        // The buffer grows by doubling, so memory stays within twice the limit.
        assert!(
            out.capacity() <= 2 * ((1 << 20) + STEP),
            "capacity {}",
            out.capacity()
        );
    }

    proptest! {
        /// Compress then inflate is the identity across a sequence of messages, with and
        /// without context takeover, for every window size both ends can agree on.
        #[test]
        fn compress_then_inflate_is_the_identity(
            messages in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..2000),
                    // Repetitive data, so back-references (and the shared window) are used.
                    (proptest::collection::vec(any::<u8>(), 1..8), 0usize..3000)
                        .prop_map(|(unit, n)| unit.iter().copied().cycle().take(n).collect()),
                ],
                1..12,
            ),
            window in 9u8..=15,
            no_takeover: bool,
        ) {
            let mut deflater = Deflater::new(&Negotiated::symmetric(window, no_takeover));
            let mut inflater = Inflater::new(&Negotiated::symmetric(window, no_takeover));
            for message in &messages {
                let compressed = deflater.compress(message, <[u8]>::to_vec);
                let mut out = BytesMut::new();
                inflater.inflate(&compressed, &mut out, 1 << 20).unwrap();
                inflater.finish(&mut out, 1 << 20).unwrap();
                prop_assert_eq!(&out[..], &message[..]);
            }
        }
    }

    proptest! {
        /// A message compressed on its own in the smallest window and memLevel that fit it comes
        /// out byte for byte as in the negotiated window at the default memLevel, at every
        /// level. Random bytes are all literals, one symbol a byte: the most a block holds,
        /// tried at every block size's edge.
        #[test]
        fn fitted_sizes_change_no_byte(
            message in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..3000),
                (7u32..=15, 0usize..6, any::<u64>()).prop_map(|(k, d, seed)| {
                    let mut x = seed | 1;
                    (0..(1usize << k) - 4 + d).map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    }).collect()
                }),
                (proptest::collection::vec(any::<u8>(), 1..40), 0usize..40_000)
                    .prop_map(|(unit, n)| unit.iter().copied().cycle().take(n).collect()),
                (any::<u64>(), 0usize..40_000).prop_map(|(seed, n)| json_like(seed, n)),
            ],
            window in 9u8..=15,
            level in 0u32..=9,
        ) {
            let mut deflater = Deflater::new(&Negotiated { level, ..Negotiated::symmetric(window, true) });
            let fitted = deflater.compress(&message, <[u8]>::to_vec);
            let mut whole = Deflate::new(level as i32, false, window);
            let mut expected = vec![0; message.len() * 2 + 1024];
            whole.compress(&message, &mut expected, DeflateFlush::SyncFlush).unwrap();
            expected.truncate(whole.total_out() as usize);
            if expected.ends_with(&TAIL) {
                expected.truncate(expected.len() - TAIL.len());
            }
            prop_assert_eq!(fitted, expected);
        }
    }

    proptest! {
        /// Without context takeover, messages compressed one after another in the stream kept
        /// between them (reset, and replaced only when one needs a larger window) come out as
        /// each would from a fresh stream; releasing the stream between any two changes nothing.
        #[test]
        fn a_kept_stream_compresses_each_message_as_a_fresh_one(
            messages in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..2000),
                    (any::<u64>(), 0usize..20_000).prop_map(|(seed, n)| json_like(seed, n)),
                ],
                1..8,
            ),
            releases in proptest::collection::vec(any::<bool>(), 8),
            window in 9u8..=15,
        ) {
            let mut kept = Deflater::new(&Negotiated::symmetric(window, true));
            for (message, release) in messages.iter().zip(releases) {
                let mut fresh = Deflater::new(&Negotiated::symmetric(window, true));
                let expected = fresh.compress(message, <[u8]>::to_vec);
                prop_assert_eq!(kept.compress(message, <[u8]>::to_vec), expected);
                prop_assert!(kept.compress.is_some(), "kept until released");
                if release {
                    kept.release();
                    prop_assert!(kept.compress.is_none());
                }
            }
        }
    }

    #[test]
    fn with_context_takeover_release_keeps_the_stream_and_frees_the_output_room() {
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false));
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let first = json_like(1, 16 << 10);
        let once = deflater.compress(&first, <[u8]>::to_vec);
        assert!(deflater.scratch.capacity() >= first.len());
        deflater.release();
        assert_eq!(deflater.scratch.capacity(), 0);
        assert!(deflater.compress.is_some(), "the window carries over");
        // The same message again refers back to the first, within the window: a tenth.
        let again = deflater.compress(&first, <[u8]>::to_vec);
        assert!(
            again.len() * 10 < once.len(),
            "{} against {}",
            again.len(),
            once.len()
        );
        for (message, compressed) in [(&first, once), (&first, again)] {
            let mut out = BytesMut::new();
            inflater.inflate(&compressed, &mut out, 1 << 20).unwrap();
            inflater.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(&out[..], &message[..]);
        }
    }

    #[test]
    fn a_block_at_the_fitted_mem_level_holds_the_whole_message() {
        // 2^(memLevel + 6) - 1 symbols end a block: memLevel 1 holds 127, 2 holds 255.
        assert_eq!(mem_level_for(0), 1);
        assert_eq!(mem_level_for(126), 1);
        assert_eq!(mem_level_for(127), 2);
        assert_eq!(mem_level_for(1024), 5);
        assert_eq!(mem_level_for(16_382), 8);
        // Longer messages take several blocks at the default, and keep it.
        assert_eq!(mem_level_for(16_383), 8);
        assert_eq!(mem_level_for(usize::MAX), 8);
        assert_eq!(
            i32::from(Sizes::MEM_LEVEL),
            DeflateConfig::default().mem_level
        );
    }

    /// Text with the repetition of JSON: keys that recur at varying distances.
    fn json_like(seed: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut x = seed | 1;
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = ["id", "name", "price", "tags", "updated_at"][(x % 5) as usize];
            out.extend_from_slice(
                format!("{{\"{key}\":{},\"n\":\"{:x}\"}},", x % 1000, x >> 40).as_bytes(),
            );
        }
        out.truncate(len);
        out
    }

    #[test]
    fn empty_message_after_another_round_trips() {
        // Found by the proptest below: with context takeover, an empty message right after a
        // sync flush compresses to nothing.
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false));
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        for message in [&b"some data"[..], b"", b"", b"more"] {
            let compressed = deflater.compress(message, <[u8]>::to_vec);
            let mut out = BytesMut::new();
            inflater.inflate(&compressed, &mut out, 100).unwrap();
            inflater.finish(&mut out, 100).unwrap();
            assert_eq!(&out[..], message);
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = BytesMut::new();
        assert_eq!(
            inflater.inflate(&[0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Corrupt)
        );
    }
}
