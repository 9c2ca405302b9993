//! What a failing function causes: retries, record age, bisect, partial batch responses and
//! on-failure records.

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

#[tokio::test(start_paused = true)]
async fn records_older_than_the_maximum_age_are_discarded() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put(&env, &stream, "k", "poison").await;
    let destination = queue(&env).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        maximum_record_age: Some(Duration::from_secs(60)),
        on_failure: Some(destination.clone()),
        ..Default::default()
    };
    let started = tokio::time::Instant::now();
    let handler = recording(&seen, |_, _| Err("always fails".into()));
    let mapping = spawn(&env, &stream, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    // Retried (MaximumRetryAttempts is infinite) until the record was a minute old.
    assert!(started.elapsed() >= Duration::from_secs(60));
    assert!(seen.all().len() > 2);
    let records = on_failure_records(&env, &destination).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["requestContext"]["condition"],
        "MaximumRecordAgeExceeded"
    );
    assert_eq!(
        records[0]["requestContext"]["approximateInvokeCount"],
        seen.all().len()
    );
    assert_eq!(records[0]["KinesisBatchInfo"]["batchSize"], 1);
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
