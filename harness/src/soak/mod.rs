//! A soak: the whole pipeline (the real [`Harness`]: ingest API -> Kinesis -> forward handler
//! -> SQS -> store handler -> DynamoDB, with both event source mappings) under sustained load
//! with random faults on every hop, then a recovery and a check of the delivery contract.
//!
//! 1. [`Soak::start`]: a harness on the embedded backend, under tokio's paused clock (so 30 s
//!    visibility timeouts, backoff and injected timeouts cost no wall time), with a
//!    [`Tracker`] observing every hop;
//! 2. [`Soak::load`]: installs the seeded plan ([`SoakPlan`]), ingests every event through the
//!    ingest API with bounded concurrency (a PUT that failed or whose answer was lost is sent
//!    again with the same id and payload: a true duplicate; only a 2xx accepts an event), and
//!    lets the pipeline settle with the faults still on;
//! 3. [`Soak::recover`]: clears the faults, drains, redrives the DLQ, drains again;
//! 4. [`Soak::check`]: the invariants ([`check`]) against the table, the DLQ and the tracker,
//!    and the [`SoakReport`] with its verdict line.
//!
//! ```no_run
//! # async fn soak() -> Result<(), harness::soak::SoakError> {
//! use harness::soak::{Soak, SoakConfig};
//! // On a current-thread runtime with a paused clock (`#[tokio::test(start_paused = true)]`).
//! let config = SoakConfig { events: 1_000, fault_rate: 0.1, seed: 7, ..SoakConfig::default() };
//! let report = Soak::run(config, harness::HarnessOptions::for_tests()?).await?;
//! println!("{}", report.verdict.line()); // soak: lost 0, double effects 0, conflicts 0, dlq 3, redriven 3
//! assert!(report.verdict.holds());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod plan;
pub mod tracker;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

pub use check::{Explanation, Verdict};
pub use plan::{Persistent, SoakEvent, SoakPlan};
pub use tracker::Tracker;

use crate::backend::BackendKind;
use crate::stack::{Counts, DlqEntry};
use crate::template::spec::EVENTS_QUEUE;
use crate::{Harness, HarnessError, HarnessOptions};

/// What a soak does.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakConfig {
    /// Events to ingest.
    pub events: u64,
    /// The share of each hop's calls (and of each mapping's batches) that fail, 0..=1.
    pub fault_rate: f64,
    /// Seeds the plan (events, rules, each rule's random stream).
    pub seed: u64,
    /// The share of events a persistent fault is aimed at (default: `fault_rate / 50`).
    pub persistent_rate: f64,
    /// PUTs in flight at once.
    pub concurrency: usize,
    /// Most PUTs of one event before the driver gives up on it (it is then not accepted).
    pub put_attempts: u32,
    /// How long each drain may take (tokio time).
    pub drain_timeout: Duration,
}

impl Default for SoakConfig {
    fn default() -> Self {
        SoakConfig {
            events: 10_000,
            fault_rate: 0.1,
            seed: 0,
            persistent_rate: 0.1 / 50.0,
            concurrency: 64,
            put_attempts: 20,
            drain_timeout: Duration::from_secs(3600),
        }
    }
}

impl SoakConfig {
    /// `events` at `fault_rate` with `seed`, and the default share of persistent faults
    /// (`fault_rate / 50`).
    pub fn new(events: u64, fault_rate: f64, seed: u64) -> Self {
        SoakConfig {
            events,
            fault_rate,
            seed,
            persistent_rate: fault_rate / 50.0,
            ..SoakConfig::default()
        }
    }
}

/// Why a soak could not run (a broken invariant is a [`Verdict`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// Another backend than the embedded emulator.
    #[error(
        "harness soak runs on the embedded backend only (its paused clock makes hours of \
         timeouts and retries cost seconds); HARNESS_BACKEND is {0}"
    )]
    Backend(String),
    /// Not under tokio's paused clock.
    #[error("harness soak needs tokio's paused clock (a current-thread runtime with start_paused)")]
    ClockNotPaused,
    /// The harness failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
}

/// Fault counts by action (`throttle`, `error`, `timeout`, `lose_response`, `duplicate`,
/// `crash_before_checkpoint`, `crash_mid_batch`; `persistent` for the persistent rules).
pub type FaultCounts = BTreeMap<String, u64>;

