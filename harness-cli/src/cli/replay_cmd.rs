//! `harness replay --from ...`: re-read the stream through the forward handler. Items are
//! written idempotently, so a replay adds only events that never landed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use pipeline::observe::Observer;
use pipeline::{ForwardConfig, Forwarder};

use super::remote::{self, Target};
use harness::esm::{KinesisMappingConfig, NoDeliveryFaults};
use harness::stack::Recorder;
use harness::stack::replay::{self, ReplayFrom};
use harness::template::spec::{Binary, EventSource};

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
    let remote::Connected {
        backend,
        resources,
        spec,
        facts,
    } = remote::connect(&args.target).await?;
    let (forward_id, forward_fn) = spec
        .function_with(Binary::Forward)
        .context("the template has no function built from the forward binary")?;
    let forward_config = ForwardConfig::from_env(&spec.environment(forward_id, &facts)?)
        .with_context(|| format!("{forward_id}'s environment"))?;
    let mapping = forward_fn
        .events
        .iter()
        .find_map(|e| match &e.source {
            EventSource::Kinesis(k) => Some(k),
            _ => None,
        })
        .with_context(|| format!("{forward_id} has no Kinesis event source"))?;
    let sdk = backend.sdk_config();
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let recorder = Arc::new(Recorder::new(false, false));
    let observer: Arc<dyn Observer> = recorder.clone();
    let forwarder = Arc::new(Forwarder::new(
        sqs.clone(),
        forward_config.queue_url,
        forward_config.dlq_url,
        forward_config.retry,
        observer,
    ));
    let handler: Arc<dyn harness::esm::KinesisHandler> = Arc::new(move |event| {
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
    let config = harness::stack::kinesis_config(
        mapping,
        forward_fn,
        &resources.queue_urls,
        KinesisMappingConfig::default().poll_interval,
        None,
    );
    let config = KinesisMappingConfig {
        function_name: format!("{}-replay", config.function_name),
        ..config
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
    println!(
        "the store handler writes them idempotently: existing items are left unchanged \
         (a replayed event whose id is stored with another envelope goes to the DLQ as a conflict)"
    );
    Ok(ExitCode::SUCCESS)
}
