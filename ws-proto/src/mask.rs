//! Client-to-server masking (RFC 6455 §5.3).
//!
//! "The masked data is obtained by XORing each octet of the original data with the octet at index
//! i modulo 4 of the masking key." Masking is an involution, so the same function unmasks. The
//! loop works on eight bytes at a time with a key replicated across a `u64`, which the compiler
//! turns into vector instructions.
//!
//! This is one of the crate's three `unsafe` modules (with `text.rs` and `zlib.rs`): frames are
//! masked straight into the output's spare capacity, whose length is then set over them.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use bytes::BytesMut;

use crate::frame::MAX_HEADER_LEN;

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

/// Appends the first `head_len` bytes of `head` and then `payload` masked with `key` to `out`,
/// every byte written once, straight into the spare capacity: no zeroing first (a pass over a
/// large payload), no `memcpy` and then masking in place (the C library moves large blocks with
/// `rep movsb`, several times slower on AMD Zen at unlucky distances modulo 4 KiB), and no
/// frame put together elsewhere and copied (a small frame staged on the stack is read back with
/// loads wider than the stores that wrote it, which cannot forward and stall). The whole of
/// `head` is written, 16 bytes built in registers (see `FrameHeader::to_bytes`); its bytes past
/// `head_len` are overwritten by the payload or left past the length.
#[inline]
pub(crate) fn put_masked(
    out: &mut BytesMut,
    head: [u8; 16],
    head_len: usize,
    payload: &[u8],
    key: [u8; 4],
) {
    // The length set below covers `head_len` bytes of the header: no more than were written.
    assert!(head_len <= MAX_HEADER_LEN);
    let len = head_len + payload.len();
    out.reserve(head.len().max(len));
    let spare = out.spare_capacity_mut();
    for (o, b) in spare[..head.len()].iter_mut().zip(head) {
        o.write(b);
    }
    mask_into(&mut spare[head_len..len], payload, key);
    // SAFETY: the `len` bytes after the buffer's length were all written just above (`head`'s
    // first `head_len`, then one masked byte for each of `payload`'s), within the capacity
    // reserved.
    unsafe { out.set_len(out.len() + len) };
}

/// Writes `src` masked with `key` into `dst`, which has the same length: every byte of `dst`
/// is written, which `put_masked`'s `set_len` relies on.
#[inline]
fn mask_into(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    assert_eq!(dst.len(), src.len());
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, tail) = src.as_chunks::<8>();
    let (out_words, out_tail) = dst.as_chunks_mut::<8>();
    for (o, w) in out_words.iter_mut().zip(words) {
        *o = (u64::from_ne_bytes(*w) ^ wide)
            .to_ne_bytes()
            .map(MaybeUninit::new);
    }
    // Whole words came first, so the tail starts at key index 0.
    for (i, (o, b)) in out_tail.iter_mut().zip(tail).enumerate() {
        o.write(b ^ key[i & 3]);
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
        fn put_masked_appends_the_head_and_the_masked_payload(
            before in proptest::collection::vec(any::<u8>(), 0..20),
            head: [u8; 16],
            head_len in 0..=MAX_HEADER_LEN,
            data in proptest::collection::vec(any::<u8>(), 0..300),
            key: [u8; 4],
        ) {
            let mut out = BytesMut::from(&before[..]);
            put_masked(&mut out, head, head_len, &data, key);
            let mut slow = data.clone();
            naive(&mut slow, key);
            prop_assert_eq!(out.to_vec(), [&before[..], &head[..head_len], &slow].concat());
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
