//! `harness bench`: the emulator's benchmark (see [`crate::bench`]) with its results as a text
//! table, or as Markdown ready to paste into BENCHMARKS.md. Other servers join as named
//! endpoints: `--endpoint NAME=URL` (repeatable), `--moto URL` (`--endpoint moto=URL`), and
//! `--localstack`, which starts LocalStack through the harness's LocalStack backend.

use std::process::ExitCode;
use std::time::Duration;

use crate::bench::report::BackendStart;
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
    /// Start-to-ready, in process and over HTTP (LocalStack's is reported with --localstack).
    Startup,
    /// Everything above.
    All,
}

/// The local targets (endpoints are added with `--endpoint`, `--moto` and `--localstack`).
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
    /// Also run every case against moto server at this URL (e.g. http://127.0.0.1:5123):
    /// shorthand for `--endpoint moto=URL`.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    moto: Option<String>,
    /// Also run every case against this AWS-compatible endpoint, named NAME in the report
    /// (letters, digits, `-`, `_`, `.`), and report the emulator's rate over its rate.
    /// Repeatable; the endpoints run in the order given, after `--moto`.
    #[arg(long = "endpoint", value_name = "NAME=URL", value_parser = parse_endpoint)]
    endpoints: Vec<NamedEndpoint>,
    /// Also start LocalStack (the harness's LocalStack backend: a container through
    /// testcontainers, the image from LOCALSTACK_IMAGE, as `HARNESS_BACKEND=localstack`
    /// starts it), run every case against it as the endpoint `LocalStack`, and report how
    /// long it took to be ready. Needs a Docker engine and the image.
    #[arg(long)]
    localstack: bool,
    /// Which local targets to run (comma-separated); all by default. Endpoints always run.
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

/// An endpoint target as `--endpoint` gives it: its report name and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEndpoint {
    pub name: String,
    pub url: String,
}

/// `NAME=URL`: a name that reads well in a table heading, and an `http(s)://` URL.
fn parse_endpoint(text: &str) -> Result<NamedEndpoint, String> {
    let Some((name, url)) = text.split_once('=') else {
        return Err(format!(
            "{text:?} is not NAME=URL (e.g. moto=http://127.0.0.1:5123)"
        ));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{text:?} has no name before the `=`"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the endpoint name {name:?} has {bad:?} in it (letters, digits, `-`, `_` and `.` only)"
        ));
    }
    Ok(NamedEndpoint {
        name: name.to_owned(),
        url: parse_url(url)?,
    })
}

/// An endpoint URL: `http://` or `https://` and a host, without a trailing `/`.
fn parse_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match host {
        Some(host) if !host.is_empty() => Ok(url.to_owned()),
        _ => Err(format!(
            "{text:?} is not an endpoint URL (expected http://HOST:PORT or https://HOST)"
        )),
    }
}

/// Why the endpoints given cannot share one report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointsError {
    /// Two endpoints with one name would share a column heading.
    #[error(
        "two endpoints are named {0:?} (names are compared ignoring case, `--moto` is `moto` \
         and `--localstack` is `LocalStack`): give each its own name"
    )]
    DuplicateName(String),
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

