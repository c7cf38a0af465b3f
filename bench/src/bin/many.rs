//! Many connections at once (issue 20).
//!
//! `cd bench && CARGO_TARGET_DIR=/work/target-bench cargo run --release --bin many`
//!
//! - **Idle**: `BENCH_IDLE` (default 10,000) connections opened one after another and held open
//!   together on one current-thread tokio runtime (ws-proto-std: from one thread, as a blocking
//!   socket needs no thread while nobody reads it). Each client is measured in a process of its
//!   own, so the allocator's state and the RSS one client leaves behind never count for the
//!   next: the live heap (as requested from the allocator) and the resident set size
//!   (`/proc/self/statm`: the heap with the allocator's overhead, and any other memory touched)
//!   added per open connection, after one warm-up connection. Kernel socket buffers are neither.
//! - **Echo load**: `BENCH_CONNS` (default 1,000) connections, each sending a 16 B message and
//!   waiting for its echo `BENCH_TRIPS` (default 100) times, all at once: on one current-thread
//!   runtime (`join_all` of one future per connection), ws-proto-std on a thread per connection.
//!   Timed from when all are connected until the last echo. CPU is the process's (the server
//!   runs in another), so messages per CPU second compare the work per message, threads and all.
//!   Interleaved rounds (`BENCH_ROUNDS`, default 3), medians, ratios to raw paired per round.
//!
//! The server is `ws_proto_bench::tokio_server` in a child process: one thread, a task per
//! connection, one listening port per client so a client never waits for ports another left
//! in TIME_WAIT. The raw rows (the same bytes, no WebSocket code) show it is not the bottleneck.

use std::future::Future;
use std::sync::Barrier;

use bytes::Bytes;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_proto_bench::heap::{held_in_child, hold, hold_blocking, human_bytes, print_held, Counting};
use ws_proto_bench::measure::{env_f64, human_time, median, print_table, selected, Stopwatch};
use ws_proto_bench::measure::{quantile, Times};
use ws_proto_bench::peers::{self, manual_handshake, no_deflate, Res};
use ws_proto_bench::{header, payload, raise_nofile, rt, serve_until_eof, server_process};

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENTS: [&str; 9] = [
    "ws-proto-tokio",
    "ws-proto-std",
    "tokio-tungstenite",
    "tokio-websockets",
    "fastwebsockets",
    "sockudo-ws",
    "wtx",
    "yawc",
    "raw",
];

/// The echo scenario's message size.
const SIZE: usize = 16;

// ---------------------------------------------------------------- idle

/// Runs in a process of its own (see `held_in_child`).
fn idle(client: &str, port: u16, n: usize) -> Res<(f64, f64)> {
    let url = format!("ws://127.0.0.1:{port}/idle");
    let url = url.as_str();
    if client == "ws-proto-std" {
        return hold_blocking(n, || peers::ws_proto_std(url, no_deflate()));
    }
    rt().block_on(async {
        match client {
            "ws-proto-tokio" => hold(n, || peers::ws_proto_tokio(url, no_deflate())).await,
            "tokio-tungstenite" => hold(n, || peers::tokio_tungstenite(url)).await,
            "tokio-websockets" => hold(n, || peers::tokio_websockets(url)).await,
            "fastwebsockets" => hold(n, || peers::fastwebsockets(url)).await,
            "sockudo-ws" => hold(n, || peers::sockudo(url)).await,
            "wtx" => hold(n, || peers::wtx(url)).await,
            "yawc" => hold(n, || peers::yawc(url, yawc::Options::default())).await,
            "raw" => {
                hold(n, || async {
                    let mut tcp = peers::tcp(url).await?;
                    manual_handshake(&mut tcp, url, None).await?;
                    Ok(tcp)
                })
                .await
            }
            _ => unreachable!(),
        }
    })
}

// ---------------------------------------------------------------- echo load

/// Opens `c` connections one after another (not timed).
async fn connect_all<T, F, Fut>(c: usize, connect: F) -> Res<Vec<T>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Res<T>>,
{
    let mut all = Vec::with_capacity(c);
    for _ in 0..c {
        all.push(connect().await?);
    }
    Ok(all)
}

/// Runs every connection's loop at once on this thread, timed.
async fn timed<F: Future<Output = Res<()>>>(loops: impl IntoIterator<Item = F>) -> Res<Times> {
    let start = Stopwatch::start_process();
    for result in join_all(loops).await {
        result?;
    }
    Ok(start.stop())
}

