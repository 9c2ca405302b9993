//! Pictures of a run: a self-contained HTML report of a scenario, load or soak run (one
//! file, inline CSS/SVG/JS, nothing fetched) and the live view of `harness up`.
//!
//! - [`JourneyLog`]: an observer that keeps every hop of every event with its time;
//! - [`RunModel`]: the run as data: steps and checks, a lane per event (every journal
//!   attempt, every fault that fired, every observed hop), the complete table, counts,
//!   latency percentiles and histogram; built by [`scenario_model`] or field by field;
//! - [`render`]: the model as one HTML document; [`write_html`] writes it;
//! - [`live`]: the live view's axum router.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use harness::{report, scenario};
//! let parsed = scenario::parse(r#"
//!     description = "one event"
//!     [[steps]]
//!     ingest = { count = 1 }
//!     [[steps]]
//!     drain = {}
//! "#, "inline.toml".as_ref())?;
//! let journeys = Arc::new(report::JourneyLog::new());
//! let mut options = scenario::RunOptions::new("..", harness::backend::BackendSettings::from_env()?);
//! options.journeys = Some(journeys.clone());
//! let run = scenario::run("one", &parsed, &options).await?;
//! let model = report::scenario_model(&run, &journeys);
//! assert_eq!(model.lanes[0].id, "e-1");
//! assert!(report::render(&model).contains("stored: item written"));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod html;
mod journeys;
pub mod live;
mod model;

use std::collections::HashSet;
use std::path::Path;

pub use html::{duration, escape, lane_anchor, render};
pub use journeys::{JourneyLog, Observed};
pub use model::{
    Bucket, CheckView, EventRow, FaultRow, HISTOGRAM_BUCKETS, Hop, LANES_PER_GROUP, Lane, Latency,
    Mark, MarkKind, Marker, Outcome, RunModel, Sources, StepView, journal_origin, lane_of, latency,
    shift,
};

