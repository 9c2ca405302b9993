//! `harness load`: drive an ingest API and report events/s and latency percentiles.
//!
//! Against a running `harness up` (the default) it reports PUT latency and the accepted rate.
//! With `--embedded` it starts its own pipeline in process (emulator, mappings, handlers),
//! serves the ingest API on a loopback port, and also reports the end-to-end rate and the
//! PUT -> stored latency of every event.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::load::{self, LoadOptions, LoadReport};
use harness::backend::BackendSettings;
use harness::stack::{Harness, HarnessOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ingest endpoint (ignored with --embedded).
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
    /// Start a pipeline of our own in process and measure end to end (PUT -> stored).
    #[arg(long)]
    embedded: bool,
    /// With --embedded: how long a shard consumer waits after an empty read (Lambda: 1 s).
    #[arg(long, default_value = "1ms", value_parser = pipeline::config::parse_duration)]
    poll_interval: Duration,
    /// With --embedded: batch concurrent PUTs into PutRecords requests.
    #[arg(long)]
    batch_ingest: bool,
    /// With --embedded: also write the run as one self-contained HTML file (a timeline per
    /// event, counts, latency). Puts the fault layer's journal under the pipeline's clients
    /// to draw every call, which costs some throughput: measure without it.
    #[arg(long, value_name = "FILE", requires = "embedded")]
    html: Option<std::path::PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.embedded {
        return run_embedded(args).await;
    }
    let report = drive(&args, args.url.clone()).await?;
    print_report(&report);
    Ok(exit_code(&report))
}

async fn drive(args: &Args, url: String) -> anyhow::Result<LoadReport> {
    let bar = ProgressBar::new(args.events);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let options = LoadOptions {
        url,
        api_key: args.api_key.clone(),
        stream: args.stream.clone(),
        events: args.events,
        concurrency: args.concurrency,
        rate: args.rate,
        id_prefix: format!("load-{}", uuid::Uuid::now_v7()),
    };
    let report = load::run(options, move |n| progress.set_position(n)).await?;
    bar.finish_and_clear();
    Ok(report)
}

fn print_report(report: &LoadReport) {
    println!(
        "sent {} events: {} accepted, {} rejected, {} transport errors in {:.2} s",
        report.sent,
        report.accepted,
        report.rejected,
        report.errors,
        report.elapsed.as_secs_f64()
    );
    println!(
        "ingest: {:.0} events/s accepted",
        report.events_per_second()
    );
    println!("PUT latency: {}", report.latency);
}

/// SDK calls per stored event, hop by hop: ingest (Kinesis puts), forward (Kinesis reads, SQS
/// sends to the queue and the DLQ), store (SQS receives and deletes, DynamoDB writes).
fn print_calls_per_event(calls: &std::collections::BTreeMap<(String, String), u64>, events: u64) {
    let hop = |(service, operation): &(String, String)| match (service.as_str(), operation.as_str())
    {
        ("kinesis", op) if op.starts_with("Put") => "ingest",
        ("kinesis", _) => "forward",
        ("sqs", op) if op.starts_with("SendMessage") => "forward",
        _ => "store",
    };
    println!("SDK calls per event:");
    for name in ["ingest", "forward", "store"] {
        let ops: Vec<String> = calls
            .iter()
            .filter(|(key, _)| hop(key) == name)
            .map(|((service, op), n)| format!("{service} {op} {:.3}", *n as f64 / events as f64))
            .collect();
        let total: u64 = calls
            .iter()
            .filter(|(key, _)| hop(key) == name)
            .map(|(_, n)| n)
            .sum();
        println!(
            "  {name}: {:.3} ({})",
            total as f64 / events as f64,
            ops.join(", ")
        );
    }
}

fn exit_code(report: &LoadReport) -> ExitCode {
    if report.accepted == report.sent {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run_embedded(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = HarnessOptions::new(BackendSettings::default());
    options.kinesis_poll_interval = args.poll_interval;
    // The journal (under the fault layer) gives the report every call; off, nothing costs.
    options.fault_layer = args.html.is_some();
    options.count_calls = true;
    let journeys = args
        .html
        .as_ref()
        .map(|_| std::sync::Arc::new(harness::report::JourneyLog::new()));
    if let Some(log) = &journeys {
        options = options.observe(log.clone());
    }
    if args.batch_ingest {
        options = options.set("IngestFunction.Environment.Variables.BATCH_PUTS", "true");
    }
    let harness = Harness::start_with(options)
        .await
        .context("cannot start the pipeline")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = harness.ingest_app();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/{}/stream", harness.ingest_config().stage);

    let started = tokio::time::Instant::now();
    let load_at = journeys.as_deref().map(harness::report::now_us);
    let report = drive(&args, url).await?;
    let drain_at = journeys.as_deref().map(harness::report::now_us);
    harness
        .drain_within(Duration::from_secs(120))
        .await
        .context("the pipeline did not settle")?;
    let end_to_end = started.elapsed();
    server.abort();
    let counts = harness.counts();
    let latency = harness.recorder().latency();
    let calls = harness.call_counts();

    print_report(&report);
    let end_line = format!(
        "end to end: {} stored in {:.2} s = {:.0} events/s ({} duplicates, {} conflicts, {} to the DLQ)",
        counts.stored,
        end_to_end.as_secs_f64(),
        counts.stored as f64 / end_to_end.as_secs_f64().max(f64::EPSILON),
        counts.duplicates,
        counts.conflicts,
        counts.sent_to_dlq
    );
    println!("{end_line}");
    println!("PUT accepted -> item stored: {latency}");
    print_calls_per_event(&calls, counts.stored.max(1));
    let lost = report
        .accepted
        .saturating_sub(counts.stored + counts.sent_to_dlq + counts.conflicts);
    if let (Some(path), Some(log)) = (&args.html, &journeys) {
        let mut model = harness::report::harness_model(
            &harness,
            log,
            "load (embedded pipeline)",
            "load",
            "wall time (tokio's clock in real time)",
        )
        .await?;
        model.description = format!(
            "{} events, {} concurrent clients{}, through the ingest API on a loopback port",
            args.events,
            args.concurrency,
            args.rate
                .map_or(String::new(), |r| format!(", {r} events/s"))
        );
        let load_line = format!(
            "sent {} events: {} accepted, {} rejected, {} transport errors in {:.2} s",
            report.sent,
            report.accepted,
            report.rejected,
            report.errors,
            report.elapsed.as_secs_f64()
        );
        model.phase("load", &load_line, load_at.unwrap_or(0));
        model.phase(
            "drain",
            "until the stream, queue and in-flight batches are idle",
            drain_at.unwrap_or(0),
        );
        model.summary = vec![
            load_line,
            end_line,
            format!("PUT latency: {}", report.latency),
        ];
        model.passed = Some(lost == 0 && report.accepted == report.sent);
        model.verdict = if lost > 0 {
            format!("{lost} accepted events neither stored nor in the DLQ")
        } else {
            format!(
                "{} of {} events accepted; none lost",
                report.accepted, report.sent
            )
        };
        let bytes = harness::report::write_html(path, &model)?;
        eprintln!("HTML report: {} ({bytes} bytes)", path.display());
    }
    harness.shutdown().await;
    if lost > 0 {
        println!("LOST: {lost} accepted events neither stored nor in the DLQ");
        return Ok(ExitCode::FAILURE);
    }
    Ok(exit_code(&report))
}