async fn echo_async(client: &str, url: &str, c: usize, trips: usize) -> Res<Times> {
    let data = Bytes::from(payload(SIZE, false));
    let data = &data;
    match client {
        "ws-proto-tokio" => {
            use ws_proto_tokio::Event;
            let mut all = connect_all(c, || peers::ws_proto_tokio(url, no_deflate())).await?;
            timed(all.iter_mut().map(|ws| async move {
                for _ in 0..trips {
                    ws.send_binary(data).await?;
                    while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
                }
                Ok(())
            }))
            .await
        }
        "tokio-tungstenite" => {
            use tokio_tungstenite::tungstenite::Message;
            let mut all = connect_all(c, || peers::tokio_tungstenite(url)).await?;
            timed(all.iter_mut().map(|ws| async move {
                for _ in 0..trips {
                    ws.send(Message::Binary(data.clone())).await?;
                    while !ws.next().await.ok_or("eof")??.is_binary() {}
                }
                Ok(())
            }))
            .await
        }
        "tokio-websockets" => {
            use tokio_websockets::Message;
            let mut all = connect_all(c, || peers::tokio_websockets(url)).await?;
            timed(all.iter_mut().map(|ws| async move {
                for _ in 0..trips {
                    ws.send(Message::binary(data.clone())).await?;
                    while !ws.next().await.ok_or("eof")??.is_binary() {}
                }
                Ok(())
            }))
            .await
        }
        "fastwebsockets" => {
            use fastwebsockets::{Frame, OpCode, Payload};
            let mut all = connect_all(c, || peers::fastwebsockets(url)).await?;
            timed(all.iter_mut().map(|ws| async move {
                let mut scratch = data.to_vec();
                for _ in 0..trips {
                    scratch.copy_from_slice(data);
                    let frame = Frame::binary(Payload::BorrowedMut(&mut scratch));
                    ws.write_frame(frame).await?;
                    ws.flush().await?;
                    while ws.read_frame().await?.opcode != OpCode::Binary {}
                }
                Ok(())
            }))
            .await
        }
        "sockudo-ws" => {
            use sockudo_ws::Message;
            let mut all = connect_all(c, || peers::sockudo(url)).await?;
            timed(all.iter_mut().map(|ws| async move {
                for _ in 0..trips {
                    ws.send(Message::Binary(data.clone())).await?;
                    while !matches!(ws.next().await.ok_or("eof")??, Message::Binary(_)) {}
                }
                Ok(())
            }))
            .await
        }
        "wtx" => {
            use wtx::collection::Vector;
            use wtx::web_socket::{Frame, OpCode, WebSocketPayloadOrigin};
            let mut all = connect_all(c, || peers::wtx(url)).await?;
            timed(all.iter_mut().map(|ws| async move {
                let mut scratch = data.to_vec();
                let mut buffer = Vector::new();
                for _ in 0..trips {
                    scratch.copy_from_slice(data);
                    ws.write_frame(&mut Frame::new_fin(OpCode::Binary, &mut scratch[..]))
                        .await?;
                    let origin = WebSocketPayloadOrigin::Adaptive;
                    while ws.read_frame(&mut buffer, origin).await?.op_code() != OpCode::Binary {}
                }
                Ok(())
            }))
            .await
        }
        "yawc" => {
            use yawc::{Frame, OpCode};
            let options = yawc::Options::default();
            let mut all = connect_all(c, || peers::yawc(url, options.clone())).await?;
            timed(all.iter_mut().map(|ws| async move {
                for _ in 0..trips {
                    ws.send(Frame::binary(data.clone())).await?;
                    while ws.next_frame().await?.opcode() != OpCode::Binary {}
                }
                Ok(())
            }))
            .await
        }
        "raw" => {
            let mut all = connect_all(c, || async {
                let mut tcp = peers::tcp(url).await?;
                manual_handshake(&mut tcp, url, None).await?;
                Ok(tcp)
            })
            .await?;
            let mut frame = Vec::new();
            header(2, SIZE, Some([1, 2, 3, 4]), &mut frame);
            let mut body = data.to_vec();
            ws_proto::apply_mask(&mut body, [1, 2, 3, 4]);
            frame.extend_from_slice(&body);
            let frame = &frame;
            timed(all.iter_mut().map(|tcp| async move {
                let mut reply = [0u8; 2 + SIZE];
                for _ in 0..trips {
                    tcp.write_all(frame).await?;
                    tcp.read_exact(&mut reply).await?;
                }
                Ok(())
            }))
            .await
        }
        _ => unreachable!(),
    }
}

