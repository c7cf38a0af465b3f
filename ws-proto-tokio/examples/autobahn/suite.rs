//! The Autobahn TestSuite driver both tokio examples share: the case count, every case in
//! turn, the report.

use std::future::Future;

use futures_util::StreamExt;
use ws_proto_tokio::{Builder, Error, Event};

/// Runs every case of the fuzzingserver at `argv[1]` (default `ws://127.0.0.1:9001`) as agent
/// `argv[2]` (default `agent`), each by `run_case(url)`, connecting the control connections
/// with `builder`; then has the server write its reports.
pub fn run<F, C>(
    agent: &str,
    builder: fn(&str) -> Builder,
    run_case: C,
) -> Result<(), Box<dyn std::error::Error>>
where
    C: Fn(String) -> F,
    F: Future<Output = Result<(), Error>>,
{
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| agent.to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let count = case_count(builder(&format!("{base}/getCaseCount"))).await?;
        println!("{count} cases");
        for case in 1..=count {
            let url = format!("{base}/runCase?case={case}&agent={agent}");
            // Failing is what many cases expect; the report judges the outcome.
            match run_case(url).await {
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

async fn case_count(builder: Builder) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut ws, _) = builder.connect().await?;
    let mut count = None;
    while let Some(event) = ws.next().await {
        if let Event::Message(message) = event? {
            count = Some(std::str::from_utf8(message.as_bytes())?.trim().parse()?);
        }
    }
    Ok(count.ok_or("no case count received")?)
}
