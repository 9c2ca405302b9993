//! `harness up`: the main job. The backend (the embedded emulator on :4566 by default), the
//! pipeline's resources, the ingest API on :3000 and both event source mappings, logging each
//! event as it moves, and the live view (`harness::report::live`) on its own loopback port.
//! Ctrl-C stops ingest, drains in-flight work and exits 0.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
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
    /// Where the live view (a page in the browser: streams, queues, table, journeys) listens;
    /// a loopback address only (it can redrive the DLQ).
    #[arg(long, default_value = "127.0.0.1:3001")]
    live_addr: SocketAddr,
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
    // The live view's journeys: the latest events only, `up` runs for days.
    let journeys = Arc::new(harness::report::JourneyLog::bounded(1_000));
    options = options.observe(journeys.clone());

    if !args.live_addr.ip().is_loopback() {
        anyhow::bail!(
            "--live-addr {} is not a loopback address: the live view can redrive the DLQ, so it \
             listens on 127.0.0.1 or ::1 only",
            args.live_addr
        );
    }
    // Bind first, so a taken port fails before anything starts.
    let listener = tokio::net::TcpListener::bind(args.ingest_addr)
        .await
        .with_context(|| format!("cannot listen on {} for the ingest API", args.ingest_addr))?;
    let live_listener = tokio::net::TcpListener::bind(args.live_addr)
        .await
        .with_context(|| format!("cannot listen on {} for the live view", args.live_addr))?;
    let origin = options
        .template
        .as_ref()
        .map_or_else(String::new, |t| t.origin.clone());
    let harness = Arc::new(
        Harness::start_with(options)
            .await
            .with_context(|| format!("cannot start the pipeline of {origin}"))?,
    );
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
    tracing::info!(
        "live view at http://{}/ (open it in a browser)",
        live_listener.local_addr()?
    );
    let (stop_live, live_stopped) = tokio::sync::oneshot::channel::<()>();
    let live = tokio::spawn(
        axum::serve(
            live_listener,
            harness::report::live::router(harness.clone(), journeys),
        )
        .with_graceful_shutdown(async {
            let _ = live_stopped.await;
        })
        .into_future(),
    );

    axum::serve(listener, harness.ingest_app())
        .with_graceful_shutdown(super::shutdown_signal())
        .await
        .context("the ingest server failed")?;
    let _ = stop_live.send(());
    match live.await {
        Ok(Err(err)) => tracing::warn!("the live view failed: {err}"),
        Err(err) => tracing::warn!("the live view's task failed: {err}"),
        Ok(Ok(())) => {}
    }
    // The live view's router held the only other reference.
    let harness = match Arc::try_unwrap(harness) {
        Ok(harness) => harness,
        Err(_) => anyhow::bail!("the live view still holds the pipeline after it stopped"),
    };

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
