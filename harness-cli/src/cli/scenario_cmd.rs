//! `harness scenario NAME|PATH`: run a scenario file, print its report, exit non-zero when an
//! expectation fails.
//!
//! On the embedded backend the scenario runs in process under tokio's paused clock, so
//! production timeouts (30 s visibility, 1 s polling, backoff) cost no wall time and a seeded
//! run is reproducible. Other backends, and artifact mode (`--artifacts`, `--function`: child
//! processes do not follow tokio's clock), run in real time, with the real-time profile
//! (`harness::stack::REAL_TIME_PROFILE`) unless `--template-timings`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::artifact_args::ArtifactArgs;
use super::template_args::TemplateArgs;
use harness::backend::{BackendKind, BackendSettings};
use harness::scenario::{self, RunOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A scenario name (scenarios/NAME.toml) or a path to a scenario file.
    scenario: String,
    /// Where scenario names, fixtures and (unless --template) template.yaml are looked up.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    #[command(flatten)]
    template: TemplateArgs,
    #[command(flatten)]
    artifacts: ArtifactArgs,
    /// Let the endpoint backend reach real AWS (no endpoint variable set, or an
    /// `amazonaws.com` one): refused without it (also `HARNESS_ALLOW_REAL_AWS=1`).
    #[arg(long)]
    allow_real_aws: bool,
    /// In real time (a non-embedded backend, or artifact mode), keep the template's SQS
    /// timings instead of the real-time profile (`EventsQueue.VisibilityTimeout = 3`,
    /// `StoreFunction.Timeout = 1`: three receives cost seconds, not 90 s).
    #[arg(long)]
    template_timings: bool,
    /// Also write the run as one self-contained HTML file (steps, a timeline per event,
    /// counts, latency): open it in a browser.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// Runs on its own runtime: current-thread with a paused clock for the embedded backend in
/// process, else multi-threaded in real time.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut backend = BackendSettings::from_env()?;
    backend.allow_real_aws |= args.allow_real_aws;
    let paused = backend.kind == BackendKind::Embedded && !args.artifacts.artifacts().is_active();
    let mut builder = if paused {
        let mut b = tokio::runtime::Builder::new_current_thread();
        b.start_paused(true);
        b
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder.enable_all().build()?;
    let overrides = if paused || args.template_timings {
        Vec::new()
    } else {
        harness::stack::real_time_overrides()
    };
    runtime.block_on(run(args, backend, overrides))
}

async fn run(
    args: Args,
    backend: BackendSettings,
    overrides: Vec<(String, serde_json::Value)>,
) -> anyhow::Result<ExitCode> {
    let path = scenario::resolve(&args.scenario, &args.root.join("scenarios"))?;
    let parsed = scenario::load(&path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.scenario.clone());
    let options = RunOptions {
        root: args.root.clone(),
        backend,
        template: Some(args.template.load(Some(&args.root))?),
        accept: args.template.acceptance(),
        parameters: args.template.parameters(),
        overrides,
        artifacts: args.artifacts.artifacts(),
        journeys: args
            .html
            .as_ref()
            .map(|_| std::sync::Arc::new(harness::report::JourneyLog::new())),
    };
    let report = scenario::run(&name, &parsed, &options)
        .await
        .with_context(|| format!("scenario {name} could not run"))?;
    // A closed pipe (`| head`) is not an error worth a panic.
    use std::io::Write;
    let _ = std::io::stdout().write_all(report.render().as_bytes());
    if let (Some(path), Some(journeys)) = (&args.html, &options.journeys) {
        let model = harness::report::scenario_model(&report, journeys);
        let bytes = harness::report::write_html(path, &model)?;
        eprintln!("HTML report: {} ({bytes} bytes)", path.display());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
