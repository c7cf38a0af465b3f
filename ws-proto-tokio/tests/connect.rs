//! Connecting: plain and TLS echo, subprotocol choice, rejection, redirects, transport errors,
//! a protocol violation, and close handshakes in both directions, all against real servers on
//! loopback.
// tungstenite's handshake callback fixes the shape of its `Result`.
#![allow(clippy::result_large_err)]

mod common;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_proto_tokio::{Builder, CloseCode, CloseFrame, Error, Event, Message, RedirectError};

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[tokio::test]
async fn echo_text_and_binary_then_client_closes() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move { common::echo(common::accept(&listener).await).await });

    let (mut ws, response) = ws_proto_tokio::connect(&format!("ws://{addr}/echo"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(ws.get_ref().get_ref().unwrap().nodelay().unwrap());
    ws.send(text("héllo")).await.unwrap();
    ws.send(Message::Binary(vec![0, 1, 2, 255].into()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("héllo"))
    );
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(Message::Binary(vec![0, 1, 2, 255].into()))
    );

    ws.close(CloseCode::new(4000), "client bye").await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Close(CloseFrame {
            code: CloseCode::new(4000),
            reason: "client bye".into()
        })
    );
    assert!(ws.next().await.is_none());
    assert_eq!(server.await.unwrap(), Some((4000, "client bye".to_owned())));
}

#[tokio::test]
async fn server_closes_with_code_and_reason() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        ws.send(TMessage::text("last words")).await.unwrap();
        ws.close(Some(TCloseFrame {
            code: TCloseCode::Away,
            reason: "server bye".into(),
        }))
        .await
        .unwrap();
        // The client's echo of the Close.
        let echo = match ws.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => u16::from(frame.code),
            other => panic!("expected the client's Close, got {other:?}"),
        };
        drop(ws);
        echo
    });

    let (mut ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("last words"))
    );
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Close(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "server bye".into()
        })
    );
    assert!(ws.next().await.is_none());
    assert_eq!(server.await.unwrap(), 1001);
}