/// What a soak did and found.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// What was asked.
    pub config: SoakConfig,
    /// The invariants' outcome.
    pub verdict: Verdict,
    /// Events the ingest API accepted (a 2xx).
    pub accepted: u64,
    /// Events given up after [`SoakConfig::put_attempts`] PUTs.
    pub refused: u64,
    /// PUTs sent again after a failure.
    pub put_retries: u64,
    /// Events a persistent fault was aimed at: (queue down, store throttled).
    pub persistent: (usize, usize),
    /// Faults that fired, by action.
    pub faults: FaultCounts,
    /// The harness's counts per hop.
    pub counts: Counts,
    /// Wall time of the whole soak.
    pub wall: Duration,
    /// Tokio (scenario) time of the whole soak.
    pub scenario: Duration,
}

impl SoakReport {
    /// The line after the verdict: seed, events, faults by kind, wall and scenario time.
    pub fn summary(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        format!(
            "seed {}, events {} ({} accepted, {} PUT retries, {} refused), fault rate {}, \
             persistent faults on {} queue sends / {} stores; faults fired: {}; \
             wall time {:.1} s, scenario time {:.1} s",
            self.config.seed,
            self.config.events,
            self.accepted,
            self.put_retries,
            self.refused,
            self.config.fault_rate,
            self.persistent.0,
            self.persistent.1,
            if faults.is_empty() {
                "none".to_owned()
            } else {
                faults.join(", ")
            },
            self.wall.as_secs_f64(),
            self.scenario.as_secs_f64(),
        ) + &match self.verdict.still_dead.len() {
            0 => String::new(),
            n => format!("; {n} accepted events still on the DLQ (explained)"),
        }
    }
}

/// A soak under way: the harness, the plan, what was accepted.
pub struct Soak {
    harness: Harness,
    config: SoakConfig,
    plan: SoakPlan,
    tracker: Arc<Tracker>,
    accepted: BTreeMap<String, Value>,
    refused: u64,
    put_retries: u64,
    dlq_before: Vec<DlqEntry>,
    redriven: u64,
    wall_start: std::time::Instant,
    scenario_start: tokio::time::Instant,
    phases: Vec<Phase>,
}

/// One step of a soak and when it started (tokio's clock), for the HTML report's time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// When it started.
    pub at: tokio::time::Instant,
    /// `fault` (the plan installed), `ingest`, `drain`, `clear_faults`, `redrive`.
    pub kind: &'static str,
    /// What it did.
    pub summary: String,
}

impl Soak {
    /// Starts the harness of `options` (its backend must be the embedded one) for `config`.
    pub async fn start(config: SoakConfig, options: HarnessOptions) -> Result<Soak, SoakError> {
        if options.backend.kind != BackendKind::Embedded {
            return Err(SoakError::Backend(options.backend.kind.name().to_owned()));
        }
        if !crate::testing::clock_is_paused() {
            return Err(SoakError::ClockNotPaused);
        }
        let wall_start = std::time::Instant::now();
        let scenario_start = tokio::time::Instant::now();
        let tracker = Arc::new(Tracker::default());
        let mut options = options.observe(tracker.clone());
        options.seed = config.seed;
        options.track_events = true;
        options.fault_layer = true;
        options.drain_timeout = config.drain_timeout;
        let harness = Harness::start_with(options).await?;
        Ok(Soak {
            harness,
            plan: SoakPlan::new(&config),
            config,
            tracker,
            accepted: BTreeMap::new(),
            refused: 0,
            put_retries: 0,
            dlq_before: Vec::new(),
            redriven: 0,
            wall_start,
            scenario_start,
            phases: Vec::new(),
        })
    }

    /// Runs a whole soak: start, load, recover, check; shuts the harness down.
    pub async fn run(config: SoakConfig, options: HarnessOptions) -> Result<SoakReport, SoakError> {
        let mut soak = Soak::start(config, options).await?;
        soak.load().await?;
        soak.recover().await?;
        let report = soak.check().await?;
        soak.harness.shutdown().await;
        Ok(report)
    }

    /// The running harness (to inspect it, or to break it on purpose in a test).
    pub fn harness(&self) -> &Harness {
        &self.harness
    }

    /// The plan this soak runs.
    pub fn plan(&self) -> &SoakPlan {
        &self.plan
    }

