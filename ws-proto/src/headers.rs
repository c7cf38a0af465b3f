//! Response headers as received: names as sent, values as raw bytes.

use std::fmt;

/// The headers of a handshake response, in the order received.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Box<[u8]>)>);

impl Headers {
    pub(crate) fn from_httparse(headers: &[httparse::Header<'_>]) -> Headers {
        Headers(
            headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.into()))
                .collect(),
        )
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The first value of `name` as a string, when it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// All headers, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), &**v))
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Headers from name and value pairs, in order: the response headers of an HTTP/2 extended
/// CONNECT as an HTTP library hands them over, for
/// [`ClientState::handle_connect_response`](crate::ClientState::handle_connect_response).
impl<N: AsRef<str>, V: AsRef<[u8]>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Headers {
        Headers(
            iter.into_iter()
                .map(|(n, v)| (n.as_ref().to_owned(), v.as_ref().into()))
                .collect(),
        )
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}
