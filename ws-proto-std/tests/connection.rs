//! The blocking `WebSocket` against tungstenite servers on loopback.

// tungstenite's handshake callback type returns its large `http::Response` as the error.
#![allow(clippy::result_large_err)]

mod server;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{Request, Response};
use tungstenite::http;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tungstenite::protocol::CloseFrame;
use ws_proto_std::ws_proto::Timeout;
use ws_proto_std::{Builder, CloseCode, Error, Event, Message, RedirectError};

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[test]
fn echo_text_and_binary_with_headers_and_origin() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let (tx, rx) = mpsc::channel();
        let ws = server::accept_hdr(&l, move |req: &Request, res: Response| {
            let h = |name| req.headers()[name].to_str().unwrap().to_owned();
            tx.send((req.uri().to_string(), h("cookie"), h("origin"), h("host")))
                .unwrap();
            Ok(res)
        });
        let seen = rx.recv().unwrap();
        (seen, server::echo(ws))
    });
    let (ws, response) = Builder::new(format!("{url}/chat?room=1"))
        .header("Cookie", "PHPSID=82u98fjh")
        .origin("https://example.com")
        .connect()
        .unwrap();
    assert!(ws.is_open());
    assert_eq!(response.status(), 101);
    ws.send_text("héllo").unwrap();
    ws.send_binary(&[0, 1, 2, 255]).unwrap();
    ws.send_default_type(b"default is text").unwrap();
    assert_eq!(ws.read().unwrap(), text("héllo"));
    assert_eq!(
        ws.read().unwrap(),
        Message::Binary(vec![0, 1, 2, 255].into())
    );
    assert_eq!(ws.read().unwrap(), text("default is text"));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    match ws.read() {
        Err(Error::Closed { code, reason }) => {
            assert_eq!((code, reason.as_str()), (CloseCode::NORMAL, "done"))
        }
        other => panic!("expected a clean close, got {other:?}"),
    }
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    let ((uri, cookie, origin, host), close) = server.join().unwrap();
    assert_eq!(uri, "/chat?room=1");
    assert_eq!(cookie, "PHPSID=82u98fjh");
    assert_eq!(origin, "https://example.com");
    assert_eq!(host, url.trim_start_matches("ws://"));
    let close = close.unwrap();
    assert_eq!(
        (close.code, close.reason.as_str()),
        (TCloseCode::Normal, "done")
    );
}

#[test]
fn send_from_one_thread_while_another_is_blocked_reading() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| server::echo(server::accept(&l)));
    let (ws, _) = ws_proto_std::connect(&url).unwrap();
    let reader = {
        let ws = ws.clone();
        std::thread::spawn(move || (0..3).map(|_| ws.read().unwrap()).collect::<Vec<_>>())
    };
    // Give the reader time to block in its read: the sends below must not wait for it.
    std::thread::sleep(Duration::from_millis(50));
    for s in ["one", "two", "three"] {
        ws.send_text(s).unwrap();
    }
    assert_eq!(
        reader.join().unwrap(),
        vec![text("one"), text("two"), text("three")]
    );
    ws.close(CloseCode::new(4000), "client bye").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { code, .. }) if code == CloseCode::new(4000)));
    let close = server.join().unwrap().unwrap();
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (4000, "client bye")
    );
}

#[test]
fn server_initiated_close_with_code_and_reason() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        ws.send(tungstenite::Message::text("last words")).unwrap();
        ws.close(Some(CloseFrame {
            code: TCloseCode::from(4001),
            reason: "server bye".into(),
        }))
        .unwrap();
        // Reads until the client's echo arrives and tungstenite ends the connection.
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return,
                Err(e) => panic!("server: {e}"),
            }
        }
    });
    let (ws, _) = ws_proto_std::connect(&url).unwrap();
    assert_eq!(ws.read_event().unwrap(), Event::Message(text("last words")));
    match ws.read_event().unwrap() {
        Event::Close(frame) => {
            assert_eq!(frame.code, CloseCode::new(4001));
            assert_eq!(frame.reason, "server bye");
        }
        other => panic!("expected Close, got {other:?}"),
    }
    assert!(ws.is_closed());
    server.join().unwrap();
}