impl Args {
    /// The endpoints given on the command line, in the order they run: `--moto`, then each
    /// `--endpoint`; `--localstack` (started later, in [`run`]) comes last, so its name is
    /// checked here too.
    fn named_endpoints(&self) -> Result<Vec<NamedEndpoint>, EndpointsError> {
        let endpoints: Vec<NamedEndpoint> = self
            .moto
            .iter()
            .map(|url| NamedEndpoint {
                name: "moto".into(),
                url: url.clone(),
            })
            .chain(self.endpoints.iter().cloned())
            .collect();
        let mut names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
        if self.localstack {
            names.push(bench::localstack::NAME);
        }
        for (i, name) in names.iter().enumerate() {
            if names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(EndpointsError::DuplicateName((*name).to_owned()));
            }
        }
        Ok(endpoints)
    }

    /// What to run, with `endpoints` (the named ones, plus LocalStack once started) after
    /// the local targets.
    fn plan(&self, endpoints: &[NamedEndpoint]) -> Plan {
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
        let endpoints: Vec<(String, String)> = endpoints
            .iter()
            .map(|e| (e.name.clone(), e.url.clone()))
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
    let mut endpoints = args.named_endpoints()?;
    // Held until the benchmark is done (the container lives until the process exits).
    let localstack = if args.localstack {
        eprintln!("starting LocalStack through the harness's LocalStack backend (testcontainers)");
        let started = bench::localstack::start(|k| std::env::var(k).ok()).await?;
        eprintln!(
            "LocalStack ({}) ready at {} after {:.3} s",
            started.image,
            started.url,
            started.start_to_ready.as_secs_f64()
        );
        endpoints.push(NamedEndpoint {
            name: bench::localstack::NAME.into(),
            url: started.url.clone(),
        });
        Some(started)
    } else {
        None
    };
    let plan = args.plan(&endpoints);
    let mut report = bench::run(&plan, |r| {
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
    if let Some(started) = &localstack {
        report.started.push(BackendStart {
            name: bench::localstack::NAME.into(),
            what: format!(
                "{}, `Backend::start`: container created through testcontainers until \
                 /_localstack/health reports kinesis, sqs and dynamodb up",
                started.image
            ),
            start_to_ready: started.start_to_ready,
        });
    }
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

    /// The plan `run` makes from the named endpoints (LocalStack, started there, aside).
    fn plan_of(args: Args) -> Plan {
        let endpoints = args.named_endpoints().unwrap();
        args.plan(&endpoints)
    }

    fn endpoint(name: &str, url: &str) -> TargetKind {
        TargetKind::Endpoint {
            name: name.into(),
            url: url.into(),
        }
    }

    fn endpoint_targets(plan: &Plan) -> Vec<TargetKind> {
        plan.targets
            .iter()
            .filter(|t| matches!(t, TargetKind::Endpoint { .. }))
            .cloned()
            .collect()
    }

    #[test]
    fn no_arguments_runs_everything_at_1_and_64_for_3_seconds() {
        let plan = plan_of(parse(&[]).unwrap());
        assert_eq!(plan.cases, Case::ALL.to_vec());
        assert_eq!(plan.concurrencies, vec![1, 64]);
        assert_eq!(plan.budget, Budget::Duration(Duration::from_secs(3)));
        assert_eq!(plan.startup_runs, Some(21));
        assert_eq!(plan.targets.len(), 5);
    }

    #[test]
    fn benches_can_be_picked_by_name_and_comma_list() {
        let plan = plan_of(parse(&["put-item,startup", "--concurrency", "8"]).unwrap());
        assert_eq!(plan.cases, vec![Case::PutItem]);
        assert_eq!(plan.concurrencies, vec![8]);
        assert_eq!(plan.startup_runs, Some(21));
        let plan = plan_of(parse(&["sqs-round-trip"]).unwrap());
        assert_eq!(plan.cases, vec![Case::SqsRoundTrip]);
        assert_eq!(plan.startup_runs, None);
    }

    #[test]
    fn ops_replaces_the_duration_and_both_together_are_refused() {
        let plan = plan_of(parse(&["--ops", "500"]).unwrap());
        assert_eq!(plan.budget, Budget::Ops(500));
        assert!(parse(&["--ops", "500", "--duration", "2s"]).is_err());
        assert!(parse(&["--ops", "0"]).is_err());
    }

    #[test]
    fn moto_adds_an_endpoint_target() {
        let plan = plan_of(parse(&["--moto", "http://127.0.0.1:5123/"]).unwrap());
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
        let plan = plan_of(
            parse(&[
                "--targets",
                "emulator-in-process",
                "--moto",
                "http://127.0.0.1:5123",
            ])
            .unwrap(),
        );
        assert_eq!(plan.targets.len(), 2);
        assert_eq!(plan.targets[0], TargetKind::EmulatorInProcess);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--duration", "soon"]).is_err());
        assert!(parse(&["put-everything"]).is_err());
    }

    #[test]
    fn endpoints_are_named_and_run_in_order_after_moto() {
        let plan = plan_of(
            parse(&[
                "--endpoint",
                "ls-4.5=http://127.0.0.1:4566/",
                "--moto",
                "http://127.0.0.1:5123",
                "--endpoint",
                "other=https://sqs.example.test",
            ])
            .unwrap(),
        );
        assert_eq!(
            endpoint_targets(&plan),
            vec![
                endpoint("moto", "http://127.0.0.1:5123"),
                endpoint("ls-4.5", "http://127.0.0.1:4566"),
                endpoint("other", "https://sqs.example.test"),
            ]
        );
        assert_eq!(plan.targets.len(), 5 + 3);
    }

    #[test]
    fn moto_is_shorthand_for_an_endpoint_named_moto() {
        let by_flag = plan_of(parse(&["--moto", "http://127.0.0.1:5123/"]).unwrap());
        let by_name = plan_of(parse(&["--endpoint", "moto=http://127.0.0.1:5123"]).unwrap());
        assert_eq!(by_flag.targets, by_name.targets);
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_reason() {
        let refused = |argv: &[&str], reason: &str| {
            let error = parse(argv).unwrap_err().to_string();
            assert!(error.contains(reason), "{argv:?}: {error}");
        };
        refused(&["--endpoint", "http://127.0.0.1:5123"], "NAME=URL");
        refused(&["--endpoint", "=http://127.0.0.1:5123"], "no name");
        refused(&["--endpoint", "my moto=http://127.0.0.1:5123"], "' '");
        refused(&["--endpoint", "a|b=http://127.0.0.1:5123"], "'|'");
        refused(
            &["--endpoint", "moto=127.0.0.1:5123"],
            "not an endpoint URL",
        );
        refused(&["--endpoint", "moto=http://"], "not an endpoint URL");
        refused(&["--moto", "localhost:5123"], "not an endpoint URL");
    }

    #[test]
    fn two_endpoints_with_one_name_are_refused() {
        let duplicate = |argv: &[&str]| parse(argv).unwrap().named_endpoints().unwrap_err();
        assert_eq!(
            duplicate(&[
                "--moto",
                "http://127.0.0.1:1",
                "--endpoint",
                "MOTO=http://127.0.0.1:2"
            ]),
            EndpointsError::DuplicateName("MOTO".into())
        );
        assert_eq!(
            duplicate(&[
                "--localstack",
                "--endpoint",
                "localstack=http://127.0.0.1:4566"
            ]),
            EndpointsError::DuplicateName("LocalStack".into())
        );
        let error = duplicate(&["--endpoint", "a=http://x", "--endpoint", "a=http://y"]);
        assert!(error.to_string().contains("\"a\""), "{error}");
    }

    #[test]
    fn localstack_is_a_flag_that_adds_no_named_endpoint_before_it_starts() {
        let args = parse(&[
            "put-item",
            "--localstack",
            "--moto",
            "http://127.0.0.1:5123",
        ])
        .unwrap();
        assert!(args.localstack);
        let endpoints = args.named_endpoints().unwrap();
        assert_eq!(endpoints.len(), 1);
        // Once started, `run` appends it: the plan keeps that order.
        let mut endpoints = endpoints;
        endpoints.push(NamedEndpoint {
            name: bench::localstack::NAME.into(),
            url: "http://127.0.0.1:32768".into(),
        });
        let plan = args.plan(&endpoints);
        assert_eq!(
            endpoint_targets(&plan),
            vec![
                endpoint("moto", "http://127.0.0.1:5123"),
                endpoint("LocalStack", "http://127.0.0.1:32768"),
            ]
        );
        assert!(!parse(&[]).unwrap().localstack);
        assert!(parse(&["--localstack=yes"]).is_err());
    }
}
