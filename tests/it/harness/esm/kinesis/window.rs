//! Tumbling windows (TumblingWindowInSeconds): state carried between invocations, and the
//! final invocation of each window (Lambda developer guide, services-kinesis-windows).

use std::sync::Arc;
use std::time::Duration;

use ::harness::esm::{
    BoxError, InMemoryCheckpoints, KinesisMapping, KinesisMappingConfig, KinesisWindowEvent,
    KinesisWindowHandler, KinesisWindowResponse, NoDeliveryFaults,
};
use serde_json::{Map, Value, json};

use super::super::{IDLE, Seen};
use super::*;
use crate::support::{Edge, Env};

/// Sleeps (scripted, paused time) to just after the next multiple of `length` on the
/// emulator's clock, so that what is put next lands at the start of a window.
async fn to_next_window(env: &Env, length: Duration) {
    let now = env.emulator().unwrap().clock().now().timestamp_millis() as u64;
    let len = length.as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(len - now % len + 10)).await;
}

fn state_of(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

async fn spawn_windowed(
    env: &Env,
    stream: &str,
    config: KinesisMappingConfig,
    handler: Arc<dyn KinesisWindowHandler>,
) -> ::harness::esm::KinesisMappingHandle {
    let config = KinesisMappingConfig {
        clock: env.emulator().map(|e| e.clock().clone()),
        ..config
    };
    KinesisMapping::spawn_windowed(
        env.kinesis(),
        env.sqs(),
        stream,
        config,
        handler,
        Arc::new(InMemoryCheckpoints::new()),
        Arc::new(NoDeliveryFaults),
    )
    .await
    .unwrap()
}

/// A function that sums the records' numbers into `state.sum`.
fn summing(seen: &Seen<KinesisWindowEvent>) -> Arc<dyn KinesisWindowHandler> {
    let seen = seen.clone();
    Arc::new(move |event: KinesisWindowEvent| {
        seen.push(event.clone());
        let mut sum = event.state.get("sum").and_then(Value::as_i64).unwrap_or(0);
        for r in &event.records {
            sum += String::from_utf8_lossy(&r.kinesis.data)
                .parse::<i64>()
                .unwrap();
        }
        async move {
            Ok::<_, BoxError>(KinesisWindowResponse {
                state: Some(state_of(json!({ "sum": sum }))),
                ..Default::default()
            })
        }
    })
}

/// Waits (with a deadline) until the function has seen `n` invocations.
async fn invocations(seen: &Seen<KinesisWindowEvent>, n: usize) -> Vec<KinesisWindowEvent> {
    tokio::time::timeout(IDLE, async {
        while seen.all().len() < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} invocations, not {n}", seen.all().len()));
    seen.all()
}

/// AWS: "Lambda aggregates all records received in the window. You can receive these records
/// in multiple batches, each as a separate invocation. Each invocation receives a state";
/// "At the end of the window, the flag isFinalInvokeForWindow is set to true"; the next
/// window starts with a fresh state.
#[tokio::test(start_paused = true)]
async fn a_tumbling_window_carries_state_between_invocations_and_ends_with_a_final_one() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let length = Duration::from_secs(60);
    to_next_window(&env, length).await;
    put_all(&env, &stream, &["1", "2", "3"]).await;
    let seen = Seen::new();
    let config = KinesisMappingConfig {
        batch_size: 2,
        tumbling_window: Some(length),
        ..Default::default()
    };
    let mapping = spawn_windowed(&env, &stream, config, summing(&seen)).await;
    // The final invocation of the first window comes when its end passes; what is put then
    // belongs to the next window.
    let first = invocations(&seen, 3).await;
    put_all(&env, &stream, &["10"]).await;
    let all = invocations(&seen, 5).await;

    let shape = |e: &KinesisWindowEvent| {
        let datas: Vec<String> = e
            .records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.kinesis.data).into_owned())
            .collect();
        (
            datas,
            Value::Object(e.state.clone()),
            e.is_final_invoke_for_window,
        )
    };
    let shapes: Vec<_> = all.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            (vec!["1".to_owned(), "2".to_owned()], json!({}), false),
            (vec!["3".to_owned()], json!({"sum": 3}), false),
            (vec![], json!({"sum": 6}), true),
            (vec!["10".to_owned()], json!({}), false),
            (vec![], json!({"sum": 10}), true),
        ]
    );
    let w1 = first[0].window;
    assert_eq!((w1.end - w1.start).num_seconds(), 60);
    assert_eq!(w1.start.timestamp() % 60, 0, "aligned on the window length");
    assert!(all[..3].iter().all(|e| e.window == w1));
    assert_eq!(all[3].window.start, w1.end);
    assert!(all.iter().all(|e| !e.is_window_terminated_early));
    assert_eq!(all[0].shard_id, mapping.shard_ids()[0]);
    assert_eq!(all[0].event_source_arn, mapping.stream_arn());
    mapping.kill().await;
}