#[test]
fn tls_with_an_extra_root_certificate() {
    let (config, cert) = server::tls_server();
    let (listener, url) = server::listen();
    let wss = url.replace("ws://", "wss://");
    let server = server::spawn(listener, move |l| {
        let stream = server::accept_tls_stream(&l, &config);
        server::echo(tungstenite::accept(stream).unwrap())
    });
    let (ws, _) = Builder::new(&wss).root_certificate(cert).connect().unwrap();
    ws.send_text("over tls").unwrap();
    ws.send_binary(&[7; 100_000]).unwrap();
    assert_eq!(ws.read().unwrap(), text("over tls"));
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![7; 100_000].into()));
    ws.close(CloseCode::NORMAL, "tls done").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { reason, .. }) if reason == "tls done"));
    assert_eq!(server.join().unwrap().unwrap().reason.as_str(), "tls done");
}

#[test]
fn tls_rejects_an_unknown_certificate() {
    let (config, _) = server::tls_server();
    let (listener, url) = server::listen();
    let server = server::spawn(listener, move |l| {
        let stream = server::accept_tls_stream(&l, &config);
        assert!(tungstenite::accept(stream).is_err());
    });
    let err = ws_proto_std::connect(url.replace("ws://", "wss://")).unwrap_err();
    match &err {
        Error::Tls { host, source } => {
            assert_eq!(host, "127.0.0.1");
            let rustls_error = source
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .unwrap();
            assert!(
                matches!(rustls_error, rustls::Error::InvalidCertificate(_)),
                "{rustls_error:?}"
            );
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("TLS handshake with \"127.0.0.1\" failed: invalid peer certificate"));
    server.join().unwrap();
}

#[test]
fn handshake_rejection_reports_status_and_body() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let response = http::Response::builder()
            .status(403)
            .body(Some("go away".to_owned()))
            .unwrap();
        server::refuse(&l, response);
    });
    let err = ws_proto_std::connect(&url).unwrap_err();
    let rejection = err.rejection().expect("a rejection");
    assert_eq!(rejection.status(), 403);
    assert_eq!(rejection.reason(), "Forbidden");
    assert_eq!(&rejection.body()[..], b"go away");
    assert_eq!(
        err.to_string(),
        "handshake rejected by the server: 403 Forbidden: \"go away\""
    );
    server.join().unwrap();
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let (target, target_url) = server::listen();
    let (hop, hop_url) = server::listen();
    let location = format!("{target_url}/final");
    let hop_server = server::spawn(hop, move |l| {
        for _ in 0..2 {
            let response = http::Response::builder()
                .status(302)
                .header("Location", location.as_str())
                .body(None)
                .unwrap();
            server::refuse(&l, response);
        }
    });
    let target_server = server::spawn(target, |l| {
        let (tx, rx) = mpsc::channel();
        let ws = server::accept_hdr(&l, move |req: &Request, res: Response| {
            tx.send(req.uri().to_string()).unwrap();
            Ok(res)
        });
        (rx.recv().unwrap(), server::echo(ws))
    });

    // With redirects off, the 3xx is the answer, and says where it pointed.
    let err = Builder::new(&hop_url)
        .max_redirects(0)
        .connect()
        .unwrap_err();
    let rejection = err.rejection().expect("the redirect, as a rejection");
    assert!(
        rejection.status() == 302 && rejection.location().is_some_and(|l| l.ends_with("/final")),
        "{err:?}"
    );

    let (ws, _) = Builder::new(&hop_url).connect().unwrap();
    ws.send_text("arrived").unwrap();
    assert_eq!(ws.read().unwrap(), text("arrived"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    hop_server.join().unwrap();
    let (uri, _) = target_server.join().unwrap();
    assert_eq!(uri, "/final");
}

#[test]
fn the_server_chosen_subprotocol_is_reported() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let ws = server::accept_hdr(&l, |req: &Request, mut res: Response| {
            let offered = req.headers()["sec-websocket-protocol"].to_str().unwrap();
            assert_eq!(offered, "chat.v1, chat.v2");
            res.headers_mut()
                .insert("sec-websocket-protocol", "chat.v2".parse().unwrap());
            Ok(res)
        });
        server::echo(ws)
    });
    let (ws, response) = Builder::new(&url)
        .subprotocol("chat.v1")
        .subprotocol("chat.v2")
        .connect()
        .unwrap();
    assert_eq!(ws.subprotocol().as_deref(), Some("chat.v2"));
    assert_eq!(response.subprotocol(), Some("chat.v2"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    server.join().unwrap();
}

#[test]
fn keepalive_pings_and_a_dead_server_is_detected_by_the_pong_timeout() {
    let (listener, url) = server::listen();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = server::spawn(listener, move |l| {
        let mut ws = server::accept(&l);
        // Reading answers pings (tungstenite queues the pong and flushes it on the next read),
        // until the client says stop; then the server goes silent with the socket still open.
        loop {
            if let tungstenite::Message::Text(t) = ws.read().unwrap() {
                assert_eq!(t.as_str(), "stop");
                break;
            }
        }
        // Holds the connection open without reading until the test is over.
        let _ = stop_rx.recv_timeout(server::IO_TIMEOUT);
    });
    let (ws, _) = Builder::new(&url)
        .ping_interval(Duration::from_millis(50))
        .pong_timeout(Duration::from_millis(200))
        .connect()
        .unwrap();
    // The core's keepalive ping is answered while the server reads.
    let mut events = 0;
    loop {
        events += 1;
        assert!(events < 10, "no pong");
        if let Event::Pong(pong) = ws.read_event().unwrap() {
            assert!(pong.payload.is_empty() && pong.rtt.is_some());
            break;
        }
    }
    ws.send_text("stop").unwrap();
    let silent_since = Instant::now();
    let error = loop {
        match ws.read_event() {
            Err(error) => break error,
            Ok(Event::Pong(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    let waited = silent_since.elapsed();
    assert!(matches!(error, Error::Timeout(Timeout::Pong)), "{error:?}");
    assert_eq!(error.close_code(), CloseCode::ABNORMAL);
    // The next ping goes out within 50 ms, then 200 ms of silence ends the connection.
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    stop_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn the_close_timeout_fires_while_another_thread_reads() {
    let (listener, url) = server::listen();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = server::spawn(listener, move |l| {
        let _ws = server::accept(&l);
        // Never reads: the client's Close is never answered.
        let _ = stop_rx.recv_timeout(server::IO_TIMEOUT);
    });
    let (ws, _) = Builder::new(&url)
        .close_timeout(Duration::from_millis(150))
        .connect()
        .unwrap();
    let reader = {
        let ws = ws.clone();
        std::thread::spawn(move || ws.read_event())
    };
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    ws.close(CloseCode::NORMAL, "").unwrap();
    let result = reader.join().unwrap();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Close))),
        "{result:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(1),
        "{waited:?}"
    );
    stop_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn connection_refused_names_every_address_tried() {
    let (listener, url) = server::listen();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    match ws_proto_std::connect(&url).unwrap_err() {
        Error::Connect {
            host,
            port,
            attempts,
        } => {
            assert_eq!((host.as_str(), port), ("127.0.0.1", addr.port()));
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].0, addr);
            assert_eq!(attempts[0].1.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[test]
fn the_connect_timeout_covers_a_stalled_tls_handshake() {
    // A server that accepts TCP and never says a word of TLS.
    let (listener, url) = server::listen();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let server = server::spawn(listener, move |l| {
        let _held = l.accept().unwrap();
        let _ = stop_rx.recv_timeout(server::IO_TIMEOUT);
    });
    let started = Instant::now();
    let err = Builder::new(url.replace("ws://", "wss://"))
        .connect_timeout(Duration::from_millis(300))
        .handshake_timeout(None)
        .connect()
        .unwrap_err();
    assert!(
        matches!(&err, Error::ConnectTimeout { host, timeout, .. } if host == "127.0.0.1" && *timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    // Bounded by the timeout, not by the server (which would hold on for IO_TIMEOUT).
    assert!(
        started.elapsed() < server::IO_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    stop_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn a_redirect_loop_stops_at_the_limit() {
    let (listener, url) = server::listen();
    let again = format!("{url}/again");
    let server = server::spawn(listener, move |l| {
        // The first request and two redirects followed: three answers.
        for _ in 0..3 {
            let response = http::Response::builder()
                .status(307)
                .header("Location", again.as_str())
                .body(None)
                .unwrap();
            server::refuse(&l, response);
        }
    });
    let err = Builder::new(&url).max_redirects(2).connect().unwrap_err();
    assert!(
        matches!(&err, Error::Redirect(RedirectError::TooMany { limit: 2, location }) if location.ends_with("/again")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("more than 2 redirects (next was \"{url}/again\")")
    );
    server.join().unwrap();
}

#[test]
fn an_invalid_request_is_refused_before_connecting() {
    let err = Builder::new("ws://127.0.0.1:1/")
        .header("Bad\r\nHeader", "x")
        .connect()
        .unwrap_err();
    assert!(matches!(err, Error::Request(_)), "{err:?}");
}

/// A TCP transport that records how many bytes each write was given.
struct CountingTcp {
    stream: std::net::TcpStream,
    offered: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl CountingTcp {
    fn connect(addr: std::net::SocketAddr) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
        let offered = std::sync::Arc::default();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        let transport = CountingTcp {
            stream,
            offered: std::sync::Arc::clone(&offered),
        };
        (transport, offered)
    }
}

impl ws_proto_std::Transport for CountingTcp {
    fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        ws_proto_std::Transport::read(&self.stream, buf)
    }
    fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
        self.offered.lock().unwrap().push(buf.len());
        ws_proto_std::Transport::write_all(&self.stream, buf)
    }
    fn write_all_vectored(&self, bufs: &mut [std::io::IoSlice<'_>]) -> std::io::Result<()> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.offered.lock().unwrap().push(len);
        ws_proto_std::Transport::write_all_vectored(&self.stream, bufs)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        ws_proto_std::Transport::set_read_timeout(&self.stream, timeout)
    }
    fn shutdown(&self) -> std::io::Result<()> {
        ws_proto_std::Transport::shutdown(&self.stream)
    }
}

#[test]
fn feeds_then_one_flush_make_one_write() {
    let (listener, url) = server::listen();
    let addr = listener.local_addr().unwrap();
    let server = server::spawn(listener, |l| server::echo(server::accept(&l)));
    let (transport, offered) = CountingTcp::connect(addr);
    let writes = || offered.lock().unwrap().len();
    let (ws, _) = Builder::new(&url).connect_transport(transport).unwrap();
    let before = writes();
    for i in 0..100 {
        ws.feed_text(&format!("m{i}")).unwrap();
    }
    ws.feed_binary(&[1, 2, 3]).unwrap();
    assert_eq!(writes(), before, "feeding writes nothing");
    ws.flush().unwrap();
    assert_eq!(writes(), before + 1, "one flush, one write");
    for i in 0..100 {
        assert_eq!(ws.read().unwrap(), text(&format!("m{i}")));
    }
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![1, 2, 3].into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    server.join().unwrap();
}

#[test]
fn an_owned_large_payload_goes_out_with_its_header_in_one_write() {
    let (listener, url) = server::listen();
    let addr = listener.local_addr().unwrap();
    let server = server::spawn(listener, |l| server::echo(server::accept(&l)));
    let (transport, offered) = CountingTcp::connect(addr);
    let (ws, _) = Builder::new(&url).connect_transport(transport).unwrap();
    let before = offered.lock().unwrap().len();
    let large: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    ws.send(Message::Binary(large.clone().into())).unwrap();
    // The header (2 bytes, an 8-byte length, the 4-byte key) and the payload, masked where it
    // lies, in one gathering write.
    assert_eq!(offered.lock().unwrap()[before..], [14 + (1 << 20)]);
    assert_eq!(ws.read().unwrap(), Message::Binary(large.into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    server.join().unwrap();
}

/// The server closes with 4001 "bye" and reads until the client's answer.
fn close_with_bye(ws: &mut tungstenite::WebSocket<std::net::TcpStream>) {
    ws.close(Some(CloseFrame {
        code: 4001.into(),
        reason: "bye".into(),
    }))
    .unwrap();
    while ws.read().is_ok() {}
}

#[test]
fn read_answers_pings_between_messages_and_ends_with_the_close() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        ws.send(tungstenite::Message::text("first")).unwrap();
        ws.send(tungstenite::Message::Ping(b"are you there".to_vec().into()))
            .unwrap();
        ws.send(tungstenite::Message::binary(vec![9; 70_000]))
            .unwrap();
        // Everything the client sends before the Close: the pong, then whatever it echoes.
        let mut seen = Vec::new();
        loop {
            match ws.read().unwrap() {
                tungstenite::Message::Text(t) if t.as_str() == "got both" => break,
                other => seen.push(other),
            }
        }
        close_with_bye(&mut ws);
        seen
    });
    let (ws, _) = Builder::new(&url).connect().unwrap();
    assert_eq!(ws.read().unwrap(), text("first"));
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![9; 70_000].into()));
    ws.send_text("got both").unwrap();
    assert!(matches!(
        ws.read(),
        Err(Error::Closed { code, reason }) if code == CloseCode::new(4001) && reason == "bye"
    ));
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    assert_eq!(
        server.join().unwrap(),
        [tungstenite::Message::Pong(b"are you there".to_vec().into())]
    );
}

#[test]
fn read_with_lends_every_message_in_order_between_pings_and_ends_with_the_close() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        // Written together, so the client reads runs of them at once.
        for i in 0u32..1000 {
            ws.write(tungstenite::Message::binary(i.to_be_bytes().to_vec()))
                .unwrap();
        }
        ws.write(tungstenite::Message::Ping(b"p".to_vec().into()))
            .unwrap();
        ws.write(tungstenite::Message::text("héllo")).unwrap();
        ws.write(tungstenite::Message::binary(vec![9; 70_000]))
            .unwrap();
        ws.flush().unwrap();
        let seen = ws.read().unwrap();
        close_with_bye(&mut ws);
        seen
    });
    let (ws, _) = Builder::new(&url).connect().unwrap();
    for i in 0u32..1000 {
        assert_eq!(
            ws.read_with(|m| m.to_message()).unwrap(),
            Message::binary(i.to_be_bytes().to_vec())
        );
    }
    assert_eq!(
        ws.read_with(|m| m.to_text().map(str::to_owned))
            .unwrap()
            .as_deref(),
        Some("héllo")
    );
    assert_eq!(
        ws.read_with(|m| (m.message_type(), m.len())).unwrap(),
        (ws_proto_std::MessageType::Binary, 70_000)
    );
    ws.send_text("got all").unwrap();
    assert!(matches!(
        ws.read_with(|_| ()),
        Err(Error::Closed { code, reason }) if code == CloseCode::new(4001) && reason == "bye"
    ));
    assert!(matches!(ws.read_with(|_| ()), Err(Error::AlreadyClosed)));
    // The pong came before the text: the server's read after its burst saw it first.
    assert_eq!(
        server.join().unwrap(),
        tungstenite::Message::Pong(b"p".to_vec().into())
    );
}

/// Issue 16, item 1: a loop of feeds writes out at the high-water mark and carries on, as
/// tungstenite's `write` does, where it used to stop with `BufferFull` at message 47,663.
#[test]
fn a_million_feeds_then_one_flush_deliver_every_message() {
    const COUNT: usize = 1_000_000;
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        let mut count = 0;
        loop {
            match ws.read().unwrap() {
                tungstenite::Message::Binary(data) => {
                    assert_eq!(&data[..], &[7; 16], "message {count}");
                    count += 1;
                }
                tungstenite::Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = ws.flush();
        count
    });
    let (ws, _) = ws_proto_std::connect(&url).unwrap();
    for _ in 0..COUNT {
        ws.feed_binary(&[7; 16]).unwrap();
    }
    ws.flush().unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    assert_eq!(server.join().unwrap(), COUNT);
}

/// `try_feed` is the non-blocking feed: a full buffer is refused and the message not queued.
#[test]
fn try_feed_refuses_a_full_buffer_and_queues_nothing() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        let mut got = Vec::new();
        while let Ok(message) = ws.read() {
            if let tungstenite::Message::Binary(data) = message {
                assert!(data.len() == 600 && data.iter().all(|&b| b == data[0]));
                got.push(data[0]);
            }
        }
        got
    });
    let (ws, _) = Builder::new(&url)
        .send_high_water_mark(1000)
        .connect()
        .unwrap();
    ws.try_feed(Message::binary(vec![1; 600])).unwrap();
    ws.try_feed(Message::binary(vec![2; 600])).unwrap();
    match ws.try_feed(Message::binary(vec![3; 600])) {
        Err(Error::Send(ws_proto_std::SendError::BufferFull { limit: 1000, .. })) => {}
        other => panic!("expected BufferFull, got {other:?}"),
    }
    // The blocking feed writes the two out and queues the third.
    ws.feed(Message::binary(vec![4; 600])).unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    assert_eq!(server.join().unwrap(), [1, 2, 4]);
}

/// Issue 16, item 5: bytes keep their type. `send` takes a `Message`; only
/// `send_default_type` applies Workerman's `websocketType`, and says so in its name.
#[test]
fn bytes_are_never_sent_as_text_unless_asked() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        let mut got = Vec::new();
        while let Ok(message) = ws.read() {
            if message.is_text() || message.is_binary() {
                got.push(message);
            }
        }
        got
    });
    let (ws, _) = ws_proto_std::connect(&url).unwrap();
    ws.send(Message::binary(&b"valid UTF-8"[..])).unwrap();
    ws.feed(Message::binary(vec![0xff])).unwrap();
    ws.send_binary(b"also binary").unwrap();
    ws.send_default_type(b"text by default").unwrap();
    assert!(matches!(
        ws.send_default_type(&[0xff]),
        Err(Error::Send(ws_proto_std::SendError::InvalidUtf8))
    ));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    assert_eq!(
        server.join().unwrap(),
        [
            tungstenite::Message::binary(&b"valid UTF-8"[..]),
            tungstenite::Message::binary(vec![0xff]),
            tungstenite::Message::binary(&b"also binary"[..]),
            tungstenite::Message::text("text by default"),
        ]
    );
}
