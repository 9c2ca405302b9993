//! What a failing function causes: retries, record age, bisect, partial batch responses and
//! on-failure records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::harness::esm::{
    BoxError, InMemoryCheckpoints, KinesisHandler, KinesisMappingConfig, NoDeliveryFaults,
};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;

use super::super::{IDLE, Seen};
use super::*;
use crate::support::{Edge, Env};

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_then_the_batch_goes_to_the_on_failure_destination() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["bad-1", "bad-2"]).await;
    let destination = queue(&env).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 2,
        maximum_retry_attempts: Some(2),
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let handler = recording(&seen, |event, _| {
        if datas(event).iter().any(|d| d.starts_with("bad")) {
            Err("function error".into())
        } else {
            Ok(KinesisEventResponse::default())
        }
    });
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    put(&env, &stream, "k", "good").await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    let bad = vec!["bad-1", "bad-2"];
    assert_eq!(batches, [bad.clone(), bad.clone(), bad, vec!["good"]]);
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    let shard = &mapping.shard_ids()[0];
    assert_eq!(r["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
    assert!(
        r["requestContext"]["functionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:us-east-1:")
    );
    assert!(
        !r["requestContext"]["requestId"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(r["responseContext"]["statusCode"], 200);
    assert_eq!(r["responseContext"]["executedVersion"], "$LATEST");
    assert_eq!(r["responseContext"]["functionError"], "Unhandled");
    assert_eq!(r["version"], "1.0");
    assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));
    let info = &r["KinesisBatchInfo"];
    assert_eq!(info["shardId"], shard.as_str());
    assert_eq!(info["startSequenceNumber"], seqs[0].as_str());
    assert_eq!(info["endSequenceNumber"], seqs[1].as_str());
    assert_eq!(info["batchSize"], 2);
    assert_eq!(info["streamArn"], mapping.stream_arn());
    assert!(
        info["approximateArrivalOfFirstRecord"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        info["approximateArrivalOfLastRecord"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let stats = mapping.stats();
    assert_eq!((stats.retries, stats.on_failure_sent), (2, 1));
}

/// Recorded on AWS (LocalStack snapshot `test_kinesis_maximum_record_age_exceeded
/// [expire-while-retrying]`, 2025-11-25): BatchSize 1, MaximumRetryAttempts -1,
/// MaximumRecordAgeInSeconds 60, a function that always fails, the mapping created after the
/// record was put: the on-failure record has `condition: "RecordAgeExceeded"`,
/// `approximateInvokeCount: 8` and no `responseContext`. The backoff curve (1, 2, 4, 8, 10,
/// 10, ... s) is ours, fitted to that count (`harness::esm::kinesis::batch::retry_backoff`).
#[tokio::test(start_paused = true)]
async fn a_record_that_ages_out_while_retrying_is_discarded_after_eight_backed_off_invocations() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["poison"]).await;
    let put_at = tokio::time::Instant::now();
    // On AWS the mapping first invoked the function about 10 s after the put (see
    // `retry_backoff`); scripted time, not a wait.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let destination = queue(&env).await;
    let at: Seen<Duration> = Seen::new();
    let handler: Arc<dyn KinesisHandler> = {
        let at = at.clone();
        Arc::new(move |_event: KinesisEvent| {
            at.push(put_at.elapsed());
            async { Err::<KinesisEventResponse, BoxError>("always fails".into()) }
        })
    };
    let config = KinesisMappingConfig {
        batch_size: 1,
        maximum_batching_window: Duration::from_secs(1),
        maximum_record_age: Some(Duration::from_secs(60)),
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let first = at.all()[0];
    let offsets: Vec<u64> = at.all().iter().map(|t| (*t - first).as_secs()).collect();
    assert_eq!(offsets, [0, 1, 3, 7, 15, 25, 35, 45], "first at {first:?}");
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(r["requestContext"]["approximateInvokeCount"], 8);
    assert!(r.get("responseContext").is_none(), "{r}");
    assert_eq!(r["KinesisBatchInfo"]["batchSize"], 1);
    assert_eq!(
        r["KinesisBatchInfo"]["startSequenceNumber"],
        seqs[0].as_str()
    );
    assert_eq!(r["KinesisBatchInfo"]["endSequenceNumber"], seqs[0].as_str());
}

/// Recorded on AWS (LocalStack snapshots `test_kinesis_maximum_record_age_exceeded
/// [expire-before-ingestion]` and `test_kinesis_maximum_record_age_exceeded_discard_records`,
/// 2025-11-25): a record already older than MaximumRecordAgeInSeconds when the mapping reads
/// it is never delivered; it is reported with `RecordAgeExceeded`, `approximateInvokeCount: 1`
/// and `batchSize: 1`, and the younger records of the same batch are delivered.
#[tokio::test(start_paused = true)]
async fn a_record_too_old_when_read_is_never_delivered_and_reported_as_invoked_once() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let old = put_all(&env, &stream, &["stream-data"]).await;
    tokio::time::sleep(Duration::from_secs(80)).await;
    let young: Vec<String> = (1..=5).map(|i| format!("stream-data-{i}")).collect();
    put_all(
        &env,
        &stream,
        &young.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let destination = queue(&env).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 10,
        maximum_batching_window: Duration::from_secs(1),
        maximum_retry_attempts: Some(0),
        maximum_record_age: Some(Duration::from_secs(60)),
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let mapping = spawn(&env, &stream, config, recording(&seen, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let delivered: Vec<String> = seen.all().iter().flat_map(datas).collect();
    assert_eq!(delivered, young);
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(r["requestContext"]["approximateInvokeCount"], 1);
    assert!(r.get("responseContext").is_none(), "{r}");
    assert_eq!(r["KinesisBatchInfo"]["batchSize"], 1);
    assert_eq!(
        r["KinesisBatchInfo"]["startSequenceNumber"],
        old[0].as_str()
    );
}

/// Recorded on AWS (LocalStack snapshot `test_kinesis_report_batch_item_failures`,
/// 2025-11-25): BatchSize 3, MaximumRetryAttempts 3, ReportBatchItemFailures, six records of
/// which the sixth is always reported failed: records 1-5 are delivered once, record 6 five
/// times, and the on-failure record has `approximateInvokeCount: 4`, `batchSize: 1`,
/// start = end = record 6 and `"functionError": null`. The partial response that moved the
/// checkpoint past records 4-5 gave record 6 a fresh retry budget.
#[tokio::test(start_paused = true)]
async fn a_partial_response_that_moves_the_checkpoint_starts_a_fresh_retry_budget() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["r1", "r2", "r3", "r4", "r5", "r6"]).await;
    let destination = queue(&env).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 3,
        maximum_batching_window: Duration::from_secs(1),
        maximum_retry_attempts: Some(3),
        report_batch_item_failures: true,
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let s6 = seqs[5].clone();
    let handler = recording(&seen, move |event, _| {
        let failing = event
            .records
            .iter()
            .any(|r| r.kinesis.sequence_number == s6);
        Ok(if failing {
            failures(&[&s6])
        } else {
            KinesisEventResponse::default()
        })
    });
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for data in seen.all().iter().flat_map(datas) {
        *counts.entry(data).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("r1", 1),
        ("r2", 1),
        ("r3", 1),
        ("r4", 1),
        ("r5", 1),
        ("r6", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(r["requestContext"]["approximateInvokeCount"], 4);
    assert_eq!(
        r["responseContext"]["functionError"],
        serde_json::Value::Null
    );
    assert!(
        r["responseContext"]
            .as_object()
            .unwrap()
            .contains_key("functionError"),
        "functionError is present as null: {r}"
    );
    let info = &r["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], seqs[5].as_str());
    assert_eq!(info["endSequenceNumber"], seqs[5].as_str());
}

/// Recorded on AWS (LocalStack snapshots `test_kinesis_report_batch_item_failure_scenarios`,
/// 2025-11-25): with ReportBatchItemFailures, BatchSize 1 and MaximumRetryAttempts 2, an
/// `itemIdentifier` of `""` or `null` fails the whole batch: 3 invocations, then the
/// on-failure record with `approximateInvokeCount: 3` and `"functionError": null` (a thrown
/// exception gives `"Unhandled"`). Numbers and wrong keys cannot be written with the typed
/// response; `harness::esm::response` maps them to these cases.
#[tokio::test(start_paused = true)]
async fn a_malformed_partial_response_fails_the_whole_batch_with_function_error_null() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    for identifier in [Some(""), None] {
        let env = Env::start(Edge::InProcess).await;
        let stream = stream(&env, 1).await;
        put_all(&env, &stream, &["hello"]).await;
        let destination = queue(&env).await;
        let seen = Seen::new();
        let config = KinesisMappingConfig {
            batch_size: 1,
            maximum_batching_window: Duration::from_secs(1),
            maximum_retry_attempts: Some(2),
            report_batch_item_failures: true,
            on_failure: Some(destination.clone()),
            ..Default::default()
        };
        let handler = recording(&seen, move |_, _| {
            let mut response = failures(&["placeholder"]);
            response.batch_item_failures[0].item_identifier = identifier.map(str::to_owned);
            Ok(response)
        });
        let mapping = spawn(&env, &stream, config, handler).await;
        mapping.wait_idle(IDLE).await.unwrap();

        assert_eq!(seen.all().len(), 3, "{identifier:?}");
        let records = on_failure_records(&env, &destination).await;
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(
            r["responseContext"],
            serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": null}),
            "{identifier:?}"
        );
    }
}

/// BatchSize 4, bisect on, a malformed partial response: the whole batch is retried as it is,
/// never split. The documentation ties bisecting to function errors ("If the function returns
/// an error, split the batch in two and retry", CreateEventSourceMapping; "If your invocation
/// fails and BisectBatchOnFunctionError is turned on, the batch is bisected",
/// services-kinesis-batchfailurereporting), and AWS records a malformed response as no
/// function error (`"functionError": null`). No recording has both; a choice, written down.
#[tokio::test(start_paused = true)]
async fn a_malformed_partial_response_is_not_bisected() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["a", "b", "c", "d"]).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 4,
        bisect_batch_on_function_error: true,
        maximum_retry_attempts: Some(1),
        report_batch_item_failures: true,
        ..Default::default()
    };
    let handler = recording(&seen, |_, _| Ok(failures(&[""])));
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    let all = vec!["a", "b", "c", "d"];
    assert_eq!(batches, [all.clone(), all]);
    assert_eq!(mapping.stats().bisects, 0);
}

#[tokio::test(start_paused = true)]
async fn bisect_splits_a_failing_batch_until_the_bad_record_is_alone() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["a", "b", "bad", "c"]).await;
    let destination = queue(&env).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 4,
        bisect_batch_on_function_error: true,
        maximum_retry_attempts: Some(0),
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let handler = recording(&seen, |event, _| {
        if datas(event).iter().any(|d| d == "bad") {
            Err("bad record".into())
        } else {
            Ok(KinesisEventResponse::default())
        }
    });
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(
        batches,
        [
            vec!["a", "b", "bad", "c"],
            vec!["a", "b"],
            vec!["bad", "c"],
            vec!["bad"],
            vec!["c"],
        ]
    );
    assert_eq!(mapping.stats().bisects, 2);
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["KinesisBatchInfo"]["batchSize"], 1);
    assert_eq!(
        records[0]["KinesisBatchInfo"]["startSequenceNumber"],
        seqs[2].as_str()
    );
}