/// A thread per connection, each started once all are connected.
fn echo_std(url: &str, c: usize, trips: usize) -> Res<Times> {
    let data = payload(SIZE, false);
    let ready = Barrier::new(c + 1);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..c)
            .map(|_| {
                s.spawn(|| {
                    let ws = peers::ws_proto_std(url, no_deflate());
                    ready.wait();
                    let ws = ws.map_err(|e| e.to_string())?;
                    for _ in 0..trips {
                        ws.send_binary(&data).map_err(|e| e.to_string())?;
                        ws.read().map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                })
            })
            .collect();
        ready.wait();
        let start = Stopwatch::start_process();
        for t in threads {
            t.join().map_err(|_| "thread panicked")??;
        }
        Ok(start.stop())
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    raise_nofile();
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            serve_until_eof(&ws_proto_bench::tokio_server::start(CLIENTS.len()));
            return;
        }
        Some("idle") => {
            print_held(idle(
                &args[2],
                args[3].parse().unwrap(),
                args[4].parse().unwrap(),
            ));
            return;
        }
        _ => {}
    }
    let scale = env_f64("BENCH_SCALE", 1.0);
    let idle_n = env_f64("BENCH_IDLE", 10_000.0 * scale).max(1.0) as usize;
    let conns = env_f64("BENCH_CONNS", 1_000.0 * scale).max(1.0) as usize;
    let trips = env_f64("BENCH_TRIPS", 100.0).max(1.0) as usize;
    let rounds = env_f64("BENCH_ROUNDS", 3.0).max(1.0) as usize;
    let clients: Vec<(usize, &str)> = CLIENTS
        .into_iter()
        .enumerate()
        .filter(|(_, c)| selected("BENCH_CLIENTS", c))
        .collect();
    let (mut server, ports) = server_process(&["serve"]);

    if selected("BENCH_SCENARIOS", "idle") {
        println!("### {idle_n} idle connections: added per open connection");
        println!();
        println!("| client | live heap | RSS |");
        println!("|---|---:|---:|");
        for &(i, c) in &clients {
            let (port, n) = (ports[i].to_string(), idle_n.to_string());
            match held_in_child(&["idle", c, &port, &n]) {
                Ok((heap, rss)) => {
                    println!("| {c} | {} | {} |", human_bytes(heap), human_bytes(rss))
                }
                Err(e) => println!("| {c} | failed: {e} | |"),
            }
        }
    }

    if selected("BENCH_SCENARIOS", "echo") {
        // times[client][round]
        let mut times = vec![Vec::new(); clients.len()];
        for round in 0..rounds {
            for k in 0..clients.len() {
                let ci = (k + round) % clients.len();
                let (i, c) = clients[ci];
                let url = format!("ws://127.0.0.1:{}/echo", ports[i]);
                let result = match c {
                    "ws-proto-std" => echo_std(&url, conns, trips),
                    _ => rt().block_on(echo_async(c, &url, conns, trips)),
                };
                times[ci].push(result.inspect_err(|e| eprintln!("{c} / echo: {e}")).ok());
            }
            eprintln!("round {}/{rounds} done", round + 1);
        }
        let n = conns * trips;
        let rows: Vec<(&str, &[Option<Times>])> = clients
            .iter()
            .zip(&times)
            .map(|(&(_, c), t)| (c, &t[..]))
            .collect();
        let title = format!(
            "echo {SIZE} B on {conns} connections at once, {trips} round trips each \
             (n = {n}; {rounds} rounds; CPU: the whole client process)"
        );
        print_table(&title, n, n * SIZE, &rows, &["raw"]);
        println!();
        println!("| client | messages per CPU second | middle half | CPU per message |");
        println!("|---|---:|---:|---:|");
        for (&(_, c), t) in clients.iter().zip(&times) {
            let rates: Vec<f64> = t.iter().flatten().map(|t| n as f64 / t.cpu).collect();
            if rates.is_empty() {
                println!("| {c} | failed | | |");
                continue;
            }
            println!(
                "| {c} | {:.0} k | {:.0}-{:.0} k | {} |",
                median(&rates) / 1e3,
                quantile(&rates, 0.25) / 1e3,
                quantile(&rates, 0.75) / 1e3,
                human_time(1.0 / median(&rates)),
            );
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();
}
