//! Runs a scenario against a fresh [`Harness`] and collects what happened into a report.
//!
//! Expectations that fail do not stop the run: every check is recorded with the expected and
//! the actual value, and the verdict lists the ones that failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::model::{Drain, Expect, Ingest, PutRecord, Replay, Restart, Scenario, Step};
use super::report::{Check, ScenarioReport, Snapshot, StepReport};
use crate::backend::BackendSettings;
use crate::fault::AttemptStatus;
use crate::stack::{Harness, HarnessError, HarnessOptions, ReplayFrom};
use crate::template::{Acceptance, Template};

/// Where a scenario runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The workspace root: fixture paths are relative to it.
    pub root: PathBuf,
    /// The backend to run on.
    pub backend: BackendSettings,
    /// The template the pipeline is built from (`None`: the project's `template.yaml`).
    pub template: Option<Template>,
    /// Template findings accepted as ignored.
    pub accept: Acceptance,
    /// Template parameter values.
    pub parameters: std::collections::BTreeMap<String, String>,
    /// Template values replaced after the scenario's own overrides (a test suite's profile
    /// for real-time backends: short visibility timeouts). Listed in the report like those.
    pub overrides: Vec<(String, serde_json::Value)>,
    /// Artifact mode: functions run as child processes (the runtime must not pause its
    /// clock: children live in real time).
    pub artifacts: crate::lambda::Artifacts,
    /// Keeps every event's journey for the HTML report ([`crate::report`]); `None` keeps
    /// only the counts.
    pub journeys: Option<std::sync::Arc<crate::report::JourneyLog>>,
}

impl RunOptions {
    /// The project's template under `root`, nothing accepted, default parameters.
    pub fn new(root: impl Into<PathBuf>, backend: BackendSettings) -> Self {
        RunOptions {
            root: root.into(),
            backend,
            template: None,
            accept: Acceptance::default(),
            parameters: Default::default(),
            overrides: Vec::new(),
            artifacts: Default::default(),
            journeys: None,
        }
    }
}

/// Why a scenario could not run (a failed check is not an error: see the report).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The harness could not start or answer.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// The template (or an added resources file) cannot be run.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// A step could not run (not an expectation that failed: those are the report's checks).
    #[error("step {index} ({kind})")]
    Step {
        /// 1-based.
        index: usize,
        /// The step's name.
        kind: &'static str,
        /// What went wrong.
        #[source]
        source: crate::stack::BoxError,
    },
}

const ENERGY: [&str; 4] = ["nuclear", "solar", "wind", "hydro"];

