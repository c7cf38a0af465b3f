//! DNS resolution and TCP connection: every resolved address is tried in turn.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::Error;

/// Resolves `host` and connects to the first address that answers within `timeout`, with
/// `TCP_NODELAY` on (WebSocket frames are small and already batched by the core; Nagle would only
/// delay them).
pub(crate) fn tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|source| Error::Dns {
            host: host.to_owned(),
            source,
        })?;
    let mut attempts = Vec::new();
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout).and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        }) {
            Ok(stream) => return Ok(stream),
            Err(e) => attempts.push((addr, e)),
        }
    }
    Err(Error::Connect {
        host: host.to_owned(),
        port,
        attempts,
    })
}
