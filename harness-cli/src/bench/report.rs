//! The benchmark's results and how they print: an aligned text table for the terminal and a
//! Markdown table (plus ratios: one pair of columns per endpoint, moto, LocalStack or any
//! other) ready to paste into BENCHMARKS.md.

use std::fmt::Write;
use std::time::Duration;

use super::driver::Measurement;
use super::startup::{Samples, StartupReport};
use super::target::TargetKind;
use super::workload::Case;

/// One case at one concurrency against one target.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub case: Case,
    pub concurrency: usize,
    pub target: TargetKind,
    pub measurement: Measurement,
}

/// Everything one `harness bench` run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub throughput: Vec<CaseResult>,
    pub startup: Option<StartupReport>,
    /// Backends the run started itself (`--localstack`), with their start-to-ready.
    pub started: Vec<BackendStart>,
}

/// A backend started for the run, once: how long it took to be ready.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendStart {
    /// The endpoint's name (`LocalStack`).
    pub name: String,
    /// What was timed, from where to where.
    pub what: String,
    pub start_to_ready: Duration,
}

/// A ratio of two targets' rates, named for the report.
struct RatioColumn {
    title: String,
    numerator: TargetKind,
    denominator: TargetKind,
}

impl Report {
    fn find(&self, case: Case, concurrency: usize, target: &TargetKind) -> Option<&Measurement> {
        self.throughput
            .iter()
            .find(|r| r.case == case && r.concurrency == concurrency && &r.target == target)
            .map(|r| &r.measurement)
    }

    /// `numerator`'s ops/s over `denominator`'s for one case and concurrency.
    pub fn ratio(
        &self,
        case: Case,
        concurrency: usize,
        numerator: &TargetKind,
        denominator: &TargetKind,
    ) -> Option<f64> {
        let num = self.find(case, concurrency, numerator)?.ops_per_second();
        let den = self.find(case, concurrency, denominator)?.ops_per_second();
        (den > 0.0).then(|| num / den)
    }

    /// (case, concurrency) pairs in the order they ran, without repeats.
    fn rows(&self) -> Vec<(Case, usize)> {
        let mut rows = Vec::new();
        for r in &self.throughput {
            if !rows.contains(&(r.case, r.concurrency)) {
                rows.push((r.case, r.concurrency));
            }
        }
        rows
    }

    fn ratio_columns(&self) -> Vec<RatioColumn> {
        let mut columns = vec![
            RatioColumn {
                title: "emulator / null (HTTP)".into(),
                numerator: TargetKind::EmulatorHttp,
                denominator: TargetKind::NullHttp,
            },
            RatioColumn {
                title: "emulator / null (in-process)".into(),
                numerator: TargetKind::EmulatorInProcess,
                denominator: TargetKind::NullInProcess,
            },
        ];
        let mut endpoints: Vec<&TargetKind> = Vec::new();
        for r in &self.throughput {
            if matches!(r.target, TargetKind::Endpoint { .. }) && !endpoints.contains(&&r.target) {
                endpoints.push(&r.target);
            }
        }
        for endpoint in endpoints {
            if let TargetKind::Endpoint { name, .. } = endpoint {
                columns.push(RatioColumn {
                    title: format!("emulator / {name} (HTTP)"),
                    numerator: TargetKind::EmulatorHttp,
                    denominator: endpoint.clone(),
                });
                // The best ratio any server could reach through this SDK client.
                columns.push(RatioColumn {
                    title: format!("ceiling: null / {name} (HTTP)"),
                    numerator: TargetKind::NullHttp,
                    denominator: endpoint.clone(),
                });
            }
        }
        columns
    }

