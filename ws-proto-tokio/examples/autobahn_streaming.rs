//! Autobahn TestSuite client that streams: every message is received with `read_stream` and
//! echoed chunk by chunk as it arrives (`send_message_start` / `send_message_chunk` /
//! `send_message_end`), in chunks of 4 KiB so the 9.* cases' large messages cross many of them
//! and the 6.* cases' UTF-8 is checked across chunk and fragment boundaries. The whole-message
//! limits do not apply to a streamed message: nothing is held whole.
//!
//! ```text
//! cargo run --release -p ws-proto-tokio --example autobahn_streaming -- ws://127.0.0.1:9001 ws-proto-streaming
//! ```

use futures_util::StreamExt;
use ws_proto_tokio::{Builder, Error, Event};

fn builder(url: &str) -> Builder {
    Builder::new(url)
        .recv_chunk_size(4 << 10)
        // Whole messages (those that fit in one chunk) stay under the usual limits.
        .send_high_water_mark(1 << 20)
}

/// Echoes data messages, streamed both ways, until the server ends the case.
async fn run_case(url: &str) -> Result<(), Error> {
    let (ws, _) = builder(url).connect().await?;
    let (mut writer, mut reader) = ws.split();
    loop {
        let mut message = reader.read_stream().await?;
        // Refused once the connection is closing: the next read reports how it ended.
        if writer
            .send_message_start(message.message_type())
            .await
            .is_err()
        {
            continue;
        }
        while let Some(chunk) = message.next_chunk().await? {
            writer.send_message_chunk(&chunk).await?;
        }
        writer.send_message_end().await?;
    }
}

async fn case_count(base: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut ws, _) = builder(&format!("{base}/getCaseCount")).connect().await?;
    let mut count = None;
    while let Some(event) = ws.next().await {
        if let Event::Message(message) = event? {
            count = Some(std::str::from_utf8(message.as_bytes())?.trim().parse()?);
        }
    }
    Ok(count.ok_or("no case count received")?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args
        .next()
        .unwrap_or_else(|| "ws-proto-streaming".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let count = case_count(&base).await?;
        println!("{count} cases");
        for case in 1..=count {
            let url = format!("{base}/runCase?case={case}&agent={agent}");
            // Failing is what many cases expect; the report judges the outcome.
            match run_case(&url).await {
                Ok(()) => println!("case {case}/{count}: closed"),
                Err(e) => println!("case {case}/{count}: {e}"),
            }
        }
        let (mut ws, _) = builder(&format!("{base}/updateReports?agent={agent}"))
            .connect()
            .await?;
        while ws.next().await.is_some() {}
        println!("reports updated");
        Ok(())
    })
}
