//! permessage-deflate (RFC 7692) end to end (issue 20).
//!
//! `cd bench && CARGO_TARGET_DIR=/work/target-bench cargo run --release --bin compression`
//!
//! - **Throughput**: receiving and sending JSON-like text (`json_payload`) of 1 KiB and
//!   64 KiB, compressed, for the clients that implement permessage-deflate: ws-proto-tokio,
//!   ws-proto-std, sockudo-ws, wtx and yawc (tokio-tungstenite 0.30, tokio-websockets 0.13 and
//!   fastwebsockets 0.10 do not). Every client offers a 32 KiB window, level 6 and no context
//!   takeover either way, so each message is compressed on its own (wtx can do nothing else).
//!   The server (`lib.rs`) writes frames compressed once in advance and counts the client's
//!   messages at their FIN without inflating them. Sending is batched: every message fed, one
//!   flush (wtx has no feed: a write per message). The floor, **zlib-rs**, is the raw client
//!   with flate2 over zlib-rs alone (which every client here uses too): it inflates every
//!   received payload into one reused buffer, or compresses every message (fresh context),
//!   frames and masks it with a fresh key, and writes 256 KiB at a time. Timing as in `e2e`:
//!   interleaved rounds (`BENCH_ROUNDS`, default 5), medians, ratios paired per round, the
//!   client thread's CPU time; `BENCH_SCALE` multiplies the message counts.
//! - **Heap after one message**: `BENCH_CONNS` (default 1,000) connections held open, each
//!   having received one 64 KiB compressed message and sent one, with context takeover and
//!   without: live heap and RSS per connection, each client in a process of its own, against
//!   the tokio server in another.

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_proto_bench::heap::{held_in_child, hold, hold_blocking, human_bytes, print_held, Counting};
use ws_proto_bench::measure::{check, env_f64, print_table, selected, Stopwatch, Times};
use ws_proto_bench::peers::{self, manual_handshake, Res};
use ws_proto_bench::{
    fresh_key, header, json_payload, parse_head, raise_nofile, rt, server_process,
};
use ws_proto_bench::{serve_until_eof, start_server, tokio_server, ACK};

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENTS: [&str; 6] = [
    "ws-proto-tokio",
    "ws-proto-std",
    "sockudo-ws",
    "wtx",
    "yawc",
    "zlib-rs",
];

/// The size of the message each held connection receives and sends.
const HELD_MESSAGE: usize = 64 << 10;

#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    send: bool,
    n: usize,
    size: usize,
}

impl Scenario {
    fn path(&self) -> String {
        let route = if self.send { "send" } else { "recv" };
        format!("/{route}?n={}&size={}&op=1", self.n, self.size)
    }
}

// ---------------------------------------------------------------- the clients

