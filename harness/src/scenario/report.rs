//! What a scenario run found: its steps, the checks of its expectations, the faults that
//! fired, the counts per hop and the latency, rendered for a person.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;

use crate::fault::FiredFault;
use crate::lambda::FunctionStats;
use crate::stack::{Counts, WireCounts};
use crate::stats::Percentiles;

/// One expectation: what was expected, what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// The expected value.
    pub expected: i64,
    /// The value found.
    pub actual: i64,
    /// Whether they agree.
    pub ok: bool,
    /// More about a failure (e.g. which ids).
    pub detail: Option<String>,
}

impl Check {
    /// A check of `actual` against `expected`.
    pub fn new(what: impl Into<String>, expected: i64, actual: i64) -> Self {
        Check {
            what: what.into(),
            expected,
            actual,
            ok: expected == actual,
            detail: None,
        }
    }

    /// Compares id lists; counts are the list lengths, the detail names the differences.
    pub fn ids(what: &str, expected: &[String], actual: &[String]) -> Self {
        let mut expected_sorted = expected.to_vec();
        expected_sorted.sort();
        let missing: Vec<&String> = expected_sorted
            .iter()
            .filter(|id| !actual.contains(id))
            .collect();
        let extra: Vec<&String> = actual
            .iter()
            .filter(|id| !expected_sorted.contains(id))
            .collect();
        let mut check = Check::new(what, expected.len() as i64, actual.len() as i64);
        check.ok = expected_sorted == actual;
        if !check.ok {
            check.detail = Some(format!("missing {missing:?}, unexpected {extra:?}"));
        }
        check
    }

    /// Adds what a failure needs to be understood.
    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    /// `table = 20 ✓` or `table = 19, expected 20 (1 fewer) ✗`.
    pub fn short(&self) -> String {
        if self.ok {
            format!("{} = {} ✓", self.what, self.actual)
        } else {
            format!("{} ✗", self.explain())
        }
    }

    /// Says which count was wrong and by how much.
    pub fn explain(&self) -> String {
        let diff = self.actual - self.expected;
        let by = match diff {
            0 => String::new(),
            d if d > 0 => format!(" ({d} more)"),
            d => format!(" ({} fewer)", -d),
        };
        let mut text = format!(
            "{} = {}, expected {}{by}",
            self.what, self.actual, self.expected
        );
        if let Some(detail) = &self.detail {
            let _ = write!(text, "; {detail}");
        }
        text
    }
}

/// What one step did.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// 1-based, as the file orders steps.
    pub index: usize,
    /// The step's name.
    pub kind: &'static str,
    /// One line on what happened.
    pub summary: String,
    /// When it started, on the journal's clock.
    pub at: Duration,
    /// A restart step that crashed its consumer (no graceful stop).
    pub crash: bool,
}

/// The table and the DLQ at one point of a scenario.
///
/// Serialised for review (the scenario snapshots): up to [`SNAPSHOT_ITEMS`] items of each
/// are written whole; beyond that, the first [`SNAPSHOT_SAMPLE`] items and a summary
/// (`table_summary`, `dlq_summary`: the count and the ids as ranges such as `burst-1..=2500`),
/// so a scenario of thousands of events leaves a file a person reads, not 480 KB of items.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The snapshot's name (`final` for the one taken at the end).
    pub name: String,
    /// Every table item, as JSON, sorted by id.
    pub table: Vec<Value>,
    /// Every DLQ message (`id`, `body`, `attributes`).
    pub dlq: Vec<Value>,
}

/// Items of a table or DLQ a snapshot writes whole.
pub const SNAPSHOT_ITEMS: usize = 50;
/// Items written whole in a summarised snapshot.
pub const SNAPSHOT_SAMPLE: usize = 3;

impl serde::Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        for (key, items) in [("table", &self.table), ("dlq", &self.dlq)] {
            if items.len() <= SNAPSHOT_ITEMS {
                map.serialize_entry(key, items)?;
                continue;
            }
            map.serialize_entry(key, &items[..SNAPSHOT_SAMPLE])?;
            let ids: Vec<&str> = items
                .iter()
                .filter_map(|item| item["id"].as_str())
                .collect();
            map.serialize_entry(
                &format!("{key}_summary"),
                &serde_json::json!({
                    "count": items.len(),
                    "without_id": items.len() - ids.len(),
                    "ids": id_ranges(&ids),
                }),
            )?;
        }
        map.end()
    }
}

