//! WebSockets over HTTP/2 (RFC 8441) with the tokio adapter against servers that are not ours:
//! axum's WebSocket upgrade served over HTTP/2 by hyper (extended CONNECT enabled), TLS by
//! tokio-rustls with a certificate made in the test (trusted through `root_certificate`); h2's
//! own server where a stream must be reset, the connection sent away or drained, or a CONNECT
//! left unanswered; and for permessage-deflate, which axum lacks, Python websockets behind an
//! RFC 8441 gateway. Loopback only; every test is bounded.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{self, WebSocket as AxumSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use futures_util::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::CertificateDer;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use ws_proto_tokio::{
    Builder, CloseCode, Error, Event, Http2Error, Http2Pool, HttpVersion, MaybeTlsStream, Message,
    StreamReset,
};

const BOUND: Duration = Duration::from_secs(60);

/// Runs `test` on a current-thread runtime within [`BOUND`].
fn run<F: Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(BOUND, test)
                .await
                .expect("the test took too long")
        });
}

/// A loopback TLS server and what it counted.
struct Server {
    url: String,
    cert: CertificateDer<'static>,
    /// TCP connections accepted.
    accepts: Arc<AtomicUsize>,
    /// Connections whose HTTP serving ended.
    ended: Arc<AtomicUsize>,
}

impl Server {
    fn builder(&self, path: &str) -> Builder {
        Builder::new(format!("{}{path}", self.url)).root_certificate(self.cert.clone())
    }

    /// A WebSocket to `path` through `pool`, opened.
    async fn open_pooled(
        &self,
        path: &str,
        pool: &Http2Pool,
    ) -> ws_proto_tokio::WebSocket<MaybeTlsStream> {
        let (socket, _) = self.builder(path).http2_pool(pool).connect().await.unwrap();
        socket
    }

    fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `n` connections have ended.
    async fn wait_ended(&self, n: usize) {
        while self.ended.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A TLS configuration for 127.0.0.1 whose ALPN offers `alpn`.
fn tls_config(alpn: &[&[u8]]) -> (Arc<ServerConfig>, CertificateDer<'static>) {
    let (config, cert) = common::server_config(None);
    let mut config = (*config).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (Arc::new(config), cert.der().clone())
}

/// Accepts TLS connections on a new listener and hands each to `serve`, counting accepts and
/// the ends of `serve`.
async fn listen<F, Fut>(alpn: &[&[u8]], serve: F) -> Server
where
    F: Fn(tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (config, cert) = tls_config(alpn);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let accepts = Arc::new(AtomicUsize::new(0));
    let ended = Arc::new(AtomicUsize::new(0));
    let (counted, ends) = (accepts.clone(), ended.clone());
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        let acceptor = TlsAcceptor::from(config);
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            let (acceptor, ends, serve) = (acceptor.clone(), ends.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve(tls).await;
                }
                ends.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Server {
        url,
        cert,
        accepts,
        ended,
    }
}

/// The axum application: `/echo` echoes text and binary (subprotocol `chat` if offered),
/// `/close` closes with 4001 "bye" after its first message, `/reject` answers 400.
fn app() -> Router {
    async fn echo(mut socket: AxumSocket) {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, ws::Message::Text(_) | ws::Message::Binary(_))
                && socket.send(message).await.is_err()
            {
                break;
            }
        }
    }
    async fn close_after_one(mut socket: AxumSocket) {
        let _ = socket.recv().await;
        let frame = ws::CloseFrame {
            code: 4001,
            reason: "bye".into(),
        };
        let _ = socket.send(ws::Message::Close(Some(frame))).await;
        while let Some(Ok(_)) = socket.recv().await {}
    }
    Router::new()
        .route(
            "/echo",
            any(|ws: WebSocketUpgrade| async move { ws.protocols(["chat"]).on_upgrade(echo) }),
        )
        .route(
            "/close",
            any(|ws: WebSocketUpgrade| async move { ws.on_upgrade(close_after_one) }),
        )
        .route(
            "/reject",
            any(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    [("x-reason", "not here")],
                    "no websocket here",
                )
                    .into_response()
            }),
        )
}

/// axum over hyper's HTTP/1.1 and HTTP/2 (as ALPN chose), with extended CONNECT enabled or
/// not.
async fn axum_server(alpn: &[&[u8]], extended_connect: bool) -> Server {
    serve_app(app(), alpn, extended_connect).await
}

