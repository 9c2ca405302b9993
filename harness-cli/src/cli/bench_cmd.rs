//! `harness bench`: the emulator's benchmark (see [`crate::bench`]) with its results as a text
//! table, or as Markdown ready to paste into BENCHMARKS.md.

use std::process::ExitCode;
use std::time::Duration;

use crate::bench::{self, Budget, Case, Plan, TargetKind, parse_duration};

/// What `harness bench` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Kinesis PutRecord.
    PutRecord,
    /// SQS SendMessage + ReceiveMessage + DeleteMessage of one message.
    SqsRoundTrip,
    /// DynamoDB PutItem.
    PutItem,
    /// Start-to-ready, in process and over HTTP.
    Startup,
    /// Everything above.
    All,
}

/// The local targets (moto is added with `--moto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Local {
    /// The emulator on an ephemeral loopback port.
    EmulatorHttp,
    /// The null server on an ephemeral loopback port.
    NullHttp,
    /// The emulator through its in-process `HttpClient`.
    EmulatorInProcess,
    /// The null answers through an in-process `HttpClient`.
    NullInProcess,
    /// Requests straight into `Emulator::handle`, no SDK.
    EmulatorCore,
}

impl Local {
    fn kind(self) -> TargetKind {
        match self {
            Local::EmulatorHttp => TargetKind::EmulatorHttp,
            Local::NullHttp => TargetKind::NullHttp,
            Local::EmulatorInProcess => TargetKind::EmulatorInProcess,
            Local::NullInProcess => TargetKind::NullInProcess,
            Local::EmulatorCore => TargetKind::EmulatorCore,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to run (comma-separated or repeated); everything when none is given.
    #[arg(value_enum, value_delimiter = ',')]
    benches: Vec<Which>,
    /// Time per measurement, e.g. 3s or 500ms.
    #[arg(long, value_parser = parse_duration, default_value = "3s", conflicts_with = "ops")]
    duration: Duration,
    /// Operations per measurement instead of a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    ops: Option<u64>,
    /// Concurrent tasks sharing one SDK client (comma-separated list).
    #[arg(long, value_delimiter = ',', default_value = "1,64", value_parser = parse_concurrency)]
    concurrency: Vec<usize>,
    /// Also run every case against this endpoint (e.g. `moto_server` at
    /// http://127.0.0.1:5123) and report the emulator's rate over its rate.
    #[arg(long, value_name = "URL")]
    moto: Option<String>,
    /// Which local targets to run (comma-separated); all by default. `--moto` adds moto.
    #[arg(long, value_enum, value_delimiter = ',')]
    targets: Vec<Local>,
    /// Repeat each measurement this many times (interleaved) and report the median round.
    #[arg(long, default_value_t = 1, value_parser = parse_concurrency)]
    rounds: usize,
    /// Runs of each start-to-ready measurement (the median is reported).
    #[arg(long, default_value_t = 21, value_parser = parse_concurrency)]
    startup_runs: usize,
    /// Print Markdown tables ready to paste into BENCHMARKS.md.
    #[arg(long)]
    markdown: bool,
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

impl Args {
    fn plan(&self) -> Plan {
        let all = self.benches.is_empty() || self.benches.contains(&Which::All);
        let wants = |which: Which| all || self.benches.contains(&which);
        let cases = [
            (Which::PutRecord, Case::PutRecord),
            (Which::SqsRoundTrip, Case::SqsRoundTrip),
            (Which::PutItem, Case::PutItem),
        ]
        .into_iter()
        .filter(|(which, _)| wants(*which))
        .map(|(_, case)| case)
        .collect();
        let endpoints: Vec<(String, String)> = self
            .moto
            .iter()
            .map(|url| ("moto".to_owned(), url.trim_end_matches('/').to_owned()))
            .collect();
        Plan {
            cases,
            concurrencies: self.concurrency.clone(),
            budget: match self.ops {
                Some(ops) => Budget::Ops(ops),
                None => Budget::Duration(self.duration),
            },
            rounds: self.rounds,
            targets: Plan::default_targets(&endpoints)
                .into_iter()
                .filter(|kind| {
                    self.targets.is_empty()
                        || matches!(kind, TargetKind::Endpoint { .. })
                        || self.targets.iter().any(|local| &local.kind() == kind)
                })
                .collect(),
            startup_runs: wants(Which::Startup).then_some(self.startup_runs),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = args.plan();
    let report = bench::run(&plan, |r| {
        eprintln!(
            "{} at {:>2}, {:<22} {:>8.0} ops/s  p50 {:.3} ms  p99 {:.3} ms{}",
            r.case.label(),
            r.concurrency,
            r.target.label(),
            r.measurement.ops_per_second(),
            r.measurement.latency.p50_us as f64 / 1000.0,
            r.measurement.latency.p99_us as f64 / 1000.0,
            match r.measurement.errors {
                0 => String::new(),
                n => format!("  {n} ERRORS"),
            }
        );
    })
    .await?;
    println!("{}", machine_line());
    println!();
    if args.markdown {
        print!("{}", report.markdown());
    } else {
        print!("{}", report.text());
    }
    let failed: Vec<_> = report
        .throughput
        .iter()
        .filter(|r| r.measurement.errors > 0)
        .collect();
    for r in &failed {
        eprintln!(
            "error: {} at {} against {}: {} failed operations, first: {}",
            r.case.label(),
            r.concurrency,
            r.target.label(),
            r.measurement.errors,
            r.measurement.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The command, the date and the machine, so a pasted table says where it came from.
fn machine_line() -> String {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "`{command}` on {} UTC, {cores} cores ({model}), {} build",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        if cfg!(debug_assertions) {
            "DEBUG (numbers are not meaningful)"
        } else {
            "release"
        }
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn no_arguments_runs_everything_at_1_and_64_for_3_seconds() {
        let plan = parse(&[]).unwrap().plan();
        assert_eq!(plan.cases, Case::ALL.to_vec());
        assert_eq!(plan.concurrencies, vec![1, 64]);
        assert_eq!(plan.budget, Budget::Duration(Duration::from_secs(3)));
        assert_eq!(plan.startup_runs, Some(21));
        assert_eq!(plan.targets.len(), 5);
    }

    #[test]
    fn benches_can_be_picked_by_name_and_comma_list() {
        let plan = parse(&["put-item,startup", "--concurrency", "8"])
            .unwrap()
            .plan();
        assert_eq!(plan.cases, vec![Case::PutItem]);
        assert_eq!(plan.concurrencies, vec![8]);
        assert_eq!(plan.startup_runs, Some(21));
        let plan = parse(&["sqs-round-trip"]).unwrap().plan();
        assert_eq!(plan.cases, vec![Case::SqsRoundTrip]);
        assert_eq!(plan.startup_runs, None);
    }

    #[test]
    fn ops_replaces_the_duration_and_both_together_are_refused() {
        let plan = parse(&["--ops", "500"]).unwrap().plan();
        assert_eq!(plan.budget, Budget::Ops(500));
        assert!(parse(&["--ops", "500", "--duration", "2s"]).is_err());
        assert!(parse(&["--ops", "0"]).is_err());
    }

    #[test]
    fn moto_adds_an_endpoint_target() {
        let plan = parse(&["--moto", "http://127.0.0.1:5123/"]).unwrap().plan();
        assert_eq!(
            plan.targets.last(),
            Some(&TargetKind::Endpoint {
                name: "moto".into(),
                url: "http://127.0.0.1:5123".into()
            })
        );
    }

    #[test]
    fn targets_narrow_the_local_servers_but_keep_moto() {
        let plan = parse(&[
            "--targets",
            "emulator-in-process",
            "--moto",
            "http://127.0.0.1:5123",
        ])
        .unwrap()
        .plan();
        assert_eq!(plan.targets.len(), 2);
        assert_eq!(plan.targets[0], TargetKind::EmulatorInProcess);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--duration", "soon"]).is_err());
        assert!(parse(&["put-everything"]).is_err());
    }
}