#[tokio::test(start_paused = true)]
async fn a_partial_failure_redelivers_from_the_lowest_failed_record() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["r0", "r1", "r2", "r3", "r4"]).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        report_batch_item_failures: true,
        ..Default::default()
    };
    let (s1, s3) = (seqs[1].clone(), seqs[3].clone());
    let handler = recording(&seen, move |_, n| {
        Ok(if n == 1 {
            failures(&[&s3, &s1])
        } else {
            KinesisEventResponse::default()
        })
    });
    let checkpoints = Arc::new(InMemoryCheckpoints::new());
    let mapping = spawn_with(
        &env,
        &stream,
        config,
        handler,
        checkpoints.clone(),
        Arc::new(NoDeliveryFaults),
    )
    .await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(
        batches,
        [
            vec!["r0", "r1", "r2", "r3", "r4"],
            vec!["r1", "r2", "r3", "r4"]
        ]
    );
    let shard = &mapping.shard_ids()[0];
    assert_eq!(
        checkpoints.checkpoint(&stream, shard).as_deref(),
        Some(seqs[4].as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn partial_failures_are_ignored_without_report_batch_item_failures() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["r0", "r1"]).await;
    let seen = Seen::new();
    let s1 = seqs[1].clone();
    let handler = recording(&seen, move |_, _| Ok(failures(&[&s1])));
    let mapping = spawn(&env, &stream, Default::default(), handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(seen.all().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_item_identifier_fails_the_whole_batch() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["r0", "r1"]).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        report_batch_item_failures: true,
        ..Default::default()
    };
    let handler = recording(&seen, |_, n| {
        Ok(if n == 1 {
            failures(&["12345"])
        } else {
            KinesisEventResponse::default()
        })
    });
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(batches, [vec!["r0", "r1"], vec!["r0", "r1"]]);
}

#[tokio::test(start_paused = true)]
async fn an_invocation_past_the_function_timeout_is_retried_as_a_function_error() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["a"]).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let handler: Arc<dyn KinesisHandler> = {
        let calls = calls.clone();
        Arc::new(move |_event: KinesisEvent| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n == 1 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok::<_, BoxError>(KinesisEventResponse::default())
            }
        })
    };
    let config = KinesisMappingConfig {
        function_timeout: Some(Duration::from_secs(3)),
        ..Default::default()
    };
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(mapping.stats().retries, 1);
}