#[tokio::test]
async fn read_with_lends_every_message_in_order_between_pings_and_ends_with_the_close() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let mut ws = common::accept(&listener).await;
        // Fed together, so the client reads runs of them at once.
        for i in 0u32..1000 {
            ws.feed(TMessage::binary(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
        ws.feed(TMessage::Ping(b"p".to_vec().into())).await.unwrap();
        ws.feed(TMessage::text("héllo")).await.unwrap();
        ws.feed(TMessage::binary(vec![9; 70_000])).await.unwrap();
        ws.flush().await.unwrap();
        let seen = ws.next().await.unwrap().unwrap();
        ws.close(Some(TCloseFrame {
            code: TCloseCode::Library(4001),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        while let Some(Ok(_)) = ws.next().await {}
        seen
    });

    let (ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    // Half of it through the reader of a split socket, which lends the same way.
    let (writer, mut reader) = ws.split();
    for i in 0u32..500 {
        let read = reader.read_with(|m| m.to_message()).await.unwrap();
        assert_eq!(read, Message::binary(i.to_be_bytes().to_vec()));
    }
    let mut ws = reader.reunite(writer).unwrap();
    for i in 500u32..1000 {
        let read = ws.read_with(|m| m.to_message()).await.unwrap();
        assert_eq!(read, Message::binary(i.to_be_bytes().to_vec()));
    }
    let read = ws.read_with(|m| m.to_text().map(str::to_owned)).await;
    assert_eq!(read.unwrap().as_deref(), Some("héllo"));
    let read = ws.read_with(|m| (m.message_type(), m.len())).await;
    assert_eq!(read.unwrap(), (ws_proto_tokio::MessageType::Binary, 70_000));
    ws.send(text("got all")).await.unwrap();
    assert!(matches!(
        ws.read_with(|_| ()).await,
        Err(Error::Closed { code, reason }) if code == CloseCode::new(4001) && reason == "bye"
    ));
    assert!(matches!(
        ws.read_with(|_| ()).await,
        Err(Error::AlreadyClosed)
    ));
    // The pong came before the text: the server's read after its burst saw it first.
    assert_eq!(server.await.unwrap(), TMessage::Pong(b"p".to_vec().into()));
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Wakes(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Wakes {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Polls `future` once with the task's tokio budget spent, as a task polling a thousand
/// sockets in one `join_all` does before it yields; also whether the poll's waker was woken
/// once the task yielded.
async fn poll_out_of_budget<F>(future: &mut F) -> (std::task::Poll<F::Output>, bool)
where
    F: std::future::Future + Unpin,
{
    use std::task::{Context, Poll, Waker};
    let mut spend = Context::from_waker(Waker::noop());
    while let Poll::Ready(progress) = tokio::task::coop::poll_proceed(&mut spend) {
        progress.made_progress();
    }
    let wakes = std::sync::Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let polled = std::pin::Pin::new(future).poll(&mut Context::from_waker(&waker));
    tokio::task::yield_now().await;
    (
        polled,
        wakes.0.load(std::sync::atomic::Ordering::SeqCst) > 0,
    )
}

#[tokio::test]
async fn a_task_out_of_budget_yields_its_writes_and_reads_and_is_woken_to_go_on() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move { common::echo(common::accept(&listener).await).await });
    let (mut ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();

    ws.feed(text("queued")).await.unwrap();
    let mut send = Box::pin(ws.send(text("sent")));
    let (polled, woken) = poll_out_of_budget(&mut send).await;
    assert!(
        polled.is_pending() && woken,
        "the write waits for the next poll"
    );
    send.await.unwrap();
    // Both echoes wait in the socket: out of budget, the reader does not read them.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut next = ws.next();
    let (polled, woken) = poll_out_of_budget(&mut next).await;
    assert!(
        polled.is_pending() && woken,
        "the read waits for the next poll"
    );
    assert_eq!(next.await.unwrap().unwrap(), Event::Message(text("queued")));
    // A message already read is handed out whatever the budget.
    let (polled, _) = poll_out_of_budget(&mut ws.next()).await;
    assert!(matches!(
        polled,
        std::task::Poll::Ready(Some(Ok(Event::Message(m)))) if m == text("sent")
    ));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while ws.next().await.is_some() {}
    assert_eq!(server.await.unwrap(), Some((1000, String::new())));
}

#[tokio::test]
async fn subprotocol_chosen_by_the_server() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let choose = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let offered = req.headers()["Sec-WebSocket-Protocol"].to_str().unwrap();
            assert_eq!(offered, "chat.v1, chat.v2");
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat.v2".parse().unwrap());
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(tcp, choose)
            .await
            .unwrap();
        common::echo(ws).await
    });

    let (mut ws, response) = Builder::new(format!("ws://{addr}/"))
        .subprotocol("chat.v1")
        .subprotocol("chat.v2")
        .connect()
        .await
        .unwrap();
    assert_eq!(response.subprotocol(), Some("chat.v2"));
    assert_eq!(ws.subprotocol(), Some("chat.v2"));
    ws.send(text("in v2")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("in v2"))
    );
}

#[tokio::test]
async fn rejection_reports_status_reason_and_body() {
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let deny = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
            Err(http::Response::builder()
                .status(403)
                .body(Some("no entry".to_owned()))
                .unwrap())
        };
        let _ = tokio_tungstenite::accept_hdr_async(tcp, deny).await;
    });

    let err = ws_proto_tokio::connect(&format!("ws://{addr}/private"))
        .await
        .unwrap_err();
    let Error::Rejected(rejection) = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(rejection.status(), 403);
    assert_eq!(rejection.reason(), "Forbidden");
    assert_eq!(&rejection.body()[..], b"no entry");
    assert_eq!(
        err.to_string(),
        "handshake rejected by the server: 403 Forbidden: \"no entry\""
    );
}

/// Answers every connection on `listener` with a 302 to `location`.
async fn redirector(listener: tokio::net::TcpListener, location: String) {
    loop {
        let (mut tcp, _) = listener.accept().await.unwrap();
        common::read_request(&mut tcp).await;
        let answer =
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
        tcp.write_all(answer.as_bytes()).await.unwrap();
    }
}