async fn serve_app(app: Router, alpn: &[&[u8]], extended_connect: bool) -> Server {
    listen(alpn, move |tls| {
        let app = app.clone();
        async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if extended_connect {
                builder.http2().enable_connect_protocol();
            }
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
        }
    })
    .await
}

const H2_AND_H1: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Text of exactly `len` bytes, not all one character.
fn text(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The next data message, whatever pings or pongs come between.
async fn next_message<T>(socket: &mut ws_proto_tokio::WebSocket<T>) -> Message
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    socket.read().await.expect("a message")
}

/// Sends `message` and expects it back.
async fn assert_echoes<T>(socket: &mut ws_proto_tokio::WebSocket<T>, message: Message)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    socket.send(message.clone()).await.unwrap();
    assert_eq!(next_message(socket).await, message);
}

/// Closes with 1000 "done" and expects the server's echo of it, then the end.
async fn close_cleanly(mut socket: ws_proto_tokio::WebSocket<MaybeTlsStream>) {
    socket.close(CloseCode::NORMAL, "done").await.unwrap();
    match socket.next().await {
        Some(Ok(Event::Close(frame))) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("expected the close, got {other:?}"),
    }
    assert!(socket.next().await.is_none());
}

#[test]
fn echo_of_every_length_form_over_http2() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let (mut socket, response) = server.builder("/echo").connect().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.is_http2());
        assert!(matches!(socket.get_ref(), MaybeTlsStream::Http2(_)));
        assert!(socket.get_ref().get_ref().is_none());
        // axum offers no permessage-deflate: the offer is declined.
        assert!(response.extensions().is_empty());
        for len in [0, 1, 125, 126, 65535, 65536, 70_000, 1 << 20] {
            socket.send(Message::Text(text(len).into())).await.unwrap();
            assert_eq!(
                next_message(&mut socket).await,
                Message::Text(text(len).into()),
                "{len}"
            );
            socket
                .send(Message::Binary(binary(len).into()))
                .await
                .unwrap();
            assert_eq!(
                next_message(&mut socket).await,
                Message::Binary(binary(len).into()),
                "{len}"
            );
        }
        close_cleanly(socket).await;
        assert_eq!(server.accepts(), 1);
        // Its one WebSocket closed, the connection closes.
        server.wait_ended(1).await;
    });
}

#[test]
fn the_split_halves_and_streamed_reads_work_over_http2() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let (mut socket, _) = server
            .builder("/echo")
            .http_version(HttpVersion::Http2)
            .recv_chunk_size(1000)
            .connect()
            .await
            .unwrap();
        // A message read in parts as it arrives.
        socket
            .send(Message::Binary(binary(5000).into()))
            .await
            .unwrap();
        let mut stream = socket.read_stream().await.unwrap();
        let mut received = Vec::new();
        while let Some(chunk) = stream.next_chunk().await.unwrap() {
            received.extend_from_slice(&chunk);
        }
        assert_eq!(received, binary(5000));
        let (mut writer, mut reader) = socket.split();
        let reading = tokio::spawn(async move {
            for i in 0..100 {
                let expected = Message::Text(format!("m{i}").into());
                assert_eq!(reader.read().await.unwrap(), expected);
            }
            reader
        });
        for i in 0..100 {
            writer
                .send(Message::Text(format!("m{i}").into()))
                .await
                .unwrap();
        }
        let reader = reading.await.unwrap();
        let socket = reader.reunite(writer).unwrap();
        close_cleanly(socket).await;
    });
}

#[test]
fn the_subprotocol_is_negotiated_over_http2() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let (socket, response) = server
            .builder("/echo")
            .subprotocol("other")
            .subprotocol("chat")
            .connect()
            .await
            .unwrap();
        assert!(response.is_http2());
        assert_eq!(response.subprotocol(), Some("chat"));
        assert_eq!(socket.subprotocol(), Some("chat"));
        assert_eq!(
            response.headers().get_str("sec-websocket-protocol"),
            Some("chat")
        );
        close_cleanly(socket).await;
        // Not offered what the server speaks: none chosen.
        let (socket, response) = server
            .builder("/echo")
            .subprotocol("other")
            .connect()
            .await
            .unwrap();
        assert_eq!(response.subprotocol(), None);
        close_cleanly(socket).await;
    });
}

