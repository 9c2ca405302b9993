//! The run model: what one run did, event by event, as data ([`RunModel`], serialisable),
//! built from the journal's attempts, the observer's journeys and what the runner knows
//! (steps, checks, counts). The HTML renderer draws it; tests read it.
//!
//! Every time is in microseconds from the [`JourneyLog`]'s creation, on tokio's clock: the
//! journal's attempts (timed from the journal's own creation) are shifted onto that axis.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use pipeline::observe::PipelineEvent;
use serde::Serialize;
use tokio::time::Instant;

use super::journeys::{JourneyLog, Observed};
use crate::fault::{Attempt, AttemptStatus, FiredFault, Journal};
use crate::stack::Counts;

/// Lanes drawn per outcome group; the complete table lists every event.
pub const LANES_PER_GROUP: usize = 25;
/// Buckets of the PUT -> stored histogram.
pub const HISTOGRAM_BUCKETS: usize = 24;

/// Which hop a mark belongs to (the timeline's rows of colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// The ingest API's PutRecord(s).
    Ingest,
    /// The record on the stream.
    Kinesis,
    /// The forward handler's SendMessage to the queue.
    Forward,
    /// The envelope on the queue.
    Queue,
    /// A receive of the message by the store function.
    Receive,
    /// The store handler's PutItem.
    Store,
    /// A send to the DLQ.
    Dlq,
    /// Any other call.
    Other,
}

/// What kind of mark it is (its shape and colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// A call or step that succeeded.
    Ok,
    /// A call that failed (an error answer or no answer).
    Failed,
    /// A fault rule fired here.
    Fault,
    /// The item was written.
    Stored,
    /// A duplicate the condition suppressed.
    Duplicate,
    /// A conflict (another envelope under the id).
    Conflict,
    /// The event reached the DLQ.
    Dlq,
}

/// One point of an event's journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// When, in µs.
    pub at_us: u64,
    /// The hop.
    pub hop: Hop,
    /// What happened, for a person.
    pub label: String,
    /// Its kind.
    pub kind: MarkKind,
    /// The fault rule that fired here, if any.
    pub rule: Option<String>,
}

/// Where an event ended, for grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// On the DLQ at the end (sent by the forwarder, or moved by the redrive policy).
    Dlq,
    /// Another envelope came under its id: that one went to the DLQ.
    Conflict,
    /// Accepted but neither stored nor on the DLQ.
    Unfinished,
    /// On the DLQ, then redriven and stored.
    Redriven,
    /// Stored, and at least one duplicate suppressed.
    Duplicate,
    /// Stored after failed attempts or faults.
    Retried,
    /// Stored at the first try.
    Stored,
}

impl Outcome {
    /// The group's heading.
    pub fn title(self) -> &'static str {
        match self {
            Outcome::Dlq => "on the DLQ",
            Outcome::Conflict => "conflicts",
            Outcome::Unfinished => "neither stored nor on the DLQ",
            Outcome::Redriven => "redriven from the DLQ, then stored",
            Outcome::Duplicate => "stored, duplicates suppressed",
            Outcome::Retried => "stored after failed attempts or faults",
            Outcome::Stored => "stored at the first try",
        }
    }

    /// The machine name (`dlq`, `stored`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Dlq => "dlq",
            Outcome::Conflict => "conflict",
            Outcome::Unfinished => "unfinished",
            Outcome::Redriven => "redriven",
            Outcome::Duplicate => "duplicate",
            Outcome::Retried => "retried",
            Outcome::Stored => "stored",
        }
    }
}

/// One event's complete journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lane {
    /// The envelope id (`poison-N` for a record that was not an envelope).
    pub id: String,
    /// Where it ended.
    pub outcome: Outcome,
    /// Every mark, in time order.
    pub marks: Vec<Mark>,
}

impl Lane {
    /// Marks of one hop.
    pub fn marks_of(&self, hop: Hop) -> impl Iterator<Item = &Mark> {
        self.marks.iter().filter(move |m| m.hop == hop)
    }

    /// PUT accepted -> first item written, when both were seen.
    pub fn latency_us(&self) -> Option<u64> {
        let put = self
            .marks
            .iter()
            .find(|m| m.hop == Hop::Kinesis && m.kind == MarkKind::Ok)?;
        let stored = self.marks.iter().find(|m| m.kind == MarkKind::Stored)?;
        Some(stored.at_us.saturating_sub(put.at_us))
    }
}

/// One row of the complete table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// The id.
    pub id: String,
    /// Where it ended.
    pub outcome: Outcome,
    /// The shard its record went to.
    pub shard: String,
    /// First mark, µs.
    pub first_us: u64,
    /// Last mark, µs.
    pub last_us: u64,
    /// SendMessage attempts to the queue.
    pub forward_attempts: usize,
    /// PutItem attempts.
    pub store_attempts: usize,
    /// Faults that fired on it.
    pub faults: usize,
}

/// One step of a scenario (or phase of a load or soak).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    /// 1-based.
    pub index: usize,
    /// The step's kind (`fault`, `ingest`, `drain`, `expect`, ...).
    pub kind: String,
    /// What it did.
    pub summary: String,
    /// When it started, µs.
    pub at_us: u64,
    /// Its checks (expect steps).
    pub checks: Vec<CheckView>,
}

