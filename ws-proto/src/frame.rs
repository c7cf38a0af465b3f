//! The base framing protocol (RFC 6455 §5.2): frame headers, decoded and encoded.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! This module only decodes and encodes; which headers a client accepts (mask bit, RSV bits,
//! control-frame rules, size limits) is decided by the receiver.

use bytes::BufMut;

use crate::error::ProtocolError;

/// The longest possible frame header: 2 bytes, an 8-byte length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The longest control frame payload. §5.5: "All control frames MUST have a payload length of
/// 125 bytes or less".
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// RSV1 in [`FrameHeader::rsv`]: the "per-message compressed" bit of permessage-deflate
/// (RFC 7692 §6).
pub const RSV1: u8 = 0b100;

/// A frame opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum OpCode {
    /// 0x0: a continuation of a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: a connection close.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl OpCode {
    /// Decodes an opcode; the reserved values 0x3-0x7 and 0xB-0xF are `None`.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The opcode's 4-bit value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (§5.5: "the most significant bit of the opcode is 1").
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2 and RSV3 as the low three bits (RSV1 is 0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of a header (incomplete input is never an
    /// error), or the header and its length in bytes. Fails on a reserved opcode, a 64-bit length
    /// with its most significant bit set, and a length not in its minimal form.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
        // WebSocket Connection_."
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::UnknownOpcode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut len) = match b1 & 0x7F {
            126 => {
                let Some(ext) = buf.get(2..4) else {
                    return Ok(None);
                };
                let n = u16::from_be_bytes([ext[0], ext[1]]) as u64;
                // §5.2: "the minimal number of bytes MUST be used to encode the length".
                if n < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (n, 4)
            }
            127 => {
                let Some(ext) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut raw = [0u8; 8];
                raw.copy_from_slice(ext);
                let n = u64::from_be_bytes(raw);
                // §5.2: "the most significant bit MUST be 0".
                if n >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                if n <= u16::MAX as u64 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (n, 10)
            }
            n => (n as u64, 2),
        };
        let mask = if masked {
            let Some(key) = buf.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x07,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// The encoded length of this header.
    pub const fn len(&self) -> usize {
        let base = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        if self.mask.is_some() {
            base + 4
        } else {
            base
        }
    }

    /// Always false: a header is never empty. Present for symmetry with [`FrameHeader::len`].
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Appends the header to `out`, with the minimal length encoding.
    ///
    /// The payload length must be below 2^63 and `rsv` must fit in three bits.
    #[inline]
    pub fn encode(&self, out: &mut impl BufMut) {
        let (bytes, len) = self.to_bytes();
        out.put_slice(&bytes[..len]);
    }

    /// The encoded header at the start of 16 bytes (the rest zero), and its length.
    ///
    /// It is put together in two integers in registers, each field shifted into place, rather
    /// than field by field in memory: a header stored a byte and a key at a time and then
    /// copied out is read back with loads wider than those stores, which cannot be forwarded
    /// from them and wait for them to retire (in a profile of batched 16 B sends on an AMD
    /// Zen 5 VM, 44% of `write_frame`'s samples sat on the instruction after such a load).
    /// Two whole words are written instead.
    #[inline]
    pub(crate) fn to_bytes(self) -> ([u8; 16], usize) {
        debug_assert!(self.payload_len >> 63 == 0 && self.rsv <= 0x07);
        let first = (self.fin as u8) << 7 | (self.rsv & 0x07) << 4 | self.opcode.as_u8();
        let mask_bit = (self.mask.is_some() as u8) << 7;
        let (key, key_len) = match self.mask {
            Some(key) => (u64::from(u32::from_le_bytes(key)), 4),
            None => (0, 0),
        };
        // Byte i of the header is bits 8i..8i+8 of `low` (i < 8) or of `high` (i >= 8): the
        // extended length's big-endian bytes are reordered so they land in that order.
        let (second, low, high, len) = match self.payload_len {
            n @ 0..=125 => (mask_bit | n as u8, key << 16, 0, 2),
            n @ 126..=0xFFFF => {
                let n = u64::from(u16::from_le_bytes((n as u16).to_be_bytes()));
                (mask_bit | 126, n << 16 | key << 32, 0, 4)
            }
            n => {
                let n = u64::from_le_bytes(n.to_be_bytes());
                (mask_bit | 127, n << 16, n >> 48 | key << 16, 10)
            }
        };
        let low = low | u64::from(second) << 8 | u64::from(first);
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&low.to_le_bytes());
        bytes[8..].copy_from_slice(&high.to_le_bytes());
        (bytes, len + key_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(bytes: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::parse(bytes).unwrap().unwrap()
    }

    /// RFC 6455 §5.7 examples.
    #[test]
    fn rfc_section_5_7_examples() {
        // A single-frame unmasked text message: "Hello".
        let (h, n) = decode(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        // A single-frame masked text message.
        let (h, n) = decode(&[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!(
            (h.mask, h.payload_len, n),
            (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
        );
        // A fragmented unmasked text message: "Hel" then "lo".
        let (h, _) = decode(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
        let (h, _) = decode(&[0x80, 0x02, 0x6c, 0x6f]);
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        // Unmasked Ping and masked Pong, both "Hello".
        let (h, _) = decode(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(h.opcode, OpCode::Ping);
        let (h, _) = decode(&[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!((h.opcode, h.mask.is_some()), (OpCode::Pong, true));
        // 256 bytes binary message in a single unmasked frame.
        let (h, n) = decode(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        // 64KiB binary message in a single unmasked frame.
        let (h, n) = decode(&[0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn incomplete_headers_are_not_errors() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for i in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..i]), Ok(None), "prefix {i}");
        }
        assert!(FrameHeader::parse(&full).unwrap().is_some());
    }

    #[test]
    fn decoding_violations() {
        assert_eq!(
            FrameHeader::parse(&[0x83, 0x00]),
            Err(ProtocolError::UnknownOpcode(3))
        );
        assert_eq!(
            FrameHeader::parse(&[0x8B, 0x00]),
            Err(ProtocolError::UnknownOpcode(0xB))
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7E, 0, 125]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthOverflow)
        );
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        let opcode = prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ];
        let len = prop_oneof![0u64..=125, 126u64..=0xFFFF, 0x1_0000u64..(1 << 63)];
        (any::<bool>(), 0u8..8, opcode, any::<Option<[u8; 4]>>(), len).prop_map(
            |(fin, rsv, opcode, mask, payload_len)| FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
        )
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(h in any_header()) {
            let mut buf = Vec::new();
            h.encode(&mut buf);
            prop_assert_eq!(buf.len(), h.len());
            prop_assert_eq!(FrameHeader::parse(&buf), Ok(Some((h, buf.len()))));
            // What `put_masked` writes past the header is zero (and overwritten or left past
            // the length).
            let (bytes, len) = h.to_bytes();
            prop_assert!(bytes[len..].iter().all(|&b| b == 0));
        }
    }
}
