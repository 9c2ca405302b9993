//! `harness soak --events 100000 --fault-rate 0.1 --seed N`: the whole pipeline under load
//! with random faults on every hop, then the delivery contract checked (`harness::soak`).
//!
//! Prints the verdict line (`soak: lost 0, double effects 0, conflicts 0, dlq N, redriven N`),
//! a summary line (seed, events, faults by kind, wall and scenario time) and, when an
//! invariant breaks, one line per broken invariant naming up to 20 ids. Exit 0 when every
//! invariant holds, 1 when one breaks, 2 when the soak cannot run (another backend than the
//! embedded one among the reasons).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::template_args::TemplateArgs;
use harness::backend::{BackendKind, BackendSettings};
use harness::soak::{Soak, SoakConfig};
use harness::stack::HarnessOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events to ingest.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// The share of each hop's calls (and each mapping's batches) that fail, 0 to 1.
    #[arg(long, default_value_t = 0.1, value_parser = parse_rate)]
    fault_rate: f64,
    /// Seeds the events and the faults: the same seed gives the same plan.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The share of events whose queue send or store fails until the faults are cleared
    /// (default: fault rate / 50).
    #[arg(long, value_parser = parse_rate)]
    persistent_rate: Option<f64>,
    /// PUTs in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long each drain may take, in scenario (tokio) time.
    #[arg(long, default_value = "1h", value_parser = pipeline::config::parse_duration)]
    drain_timeout: Duration,
    #[command(flatten)]
    template: TemplateArgs,
    /// Also write the soak as one self-contained HTML file (a timeline per event, sampled
    /// per outcome beyond a few dozen, and the complete table).
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("`{text}` is not a rate between 0 and 1")),
    }
}

/// Runs on a current-thread runtime with a paused clock: the embedded backend only.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let backend = BackendSettings::from_env()?;
    if backend.kind != BackendKind::Embedded {
        eprintln!(
            "error: harness soak runs on the embedded backend only (its paused clock makes the \
             soak's timeouts and retries cost no wall time); HARNESS_BACKEND is {}",
            backend.kind.name()
        );
        return Ok(ExitCode::from(2));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .start_paused(true)
        .enable_all()
        .build()?;
    runtime.block_on(run(args, backend))
}

async fn run(args: Args, backend: BackendSettings) -> anyhow::Result<ExitCode> {
    let mut options = HarnessOptions::new(backend);
    args.template.apply(&mut options, None)?;
    let mut config = SoakConfig::new(args.events, args.fault_rate, args.seed);
    if let Some(rate) = args.persistent_rate {
        config.persistent_rate = rate;
    }
    config.concurrency = args.concurrency;
    config.drain_timeout = args.drain_timeout;
    let journeys = args
        .html
        .as_ref()
        .map(|_| std::sync::Arc::new(harness::report::JourneyLog::new()));
    if let Some(log) = &journeys {
        options = options.observe(log.clone());
    }
    let mut soak = Soak::start(config, options).await?;
    soak.load().await?;
    soak.recover().await?;
    let report = soak.check().await?;
    if let (Some(path), Some(log)) = (&args.html, &journeys) {
        let mut model = harness::report::harness_model(
            soak.harness(),
            log,
            "soak",
            "soak",
            "scenario time (tokio's paused clock)",
        )
        .await?;
        model.description = format!(
            "{} events, fault rate {}, seed {}: seeded faults on every hop, then recovery",
            args.events, args.fault_rate, args.seed
        );
        for phase in soak.phases() {
            let at = phase.at.saturating_duration_since(log.origin());
            let at_us = u64::try_from(at.as_micros()).unwrap_or(u64::MAX);
            model.phase(phase.kind, &phase.summary, at_us);
        }
        model.passed = Some(report.verdict.holds());
        model.verdict = report.verdict.line();
        model.summary = std::iter::once(report.summary())
            .chain(report.verdict.failures())
            .collect();
        let bytes = harness::report::write_html(path, &model)?;
        eprintln!("HTML report: {} ({bytes} bytes)", path.display());
    }
    soak.shutdown().await;
    let mut out = format!("{}\n{}\n", report.verdict.line(), report.summary());
    for line in report.verdict.failures() {
        out.push_str(&line);
        out.push('\n');
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(if report.verdict.holds() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