    /// Tables as Markdown, ready to paste.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if !self.throughput.is_empty() {
            out.push_str(
                "| Case | Concurrency | Target | ops/s | SDK calls/s | p50 (ms) | p99 (ms) | errors |\n",
            );
            out.push_str("|---|---:|---|---:|---:|---:|---:|---:|\n");
            for r in &self.throughput {
                let m = &r.measurement;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    r.case.label(),
                    r.concurrency,
                    r.target.label(),
                    rate(m.ops_per_second()),
                    rate(m.ops_per_second() * r.case.calls_per_op() as f64),
                    ms(m.latency.p50_us),
                    ms(m.latency.p99_us),
                    m.errors
                );
            }
            out.push('\n');
            let columns = self.ratio_columns();
            out.push_str("| Case | Concurrency |");
            for c in &columns {
                let _ = write!(out, " {} |", c.title);
            }
            out.push_str("\n|---|---:|");
            out.push_str(&"---:|".repeat(columns.len()));
            out.push('\n');
            for (case, concurrency) in self.rows() {
                let _ = write!(out, "| {} | {} |", case.label(), concurrency);
                for c in &columns {
                    let cell = self
                        .ratio(case, concurrency, &c.numerator, &c.denominator)
                        .map(ratio)
                        .unwrap_or_else(|| "n/a".into());
                    let _ = write!(out, " {cell} |");
                }
                out.push('\n');
            }
        }
        if self.startup.is_some() || !self.started.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(
                "| Start-to-ready | runs | median (ms) | min (ms) | max (ms) | first run (ms) |\n",
            );
            out.push_str("|---|---:|---:|---:|---:|---:|\n");
            let mut rows: Vec<(String, Samples)> = Vec::new();
            if let Some(startup) = &self.startup {
                rows.push((
                    "in process: new + stream, queue, table + first PutRecord".into(),
                    startup.in_process.clone(),
                ));
                rows.push((
                    "HTTP: new + spawn + first GET /_emulator/health".into(),
                    startup.http_health.clone(),
                ));
            }
            for started in &self.started {
                rows.push((
                    format!("{}: {}", started.name, started.what),
                    Samples(vec![started.start_to_ready]),
                ));
            }
            for (name, samples) in &rows {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {} |",
                    samples.0.len(),
                    duration_ms(samples.median()),
                    duration_ms(samples.min()),
                    duration_ms(samples.max()),
                    duration_ms(samples.first())
                );
            }
        }
        out
    }

    /// Aligned plain-text tables for the terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.throughput.is_empty() {
            let _ = writeln!(
                out,
                "{:<24} {:>4}  {:<24} {:>9} {:>9} {:>9} {:>9} {:>6}",
                "case", "conc", "target", "ops/s", "calls/s", "p50 ms", "p99 ms", "errors"
            );
            for r in &self.throughput {
                let m = &r.measurement;
                let _ = writeln!(
                    out,
                    "{:<24} {:>4}  {:<24} {:>9} {:>9} {:>9} {:>9} {:>6}",
                    r.case.label(),
                    r.concurrency,
                    r.target.label(),
                    rate(m.ops_per_second()),
                    rate(m.ops_per_second() * r.case.calls_per_op() as f64),
                    ms(m.latency.p50_us),
                    ms(m.latency.p99_us),
                    m.errors
                );
            }
            out.push('\n');
            for (case, concurrency) in self.rows() {
                let ratios: Vec<String> = self
                    .ratio_columns()
                    .iter()
                    .filter_map(|c| {
                        self.ratio(case, concurrency, &c.numerator, &c.denominator)
                            .map(|x| format!("{} {}", c.title, ratio(x)))
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{} at {concurrency}: {}",
                    case.label(),
                    ratios.join(", ")
                );
            }
        }
        if let Some(startup) = &self.startup {
            if !out.is_empty() {
                out.push('\n');
            }
            for (name, samples) in [
                ("start-to-ready in process", &startup.in_process),
                ("start-to-ready over HTTP (health)", &startup.http_health),
            ] {
                let _ = writeln!(
                    out,
                    "{name}: median {} ms of {} runs (min {}, max {}, first {})",
                    duration_ms(samples.median()),
                    samples.0.len(),
                    duration_ms(samples.min()),
                    duration_ms(samples.max()),
                    duration_ms(samples.first())
                );
            }
        }
        if !self.started.is_empty() && !out.is_empty() && self.startup.is_none() {
            out.push('\n');
        }
        for started in &self.started {
            // One line per backend, `start-to-ready NAME: N ms (...)`: scripts read it.
            let _ = writeln!(
                out,
                "start-to-ready {}: {} ms ({})",
                started.name,
                duration_ms(started.start_to_ready),
                started.what
            );
        }
        out
    }
}

fn rate(per_second: f64) -> String {
    format!("{per_second:.0}")
}

fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}x")
    } else {
        format!("{x:.2}x")
    }
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn duration_ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::stats::Percentiles;

    fn result(case: Case, concurrency: usize, target: TargetKind, ops: u64) -> CaseResult {
        CaseResult {
            case,
            concurrency,
            target,
            measurement: Measurement {
                ops,
                errors: 0,
                elapsed: Duration::from_secs(1),
                latency: Percentiles {
                    p50_us: 120,
                    p90_us: 200,
                    p99_us: 1500,
                    max_us: 3000,
                },
                first_error: None,
            },
        }
    }

    fn moto() -> TargetKind {
        TargetKind::Endpoint {
            name: "moto".into(),
            url: "http://127.0.0.1:5123".into(),
        }
    }

    fn sample() -> Report {
        Report {
            throughput: vec![
                result(Case::PutRecord, 1, TargetKind::EmulatorHttp, 8000),
                result(Case::PutRecord, 1, TargetKind::NullHttp, 10000),
                result(Case::PutRecord, 1, moto(), 400),
                result(Case::SqsRoundTrip, 64, TargetKind::EmulatorInProcess, 9000),
                result(Case::SqsRoundTrip, 64, TargetKind::NullInProcess, 10000),
            ],
            startup: Some(StartupReport {
                in_process: Samples(vec![Duration::from_micros(2500)]),
                http_health: Samples(vec![Duration::from_micros(800)]),
            }),
            started: Vec::new(),
        }
    }

    fn localstack() -> TargetKind {
        TargetKind::Endpoint {
            name: "LocalStack".into(),
            url: "http://127.0.0.1:32768".into(),
        }
    }

    /// `sample()` plus LocalStack (started by the run) as a second endpoint.
    fn two_endpoints() -> Report {
        let mut report = sample();
        report
            .throughput
            .insert(3, result(Case::PutRecord, 1, localstack(), 200));
        report
            .throughput
            .push(result(Case::SqsRoundTrip, 64, localstack(), 100));
        report.started.push(BackendStart {
            name: "LocalStack".into(),
            what: "container created through testcontainers until healthy".into(),
            start_to_ready: Duration::from_millis(6250),
        });
        report
    }

    #[test]
    fn ratios_divide_the_rates_of_the_named_targets() {
        let report = sample();
        let r = report.ratio(Case::PutRecord, 1, &TargetKind::EmulatorHttp, &moto());
        assert_eq!(r, Some(20.0));
        let r = report.ratio(
            Case::PutRecord,
            1,
            &TargetKind::EmulatorHttp,
            &TargetKind::NullHttp,
        );
        assert_eq!(r, Some(0.8));
        assert_eq!(
            report.ratio(Case::PutItem, 1, &TargetKind::EmulatorHttp, &moto()),
            None
        );
    }

    #[test]
    fn the_markdown_table_has_one_row_per_result_and_a_ratio_row_per_case() {
        let md = sample().markdown();
        assert!(md.contains(
            "| Kinesis PutRecord | 1 | emulator (HTTP) | 8000 | 8000 | 0.120 | 1.500 | 0 |"
        ));
        // The SQS round trip is three SDK calls.
        assert!(
            md.contains("| SQS Send+Receive+Delete | 64 | emulator (in-process) | 9000 | 27000 |")
        );
        assert!(md.contains("| emulator / moto (HTTP) |"));
        assert!(md.contains("| Kinesis PutRecord | 1 | 0.80x | n/a | 20x | 25x |"));
        assert!(md.contains("| SQS Send+Receive+Delete | 64 | n/a | 0.90x | n/a | n/a |"));
        assert!(
            md.contains("| in process: new + stream, queue, table + first PutRecord | 1 | 2.500 |")
        );
    }

    #[test]
    fn without_moto_there_is_no_moto_column() {
        let mut report = sample();
        report
            .throughput
            .retain(|r| !matches!(r.target, TargetKind::Endpoint { .. }));
        assert!(!report.markdown().contains("moto"));
    }

    #[test]
    fn the_text_report_names_each_ratio() {
        let text = sample().text();
        assert!(text.contains("Kinesis PutRecord at 1: emulator / null (HTTP) 0.80x"));
        assert!(text.contains("emulator / moto (HTTP) 20x"));
        assert!(text.contains("start-to-ready in process: median 2.500 ms of 1 runs"));
    }

    #[test]
    fn every_endpoint_gets_its_own_ratio_columns_in_the_order_they_ran() {
        let md = two_endpoints().markdown();
        assert!(md.contains(
            "| Case | Concurrency | emulator / null (HTTP) | emulator / null (in-process) \
             | emulator / moto (HTTP) | ceiling: null / moto (HTTP) \
             | emulator / LocalStack (HTTP) | ceiling: null / LocalStack (HTTP) |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n"
        ));
        // 8000 / 400 and 10000 / 400 for moto; 8000 / 200 and 10000 / 200 for LocalStack.
        assert!(md.contains("| Kinesis PutRecord | 1 | 0.80x | n/a | 20x | 25x | 40x | 50x |"));
        // No emulator over HTTP at 64: the LocalStack columns say so rather than borrow.
        assert!(
            md.contains("| SQS Send+Receive+Delete | 64 | n/a | 0.90x | n/a | n/a | n/a | n/a |")
        );
        assert!(md.contains("| Kinesis PutRecord | 1 | LocalStack (HTTP) | 200 | 200 | 0.120 |"));
        let report = two_endpoints();
        assert_eq!(
            report.ratio(Case::PutRecord, 1, &TargetKind::EmulatorHttp, &localstack()),
            Some(40.0)
        );
    }

    #[test]
    fn a_started_backend_is_a_start_to_ready_row_and_a_line_scripts_read() {
        let report = two_endpoints();
        let md = report.markdown();
        assert!(md.contains(
            "| LocalStack: container created through testcontainers until healthy | 1 | 6250.000 | 6250.000 | 6250.000 | 6250.000 |"
        ));
        assert!(md.contains("| HTTP: new + spawn + first GET /_emulator/health | 1 | 0.800 |"));
        let text = report.text();
        assert!(text.contains(
            "\nstart-to-ready LocalStack: 6250.000 ms (container created through testcontainers until healthy)\n"
        ));
        assert!(text.contains("emulator / moto (HTTP) 20x"));
        assert!(text.contains("emulator / LocalStack (HTTP) 40x"));
    }

    #[test]
    fn a_started_backend_alone_still_gets_its_start_to_ready_table() {
        let mut report = two_endpoints();
        report.throughput.clear();
        report.startup = None;
        let md = report.markdown();
        assert!(md.starts_with("| Start-to-ready | runs |"), "{md}");
        assert_eq!(md.lines().count(), 3, "{md}");
        assert_eq!(
            report.text(),
            "start-to-ready LocalStack: 6250.000 ms (container created through testcontainers until healthy)\n"
        );
    }
}
