//! The transport for a connection plan: DNS, TCP to each address in turn, the proxy's tunnel
//! when there is a proxy, then TLS for `wss://`, all under one connect timeout.

use std::future::Future;
use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{lookup_host, TcpStream};
use ws_proto::{trace, ConnectPlan, TlsOptions};

use crate::tls::{self, MaybeTlsStream};
use crate::Error;

/// Opens the transport `plan` names.
pub(crate) async fn transport(
    plan: &ConnectPlan,
    tls: &TlsOptions,
) -> Result<MaybeTlsStream, Error> {
    within_connect_timeout(plan, transport_untimed(plan, tls)).await
}

/// Runs `step` (DNS, TCP, TLS) within the plan's connect timeout.
pub(crate) async fn within_connect_timeout<T>(
    plan: &ConnectPlan,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match plan.connect_timeout() {
        None => step.await,
        Some(timeout) => tokio::time::timeout(timeout, step)
            .await
            .map_err(|_| plan.timed_out())?,
    }
}

async fn transport_untimed(plan: &ConnectPlan, tls: &TlsOptions) -> Result<MaybeTlsStream, Error> {
    let (host, port) = plan.address();
    let mut tcp = tcp_connect(host, port).await?;
    tunnel(&mut tcp, plan).await?;
    tls::secure(plan, tls, tcp).await
}

/// Runs the proxy's handshake, if the plan has a proxy, reading no byte past its answer: the
/// stream then carries TLS or the handshake as it is.
async fn tunnel(tcp: &mut TcpStream, plan: &ConnectPlan) -> Result<(), Error> {
    let resolved = match plan.resolve_target() {
        Some((host, port)) => Some(first_address(host, port).await?),
        None => None,
    };
    let Some(mut handshake) = plan.proxy_handshake(resolved)? else {
        return Ok(());
    };
    let mut buf = [0u8; 512];
    loop {
        while let Some(bytes) = handshake.poll_transmit() {
            tcp.write_all(&bytes).await.map_err(Error::Io)?;
        }
        let limit = handshake.read_limit().min(buf.len());
        if handshake.is_open() || limit == 0 {
            return Ok(());
        }
        let n = tcp.read(&mut buf[..limit]).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(plan.proxy_failed(handshake.handle_eof()));
        }
        handshake
            .handle_input(&buf[..n])
            .map_err(|e| plan.proxy_failed(e))?;
    }
}

/// The first address of the server's `host`, for a proxy that wants an address.
async fn first_address(host: &str, port: u16) -> Result<IpAddr, Error> {
    let dns_error = |source| Error::Dns {
        host: host.to_owned(),
        source,
    };
    lookup_host((host, port))
        .await
        .map_err(dns_error)?
        .next()
        .map(|addr| addr.ip())
        .ok_or_else(|| {
            dns_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no addresses",
            ))
        })
}

/// Connects to the first of `host`'s addresses that accepts, with `TCP_NODELAY` on: frames are
/// already batched into one write, so Nagle's algorithm would only add latency.
async fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, Error> {
    let dns_error = |source| Error::Dns {
        host: host.to_owned(),
        source,
    };
    let addrs = lookup_host((host, port))
        .await
        .map(Iterator::collect::<Vec<_>>);
    trace::resolved(host, port, addrs.as_deref());
    let addrs = addrs.map_err(dns_error)?;
    if addrs.is_empty() {
        return Err(dns_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no addresses",
        )));
    }
    let mut attempts = Vec::new();
    for addr in addrs {
        let connected = TcpStream::connect(addr).await.and_then(|tcp| {
            tcp.set_nodelay(true)?;
            Ok(tcp)
        });
        trace::tcp_attempt(addr, connected.as_ref().map(|_| ()));
        match connected {
            Ok(tcp) => return Ok(tcp),
            Err(e) => attempts.push((addr, e)),
        }
    }
    Err(Error::Connect {
        host: host.to_owned(),
        port,
        attempts,
    })
}
