//! Autobahn TestSuite client that streams: every message is received with `read_stream` and
//! echoed chunk by chunk as it arrives (`send_message_start` / `send_message_chunk` /
//! `send_message_end`), in chunks of 4 KiB so the 9.* cases' large messages cross many of them
//! and the 6.* cases' UTF-8 is checked across chunk and fragment boundaries. The whole-message
//! limits do not apply to a streamed message: nothing is held whole.
//!
//! ```text
//! cargo run --release -p ws-proto-tokio --example autobahn_streaming -- ws://127.0.0.1:9001 ws-proto-streaming
//! ```

#[path = "autobahn/suite.rs"]
mod suite;

use ws_proto_tokio::{Builder, Error};

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    suite::run("ws-proto-streaming", builder, |url| async move {
        run_case(&url).await
    })
}
