//! DNS resolution and TCP connection: every resolved address is tried in turn, all within the
//! connect timeout.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Error;

/// Resolves `host` and connects to the first address that answers, by `deadline`, with
/// `TCP_NODELAY` on (WebSocket frames are small and already batched by the core; Nagle would only
/// delay them).
pub(crate) fn tcp(host: &str, port: u16, deadline: Option<Instant>) -> Result<TcpStream, Error> {
    let timed_out = |started: Instant| Error::ConnectTimeout {
        host: host.to_owned(),
        port,
        timeout: deadline.map_or(Duration::ZERO, |d| d - started),
    };
    let started = Instant::now();
    let addrs = resolve(host, port, deadline).ok_or_else(|| timed_out(started))??;
    let mut attempts = Vec::new();
    for addr in addrs {
        let connected = match deadline {
            None => TcpStream::connect(addr),
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => TcpStream::connect_timeout(&addr, left),
                _ => return Err(timed_out(started)),
            },
        };
        match connected.and_then(|stream| {
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

/// The addresses of `host`, or `None` if the lookup outlasted `deadline`. The OS resolver
/// cannot be interrupted, so a bounded lookup runs on a thread of its own, left to finish
/// alone when it is late.
fn resolve(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Option<Result<Vec<SocketAddr>, Error>> {
    let lookup = {
        let host = host.to_owned();
        move || {
            (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
                .map_err(|source| Error::Dns { host, source })
        }
    };
    let Some(deadline) = deadline else {
        return Some(lookup());
    };
    // A literal address needs no lookup, and no thread.
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Some(Ok(vec![SocketAddr::new(ip, port)]));
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The caller gave up waiting if the channel is closed: nothing is left to do.
        let _ = tx.send(lookup());
    });
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
}