#[tokio::test]
async fn redirect_is_followed_with_headers() {
    let (target, target_addr) = common::listen().await;
    let (moved, moved_addr) = common::listen().await;
    tokio::spawn(redirector(moved, format!("ws://{target_addr}/new?x=1")));
    let server = tokio::spawn(async move {
        let (tcp, _) = target.accept().await.unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let record = seen.clone();
        let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let token = req.headers()["X-Token"].to_str().unwrap();
            *record.lock().unwrap() = format!("{} {token}", req.uri());
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .unwrap();
        common::echo(ws).await;
        let seen = seen.lock().unwrap().clone();
        seen
    });

    let (mut ws, _) = Builder::new(format!("ws://{moved_addr}/old"))
        .header("X-Token", "t1")
        .connect()
        .await
        .unwrap();
    ws.send(text("arrived")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("arrived"))
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while ws.next().await.is_some() {}
    assert_eq!(server.await.unwrap(), "/new?x=1 t1");
}

#[tokio::test]
async fn redirect_limit() {
    let (listener, addr) = common::listen().await;
    // A redirect to itself, forever.
    tokio::spawn(redirector(listener, format!("ws://{addr}/again")));

    let err = Builder::new(format!("ws://{addr}/"))
        .max_redirects(3)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Redirect(RedirectError::TooMany { limit: 3, location }) if location == &format!("ws://{addr}/again")),
        "{err:?}"
    );

    let err = Builder::new(format!("ws://{addr}/"))
        .max_redirects(0)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected(r) if r.status() == 302),
        "{err:?}"
    );
}

/// Issue 16, item 2: over a stream the caller made (a proxy tunnel, say), `wss://` means TLS
/// over that stream with the builder's roots and the URL's host, as std's `connect_transport`
/// does. It used to send the HTTP request in plaintext, and the TLS server saw garbage.
#[tokio::test]
async fn wss_over_a_given_stream_runs_tls_over_it() {
    let (cert, addr, server) = common::tls_echo_server().await;

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = Builder::new(format!("wss://localhost:{}/tunnel", addr.port()))
        .root_certificate(cert)
        .connect_with(tcp)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(matches!(
        ws.get_ref(),
        ws_proto_tokio::MaybeTlsStream::Tls(_)
    ));
    assert_eq!(ws.get_ref().get_ref().unwrap().peer_addr().unwrap(), addr);
    ws.send(text("through the tunnel")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("through the tunnel"))
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while ws.next().await.is_some() {}
    assert_eq!(server.await.unwrap(), Some((1000, String::new())));

    // Without the root, the certificate is refused, and nothing is sent in the clear.
    let (_, acceptor) = common::tls_server();
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        acceptor.accept(tcp).await.is_err()
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let err = Builder::new(format!("wss://localhost:{}/", addr.port()))
        .connect_with(tcp)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { host, .. } if host == "localhost"),
        "{err:?}"
    );
    assert!(
        server.await.unwrap(),
        "the server saw a refused TLS handshake"
    );
}

#[tokio::test]
async fn tls_with_a_test_root() {
    let (cert, addr, server) = common::tls_echo_server().await;

    // "localhost" may resolve to ::1 first, where nothing listens: the next address is tried.
    let (mut ws, _) = Builder::new(format!("wss://localhost:{}/secure", addr.port()))
        .root_certificate(cert)
        .connect()
        .await
        .unwrap();
    assert!(matches!(
        ws.get_ref(),
        ws_proto_tokio::MaybeTlsStream::Tls(_)
    ));
    ws.send(text("over tls")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("over tls"))
    );
    ws.close(CloseCode::NORMAL, "tls bye").await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Close(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "tls bye".into()
        })
    );
    assert_eq!(server.await.unwrap(), Some((1000, "tls bye".to_owned())));
}

