//! Incremental UTF-8 validation across frame and read boundaries.
//!
//! RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
//! stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." The validator is fed each piece of a text message as it arrives, so an invalid
//! sequence fails the connection at once, even in the middle of a frame. The bulk of the work is
//! simdutf8's SIMD validator (its `compat` flavour reports `valid_up_to` and `error_len` exactly
//! as `std::str::from_utf8` does); only a code point split across pieces (at most three bytes)
//! is carried over.

use simdutf8::compat::from_utf8;

/// The input is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Validates a UTF-8 stream given in pieces.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    /// The start of a code point whose remaining bytes have not arrived yet.
    carry: [u8; 4],
    carried: usize,
}

/// The length of the sequence that `first` starts, for a byte `from_utf8` accepted as a prefix.
pub(crate) fn sequence_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Utf8Validator {
    /// Forgets any carried partial code point, for the start of a new message.
    pub(crate) fn reset(&mut self) {
        self.carried = 0;
    }

    /// Validates the next piece; fails as soon as the stream so far cannot be a UTF-8 prefix.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), Invalid> {
        if self.carried > 0 {
            let need = sequence_len(self.carry[0]) - self.carried;
            let take = need.min(data.len());
            self.carry[self.carried..self.carried + take].copy_from_slice(&data[..take]);
            self.carried += take;
            data = &data[take..];
            match from_utf8(&self.carry[..self.carried]) {
                Ok(_) => self.carried = 0,
                Err(e) if e.error_len().is_some() => return Err(Invalid),
                // Still a valid prefix, and `data` is exhausted.
                Err(_) => return Ok(()),
            }
        }
        match from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Invalid),
            Err(e) => {
                let tail = &data[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carried = tail.len();
                Ok(())
            }
        }
    }

    /// Checks that the stream did not end inside a code point.
    pub(crate) fn finish(&mut self) -> Result<(), Invalid> {
        let complete = self.carried == 0;
        self.carried = 0;
        if complete {
            Ok(())
        } else {
            Err(Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn validate_split(data: &[u8], cuts: &[usize]) -> Result<(), Invalid> {
        let mut v = Utf8Validator::default();
        let mut start = 0;
        for &cut in cuts {
            let cut = cut.clamp(start, data.len());
            v.feed(&data[start..cut])?;
            start = cut;
        }
        v.feed(&data[start..])?;
        v.finish()
    }

    #[test]
    fn code_point_split_across_every_boundary() {
        let text = "κόσμε€𝄞a".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(validate_split(text, &[i, j]), Ok(()), "cuts {i} {j}");
            }
        }
    }

    #[test]
    fn fails_fast_on_invalid_prefix() {
        let mut v = Utf8Validator::default();
        // U+110000 and above can never be completed: F4 90 fails at the second byte.
        v.feed(&[0xF4]).unwrap();
        assert_eq!(v.feed(&[0x90]), Err(Invalid));
        // A surrogate (ED A0) fails before the third byte arrives.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(&[b'a', 0xED, 0xA0]), Err(Invalid));
    }

    #[test]
    fn truncated_sequence_fails_at_finish() {
        let mut v = Utf8Validator::default();
        v.feed(&[0xE2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(Invalid));
    }

    proptest! {
        #[test]
        fn agrees_with_std_for_any_split(data in proptest::collection::vec(any::<u8>(), 0..64),
                                         cuts in proptest::collection::vec(0usize..64, 0..6)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let expected = std::str::from_utf8(&data).is_ok();
            prop_assert_eq!(validate_split(&data, &cuts).is_ok(), expected);
        }

        #[test]
        fn valid_strings_pass_for_any_split(s in "\\PC*", cuts in proptest::collection::vec(0usize..64, 0..6)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            prop_assert_eq!(validate_split(s.as_bytes(), &cuts), Ok(()));
        }
    }
}