    /// The steps so far, in order, with when each started.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    fn phase(&mut self, kind: &'static str, summary: String) {
        self.phases.push(Phase {
            at: tokio::time::Instant::now(),
            kind,
            summary,
        });
    }

    /// Installs the plan's rules, ingests every event, and waits for the pipeline to settle
    /// with the faults still on.
    pub async fn load(&mut self) -> Result<(), SoakError> {
        self.phase(
            "fault",
            format!("{} seeded fault rules installed", self.plan.rules.len()),
        );
        self.phase(
            "ingest",
            format!("{} events PUT until a 2xx", self.plan.events.len()),
        );
        let plan = self.harness.faults();
        for rule in &self.plan.rules {
            plan.install_rule(rule.clone());
        }
        let h = &self.harness;
        let attempts = self.config.put_attempts.max(1);
        let outcomes: Vec<(usize, PutOutcome)> =
            futures::stream::iter(self.plan.events.iter().enumerate())
                .map(|(i, event)| async move { (i, put(h, event, attempts).await) })
                .buffer_unordered(self.config.concurrency.max(1))
                .collect()
                .await;
        for (i, outcome) in outcomes {
            let event = &self.plan.events[i];
            self.put_retries += u64::from(outcome.puts.saturating_sub(1));
            if outcome.accepted {
                self.accepted
                    .insert(event.id.clone(), event.payload.clone());
            } else {
                self.refused += 1;
            }
        }
        self.phase("drain", "with the faults still on".into());
        self.harness.drain().await?;
        Ok(())
    }

    /// Clears the faults, drains, keeps the DLQ as it is, redrives it and drains again.
    pub async fn recover(&mut self) -> Result<(), SoakError> {
        self.phase(
            "clear_faults",
            "every fault rule removed, then drained".into(),
        );
        self.harness.faults().clear();
        self.harness.drain().await?;
        self.dlq_before = self.harness.dlq_messages().await?;
        self.phase(
            "redrive",
            format!(
                "{} message(s) on the DLQ redriven, then drained",
                self.dlq_before.len()
            ),
        );
        self.redriven = self.harness.redrive().await?;
        self.harness.drain().await?;
        Ok(())
    }

    /// Checks the invariants on what the pipeline left and reports.
    pub async fn check(&self) -> Result<SoakReport, SoakError> {
        let h = &self.harness;
        let items: HashMap<String, Value> = h
            .table_items()
            .await?
            .into_iter()
            .filter_map(|item| Some((item["id"].as_str()?.to_owned(), item)))
            .collect();
        let dlq_after = h.dlq_messages().await?;
        let max_receive_count = h
            .spec()
            .queues
            .get(EVENTS_QUEUE)
            .and_then(|q| q.redrive.as_ref())
            .map_or(u32::MAX, |r| r.max_receive_count);
        let verdict = check::check(&check::Evidence {
            accepted: &self.accepted,
            items: &items,
            dlq_before: &self.dlq_before,
            dlq_after: &dlq_after,
            redriven: self.redriven,
            max_receive_count,
            tracker: &self.tracker,
        });
        let mut faults = FaultCounts::new();
        for fired in h.journal().faults_fired() {
            let kind = if fired.rule.starts_with("soak:persistent:") {
                "persistent".to_owned()
            } else {
                fired.action
            };
            *faults.entry(kind).or_default() += 1;
        }
        Ok(SoakReport {
            config: self.config.clone(),
            verdict,
            accepted: self.accepted.len() as u64,
            refused: self.refused,
            put_retries: self.put_retries,
            persistent: (
                self.plan.persistent(Persistent::QueueDown),
                self.plan.persistent(Persistent::StoreThrottled),
            ),
            faults,
            counts: h.counts(),
            wall: self.wall_start.elapsed(),
            scenario: self.scenario_start.elapsed(),
        })
    }

    /// Shuts the harness down.
    pub async fn shutdown(self) {
        self.harness.shutdown().await;
    }
}

/// What PUTting one event came to.
struct PutOutcome {
    accepted: bool,
    puts: u32,
}

/// PUTs `event` until a 2xx, at most `attempts` times; a failed or lost answer is retried
/// with the same body after a short backoff (tokio time), as a careful producer does.
async fn put(h: &Harness, event: &SoakEvent, attempts: u32) -> PutOutcome {
    let body = event.body();
    for n in 1..=attempts {
        match h.ingest_json(body.clone()).await {
            Ok(outcome) if (200..300).contains(&outcome.status) => {
                return PutOutcome {
                    accepted: true,
                    puts: n,
                };
            }
            // 4xx other than throttling: the event itself is refused; sending it again is futile.
            Ok(outcome) if (400..500).contains(&outcome.status) && outcome.status != 429 => {
                tracing::warn!(id = %event.id, status = outcome.status, body = %outcome.body, "the ingest API refused a soak event");
                return PutOutcome {
                    accepted: false,
                    puts: n,
                };
            }
            Ok(_) | Err(_) => {
                let backoff = Duration::from_millis(100u64 << n.min(6));
                tokio::time::sleep(backoff).await;
            }
        }
    }
    PutOutcome {
        accepted: false,
        puts: attempts,
    }
}