use crate::scenario::ScenarioReport;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the HTML report to {path}")]
pub struct ReportError {
    /// The file.
    pub path: String,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Renders `model` into `path`; returns the file's size in bytes.
pub fn write_html(path: &Path, model: &RunModel) -> Result<u64, ReportError> {
    let html = render(model);
    std::fs::write(path, &html).map_err(|source| ReportError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(html.len() as u64)
}

/// The model of a scenario run whose [`crate::scenario::RunOptions::journeys`] was `journeys`.
pub fn scenario_model(report: &ScenarioReport, journeys: &JourneyLog) -> RunModel {
    let mut m = RunModel::new(
        &format!("scenario {}", report.name),
        "scenario",
        "scenario time (tokio's clock: paused on the embedded backend)",
    );
    m.description = report.description.clone();
    let failures = report.failures();
    m.passed = Some(report.skipped.is_none() && failures.is_empty());
    m.verdict = match (&report.skipped, failures.is_empty()) {
        (Some(reason), _) => format!("skipped: {reason}"),
        (None, true) => format!(
            "every expectation holds ({:.1} s of scenario time in {:.2} s of wall time)",
            report.scenario_time.as_secs_f64(),
            report.wall_time.as_secs_f64()
        ),
        (None, false) => failures.join("; "),
    };
    let origin = report.journal_origin.unwrap_or_else(|| journeys.origin());
    let at = |d| shift(d, origin, journeys.origin());
    let dlq_ids: Vec<String> = report
        .snapshots
        .last()
        .map(|s| {
            s.dlq
                .iter()
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut focus = HashSet::new();
    for step in &report.steps {
        let checks: Vec<CheckView> = report
            .checks
            .get(&step.index)
            .into_iter()
            .flatten()
            .map(|c| {
                let events = check_events(&c.what, c.detail.as_deref(), report, &dlq_ids);
                focus.extend(events.iter().cloned());
                CheckView {
                    what: c.what.clone(),
                    expected: c.expected,
                    actual: c.actual,
                    ok: c.ok,
                    detail: c.detail.clone(),
                    events,
                }
            })
            .collect();
        let marker = match step.kind {
            "restart" if step.crash => Some("crash"),
            "restart" | "replay" | "redrive" | "fault" | "clear_faults" => Some(step.kind),
            _ => None,
        };
        if let Some(kind) = marker {
            m.markers.push(Marker {
                at_us: at(step.at),
                kind: kind.to_owned(),
                label: format!("step {} ({}): {}", step.index, step.kind, step.summary),
            });
        }
        m.steps.push(StepView {
            index: step.index,
            kind: step.kind.to_owned(),
            summary: step.summary.clone(),
            at_us: at(step.at),
            checks,
        });
    }
    m.set_counts(&report.counts);
    let src = Sources {
        journeys,
        attempts: &report.attempts,
        faults: &report.faults_fired,
        journal_origin: origin,
        dlq: &report.dlq,
        dlq_ids: &dlq_ids,
    };
    m.add_journeys(&src, &focus);
    if report.attempts.len() >= 100_000 {
        m.notes.push(
            "the journal keeps its first 100,000 attempts: later calls are missing from the \
             lanes (the observed hops are all there)"
                .into(),
        );
    }
    if report.wire.is_some() {
        m.notes.push(
            "artifact mode: the functions ran as processes, so only their calls on the wire \
             (the journal) are drawn, not their own steps"
                .into(),
        );
    }
    m
}

/// The events a check concerns: the event of an `attempts` check, the events a `fired` rule
/// fired on, the DLQ's ids for a `dlq` check, the ids a `lost` check names.
fn check_events(
    what: &str,
    detail: Option<&str>,
    report: &ScenarioReport,
    dlq_ids: &[String],
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    if let Some(rest) = what.strip_prefix("attempts ") {
        ids.extend(rest.rsplit(' ').next().map(str::to_owned));
    } else if let Some(rule) = what.strip_prefix("fired ") {
        for f in report.faults_fired.iter().filter(|f| f.rule == rule) {
            for id in &f.event_ids {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
    } else if what == "dlq" || what == "dlq_ids" {
        ids.extend(dlq_ids.iter().cloned());
    } else if what == "lost"
        && let Some(list) = detail.and_then(|d| d.strip_prefix("lost: "))
    {
        ids.extend(list.split(", ").map(str::to_owned));
    }
    ids.truncate(20);
    ids
}

/// The model of what `h` did so far, its lanes from `journeys` (an observer of `h`) and the
/// journal's attempts and faults; the caller adds the steps (phases) and the verdict.
pub async fn harness_model(
    h: &crate::Harness,
    journeys: &JourneyLog,
    title: &str,
    kind: &str,
    clock: &str,
) -> Result<RunModel, crate::HarnessError> {
    let mut m = RunModel::new(title, kind, clock);
    m.set_counts(&h.counts());
    let attempts = h.journal().attempt_log();
    let faults = h.journal().faults_fired();
    let dlq_ids = h.dlq_ids().await?;
    let src = Sources::new(journeys, h.journal(), &attempts, &faults, h.dlq(), &dlq_ids);
    m.add_journeys(&src, &HashSet::new());
    if attempts.len() >= 100_000 {
        m.notes.push(
            "the journal keeps its first 100,000 attempts: later calls are missing from the \
             lanes (the observed hops are all there)"
                .into(),
        );
    }
    Ok(m)
}

/// Now on `journeys`' axis, in µs (a phase's start, for [`RunModel::phase`]).
pub fn now_us(journeys: &JourneyLog) -> u64 {
    u64::try_from(journeys.origin().elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl RunModel {
    /// Adds a phase of a load or soak as a step (and, for `redrive`, `replay`, `restart`,
    /// `clear_faults` and `fault`, a line on the time axis).
    pub fn phase(&mut self, kind: &str, summary: &str, at_us: u64) {
        let index = self.steps.len() + 1;
        if matches!(
            kind,
            "redrive" | "replay" | "restart" | "clear_faults" | "fault"
        ) {
            self.markers.push(Marker {
                at_us,
                kind: kind.to_owned(),
                label: format!("{kind}: {summary}"),
            });
            self.duration_us = self.duration_us.max(at_us);
        }
        self.steps.push(StepView {
            index,
            kind: kind.to_owned(),
            summary: summary.to_owned(),
            at_us,
            checks: Vec::new(),
        });
    }
}