/// One expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckView {
    /// What was checked (`table`, `attempts sqs SendMessage e-3`).
    pub what: String,
    /// Expected.
    pub expected: i64,
    /// Found.
    pub actual: i64,
    /// Whether they agree.
    pub ok: bool,
    /// The failure's detail.
    pub detail: Option<String>,
    /// The events it concerns (linked to their lanes).
    pub events: Vec<String>,
}

/// A vertical line on the time axis: a crash, a restart, a replay, a redrive, a fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// When, µs.
    pub at_us: u64,
    /// `crash`, `restart`, `replay`, `redrive`, `fault`, `clear_faults`, `phase`.
    pub kind: String,
    /// Its label.
    pub label: String,
}

/// One fault rule's firings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRow {
    /// The rule.
    pub rule: String,
    /// Its action.
    pub action: String,
    /// `service operation` (or `mapping delivery`).
    pub target: String,
    /// How often it fired.
    pub fired: usize,
    /// The events it fired on (the first 20).
    pub events: Vec<String>,
}

/// One bucket of the latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Lower bound, µs (inclusive).
    pub lo_us: u64,
    /// Upper bound, µs (exclusive).
    pub hi_us: u64,
    /// Events in it.
    pub count: u64,
}

/// PUT -> stored latency over the events whose journey shows both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Latency {
    /// Events measured.
    pub count: u64,
    /// Percentiles, µs.
    pub p50_us: u64,
    /// 90th.
    pub p90_us: u64,
    /// 99th.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
    /// The histogram (log-spaced buckets).
    pub histogram: Vec<Bucket>,
}

/// Everything the report shows about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunModel {
    /// `scenario sqs-failure`, `load`, `soak`.
    pub title: String,
    /// `scenario`, `load` or `soak`.
    pub kind: String,
    /// The scenario's description, or the run's settings.
    pub description: String,
    /// Whether it passed (`None`: nothing was checked).
    pub passed: Option<bool>,
    /// The verdict, as the text report says it.
    pub verdict: String,
    /// Which clock the times are on (`scenario time (paused clock)`, `wall time`).
    pub clock: String,
    /// The time axis's end, µs.
    pub duration_us: u64,
    /// The steps or phases.
    pub steps: Vec<StepView>,
    /// Lines on the time axis.
    pub markers: Vec<Marker>,
    /// Counts per hop, in pipeline order.
    pub counts: Vec<(String, u64)>,
    /// PUT -> stored latency.
    pub latency: Latency,
    /// Fault rules that fired.
    pub faults: Vec<FaultRow>,
    /// Error answers per `service operation code`.
    pub errors: BTreeMap<String, u64>,
    /// Every event, one row each.
    pub events: Vec<EventRow>,
    /// The lanes drawn: all of them for a small run, else a sample per outcome (every lane
    /// a check names, then the first of each group).
    pub lanes: Vec<Lane>,
    /// Events per outcome.
    pub outcomes: BTreeMap<Outcome, usize>,
    /// What the reader should know (sampling, a capped journal).
    pub notes: Vec<String>,
    /// Extra lines (the load's or soak's own summary).
    pub summary: Vec<String>,
}

/// What a run's journeys are built from.
pub struct Sources<'a> {
    /// The observer's journeys (their creation is time zero).
    pub journeys: &'a JourneyLog,
    /// The journal's attempts, in order.
    pub attempts: &'a [Attempt],
    /// The journal's fired faults.
    pub faults: &'a [FiredFault],
    /// When the journal's clock started.
    pub journal_origin: Instant,
    /// The DLQ's physical name (tells a DLQ send from a queue send).
    pub dlq: &'a str,
    /// The ids on the DLQ at the end (an event the redrive policy moved is seen only here).
    pub dlq_ids: &'a [String],
}

impl<'a> Sources<'a> {
    /// The journal's data, read through its public API.
    pub fn new(
        journeys: &'a JourneyLog,
        journal: &Journal,
        attempts: &'a [Attempt],
        faults: &'a [FiredFault],
        dlq: &'a str,
        dlq_ids: &'a [String],
    ) -> Self {
        Sources {
            journeys,
            attempts,
            faults,
            journal_origin: journal_origin(journal),
            dlq,
            dlq_ids,
        }
    }
}

/// When `journal`'s clock started (its times are offsets from then).
pub fn journal_origin(journal: &Journal) -> Instant {
    Instant::now()
        .checked_sub(journal.elapsed())
        .unwrap_or_else(Instant::now)
}

