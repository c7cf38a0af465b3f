//! Following 3xx answers to the opening handshake, up to a limit.

use ws_proto::Request;

use crate::error::Error;

/// Counts the redirects followed for one connection attempt.
#[derive(Debug)]
pub(crate) struct Redirects {
    limit: u32,
    followed: u32,
}

impl Redirects {
    pub(crate) fn new(limit: u32) -> Self {
        Redirects { limit, followed: 0 }
    }

    /// The request to try next when `error` is a redirect (a 3xx with a `Location`); any other
    /// error, or one redirect too many, is returned as the failure.
    pub(crate) fn follow(&mut self, request: &Request, error: Error) -> Result<Request, Error> {
        let location = match &error {
            Error::Rejected(rejection) => rejection.location().map(str::to_owned),
            _ => None,
        };
        let Some(location) = location.filter(|_| self.limit > 0) else {
            // Not a redirect, or redirects are off: the rejection itself is the answer.
            return Err(error);
        };
        if self.followed >= self.limit {
            return Err(Error::TooManyRedirects {
                limit: self.limit,
                location,
            });
        }
        self.followed += 1;
        request
            .redirect(&location)
            .map_err(|source| Error::Redirect { location, source })
    }
}
