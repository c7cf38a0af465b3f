//! Through real proxies: tinyproxy (HTTP `CONNECT`, with and without Basic authentication) and
//! microsocks (SOCKS5, with and without username/password), to tungstenite servers, plain and
//! TLS, with both adapters; and through hand-made faulty proxies, each failure typed.

// tungstenite's handshake callback type returns its large `http::Response` as the error.
#![allow(clippy::result_large_err)]

#[path = "../../ws-proto-std/tests/server/mod.rs"]
mod server;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ws_proto::{ClientError, Message, ProxyError, ProxyStage};
use ws_proto_tests::proxies::{self, available, ProxyServer};
use ws_proto_tests::{block_on, round_trip_std, round_trip_tokio};

/// An echo server on a thread, for `connections` connections; its `ws://` URL.
fn echo_server(connections: usize) -> (String, std::thread::JoinHandle<()>) {
    let (listener, url) = server::listen();
    let handle = server::spawn(listener, move |l| {
        for _ in 0..connections {
            server::echo(server::accept(&l));
        }
    });
    (url, handle)
}

fn proxy_url(scheme: &str, credentials: &str, proxy: &ProxyServer) -> String {
    format!("{scheme}://{credentials}127.0.0.1:{}", proxy.port)
}

#[test]
fn ws_through_tinyproxy_with_both_adapters() {
    if !available("tinyproxy") {
        return;
    }
    let proxy = proxies::tinyproxy(None);
    let (url, server) = echo_server(2);
    let via = proxy_url("http", "", &proxy);
    round_trip_std(ws_proto_std::Builder::new(&url).proxy(&via)).unwrap();
    round_trip_tokio(ws_proto_tokio::Builder::new(&url).proxy(&via)).unwrap();
    server.join().unwrap();
}

#[test]
fn wss_through_tinyproxy_runs_tls_inside_the_tunnel() {
    if !available("tinyproxy") {
        return;
    }
    let proxy = proxies::tinyproxy(None);
    let (config, cert) = server::tls_server_for(&["localhost"]);
    let (listener, url) = server::listen();
    let server = server::spawn(listener, move |l| {
        for _ in 0..2 {
            let stream = server::accept_tls_stream(&l, &config);
            server::echo(tungstenite::accept(stream).unwrap());
        }
    });
    // The name is the server's, checked by TLS through the tunnel: the proxy only sees a
    // CONNECT to localhost.
    let url = url.replace("ws://127.0.0.1", "wss://localhost");
    let via = proxy_url("http", "", &proxy);
    round_trip_std(
        ws_proto_std::Builder::new(&url)
            .proxy(&via)
            .root_certificate(cert.clone()),
    )
    .unwrap();
    round_trip_tokio(
        ws_proto_tokio::Builder::new(&url)
            .proxy(&via)
            .root_certificate(cert),
    )
    .unwrap();
    server.join().unwrap();
}

#[test]
fn tinyproxy_asks_for_credentials_and_takes_the_right_ones() {
    if !available("tinyproxy") {
        return;
    }
    let proxy = proxies::tinyproxy(Some(("alice", "s3cret")));
    let (url, server) = echo_server(1);
    // tinyproxy asks with a 407; it refuses wrong credentials with a 401.
    for (credentials, expected) in [("", 407), ("alice:wrong@", 401)] {
        let via = proxy_url("http", credentials, &proxy);
        let error = ws_proto_std::Builder::new(&url)
            .proxy(&via)
            .connect()
            .unwrap_err();
        let ClientError::Proxy {
            proxy: shown,
            error:
                ProxyError::Rejected {
                    status,
                    headers,
                    body,
                    ..
                },
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(*status, expected, "{error}");
        if expected == 407 {
            assert_eq!(
                headers.get_str("proxy-authenticate"),
                Some("Basic realm=\"Tinyproxy\"")
            );
        }
        // The start of tinyproxy's HTML page, read to the end of the connection.
        assert!(body.starts_with(b"<?xml"), "{body:?}");
        assert_eq!(
            shown,
            &proxy_url("http", "", &proxy),
            "no credentials shown"
        );
        assert!(error.to_string().contains(&expected.to_string()), "{error}");
    }
    let via = proxy_url("http", "alice:s3cret@", &proxy);
    round_trip_std(ws_proto_std::Builder::new(&url).proxy(&via)).unwrap();
    server.join().unwrap();
}

#[test]
fn tinyproxy_reports_a_target_it_cannot_reach() {
    if !available("tinyproxy") {
        return;
    }
    let proxy = proxies::tinyproxy(None);
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://127.0.0.1:{}/", closed.local_addr().unwrap().port());
    drop(closed);
    let error = ws_proto_std::Builder::new(&url)
        .proxy(&proxy_url("http", "", &proxy))
        .connect()
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ClientError::Proxy { error: ProxyError::Rejected { status, .. }, .. } if *status >= 500
        ),
        "{error:?}"
    );
}

