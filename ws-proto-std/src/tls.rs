//! TLS for `wss://`: a rustls client session driven sans-IO, like the WebSocket core.
//!
//! rustls's `ClientConnection` does no I/O of its own: ciphertext goes in with `read_tls`,
//! plaintext comes out of `reader()`, plaintext goes in with `writer()` and ciphertext comes out
//! with `write_tls`. So it sits next to the core under the connection's state lock, and the same
//! threads that move bytes for the core move them for TLS.

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use ws_proto::ClientState;

use crate::error::Error;

/// The default client configuration: the webpki (Mozilla) roots plus `extra_roots`, certificate
/// verification on, the ring provider.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
    host: &str,
) -> Result<Arc<ClientConfig>, Error> {
    let tls_error = |source| Error::Tls {
        host: host.to_owned(),
        source: Box::new(source),
    };
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(tls_error)?;
    }
    // An explicit provider, so a second rustls provider elsewhere in the dependency graph
    // cannot make the process-wide default ambiguous.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client TLS session for one connection.
#[derive(Debug)]
pub(crate) struct Tls {
    conn: ClientConnection,
    host: String,
}

impl Tls {
    /// Starts a session with `host` as the SNI name and the name the certificate must match.
    pub(crate) fn new(config: Arc<ClientConfig>, host: &str) -> Result<Tls, Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::ServerName(host.to_owned()))?;
        let mut conn = ClientConnection::new(config, name).map_err(|source| Error::Tls {
            host: host.to_owned(),
            source: Box::new(source),
        })?;
        // The core's high-water mark already bounds what is handed to TLS; a second, smaller
        // limit here would only make writes partial.
        conn.set_buffer_limit(None);
        Ok(Tls {
            conn,
            host: host.to_owned(),
        })
    }

    /// Decrypts ciphertext read from the transport and feeds the plaintext to `core`. A
    /// `close_notify` from the server is the end of the stream for the core.
    pub(crate) fn receive(
        &mut self,
        mut ciphertext: &[u8],
        core: &mut ClientState,
        now: Instant,
    ) -> Result<(), Error> {
        while !ciphertext.is_empty() {
            // Reading from a slice fails only when rustls's plaintext buffer is full, and it is
            // emptied below on every pass.
            if self.conn.read_tls(&mut ciphertext).map_err(Error::Read)? == 0 {
                break;
            }
            self.conn
                .process_new_packets()
                .map_err(|source| Error::Tls {
                    host: self.host.clone(),
                    source: Box::new(source),
                })?;
            let mut reader = self.conn.reader();
            loop {
                match reader.fill_buf() {
                    Ok([]) => {
                        core.handle_eof()?;
                        return Ok(());
                    }
                    Ok(plaintext) => {
                        let n = plaintext.len();
                        core.handle_input(plaintext, now)?;
                        reader.consume(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(Error::Read(e)),
                }
            }
        }
        Ok(())
    }

    /// The next ciphertext to write: pending TLS records first (handshake, alerts), then the
    /// core's next transmit, encrypted.
    pub(crate) fn transmit(&mut self, core: &mut ClientState) -> Option<Vec<u8>> {
        if !self.conn.wants_write() {
            let transmit = core.poll_transmit()?;
            // Cannot fail: the buffer limit is off, so rustls takes all of it.
            let mut writer = self.conn.writer();
            writer.write_all(transmit.head()).ok()?;
            writer.write_all(transmit.body()).ok()?;
        }
        let mut out = Vec::new();
        while self.conn.wants_write() {
            // Writing into a Vec cannot fail.
            self.conn.write_tls(&mut out).ok()?;
        }
        Some(out)
    }

    /// Queues a `close_notify` alert, sent by the next [`transmit`](Self::transmit).
    pub(crate) fn close(&mut self) {
        self.conn.send_close_notify();
    }
}
