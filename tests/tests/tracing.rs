//! The `tracing` feature: what both adapters report, step by step, to a subscriber that records
//! every event and span of ws-proto's crates (a thread's default subscriber, so tests run in
//! parallel without mixing their records).

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::Attributes;
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use ws_proto_std::{CloseCode, Event as WsEvent, Message, ReconnectPolicy};
use ws_proto_tests::servers::Server;
use ws_proto_tests::{block_on, proxies};

/// One event or span: its level, message (a span's is `span NAME`), fields, and the spans it
/// happened in.
#[derive(Debug, Clone)]
struct Record {
    level: tracing::Level,
    message: String,
    fields: BTreeMap<String, String>,
    spans: Vec<String>,
}

impl Record {
    /// `LEVEL message k=v ... [span]`, with only the fields named in `keep`.
    fn line(&self, keep: &[&str]) -> String {
        let mut line = format!("{} {}", self.level, self.message);
        for (name, value) in &self.fields {
            if keep.contains(&name.as_str()) {
                line += &format!(" {name}={value}");
            }
        }
        if !self.spans.is_empty() {
            line += &format!(" [{}]", self.spans.join("/"));
        }
        line
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Records what ws-proto's crates report.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Record>>>);

fn ours(target: &str) -> bool {
    target.starts_with("ws_proto")
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if !ours(attrs.metadata().target()) {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.0.lock().unwrap().push(Record {
            level: *attrs.metadata().level(),
            message: format!("span {}", attrs.metadata().name()),
            fields: fields.0,
            spans: Vec::new(),
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !ours(event.metadata().target()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| scope.from_root().map(|s| s.name().to_owned()).collect())
            .unwrap_or_default();
        self.0.lock().unwrap().push(Record {
            level: *event.metadata().level(),
            message,
            fields: fields.0,
            spans,
        });
    }
}

/// Runs `f` with a recording subscriber as this thread's default; returns what it recorded.
fn recorded(f: impl FnOnce()) -> Vec<Record> {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, f);
    let records = recorder.0.lock().unwrap().clone();
    records
}

/// The lines of `records`, with the fields in `keep`.
fn lines(records: &[Record], keep: &[&str]) -> Vec<String> {
    records.iter().map(|r| r.line(keep)).collect()
}

/// Every `conn` field of `records` is the same number: one connection's events tell apart from
/// another's.
fn one_connection(records: &[Record]) {
    let conns: Vec<_> = records
        .iter()
        .filter_map(|r| r.fields.get("conn"))
        .collect();
    assert!(!conns.is_empty());
    assert!(conns.iter().all(|c| *c == conns[0]), "{conns:?}");
}

/// A tungstenite server that echoes every message until the client closes.
fn echo_server() -> Server {
    Server::start(|mut ws, _| {
        while let Ok(message) = ws.read() {
            if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                return;
            }
        }
    })
}

#[test]
fn std_reports_dns_tcp_the_handshake_messages_and_the_close_inside_a_connect_span() {
    let server = echo_server();
    let url = format!("ws://{}/", server.addr());
    let records = recorded(|| {
        let (ws, _) = ws_proto_std::connect(url.as_str()).unwrap();
        ws.send_text("hello").unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text("hello".into()));
        ws.close(CloseCode::NORMAL, "bye").unwrap();
        while !matches!(ws.read_event(), Ok(WsEvent::Close(_)) | Err(_)) {}
    });
    let port = server.addr().port();
    assert_eq!(
        lines(
            &records,
            &[
                "url",
                "host",
                "addresses",
                "addr",
                "status",
                "extensions",
                "kind",
                "len",
                "code",
                "reason",
                "clean"
            ]
        ),
        [
            format!("INFO span ws_connect url=ws://127.0.0.1:{port}/"),
            format!("DEBUG resolved addresses=[127.0.0.1:{port}] host=127.0.0.1 [ws_connect]"),
            format!("DEBUG tcp connected addr=127.0.0.1:{port} [ws_connect]"),
            "DEBUG handshake accepted extensions=[] status=101 [ws_connect]".to_owned(),
            "TRACE message sent len=5".to_owned(),
            "TRACE message received kind=Text len=5".to_owned(),
            "DEBUG close sent code=1000 reason=bye".to_owned(),
            "DEBUG close received code=1000 reason=bye".to_owned(),
            "DEBUG closed clean=true code=1000 reason=bye".to_owned(),
        ]
    );
    one_connection(&records);
}

#[test]
fn tokio_reports_tls_with_its_version_and_a_failed_tcp_attempt() {
    let (config, cert) = common::server_config(None);
    let (url, server) = common::serve_echo(config, 1);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("ws://{}/", closed.local_addr().unwrap());
    drop(closed);
    let records = recorded(|| {
        block_on(async {
            ws_proto_tokio::connect(refused.as_str()).await.unwrap_err();
            let (mut ws, _) = ws_proto_tokio::Builder::new(url.as_str())
                .root_certificate(cert.der().clone())
                .connect()
                .await
                .unwrap();
            ws.send_text("hi").await.unwrap();
            assert_eq!(ws.read().await.unwrap(), Message::Text("hi".into()));
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        })
    });
    server.join().unwrap();
    let steps: Vec<_> = lines(&records, &["server_name", "version", "status"])
        .into_iter()
        .filter(|l| !l.starts_with("TRACE") && !l.contains("close"))
        .collect();
    assert_eq!(
        steps,
        [
            "INFO span ws_connect",
            "DEBUG resolved [ws_connect]",
            "DEBUG tcp connect failed [ws_connect]",
            "INFO span ws_connect",
            "DEBUG resolved [ws_connect]",
            "DEBUG tcp connected [ws_connect]",
            "DEBUG tls established server_name=127.0.0.1 version=Some(TLSv1_3) [ws_connect]",
            "DEBUG handshake accepted status=101 [ws_connect]",
        ]
    );
    let failed = records.iter().find(|r| r.message == "tcp connect failed");
    assert!(failed.unwrap().fields["error"].contains("refused"));
}

/// A server that answers every handshake with a redirect to `location`.
fn redirecting_server(location: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut request = [0; 4096];
        let _ = tcp.read(&mut request).unwrap();
        let answer =
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
        tcp.write_all(answer.as_bytes()).unwrap();
    });
    port
}

