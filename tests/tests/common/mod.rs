//! A rustls echo server with a certificate made in the test, for the TLS test binaries.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

/// aws-lc-rs, which offers the post-quantum X25519MLKEM768 key exchange that ring lacks: the
/// group a connection negotiated tells which provider its client used.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server configuration for 127.0.0.1 with a self-signed certificate (returned, for its DER
/// or PEM), requiring a client certificate signed by `client_ca` if one is given.
pub fn server_config(
    client_ca: Option<&CertificateDer<'static>>,
) -> (Arc<ServerConfig>, rcgen::Certificate) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    (Arc::new(config), certified.cert)
}

/// Serves `connections` connections over TLS with `config`, echoing one message on each and
/// reading until its end. Returns the URL and, once done, the key exchange group of each
/// connection that got through both handshakes.
pub fn serve_echo(
    config: Arc<ServerConfig>,
    connections: usize,
) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let server = std::thread::spawn(move || {
        let mut opened = Vec::new();
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            let tls = StreamOwned::new(ServerConnection::new(config.clone()).unwrap(), tcp);
            let Ok(mut ws) = tungstenite::accept(tls) else {
                continue;
            };
            let group = ws.get_ref().conn.negotiated_key_exchange_group();
            opened.push(format!("{:?}", group.unwrap().name()));
            if let Ok(message) = ws.read() {
                let _ = ws.send(message);
            }
            while ws.read().is_ok() {}
        }
        opened
    });
    (url, server)
}
