//! The operating system's trust store (`native_roots`), pointed at a test CA the way OpenSSL
//! and rustls-native-certs allow: `SSL_CERT_FILE`. One test in its own binary, since it sets
//! the process's environment.

use std::net::TcpListener;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use ws_proto_std::{Error, Message};

/// Serves `connections` connections over TLS with `config`, echoing one message on each.
fn serve(config: Arc<ServerConfig>, connections: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let server = std::thread::spawn(move || {
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            let tls = StreamOwned::new(ServerConnection::new(config.clone()).unwrap(), tcp);
            let Ok(mut ws) = tungstenite::accept(tls) else {
                continue;
            };
            if let Ok(message) = ws.read() {
                let _ = ws.send(message);
            }
            while ws.read().is_ok() {}
        }
    });
    (url, server)
}

#[test]
fn native_roots_trust_what_the_os_store_holds_and_the_webpki_roots_do_not() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap();
    let store =
        std::env::temp_dir().join(format!("ws-proto-native-roots-{}.pem", std::process::id()));
    std::fs::write(&store, certified.cert.pem()).unwrap();
    // The "operating system's store" is now the test CA alone.
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::remove_var("SSL_CERT_DIR");

    let (url, server) = serve(Arc::new(config), 4);
    // The webpki roots, the default, do not know it.
    let err = ws_proto_std::connect(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    // The OS store does, for both adapters.
    let (ws, _) = ws_proto_std::Builder::new(url.as_str())
        .native_roots(true)
        .connect()
        .unwrap();
    ws.send_text("os store").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("os store"));
    ws.close(ws_proto_std::CloseCode::NORMAL, "").unwrap();
    let _ = ws.read();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (mut ws, _) = ws_proto_tokio::Builder::new(url.as_str())
                .native_roots(true)
                .connect()
                .await
                .unwrap();
            ws.send_text("os store").await.unwrap();
            assert_eq!(ws.read().await.unwrap(), Message::text("os store"));
            ws.close(ws_proto_std::CloseCode::NORMAL, "").await.unwrap();
            let _ = ws.read().await;
        });

    // A store with nothing usable is a clear error, not an empty trust list.
    std::fs::write(&store, "no certificates here\n").unwrap();
    let err = ws_proto_std::Builder::new(url.as_str())
        .native_roots(true)
        .connect()
        .unwrap_err();
    assert!(
        err.to_string().contains("operating system's store"),
        "{err}"
    );
    std::fs::remove_file(&store).unwrap();
    server.join().unwrap();
}