#[test]
fn a_redirect_a_rejection_and_a_timeout_are_reported() {
    let server = echo_server();
    let target = format!("ws://{}/moved", server.addr());
    let port = redirecting_server(target.clone());
    // A server that accepts and then never answers: the keepalive pong never comes.
    let silent = Server::start(|ws, _| {
        std::thread::sleep(Duration::from_secs(2));
        drop(ws);
    });
    let records = recorded(|| {
        let url = format!("ws://127.0.0.1:{port}/");
        let (ws, _) = ws_proto_std::connect(url.as_str()).unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        while !matches!(ws.read_event(), Ok(WsEvent::Close(_)) | Err(_)) {}
        let (ws, _) = ws_proto_std::Builder::new(format!("ws://{}/", silent.addr()))
            .ping_interval(Duration::from_millis(50))
            .pong_timeout(Duration::from_millis(100))
            .connect()
            .unwrap();
        assert!(ws.read().is_err());
    });
    let notable: Vec<_> = lines(
        &records,
        &["status", "location", "followed", "timeout", "clean", "code"],
    )
    .into_iter()
    .filter(|l| {
        !l.starts_with("DEBUG resolved") && !l.starts_with("DEBUG tcp") && !l.contains("span")
    })
    .collect();
    assert_eq!(
        notable,
        [
            format!("INFO handshake rejected location={target} status=302 [ws_connect]"),
            "DEBUG closed clean=false code=1006 [ws_connect]".to_owned(),
            format!("INFO following a redirect followed=1 location={target} [ws_connect]"),
            "DEBUG handshake accepted status=101 [ws_connect]".to_owned(),
            "DEBUG close sent code=1000".to_owned(),
            "DEBUG close received code=1000".to_owned(),
            "DEBUG closed clean=true code=1000".to_owned(),
            "DEBUG handshake accepted status=101 [ws_connect]".to_owned(),
            "WARN timed out timeout=no answer to a keepalive ping in time: peer considered dead"
                .to_owned(),
            "DEBUG closed clean=false code=1006".to_owned(),
        ]
    );
}

#[test]
fn a_sessions_reconnections_are_reported_with_their_delays() {
    // Nothing listens there: every attempt fails (one that opened would reset the count).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", closed.local_addr().unwrap());
    drop(closed);
    let records = recorded(|| {
        block_on(async {
            let mut session = ws_proto_tokio::Builder::new(url.as_str())
                .session(ReconnectPolicy::fixed(Duration::from_millis(10)).with_max_attempts(2))
                .unwrap();
            let mut events = 0;
            while session.next_event().await.is_some() {
                events += 1;
                assert!(events < 30, "runaway session");
            }
        })
    });
    let reconnects: Vec<_> = lines(&records, &["attempt", "delay"])
        .into_iter()
        .filter(|l| l.contains("reconnect"))
        .collect();
    assert_eq!(
        reconnects,
        [
            "INFO reconnect attempt=1 delay=Some(10ms)",
            "INFO reconnect attempt=2 delay=Some(10ms)",
            "INFO reconnect attempt=3 delay=None",
        ]
    );
}

#[test]
fn the_proxys_steps_are_reported() {
    if !proxies::available("microsocks") {
        return;
    }
    let proxy = proxies::microsocks(None);
    let server = echo_server();
    let url = format!("ws://{}/", server.addr());
    let records = recorded(|| {
        let (ws, _) = ws_proto_std::Builder::new(url.as_str())
            .proxy(&format!("socks5://127.0.0.1:{}", proxy.port))
            .connect()
            .unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
    });
    let steps: Vec<_> = lines(&records, &["kind", "proxy_port", "target_port"])
        .into_iter()
        .filter(|l| l.contains("proxy"))
        .collect();
    assert_eq!(
        steps,
        [
            format!(
                "DEBUG proxy handshake kind=Socks5 proxy_port={} target_port={} [ws_connect]",
                proxy.port,
                server.addr().port()
            ),
            "DEBUG proxy tunnel open [ws_connect]".to_owned(),
        ]
    );
}
