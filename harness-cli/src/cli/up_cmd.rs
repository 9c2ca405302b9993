//! `harness up`: the main job. The backend (the embedded emulator on :4566 by default), the
//! pipeline's resources, the ingest API on :3000 and both event source mappings, logging each
//! event as it moves. Ctrl-C stops ingest, drains in-flight work and exits 0.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::artifact_args::ArtifactArgs;
use super::template_args::TemplateArgs;
use harness::backend::{BackendKind, BackendSettings};
use harness::stack::{Harness, HarnessOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where AWS calls go: embedded (the in-process emulator), localstack, or endpoint
    /// (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, or real AWS).
    #[arg(long, env = "HARNESS_BACKEND", default_value = "embedded")]
    backend: String,
    /// Where the embedded emulator serves the AWS APIs for other programs (AWS CLI, boto3).
    #[arg(long, default_value = "127.0.0.1:4566")]
    emulator_addr: SocketAddr,
    /// Where the ingest API listens.
    #[arg(long, default_value = "127.0.0.1:3000")]
    ingest_addr: SocketAddr,
    #[command(flatten)]
    template: TemplateArgs,
    #[command(flatten)]
    artifacts: ArtifactArgs,
    /// Let the endpoint backend reach real AWS (no endpoint variable set, or an
    /// `amazonaws.com` one): refused without it (also `HARNESS_ALLOW_REAL_AWS=1`).
    #[arg(long)]
    allow_real_aws: bool,
    /// Switch on the emulator's throughput limits (real throttling).
    #[arg(long)]
    throughput_limits: bool,
    /// How long a shard consumer waits after an empty read (Lambda: 1 s).
    #[arg(long, default_value = "1s", value_parser = pipeline::config::parse_duration)]
    poll_interval: Duration,
    /// How long Ctrl-C waits for in-flight work to finish.
    #[arg(long, default_value = "30s", value_parser = pipeline::config::parse_duration)]
    drain_timeout: Duration,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut backend = BackendSettings::from_env()?;
    backend.kind = args.backend.parse()?;
    if backend.kind == BackendKind::Embedded {
        backend.emulator_addr = Some(args.emulator_addr);
    }
    backend.allow_real_aws |= args.allow_real_aws;
    if args.throughput_limits {
        backend.emulator = backend.emulator.with_throughput_limits();
    }
    let mut options = HarnessOptions::new(backend);
    args.template.apply(&mut options, None)?;
    options.log_events = true;
    options.track_events = false;
    options.fault_layer = false;
    options.kinesis_poll_interval = args.poll_interval;
    options.artifacts = args.artifacts.artifacts();

    // Bind first, so a taken port fails before anything starts.
    let listener = tokio::net::TcpListener::bind(args.ingest_addr)
        .await
        .with_context(|| format!("cannot listen on {} for the ingest API", args.ingest_addr))?;
    let origin = options
        .template
        .as_ref()
        .map_or_else(String::new, |t| t.origin.clone());
    let harness = Harness::start_with(options)
        .await
        .with_context(|| format!("cannot start the pipeline of {origin}"))?;
    for finding in &harness.spec().accepted {
        tracing::warn!("ignored (accepted with --accept-unsupported): {finding}");
    }
    for (name, value) in harness.outputs() {
        tracing::info!("template output {name} = {value} (as resolved locally)");
    }
    let stage = &harness.ingest_config().stage;
    match harness.backend().endpoint_url() {
        Some(url) => tracing::info!(
            "AWS APIs ({} backend) at {url}  (aws --endpoint-url {url} dynamodb scan --table-name {})",
            harness.backend().kind().name(),
            harness.provisioned().resources.table
        ),
        None => tracing::info!("AWS APIs: {} backend", harness.backend().kind().name()),
    }
    tracing::info!(
        "ingest API at http://{}/{stage}/stream (PUT, x-api-key); Ctrl-C to stop",
        listener.local_addr()?
    );

    axum::serve(listener, harness.ingest_app())
        .with_graceful_shutdown(super::shutdown_signal())
        .await
        .context("the ingest server failed")?;

    tracing::info!("stopping: ingest closed, draining in-flight work");
    if let Err(err) = harness.drain_within(args.drain_timeout).await {
        tracing::warn!("{err}; what is left stays on the stream and the queue");
    }
    let counts = harness.counts();
    harness.shutdown().await;
    tracing::info!(
        "stopped: {} ingested, {} stored, {} duplicates suppressed, {} conflicts (to the DLQ), \
         {} sent to the DLQ by the forwarder",
        counts.ingested,
        counts.stored,
        counts.duplicates,
        counts.conflicts,
        counts.sent_to_dlq
    );
    Ok(ExitCode::SUCCESS)
}
