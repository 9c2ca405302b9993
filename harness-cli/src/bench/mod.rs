//! The emulator's benchmark (`harness bench`): the hot operations through the official SDK
//! clients, over HTTP and in process, next to a null server that does no work (the ceiling of
//! the SDK client on this machine) and optionally next to other endpoints (moto server,
//! LocalStack, any AWS-compatible URL); plus the emulator's start-to-ready time (and
//! LocalStack's, when the run starts it).
//!
//! Layout:
//! - [`workload`]: the benchmarked operations ([`Case`]) and the resources they need;
//! - [`target`]: the servers they run against ([`TargetKind`]);
//! - [`localstack`]: LocalStack started through the harness's backend, as one more endpoint;
//! - [`direct`]: the same operations straight into `Emulator::handle` (the emulator's cost);
//! - [`null`]: the null server (the same answers over a socket and in process);
//! - [`driver`]: the closed-loop driver at a given concurrency;
//! - [`startup`]: start-to-ready measurements;
//! - [`report`]: results, ratios, text and Markdown tables.

pub mod direct;
pub mod driver;
pub mod localstack;
pub mod null;
pub mod report;
pub mod startup;
pub mod target;
pub mod workload;

use std::time::Duration;

pub use driver::{Budget, Measurement};
pub use report::{CaseResult, Report};
pub use startup::StartupReport;
pub use target::TargetKind;
pub use workload::Case;

use target::Target;

/// Why a benchmark could not run (failed operations are counted, not errors).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("could not bind a loopback port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("creating the benchmark {what} failed")]
    Provision {
        /// `stream`, `queue` or `table`.
        what: &'static str,
        /// The SDK's error, or why the resource never became active.
        #[source]
        source: BoxError,
    },
    #[error("start-to-ready: the first PutRecord failed")]
    FirstPutRecord(#[source] BoxError),
    #[error("start-to-ready: GET /_emulator/health")]
    Health(#[source] std::io::Error),
    #[error("start-to-ready: GET /_emulator/health answered {0}")]
    HealthStatus(String),
}

/// An error with its sources (the SDK's errors are kept as they are).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub cases: Vec<Case>,
    pub concurrencies: Vec<usize>,
    pub budget: Budget,
    /// Each measurement is repeated this many times, interleaved across targets so that they
    /// share the machine's noise; the round with the median rate is reported.
    pub rounds: usize,
    pub targets: Vec<TargetKind>,
    /// Runs of each start-to-ready measurement; `None` skips it.
    pub startup_runs: Option<usize>,
}

impl Plan {
    /// The targets every run has, plus `endpoints` (name, URL) such as moto server or
    /// LocalStack, in that order.
    pub fn default_targets(endpoints: &[(String, String)]) -> Vec<TargetKind> {
        let mut targets = vec![
            TargetKind::EmulatorHttp,
            TargetKind::NullHttp,
            TargetKind::EmulatorInProcess,
            TargetKind::NullInProcess,
            TargetKind::EmulatorCore,
        ];
        targets.extend(endpoints.iter().map(|(name, url)| TargetKind::Endpoint {
            name: name.clone(),
            url: url.clone(),
        }));
        targets
    }
}

/// Operations run before each measurement, untimed: connections open, caches fill.
fn warm_up(concurrency: usize) -> Budget {
    Budget::Ops((concurrency as u64 * 4).max(50))
}

