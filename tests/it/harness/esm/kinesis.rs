//! The Kinesis mapping against the embedded emulator (AWS-SEMANTICS 2).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::harness::esm::{
    BoxError, CheckpointStore, DeliveryFault, DeliveryHooks, InMemoryCheckpoints, KinesisHandler,
    KinesisMapping, KinesisMappingConfig, KinesisMappingHandle, NoDeliveryFaults, StartingPosition,
};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use aws_sdk_kinesis::primitives::Blob;

use super::{IDLE, ScriptedHooks, Seen};
use crate::support::{Edge, Env, unique};

/// A fresh stream with `shards` shards.
async fn stream(env: &Env, shards: i32) -> String {
    let name = unique("esm");
    env.kinesis()
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    name
}

/// Puts one record; answers its sequence number.
async fn put(env: &Env, stream: &str, key: &str, data: &str) -> String {
    env.kinesis()
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data))
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned()
}

async fn put_all(env: &Env, stream: &str, data: &[&str]) -> Vec<String> {
    let mut seqs = Vec::new();
    for d in data {
        seqs.push(put(env, stream, "key", d).await);
    }
    seqs
}

fn datas(event: &KinesisEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.kinesis.data).into_owned())
        .collect()
}

/// A handler that records every event and answers with `respond(event, invocation number)`.
fn recording(
    seen: &Seen<KinesisEvent>,
    respond: impl Fn(&KinesisEvent, usize) -> Result<KinesisEventResponse, BoxError>
    + Send
    + Sync
    + 'static,
) -> Arc<dyn KinesisHandler> {
    let seen = seen.clone();
    let respond = Arc::new(respond);
    Arc::new(move |event: KinesisEvent| {
        let n = seen.push(event.clone());
        let answer = respond(&event, n);
        async move { answer }
    })
}

fn ok(_: &KinesisEvent, _: usize) -> Result<KinesisEventResponse, BoxError> {
    Ok(KinesisEventResponse::default())
}

fn failures(seqs: &[&str]) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    response.batch_item_failures = seqs
        .iter()
        .map(|s| {
            let mut f = KinesisBatchItemFailure::default();
            f.item_identifier = Some((*s).to_owned());
            f
        })
        .collect();
    response
}

async fn spawn(
    env: &Env,
    stream: &str,
    config: KinesisMappingConfig,
    handler: Arc<dyn KinesisHandler>,
) -> KinesisMappingHandle {
    spawn_with(
        env,
        stream,
        config,
        handler,
        Arc::new(InMemoryCheckpoints::new()),
        Arc::new(NoDeliveryFaults),
    )
    .await
}

async fn spawn_with(
    env: &Env,
    stream: &str,
    config: KinesisMappingConfig,
    handler: Arc<dyn KinesisHandler>,
    checkpoints: Arc<dyn CheckpointStore>,
    hooks: Arc<dyn DeliveryHooks>,
) -> KinesisMappingHandle {
    let config = KinesisMappingConfig {
        clock: env.emulator().map(|e| e.clock().clone()),
        ..config
    };
    KinesisMapping::spawn(
        env.kinesis(),
        env.sqs(),
        stream,
        config,
        handler,
        checkpoints,
        hooks,
    )
    .await
    .unwrap()
}