/// Ids as ranges, sorted: `["burst-1..=2500", "energy-01..=09", "energy-10..=20", "x"]`
/// (a run of consecutive numbers after a common prefix, zero padding kept apart).
pub fn id_ranges(ids: &[&str]) -> Vec<String> {
    // (prefix, zero-padded width or 0) -> numbers; ids without a numeric suffix as they are.
    let mut runs: BTreeMap<(&str, usize), Vec<u64>> = BTreeMap::new();
    let mut plain: Vec<String> = Vec::new();
    for id in ids {
        let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, suffix) = id.split_at(id.len() - digits);
        match suffix.parse::<u64>() {
            Ok(n) if digits > 0 => {
                let width = if suffix.len() > 1 && suffix.starts_with('0') {
                    suffix.len()
                } else {
                    0
                };
                runs.entry((prefix, width)).or_default().push(n);
            }
            _ => plain.push((*id).to_owned()),
        }
    }
    let mut out = Vec::new();
    for ((prefix, width), mut numbers) in runs {
        numbers.sort_unstable();
        numbers.dedup();
        let mut start = 0;
        for i in 1..=numbers.len() {
            if i == numbers.len() || numbers[i] != numbers[i - 1] + 1 {
                let (first, last) = (numbers[start], numbers[i - 1]);
                out.push(if first == last {
                    format!("{prefix}{first:0width$}")
                } else {
                    format!("{prefix}{first:0width$}..={last:0width$}")
                });
                start = i;
            }
        }
    }
    out.extend(plain);
    out.sort();
    out
}

/// A scenario's result: every step, check and fault, counts and latency.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name (its file stem).
    pub name: String,
    /// Its description.
    pub description: String,
    /// What each step did.
    pub steps: Vec<StepReport>,
    /// The checks of each `expect` step, by step index.
    pub checks: BTreeMap<usize, Vec<Check>>,
    /// Every fault that fired, in order.
    pub faults_fired: Vec<FiredFault>,
    /// Error answers per `service operation code`, injected or real (e.g. the emulator's
    /// own throttling): what the retries had to get through.
    pub errors: BTreeMap<String, u64>,
    /// The in-process counts per hop.
    pub counts: Counts,
    /// PUT -> stored latency (scenario time).
    pub latency: Percentiles,
    /// How long the scenario took on its clock (tokio's).
    pub scenario_time: Duration,
    /// How long it took on the wall clock.
    pub wall_time: Duration,
    /// The snapshots taken (the final one at least).
    pub snapshots: Vec<Snapshot>,
    /// Why the scenario did not run on this backend.
    pub skipped: Option<String>,
    /// Template values the scenario replaced (`path = value (template: old)`).
    pub overrides: Vec<String>,
    /// What the template says that the harness ignored because the user accepted it.
    pub accepted: Vec<String>,
    /// Artifact mode: the functions that ran as processes, and what they did.
    pub processes: BTreeMap<String, FunctionStats>,
    /// Artifact mode: the hops counted on the wire (the processes' own counters are not
    /// visible to the harness).
    pub wire: Option<WireCounts>,
    /// The journal's attempts (the first 100,000), for the HTML report's journeys.
    pub attempts: Vec<crate::fault::Attempt>,
    /// When the journal's clock started (its attempts' and the steps' times count from it).
    pub journal_origin: Option<tokio::time::Instant>,
    /// The DLQ's physical name.
    pub dlq: String,
}

impl ScenarioReport {
    /// An empty report for scenario `name`.
    pub fn new(name: &str, description: &str) -> Self {
        ScenarioReport {
            name: name.to_owned(),
            description: description.to_owned(),
            steps: Vec::new(),
            checks: BTreeMap::new(),
            faults_fired: Vec::new(),
            errors: BTreeMap::new(),
            counts: Counts::default(),
            latency: Percentiles::default(),
            scenario_time: Duration::ZERO,
            wall_time: Duration::ZERO,
            snapshots: Vec::new(),
            skipped: None,
            overrides: Vec::new(),
            accepted: Vec::new(),
            processes: BTreeMap::new(),
            wire: None,
            attempts: Vec::new(),
            journal_origin: None,
            dlq: String::new(),
        }
    }

    pub(crate) fn checks_for(&mut self, step: usize) -> &mut Vec<Check> {
        self.checks.entry(step).or_default()
    }