#[test]
fn the_servers_close_code_arrives_over_http2() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let (mut socket, response) = server.builder("/close").connect().await.unwrap();
        assert!(response.is_http2());
        socket.send(Message::Text("hello".into())).await.unwrap();
        match socket.read().await {
            Err(Error::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (CloseCode::from(4001), "bye"))
            }
            other => panic!("expected the server's close, got {other:?}"),
        }
        server.wait_ended(1).await;
    });
}

#[test]
fn a_400_to_the_connect_is_a_rejection() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let err = server.builder("/reject").connect().await.unwrap_err();
        let Error::Rejected(rejection) = &err else {
            panic!("expected a rejection, got {err:?}")
        };
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.headers().get_str("x-reason"), Some("not here"));
        assert_eq!(&rejection.body()[..], b"no websocket here");
        assert_eq!(
            err.to_string(),
            "handshake rejected by the server: 400: \"no websocket here\""
        );
        assert_eq!(server.accepts(), 1);
    });
}

#[test]
fn websockets_share_one_connection_through_a_pool() {
    for count in [2, 50] {
        run(async move {
            let server = axum_server(H2_AND_H1, true).await;
            let pool = Http2Pool::new();
            // Opened together: the first sets the connection up, the rest wait and share it.
            let opening = (0..count).map(|_| server.builder("/echo").http2_pool(&pool).connect());
            let mut sockets = Vec::new();
            for opened in futures_util::future::join_all(opening).await {
                let (socket, response) = opened.unwrap();
                assert!(response.is_http2());
                sockets.push(socket);
            }
            assert_eq!(
                server.accepts(),
                1,
                "{count} WebSockets, one TCP connection"
            );
            assert_eq!(pool.connections(), 1);
            // Interleaved traffic: every socket sends before any reads.
            for round in 0..3 {
                for (i, socket) in sockets.iter_mut().enumerate() {
                    let payload = format!("socket {i} round {round}");
                    socket.send(Message::Text(payload.into())).await.unwrap();
                }
                for (i, socket) in sockets.iter_mut().enumerate().rev() {
                    let expected = format!("socket {i} round {round}");
                    assert_eq!(next_message(socket).await, Message::Text(expected.into()));
                }
            }
            // Closing one leaves the others open; the last one closes the connection.
            let last = sockets.pop().unwrap();
            for socket in sockets.drain(..) {
                close_cleanly(socket).await;
            }
            assert_eq!(server.ended.load(Ordering::SeqCst), 0);
            let mut last = last;
            assert_echoes(&mut last, Message::Binary(binary(100_000).into())).await;
            assert_eq!(pool.connections(), 1);
            close_cleanly(last).await;
            server.wait_ended(1).await;
            assert_eq!(pool.connections(), 0);
            assert_eq!(server.accepts(), 1);
        });
    }
}

#[test]
fn without_h2_the_websocket_runs_over_http1() {
    run(async {
        // A server that speaks ALPN with http/1.1 only, and one without ALPN.
        for alpn in [&[&b"http/1.1"[..]][..], &[]] {
            let server = axum_server(alpn, true).await;
            let (mut socket, response) = server.builder("/echo").connect().await.unwrap();
            assert_eq!(response.status(), 101);
            assert!(!response.is_http2());
            assert!(matches!(socket.get_ref(), MaybeTlsStream::Tls(_)));
            assert_echoes(&mut socket, Message::Text("over 1.1".into())).await;
            close_cleanly(socket).await;
            // HTTP/2 required: ALPN offers h2 alone, which the first server refuses with an
            // alert (RFC 7301 §3.2) and the second ignores.
            let err = server
                .builder("/echo")
                .http_version(HttpVersion::Http2)
                .connect()
                .await
                .unwrap_err();
            if alpn.is_empty() {
                assert!(
                    matches!(err, Error::Http2(Http2Error::NotNegotiated)),
                    "{err:?}"
                );
            } else {
                assert!(matches!(&err, Error::Tls { .. }), "{err:?}");
                assert!(err.to_string().contains("NoApplicationProtocol"), "{err}");
            }
            assert_eq!(server.accepts(), 2);
        }
    });
}

