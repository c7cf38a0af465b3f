//! DNS resolution and TCP connection: every resolved address is tried in turn, then the
//! proxy's tunnel when there is a proxy, all within the connect timeout.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ws_proto::{trace, ConnectPlan};

use crate::transport::Transport;
use crate::Error;

/// Connects to the plan's address and, through a proxy, opens the tunnel to the server, within
/// what is left of the connect timeout of an attempt that started at `started`.
pub(crate) fn tcp(plan: &ConnectPlan, started: Instant) -> Result<TcpStream, Error> {
    let stream = connect(plan, started)?;
    tunnel(&stream, plan, started)?;
    Ok(stream)
}

/// Resolves the plan's address and connects to the first that answers, with `TCP_NODELAY`
/// on (WebSocket frames are small and already batched by the core; Nagle would only delay
/// them).
fn connect(plan: &ConnectPlan, started: Instant) -> Result<TcpStream, Error> {
    let (host, port) = plan.address();
    let addrs = resolve(host, port, plan.time_left(started, Instant::now())?)
        .ok_or_else(|| plan.timed_out())??;
    let mut attempts = Vec::new();
    for addr in addrs {
        let connected = match plan.time_left(started, Instant::now())? {
            None => TcpStream::connect(addr),
            Some(left) => TcpStream::connect_timeout(&addr, left),
        }
        .and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        });
        trace::tcp_attempt(addr, connected.as_ref().map(|_| ()));
        match connected {
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

/// Runs the proxy's handshake, if the plan has a proxy, reading no byte past its answer: the
/// stream then carries TLS or the handshake as it is.
fn tunnel(stream: &TcpStream, plan: &ConnectPlan, started: Instant) -> Result<(), Error> {
    let resolved = match plan.resolve_target() {
        Some((host, port)) => Some(first_address(host, port, plan, started)?),
        None => None,
    };
    let Some(mut handshake) = plan.proxy_handshake(resolved)? else {
        return Ok(());
    };
    let mut buf = [0u8; 512];
    loop {
        while let Some(bytes) = handshake.poll_transmit() {
            stream.write_all(&bytes).map_err(Error::Io)?;
        }
        let limit = handshake.read_limit().min(buf.len());
        if handshake.is_open() || limit == 0 {
            break;
        }
        let n = read_within(stream, &mut buf[..limit], plan, started)?;
        if n == 0 {
            return Err(plan.proxy_failed(handshake.handle_eof()));
        }
        handshake
            .handle_input(&buf[..n])
            .map_err(|e| plan.proxy_failed(e))?;
    }
    // The connection's own reads set their timeouts; until then none applies.
    stream.set_read_timeout(None).map_err(Error::Io)
}

/// Reads into `buf` within what is left of the connect timeout of an attempt that started at
/// `started`: `Ok(0)` at the end of the stream, [`ConnectPlan::timed_out`] once it is spent.
pub(crate) fn read_within(
    transport: &impl Transport,
    buf: &mut [u8],
    plan: &ConnectPlan,
    started: Instant,
) -> Result<usize, Error> {
    loop {
        let left = plan.time_left(started, Instant::now())?;
        // A transport without timeouts still works; only the deadline is then not kept.
        let _ = transport.set_read_timeout(left);
        match transport.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(plan.timed_out())
            }
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// The first address of the server's `host`, for a proxy that wants an address.
fn first_address(
    host: &str,
    port: u16,
    plan: &ConnectPlan,
    started: Instant,
) -> Result<IpAddr, Error> {
    let addrs = resolve(host, port, plan.time_left(started, Instant::now())?)
        .ok_or_else(|| plan.timed_out())??;
    addrs.first().map(SocketAddr::ip).ok_or_else(|| Error::Dns {
        host: host.to_owned(),
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
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
                .map(Iterator::collect::<Vec<_>>)
        }
    };
    let addrs = match (timeout, host.parse::<std::net::IpAddr>()) {
        (None, _) => lookup(),
        // A literal address needs no lookup, and no thread.
        (Some(_), Ok(ip)) => Ok(vec![SocketAddr::new(ip, port)]),
        (Some(timeout), Err(_)) => {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                // The caller gave up waiting if the channel is closed: nothing is left to do.
                let _ = tx.send(lookup());
            });
            rx.recv_timeout(timeout).ok()?
        }
    };
    trace::resolved(host, port, addrs.as_deref());
    Some(addrs.map_err(|source| Error::Dns {
        host: host.to_owned(),
        source,
    }))
}