    /// The failed checks, each with its step: `step 4 (expect): table = 19, expected 20 (1 fewer)`.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .flat_map(|(step, checks)| {
                let kind = self
                    .steps
                    .iter()
                    .find(|s| s.index == *step)
                    .map_or("step", |s| s.kind);
                checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(move |c| format!("step {step} ({kind}): {}", c.explain()))
            })
            .collect()
    }

    /// Whether every check passed (and the run was not skipped).
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The report as a person reads it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {}: {}", self.name, self.description);
        if let Some(reason) = &self.skipped {
            let _ = writeln!(out, "SKIPPED: {reason}");
            return out;
        }
        for o in &self.overrides {
            let _ = writeln!(out, "template override: {o}");
        }
        for a in &self.accepted {
            let _ = writeln!(out, "ignored (accepted): {a}");
        }
        for step in &self.steps {
            let _ = writeln!(
                out,
                "  {:>2}. {:<12} {}",
                step.index, step.kind, step.summary
            );
        }
        if self.faults_fired.is_empty() {
            let _ = writeln!(out, "faults fired: none");
        } else {
            let mut by_rule: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
            for f in &self.faults_fired {
                let entry = by_rule.entry(&f.rule).or_default();
                entry.0 += 1;
                for id in &f.event_ids {
                    if !entry.1.contains(&id.as_str()) {
                        entry.1.push(id);
                    }
                }
            }
            let _ = writeln!(out, "faults fired:");
            for (rule, (n, ids)) in by_rule {
                let _ = writeln!(out, "  {rule} x{n} (events: {})", ids.join(", "));
            }
        }
        if !self.errors.is_empty() {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            let _ = writeln!(out, "error answers: {}", list.join(", "));
        }
        let c = &self.counts;
        if let Some(w) = &self.wire {
            self.render_artifact_counts(&mut out, w);
        } else {
            let _ = writeln!(
                out,
                "counts: ingested {}, forwarded {}, forward retries {}, sent to DLQ {}, stored {}, \
                 duplicates suppressed {}, conflicts {}, store retries {}, store failures {}",
                c.ingested,
                c.forwarded,
                c.forward_retries,
                c.sent_to_dlq,
                c.stored,
                c.duplicates,
                c.conflicts,
                c.store_retries,
                c.store_failed
            );
            let _ = writeln!(
                out,
                "latency PUT -> stored (scenario time): {}",
                self.latency
            );
        }
        let failures = self.failures();
        if failures.is_empty() {
            let _ = writeln!(
                out,
                "verdict: PASS ({:.1} s of scenario time in {:.2} s of wall time)",
                self.scenario_time.as_secs_f64(),
                self.wall_time.as_secs_f64()
            );
        } else {
            let _ = writeln!(out, "verdict: FAIL");
            for f in failures {
                let _ = writeln!(out, "  {f}");
            }
        }
        out
    }
}

impl ScenarioReport {
    /// Artifact mode: the processes' hops are not visible in process, so the counts come from
    /// the wire, and the report says so instead of printing the observer's zeros.
    fn render_artifact_counts(&self, out: &mut String, w: &WireCounts) {
        let names: Vec<&str> = self.processes.keys().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "counts: ingested {}; {} ran as processes (artifact mode), whose own counters the \
             harness cannot see; on the wire (journal): forwarded {}, failed queue sends {}, \
             sent to DLQ {}, stored {}, duplicates suppressed {}, conflicts {}, failed writes {}",
            self.counts.ingested,
            names.join(", "),
            w.forwarded,
            w.forward_failures,
            w.sent_to_dlq,
            w.stored,
            w.duplicates,
            w.conflicts,
            w.store_failures
        );
        for (id, stats) in &self.processes {
            let _ = writeln!(
                out,
                "  {id}: {} invocations, {} cold starts, {} function errors",
                stats.invocations,
                stats.cold_starts,
                stats.errors.len()
            );
        }
        let _ = writeln!(
            out,
            "latency PUT -> stored: not measured in artifact mode (stored is seen by the process)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_ranges_of_consecutive_numbers() {
        let ids = [
            "burst-2",
            "burst-1",
            "burst-3",
            "burst-7",
            "energy-01",
            "energy-02",
            "energy-10",
            "x",
            "e-1",
        ];
        assert_eq!(
            id_ranges(&ids),
            [
                "burst-1..=3",
                "burst-7",
                "e-1",
                "energy-01..=02",
                "energy-10",
                "x"
            ]
        );
    }

    #[test]
    fn a_large_snapshot_is_a_sample_and_a_summary() {
        let item = |n: usize| serde_json::json!({"id": format!("b-{n}")});
        let snapshot = Snapshot {
            name: "final".into(),
            table: (1..=60).map(item).collect(),
            dlq: vec![item(99)],
        };
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["table"].as_array().unwrap().len(), SNAPSHOT_SAMPLE);
        assert_eq!(
            json["table_summary"],
            serde_json::json!({"count": 60, "without_id": 0, "ids": ["b-1..=60"]})
        );
        assert_eq!(json["dlq"], serde_json::json!([{"id": "b-99"}]));
        assert!(json.get("dlq_summary").is_none());
    }

    #[test]
    fn a_wrong_count_says_by_how_much() {
        assert_eq!(
            Check::new("table", 20, 19).explain(),
            "table = 19, expected 20 (1 fewer)"
        );
        assert_eq!(
            Check::new("dlq", 0, 2).explain(),
            "dlq = 2, expected 0 (2 more)"
        );
    }

    #[test]
    fn failures_name_their_step() {
        let mut report = ScenarioReport::new("x", "y");
        report.steps.push(StepReport {
            index: 4,
            kind: "expect",
            summary: String::new(),
            at: Duration::ZERO,
            crash: false,
        });
        report.checks_for(4).push(Check::new("table", 20, 19));
        report.checks_for(4).push(Check::new("dlq", 0, 0));
        assert_eq!(
            report.failures(),
            ["step 4 (expect): table = 19, expected 20 (1 fewer)"]
        );
        assert!(!report.passed());
        assert!(report.render().contains("verdict: FAIL"));
    }
}
