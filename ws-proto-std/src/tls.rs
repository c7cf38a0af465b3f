//! TLS for `wss://`: a rustls client session driven sans-IO, like the WebSocket core.
//!
//! rustls's `ClientConnection` does no I/O of its own: ciphertext goes in with `read_tls`,
//! plaintext comes out of `reader()`, plaintext goes in with `writer()` and ciphertext comes out
//! with `write_tls`. So it sits next to the core under the connection's state lock, and the same
//! threads that move bytes for the core move them for TLS.

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use ws_proto::{trace, ClientState, ConnectPlan};

use crate::connect::read_within;
use crate::transport::Transport;
use crate::Error;

/// A TLS failure with `host`, its cause inside an I/O error as tokio-rustls reports it, so both
/// adapters' errors look alike.
pub(crate) fn tls_error(
    host: &str,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Tls {
        host: host.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, cause),
    }
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
        let name = ServerName::try_from(host.to_owned()).map_err(|e| tls_error(host, e))?;
        let mut conn = ClientConnection::new(config, name).map_err(|e| tls_error(host, e))?;
        // The core's high-water mark already bounds what is handed to TLS; a second, smaller
        // limit here would only make writes partial.
        conn.set_buffer_limit(None);
        Ok(Tls {
            conn,
            host: host.to_owned(),
        })
    }

    /// Runs the TLS handshake over `transport` to its end, within what is left of the connect
    /// timeout of an attempt that started at `started`: the connect timeout
    /// covers TLS as it covers DNS and TCP, and the WebSocket handshake starts on a secured
    /// transport, as in every adapter.
    pub(crate) fn handshake(
        &mut self,
        transport: &impl Transport,
        plan: &ConnectPlan,
        started: Instant,
    ) -> Result<(), Error> {
        let mut buf = vec![0; 16 << 10];
        loop {
            while self.conn.wants_write() {
                let mut records = Vec::new();
                // Writing into a Vec cannot fail.
                let _ = self.conn.write_tls(&mut records);
                transport.write_all(&records).map_err(Error::Io)?;
            }
            if !self.conn.is_handshaking() {
                trace::tls_handshake(&self.host, Ok(&self.conn));
                return Ok(());
            }
            let n = match read_within(transport, &mut buf, plan, started)? {
                0 => {
                    let eof = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during the TLS handshake",
                    );
                    return Err(Error::Tls {
                        host: self.host.clone(),
                        source: eof,
                    });
                }
                n => n,
            };
            let mut ciphertext = &buf[..n];
            while !ciphertext.is_empty() {
                self.conn.read_tls(&mut ciphertext).map_err(Error::Io)?;
                self.conn
                    .process_new_packets()
                    .map_err(|e| tls_error(&self.host, e))?;
            }
        }
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
            if self.conn.read_tls(&mut ciphertext).map_err(Error::Io)? == 0 {
                break;
            }
            self.conn
                .process_new_packets()
                .map_err(|e| tls_error(&self.host, e))?;
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
                    Err(e) => return Err(Error::Io(e)),
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
