//! Autobahn TestSuite client: echoes every message of every case back to the fuzzing server.
//!
//! ```text
//! cargo run --release -p ws-proto-std --example autobahn_std -- ws://127.0.0.1:9001 ws-proto-std
//! ```

use ws_proto_std::{Builder, Error, Event, Message, WebSocket};

/// The 9.* cases send messages and frames of up to 16 MiB.
const MAX_SIZE: usize = 64 << 20;

fn open(url: &str) -> Result<WebSocket, Error> {
    Builder::new(url)
        .max_frame_size(MAX_SIZE)
        .max_message_size(MAX_SIZE)
        .send_high_water_mark(MAX_SIZE)
        .connect()
        .map(|(ws, _)| ws)
}

/// Echoes every message, text as text and binary as binary, until the connection ends.
fn echo_until_closed(ws: &WebSocket) {
    loop {
        let sent = match ws.read_event() {
            Ok(Event::Message(message)) => ws.send(message),
            Ok(Event::Close(_)) | Err(_) => return,
            Ok(_) => Ok(()),
        };
        // A send is refused once the connection is closing or has failed; the end is read next.
        let _ = sent;
    }
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "ws-proto-std".to_owned());

    let count_ws = open(&format!("{base}/getCaseCount"))?;
    let count = case_count(&count_ws);
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match open(&url) {
            Ok(ws) => echo_until_closed(&ws),
            // Some cases fail the opening handshake on purpose; the report judges them.
            Err(e) => println!("case {case}: {e}"),
        }
    }
    let ws = open(&format!("{base}/updateReports?agent={agent}"))?;
    // Read to the end so the server writes the reports before we exit.
    while ws.read_event().is_ok() {}
    println!("reports updated for {agent}");
    Ok(())
}

/// The case count the server sends as its only message (it is not echoed).
fn case_count(ws: &WebSocket) -> u32 {
    let mut count = None;
    while let Ok(event) = ws.read_event() {
        if let Event::Message(Message::Text(text)) = event {
            count = text.parse().ok();
        }
    }
    count.unwrap_or(0)
}
