//! [`Transmit`]: bytes for the transport, in at most two segments so that a payload the client
//! did not copy leaves in the same write as the frames before it.

use bytes::{Buf, Bytes};

/// Bytes to write to the transport, in order: `head`, then `body`.
///
/// `head` holds encoded frames; `body`, when not empty, is the payload of the last frame in
/// `head`, masked where the caller's buffer lay instead of being copied (see
/// [`ClientState::send_message`](crate::ClientState::send_message)). Write both with one
/// vectored write: [`Buf::chunks_vectored`] gives the two slices, and [`Buf::advance`] steps past
/// what a short write took. A frame never straddles two transmits, so writing transmits whole
/// and in order is all the transport needs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Transmit {
    head: Bytes,
    body: Bytes,
}

impl Transmit {
    pub(crate) fn new(head: Bytes, body: Bytes) -> Transmit {
        Transmit { head, body }
    }

    /// The encoded frames (and the header of `body`, if any), not yet advanced past.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The uncopied payload that follows `head`, or an empty slice.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The bytes left to write.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Whether everything has been written.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.body.is_empty()
    }

    /// Both segments in one buffer (a copy: for tests and tools, not for the write path).
    pub fn to_vec(&self) -> Vec<u8> {
        [&self.head[..], &self.body[..]].concat()
    }
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmit")
            .field("head", &self.head.len())
            .field("body", &self.body.len())
            .finish()
    }
}

impl Buf for Transmit {
    #[inline]
    fn remaining(&self) -> usize {
        self.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        if self.head.is_empty() {
            &self.body
        } else {
            &self.head
        }
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        let from_head = cnt.min(self.head.len());
        self.head.advance(from_head);
        self.body.advance(cnt - from_head);
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for segment in [&self.head, &self.body] {
            if n == dst.len() {
                break;
            }
            if !segment.is_empty() {
                dst[n] = std::io::IoSlice::new(segment);
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_crosses_from_head_to_body() {
        let mut t = Transmit::new(Bytes::from_static(b"abc"), Bytes::from_static(b"defg"));
        assert_eq!(t.len(), 7);
        assert_eq!(t.chunks_vectored(&mut [std::io::IoSlice::new(&[]); 2]), 2);
        t.advance(4);
        assert_eq!(
            (t.head(), t.body(), t.chunk()),
            (&b""[..], &b"efg"[..], &b"efg"[..])
        );
        assert_eq!(t.chunks_vectored(&mut [std::io::IoSlice::new(&[]); 2]), 1);
        t.advance(3);
        assert!(t.is_empty());
    }
}