async fn queue(env: &Env) -> String {
    env.sqs()
        .create_queue()
        .queue_name(unique("on-failure"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

async fn on_failure_records(env: &Env, queue_url: &str) -> Vec<serde_json::Value> {
    let out = env
        .sqs()
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn events_have_lambdas_shape_and_batch_size_caps_each_batch() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["a", "b", "c", "d", "e", "f", "g"]).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 3,
        ..Default::default()
    };
    let mapping = spawn(&env, &stream, config, recording(&seen, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(
        batches,
        [vec!["a", "b", "c"], vec!["d", "e", "f"], vec!["g"]]
    );
    let shard = &mapping.shard_ids()[0];
    let first = &seen.all()[0].records[0];
    assert_eq!(
        first.event_id.as_deref(),
        Some(format!("{shard}:{}", seqs[0]).as_str())
    );
    assert_eq!(first.event_name.as_deref(), Some("aws:kinesis:record"));
    assert_eq!(first.event_source.as_deref(), Some("aws:kinesis"));
    assert_eq!(first.event_version.as_deref(), Some("1.0"));
    assert_eq!(
        first.event_source_arn.as_deref(),
        Some(mapping.stream_arn())
    );
    assert!(mapping.stream_arn().ends_with(&format!(":stream/{stream}")));
    assert_eq!(first.aws_region.as_deref(), Some("us-east-1"));
    assert!(
        first
            .invoke_identity_arn
            .as_deref()
            .unwrap()
            .starts_with("arn:aws:iam::")
    );
    assert_eq!(first.kinesis.kinesis_schema_version.as_deref(), Some("1.0"));
    assert_eq!(first.kinesis.partition_key, "key");
    assert_eq!(first.kinesis.sequence_number, seqs[0]);
    assert!(first.kinesis.approximate_arrival_timestamp.timestamp() > 1_600_000_000);
    assert_eq!(mapping.stats().checkpoints, 3);
}

#[tokio::test(start_paused = true)]
async fn batching_window_groups_records_that_arrive_apart() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        maximum_batching_window: Duration::from_secs(5),
        ..Default::default()
    };
    let mapping = spawn(&env, &stream, config, recording(&seen, ok)).await;
    put(&env, &stream, "k", "first").await;
    // Scripted arrival times (paused clock), not a wait: the second record comes 2 s later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    put(&env, &stream, "k", "second").await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(batches, [vec!["first", "second"]]);
}

#[tokio::test(start_paused = true)]
async fn without_a_window_records_that_arrive_apart_are_separate_batches() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seen = Seen::new();
    let mapping = spawn(&env, &stream, Default::default(), recording(&seen, ok)).await;
    put(&env, &stream, "k", "first").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    put(&env, &stream, "k", "second").await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(batches, [vec!["first"], vec!["second"]]);
}

#[tokio::test(start_paused = true)]
async fn starting_positions_trim_horizon_latest_and_at_timestamp() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["old-1", "old-2"]).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let at = env.emulator().unwrap().clock().now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    put_all(&env, &stream, &["mid-1", "mid-2"]).await;

    let mut seen_by = HashMap::new();
    let mut mappings = Vec::new();
    for (name, position) in [
        ("trim", StartingPosition::TrimHorizon),
        ("latest", StartingPosition::Latest),
        ("at", StartingPosition::AtTimestamp(at)),
    ] {
        let seen = Seen::new();
        let config = KinesisMappingConfig {
            starting_position: position,
            ..Default::default()
        };
        mappings.push(spawn(&env, &stream, config, recording(&seen, ok)).await);
        seen_by.insert(name, seen);
    }
    put(&env, &stream, "k", "new").await;
    for mapping in &mappings {
        mapping.wait_idle(IDLE).await.unwrap();
    }
    let delivered =
        |name: &str| -> Vec<String> { seen_by[name].all().iter().flat_map(datas).collect() };
    assert_eq!(
        delivered("trim"),
        ["old-1", "old-2", "mid-1", "mid-2", "new"]
    );
    assert_eq!(delivered("latest"), ["new"]);
    assert_eq!(delivered("at"), ["mid-1", "mid-2", "new"]);
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_then_the_batch_goes_to_the_on_failure_destination() {
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
async fn parallelization_keeps_order_per_key_while_keys_interleave() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    for i in 0..5 {
        for key in 0..8 {
            put(
                &env,
                &stream,
                &format!("key-{key}"),
                &format!("key-{key}/{i}"),
            )
            .await;
        }
    }
    let seen: Seen<KinesisEvent> = Seen::new();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handler: Arc<dyn KinesisHandler> = {
        let (seen, running, most) = (seen.clone(), running.clone(), most.clone());
        Arc::new(move |event: KinesisEvent| {
            let (seen, running, most) = (seen.clone(), running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                seen.push(event);
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, BoxError>(KinesisEventResponse::default())
            }
        })
    };
    let config = KinesisMappingConfig {
        batch_size: 2,
        parallelization_factor: 4,
        ..Default::default()
    };
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

    let mut per_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for data in seen.all().iter().flat_map(datas) {
        let (key, i) = data.split_once('/').unwrap();
        per_key
            .entry(key.to_owned())
            .or_default()
            .push(i.parse().unwrap());
    }
    assert_eq!(per_key.len(), 8);
    for (key, order) in &per_key {
        assert_eq!(order, &[0, 1, 2, 3, 4], "order of {key}");
    }
    assert!(
        most.load(Ordering::SeqCst) > 1,
        "batches of one shard ran concurrently"
    );
    assert!(
        most.load(Ordering::SeqCst) <= 4,
        "at most ParallelizationFactor at once"
    );
    let last_put = seen
        .all()
        .iter()
        .flat_map(|e| e.records.iter().map(|r| r.kinesis.sequence_number.clone()))
        .max_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
        .unwrap();
    let shard = &mapping.shard_ids()[0];
    assert_eq!(checkpoints.checkpoint(&stream, shard), Some(last_put));
}

