//! TLS options of both builders against a rustls server on loopback with certificates made in
//! the test: a client certificate when the server requires one (mutual TLS), refused without
//! it, and the dangerous switch that accepts a server certificate nobody vouches for.

use std::net::TcpListener;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use ws_proto_std::{Error, Message};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A CA, and a client certificate it signed, with the client's key.
fn client_identity() -> (
    CertificateDer<'static>,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client.test".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(client_key.serialize_der()));
    (ca.der().clone(), client.der().clone(), key)
}

/// A server for 127.0.0.1 with a self-signed certificate (returned), requiring a client
/// certificate signed by `client_ca` if one is given.
fn server_config(
    client_ca: Option<&CertificateDer<'static>>,
) -> (Arc<ServerConfig>, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
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
    let config = builder.with_single_cert(vec![cert.clone()], key).unwrap();
    (Arc::new(config), cert)
}

/// Serves one connection: echoes one message if the TLS and WebSocket handshakes succeed.
/// Returns whether they did.
fn serve_one(config: Arc<ServerConfig>) -> (String, std::thread::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
        let Ok(mut ws) = tungstenite::accept(tls) else {
            return false;
        };
        let Ok(message) = ws.read() else {
            return false;
        };
        ws.send(message).unwrap();
        while ws.read().is_ok() {}
        true
    });
    (url, server)
}

#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let (ca, client, key) = client_identity();
    let (config, server_cert) = server_config(Some(&ca));
    // std
    let (url, server) = serve_one(config.clone());
    let (ws, _) = ws_proto_std::Builder::new(url)
        .root_certificate(server_cert.clone())
        .client_certificate(vec![client.clone()], key.clone_key())
        .connect()
        .unwrap();
    ws.send_text("mutual").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("mutual"));
    ws.close(ws_proto_std::CloseCode::NORMAL, "").unwrap();
    let _ = ws.read();
    assert!(server.join().unwrap());
    // tokio
    let (url, server) = serve_one(config);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (mut ws, _) = ws_proto_tokio::Builder::new(url)
                .root_certificate(server_cert)
                .client_certificate(vec![client], key)
                .connect()
                .await
                .unwrap();
            ws.send_text("mutual").await.unwrap();
            assert_eq!(ws.read().await.unwrap(), Message::text("mutual"));
            ws.close(ws_proto_std::CloseCode::NORMAL, "").await.unwrap();
            let _ = ws.read().await;
        });
    assert!(server.join().unwrap());
}

#[test]
fn without_the_client_certificate_the_server_refuses() {
    let (ca, _, _) = client_identity();
    let (config, server_cert) = server_config(Some(&ca));
    let (url, server) = serve_one(config);
    let err = ws_proto_std::Builder::new(url)
        .root_certificate(server_cert)
        .connect()
        .and_then(|(ws, _)| {
            // TLS 1.3: the server's refusal may come with the first read.
            ws.send_text("x")?;
            ws.read().map(|_| ())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. } | Error::Io(_)), "{err}");
    assert!(!server.join().unwrap());
}

#[test]
fn danger_accept_invalid_certs_connects_to_an_unknown_certificate_and_only_then() {
    let (config, _) = server_config(None);
    let (url, server) = serve_one(config.clone());
    let err = ws_proto_std::connect(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(!server.join().unwrap());
    let (url, server) = serve_one(config.clone());
    let (ws, _) = ws_proto_std::Builder::new(url)
        .danger_accept_invalid_certs(true)
        .connect()
        .unwrap();
    ws.send_text("anyway").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("anyway"));
    ws.close(ws_proto_std::CloseCode::NORMAL, "").unwrap();
    let _ = ws.read();
    assert!(server.join().unwrap());
    let (url, server) = serve_one(config);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (mut ws, _) = ws_proto_tokio::Builder::new(url)
                .danger_accept_invalid_certs(true)
                .connect()
                .await
                .unwrap();
            ws.send_text("anyway").await.unwrap();
            assert_eq!(ws.read().await.unwrap(), Message::text("anyway"));
            ws.close(ws_proto_std::CloseCode::NORMAL, "").await.unwrap();
            let _ = ws.read().await;
        });
    assert!(server.join().unwrap());
}
