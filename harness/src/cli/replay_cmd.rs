//! `harness replay --from ...`: re-read the stream through the forward handler. Items are
//! written idempotently, so a replay adds only events that never landed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use pipeline::Forwarder;
use pipeline::config::PipelineConfig;
use pipeline::observe::Observer;

use super::remote::{self, Target};
use crate::esm::{KinesisMappingConfig, NoDeliveryFaults};
use crate::stack::Recorder;
use crate::stack::replay::{self, ReplayFrom};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// trim-horizon, an RFC 3339 time (2026-11-25T22:00:00Z), or a sequence number.
    #[arg(long, value_parser = |s: &str| s.parse::<ReplayFrom>())]
    from: ReplayFrom,
    #[command(flatten)]
    target: Target,
    /// Give up if the replay has not caught up after this long.
    #[arg(long, default_value = "10m", value_parser = pipeline::config::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let remote::Connected { backend, resources } = remote::connect(&args.target).await?;
    let sdk = backend.sdk_config();
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let recorder = Arc::new(Recorder::new(false, false));
    let observer: Arc<dyn Observer> = recorder.clone();
    let forwarder = Arc::new(Forwarder::new(
        sqs.clone(),
        resources.queue_url.clone(),
        resources.dlq_url.clone(),
        PipelineConfig::default().forward,
        observer,
    ));
    let handler: Arc<dyn crate::esm::KinesisHandler> = Arc::new(move |event| {
        let forwarder = forwarder.clone();
        async move { forwarder.handle(event).await }
    });
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} replaying: {pos} records {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let progress = bar.clone();
    let started = std::time::Instant::now();
    let config = KinesisMappingConfig {
        function_name: "forward-replay".into(),
        ..KinesisMappingConfig::default()
    };
    let report = replay::replay_stream(
        &kinesis,
        &sqs,
        &resources.resources.stream,
        config,
        handler,
        Arc::new(NoDeliveryFaults),
        args.from.clone(),
        args.timeout,
        move |n| progress.set_position(n),
    )
    .await?;
    bar.finish_and_clear();
    let counts = recorder.counts();
    println!(
        "replayed {} records of {} from {:?} in {} batches ({:.2} s): {} forwarded to {}, {} sent to the DLQ",
        report.records,
        resources.resources.stream,
        args.from,
        report.batches,
        started.elapsed().as_secs_f64(),
        counts.forwarded,
        resources.resources.queue,
        counts.sent_to_dlq,
    );
    println!("the store handler writes them idempotently: existing items are left unchanged");
    Ok(ExitCode::SUCCESS)
}
