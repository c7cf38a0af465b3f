//! Autobahn TestSuite client: echoes every case of a running fuzzingserver.
//!
//! ```text
//! cargo run --release -p ws-proto-tokio --example autobahn_tokio -- ws://127.0.0.1:9001 ws-proto-tokio
//! ```

#[path = "autobahn/suite.rs"]
mod suite;

use futures_util::{FutureExt, SinkExt, StreamExt};
use ws_proto_tokio::{Builder, Error, Event};

/// The 9.* cases send messages of up to 16 MiB, in one frame or many.
const MAX_SIZE: usize = 64 << 20;

fn builder(url: &str) -> Builder {
    Builder::new(url)
        .max_frame_size(MAX_SIZE)
        .max_message_size(MAX_SIZE)
        .send_high_water_mark(MAX_SIZE)
}

/// Echoes data messages until the server ends the case.
async fn run_case(url: &str) -> Result<(), Error> {
    let (mut ws, _) = builder(url).connect().await?;
    loop {
        // Echoes are fed as they come and written together once nothing more is ready, so a
        // burst of small messages costs one write.
        let event = match ws.next().now_or_never() {
            Some(event) => event,
            None => {
                // The server may already be gone; its end is reported by the stream.
                let _ = SinkExt::flush(&mut ws).await;
                ws.next().await
            }
        };
        match event {
            Some(Ok(Event::Message(message))) => {
                // Refused once the connection is closing: the stream reports how it ended.
                let _ = ws.feed(message).await;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Ok(()),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    suite::run("ws-proto-tokio", builder, |url| async move {
        run_case(&url).await
    })
}
