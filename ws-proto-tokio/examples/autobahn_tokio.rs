//! Autobahn TestSuite client: echoes every case of a running fuzzingserver.
//!
//! ```text
//! cargo run --release -p ws-proto-tokio --example autobahn_tokio -- ws://127.0.0.1:9001 ws-proto-tokio
//! ```

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
    let agent = args.next().unwrap_or_else(|| "ws-proto-tokio".to_owned());
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