#[test]
fn socks5h_and_socks5_through_microsocks_with_a_password() {
    if !available("microsocks") {
        return;
    }
    let proxy = proxies::microsocks(Some(("bob", "pa55")));
    let (url, server) = echo_server(2);
    // socks5h: the proxy resolves "localhost"; socks5: it is resolved here.
    let url = url.replace("127.0.0.1", "localhost");
    let via = proxy_url("socks5h", "bob:pa55@", &proxy);
    round_trip_std(ws_proto_std::Builder::new(&url).proxy(&via)).unwrap();
    let via = proxy_url("socks5", "bob:pa55@", &proxy);
    round_trip_tokio(ws_proto_tokio::Builder::new(&url).proxy(&via)).unwrap();
    server.join().unwrap();

    // wss://: TLS inside the SOCKS5 tunnel, checked for the server's name.
    let (config, cert) = server::tls_server_for(&["localhost"]);
    let (listener, tls_url) = server::listen();
    let tls_server = server::spawn(listener, move |l| {
        for _ in 0..2 {
            let stream = server::accept_tls_stream(&l, &config);
            server::echo(tungstenite::accept(stream).unwrap());
        }
    });
    let tls_url = tls_url.replace("ws://127.0.0.1", "wss://localhost");
    for scheme in ["socks5h", "socks5"] {
        let via = proxy_url(scheme, "bob:pa55@", &proxy);
        round_trip_std(
            ws_proto_std::Builder::new(&tls_url)
                .proxy(&via)
                .root_certificate(cert.clone()),
        )
        .unwrap();
    }
    tls_server.join().unwrap();

    let refused = |via: String| {
        ws_proto_std::Builder::new(&url)
            .proxy(&via)
            .connect()
            .unwrap_err()
    };
    let error = refused(proxy_url("socks5h", "bob:nope@", &proxy));
    assert!(
        matches!(
            error,
            ClientError::Proxy {
                error: ProxyError::AuthFailed { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // Without credentials only "no authentication" is offered, which this proxy refuses.
    let error = refused(proxy_url("socks5h", "", &proxy));
    assert!(
        matches!(
            &error,
            ClientError::Proxy { error: e @ ProxyError::NoAcceptableMethod, .. } if e.stage() == ProxyStage::Socks5Greeting
        ),
        "{error:?}"
    );
}

#[test]
fn microsocks_reports_a_refused_target_with_its_reply_code() {
    if !available("microsocks") {
        return;
    }
    let proxy = proxies::microsocks(None);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://127.0.0.1:{}/", closed.local_addr().unwrap().port());
    drop(closed);
    let error = ws_proto_tokio::Builder::new(&url).proxy(&proxy_url("socks5", "", &proxy));
    let error = round_trip_tokio(error).unwrap_err();
    let ClientError::Proxy {
        error: ProxyError::Refused { code },
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*code, 5, "{error}");
    assert!(error.to_string().contains("connection refused"), "{error}");
}

/// A proxy that reads the request head, then answers `answer` and does `then`.
fn fake_proxy(answer: &'static [u8], stall: bool) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            request.push(byte[0]);
        }
        stream.write_all(answer).unwrap();
        if stall {
            // Holds the connection open, silent, until the client gives up.
            let _ = stream.read(&mut byte);
        }
        request
    });
    (url, handle)
}

#[test]
fn faulty_proxies_give_typed_errors_within_the_timeout() {
    let target = "ws://example.invalid:9/";
    let check = |answer: &'static [u8], stall: bool, expect: &dyn Fn(&ClientError) -> bool| {
        let (via, proxy) = fake_proxy(answer, stall);
        let started = Instant::now();
        let error = ws_proto_std::Builder::new(target)
            .proxy(&via)
            .connect_timeout(Duration::from_millis(500))
            .max_response_size(1024)
            .connect()
            .unwrap_err();
        assert!(expect(&error), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let request = proxy.join().unwrap();
        assert_eq!(
            String::from_utf8(request).unwrap(),
            "CONNECT example.invalid:9 HTTP/1.1\r\nHost: example.invalid:9\r\n\r\n"
        );
    };
    // Closed mid-answer.
    check(b"HTTP/1.1 200 Conn", false, &|e| {
        matches!(
            e,
            ClientError::Proxy {
                error: ProxyError::Closed {
                    stage: ProxyStage::HttpConnect
                },
                ..
            }
        )
    });
    // Not HTTP.
    check(b"SSH-2.0-OpenSSH\r\n\r\n", false, &|e| {
        matches!(
            e,
            ClientError::Proxy {
                error: ProxyError::InvalidResponse { .. },
                ..
            }
        )
    });
    // A head past the limit, the rest never read.
    let oversized: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nX-Pad: {}\r\n\r\n", "p".repeat(4000))
            .into_bytes()
            .into_boxed_slice(),
    );
    check(oversized, false, &|e| {
        matches!(
            e,
            ClientError::Proxy {
                error: ProxyError::ResponseTooLarge { limit: 1024 },
                ..
            }
        )
    });
    // Silent after a partial answer: the connect timeout.
    check(b"HTTP/1.1 200", true, &|e| {
        matches!(e, ClientError::ConnectTimeout { .. })
    });
}

