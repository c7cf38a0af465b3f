//! Client-to-server masking (RFC 6455 §5.3).
//!
//! "The masked data is obtained by XORing each octet of the original data with the octet at index
//! i modulo 4 of the masking key." Masking is an involution, so the same function unmasks. The
//! loop works on eight bytes at a time with a key replicated across a `u64`, which the compiler
//! turns into vector instructions; there is no `unsafe` here.

/// XORs `data` in place with the 4-byte masking `key`, starting at key index 0.
///
/// ```
/// let mut data = *b"Hello";
/// ws_proto::apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d]);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// ws_proto::apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d]);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    // Fixed-size chunks: the compiler sees whole arrays, with no bounds checks to keep it from
    // using vector registers.
    let (blocks, rest) = data.as_chunks_mut::<32>();
    for block in blocks {
        for word in block.as_chunks_mut::<8>().0 {
            *word = (u64::from_ne_bytes(*word) ^ wide).to_ne_bytes();
        }
    }
    // Every block had a length divisible by 4, so the remainder starts at key index 0 again.
    let (words, tail) = rest.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ wide).to_ne_bytes();
    }
    for (i, byte) in tail.iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// Writes `src` masked with `key` into `dst`, which has the same length: one pass instead of a
/// copy and then masking in place.
#[inline]
pub(crate) fn mask_into(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len());
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, tail) = src.as_chunks::<8>();
    let (out_words, out_tail) = dst.as_chunks_mut::<8>();
    for (o, w) in out_words.iter_mut().zip(words) {
        *o = (u64::from_ne_bytes(*w) ^ wide).to_ne_bytes();
    }
    // Whole words came first, so the tail starts at key index 0.
    for (i, (o, b)) in out_tail.iter_mut().zip(tail).enumerate() {
        *o = b ^ key[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(data: &mut [u8], key: [u8; 4]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }

    proptest! {
        #[test]
        fn matches_bytewise_definition(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4]) {
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, key);
            naive(&mut slow, key);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn mask_into_matches_the_bytewise_definition(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4]) {
            let mut out = vec![0u8; data.len()];
            mask_into(&mut out, &data, key);
            let mut slow = data.clone();
            naive(&mut slow, key);
            prop_assert_eq!(out, slow);
        }

        #[test]
        fn masking_is_an_involution(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4]) {
            let mut twice = data.clone();
            apply_mask(&mut twice, key);
            apply_mask(&mut twice, key);
            prop_assert_eq!(twice, data);
        }
    }
}
