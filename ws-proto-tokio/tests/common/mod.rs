//! Loopback servers for the tests: tokio-tungstenite as an independent implementation, plus a
//! raw TCP server for answers no conforming server gives.
#![allow(dead_code)] // Each test file uses a different subset.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::WebSocketStream;

/// A listener on an ephemeral loopback port.
pub async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Accepts one WebSocket connection with tokio-tungstenite.
pub async fn accept(listener: &TcpListener) -> WebSocketStream<TcpStream> {
    let (tcp, _) = listener.accept().await.unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

/// Echoes data messages until the client closes; returns the client's close frame.
pub async fn echo<S>(mut ws: WebSocketStream<S>) -> Option<(u16, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(msg) = ws.next().await {
        match msg.unwrap() {
            m @ (TMessage::Text(_) | TMessage::Binary(_)) => ws.send(m).await.unwrap(),
            TMessage::Close(frame) => {
                // tungstenite queued the echo; flushing sends it, then the stream ends.
                let _ = ws.flush().await;
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            _ => {}
        }
    }
    None
}

/// Reads the client's handshake request from a raw socket; returns it as text.
pub async fn read_request(tcp: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "request cut short");
        buf.push(byte[0]);
    }
    String::from_utf8(buf).unwrap()
}

/// Answers a raw handshake request with a valid 101.
pub async fn accept_raw(tcp: &mut TcpStream) {
    let request = read_request(tcp).await;
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        ws_proto::accept_key(key)
    );
    tcp.write_all(response.as_bytes()).await.unwrap();
}

/// Reads one masked client frame from a raw socket: (opcode, unmasked payload).
pub async fn read_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.unwrap();
    assert_eq!(head[1] & 0x80, 0x80, "client frames are masked");
    let len = match head[1] & 0x7f {
        126 => tcp.read_u16().await.unwrap() as usize,
        127 => tcp.read_u64().await.unwrap() as usize,
        n => n as usize,
    };
    let mut key = [0u8; 4];
    tcp.read_exact(&mut key).await.unwrap();
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.unwrap();
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    (head[0] & 0x0f, payload)
}

/// A self-signed certificate for `localhost` and a TLS acceptor serving it.
pub fn tls_server() -> (
    rustls_pki_types::CertificateDer<'static>,
    tokio_rustls::TlsAcceptor,
) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    (cert, tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A TLS echo server (tokio-tungstenite) for one connection, with the root that trusts it; the
/// task returns the client's close code and reason.
pub async fn tls_echo_server() -> (
    rustls_pki_types::CertificateDer<'static>,
    SocketAddr,
    tokio::task::JoinHandle<Option<(u16, String)>>,
) {
    let (cert, acceptor) = tls_server();
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        echo(tokio_tungstenite::accept_async(tls).await.unwrap()).await
    });
    (cert, addr, server)
}
