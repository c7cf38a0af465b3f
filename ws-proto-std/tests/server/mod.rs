//! Loopback WebSocket servers for the tests: tungstenite, an independent implementation, each
//! on its own thread, plain or over rustls with a certificate made on the spot.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response};
use tungstenite::{Message, WebSocket};

/// No server read blocks longer than this, so a broken test fails instead of hanging.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A listener on 127.0.0.1 and its `ws://` base URL.
pub fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, url)
}

fn accept_tcp(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Accepts one WebSocket connection.
pub fn accept(listener: &TcpListener) -> WebSocket<TcpStream> {
    tungstenite::accept(accept_tcp(listener)).unwrap()
}

/// Accepts one connection, letting `callback` see the request and shape (or refuse) the
/// response.
pub fn accept_hdr(listener: &TcpListener, callback: impl Callback) -> WebSocket<TcpStream> {
    tungstenite::accept_hdr(accept_tcp(listener), callback).unwrap()
}

/// Answers the next handshake with `response` instead of a 101.
pub fn refuse(listener: &TcpListener, response: ErrorResponse) {
    let refused = tungstenite::accept_hdr(accept_tcp(listener), |_: &Request, _: Response| {
        Err(response)
    });
    assert!(refused.is_err());
}

/// Echoes every data message until the client closes; returns the close frame it got.
pub fn echo<S: std::io::Read + std::io::Write>(
    mut ws: WebSocket<S>,
) -> Option<tungstenite::protocol::CloseFrame> {
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg).unwrap(),
            Ok(Message::Close(frame)) => {
                // Completes the closing handshake (tungstenite queued the echo).
                while ws.flush().is_ok() {}
                return frame;
            }
            Ok(_) => {}
            Err(e) => panic!("server read failed: {e}"),
        }
    }
}

/// Spawns `f` with the listener on a server thread.
pub fn spawn<R: Send + 'static>(
    listener: TcpListener,
    f: impl FnOnce(TcpListener) -> R + Send + 'static,
) -> JoinHandle<R> {
    std::thread::spawn(move || f(listener))
}

/// A self-signed certificate for 127.0.0.1 and a server configuration presenting it.
pub fn tls_server() -> (Arc<ServerConfig>, CertificateDer<'static>) {
    tls_server_for(&["127.0.0.1"])
}

/// A self-signed certificate for `names` and a server configuration presenting it.
pub fn tls_server_for(names: &[&str]) -> (Arc<ServerConfig>, CertificateDer<'static>) {
    let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
    (Arc::new(config), cert)
}

/// The server side of a TLS connection, before the WebSocket handshake.
pub type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// Accepts one TCP connection and wraps it in a server TLS session (the TLS handshake runs as
/// the WebSocket handshake reads).
pub fn accept_tls_stream(listener: &TcpListener, config: &Arc<ServerConfig>) -> TlsStream {
    let conn = ServerConnection::new(config.clone()).unwrap();
    StreamOwned::new(conn, accept_tcp(listener))
}
