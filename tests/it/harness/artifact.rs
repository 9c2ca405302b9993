//! Artifact mode: functions behind the mappings as child processes speaking the Lambda
//! Runtime API.
//!
//! - A Python function (fixtures/runtime-api/kinesis_function.py, stdlib only) behind the
//!   Kinesis mapping: any runtime works, and Lambda's contract holds through real JSON and a
//!   real process (responses, partial and malformed responses, `/error`, exits, timeouts).
//! - The project's `forward` and `store` binaries behind both mappings (`HARNESS_ARTIFACTS=DIR`,
//!   e.g. `target/lambda` after `cargo lambda build`, or `target/debug` after
//!   `cargo build -p pipeline --features lambda --bin forward --bin store`): the scenarios give
//!   the verdicts and counts they give in process. Skipped, loudly, without the variable.
//!
//! Artifact mode runs in real time (child processes do not follow tokio's clock): these tests
//! run on a multi-threaded runtime and wait with `drain`, which has a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use harness::backend::{BackendKind, BackendSettings};
use harness::lambda::FunctionStats;
use harness::scenario::{self, RunOptions, ScenarioReport};
use harness::{Harness, HarnessOptions};
use serde_json::{Value, json};

use crate::support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture() -> PathBuf {
    root().join("fixtures/runtime-api/kinesis_function.py")
}

/// Why the Python fixture cannot run here, if it cannot.
fn python_missing() -> Option<String> {
    match std::process::Command::new("python3")
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("python3 --version failed: {}", out.status)),
        Err(e) => Some(format!("no python3 to run the Runtime API fixture: {e}")),
    }
}

macro_rules! require_python {
    () => {
        crate::require!();
        if let Some(reason) = python_missing() {
            support::skipped(&crate::test_name!(), &reason);
            return;
        }
    };
}