/// Runs the plan; `progress` hears about each measurement as it finishes.
pub async fn run(plan: &Plan, mut progress: impl FnMut(&CaseResult)) -> Result<Report, BenchError> {
    let mut report = Report::default();
    if !plan.cases.is_empty() {
        let mut targets = Vec::with_capacity(plan.targets.len());
        for kind in &plan.targets {
            let tag = format!("bench-{}", uuid::Uuid::now_v7().simple());
            targets.push(Target::start(kind.clone(), &tag).await?);
        }
        for &case in &plan.cases {
            for &concurrency in &plan.concurrencies {
                let mut rounds: Vec<Vec<Measurement>> = vec![Vec::new(); targets.len()];
                for _ in 0..plan.rounds.max(1) {
                    for (i, target) in targets.iter().enumerate() {
                        let _ = measure(target, case, concurrency, warm_up(concurrency)).await;
                        rounds[i].push(measure(target, case, concurrency, plan.budget).await);
                    }
                }
                for (target, measurements) in targets.iter().zip(rounds) {
                    let result = CaseResult {
                        case,
                        concurrency,
                        target: target.kind.clone(),
                        measurement: median_by_rate(measurements),
                    };
                    progress(&result);
                    report.throughput.push(result);
                }
            }
        }
        for target in targets {
            target.finish().await;
        }
    }
    if let Some(runs) = plan.startup_runs {
        report.startup = Some(startup::measure(runs).await?);
    }
    Ok(report)
}

async fn measure(target: &Target, case: Case, concurrency: usize, budget: Budget) -> Measurement {
    let calls = target.calls.clone();
    driver::drive(concurrency, budget, move || {
        let calls = calls.clone();
        async move { calls.run_once(case).await }
    })
    .await
}

/// The measurement with the median rate (the lower middle one for an even count).
fn median_by_rate(mut measurements: Vec<Measurement>) -> Measurement {
    measurements.sort_by(|a, b| a.ops_per_second().total_cmp(&b.ops_per_second()));
    let middle = (measurements.len().saturating_sub(1)) / 2;
    measurements.swap_remove(middle)
}

/// A measurement's duration: the project's one grammar (`pipeline::config::parse_duration`:
/// `3s`, `500ms`, `1m 30s`), and more than zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = pipeline::config::parse_duration(text)?;
    if duration.is_zero() {
        return Err(format!("`{text}` must be a positive duration"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::stats::Percentiles;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1s 500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        // The grammar of every other flag: a bare number has no unit.
        assert!(parse_duration("2").is_err());
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(parse_duration("fast").is_err());
    }

    fn measured(ops: u64) -> Measurement {
        Measurement {
            ops,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latency: Percentiles::default(),
            first_error: None,
        }
    }

    #[test]
    fn the_median_round_is_reported() {
        let m = median_by_rate(vec![measured(30), measured(10), measured(20)]);
        assert_eq!(m.ops, 20);
        let m = median_by_rate(vec![measured(30), measured(10)]);
        assert_eq!(m.ops, 10);
    }

    /// The whole benchmark, tiny, against the in-process targets: every case works through
    /// the SDK against the emulator and the null answers, with no failed operation.
    #[tokio::test]
    async fn every_case_runs_without_errors_against_the_in_process_targets() {
        let plan = Plan {
            cases: Case::ALL.to_vec(),
            concurrencies: vec![1, 4],
            budget: Budget::Ops(20),
            rounds: 1,
            targets: vec![
                TargetKind::EmulatorInProcess,
                TargetKind::NullInProcess,
                TargetKind::EmulatorCore,
            ],
            startup_runs: None,
        };
        let report = run(&plan, |_| {}).await.unwrap();
        assert_eq!(report.throughput.len(), 3 * 2 * 3);
        for r in &report.throughput {
            assert_eq!(
                (r.measurement.ops, r.measurement.errors),
                (20, 0),
                "{} at {} against {}: {:?}",
                r.case.label(),
                r.concurrency,
                r.target.label(),
                r.measurement.first_error
            );
        }
    }

    /// The null server over a real socket must satisfy the SDK for every operation (it checks
    /// the shapes and, for SQS, the MD5 digests).
    #[tokio::test]
    async fn the_sdk_accepts_every_null_server_answer_over_http() {
        let target = Target::start(TargetKind::NullHttp, "unused").await.unwrap();
        for case in Case::ALL {
            target
                .calls
                .run_once(case)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.label()));
        }
    }
}