async fn ws_proto_tokio(url: &str, sc: Scenario, text: &str) -> Res<Times> {
    use ws_proto_tokio::Event;
    let mut ws = peers::ws_proto_tokio(url, peers::deflate(false)).await?;
    let start = Stopwatch::start();
    if sc.send {
        for _ in 0..sc.n {
            ws.feed_text(text).await?;
        }
        ws.flush().await?;
        while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
    } else {
        let (mut got, mut count) = (0, 0);
        while count < sc.n {
            if let Event::Message(m) = ws.next().await.ok_or("eof")?? {
                got += m.len();
                count += 1;
            }
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

fn ws_proto_std(url: &str, sc: Scenario, text: &str) -> Res<Times> {
    let ws = peers::ws_proto_std(url, peers::deflate(false))?;
    let start = Stopwatch::start();
    if sc.send {
        for _ in 0..sc.n {
            ws.feed_text(text)?;
        }
        ws.flush()?;
        ws.read()?;
    } else {
        let mut got = 0;
        for _ in 0..sc.n {
            got += ws.read()?.len();
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

async fn sockudo(url: &str, sc: Scenario, text: &Bytes) -> Res<Times> {
    use sockudo_ws::Message;
    let mut ws = peers::sockudo_deflate(url, false).await?;
    let start = Stopwatch::start();
    if sc.send {
        for _ in 0..sc.n {
            ws.feed(Message::Text(text.clone())).await?;
        }
        ws.flush().await?;
        while !matches!(ws.next().await.ok_or("eof")??, Message::Binary(_)) {}
    } else {
        let (mut got, mut count) = (0, 0);
        while count < sc.n {
            if let Message::Text(t) = ws.next().await.ok_or("eof")?? {
                got += t.len();
                count += 1;
            }
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

async fn wtx(url: &str, sc: Scenario, text: &[u8]) -> Res<Times> {
    use wtx::collection::Vector;
    use wtx::web_socket::{Frame, OpCode, WebSocketPayloadOrigin};
    let mut ws = peers::wtx_deflate(url).await?;
    let mut buffer = Vector::new();
    let mut scratch = text.to_vec();
    let origin = WebSocketPayloadOrigin::Adaptive;
    let start = Stopwatch::start();
    if sc.send {
        for _ in 0..sc.n {
            scratch.copy_from_slice(text);
            ws.write_frame(&mut Frame::new_fin(OpCode::Text, &mut scratch[..]))
                .await?;
        }
        while ws.read_frame(&mut buffer, origin).await?.op_code() != OpCode::Binary {}
    } else {
        let (mut got, mut count) = (0, 0);
        while count < sc.n {
            let frame = ws.read_frame(&mut buffer, origin).await?;
            if frame.op_code() == OpCode::Text {
                got += frame.payload().len();
                count += 1;
            }
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

async fn yawc(url: &str, sc: Scenario, text: &Bytes) -> Res<Times> {
    use yawc::{Frame, OpCode};
    let mut ws = peers::yawc(url, peers::yawc_deflate(false)).await?;
    let start = Stopwatch::start();
    if sc.send {
        for _ in 0..sc.n {
            ws.feed(Frame::text(text.clone())).await?;
        }
        ws.flush().await?;
        while ws.next_frame().await?.opcode() != OpCode::Binary {}
    } else {
        let (mut got, mut count) = (0, 0);
        while count < sc.n {
            let frame = ws.next_frame().await?;
            if frame.opcode() == OpCode::Text {
                got += frame.payload().len();
                count += 1;
            }
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

/// The floor: the raw client, and flate2 over zlib-rs for the compression alone.
async fn zlib_rs(url: &str, sc: Scenario, text: &[u8]) -> Res<Times> {
    const BATCH: usize = 256 << 10;
    let mut tcp = peers::tcp(url).await?;
    manual_handshake(&mut tcp, url, Some(peers::deflate_offer(false))).await?;
    let start;
    if sc.send {
        let mut compress = Compress::new(Compression::new(6), false);
        let mut body = Vec::with_capacity(sc.size + 1024);
        let mut out = Vec::with_capacity(BATCH + sc.size + 1024);
        start = Stopwatch::start();
        for i in 0..sc.n {
            body.clear();
            compress.reset();
            compress.compress_vec(text, &mut body, FlushCompress::Sync)?;
            body.truncate(body.len() - 4);
            let key = fresh_key(i);
            ws_proto::apply_mask(&mut body, key);
            let at = out.len();
            header(1, body.len(), Some(key), &mut out);
            out[at] |= 0x40;
            out.extend_from_slice(&body);
            if out.len() >= BATCH {
                tcp.write_all(&out).await?;
                out.clear();
            }
        }
        tcp.write_all(&out).await?;
        let mut ack = [0u8; ACK.len()];
        tcp.read_exact(&mut ack).await?;
    } else {
        let mut inflate = Decompress::new(false);
        let mut buf = vec![0u8; 256 << 10];
        let mut message = vec![0u8; sc.size + 1];
        let (mut end, mut got, mut count) = (0, 0, 0);
        start = Stopwatch::start();
        loop {
            let mut pos = 0;
            while let Ok((head, len)) = parse_head(&buf[pos..end]) {
                let frame_end = pos + len + head.len;
                if frame_end > end {
                    break;
                }
                let payload = &buf[pos + len..frame_end];
                inflate.reset(false);
                inflate.decompress(payload, &mut message, FlushDecompress::None)?;
                // The tail that permessage-deflate removes.
                let at = inflate.total_out() as usize;
                let tail = [0, 0, 0xff, 0xff];
                inflate.decompress(&tail, &mut message[at..], FlushDecompress::Sync)?;
                if inflate.total_in() as usize != payload.len() + tail.len() {
                    return Err("a message did not inflate whole".into());
                }
                got += inflate.total_out() as usize;
                count += 1;
                pos = frame_end;
            }
            buf.copy_within(pos..end, 0);
            end -= pos;
            if count == sc.n {
                break;
            }
            if end == buf.len() {
                return Err("a frame larger than the read buffer".into());
            }
            let n = tcp.read(&mut buf[end..]).await?;
            if n == 0 {
                return Err("eof".into());
            }
            end += n;
        }
        check(got, sc.n * sc.size)?;
    }
    Ok(start.stop())
}

fn run(client: &str, url: &str, sc: Scenario, text: &Bytes) -> Res<Times> {
    let as_str = std::str::from_utf8(text)?;
    match client {
        "ws-proto-tokio" => rt().block_on(ws_proto_tokio(url, sc, as_str)),
        "ws-proto-std" => ws_proto_std(url, sc, as_str),
        "sockudo-ws" => rt().block_on(sockudo(url, sc, text)),
        "wtx" => rt().block_on(wtx(url, sc, text)),
        "yawc" => rt().block_on(yawc(url, sc, text)),
        "zlib-rs" => rt().block_on(zlib_rs(url, sc, text)),
        _ => unreachable!(),
    }
}

// ---------------------------------------------------------------- heap after one message

/// Runs in a process of its own (see `held_in_child`): connections that each received one
/// compressed message and sent one.
fn held(client: &str, takeover: bool, port: u16, n: usize) -> Res<(f64, f64)> {
    let url = format!("ws://127.0.0.1:{port}/once?size={HELD_MESSAGE}");
    let url = url.as_str();
    let text = json_payload(HELD_MESSAGE);
    let text_str = std::str::from_utf8(&text)?;
    let bytes = Bytes::from(text.clone());
    if client == "ws-proto-std" {
        return hold_blocking(n, || {
            let ws = peers::ws_proto_std(url, peers::deflate(takeover))?;
            check(ws.read()?.len(), HELD_MESSAGE)?;
            ws.send_text(text_str)?;
            Ok(ws)
        });
    }
    rt().block_on(async {
        match client {
            "ws-proto-tokio" => {
                hold(n, || async {
                    use ws_proto_tokio::Event;
                    let mut ws = peers::ws_proto_tokio(url, peers::deflate(takeover)).await?;
                    while !matches!(ws.next().await.ok_or("eof")??, Event::Message(_)) {}
                    ws.send_text(text_str).await?;
                    Ok(ws)
                })
                .await
            }
            "sockudo-ws" => {
                hold(n, || async {
                    use sockudo_ws::Message;
                    let mut ws = peers::sockudo_deflate(url, takeover).await?;
                    while !matches!(ws.next().await.ok_or("eof")??, Message::Text(_)) {}
                    ws.send(Message::Text(bytes.clone())).await?;
                    Ok(ws)
                })
                .await
            }
            "wtx" => {
                hold(n, || async {
                    use wtx::web_socket::{Frame, OpCode, WebSocketPayloadOrigin};
                    let mut ws = peers::wtx_deflate(url).await?;
                    let mut buffer = wtx::collection::Vector::new();
                    let origin = WebSocketPayloadOrigin::Adaptive;
                    while ws.read_frame(&mut buffer, origin).await?.op_code() != OpCode::Text {}
                    let mut scratch = text.clone();
                    ws.write_frame(&mut Frame::new_fin(OpCode::Text, &mut scratch[..]))
                        .await?;
                    Ok(ws)
                })
                .await
            }
            "yawc" => {
                hold(n, || async {
                    use yawc::{Frame, OpCode};
                    let mut ws = peers::yawc(url, peers::yawc_deflate(takeover)).await?;
                    while ws.next_frame().await?.opcode() != OpCode::Text {}
                    ws.send(Frame::text(bytes.clone())).await?;
                    Ok(ws)
                })
                .await
            }
            _ => unreachable!(),
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    raise_nofile();
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            serve_until_eof(&tokio_server::start(1));
            return;
        }
        Some("held") => {
            let (client, takeover) = (&args[2], args[3] == "takeover");
            print_held(held(
                client,
                takeover,
                args[4].parse().unwrap(),
                args[5].parse().unwrap(),
            ));
            return;
        }
        _ => {}
    }
    let rounds = env_f64("BENCH_ROUNDS", 5.0).max(1.0) as usize;
    let scale = env_f64("BENCH_SCALE", 1.0);
    let n = |base: f64| ((base * scale).round() as usize).max(1);
    let conns = env_f64("BENCH_CONNS", 1_000.0 * scale).max(1.0) as usize;
    let scenarios: Vec<Scenario> = [
        ("recv 1 KiB JSON compressed", false, n(50_000.0), 1 << 10),
        ("recv 64 KiB JSON compressed", false, n(1_000.0), 64 << 10),
        ("send 1 KiB JSON compressed", true, n(20_000.0), 1 << 10),
        ("send 64 KiB JSON compressed", true, n(500.0), 64 << 10),
    ]
    .into_iter()
    .map(|(name, send, n, size)| Scenario {
        name,
        send,
        n,
        size,
    })
    .filter(|s| selected("BENCH_SCENARIOS", s.name))
    .collect();
    let clients: Vec<&str> = CLIENTS
        .into_iter()
        .filter(|c| selected("BENCH_CLIENTS", c))
        .collect();

    let port = start_server();
    let base = format!("ws://127.0.0.1:{port}");
    let texts: Vec<Bytes> = scenarios
        .iter()
        .map(|sc| Bytes::from(json_payload(sc.size)))
        .collect();
    // times[scenario][client][round]
    let mut times = vec![vec![Vec::new(); clients.len()]; scenarios.len()];
    for round in 0..rounds {
        for (si, &sc) in scenarios.iter().enumerate() {
            let url = format!("{base}{}", sc.path());
            for k in 0..clients.len() {
                let ci = (k + round + si) % clients.len();
                let result = run(clients[ci], &url, sc, &texts[si]);
                let result =
                    result.inspect_err(|e| eprintln!("{} / {}: {e}", clients[ci], sc.name));
                times[si][ci].push(result.ok());
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    if !scenarios.is_empty() {
        println!(
            "rounds: {rounds}, scale: {scale}; as in e2e, with zlib-rs (flate2 alone on the raw \
             client) as the floor"
        );
    }
    for (si, sc) in scenarios.iter().enumerate() {
        let compressed = ws_proto_bench::deflate_message(&texts[si]).len();
        let title = format!(
            "{} (n = {}, {} B each, {compressed} B compressed)",
            sc.name, sc.n, sc.size
        );
        let rows: Vec<(&str, &[Option<Times>])> = clients
            .iter()
            .zip(&times[si])
            .map(|(c, t)| (*c, &t[..]))
            .collect();
        print_table(&title, sc.n, sc.n * sc.size, &rows, &["zlib-rs"]);
    }

    if !selected("BENCH_SCENARIOS", "held") {
        return;
    }
    let (mut server, ports) = server_process(&["serve"]);
    println!();
    println!(
        "### {conns} connections held after one {} KiB compressed message each way: added per \
         connection",
        HELD_MESSAGE >> 10
    );
    println!();
    println!("| client | heap, no context takeover | RSS | heap, context takeover | RSS |");
    println!("|---|---:|---:|---:|---:|");
    let (port, count) = (ports[0].to_string(), conns.to_string());
    for c in clients.iter().filter(|c| **c != "zlib-rs") {
        print!("| {c} |");
        for mode in ["none", "takeover"] {
            if *c == "wtx" && mode == "takeover" {
                print!(" - (never) | - |");
                continue;
            }
            match held_in_child(&["held", c, mode, &port, &count]) {
                Ok((heap, rss)) => print!(" {} | {} |", human_bytes(heap), human_bytes(rss)),
                Err(e) => print!(" failed: {e} | |"),
            }
        }
        println!();
    }
    drop(server.stdin.take());
    let _ = server.wait();
}
