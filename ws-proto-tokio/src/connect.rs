//! The transport for a request: DNS, TCP to each address in turn, then TLS for `wss://`, all
//! under one connect timeout.

use std::time::Duration;

use tokio::net::{lookup_host, TcpStream};
use ws_proto::Request;

use crate::error::Error;
use crate::tls::{MaybeTlsStream, TlsOptions};

/// Everything needed to open a transport, cloneable so a session can reconnect.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) tls: TlsOptions,
}

impl Connector {
    /// Opens the transport `request` names.
    pub(crate) async fn connect(&self, request: &Request) -> Result<MaybeTlsStream, Error> {
        let attempt = self.connect_untimed(request);
        match self.connect_timeout {
            None => attempt.await,
            Some(timeout) => {
                tokio::time::timeout(timeout, attempt)
                    .await
                    .map_err(|_| Error::ConnectTimeout {
                        host: request.host().to_owned(),
                        port: request.port(),
                        timeout,
                    })?
            }
        }
    }

    async fn connect_untimed(&self, request: &Request) -> Result<MaybeTlsStream, Error> {
        let tcp = tcp_connect(request.host(), request.port()).await?;
        if request.is_secure() {
            let tls = self.tls.handshake(request.host(), tcp).await?;
            Ok(MaybeTlsStream::Tls(tls))
        } else {
            Ok(MaybeTlsStream::Plain(tcp))
        }
    }
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
