//! 50 WebSockets on one HTTP/2 connection (RFC 8441, through an `Http2Pool`) against 50
//! HTTP/1.1 connections, with the tokio adapter: messages echoed per second of the client's CPU
//! time, and the client's heap with the 50 sockets open and at its peak.
//!
//! The server is axum's WebSocket echo on hyper (HTTP/1.1, and HTTP/2 with extended CONNECT
//! with prior knowledge, so TLS costs stay out of both), run in a child process (this binary
//! with `--serve`), so the process measured holds only the client: its CPU is the main thread's
//! (a current-thread runtime: the sockets, and the HTTP/2 connection's task), its heap every
//! allocation of the process.
//!
//! Each round, every socket feeds `BATCH` binary messages of `SIZE` bytes and flushes, then
//! every socket reads its `BATCH` echoes; `ROUNDS` rounds. Modes alternate, `REPEATS` times.
//!
//! `cargo run --release --bin http2`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::ws::{self, WebSocketUpgrade};
use axum::routing::any;
use axum::Router;
use futures_util::future::join_all;
use ws_proto_bench::heap::{self, Counting};
use ws_proto_tokio::{Builder, CloseCode, Http2Pool, HttpVersion, Message};

const SOCKETS: usize = 50;
const ROUNDS: usize = 200;
const BATCH: usize = 10;
const SIZE: usize = 64;
const REPEATS: usize = 3;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The calling thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and CLOCK_THREAD_CPUTIME_ID is a clock every
    // Linux kernel has.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

// ---------------------------------------------------------------- server

/// axum's echo over hyper's HTTP/1.1 and HTTP/2 (prior knowledge, extended CONNECT on): prints
/// its port, then serves until killed.
fn serve() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        async fn echo(mut socket: ws::WebSocket) {
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, ws::Message::Binary(_) | ws::Message::Text(_))
                    && socket.send(message).await.is_err()
                {
                    break;
                }
            }
        }
        let app = Router::new().route(
            "/echo",
            any(|ws: WebSocketUpgrade| async move { ws.on_upgrade(echo) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let app = app.clone();
            tokio::spawn(async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                builder.http2().enable_connect_protocol();
                let _ = builder
                    .serve_connection_with_upgrades(
                        hyper_util::rt::TokioIo::new(tcp),
                        hyper_util::service::TowerToHyperService::new(app),
                    )
                    .await;
            });
        }
    });
}

// ---------------------------------------------------------------- client

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Http2,
    Http1,
}

struct Measured {
    cpu: Duration,
    wall: Duration,
    /// Live heap with the sockets open, before any traffic.
    open_heap: isize,
    /// Peak heap from before the first connect to the end of the traffic.
    peak_heap: isize,
}

async fn measure(url: &str, mode: Mode) -> Measured {
    let base = heap::snapshot();
    heap::reset_peak();
    let pool = Http2Pool::new();
    let connecting = (0..SOCKETS).map(|_| {
        let builder = Builder::new(url).permessage_deflate(None);
        let builder = match mode {
            Mode::Http2 => builder.http_version(HttpVersion::Http2).http2_pool(&pool),
            Mode::Http1 => builder.http_version(HttpVersion::Http1),
        };
        builder.connect()
    });
    let mut sockets = Vec::new();
    for opened in join_all(connecting).await {
        let (socket, response) = opened.unwrap();
        assert_eq!(response.is_http2(), mode == Mode::Http2);
        sockets.push(socket);
    }
    if mode == Mode::Http2 {
        assert_eq!(pool.connections(), 1);
    }
    let open_heap = heap::since(base).0;
    let payload = vec![0x5a; SIZE];
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    for _ in 0..ROUNDS {
        join_all(sockets.iter_mut().map(|socket| {
            let payload = payload.clone();
            async move {
                for _ in 0..BATCH {
                    socket
                        .feed(Message::Binary(payload.clone().into()))
                        .await
                        .unwrap();
                }
                socket.flush().await.unwrap();
                for _ in 0..BATCH {
                    let echoed = socket.read().await.unwrap();
                    assert_eq!(echoed.as_bytes().len(), SIZE);
                }
            }
        }))
        .await;
    }
    let (cpu, wall) = (thread_cpu() - cpu0, wall0.elapsed());
    let peak_heap = heap::peak_since(base);
    join_all(sockets.into_iter().map(|mut socket| async move {
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        while socket.read_event().await.is_ok() {}
    }))
    .await;
    Measured {
        cpu,
        wall,
        open_heap,
        peak_heap,
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        return serve();
    }
    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("ws://127.0.0.1:{}/echo", port.trim());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let messages = (SOCKETS * ROUNDS * BATCH) as f64;
    println!(
        "{SOCKETS} WebSockets, {ROUNDS} rounds of {BATCH} echoed {SIZE}-byte messages each \
         ({messages} messages a run), {REPEATS} runs per mode, modes alternating"
    );
    println!(
        "{:<28} {:>14} {:>10} {:>16} {:>12}",
        "mode", "msg/CPU s", "wall ms", "open heap/sock", "peak heap"
    );
    for _ in 0..REPEATS {
        for mode in [Mode::Http2, Mode::Http1] {
            let m = runtime.block_on(measure(&url, mode));
            let name = match mode {
                Mode::Http2 => "50 streams, 1 HTTP/2 conn",
                Mode::Http1 => "50 HTTP/1.1 connections",
            };
            println!(
                "{name:<28} {:>14.0} {:>10.1} {:>14.1} K {:>10.1} K",
                messages / m.cpu.as_secs_f64(),
                m.wall.as_secs_f64() * 1e3,
                m.open_heap as f64 / SOCKETS as f64 / 1024.0,
                m.peak_heap as f64 / 1024.0,
            );
        }
    }
    let _ = server.kill();
    let _ = server.wait();
}
