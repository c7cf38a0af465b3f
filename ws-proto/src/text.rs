//! `Utf8Bytes`: a text payload held as `Bytes`, validated once.
//!
//! One of the crate's three `unsafe` modules (with `zlib.rs` and `mask.rs`). Received text is
//! validated incrementally as it arrives (see `utf8.rs`); re-validating it to hand out a `&str`
//! would scan every text message twice. The invariant that makes `as_str` and `str_from_validated`
//! sound is that every constructor either validates or is `pub(crate)` and called only on bytes the
//! receiver has validated.
#![allow(unsafe_code)]

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable UTF-8 string backed by [`Bytes`]: cheap to clone and slice-free to receive.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

/// A slice of bytes the receiver has validated as UTF-8, as text.
pub(crate) fn str_from_validated(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: only called on bytes the receiver validated, as `from_validated` below.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl Utf8Bytes {
    /// Wraps bytes that the caller has already validated as UTF-8.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// Wraps a static string.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor guarantees that `self.0` is valid UTF-8: `from_validated` is
        // only called on bytes the receiver validated, `TryFrom<Bytes>` validates, and the
        // `From` impls start from `str`/`String`. `Bytes` is immutable, so it stays valid.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying `Bytes`.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Utf8Bytes> for String {
    fn from(s: Utf8Bytes) -> Self {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_keep_the_invariant() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(&[0xff])).is_err());
        let t = Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(t, "héllo");
        assert_eq!(Utf8Bytes::from("a".to_string()).as_str(), "a");
        assert_eq!(format!("{:?}", Utf8Bytes::from_static("x")), "\"x\"");
    }
}