#[tokio::test(start_paused = true)]
async fn a_new_consumer_resumes_after_the_checkpoint_of_a_killed_one() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["a", "b"]).await;
    let checkpoints = Arc::new(InMemoryCheckpoints::new());
    let first = Seen::new();
    let mapping = spawn_with(
        &env,
        &stream,
        Default::default(),
        recording(&first, ok),
        checkpoints.clone(),
        Arc::new(NoDeliveryFaults),
    )
    .await;
    mapping.wait_idle(IDLE).await.unwrap();
    mapping.kill().await;
    put_all(&env, &stream, &["c", "d"]).await;

    let second = Seen::new();
    let mapping = spawn_with(
        &env,
        &stream,
        Default::default(),
        recording(&second, ok),
        checkpoints,
        Arc::new(NoDeliveryFaults),
    )
    .await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(
        first.all().iter().flat_map(datas).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        second.all().iter().flat_map(datas).collect::<Vec<_>>(),
        ["c", "d"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_before_the_checkpoint_redelivers_only_what_came_after_it() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seen = Seen::new();
    let hooks = ScriptedHooks::kinesis(vec![vec![], vec![DeliveryFault::CrashBeforeCheckpoint]]);
    let config = KinesisMappingConfig {
        batch_size: 2,
        ..Default::default()
    };
    put_all(&env, &stream, &["a", "b", "c", "d"]).await;
    let mapping = spawn_with(
        &env,
        &stream,
        config,
        recording(&seen, ok),
        Arc::new(InMemoryCheckpoints::new()),
        hooks,
    )
    .await;
    mapping.wait_idle(IDLE).await.unwrap();

    let batches: Vec<Vec<String>> = seen.all().iter().map(datas).collect();
    assert_eq!(batches, [vec!["a", "b"], vec!["c", "d"], vec!["c", "d"]]);
    assert_eq!(mapping.stats().restarts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_delivery_invokes_the_handler_twice_with_the_same_batch() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    put_all(&env, &stream, &["a", "b"]).await;
    let seen = Seen::new();
    let hooks = ScriptedHooks::kinesis(vec![vec![DeliveryFault::Duplicate]]);
    let mapping = spawn_with(
        &env,
        &stream,
        Default::default(),
        recording(&seen, ok),
        Arc::new(InMemoryCheckpoints::new()),
        hooks,
    )
    .await;
    mapping.wait_idle(IDLE).await.unwrap();
    let events = seen.all();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0], events[1]);
    assert_eq!(mapping.stats().batches_invoked, 2);
}

#[tokio::test(start_paused = true)]
async fn every_shard_is_consumed_in_order() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 2).await;
    for i in 0..20 {
        put(&env, &stream, &format!("k{i}"), &format!("{i}")).await;
    }
    let seen = Seen::new();
    let mapping = spawn(&env, &stream, Default::default(), recording(&seen, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let mut per_shard: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for record in seen.all().iter().flat_map(|e| e.records.clone()) {
        let shard = record
            .event_id
            .unwrap()
            .split_once(':')
            .unwrap()
            .0
            .to_owned();
        let n = String::from_utf8_lossy(&record.kinesis.data)
            .parse()
            .unwrap();
        per_shard.entry(shard).or_default().push(n);
    }
    assert_eq!(per_shard.len(), 2, "records land on both shards");
    let total: usize = per_shard.values().map(Vec::len).sum();
    assert_eq!(total, 20);
    for order in per_shard.values() {
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn stop_finishes_the_batch_in_flight_and_checkpoints_it() {
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let seqs = put_all(&env, &stream, &["a"]).await;
    let checkpoints = Arc::new(InMemoryCheckpoints::new());
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let handler: Arc<dyn KinesisHandler> = Arc::new(move |_event: KinesisEvent| {
        let entered = entered.clone();
        async move {
            if let Some(tx) = entered.lock().unwrap().take() {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, BoxError>(KinesisEventResponse::default())
        }
    });
    let mapping = spawn_with(
        &env,
        &stream,
        Default::default(),
        handler,
        checkpoints.clone(),
        Arc::new(NoDeliveryFaults),
    )
    .await;
    let shard = mapping.shard_ids()[0].clone();
    entered_rx.await.unwrap();
    mapping.stop().await;
    assert_eq!(
        checkpoints.checkpoint(&stream, &shard).as_deref(),
        Some(seqs[0].as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn an_invocation_past_the_function_timeout_is_retried_as_a_function_error() {
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
