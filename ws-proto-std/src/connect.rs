//! DNS resolution and TCP connection: every resolved address is tried in turn, all within the
//! connect timeout.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ws_proto::ConnectPlan;

use crate::Error;

/// Resolves the plan's host and connects to the first address that answers, within what is
/// left of the connect timeout of an attempt that started at `started`, with `TCP_NODELAY` on
/// (WebSocket frames are small and already batched by the core; Nagle would only delay them).
pub(crate) fn tcp(plan: &ConnectPlan, started: Instant) -> Result<TcpStream, Error> {
    let (host, port) = plan.address();
    let addrs = resolve(host, port, plan.time_left(started, Instant::now())?)
        .ok_or_else(|| plan.timed_out())??;
    let mut attempts = Vec::new();
    for addr in addrs {
        let connected = match plan.time_left(started, Instant::now())? {
            None => TcpStream::connect(addr),
            Some(left) => TcpStream::connect_timeout(&addr, left),
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

/// The addresses of `host`, or `None` if the lookup outlasted `timeout`. The OS resolver
/// cannot be interrupted, so a bounded lookup runs on a thread of its own, left to finish
/// alone when it is late.
fn resolve(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
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
    let Some(timeout) = timeout else {
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
    rx.recv_timeout(timeout).ok()
}
