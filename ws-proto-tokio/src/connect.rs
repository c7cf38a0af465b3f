//! The transport for a connection plan: DNS, TCP to each address in turn, then TLS for
//! `wss://`, all under one connect timeout.

use tokio::net::{lookup_host, TcpStream};
use ws_proto::{ConnectPlan, TlsOptions};

use crate::tls::{self, MaybeTlsStream};
use crate::Error;

/// Opens the transport `plan` names.
pub(crate) async fn transport(
    plan: &ConnectPlan,
    tls: &TlsOptions,
) -> Result<MaybeTlsStream, Error> {
    let attempt = transport_untimed(plan, tls);
    let Some(timeout) = plan.connect_timeout() else {
        return attempt.await;
    };
    tokio::time::timeout(timeout, attempt).await.map_err(|_| {
        let (host, port) = plan.address();
        Error::ConnectTimeout {
            host: host.to_owned(),
            port,
            timeout,
        }
    })?
}

/// The error for a plan whose connect timeout passed.
pub(crate) fn timed_out(plan: &ConnectPlan, timeout: std::time::Duration) -> Error {
    let (host, port) = plan.address();
    Error::ConnectTimeout {
        host: host.to_owned(),
        port,
        timeout,
    }
}

async fn transport_untimed(plan: &ConnectPlan, tls: &TlsOptions) -> Result<MaybeTlsStream, Error> {
    let (host, port) = plan.address();
    let tcp = tcp_connect(host, port).await?;
    tls::secure(plan, tls, tcp).await
}

/// Connects to the first of `host`'s addresses that accepts, with `TCP_NODELAY` on: frames are
/// already batched into one write, so Nagle's algorithm would only add latency.
async fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, Error> {
    let dns_error = |source| Error::Dns {
        host: host.to_owned(),
        source,
    };
    let addrs: Vec<_> = lookup_host((host, port))
        .await
        .map_err(dns_error)?
        .collect();
    if addrs.is_empty() {
        return Err(dns_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no addresses",
        )));
    }
    let mut attempts = Vec::new();
    for addr in addrs {
        match TcpStream::connect(addr).await.and_then(|tcp| {
            tcp.set_nodelay(true)?;
            Ok(tcp)
        }) {
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