#[test]
fn h2_without_extended_connect_falls_back_to_a_fresh_http1_connection() {
    run(async {
        let server = axum_server(H2_AND_H1, false).await;
        let (mut socket, response) = server.builder("/echo").connect().await.unwrap();
        assert_eq!(response.status(), 101);
        assert!(matches!(socket.get_ref(), MaybeTlsStream::Tls(_)));
        assert_echoes(&mut socket, Message::Text("fell back".into())).await;
        close_cleanly(socket).await;
        // The HTTP/2 connection, then the HTTP/1.1 one.
        assert_eq!(server.accepts(), 2);
        let err = server
            .builder("/echo")
            .http_version(HttpVersion::Http2)
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Http2(Http2Error::ExtendedConnectDisabled)),
            "{err:?}"
        );
        // Forced to HTTP/1.1, h2 is not offered.
        let (socket, response) = server
            .builder("/echo")
            .http_version(HttpVersion::Http1)
            .connect()
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        close_cleanly(socket).await;
        assert_eq!(server.accepts(), 4);
        // A pool remembers: after the first refusal, HTTP/1.1 at once.
        let pool = Http2Pool::new();
        for accepts in [6, 7] {
            let (socket, response) = server
                .builder("/echo")
                .http2_pool(&pool)
                .connect()
                .await
                .unwrap();
            assert_eq!(response.status(), 101);
            close_cleanly(socket).await;
            assert_eq!(server.accepts(), accepts);
        }
        assert_eq!(pool.connections(), 0);
    });
}

/// h2's own server with extended CONNECT: every stream is answered 200 and bridged to a
/// tokio-tungstenite echo, except that the first DATA on `/reset` resets its stream with
/// CANCEL (0x8), the first DATA on `/goaway` sends the whole connection away with
/// ENHANCE_YOUR_CALM (0xb), the first on `/drain` shuts the connection down gracefully (GOAWAY
/// with NO_ERROR: open streams go on, no new one is taken), and a CONNECT to `/silent` is never
/// answered.
async fn h2_server() -> Server {
    listen(&[b"h2"], |tls| async move {
        let Ok(mut connection) = h2::server::Builder::new()
            .enable_connect_protocol()
            .handshake::<_, bytes::Bytes>(tls)
            .await
        else {
            return;
        };
        let (goaway, mut goaway_asked) = tokio::sync::mpsc::unbounded_channel();
        let mut silent = Vec::new();
        loop {
            tokio::select! {
                accepted = connection.accept() => {
                    let Some(Ok((request, mut respond))) = accepted else { break };
                    let path = request.uri().path().to_owned();
                    if path == "/silent" {
                        // Never answered: held open until the connection ends.
                        silent.push(respond);
                        continue;
                    }
                    let Ok(send) = respond.send_response(http::Response::new(()), false) else {
                        continue;
                    };
                    tokio::spawn(bridge(path, request.into_body(), send, goaway.clone()));
                }
                Some(abrupt) = goaway_asked.recv() => {
                    if abrupt {
                        connection.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                    } else {
                        connection.graceful_shutdown();
                    }
                }
            }
        }
    })
    .await
}

/// One stream of [`h2_server`]: its DATA to and from a WebSocket echo over a pipe.
async fn bridge(
    path: String,
    mut recv: h2::RecvStream,
    mut send: h2::SendStream<bytes::Bytes>,
    goaway: tokio::sync::mpsc::UnboundedSender<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::Role;

    let (mut pipe, theirs) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(theirs, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary())
                && futures_util::SinkExt::send(&mut ws, message).await.is_err()
            {
                break;
            }
        }
    });
    let mut buf = vec![0; 16 << 10];
    let mut draining = false;
    loop {
        tokio::select! {
            data = recv.data() => {
                let Some(Ok(data)) = data else { break };
                let _ = recv.flow_control().release_capacity(data.len());
                match path.as_str() {
                    "/reset" => return send.send_reset(h2::Reason::CANCEL),
                    // The stream stays open: only the GOAWAY ends it.
                    "/goaway" => {
                        let _ = goaway.send(true);
                        continue;
                    }
                    // The connection drains; this stream goes on.
                    "/drain" if !draining => {
                        draining = true;
                        let _ = goaway.send(false);
                    }
                    _ => {}
                }
                if pipe.write_all(&data).await.is_err() {
                    break;
                }
            }
            read = pipe.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = send.send_data(bytes::Bytes::new(), true);
                    break;
                }
                Ok(n) => {
                    let _ = send.send_data(bytes::Bytes::copy_from_slice(&buf[..n]), false);
                }
            },
        }
    }
}