/// Runs `scenario` (named `name` in the report).
pub async fn run(
    name: &str,
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<ScenarioReport, RunError> {
    let wall = std::time::Instant::now();
    let mut report = ScenarioReport::new(name, &scenario.description);
    let mut backend = options.backend.clone();
    let settings = &scenario.settings;
    if settings.throughput_limits {
        let caps = backend.capabilities();
        if !caps.throughput_limits {
            report.skipped = Some(format!(
                "needs the emulator's throughput limits, which the {} backend does not have",
                backend.kind.name()
            ));
            return Ok(report);
        }
        backend.emulator = backend.emulator.with_throughput_limits();
    }
    let mut harness_options = HarnessOptions::new(backend);
    harness_options.template = match (&settings.template, &options.template) {
        (Some(path), _) => Some(Template::load(&options.root.join(path))?),
        (None, Some(t)) => Some(t.clone()),
        (None, None) => {
            let path = options.root.join(crate::template::DEFAULT_TEMPLATE);
            Some(Template::load(&path)?)
        }
    };
    if let (Some(path), Some(template)) = (&settings.resources, harness_options.template.as_mut()) {
        template.add_resources(&options.root.join(path))?;
    }
    harness_options.accept = options.accept.clone();
    harness_options.parameters = options.parameters.clone();
    harness_options.name_prefix = Some(crate::stack::unique_prefix(name));
    harness_options.seed = settings.seed.unwrap_or(0);
    harness_options.artifacts = options.artifacts.clone();
    for (path, value) in &settings.overrides {
        let value = serde_json::to_value(value).map_err(|e| RunError::Step {
            index: 0,
            kind: "settings",
            source: format!("overrides.{path}: {e}").into(),
        })?;
        harness_options = harness_options.set(path, value);
    }
    for (path, value) in &options.overrides {
        harness_options = harness_options.set(path, value.clone());
    }
    if let Some(journeys) = &options.journeys {
        harness_options = harness_options.observe(journeys.clone());
    }
    let h = Harness::start_with(harness_options).await?;
    report.overrides = h.overrides().iter().map(ToString::to_string).collect();
    report.accepted = h.spec().accepted.iter().map(ToString::to_string).collect();
    let started = h.clock().now();
    let scenario_time = tokio::time::Instant::now();

    for (i, step) in scenario.steps.iter().enumerate() {
        let index = i + 1;
        let kind = step.kind();
        let at = h.journal().elapsed();
        let fail = |source: crate::stack::BoxError| RunError::Step {
            index,
            kind,
            source,
        };
        let summary = match step {
            Step::Fault(spec) => {
                h.faults().install(spec);
                spec.rule().to_string()
            }
            Step::ClearFaults(_) => {
                h.faults().clear();
                "all fault rules removed".to_owned()
            }
            Step::Ingest(ingest) => run_ingest(&h, ingest, &options.root, report.checks_for(index))
                .await
                .map_err(fail)?,
            Step::PutRecord(record) => put_record(&h, record).await.map_err(|e| fail(e.into()))?,
            Step::Drain(Drain { deadline }) => {
                let before = tokio::time::Instant::now();
                h.drain_within(deadline.unwrap_or(Duration::from_secs(600)))
                    .await
                    .map_err(|e| fail(e.into()))?;
                format!("settled after {:.1} s", before.elapsed().as_secs_f64())
            }
            Step::Restart(Restart { consumer, crash }) => {
                h.restart(consumer, *crash)
                    .await
                    .map_err(|e| fail(e.into()))?;
                format!(
                    "{consumer} consumer {}",
                    if *crash {
                        "crashed and restarted"
                    } else {
                        "restarted"
                    }
                )
            }
            Step::Replay(Replay { from }) => {
                let from = match from.as_str() {
                    "scenario-start" => ReplayFrom::Timestamp(started),
                    other => other.parse::<ReplayFrom>().map_err(|e| fail(e.into()))?,
                };
                let replayed = h.replay(from.clone()).await.map_err(|e| fail(e.into()))?;
                format!(
                    "from {from:?}: {} records in {} batches",
                    replayed.records, replayed.batches
                )
            }
            Step::Redrive(_) => {
                let moved = h.redrive().await.map_err(|e| fail(e.into()))?;
                format!("{moved} message(s) moved from the DLQ to the queue")
            }
            Step::Expect(expect) => {
                let checks = evaluate(&h, expect).await.map_err(|e| fail(e.into()))?;
                let summary = checks
                    .iter()
                    .map(Check::short)
                    .collect::<Vec<_>>()
                    .join(", ");
                report.checks_for(index).extend(checks);
                summary
            }
            Step::Snapshot(s) => {
                report
                    .snapshots
                    .push(snapshot(&h, &s.name).await.map_err(|e| fail(e.into()))?);
                format!("table and DLQ recorded as {:?}", s.name)
            }
        };
        report.steps.push(StepReport {
            index,
            kind,
            summary,
            at,
            crash: matches!(step, Step::Restart(Restart { crash: true, .. })),
        });
    }

    if report.snapshots.is_empty() {
        report.snapshots.push(snapshot(&h, "final").await?);
    }
    report.faults_fired = h.journal().faults_fired();
    report.attempts = h.journal().attempt_log();
    report.journal_origin = Some(crate::report::journal_origin(h.journal()));
    report.dlq = h.dlq().to_owned();
    for attempt in &report.attempts {
        // A batch entry that failed alone is an error answer of its single-message operation.
        if let (AttemptStatus::Ok { .. }, Some(entry_op)) = (
            &attempt.status,
            crate::fault::entry_operation(&attempt.operation),
        ) {
            for entry in &attempt.entries {
                if let AttemptStatus::AwsError { code, .. } = &entry.status {
                    *report
                        .errors
                        .entry(format!("{} {entry_op} {code}", attempt.service))
                        .or_default() += 1;
                }
            }
            continue;
        }
        let code = match &attempt.status {
            AttemptStatus::Ok { .. } => continue,
            AttemptStatus::AwsError { code, .. } => code.clone(),
            AttemptStatus::ConnectorError { kind } => format!("{kind:?}"),
        };
        *report
            .errors
            .entry(format!("{} {} {code}", attempt.service, attempt.operation))
            .or_default() += 1;
    }
    report.counts = h.counts();
    report.latency = h.recorder().latency();
    if !h.process_functions().is_empty() {
        report.processes = h.process_functions().stats();
        report.wire = Some(h.wire_counts());
    }
    report.scenario_time = scenario_time.elapsed();
    report.wall_time = wall.elapsed();
    h.shutdown().await;
    Ok(report)
}

/// The request bodies an ingest step sends.
fn ingest_bodies(ingest: &Ingest, root: &Path) -> Result<Vec<Value>, String> {
    let stream = ingest.stream.clone().unwrap_or_else(|| "default".into());
    let mut bodies = Vec::new();
    if let Some(count) = ingest.count {
        let prefix = ingest.prefix.clone().unwrap_or_else(|| "e-".into());
        for n in 1..=count {
            bodies.push(json!({
                "stream": stream,
                "id": format!("{prefix}{n}"),
                "payload": { "energy_type": ENERGY[(n as usize - 1) % ENERGY.len()], "n": n },
            }));
        }
    }
    if let Some(fixture) = &ingest.fixture {
        let path = root.join(fixture);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read fixture {}: {e}", path.display()))?;
        for (line_no, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let body: Value = serde_json::from_str(line).map_err(|e| {
                format!(
                    "{}:{}: not a JSON request body: {e}",
                    path.display(),
                    line_no + 1
                )
            })?;
            bodies.push(body);
        }
    }
    if bodies.is_empty() {
        return Err("ingest needs `count` or `fixture`".into());
    }
    Ok(bodies)
}

async fn run_ingest(
    h: &Harness,
    ingest: &Ingest,
    root: &Path,
    checks: &mut Vec<Check>,
) -> Result<String, crate::stack::BoxError> {
    let bodies = ingest_bodies(ingest, root)?;
    let expected = ingest.status.unwrap_or(200);
    let retries = ingest.client_retries.unwrap_or(3);
    let (mut accepted, mut client_retries, mut unexpected) = (0, 0, Vec::new());
    for body in &bodies {
        // The harness's error is kept whole (its source chain reaches the SDK's error).
        let mut outcome = h.ingest_json(body.clone()).await?;
        let mut tries = 0;
        while outcome.status == 503 && tries < retries {
            tries += 1;
            client_retries += 1;
            // The API's Retry-After is a hint in seconds; under a paused clock this is free.
            tokio::time::sleep(Duration::from_secs(1)).await;
            outcome = h.ingest_json(body.clone()).await?;
        }
        if outcome.status == 200 {
            accepted += 1;
        }
        if outcome.status != expected {
            unexpected.push(format!("{} -> {}", body["id"], outcome.status));
        }
    }
    if !unexpected.is_empty() {
        checks.push(
            Check::new(
                format!("ingest status {expected}"),
                bodies.len() as i64,
                (bodies.len() - unexpected.len()) as i64,
            )
            .with_detail(format!("unexpected: {}", unexpected.join(", "))),
        );
    }
    let mut summary = format!("{} events: {accepted} accepted", bodies.len());
    if client_retries > 0 {
        summary.push_str(&format!(", {client_retries} client retries after 503"));
    }
    Ok(summary)
}

async fn put_record(h: &Harness, record: &PutRecord) -> Result<String, HarnessError> {
    let kinesis = aws_sdk_kinesis::Client::new(&h.backend().sdk_config());
    let key = record.partition_key.clone().unwrap_or_else(|| "raw".into());
    let out = kinesis
        .put_record()
        .stream_name(&h.provisioned().resources.stream)
        .partition_key(&key)
        .data(aws_sdk_kinesis::primitives::Blob::new(
            record.data.as_bytes(),
        ))
        .send()
        .await
        .map_err(|e| HarnessError::aws("PutRecord", e))?;
    Ok(format!(
        "raw record ({} bytes) on {}",
        record.data.len(),
        out.shard_id
    ))
}

async fn evaluate(h: &Harness, expect: &Expect) -> Result<Vec<Check>, HarnessError> {
    let mut checks = Vec::new();
    let counts = h.counts();
    let needs_table = expect.table.is_some() || expect.table_ids.is_some();
    let needs_dlq = expect.dlq.is_some() || expect.dlq_ids.is_some();
    let table_ids = if needs_table {
        h.table_ids().await?
    } else {
        Vec::new()
    };
    let dlq = if needs_dlq {
        h.dlq_messages().await?
    } else {
        Vec::new()
    };
    if let Some(n) = expect.table {
        checks.push(Check::new("table", n as i64, table_ids.len() as i64));
    }
    if let Some(n) = expect.dlq {
        checks.push(Check::new("dlq", n as i64, dlq.len() as i64));
    }
    if let Some(n) = expect.lost {
        let lost = h.lost_ids().await?;
        let mut check = Check::new("lost", n as i64, lost.len() as i64);
        if !lost.is_empty() {
            check = check.with_detail(format!("lost: {}", lost.join(", ")));
        }
        checks.push(check);
    }
    // A store function running as a process counts nothing the harness can see: its
    // duplicates and conflicts are then read off the wire (PutItem's ConditionalCheckFailed
    // answers, and the DLQ sends after them), which in process gives the same numbers.
    let store_counts = || {
        if h.process_functions().is_empty() {
            (counts.duplicates, counts.conflicts)
        } else {
            let wire = h.wire_counts();
            (wire.duplicates, wire.conflicts)
        }
    };
    if let Some(n) = expect.duplicates {
        checks.push(Check::new("duplicates", n as i64, store_counts().0 as i64));
    }
    if let Some(n) = expect.conflicts {
        checks.push(Check::new("conflicts", n as i64, store_counts().1 as i64));
    }
    if let Some(ids) = &expect.table_ids {
        checks.push(Check::ids("table_ids", ids, &table_ids));
    }
    if let Some(ids) = &expect.dlq_ids {
        let actual: Vec<String> = dlq.iter().filter_map(|m| m.id.clone()).collect();
        checks.push(Check::ids("dlq_ids", ids, &actual));
    }
    for a in &expect.attempts {
        let actual = match &a.event {
            Some(event) => h.journal().attempts(&a.service, &a.operation, event),
            None => h.journal().calls(&a.service, &a.operation),
        };
        let what = match &a.event {
            Some(event) => format!("attempts {} {} {event}", a.service, a.operation),
            None => format!("calls {} {}", a.service, a.operation),
        };
        checks.push(Check::new(what, a.count as i64, actual as i64));
    }
    for (queue, n) in &expect.queues {
        checks.push(Check::new(
            format!("queue {queue}"),
            *n as i64,
            h.queue_messages(queue).await? as i64,
        ));
    }
    for f in &expect.fired {
        checks.push(Check::new(
            format!("fired {}", f.rule),
            f.count as i64,
            h.journal().fired(&f.rule) as i64,
        ));
    }
    Ok(checks)
}

async fn snapshot(h: &Harness, name: &str) -> Result<Snapshot, HarnessError> {
    let table = h.table_items().await?;
    let dlq = h
        .dlq_messages()
        .await?
        .into_iter()
        .map(|m| {
            let body = serde_json::from_str::<Value>(&m.body).unwrap_or(Value::String(m.body));
            json!({ "id": m.id, "body": body, "attributes": m.attributes })
        })
        .collect();
    Ok(Snapshot {
        name: name.to_owned(),
        table,
        dlq,
    })
}