/// A directory of the test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(harness::stack::unique_prefix("artifact"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// The fixture's log: one entry per invocation.
    fn invocations(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.0.join("invocations.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The record ids of each invocation, in order.
    fn batches(&self) -> Vec<Vec<String>> {
        self.invocations()
            .iter()
            .map(|i| {
                i["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    fn record(&self, id: &str, mode: &str) -> Value {
        json!({ "id": id, "mode": mode, "dir": self.0 })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pipeline with the Python fixture as ForwardFunction, polling fast (real time).
async fn start_python(settings: &[(&str, Value)]) -> Harness {
    let mut options = HarnessOptions::for_tests()
        .unwrap()
        .function_executable("ForwardFunction", fixture());
    options.kinesis_poll_interval = Duration::from_millis(50);
    options.drain_timeout = Duration::from_secs(60);
    for (path, value) in settings {
        options = options.set(path, value.clone());
    }
    Harness::start_with(options).await.unwrap()
}

/// Puts `records` in one PutRecords call under one partition key: one shard, in order.
async fn put(h: &Harness, records: &[Value]) {
    let kinesis = aws_sdk_kinesis::Client::new(&h.backend().sdk_config());
    let entries = records
        .iter()
        .map(|r| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(r.to_string()))
                .partition_key("one-shard")
                .build()
                .unwrap()
        })
        .collect();
    let out = kinesis
        .put_records()
        .stream_name(&h.provisioned().resources.stream)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count, Some(0));
}

fn stats(h: &Harness) -> FunctionStats {
    h.process_functions().stats()["ForwardFunction"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_function_gets_lambdas_environment_and_headers_and_its_response_is_taken() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[]).await;
    put(&h, &[scratch.record("ok-1", "ok")]).await;
    h.drain().await.unwrap();

    let invocations = scratch.invocations();
    assert_eq!(invocations.len(), 1, "{invocations:?}");
    let i = &invocations[0];
    let name = &h.spec().functions["ForwardFunction"].name;
    let env = &i["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], json!(name));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(
        env["AWS_LAMBDA_LOG_GROUP_NAME"],
        json!(format!("/aws/lambda/{name}"))
    );
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "000000000000");
    assert_eq!(env["_HANDLER"], "kinesis_function.py");
    assert_eq!(
        env["LAMBDA_TASK_ROOT"],
        json!(fixture().canonicalize().unwrap().parent().unwrap())
    );
    assert_eq!(
        env["AWS_ENDPOINT_URL"],
        json!(h.process_functions().endpoint_url().unwrap())
    );
    // The template's environment too, evaluated against this run's resources.
    assert_eq!(env["QUEUE_URL"], json!(h.provisioned().queue_url));
    assert_eq!(
        i["function_arn"],
        json!(format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{name}"
        ))
    );
    assert!(i["trace_id"].as_str().unwrap().starts_with("Root=1-"));
    // The deadline is the function's 30 s Timeout from the invocation.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let deadline = i["deadline_ms"].as_i64().unwrap();
    assert!(
        deadline > now_ms && deadline <= now_ms + 30_000,
        "{deadline} vs {now_ms}"
    );

    assert_eq!(
        stats(&h),
        FunctionStats {
            invocations: 1,
            cold_starts: 1,
            errors: vec![]
        }
    );
    assert!(h.dlq_messages().await.unwrap().is_empty());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_batch_response_in_real_json_retries_from_the_failed_record() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[]).await;
    put(
        &h,
        &[
            scratch.record("a", "ok"),
            scratch.record("b", "fail_once"),
            scratch.record("c", "ok"),
        ],
    )
    .await;
    h.drain().await.unwrap();
    // Lambda checkpoints before the lowest failed record and retries from it.
    assert_eq!(scratch.batches(), [vec!["a", "b", "c"], vec!["b", "c"]]);
    let s = stats(&h);
    assert_eq!((s.invocations, s.cold_starts), (2, 1));
    assert!(
        s.errors.is_empty(),
        "a partial response is no function error: {s:?}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_partial_responses_retry_the_whole_batch_without_a_function_error() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[]).await;
    let variants = ["null", "empty", "number", "wrong_key"];
    for (n, variant) in variants.iter().enumerate() {
        let mut record = scratch.record(&format!("m-{variant}"), "malformed_once");
        record["variant"] = json!(variant);
        // Each with a record that succeeds before it: the whole batch is retried, not only
        // the records after a failed one.
        put(
            &h,
            &[scratch.record(&format!("ok-{variant}"), "ok"), record],
        )
        .await;
        h.drain().await.unwrap();
        let batches = scratch.batches();
        let both = vec![format!("ok-{variant}"), format!("m-{variant}")];
        assert_eq!(batches[2 * n..], [both.clone(), both], "{variant}");
    }
    let s = stats(&h);
    assert_eq!(s.invocations, 8);
    assert!(s.errors.is_empty(), "{s:?}");
    assert!(h.dlq_messages().await.unwrap().is_empty());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_post_is_a_function_error_and_the_warm_process_takes_the_retry() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[]).await;
    put(&h, &[scratch.record("e-1", "error_once")]).await;
    h.drain().await.unwrap();
    let invocations = scratch.invocations();
    assert_eq!(scratch.batches(), [["e-1"], ["e-1"]]);
    assert_eq!(
        invocations[0]["pid"], invocations[1]["pid"],
        "the same environment"
    );
    let s = stats(&h);
    assert_eq!((s.invocations, s.cold_starts), (2, 1));
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.errors[0].error_type, "FixtureError");
    assert_eq!(s.errors[0].message, "asked to fail: e-1");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_exits_is_a_function_error_and_the_next_invocation_cold_starts() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[]).await;
    put(&h, &[scratch.record("x-1", "exit_once")]).await;
    h.drain().await.unwrap();
    let invocations = scratch.invocations();
    assert_eq!(scratch.batches(), [["x-1"], ["x-1"]]);
    assert_ne!(
        invocations[0]["pid"], invocations[1]["pid"],
        "a fresh process"
    );
    let s = stats(&h);
    assert_eq!((s.invocations, s.cold_starts), (2, 2));
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.errors[0].error_type, "Runtime.ExitError");
    assert!(s.errors[0].message.contains("exit status: 3"), "{s:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_fails_the_invocation_as_lambda_does_and_replaces_the_process() {
    require_python!();
    let scratch = Scratch::new();
    let h = start_python(&[("ForwardFunction.Timeout", json!(1))]).await;
    let mut record = scratch.record("t-1", "sleep_once");
    record["seconds"] = json!(30);
    put(&h, &[record]).await;
    h.drain().await.unwrap();
    let invocations = scratch.invocations();
    assert_eq!(scratch.batches(), [["t-1"], ["t-1"]]);
    assert_ne!(
        invocations[0]["pid"], invocations[1]["pid"],
        "the process was replaced"
    );
    let s = stats(&h);
    assert_eq!((s.invocations, s.cold_starts), (2, 2));
    assert_eq!(s.errors.len(), 1, "{s:?}");
    assert_eq!(s.errors[0].message, "Task timed out after 1.00 seconds");
    h.shutdown().await;
}