#[test]
fn one_websocket_reset_by_the_server_while_the_others_go_on() {
    run(async {
        let server = h2_server().await;
        let pool = Http2Pool::new();
        let mut sockets = Vec::new();
        for path in ["/echo", "/reset", "/echo"] {
            let (socket, response) = server
                .builder(path)
                .http2_pool(&pool)
                .connect()
                .await
                .unwrap();
            assert!(response.is_http2());
            sockets.push(socket);
        }
        assert_eq!(server.accepts(), 1);
        let mut reset = sockets.remove(1);
        reset.send(Message::Text("reset me".into())).await.unwrap();
        let err = reset.read().await.unwrap_err();
        assert!(
            matches!(err, Error::StreamReset(r) if r == StreamReset::reset(0x8)),
            "{err:?}"
        );
        assert_eq!(err.close_code(), CloseCode::ABNORMAL);
        assert_eq!(
            err.to_string(),
            "HTTP/2 stream reset (RST_STREAM) with error code 0x8 (CANCEL) without a close \
             handshake"
        );
        assert!(reset.is_closed());
        // The others on the same connection go on.
        for round in 0..3 {
            for (i, socket) in sockets.iter_mut().enumerate() {
                let message = Message::Binary(binary(1000 * (i + round)).into());
                socket.send(message.clone()).await.unwrap();
                assert_eq!(next_message(socket).await, message);
            }
        }
        for socket in sockets {
            close_cleanly(socket).await;
        }
        assert_eq!(server.accepts(), 1);
    });
}

#[test]
fn a_goaway_ends_every_websocket_on_the_connection() {
    run(async {
        let server = h2_server().await;
        let pool = Http2Pool::new();
        let mut bystander = server.open_pooled("/echo", &pool).await;
        let mut trigger = server.open_pooled("/goaway", &pool).await;
        assert_eq!(server.accepts(), 1);
        trigger.send(Message::Text("go away".into())).await.unwrap();
        let goaway = StreamReset::goaway(0xb);
        for socket in [&mut trigger, &mut bystander] {
            let err = socket.read().await.unwrap_err();
            assert!(
                matches!(err, Error::StreamReset(r) if r == goaway),
                "{err:?}"
            );
        }
        // The pool lets the dead connection go; the next WebSocket gets a new one.
        let socket = server.open_pooled("/echo", &pool).await;
        assert_eq!(server.accepts(), 2);
        close_cleanly(socket).await;
    });
}

/// An RFC 8441 gateway in front of Python's `websockets` (permessage-deflate on), as reverse
/// proxies translate WebSockets over HTTP/2 to HTTP/1.1: an axum route takes the extended
/// CONNECT, makes the HTTP/1.1 handshake with the client's extension offer, answers 200 with
/// the extensions Python agreed to, and pipes the bytes. The negotiation and the compressed
/// frames are Python's.
fn deflate_gateway(python_port: u16) -> Router {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn gateway(
        python_port: u16,
        mut request: axum::extract::Request,
    ) -> axum::response::Response {
        let offer = request
            .headers()
            .get("sec-websocket-extensions")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut python = tokio::net::TcpStream::connect(("127.0.0.1", python_port))
            .await
            .unwrap();
        let head = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{python_port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {offer}\r\n\r\n"
        );
        python.write_all(head.as_bytes()).await.unwrap();
        // The 101's head, byte by byte so nothing after it is taken.
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\n") {
            answer.push(python.read_u8().await.unwrap());
        }
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        let agreed = answer.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let mut client = TokioIo::new(upgrade.await.unwrap());
            let _ = tokio::io::copy_bidirectional(&mut client, &mut python).await;
        });
        let mut response = StatusCode::OK.into_response();
        if let Some(agreed) = agreed {
            response
                .headers_mut()
                .insert("sec-websocket-extensions", agreed.parse().unwrap());
        }
        response
    }
    Router::new().route(
        "/deflate",
        any(move |request: axum::extract::Request| gateway(python_port, request)),
    )
}

