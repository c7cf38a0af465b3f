//! TLS for `wss://`: rustls with the ring provider, certificates verified against the webpki
//! roots (plus any the user adds) by default, SNI from the URL's host.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use ws_proto::{trace, ConnectPlan, TlsOptions};

use crate::Error;

/// Runs the TLS handshake over `io`, verifying the certificate for `host`.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    options: &TlsOptions,
    host: &str,
    io: S,
) -> Result<TlsStream<S>, Error> {
    let tls_error = |source: io::Error| Error::Tls {
        host: host.to_owned(),
        source,
    };
    let config = options
        .client_config()
        .map_err(|e| tls_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    // An IP address becomes an IP server name: verified against the certificate's IP SANs,
    // and no SNI is sent (RFC 6066 forbids literal addresses there).
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| tls_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let secured = TlsConnector::from(config).connect(name, io).await;
    match &secured {
        Ok(tls) => trace::tls_handshake(host, Ok(tls.get_ref().1)),
        Err(e) => trace::tls_handshake(host, Err(e)),
    }
    secured.map_err(tls_error)
}

/// `io` as the plan says: TLS over it for `wss://`, as it is for `ws://`.
pub(crate) async fn secure<S: AsyncRead + AsyncWrite + Unpin>(
    plan: &ConnectPlan,
    options: &TlsOptions,
    io: S,
) -> Result<MaybeTlsStream<S>, Error> {
    match plan.tls_server_name() {
        Some(name) => Ok(MaybeTlsStream::Tls(Box::new(
            handshake(options, name, io).await?,
        ))),
        None => Ok(MaybeTlsStream::Plain(io)),
    }
}

/// The transport of a socket: the stream (TCP from [`connect`](crate::connect), or the one given
/// to [`connect_with`](crate::Builder::connect_with)) for `ws://`, TLS over it for `wss://`.
///
/// The TLS and HTTP/2 streams are boxed: inline, rustls's connection state would make every
/// socket, a plain one too, about 1 KiB larger, while the box costs a TLS read one pointer
/// to follow beside its decryption.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S = TcpStream> {
    /// `ws://`.
    Plain(S),
    /// `wss://`.
    Tls(Box<TlsStream<S>>),
    /// A stream of an HTTP/2 connection (RFC 8441), which may carry other WebSockets too.
    #[cfg(feature = "http2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
    Http2(Box<crate::http2::Http2Stream>),
}

impl<S> MaybeTlsStream<S> {
    /// The stream underneath (for [`connect`](crate::connect), the TCP stream); `None` for an
    /// HTTP/2 stream, whose connection is shared and runs in a task of its own.
    pub fn get_ref(&self) -> Option<&S> {
        match self {
            MaybeTlsStream::Plain(s) => Some(s),
            MaybeTlsStream::Tls(s) => Some(s.get_ref().0),
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2(_) => None,
        }
    }
}

/// Runs `$e` on the stream inside, whichever it is.
macro_rules! on_either {
    ($stream:expr, $s:ident => $e:expr) => {
        match $stream {
            MaybeTlsStream::Plain($s) => $e,
            MaybeTlsStream::Tls($s) => $e,
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2($s) => $e,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        on_either!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        on_either!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_either!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        on_either!(self, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_either!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_either!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}
