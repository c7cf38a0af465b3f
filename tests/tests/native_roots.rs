//! The operating system's trust store (`native_roots`), pointed at a test CA the way OpenSSL
//! and rustls-native-certs allow: `SSL_CERT_FILE`. One test in its own binary, since it sets
//! the process's environment.

mod common;

use ws_proto_std::Error;
use ws_proto_tests::{round_trip_std, round_trip_tokio};

use common::{serve_echo, server_config};

#[test]
fn native_roots_trust_what_the_os_store_holds_and_the_webpki_roots_do_not() {
    let (config, cert) = server_config(None);
    let store =
        std::env::temp_dir().join(format!("ws-proto-native-roots-{}.pem", std::process::id()));
    std::fs::write(&store, cert.pem()).unwrap();
    // The "operating system's store" is now the test CA alone.
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::remove_var("SSL_CERT_DIR");

    let (url, server) = serve_echo(config, 4);
    // The webpki roots, the default, do not know it.
    let err = ws_proto_std::connect(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    // The OS store does, for both adapters.
    round_trip_std(ws_proto_std::Builder::new(url.as_str()).native_roots(true)).unwrap();
    round_trip_tokio(ws_proto_tokio::Builder::new(url.as_str()).native_roots(true)).unwrap();

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
    assert_eq!(server.join().unwrap().len(), 2);
}