#[tokio::test]
async fn tls_rejects_an_untrusted_certificate() {
    let (_, acceptor) = common::tls_server();
    let (listener, addr) = common::listen().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });

    let err = ws_proto_tokio::connect(&format!("wss://127.0.0.1:{}/", addr.port()))
        .await
        .unwrap_err();
    let Error::Tls { host, source } = &err else {
        panic!("expected a TLS error, got {err:?}");
    };
    assert_eq!(host, "127.0.0.1");
    let rustls_error = source
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap();
    assert!(
        matches!(rustls_error, rustls::Error::InvalidCertificate(_)),
        "{rustls_error:?}"
    );
    assert!(
        err.to_string()
            .starts_with("TLS handshake with \"127.0.0.1\" failed: invalid peer certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn refused_tcp_connect_names_the_address() {
    let (listener, addr) = common::listen().await;
    drop(listener);
    let err = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap_err();
    let Error::Connect { attempts, .. } = &err else {
        panic!("expected a connect error, got {err:?}");
    };
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].0, addr);
    assert_eq!(attempts[0].1.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(
        err.to_string().starts_with(&format!(
            "TCP connect to 127.0.0.1:{} failed: {addr}: ",
            addr.port()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_request_is_reported_before_any_io() {
    let err = Builder::new("ws://example.com/")
        .header("Bad\r\nHeader", "x")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Request(_)), "{err:?}");
    let err = ws_proto_tokio::connect("http://example.com/")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid request: unsupported URL scheme \"http\" (expected ws or wss)"
    );
}

#[tokio::test]
async fn protocol_violation_sends_1002_before_the_stream_ends() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        common::accept_raw(&mut tcp).await;
        // A masked frame from a server is a protocol error.
        tcp.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
            .await
            .unwrap();
        common::read_frame(&mut tcp).await
    });

    let (mut ws, _) = ws_proto_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let err = ws.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ws_proto::ProtocolError::MaskedFrame)),
        "{err:?}"
    );
    assert!(ws.next().await.is_none());
    let (opcode, payload) = server.await.unwrap();
    assert_eq!(opcode, 0x8);
    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
    assert_eq!(&payload[2..], b"masked frame from the server");
}

#[tokio::test]
async fn connect_with_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("ws-proto-tokio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (unix, _) = listener.accept().await.unwrap();
        common::echo(tokio_tungstenite::accept_async(unix).await.unwrap()).await
    });

    let unix = tokio::net::UnixStream::connect(&path).await.unwrap();
    let (mut ws, _) = Builder::new("ws://localhost/over-unix")
        .connect_with(unix)
        .await
        .unwrap();
    ws.send(text("via unix")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Message(text("via unix"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A port from tokio-tungstenite keeps its `http::Request`: the method, every header (the
/// handshake's own included), the subprotocols and the origin come through, and the response
/// reads as an `http::Response`.
#[tokio::test]
async fn an_http_request_built_for_tokio_tungstenite_connects_as_it_is() {
    let (listener, addr) = common::listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let choose = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let header = |name: &str| req.headers()[name].to_str().unwrap().to_owned();
            record.lock().unwrap().extend([
                req.uri().to_string(),
                header("Authorization"),
                header("Origin"),
                header("Sec-WebSocket-Protocol"),
            ]);
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat.v1".parse().unwrap());
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(tcp, choose)
            .await
            .unwrap();
        common::echo(ws).await;
        let seen = seen.lock().unwrap().clone();
        seen
    });
    let request = ws_proto_tokio::http::Request::get(format!("ws://{addr}/feed?x=1"))
        .header("Host", addr.to_string())
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Protocol", "chat.v1, chat.v2")
        .header("Origin", "https://example.com")
        .header("Authorization", "Bearer t0ken")
        .body(())
        .unwrap();
    let (mut ws, response) = ws_proto_tokio::connect(request).await.unwrap();
    let response = response.to_http();
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    assert_eq!(response.headers()["upgrade"], "websocket");
    ws.send(text("ported")).await.unwrap();
    assert_eq!(ws.read().await.unwrap(), text("ported"));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while ws.next().await.is_some() {}
    assert_eq!(
        server.await.unwrap(),
        [
            "/feed?x=1",
            "Bearer t0ken",
            "https://example.com",
            "chat.v1, chat.v2"
        ]
    );
    // An `http::Uri` goes the same way, and a method other than GET is refused before
    // connecting.
    let uri: ws_proto_tokio::http::Uri = format!("ws://{addr}/").parse().unwrap();
    let post = ws_proto_tokio::http::Request::post(uri).body(()).unwrap();
    assert!(matches!(
        ws_proto_tokio::connect(post).await,
        Err(Error::Request(ws_proto_tokio::RequestError::UnsupportedMethod(m))) if m == "POST"
    ));
}
