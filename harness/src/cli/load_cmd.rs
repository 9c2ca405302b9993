//! `harness load`: drive a running ingest API and report events/s and PUT latency.

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::load::{self, LoadOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ingest endpoint.
    #[arg(long, default_value = "http://127.0.0.1:3000/prod/stream")]
    url: String,
    /// The API key (the seed's local key by default).
    #[arg(
        long,
        env = "INGEST_API_KEY",
        default_value = "d41d8cd98f00b204e9800998ecf8427e"
    )]
    api_key: String,
    /// The configured stream name events are sent to.
    #[arg(long, default_value = "default")]
    stream: String,
    /// How many events to send.
    #[arg(long, default_value_t = 20_000)]
    events: u64,
    /// Concurrent clients (keep-alive connections).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// A fixed total rate in events/s instead of as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(args.events);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let options = LoadOptions {
        url: args.url,
        api_key: args.api_key,
        stream: args.stream,
        events: args.events,
        concurrency: args.concurrency,
        rate: args.rate,
        id_prefix: format!("load-{}", uuid::Uuid::now_v7()),
    };
    let report = load::run(options, move |n| progress.set_position(n)).await?;
    bar.finish_and_clear();
    println!(
        "sent {} events: {} accepted, {} rejected, {} transport errors in {:.2} s",
        report.sent,
        report.accepted,
        report.rejected,
        report.errors,
        report.elapsed.as_secs_f64()
    );
    println!(
        "throughput: {:.0} events/s accepted",
        report.events_per_second()
    );
    println!("PUT latency: {}", report.latency);
    Ok(if report.accepted == report.sent {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