/// AWS: "If the response doesn't contain the state property, Lambda considers this a failed
/// invocation": the batch is retried, with the state from before it.
#[tokio::test(start_paused = true)]
async fn a_tumbling_window_response_without_state_is_a_failed_invocation() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let length = Duration::from_secs(60);
    to_next_window(&env, length).await;
    put_all(&env, &stream, &["5"]).await;
    let seen: Seen<KinesisWindowEvent> = Seen::new();
    let handler: Arc<dyn KinesisWindowHandler> = {
        let seen = seen.clone();
        Arc::new(move |event: KinesisWindowEvent| {
            let n = seen.push(event);
            async move {
                Ok::<_, BoxError>(KinesisWindowResponse {
                    state: (n > 1).then(|| state_of(json!({"seen": n}))),
                    ..Default::default()
                })
            }
        })
    };
    let config = KinesisMappingConfig {
        tumbling_window: Some(length),
        ..Default::default()
    };
    let mapping = spawn_windowed(&env, &stream, config, handler).await;
    let all = invocations(&seen, 3).await;
    assert_eq!(all[0].records, all[1].records, "the batch was retried");
    assert_eq!(all[1].state, Map::new(), "with the state from before it");
    assert!(all[2].is_final_invoke_for_window);
    assert_eq!(Value::Object(all[2].state.clone()), json!({"seen": 2}));
    assert_eq!(mapping.stats().retries, 1);
    mapping.kill().await;
}

/// A windowed configuration needs a windowed function, and the other way round.
#[tokio::test(start_paused = true)]
async fn a_tumbling_window_needs_a_window_handler() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let config = KinesisMappingConfig {
        tumbling_window: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let plain = KinesisMapping::spawn(
        env.kinesis(),
        env.sqs(),
        &stream,
        config,
        recording(&Seen::new(), ok),
        Arc::new(InMemoryCheckpoints::new()),
        Arc::new(NoDeliveryFaults),
    )
    .await;
    assert!(plain.is_err());
    let too_long = KinesisMappingConfig {
        tumbling_window: Some(Duration::from_secs(901)),
        ..Default::default()
    };
    assert!(too_long.validate().is_err());
}

/// AWS: "Your state can be a maximum of 1 MB per shard. If it exceeds that size, Lambda
/// terminates the window early": a final invocation flagged `isWindowTerminatedEarly` hands
/// over that state, and the same window continues with a fresh one.
#[tokio::test(start_paused = true)]
async fn a_state_over_one_megabyte_terminates_the_window_early() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let stream = stream(&env, 1).await;
    let length = Duration::from_secs(60);
    to_next_window(&env, length).await;
    put_all(&env, &stream, &["a", "b"]).await;
    let seen: Seen<KinesisWindowEvent> = Seen::new();
    let handler: Arc<dyn KinesisWindowHandler> = {
        let seen = seen.clone();
        Arc::new(move |event: KinesisWindowEvent| {
            let n = seen.push(event);
            let state = if n == 1 {
                json!({"big": "x".repeat(1024 * 1024 + 1)})
            } else {
                json!({"n": n})
            };
            async move {
                Ok::<_, BoxError>(KinesisWindowResponse {
                    state: Some(state_of(state)),
                    ..Default::default()
                })
            }
        })
    };
    let config = KinesisMappingConfig {
        batch_size: 1,
        tumbling_window: Some(length),
        ..Default::default()
    };
    let mapping = spawn_windowed(&env, &stream, config, handler).await;
    let all = invocations(&seen, 4).await;
    let flags: Vec<(usize, bool, bool)> = all
        .iter()
        .map(|e| {
            (
                e.records.len(),
                e.is_final_invoke_for_window,
                e.is_window_terminated_early,
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (1, false, false),
            (0, true, true),
            (1, false, false),
            (0, true, false)
        ]
    );
    assert!(all[1].state.contains_key("big"));
    assert_eq!(all[2].state, Map::new(), "a fresh state");
    assert!(
        all.iter().all(|e| e.window == all[0].window),
        "the same window"
    );
    mapping.kill().await;
}