#[test]
fn permessage_deflate_is_negotiated_over_http2() {
    let python =
        ws_proto_tests::python::Server::start("deflate_echo_server.py", &["0", "0", "-", "-"]);
    run(async move {
        let server = serve_app(deflate_gateway(python.port), H2_AND_H1, true).await;
        let (mut socket, response) = server.builder("/deflate").connect().await.unwrap();
        assert!(response.is_http2());
        assert_eq!(response.status(), 200);
        let names: Vec<_> = response
            .extensions()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["permessage-deflate"]);
        let text = "all work and no play makes a dull socket. ".repeat(2000);
        for round in 0..3 {
            socket
                .send(Message::Text(text.clone().into()))
                .await
                .unwrap();
            assert_eq!(
                next_message(&mut socket).await,
                Message::Text(text.clone().into()),
                "{round}"
            );
            socket
                .send(Message::Binary(binary(70_000).into()))
                .await
                .unwrap();
            assert_eq!(
                next_message(&mut socket).await,
                Message::Binary(binary(70_000).into())
            );
        }
        // Compressed both ways: far fewer bytes on the wire than payload.
        let stats = socket.stats();
        assert_eq!(stats.payload_received, 3 * (text.len() as u64 + 70_000));
        assert!(
            stats.bytes_received * 4 < stats.payload_received,
            "{stats:?}"
        );
        assert!(stats.bytes_sent * 4 < stats.payload_sent, "{stats:?}");
        close_cleanly(socket).await;
    });
}

/// What users spawn and share stays `Send` (and the socket `Sync`) with HTTP/2 in the build.
#[test]
fn the_connect_future_and_the_socket_are_send() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Sync>() {}
    let pool = Http2Pool::new();
    send(
        &Builder::new("wss://127.0.0.1:1/")
            .http2_pool(&pool)
            .connect(),
    );
    sync::<ws_proto_tokio::WebSocket<MaybeTlsStream>>();
    sync::<Http2Pool>();
}

#[test]
fn the_handshake_timeout_bounds_the_connect() {
    run(async {
        let server = h2_server().await;
        let started = tokio::time::Instant::now();
        let err = server
            .builder("/silent")
            .handshake_timeout(Some(Duration::from_millis(300)))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Timeout(ws_proto_tokio::Timeout::Handshake)),
            "{err:?}"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
    });
}

/// A WebSocket whose reader stalls holds up its own stream only: the server's echoes to it wait
/// in its window while another WebSocket on the same connection goes on.
#[test]
fn each_websocket_has_its_own_flow_control() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let pool = Http2Pool::new();
        let mut stalled = server.open_pooled("/echo", &pool).await;
        let mut lively = server.open_pooled("/echo", &pool).await;
        assert_eq!(server.accepts(), 1);
        stalled.pause_recv();
        // Twice the stream's receive window, echoed back to a reader that does not read.
        let chunk = binary(64 << 10);
        for _ in 0..8 {
            stalled
                .send(Message::Binary(chunk.clone().into()))
                .await
                .unwrap();
        }
        for i in 0..20 {
            let message = Message::Text(format!("still here {i}").into());
            lively.send(message.clone()).await.unwrap();
            assert_eq!(next_message(&mut lively).await, message);
        }
        stalled.resume_recv();
        for _ in 0..8 {
            assert_eq!(
                next_message(&mut stalled).await,
                Message::Binary(chunk.clone().into())
            );
        }
        close_cleanly(stalled).await;
        close_cleanly(lively).await;
    });
}

#[test]
fn a_pooled_connection_outlives_its_last_websocket_by_the_idle_timeout() {
    run(async {
        let server = axum_server(H2_AND_H1, true).await;
        let pool = Http2Pool::new().idle_timeout(Duration::from_millis(300));
        let socket = server.open_pooled("/echo", &pool).await;
        close_cleanly(socket).await;
        assert_eq!(pool.connections(), 1);
        // Reused within the idle timeout.
        let mut socket = server.open_pooled("/echo", &pool).await;
        socket.send(Message::Text("again".into())).await.unwrap();
        assert_eq!(
            next_message(&mut socket).await,
            Message::Text("again".into())
        );
        close_cleanly(socket).await;
        assert_eq!(server.accepts(), 1);
        // Then closed.
        server.wait_ended(1).await;
        assert_eq!(pool.connections(), 0);
    });
}

