//! permessage-deflate (RFC 7692): what the client offers and how the server's answer is checked.

use std::fmt;

use crate::extension::Extension;

/// The extension token.
pub(crate) const NAME: &str = "permessage-deflate";

/// permessage-deflate parameters the client offers (RFC 7692 §7.1).
///
/// ```
/// let mut deflate = ws_proto::DeflateConfig::default();
/// deflate.client_no_context_takeover(true).server_max_window_bits(Some(10));
/// let mut config = ws_proto::Config::default();
/// config.permessage_deflate(Some(deflate));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    pub(crate) client_max_window_bits: Option<u8>,
    pub(crate) server_max_window_bits: Option<u8>,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_no_context_takeover: bool,
    pub(crate) threshold: usize,
    pub(crate) level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            client_max_window_bits: Some(15),
            server_max_window_bits: None,
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            threshold: 64,
            level: 6,
        }
    }
}

impl DeflateConfig {
    /// Offers `client_max_window_bits`: the largest window (9 to 15, as a base-2 logarithm) the
    /// client will compress with, which the server may lower. `None` leaves the parameter out,
    /// so the client compresses with a 32 KiB window. Default `Some(15)`.
    ///
    /// 8 is raised to 9: zlib cannot produce a raw stream with a 256-byte window.
    pub fn client_max_window_bits(&mut self, bits: Option<u8>) -> &mut Self {
        self.client_max_window_bits = bits.map(|b| b.clamp(9, 15));
        self
    }

    /// Asks the server to compress with at most this window (8 to 15). Default `None`: any.
    pub fn server_max_window_bits(&mut self, bits: Option<u8>) -> &mut Self {
        self.server_max_window_bits = bits.map(|b| b.clamp(8, 15));
        self
    }

    /// Compress every message on its own (less memory between messages, worse ratio).
    pub fn client_no_context_takeover(&mut self, on: bool) -> &mut Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Ask the server to compress every message on its own, so the client keeps no inflate
    /// window between messages.
    pub fn server_no_context_takeover(&mut self, on: bool) -> &mut Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Messages shorter than this are sent uncompressed (default 64 bytes).
    pub fn threshold(&mut self, bytes: usize) -> &mut Self {
        self.threshold = bytes;
        self
    }

    /// The zlib compression level, 0 to 9 (default 6).
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.min(9);
        self
    }

    /// The `Sec-WebSocket-Extensions` offer.
    pub(crate) fn offer(&self) -> String {
        let mut offer = NAME.to_owned();
        match self.client_max_window_bits {
            Some(15) => offer.push_str("; client_max_window_bits"),
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => {}
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        offer
    }

    /// Checks the server's answer to the offer (RFC 7692 §7.1) and returns what was agreed.
    pub(crate) fn negotiate(&self, ext: &Extension) -> Result<Negotiated, DeflateError> {
        let mut agreed = Negotiated {
            client_window_bits: self.client_max_window_bits.unwrap_or(15),
            server_window_bits: 15,
            client_no_context_takeover: self.client_no_context_takeover,
            server_no_context_takeover: false,
            threshold: self.threshold,
            level: self.level,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &ext.params {
            // §7.1: "A server MUST NOT include ... the same extension parameter" twice; a client
            // "MUST _Fail the WebSocket Connection_" on a duplicate or an unknown parameter.
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(DeflateError::DuplicateParameter(name.clone()));
            }
            seen.push(name);
            match (name.to_ascii_lowercase().as_str(), value) {
                ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    let bits = window_bits(name, v, 8)?;
                    // §7.1.2.1: the server may not use a larger window than the client asked.
                    if self.server_max_window_bits.is_some_and(|max| bits > max) {
                        return Err(DeflateError::InvalidValue(name.clone(), v.clone()));
                    }
                    agreed.server_window_bits = bits;
                }
                ("client_max_window_bits", Some(v)) => {
                    // §7.1.2.2: "If a received extension negotiation response includes the
                    // "client_max_window_bits" extension parameter and the offer did not ...,
                    // the client MUST _Fail the WebSocket Connection_."
                    let Some(offered) = self.client_max_window_bits else {
                        return Err(DeflateError::NotOffered(name.clone()));
                    };
                    let bits = window_bits(name, v, 8)?;
                    if bits > offered {
                        return Err(DeflateError::InvalidValue(name.clone(), v.clone()));
                    }
                    // A 256-byte raw window is not something zlib can produce; 9 is the
                    // nearest it can, and it only ever emits distances the 8-bit window allows
                    // when the server inflates with a window at least as large.
                    agreed.client_window_bits = bits.max(9);
                }
                (
                    "server_no_context_takeover"
                    | "client_no_context_takeover"
                    | "server_max_window_bits"
                    | "client_max_window_bits",
                    _,
                ) => {
                    return Err(DeflateError::InvalidValue(
                        name.clone(),
                        value.clone().unwrap_or_default(),
                    ))
                }
                _ => return Err(DeflateError::UnknownParameter(name.clone())),
            }
        }
        Ok(agreed)
    }
}

