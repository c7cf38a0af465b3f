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
    let mut blocks = data.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]) ^ wide;
            word.copy_from_slice(&v.to_ne_bytes());
        }
    }
    // Every block had a length divisible by 4, so the remainder starts at key index 0 again.
    let rest = blocks.into_remainder();
    let mut words = rest.chunks_exact_mut(8);
    for word in &mut words {
        let v = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]) ^ wide;
        word.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i & 3];
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
        fn masking_is_an_involution(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4]) {
            let mut twice = data.clone();
            apply_mask(&mut twice, key);
            apply_mask(&mut twice, key);
            prop_assert_eq!(twice, data);
        }
    }
}