/// The next session event that is not a ping, pong or drain.
async fn next_session_event(session: &mut ws_proto_tokio::Session) -> ws_proto_tokio::SessionEvent {
    use ws_proto_tokio::SessionEvent;
    loop {
        match session.next_event().await.expect("the session goes on") {
            SessionEvent::Ping(_) | SessionEvent::Pong(_) | SessionEvent::Drained => {}
            event => return event,
        }
    }
}

/// A reconnecting session runs over HTTP/2 too: reset by the server, it comes back on a new
/// stream of the same pooled connection.
#[test]
fn a_session_reconnects_on_the_pooled_http2_connection() {
    use ws_proto_tokio::{ReconnectPolicy, SessionEvent};
    run(async {
        let server = h2_server().await;
        let pool = Http2Pool::new();
        // Another WebSocket keeps the pooled connection open across the session's reset.
        let keeper = server.open_pooled("/echo", &pool).await;
        let mut session = server
            .builder("/reset")
            .http2_pool(&pool)
            .session(ReconnectPolicy::fixed(Duration::from_millis(20)))
            .unwrap();
        for attempt in 0..2 {
            assert!(matches!(
                next_session_event(&mut session).await,
                SessionEvent::Connected
            ));
            match next_session_event(&mut session).await {
                SessionEvent::Open(response) => assert!(response.is_http2()),
                other => panic!("expected Open, got {other:?}"),
            }
            session
                .send(Message::Text(format!("attempt {attempt}").into()))
                .await
                .unwrap();
            match next_session_event(&mut session).await {
                SessionEvent::Error(Error::StreamReset(reset)) => {
                    assert_eq!(reset, StreamReset::reset(0x8))
                }
                other => panic!("expected the reset, got {other:?}"),
            }
            match next_session_event(&mut session).await {
                SessionEvent::Closed { code, clean, .. } => {
                    assert_eq!((code, clean), (CloseCode::ABNORMAL, false))
                }
                other => panic!("expected Closed, got {other:?}"),
            }
            // The message was on the reset stream and never acknowledged: handed back.
            match next_session_event(&mut session).await {
                SessionEvent::Undelivered(messages) => assert_eq!(
                    messages,
                    [Message::Text(format!("attempt {attempt}").into())]
                ),
                other => panic!("expected Undelivered, got {other:?}"),
            }
            assert!(matches!(
                next_session_event(&mut session).await,
                SessionEvent::Reconnecting { attempt: 1, .. }
            ));
        }
        assert_eq!(server.accepts(), 1);
        close_cleanly(keeper).await;
    });
}

/// Over `ws://`, HTTP/2 required means HTTP/2 with prior knowledge (RFC 9113 §3.3), which
/// hyper's automatic server detects from the connection preface.
#[test]
fn http2_with_prior_knowledge_over_ws() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/echo", listener.local_addr().unwrap());
        let app = app();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(app))
                .await;
        });
        let (mut socket, response) = Builder::new(url.as_str())
            .http_version(HttpVersion::Http2)
            .subprotocol("chat")
            .connect()
            .await
            .unwrap();
        assert!(response.is_http2());
        assert_eq!(response.subprotocol(), Some("chat"));
        assert!(matches!(socket.get_ref(), MaybeTlsStream::Http2(_)));
        socket
            .send(Message::Text("cleartext".into()))
            .await
            .unwrap();
        assert_eq!(
            next_message(&mut socket).await,
            Message::Text("cleartext".into())
        );
        close_cleanly(socket).await;
    });
}

/// A server shutting its connection down gracefully takes no new stream: the pool opens the
/// next WebSocket on a new connection, while the one already open goes on to a clean close.
#[test]
fn a_draining_connection_is_left_for_a_new_one() {
    run(async {
        let server = h2_server().await;
        let pool = Http2Pool::new();
        let mut first = server.open_pooled("/drain", &pool).await;
        assert_echoes(&mut first, Message::Text("drain".into())).await;
        let (mut second, response) = server
            .builder("/echo")
            .http2_pool(&pool)
            .connect()
            .await
            .unwrap();
        assert!(response.is_http2());
        assert_eq!(server.accepts(), 2);
        for socket in [&mut second, &mut first] {
            socket
                .send(Message::Binary(binary(3000).into()))
                .await
                .unwrap();
            assert_eq!(
                next_message(socket).await,
                Message::Binary(binary(3000).into())
            );
        }
        close_cleanly(first).await;
        server.wait_ended(1).await;
        close_cleanly(second).await;
        server.wait_ended(2).await;
    });
}