/// `HARNESS_ARTIFACTS`, or why the binary tests skip.
fn artifacts_dir() -> Result<PathBuf, String> {
    match std::env::var_os("HARNESS_ARTIFACTS") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Err(
            "HARNESS_ARTIFACTS is not set (a directory of built forward and store binaries: \
             target/lambda after `cargo lambda build`, .aws-sam/build after `sam build`, or \
             target/debug after `cargo build -p pipeline --features lambda --bin forward --bin store`)"
                .into(),
        ),
    }
}

fn run_scenario(name: &str, artifacts: Option<&Path>) -> ScenarioReport {
    let path = root().join("scenarios").join(format!("{name}.toml"));
    let parsed = scenario::load(&path).unwrap();
    let backend = BackendSettings::from_env().unwrap();
    let mut options = RunOptions::new(root(), backend.clone());
    // In process on the embedded backend: the paused clock, as tests/it/scenarios.rs runs it.
    // Artifact mode: real time.
    let mut builder = match artifacts {
        None if backend.kind == BackendKind::Embedded => {
            let mut b = tokio::runtime::Builder::new_current_thread();
            b.start_paused(true);
            b
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(dir) = artifacts {
        options.artifacts.dir = Some(dir.to_owned());
    }
    let runtime = builder.enable_all().build().unwrap();
    runtime
        .block_on(scenario::run(name, &parsed, &options))
        .unwrap_or_else(|e| {
            panic!(
                "scenario {name} could not run: {}",
                harness::backend::error_chain(&e)
            )
        })
}

/// What must not differ between the two runs: every check, the table and DLQ ids.
fn outcome(report: &ScenarioReport) -> Value {
    let checks: Vec<Value> = report
        .checks
        .values()
        .flatten()
        .map(|c| json!([c.what, c.expected, c.actual, c.ok]))
        .collect();
    let snapshots: Vec<Value> = report
        .snapshots
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "table": s.table.iter().map(|i| i["id"].clone()).collect::<Vec<_>>(),
                "dlq": s.dlq.iter().map(|m| m["id"].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "passed": report.passed(), "checks": checks, "snapshots": snapshots })
}

#[test]
fn the_shipped_binaries_give_the_in_process_verdicts_and_counts() {
    crate::require!();
    let dir = match artifacts_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            support::skipped(&crate::test_name!(), &reason);
            return;
        }
    };
    // `conflict`: the real store binary dead-letters a conflict (its DLQ_URL from the template).
    for name in ["sqs-failure", "duplicates", "crash", "conflict"] {
        let in_process = run_scenario(name, None);
        let artifact = run_scenario(name, Some(&dir));
        assert!(in_process.passed(), "{}", in_process.render());
        assert!(artifact.passed(), "{}", artifact.render());
        assert_eq!(outcome(&artifact), outcome(&in_process), "{name}");
        // The functions really ran as processes, and their hops on the wire match.
        for function in ["ForwardFunction", "StoreFunction"] {
            let stats = &artifact.processes[function];
            assert!(
                stats.invocations > 0 && stats.cold_starts > 0,
                "{name} {function}: {stats:?}"
            );
        }
        let wire = artifact.wire.expect("artifact mode counts on the wire");
        let c = &in_process.counts;
        assert_eq!(
            (
                wire.forwarded,
                wire.sent_to_dlq,
                wire.stored,
                wire.duplicates,
                wire.conflicts
            ),
            (
                c.forwarded,
                c.sent_to_dlq,
                c.stored,
                c.duplicates,
                c.conflicts
            ),
            "{name}: {}",
            artifact.render()
        );
        let rendered = artifact.render();
        assert!(
            rendered.contains("ran as processes (artifact mode)"),
            "{rendered}"
        );
    }
}
