//! TLS options of both builders against a rustls server on loopback with certificates made in
//! the test: a client certificate when the server requires one (mutual TLS), refused without
//! it, and the dangerous switch that accepts a server certificate nobody vouches for.

mod common;

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ws_proto_std::Error;
use ws_proto_tests::{round_trip_std, round_trip_tokio};

use common::{serve_echo, server_config};

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

#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let (ca, client, key) = client_identity();
    let (config, server_cert) = server_config(Some(&ca));
    let (url, server) = serve_echo(config, 2);
    round_trip_std(
        ws_proto_std::Builder::new(url.as_str())
            .root_certificate(server_cert.der().clone())
            .client_certificate(vec![client.clone()], key.clone_key()),
    )
    .unwrap();
    round_trip_tokio(
        ws_proto_tokio::Builder::new(url.as_str())
            .root_certificate(server_cert.der().clone())
            .client_certificate(vec![client], key),
    )
    .unwrap();
    assert_eq!(server.join().unwrap().len(), 2);
}

#[test]
fn without_the_client_certificate_the_server_refuses() {
    let (ca, _, _) = client_identity();
    let (config, server_cert) = server_config(Some(&ca));
    let (url, server) = serve_echo(config, 1);
    let err = ws_proto_std::Builder::new(url)
        .root_certificate(server_cert.der().clone())
        .connect()
        .and_then(|(ws, _)| {
            // TLS 1.3: the server's refusal may come with the first read.
            ws.send_text("x")?;
            ws.read().map(|_| ())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. } | Error::Io(_)), "{err}");
    assert!(server.join().unwrap().is_empty());
}

#[test]
fn danger_accept_invalid_certs_connects_to_an_unknown_certificate_and_only_then() {
    let (config, _) = server_config(None);
    let (url, server) = serve_echo(config, 3);
    let err = ws_proto_std::connect(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    round_trip_std(ws_proto_std::Builder::new(url.as_str()).danger_accept_invalid_certs(true))
        .unwrap();
    round_trip_tokio(ws_proto_tokio::Builder::new(url.as_str()).danger_accept_invalid_certs(true))
        .unwrap();
    // The first connection never got through; the other two did.
    assert_eq!(server.join().unwrap().len(), 2);
}

/// The server (aws-lc-rs) prefers the post-quantum X25519MLKEM768 group, which only aws-lc-rs
/// offers on the client's side, so the group negotiated names the client's provider.
#[test]
fn ring_is_the_default_provider_and_the_builder_takes_another() {
    let (config, cert) = server_config(None);
    let (url, server) = serve_echo(config, 4);
    let aws = || Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    round_trip_std(ws_proto_std::Builder::new(url.as_str()).root_certificate(cert.der().clone()))
        .unwrap();
    round_trip_tokio(
        ws_proto_tokio::Builder::new(url.as_str()).root_certificate(cert.der().clone()),
    )
    .unwrap();
    round_trip_std(
        ws_proto_std::Builder::new(url.as_str())
            .root_certificate(cert.der().clone())
            .crypto_provider(aws()),
    )
    .unwrap();
    round_trip_tokio(
        ws_proto_tokio::Builder::new(url.as_str())
            .root_certificate(cert.der().clone())
            .crypto_provider(aws()),
    )
    .unwrap();
    assert_eq!(
        server.join().unwrap(),
        ["X25519", "X25519", "X25519MLKEM768", "X25519MLKEM768"]
    );
}
