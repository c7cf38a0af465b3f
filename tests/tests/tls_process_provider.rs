//! rustls's process default crypto provider, installed by the program, is what both adapters
//! use when the builder names none: one test in its own binary, since the default is
//! process-wide and set once.

mod common;

use ws_proto_tests::{round_trip_std, round_trip_tokio};

use common::{serve_echo, server_config};

#[test]
fn an_installed_process_default_provider_is_used_over_the_features_one() {
    // ring is the features' choice here; aws-lc-rs becomes the process's.
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .unwrap();
    let (config, cert) = server_config(None);
    let (url, server) = serve_echo(config, 2);
    round_trip_std(ws_proto_std::Builder::new(url.as_str()).root_certificate(cert.der().clone()))
        .unwrap();
    round_trip_tokio(
        ws_proto_tokio::Builder::new(url.as_str()).root_certificate(cert.der().clone()),
    )
    .unwrap();
    assert_eq!(server.join().unwrap(), ["X25519MLKEM768", "X25519MLKEM768"]);
}