/// `at` on the journal's axis, on the journeys' axis, in µs.
pub fn shift(at: Duration, journal_origin: Instant, log_origin: Instant) -> u64 {
    let offset = journal_origin.saturating_duration_since(log_origin);
    micros(at + offset)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RunModel {
    /// An empty model titled `title`; fill it with [`RunModel::add_journeys`] and the fields.
    pub fn new(title: &str, kind: &str, clock: &str) -> Self {
        RunModel {
            title: title.to_owned(),
            kind: kind.to_owned(),
            description: String::new(),
            passed: None,
            verdict: String::new(),
            clock: clock.to_owned(),
            duration_us: 0,
            steps: Vec::new(),
            markers: Vec::new(),
            counts: Vec::new(),
            latency: Latency::default(),
            faults: Vec::new(),
            errors: BTreeMap::new(),
            events: Vec::new(),
            lanes: Vec::new(),
            outcomes: BTreeMap::new(),
            notes: Vec::new(),
            summary: Vec::new(),
        }
    }

    /// The counts per hop, in pipeline order.
    pub fn set_counts(&mut self, c: &Counts) {
        self.counts = vec![
            ("ingested".into(), c.ingested),
            ("forwarded".into(), c.forwarded),
            ("forward retries".into(), c.forward_retries),
            ("sent to DLQ".into(), c.sent_to_dlq),
            ("DLQ sends failed".into(), c.dlq_send_failed),
            ("stored".into(), c.stored),
            ("duplicates suppressed".into(), c.duplicates),
            ("conflicts".into(), c.conflicts),
            ("store retries".into(), c.store_retries),
            ("store failures".into(), c.store_failed),
        ];
    }

    /// Builds every lane, the complete table, the outcomes, the fault rows, the error
    /// answers, the latency and the delivery-fault markers. `focus`: ids drawn whatever the
    /// sampling (the events the checks name).
    pub fn add_journeys(&mut self, src: &Sources<'_>, focus: &HashSet<String>) {
        let log_origin = src.journeys.origin();
        let at = |d: Duration| shift(d, src.journal_origin, log_origin);
        let journeys = src.journeys.journeys();
        let mut index: HashMap<String, usize> = HashMap::new();
        let wire: Vec<Wire> = (0..journeys.len()).map(|_| Wire::default()).collect();
        for (i, (id, _)) in journeys.iter().enumerate() {
            index.insert(id.clone(), i);
        }
        let mut lanes_wire = LanesWire {
            index,
            wire,
            extra: Vec::new(),
            extra_index: HashMap::new(),
        };
        for attempt in src.attempts {
            // A batch call with entries journaled: each entry is its event's attempt of the
            // single-message operation, with the entry's own answer and rule.
            if !attempt.entries.is_empty() {
                for (entry, as_attempt) in entry_attempts(attempt) {
                    let ok = matches!(as_attempt.status, AttemptStatus::Ok { .. });
                    lanes_wire
                        .of(entry)
                        .calls
                        .push((entry_mark(&as_attempt, src.dlq, at(attempt.at)), ok));
                }
                continue;
            }
            let mut ids: Vec<&String> = Vec::new();
            for id in &attempt.event_ids {
                // A batch carrying an id twice is one attempt of that id.
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let ok = matches!(attempt.status, AttemptStatus::Ok { .. });
            for id in ids {
                lanes_wire
                    .of(id)
                    .calls
                    .push((attempt_mark(attempt, src.dlq, at(attempt.at)), ok));
            }
        }
        for fault in src.faults.iter().filter(|f| f.operation == "delivery") {
            for id in &fault.event_ids {
                lanes_wire.of(id).faults.push(Mark {
                    at_us: at(fault.at),
                    hop: if fault.service == "kinesis" {
                        Hop::Kinesis
                    } else {
                        Hop::Receive
                    },
                    label: format!(
                        "{} delivery fault {} (rule {})",
                        fault.service, fault.action, fault.rule
                    ),
                    kind: MarkKind::Fault,
                    rule: Some(fault.rule.clone()),
                });
            }
            if fault.action.starts_with("crash") {
                self.markers.push(Marker {
                    at_us: at(fault.at),
                    kind: "crash".into(),
                    label: format!("{} consumer crash: {}", fault.service, fault.rule),
                });
            }
        }
        let has_journal = !src.attempts.is_empty();
        let on_dlq: HashSet<&str> = src.dlq_ids.iter().map(String::as_str).collect();
        let LanesWire { wire, extra, .. } = lanes_wire;
        let mut lanes: Vec<Lane> = Vec::with_capacity(journeys.len() + extra.len());
        for ((id, observed), wire) in journeys.into_iter().zip(wire) {
            let marks = merge(wire, observer_marks(&observed, has_journal));
            lanes.push(finish_lane(id, marks, &observed, &on_dlq));
        }
        for (id, wire) in extra {
            lanes.push(finish_lane(id, merge(wire, Vec::new()), &[], &on_dlq));
        }
        self.faults = fault_rows(src.faults);
        for attempt in src.attempts {
            if !attempt.entries.is_empty() && matches!(attempt.status, AttemptStatus::Ok { .. }) {
                let op = crate::fault::entry_operation(&attempt.operation).unwrap_or("entry");
                for entry in &attempt.entries {
                    if let AttemptStatus::AwsError { code, .. } = &entry.status {
                        *self
                            .errors
                            .entry(format!("{} {op} {code}", attempt.service))
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
            *self
                .errors
                .entry(format!("{} {} {code}", attempt.service, attempt.operation))
                .or_default() += 1;
        }
        self.set_lanes(lanes, focus);
    }

    /// The table, outcomes, latency and the sampled lanes from every lane.
    fn set_lanes(&mut self, lanes: Vec<Lane>, focus: &HashSet<String>) {
        let mut latencies: Vec<u64> = lanes.iter().filter_map(Lane::latency_us).collect();
        self.latency = latency(&mut latencies);
        for lane in &lanes {
            *self.outcomes.entry(lane.outcome).or_default() += 1;
            let last = lane.marks.last().map_or(0, |m| m.at_us);
            self.duration_us = self.duration_us.max(last);
            self.events.push(EventRow {
                id: lane.id.clone(),
                outcome: lane.outcome,
                shard: shard_of(lane),
                first_us: lane.marks.first().map_or(0, |m| m.at_us),
                last_us: last,
                forward_attempts: lane
                    .marks_of(Hop::Forward)
                    .filter(|m| m.label.starts_with("SendMessage"))
                    .count(),
                store_attempts: lane
                    .marks_of(Hop::Store)
                    .filter(|m| m.label.starts_with("PutItem") || m.label.starts_with("Batch"))
                    .count(),
                faults: lane.marks.iter().filter(|m| m.rule.is_some()).count(),
            });
        }
        for m in &self.markers {
            self.duration_us = self.duration_us.max(m.at_us);
        }
        // The focus first, so a sample never hides an event a check names; then per outcome
        // the lanes with the most failed calls and faults, the slowest first among equals.
        let mut shown: BTreeMap<Outcome, usize> = BTreeMap::new();
        let mut keep: Vec<(usize, Lane)> = Vec::new();
        let mut candidates: BTreeMap<Outcome, Vec<(usize, Lane)>> = BTreeMap::new();
        for (order, lane) in lanes.into_iter().enumerate() {
            if focus.contains(&lane.id) {
                *shown.entry(lane.outcome).or_default() += 1;
                keep.push((order, lane));
            } else {
                candidates
                    .entry(lane.outcome)
                    .or_default()
                    .push((order, lane));
            }
        }
        let mut sampled = false;
        for (outcome, mut group) in candidates {
            let room = LANES_PER_GROUP.saturating_sub(shown.get(&outcome).copied().unwrap_or(0));
            if group.len() > room {
                sampled = true;
                let trouble = |l: &Lane| {
                    l.marks
                        .iter()
                        .filter(|m| matches!(m.kind, MarkKind::Failed | MarkKind::Fault))
                        .count()
                };
                group.sort_by_cached_key(|(order, l)| {
                    (
                        std::cmp::Reverse(trouble(l)),
                        std::cmp::Reverse(l.latency_us().unwrap_or(0)),
                        *order,
                    )
                });
                group.truncate(room);
            }
            keep.extend(group);
        }
        // Drawn by outcome, and in the order the events were first seen within one.
        keep.sort_by_key(|(order, l)| (l.outcome, *order));
        let keep: Vec<Lane> = keep.into_iter().map(|(_, l)| l).collect();
        if sampled {
            self.notes.push(format!(
                "{} of {} events drawn as lanes: every event a check names, then per outcome \
                 up to {} with the most failed calls and faults, the slowest first; the table \
                 below lists every event",
                keep.len(),
                self.events.len(),
                LANES_PER_GROUP
            ));
        }
        self.lanes = keep;
    }
}

/// One event's lane from its observed hops alone (no journal: the live view of `harness up`,
/// which runs without the fault layer).
pub fn lane_of(id: String, observed: &[Observed]) -> Lane {
    finish_lane(
        id,
        observer_marks(observed, false),
        observed,
        &HashSet::new(),
    )
}

fn shard_of(lane: &Lane) -> String {
    lane.marks
        .iter()
        .find_map(|m| {
            m.label
                .strip_prefix("PUT accepted: Kinesis record on ")
                .and_then(|rest| rest.split(',').next())
        })
        .unwrap_or("")
        .to_owned()
}

/// A batch call's entries (those carrying an event) as attempts of the single-message
/// operation (`SendMessage` for `SendMessageBatch`), as the journal counts them.
fn entry_attempts(attempt: &Attempt) -> Vec<(&String, Attempt)> {
    let operation = crate::fault::entry_operation(&attempt.operation).unwrap_or("entry");
    attempt
        .entries
        .iter()
        .filter_map(|entry| {
            let id = entry.event_id.as_ref()?;
            let as_attempt = Attempt {
                operation: format!("{operation} (in {})", attempt.operation),
                event_ids: vec![id.clone()],
                status: entry.status.clone(),
                rule: entry.rule.clone(),
                entries: Vec::new(),
                ..attempt.clone()
            };
            Some((id, as_attempt))
        })
        .collect()
}

/// A batch entry's mark: its own answer (an entry has no HTTP status: the call answered 200).
fn entry_mark(entry: &Attempt, dlq: &str, at_us: u64) -> Mark {
    let mut mark = attempt_mark(entry, dlq, at_us);
    let call = match &entry.status {
        AttemptStatus::Ok { status } => format!(": {status} OK"),
        AttemptStatus::AwsError { status, code } => format!(": {status} {code}"),
        AttemptStatus::ConnectorError { .. } => return mark,
    };
    let own = match &entry.status {
        AttemptStatus::AwsError { code, .. } => format!(": entry failed, {code}"),
        _ => ": entry OK".to_owned(),
    };
    mark.label = mark.label.replacen(&call, &own, 1);
    mark
}

fn attempt_mark(attempt: &Attempt, dlq: &str, at_us: u64) -> Mark {
    let resource = attempt.resource.as_deref().unwrap_or("?");
    let hop = match (attempt.service.as_str(), attempt.operation.as_str()) {
        ("kinesis", op) if op.starts_with("PutRecord") => Hop::Ingest,
        ("sqs", op) if op.starts_with("SendMessage") && resource == dlq => Hop::Dlq,
        ("sqs", op) if op.starts_with("SendMessage") => Hop::Forward,
        ("dynamodb", _) => Hop::Store,
        _ => Hop::Other,
    };
    let answer = match &attempt.status {
        AttemptStatus::Ok { status } => format!("{status} OK"),
        AttemptStatus::AwsError { status, code } => format!("{status} {code}"),
        AttemptStatus::ConnectorError { kind } => format!("no answer ({kind:?})"),
    };
    let mut label = format!("{} → {resource}: {answer}", attempt.operation);
    if let Some(stage) = &attempt.failure_stage {
        label.push_str(&format!(" (failure.stage={stage})"));
    }
    if let Some(rule) = &attempt.rule {
        label.push_str(&format!(" [fault rule {rule}]"));
    }
    let ok = matches!(attempt.status, AttemptStatus::Ok { .. });
    Mark {
        at_us,
        hop,
        label,
        kind: match (&attempt.rule, ok) {
            (Some(_), _) => MarkKind::Fault,
            (None, true) => MarkKind::Ok,
            (None, false) => MarkKind::Failed,
        },
        rule: attempt.rule.clone(),
    }
}

/// The observer's steps as marks. With a journal, its failed-attempt events are left out:
/// the journal shows every HTTP attempt (SDK retries included) with its answer.
fn observer_marks(observed: &[Observed], has_journal: bool) -> Vec<Mark> {
    let mut marks = Vec::new();
    for o in observed {
        let at_us = micros(o.at);
        let mark = |hop, kind, label: String| Mark {
            at_us,
            hop,
            label,
            kind,
            rule: None,
        };
        marks.push(match &o.event {
            PipelineEvent::Ingested {
                shard_id,
                sequence_number,
                ..
            } => mark(
                Hop::Kinesis,
                MarkKind::Ok,
                format!("PUT accepted: Kinesis record on {shard_id}, sequence {sequence_number}"),
            ),
            PipelineEvent::ForwardAttemptFailed {
                attempt, reason, ..
            } => {
                if has_journal {
                    continue;
                }
                mark(
                    Hop::Forward,
                    MarkKind::Failed,
                    format!("SendMessage attempt {attempt} failed: {reason}"),
                )
            }
            PipelineEvent::Forwarded { attempts, .. } => mark(
                Hop::Queue,
                MarkKind::Ok,
                format!("on the queue after {attempts} SendMessage attempt(s)"),
            ),
            PipelineEvent::SentToDlq {
                stage,
                reason,
                attempts,
                ..
            } => mark(
                Hop::Dlq,
                MarkKind::Dlq,
                format!(
                    "on the DLQ: failure.stage={stage}, {attempts} attempt(s) to the queue, \
                     failure.reason: {reason}"
                ),
            ),
            PipelineEvent::DlqSendFailed { reason, .. } => mark(
                Hop::Dlq,
                MarkKind::Failed,
                format!("DLQ send failed, record reported to the mapping: {reason}"),
            ),
            PipelineEvent::Stored { .. } => {
                mark(Hop::Store, MarkKind::Stored, "stored: item written".into())
            }
            PipelineEvent::DuplicateSuppressed { .. } => mark(
                Hop::Store,
                MarkKind::Duplicate,
                "duplicate suppressed: the same envelope is stored".into(),
            ),
            PipelineEvent::Conflict {
                digest,
                stored_digest,
                ..
            } => mark(
                Hop::Store,
                MarkKind::Conflict,
                format!(
                    "conflict: stored digest {stored_digest}, this envelope {digest} goes to \
                     the DLQ (failure.reason=conflict)"
                ),
            ),
            PipelineEvent::StoreAttemptFailed {
                attempt, reason, ..
            } => {
                if has_journal {
                    continue;
                }
                mark(
                    Hop::Store,
                    MarkKind::Failed,
                    format!("PutItem attempt {attempt} failed: {reason}"),
                )
            }
            PipelineEvent::StoreFailed { reason, .. } => mark(
                Hop::Store,
                MarkKind::Failed,
                format!(
                    "store failed, message reported in batchItemFailures (back after its \
                     visibility timeout): {reason}"
                ),
            ),
        });
    }
    marks
}

/// Sorts the marks, adds the SQS receives (each run of store marks up to its end is one
/// delivery of the message) and decides the outcome.
fn finish_lane(
    id: String,
    marks: Vec<Mark>,
    observed: &[Observed],
    on_dlq: &HashSet<&str>,
) -> Lane {
    let mut with_receives = Vec::with_capacity(marks.len() + 2);
    let (mut in_delivery, mut receives) = (false, 0);
    for m in marks {
        if m.hop == Hop::Store && !in_delivery {
            receives += 1;
            in_delivery = true;
            with_receives.push(Mark {
                at_us: m.at_us,
                hop: Hop::Receive,
                label: format!("SQS receive #{receives}: delivered to the store function"),
                kind: MarkKind::Ok,
                rule: None,
            });
        }
        if m.hop == Hop::Store && m.kind != MarkKind::Ok && m.label.starts_with("store failed")
            || matches!(
                m.kind,
                MarkKind::Stored | MarkKind::Duplicate | MarkKind::Conflict
            )
        {
            in_delivery = false;
        }
        with_receives.push(m);
    }
    let outcome = outcome(&id, observed, &with_receives, on_dlq);
    Lane {
        id,
        outcome,
        marks: with_receives,
    }
}

/// Each lane's [`Wire`], by id: the observed events' first, then ids seen on the wire only
/// (a PUT Kinesis refused, an event of a function running as a process).
struct LanesWire {
    index: HashMap<String, usize>,
    wire: Vec<Wire>,
    extra: Vec<(String, Wire)>,
    extra_index: HashMap<String, usize>,
}

impl LanesWire {
    fn of(&mut self, id: &str) -> &mut Wire {
        if let Some(&i) = self.index.get(id) {
            return &mut self.wire[i];
        }
        let i = match self.extra_index.get(id) {
            Some(&i) => i,
            None => {
                self.extra_index.insert(id.to_owned(), self.extra.len());
                self.extra.push((id.to_owned(), Wire::default()));
                self.extra.len() - 1
            }
        };
        &mut self.extra[i].1
    }
}

/// What the wire shows of one event: its calls (with whether they succeeded) in the
/// journal's order, and the delivery faults that fired on its batches.
#[derive(Default)]
struct Wire {
    calls: Vec<(Mark, bool)>,
    faults: Vec<Mark>,
}

/// The kind of call an observed hop follows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// A call of the hop that succeeded (`Ingested` after its PutRecord).
    Ok(Hop),
    /// A call of the hop that failed (a store failure after its PutItems).
    Failed(Hop),
    /// A PutItem the condition refused (a duplicate or a conflict).
    Refused,
}

impl Cause {
    fn of(mark: &Mark) -> Option<Cause> {
        match (mark.hop, mark.kind) {
            (Hop::Kinesis, MarkKind::Ok) => Some(Cause::Ok(Hop::Ingest)),
            (Hop::Queue, MarkKind::Ok) => Some(Cause::Ok(Hop::Forward)),
            (Hop::Dlq, MarkKind::Dlq) => Some(Cause::Ok(Hop::Dlq)),
            (Hop::Dlq, MarkKind::Failed) => Some(Cause::Failed(Hop::Dlq)),
            (Hop::Store, MarkKind::Stored) => Some(Cause::Ok(Hop::Store)),
            (Hop::Store, MarkKind::Duplicate | MarkKind::Conflict) => Some(Cause::Refused),
            (Hop::Store, MarkKind::Failed) => Some(Cause::Failed(Hop::Store)),
            _ => None,
        }
    }

    fn matches(self, call: &Mark, ok: bool) -> bool {
        match self {
            Cause::Ok(hop) => call.hop == hop && ok,
            Cause::Failed(hop) => call.hop == hop && !ok,
            Cause::Refused => {
                call.hop == Hop::Store && call.label.contains("ConditionalCheckFailedException")
            }
        }
    }
}

/// One event's marks in causal order. The journal's calls and the observer's hops are each
/// in order, but under a paused clock many share an instant, so time alone cannot interleave
/// them: each observed hop comes right after the call it follows from (the next unconsumed
/// one of its hop and outcome, not later than it), other calls before it by time. A delivery
/// fault goes before the first hop of its mapping's delivery at or after it fired.
fn merge(wire: Wire, observed: Vec<Mark>) -> Vec<Mark> {
    let Wire { calls, faults } = wire;
    let mut observed = observed;
    for fault in faults {
        let delivered = |m: &Mark| match fault.hop {
            Hop::Kinesis => matches!(m.hop, Hop::Queue | Hop::Dlq | Hop::Forward),
            _ => m.hop == Hop::Store,
        };
        let i = observed
            .iter()
            .position(|m| m.at_us >= fault.at_us && delivered(m))
            .unwrap_or(observed.len());
        observed.insert(i, fault);
    }
    let mut out = Vec::with_capacity(calls.len() + observed.len());
    let mut calls = calls.into_iter().peekable();
    let mut pending: std::collections::VecDeque<(Mark, bool)> = std::collections::VecDeque::new();
    for mark in observed {
        // Calls up to this hop's time, in order.
        while let Some((c, _)) = calls.peek() {
            if c.at_us > mark.at_us {
                break;
            }
            pending.extend(calls.next());
        }
        match Cause::of(&mark)
            .and_then(|cause| pending.iter().position(|(c, ok)| cause.matches(c, *ok)))
        {
            Some(k) => out.extend(pending.drain(..=k).map(|(c, _)| c)),
            None => {
                // No call of its own: after the calls strictly earlier.
                while pending.front().is_some_and(|(c, _)| c.at_us < mark.at_us) {
                    out.extend(pending.pop_front().map(|(c, _)| c));
                }
            }
        }
        out.push(mark);
    }
    out.extend(pending.into_iter().map(|(c, _)| c));
    out.extend(calls.map(|(c, _)| c));
    out
}

fn outcome(id: &str, observed: &[Observed], marks: &[Mark], on_dlq: &HashSet<&str>) -> Outcome {
    let has = |f: fn(&PipelineEvent) -> bool| observed.iter().any(|o| f(&o.event));
    // A duplicate with no write before it: the first PutItem was applied and its answer lost
    // (its retry found the item), so that is where the event was stored.
    let stored_at = observed
        .iter()
        .position(|o| matches!(o.event, PipelineEvent::Stored { .. }))
        .or_else(|| {
            observed
                .iter()
                .position(|o| matches!(o.event, PipelineEvent::DuplicateSuppressed { .. }))
        });
    let dlq_at = observed
        .iter()
        .position(|o| matches!(o.event, PipelineEvent::SentToDlq { .. }));
    if has(|e| matches!(e, PipelineEvent::Conflict { .. })) {
        return Outcome::Conflict;
    }
    match (stored_at, dlq_at) {
        (Some(s), Some(d)) if s > d => return Outcome::Redriven,
        (None, Some(_)) => return Outcome::Dlq,
        _ => {}
    }
    if stored_at.is_none() {
        return if on_dlq.contains(id) {
            Outcome::Dlq
        } else {
            Outcome::Unfinished
        };
    }
    let duplicates = observed
        .iter()
        .filter(|o| matches!(o.event, PipelineEvent::DuplicateSuppressed { .. }))
        .count();
    let wrote = has(|e| matches!(e, PipelineEvent::Stored { .. }));
    if duplicates > usize::from(!wrote) {
        Outcome::Duplicate
    } else if marks
        .iter()
        .any(|m| matches!(m.kind, MarkKind::Failed | MarkKind::Fault))
    {
        Outcome::Retried
    } else {
        Outcome::Stored
    }
}

fn fault_rows(faults: &[FiredFault]) -> Vec<FaultRow> {
    let mut rows: Vec<FaultRow> = Vec::new();
    for f in faults {
        let row = match rows.iter_mut().find(|r| r.rule == f.rule) {
            Some(row) => row,
            None => {
                rows.push(FaultRow {
                    rule: f.rule.clone(),
                    action: f.action.clone(),
                    target: format!("{} {}", f.service, f.operation),
                    fired: 0,
                    events: Vec::new(),
                });
                rows.last_mut().expect("just pushed")
            }
        };
        row.fired += 1;
        for id in &f.event_ids {
            if row.events.len() < 20 && !row.events.contains(id) {
                row.events.push(id.clone());
            }
        }
    }
    rows
}

/// Exact percentiles of `values` (µs) and a log-spaced histogram of them.
pub fn latency(values: &mut [u64]) -> Latency {
    if values.is_empty() {
        return Latency::default();
    }
    values.sort_unstable();
    let at = |q: f64| {
        let i = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1;
        values[i]
    };
    let (lo, hi) = (values[0].max(1), values[values.len() - 1].max(1));
    let ratio = (hi as f64 / lo as f64).powf(1.0 / HISTOGRAM_BUCKETS as f64);
    let mut histogram: Vec<Bucket> = Vec::new();
    if ratio <= 1.0 + f64::EPSILON {
        histogram.push(Bucket {
            lo_us: lo,
            hi_us: hi + 1,
            count: values.len() as u64,
        });
    } else {
        let mut bound = lo as f64;
        for i in 0..HISTOGRAM_BUCKETS {
            let next = if i + 1 == HISTOGRAM_BUCKETS {
                hi as f64 + 1.0
            } else {
                bound * ratio
            };
            histogram.push(Bucket {
                lo_us: bound as u64,
                hi_us: (next as u64).max(bound as u64 + 1),
                count: 0,
            });
            bound = next;
        }
        for &v in values.iter() {
            let v = v.max(1);
            let i = histogram
                .iter()
                .position(|b| v < b.hi_us)
                .unwrap_or(histogram.len() - 1);
            histogram[i].count += 1;
        }
    }
    // The first bucket starts at the smallest value (the log scale starts at 1 µs).
    if let Some(first) = histogram.first_mut() {
        first.lo_us = values[0];
    }
    Latency {
        count: values.len() as u64,
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        max_us: values[values.len() - 1],
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_and_the_histogram_holds_every_value() {
        let mut values: Vec<u64> = (1..=100).collect();
        let l = latency(&mut values);
        assert_eq!((l.p50_us, l.p90_us, l.p99_us, l.max_us), (50, 90, 99, 100));
        assert_eq!(l.histogram.iter().map(|b| b.count).sum::<u64>(), 100);
        assert_eq!(l.histogram.len(), HISTOGRAM_BUCKETS);
        let mut same = vec![7, 7, 7];
        assert_eq!(latency(&mut same).histogram.len(), 1);
    }

    #[test]
    fn a_batch_attempt_is_a_mark_on_each_of_its_events() {
        let log = JourneyLog::new();
        let journal = Journal::new();
        let attempt = Attempt {
            service: "sqs".into(),
            operation: "SendMessageBatch".into(),
            event_ids: vec!["a".into(), "b".into(), "a".into()],
            resource: Some("q".into()),
            status: AttemptStatus::AwsError {
                status: 500,
                code: "InternalError".into(),
            },
            rule: None,
            failure_stage: None,
            at: Duration::ZERO,
            entries: Vec::new(),
        };
        let attempts = [attempt];
        let src = Sources::new(&log, &journal, &attempts, &[], "dlq", &[]);
        let mut model = RunModel::new("t", "scenario", "scenario time");
        model.add_journeys(&src, &HashSet::new());
        let ids: Vec<&str> = model.lanes.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(model.lanes[0].marks.len(), 1);
        assert_eq!(model.lanes[0].marks[0].hop, Hop::Forward);
        assert_eq!(model.lanes[0].outcome, Outcome::Unfinished);
        assert_eq!(model.errors["sqs SendMessageBatch InternalError"], 1);
    }

    #[test]
    fn a_batch_entry_is_its_events_send_message_attempt_with_its_own_answer() {
        // The forwarder's SendMessageBatch: the call answers 200, one entry failed alone
        // (a SendMessage rule fired on it), so only that event's lane shows a failed attempt.
        let log = JourneyLog::new();
        let journal = Journal::new();
        let entry = |id: &str, status, rule: Option<&str>| crate::fault::EntryAttempt {
            entry_id: id.into(),
            event_id: Some(id.into()),
            status,
            sender_fault: None,
            rule: rule.map(Into::into),
        };
        let attempt = Attempt {
            service: "sqs".into(),
            operation: "SendMessageBatch".into(),
            event_ids: vec!["a".into(), "b".into()],
            resource: Some("q".into()),
            status: AttemptStatus::Ok { status: 200 },
            rule: None,
            failure_stage: None,
            at: Duration::ZERO,
            entries: vec![
                entry("a", AttemptStatus::Ok { status: 200 }, None),
                entry(
                    "b",
                    AttemptStatus::AwsError {
                        status: 200,
                        code: "InternalError".into(),
                    },
                    Some("r1"),
                ),
            ],
        };
        let attempts = [attempt];
        let src = Sources::new(&log, &journal, &attempts, &[], "dlq", &[]);
        let mut model = RunModel::new("t", "scenario", "scenario time");
        model.add_journeys(&src, &HashSet::new());
        let mark = |id: &str| {
            let lane = model.lanes.iter().find(|l| l.id == id).unwrap();
            assert_eq!(lane.marks.len(), 1, "{id}");
            lane.marks[0].clone()
        };
        assert_eq!(mark("a").kind, MarkKind::Ok);
        let b = mark("b");
        assert_eq!((b.kind, b.rule.as_deref()), (MarkKind::Fault, Some("r1")));
        assert!(
            b.label.starts_with("SendMessage (in SendMessageBatch)"),
            "{}",
            b.label
        );
        assert_eq!(model.errors["sqs SendMessage InternalError"], 1);
        assert_eq!(model.errors.len(), 1);
    }

    #[test]
    fn calls_and_hops_at_one_instant_interleave_by_cause() {
        // Under a paused clock a redelivery happens at the same instant as the first
        // delivery: each observed hop follows the call it came from.
        let call = |hop, label: &str| Mark {
            at_us: 0,
            hop,
            label: label.into(),
            kind: MarkKind::Ok,
            rule: None,
        };
        let wire = Wire {
            calls: vec![
                (call(Hop::Ingest, "PutRecord"), true),
                (call(Hop::Forward, "SendMessage 1"), true),
                (call(Hop::Forward, "SendMessage 2"), true),
                (call(Hop::Store, "PutItem 1"), true),
                (
                    call(Hop::Store, "PutItem 2: 400 ConditionalCheckFailedException"),
                    false,
                ),
            ],
            faults: vec![Mark {
                kind: MarkKind::Fault,
                ..call(Hop::Kinesis, "duplicate")
            }],
        };
        let hop = |hop, kind, label: &str| Mark {
            kind,
            ..call(hop, label)
        };
        let observed = vec![
            hop(Hop::Kinesis, MarkKind::Ok, "accepted"),
            hop(Hop::Queue, MarkKind::Ok, "queued 1"),
            hop(Hop::Queue, MarkKind::Ok, "queued 2"),
            hop(Hop::Store, MarkKind::Stored, "stored"),
            hop(Hop::Store, MarkKind::Duplicate, "duplicate suppressed"),
        ];
        let labels: Vec<String> = merge(wire, observed).into_iter().map(|m| m.label).collect();
        assert_eq!(
            labels,
            [
                "PutRecord",
                "accepted",
                "duplicate",
                "SendMessage 1",
                "queued 1",
                "SendMessage 2",
                "queued 2",
                "PutItem 1",
                "stored",
                "PutItem 2: 400 ConditionalCheckFailedException",
                "duplicate suppressed"
            ]
        );
    }

    #[test]
    fn a_sample_draws_the_troubled_and_the_slow_lanes_of_each_outcome() {
        let lane = |n: u64, failed: bool| Lane {
            id: format!("e-{n}"),
            outcome: Outcome::Stored,
            marks: vec![
                Mark {
                    at_us: 0,
                    hop: Hop::Kinesis,
                    label: "PUT accepted".into(),
                    kind: if failed {
                        MarkKind::Failed
                    } else {
                        MarkKind::Ok
                    },
                    rule: None,
                },
                Mark {
                    at_us: n,
                    hop: Hop::Store,
                    label: "stored".into(),
                    kind: MarkKind::Stored,
                    rule: None,
                },
            ],
        };
        let mut lanes: Vec<Lane> = (1..=40).map(|n| lane(n, n == 3)).collect();
        lanes[0].marks[0].kind = MarkKind::Ok;
        let mut model = RunModel::new("t", "load", "wall time");
        let focus: HashSet<String> = ["e-1".to_owned()].into();
        model.set_lanes(lanes, &focus);
        let ids: Vec<&str> = model.lanes.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), LANES_PER_GROUP);
        assert_eq!(model.events.len(), 40);
        // e-1 is focused, e-3 had a failed call, then the slowest (e-40 down), in seen order.
        assert_eq!(&ids[..3], ["e-1", "e-3", "e-18"]);
        assert_eq!(ids.last(), Some(&"e-40"));
        assert_eq!(model.notes.len(), 1);
    }
}