/// §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
fn window_bits(name: &str, value: &str, min: u8) -> Result<u8, DeflateError> {
    let invalid = || DeflateError::InvalidValue(name.to_owned(), value.to_owned());
    if value.is_empty() || value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<u8>() {
        Ok(bits) if (min..=15).contains(&bits) => Ok(bits),
        _ => Err(invalid()),
    }
}

/// What the handshake agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) client_window_bits: u8,
    pub(crate) server_window_bits: u8,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_no_context_takeover: bool,
    pub(crate) threshold: usize,
    pub(crate) level: u32,
}

#[cfg(test)]
impl Negotiated {
    /// The same window and takeover both ways, level 6, every message compressed.
    pub(crate) fn symmetric(window_bits: u8, no_context_takeover: bool) -> Negotiated {
        Negotiated {
            client_window_bits: window_bits,
            server_window_bits: window_bits,
            client_no_context_takeover: no_context_takeover,
            server_no_context_takeover: no_context_takeover,
            threshold: 0,
            level: 6,
        }
    }
}

/// Why the server's permessage-deflate answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateError {
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(String),
    /// A parameter with a value it may not have (name, value).
    InvalidValue(String, String),
    /// `client_max_window_bits` answered when the client did not offer it.
    NotOffered(String),
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::UnknownParameter(p) => write!(f, "unknown parameter {p:?}"),
            DeflateError::DuplicateParameter(p) => write!(f, "parameter {p:?} given twice"),
            DeflateError::InvalidValue(p, v) => write!(f, "invalid value {v:?} for {p}"),
            DeflateError::NotOffered(p) => write!(f, "{p} answered but not offered"),
        }
    }
}

impl std::error::Error for DeflateError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::parse_extensions;

    fn answer(config: &DeflateConfig, header: &str) -> Result<Negotiated, DeflateError> {
        config.negotiate(&parse_extensions(header).unwrap()[0])
    }

    #[test]
    fn offers() {
        assert_eq!(
            DeflateConfig::default().offer(),
            "permessage-deflate; client_max_window_bits"
        );
        let mut c = DeflateConfig::default();
        c.client_max_window_bits(Some(10))
            .server_max_window_bits(Some(12))
            .client_no_context_takeover(true)
            .server_no_context_takeover(true);
        assert_eq!(
            c.offer(),
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12; \
             client_no_context_takeover; server_no_context_takeover"
        );
        c.client_max_window_bits(None).server_max_window_bits(None);
        c.client_no_context_takeover(false)
            .server_no_context_takeover(false);
        assert_eq!(c.offer(), "permessage-deflate");
    }

    #[test]
    fn accepted_answers() {
        let d = DeflateConfig::default();
        let n = answer(&d, "permessage-deflate").unwrap();
        assert_eq!((n.client_window_bits, n.server_window_bits), (15, 15));
        let n = answer(
            &d,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=\"10\"",
        )
        .unwrap();
        assert!(n.server_no_context_takeover);
        assert_eq!(n.client_window_bits, 10);
        let n = answer(
            &d,
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
        )
        .unwrap();
        assert_eq!((n.server_window_bits, n.client_window_bits), (8, 9));
        let n = answer(&d, "permessage-deflate; client_no_context_takeover").unwrap();
        assert!(n.client_no_context_takeover);
    }

    #[test]
    fn refused_answers() {
        let mut none = DeflateConfig::default();
        none.client_max_window_bits(None)
            .server_max_window_bits(Some(10));
        let d = DeflateConfig::default();
        let cases: &[(&DeflateConfig, &str, DeflateError)] = &[
            (
                &d,
                "permessage-deflate; foo",
                DeflateError::UnknownParameter("foo".into()),
            ),
            (
                &d,
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                DeflateError::DuplicateParameter("server_no_context_takeover".into()),
            ),
            (
                &d,
                "permessage-deflate; server_max_window_bits=7",
                DeflateError::InvalidValue("server_max_window_bits".into(), "7".into()),
            ),
            (
                &d,
                "permessage-deflate; server_max_window_bits=16",
                DeflateError::InvalidValue("server_max_window_bits".into(), "16".into()),
            ),
            (
                &d,
                "permessage-deflate; server_max_window_bits=010",
                DeflateError::InvalidValue("server_max_window_bits".into(), "010".into()),
            ),
            (
                &d,
                "permessage-deflate; server_max_window_bits",
                DeflateError::InvalidValue("server_max_window_bits".into(), "".into()),
            ),
            (
                &d,
                "permessage-deflate; server_no_context_takeover=1",
                DeflateError::InvalidValue("server_no_context_takeover".into(), "1".into()),
            ),
            (
                &none,
                "permessage-deflate; client_max_window_bits=10",
                DeflateError::NotOffered("client_max_window_bits".into()),
            ),
            (
                &none,
                "permessage-deflate; server_max_window_bits=11",
                DeflateError::InvalidValue("server_max_window_bits".into(), "11".into()),
            ),
        ];
        for (config, header, expected) in cases {
            assert_eq!(&answer(config, header).unwrap_err(), expected, "{header}");
        }
    }
}
