//! Heap held by one idle open connection, per client (issue #9).
//!
//! `cd bench && CARGO_TARGET_DIR=/work/target-bench cargo run --release --bin idle_memory`
//!
//! A counting global allocator tracks live heap bytes (as requested from the allocator, not
//! allocator overhead or kernel socket buffers). For each client: one warm-up connection is made
//! and dropped (so one-time costs such as tokio's I/O driver pages are not counted), then the
//! live heap is taken before connecting and again after the handshake, holding only the
//! connection (the handshake response is dropped). The server runs in a child process, so its
//! allocations never mix in.
//!
//! The core (`ClientState` alone) is measured in memory, and with permessage-deflate negotiated,
//! with and without context takeover, after one 64 KiB message each way.

use std::time::Instant;

use ws_proto::{ClientState, Config, DeflateConfig, Event};
use ws_proto_bench::heap::{since, snapshot, Counting};
use ws_proto_bench::peers::{self, no_deflate, Res};
use ws_proto_bench::{open_core, rt, serve_until_eof, server_process, text_payload};

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------- in-memory core

/// One 64 KiB message each way, everything drained, messages dropped.
fn exchange(client: &mut ClientState) {
    let payload = text_payload(64 << 10);
    let frame = ws_proto_bench::compressed_frame(2, &payload);
    client.handle_input(&frame, Instant::now()).unwrap();
    let mut got = 0;
    ws_proto_bench::drain(client, drop, |event| {
        if let Event::Message(m) = event {
            got += m.len();
        }
    });
    assert_eq!(
        got,
        payload.len(),
        "the compressed message was not received"
    );
    client.send_binary(&payload).unwrap();
    ws_proto_bench::drain(client, drop, drop);
    assert!(client.is_open());
}

fn core_rows(rows: &mut Vec<(String, (isize, isize))>) {
    let _warm = open_core(no_deflate(), None);
    drop(_warm);

    let before = snapshot();
    let client = open_core(no_deflate(), None);
    rows.push((
        "ws-proto core (ClientState), no deflate".into(),
        since(before),
    ));
    drop(client);

    let before = snapshot();
    let client = open_core(Config::default(), Some("permessage-deflate"));
    rows.push((
        "ws-proto core, deflate negotiated, no traffic".into(),
        since(before),
    ));
    drop(client);

    let before = snapshot();
    let mut client = open_core(Config::default(), Some("permessage-deflate"));
    exchange(&mut client);
    rows.push((
        "ws-proto core, deflate with context takeover, after 64 KiB each way".into(),
        since(before),
    ));
    drop(client);

    let mut config = Config::default();
    let mut deflate = DeflateConfig::default();
    deflate
        .client_no_context_takeover(true)
        .server_no_context_takeover(true);
    config.permessage_deflate(Some(deflate));
    let before = snapshot();
    let mut client = open_core(
        config,
        Some("permessage-deflate; client_no_context_takeover; server_no_context_takeover"),
    );
    exchange(&mut client);
    rows.push((
        "ws-proto core, deflate no context takeover, after 64 KiB each way".into(),
        since(before),
    ));
    drop(client);
}

// ---------------------------------------------------------------- clients over TCP

/// Measures the live heap of what `connect` returns, after one warm-up connection.
fn measure_async<F, Fut, T>(connect: F) -> Res<(isize, isize)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Res<T>>,
{
    let rt = rt();
    rt.block_on(async {
        drop(connect().await?);
        // Let the runtime settle (deferred drops of the warm-up connection).
        tokio::task::yield_now().await;
        let before = snapshot();
        let held = connect().await?;
        let delta = since(before);
        drop(held);
        Ok(delta)
    })
}

fn tcp_rows(port: u16, rows: &mut Vec<(String, (isize, isize))>) {
    let url = format!("ws://127.0.0.1:{port}/idle");

    let r = measure_async(|| async {
        let mut tcp = peers::tcp(&url).await?;
        peers::manual_handshake(&mut tcp, &url, None).await?;
        Ok(tcp)
    });
    rows.push(("raw tokio TcpStream (floor)".into(), r.unwrap()));

    let r = measure_async(|| peers::ws_proto_tokio(&url, no_deflate()));
    rows.push(("ws-proto-tokio WebSocket".into(), r.unwrap()));

    let r = measure_async(|| peers::tokio_tungstenite(&url));
    rows.push(("tokio-tungstenite WebSocketStream".into(), r.unwrap()));

    let r = measure_async(|| peers::tokio_websockets(&url));
    rows.push(("tokio-websockets WebSocketStream".into(), r.unwrap()));

    let r = measure_async(|| peers::fastwebsockets(&url));
    rows.push((
        "fastwebsockets WebSocket (over a BufWriter)".into(),
        r.unwrap(),
    ));

    let r = measure_async(|| peers::sockudo(&url));
    rows.push(("sockudo-ws WebSocketStream".into(), r.unwrap()));

    let r = measure_async(|| peers::wtx(&url));
    rows.push(("wtx WebSocket".into(), r.unwrap()));

    let r = measure_async(|| peers::yawc(&url, yawc::Options::default()));
    rows.push(("yawc WebSocket".into(), r.unwrap()));

    let connect_std = || peers::ws_proto_std(&url, no_deflate());
    drop(connect_std().unwrap());
    let before = snapshot();
    let ws = connect_std().unwrap();
    rows.push(("ws-proto-std WebSocket (blocking)".into(), since(before)));
    drop(ws);
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        serve_until_eof(&[ws_proto_bench::start_server()]);
        return;
    }
    let (mut child, ports) = server_process(&["serve"]);

    let mut rows = Vec::new();
    core_rows(&mut rows);
    tcp_rows(ports[0], &mut rows);

    drop(child.stdin.take());
    let _ = child.wait();

    println!("| connection | live heap | blocks |");
    println!("|---|---:|---:|");
    for (name, (bytes, blocks)) in rows {
        println!("| {name} | {} | {blocks} |", human(bytes));
    }
}

fn human(bytes: isize) -> String {
    if bytes.abs() >= 10 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