#[test]
fn an_invalid_proxy_url_is_reported_before_connecting() {
    let error = ws_proto_std::Builder::new("ws://127.0.0.1:9/")
        .proxy("https://proxy:443")
        .connect()
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Request(ws_proto::RequestError::UnsupportedProxyScheme(s)) if s == "https"),
        "{error:?}"
    );
}

/// A CONNECT proxy on a thread that records each tunnel's target and relays the bytes: to see
/// which connections went through it.
fn recording_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let targets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = targets.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            let target = head.split(' ').nth(1).unwrap().to_owned();
            seen.lock().unwrap().push(target.clone());
            let Ok(server) = std::net::TcpStream::connect(&target) else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                continue;
            };
            client.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
            let relay = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                })
            };
            relay(client.try_clone().unwrap(), server.try_clone().unwrap());
            relay(server, client);
        }
    });
    (url, targets)
}

#[test]
fn redirects_and_reconnections_go_through_the_same_proxy() {
    let (via, targets) = recording_proxy();
    // A redirect: both hops are tunnels.
    let (target, target_url) = server::listen();
    let (hop, hop_url) = server::listen();
    let location = format!("{target_url}/final");
    let hop_server = server::spawn(hop, move |l| {
        let response = tungstenite::http::Response::builder()
            .status(302)
            .header("Location", location.as_str())
            .body(None)
            .unwrap();
        server::refuse(&l, response);
    });
    let target_server = server::spawn(target, |l| {
        // The redirect's target.
        server::echo(server::accept(&l));
        // The session's first connection: one message read, then the connection drops.
        let mut first = server::accept(&l);
        while !first.read().unwrap().is_text() {}
        drop(first);
        // Its second: an echo until the session closes.
        server::echo(server::accept(&l));
    });
    round_trip_std(ws_proto_std::Builder::new(&hop_url).proxy(&via)).unwrap();
    hop_server.join().unwrap();
    let authority = |url: &str| url.trim_start_matches("ws://").to_owned();
    assert_eq!(
        *targets.lock().unwrap(),
        [authority(&hop_url), authority(&target_url)]
    );

    // A session that reconnects: every attempt is a tunnel.
    block_on(async {
        use ws_proto_tokio::{ReconnectPolicy, SessionEvent};
        let mut session = ws_proto_tokio::Builder::new(&target_url)
            .proxy(&via)
            .session(ReconnectPolicy::fixed(Duration::from_millis(10)).with_max_attempts(3))
            .unwrap();
        let mut opened = 0;
        while let Some(event) = session.next_event().await {
            match event {
                SessionEvent::Open(_) => {
                    opened += 1;
                    session.send_text(&format!("hello {opened}")).await.unwrap();
                }
                SessionEvent::Message(m) => {
                    assert_eq!(m, Message::text("hello 2"));
                    session
                        .close(ws_proto::CloseCode::NORMAL, "")
                        .await
                        .unwrap();
                }
                _ => {}
            }
        }
        assert_eq!(opened, 2);
    });
    target_server.join().unwrap();
    let target = authority(&target_url);
    assert_eq!(
        *targets.lock().unwrap(),
        [authority(&hop_url), target.clone(), target.clone(), target]
    );
}
