//! The SQS mapping against the embedded emulator (AWS-SEMANTICS 3).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::harness::esm::{
    BoxError, DeliveryFault, DeliveryHooks, FilterCriteria, NoDeliveryFaults, SqsHandler,
    SqsMapping, SqsMappingConfig, SqsMappingHandle, SqsStats,
};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use md5::{Digest, Md5};
use tokio::time::Instant;

use super::{IDLE, ScriptedHooks, Seen};
use crate::support::{Edge, Env, unique};

/// A fresh queue with the given attributes; answers its URL.
async fn queue(env: &Env, attributes: &[(QueueAttributeName, String)]) -> String {
    let mut req = env.sqs().create_queue().queue_name(unique("esm"));
    for (name, value) in attributes {
        req = req.attributes(name.clone(), value);
    }
    req.send().await.unwrap().queue_url().unwrap().to_owned()
}

async fn queue_arn(env: &Env, url: &str) -> String {
    env.sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

async fn send(env: &Env, url: &str, bodies: &[&str]) {
    for body in bodies {
        env.sqs()
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
}

/// When each invocation happened and what it got.
type Calls = Seen<(Instant, SqsEvent)>;

fn bodies(event: &SqsEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|m| m.body.clone().unwrap_or_default())
        .collect()
}

fn recording(
    calls: &Calls,
    respond: impl Fn(&SqsEvent, usize) -> Result<SqsBatchResponse, BoxError> + Send + Sync + 'static,
) -> Arc<dyn SqsHandler> {
    let calls = calls.clone();
    let respond = Arc::new(respond);
    Arc::new(move |event: SqsEvent| {
        let n = calls.push((Instant::now(), event.clone()));
        let answer = respond(&event, n);
        async move { answer }
    })
}

fn ok(_: &SqsEvent, _: usize) -> Result<SqsBatchResponse, BoxError> {
    Ok(SqsBatchResponse::default())
}

fn failing(ids: &[String]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = ids
        .iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.clone();
            f
        })
        .collect();
    response
}

async fn spawn(
    env: &Env,
    url: &str,
    config: SqsMappingConfig,
    handler: Arc<dyn SqsHandler>,
) -> SqsMappingHandle {
    spawn_with(env, url, config, handler, Arc::new(NoDeliveryFaults)).await
}

async fn spawn_with(
    env: &Env,
    url: &str,
    config: SqsMappingConfig,
    handler: Arc<dyn SqsHandler>,
    hooks: Arc<dyn DeliveryHooks>,
) -> SqsMappingHandle {
    SqsMapping::spawn(env.sqs(), url, config, handler, hooks)
        .await
        .unwrap()
}

/// How many times each body was delivered.
fn deliveries(calls: &Calls) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (_, event) in calls.all() {
        for body in bodies(&event) {
            *counts.entry(body).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(start_paused = true)]
async fn messages_have_lambdas_shape_and_batch_size_caps_each_batch() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    env.sqs()
        .send_message()
        .queue_url(&url)
        .message_body("m0")
        .message_attributes(
            "Attr1",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    send(&env, &url, &["m1", "m2", "m3", "m4", "m5", "m6"]).await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        batch_size: 3,
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let sizes: Vec<usize> = calls.all().iter().map(|(_, e)| e.records.len()).collect();
    assert!(sizes.iter().all(|&n| n <= 3), "{sizes:?}");
    assert_eq!(sizes[0], 3);
    assert_eq!(deliveries(&calls).len(), 7);
    assert_eq!(mapping.stats().messages_deleted, 7);

    let all: Vec<_> = calls
        .all()
        .into_iter()
        .flat_map(|(_, e)| e.records)
        .collect();
    let m0 = all
        .iter()
        .find(|m| m.body.as_deref() == Some("m0"))
        .unwrap();
    assert!(!m0.message_id.as_deref().unwrap().is_empty());
    assert!(!m0.receipt_handle.as_deref().unwrap().is_empty());
    let md5 = format!("{:x}", Md5::digest(b"m0"));
    assert_eq!(m0.md5_of_body.as_deref(), Some(md5.as_str()));
    assert!(m0.md5_of_message_attributes.is_some());
    assert_eq!(m0.attributes["ApproximateReceiveCount"], "1");
    let sent: u64 = m0.attributes["SentTimestamp"].parse().unwrap();
    assert!(sent > 1_600_000_000_000, "epoch milliseconds: {sent}");
    assert!(
        m0.attributes
            .contains_key("ApproximateFirstReceiveTimestamp")
    );
    assert!(m0.attributes.contains_key("SenderId"));
    assert_eq!(
        m0.message_attributes["Attr1"].string_value.as_deref(),
        Some("v")
    );
    assert_eq!(
        m0.message_attributes["Attr1"].data_type.as_deref(),
        Some("String")
    );
    assert_eq!(m0.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(m0.event_source_arn.as_deref(), Some(mapping.queue_arn()));
    assert_eq!(m0.aws_region.as_deref(), Some("us-east-1"));
}

#[tokio::test(start_paused = true)]
async fn a_batching_window_gathers_a_batch_larger_than_one_receive() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    let many: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    send(
        &env,
        &url,
        &many.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        batch_size: 20,
        maximum_batching_window: Duration::from_secs(5),
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let sizes: Vec<usize> = calls.all().iter().map(|(_, e)| e.records.len()).collect();
    assert_eq!(sizes, [15]);
}

#[tokio::test(start_paused = true)]
async fn a_batching_window_waits_for_messages_that_arrive_apart() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        maximum_batching_window: Duration::from_secs(5),
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
    send(&env, &url, &["first"]).await;
    // Scripted arrival (paused clock): the second message comes 2 s after the first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    send(&env, &url, &["second"]).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let batches: Vec<Vec<String>> = calls.all().iter().map(|(_, e)| bodies(e)).collect();
    assert_eq!(batches, [vec!["first", "second"]]);
}

#[tokio::test(start_paused = true)]
async fn report_batch_item_failures_leaves_only_the_failed_messages_on_the_queue() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(
        &env,
        &[(QueueAttributeName::VisibilityTimeout, "30".into())],
    )
    .await;
    send(&env, &url, &["m1", "m2", "m3"]).await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        report_batch_item_failures: true,
        concurrency: 1,
        ..Default::default()
    };
    let handler = recording(&calls, |event, _| {
        let failed: Vec<String> = event
            .records
            .iter()
            .filter(|m| {
                m.body.as_deref() == Some("m2") && m.attributes["ApproximateReceiveCount"] == "1"
            })
            .filter_map(|m| m.message_id.clone())
            .collect();
        Ok(failing(&failed))
    });
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    let counts = deliveries(&calls);
    assert_eq!(
        counts,
        HashMap::from([("m1".into(), 1), ("m2".into(), 2), ("m3".into(), 1)])
    );
    let calls = calls.all();
    let (first_at, _) = &calls[0];
    let (again_at, again) = calls.last().unwrap();
    assert_eq!(bodies(again), ["m2"]);
    assert_eq!(again.records[0].attributes["ApproximateReceiveCount"], "2");
    assert!(
        *again_at - *first_at >= Duration::from_secs(30),
        "after the visibility timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn partial_answers_are_ignored_without_report_batch_item_failures() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    send(&env, &url, &["m1", "m2"]).await;
    let calls = Calls::new();
    let handler = recording(&calls, |event, _| {
        Ok(failing(&[event.records[0].message_id.clone().unwrap()]))
    });
    let config = SqsMappingConfig {
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(
        deliveries(&calls),
        HashMap::from([("m1".into(), 1), ("m2".into(), 1)])
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_error_returns_the_whole_batch_after_the_visibility_timeout() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(
        &env,
        &[(QueueAttributeName::VisibilityTimeout, "30".into())],
    )
    .await;
    send(&env, &url, &["m1", "m2"]).await;
    let calls = Calls::new();
    let handler = recording(&calls, |_, n| {
        if n == 1 {
            Err("function error".into())
        } else {
            Ok(SqsBatchResponse::default())
        }
    });
    let config = SqsMappingConfig {
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    assert_eq!(
        deliveries(&calls),
        HashMap::from([("m1".into(), 2), ("m2".into(), 2)])
    );
    let calls = calls.all();
    let (first_at, _) = &calls[0];
    let (last_at, last) = calls.last().unwrap();
    assert!(*last_at - *first_at >= Duration::from_secs(30));
    assert!(
        last.records
            .iter()
            .all(|m| m.attributes["ApproximateReceiveCount"] == "2")
    );
}

#[tokio::test(start_paused = true)]
async fn the_visibility_timeout_setting_overrides_the_queues() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(
        &env,
        &[(QueueAttributeName::VisibilityTimeout, "30".into())],
    )
    .await;
    send(&env, &url, &["m1"]).await;
    let calls = Calls::new();
    let handler = recording(&calls, |_, n| {
        if n == 1 {
            Err("function error".into())
        } else {
            Ok(SqsBatchResponse::default())
        }
    });
    let config = SqsMappingConfig {
        visibility_timeout: Some(Duration::from_secs(120)),
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let calls = calls.all();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].0 - calls[0].0 >= Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn a_message_that_keeps_failing_is_redriven_to_the_dlq_after_max_receive_count() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let dlq = queue(&env, &[]).await;
    let dlq_arn = queue_arn(&env, &dlq).await;
    let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"});
    let url = queue(
        &env,
        &[
            (QueueAttributeName::VisibilityTimeout, "30".into()),
            (QueueAttributeName::RedrivePolicy, policy.to_string()),
        ],
    )
    .await;
    send(&env, &url, &["poison"]).await;
    let calls = Calls::new();
    let handler = recording(&calls, |_, _| Err("always fails".into()));
    let mapping = spawn(&env, &url, Default::default(), handler).await;
    mapping.wait_idle(IDLE).await.unwrap();

    assert_eq!(deliveries(&calls), HashMap::from([("poison".into(), 3)]));
    let moved = env
        .sqs()
        .receive_message()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = moved.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["poison"]);
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_delivery_invokes_the_handler_twice_and_deletes_once() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    send(&env, &url, &["m1"]).await;
    let calls = Calls::new();
    let hooks = ScriptedHooks::sqs(vec![vec![DeliveryFault::Duplicate]]);
    let config = SqsMappingConfig {
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn_with(&env, &url, config, recording(&calls, ok), hooks).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let calls = calls.all();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1, calls[1].1);
    let stats = mapping.stats();
    assert_eq!((stats.batches_invoked, stats.messages_deleted), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_crash_before_deleting_redelivers_the_batch_after_the_visibility_timeout() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(
        &env,
        &[(QueueAttributeName::VisibilityTimeout, "30".into())],
    )
    .await;
    send(&env, &url, &["m1"]).await;
    let calls = Calls::new();
    let hooks = ScriptedHooks::sqs(vec![vec![DeliveryFault::CrashBeforeCheckpoint]]);
    let config = SqsMappingConfig {
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn_with(&env, &url, config, recording(&calls, ok), hooks).await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(deliveries(&calls), HashMap::from([("m1".into(), 2)]));
}

#[tokio::test(start_paused = true)]
async fn stop_finishes_the_batch_in_flight_and_deletes_it() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    send(&env, &url, &["m1"]).await;
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let handler: Arc<dyn SqsHandler> = Arc::new(move |_event: SqsEvent| {
        let entered = entered.clone();
        async move {
            if let Some(tx) = entered.lock().unwrap().take() {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, BoxError>(SqsBatchResponse::default())
        }
    });
    let mapping = spawn(&env, &url, Default::default(), handler).await;
    entered_rx.await.unwrap();
    mapping.stop().await;
    // Deleted, not merely in flight or back in the queue: visible, in flight and delayed are
    // all 0 now, and stay so past the visibility timeout (30 s by default), after which an
    // undeleted message "becomes visible to other consumers" again (SQS developer guide,
    // sqs-visibility-timeout.html).
    let counts = || async {
        let out = env
            .sqs()
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().unwrap().clone();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ]
        .map(|name| attrs[&name].clone())
    };
    assert_eq!(counts().await, ["0", "0", "0"]);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(counts().await, ["0", "0", "0"], "the message came back");
    let received = env
        .sqs()
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(received.messages().is_empty(), "{received:?}");
}

/// FilterCriteria on `body`, one mapping per operator of AWS's table: only the matching
/// message reaches the function, and the other is deleted from the queue ("If a message
/// doesn't satisfy your filter criteria, Lambda automatically removes the message from the
/// queue", Lambda developer guide, invocation-eventfiltering; recorded on AWS, LocalStack
/// snapshots `test_sqs_event_filter[*]`, 2025: one invocation with the matching record, and
/// the queue empty afterwards). `wait_idle` only returns once the queue holds nothing.
#[tokio::test(start_paused = true)]
async fn filter_criteria_deliver_only_matching_messages_and_delete_the_others() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    for (name, rule, matching, other) in super::filter_rows() {
        let url = queue(&env, &[]).await;
        send(&env, &url, &[&matching, &other]).await;
        let calls = Calls::new();
        let pattern = serde_json::json!({ "body": rule }).to_string();
        let config = SqsMappingConfig {
            concurrency: 1,
            filter_criteria: Some(FilterCriteria::from_patterns([pattern]).unwrap()),
            ..Default::default()
        };
        let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
        mapping.wait_idle(IDLE).await.unwrap();
        let delivered: Vec<String> = calls.all().iter().flat_map(|(_, e)| bodies(e)).collect();
        assert_eq!(delivered, vec![matching], "{name}");
        let stats = mapping.stats();
        assert_eq!(
            (stats.messages_filtered, stats.messages_deleted),
            (1, 1),
            "{name}"
        );
        mapping.stop().await;
    }
}

/// MaximumConcurrency "limits the number of concurrent instances that the Amazon SQS event
/// source can invoke" (CloudFormation ScalingConfig): with 2, never more than 2 batches run at
/// once, however long the backlog.
#[tokio::test(start_paused = true)]
async fn maximum_concurrency_caps_the_batches_in_flight() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let (most, stats) = run_slow_backlog(Some(2), 100).await;
    assert_eq!(most, 2);
    assert_eq!(stats.peak_pollers, 2);
}

/// Without MaximumConcurrency, Lambda "starts processing five batches at a time" and, "if
/// messages are still available, increases the number of processes that are reading batches
/// by up to 300 more instances per minute" (services-sqs-scaling). With a slow function and a
/// deep queue: five at first, more once the backlog shows.
#[tokio::test(start_paused = true)]
async fn without_maximum_concurrency_five_batches_start_and_a_backlog_scales_them_up() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let (most, stats) = run_slow_backlog(None, 400).await;
    assert!(most > 5, "scaled up: at most {most} at once");
    assert!(stats.peak_pollers > 5);
    assert!(most <= 1000);
}

/// "Lambda throttles function scaling when invocation errors occur" (knowledge center,
/// lambda-sqs-scaling): a function that always fails keeps the mapping at its five pollers
/// even with a deep queue.
#[tokio::test(start_paused = true)]
async fn function_errors_hold_scaling_back() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[(QueueAttributeName::VisibilityTimeout, "5".into())]).await;
    let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    send(
        &env,
        &url,
        &many.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let handler: Arc<dyn SqsHandler> = Arc::new(|_event: SqsEvent| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Err::<SqsBatchResponse, BoxError>("always fails".into())
    });
    let mapping = spawn(&env, &url, Default::default(), handler).await;
    // Scripted time for the scaler to act in (paused clock), not a wait for a condition.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let stats = mapping.stats();
    assert!(stats.batches_invoked > 20, "{stats:?}");
    assert_eq!(stats.peak_pollers, 5, "{stats:?}");
    mapping.kill().await;
}

/// Runs a deep queue through a slow function; answers the most invocations seen at once.
async fn run_slow_backlog(maximum_concurrency: Option<u16>, messages: usize) -> (usize, SqsStats) {
    let env = Env::start(Edge::InProcess).await;
    let url = queue(
        &env,
        &[(QueueAttributeName::VisibilityTimeout, "300".into())],
    )
    .await;
    let many: Vec<String> = (0..messages).map(|i| format!("m{i}")).collect();
    send(
        &env,
        &url,
        &many.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handler: Arc<dyn SqsHandler> = {
        let (running, most) = (running.clone(), most.clone());
        Arc::new(move |_event: SqsEvent| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(2)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, BoxError>(SqsBatchResponse::default())
            }
        })
    };
    let config = SqsMappingConfig {
        batch_size: 1,
        maximum_concurrency,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let stats = mapping.stats();
    assert_eq!(stats.messages_deleted, messages as u64);
    (most.load(Ordering::SeqCst), stats)
}

/// A batch whose messages would pass Lambda's 6 MB invoke payload is cut into invocations
/// that fit ("SQS+Lambda metadata count toward 6 MB payload so batches may be smaller",
/// AWS-SEMANTICS 3.1), in order, every message delivered once.
#[tokio::test(start_paused = true)]
async fn a_batch_is_cut_at_lambdas_six_megabyte_payload() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = queue(&env, &[]).await;
    let big: Vec<String> = (0..7)
        .map(|i| format!("{i}{}", "x".repeat(1_000_000)))
        .collect();
    send(
        &env,
        &url,
        &big.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        concurrency: 1,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let events: Vec<SqsEvent> = calls.all().into_iter().map(|(_, e)| e).collect();
    for event in &events {
        let payload = serde_json::to_vec(&::harness::esm::event::sqs_event_json(event)).unwrap();
        assert!(payload.len() <= 6 * 1024 * 1024, "{} bytes", payload.len());
    }
    // About 1 MB of JSON each: six fit in one invocation, the seventh goes in the next.
    let sizes: Vec<usize> = events.iter().map(|e| e.records.len()).collect();
    assert_eq!(sizes, [6, 1]);
    assert_eq!(mapping.stats().messages_deleted, 7);
}

// FIFO queues. Lambda developer guide, with-sqs and services-sqs-errorhandling: FIFO events
// carry MessageGroupId, MessageDeduplicationId and SequenceNumber; BatchSize at most 10 and
// no batching window; a group is never processed in parallel; with ReportBatchItemFailures a
// group stops at its first failed message, which returns with the rest of the group.

async fn fifo_queue(env: &Env, visibility_timeout: &str) -> String {
    env.sqs()
        .create_queue()
        .queue_name(format!("{}.fifo", unique("esm")))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Sends `(body, group)` pairs in order, each with its body as deduplication id.
async fn send_fifo(env: &Env, url: &str, messages: &[(&str, &str)]) {
    for (body, group) in messages {
        env.sqs()
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .message_group_id(*group)
            .message_deduplication_id(*body)
            .send()
            .await
            .unwrap();
    }
}

/// The bodies of each group in delivery order, over all invocations.
fn by_group(calls: &Calls) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for (_, event) in calls.all() {
        for m in event.records {
            let group = m.attributes["MessageGroupId"].clone();
            groups
                .entry(group)
                .or_default()
                .push(m.body.unwrap_or_default());
        }
    }
    groups
}

#[tokio::test(start_paused = true)]
async fn fifo_events_carry_group_deduplication_id_and_sequence_number_in_order() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = fifo_queue(&env, "30").await;
    send_fifo(
        &env,
        &url,
        &[
            ("a1", "a"),
            ("b1", "b"),
            ("a2", "a"),
            ("b2", "b"),
            ("a3", "a"),
        ],
    )
    .await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        batch_size: 2,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, recording(&calls, ok)).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let groups = by_group(&calls);
    assert_eq!(groups["a"], ["a1", "a2", "a3"]);
    assert_eq!(groups["b"], ["b1", "b2"]);
    let first = &calls.all()[0].1.records[0];
    assert_eq!(
        first.attributes["MessageDeduplicationId"],
        first.body.clone().unwrap()
    );
    assert_eq!(first.attributes["SequenceNumber"].len(), 20);
    assert_eq!(mapping.stats().messages_deleted, 5);
}

#[tokio::test]
async fn a_fifo_mapping_takes_at_most_ten_and_no_batching_window() {
    crate::require!(EmulatorInternals); // Routed through support: the embedded emulator's FIFO queues.
    let env = Env::start(Edge::InProcess).await;
    let url = fifo_queue(&env, "30").await;
    for config in [
        SqsMappingConfig {
            batch_size: 11,
            maximum_batching_window: Duration::from_secs(1),
            ..Default::default()
        },
        SqsMappingConfig {
            maximum_batching_window: Duration::from_secs(1),
            ..Default::default()
        },
    ] {
        let spawned = SqsMapping::spawn(
            env.sqs(),
            &url,
            config,
            recording(&Calls::new(), ok),
            Arc::new(NoDeliveryFaults),
        )
        .await;
        assert!(spawned.is_err(), "refused on a FIFO queue");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_fifo_message_stops_its_group_and_the_rest_returns_with_it() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = fifo_queue(&env, "5").await;
    send_fifo(
        &env,
        &url,
        &[("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")],
    )
    .await;
    let calls = Calls::new();
    let config = SqsMappingConfig {
        report_batch_item_failures: true,
        concurrency: 1,
        ..Default::default()
    };
    // a2 fails the first time it is delivered only.
    let handler = recording(&calls, |event, n| {
        let failed: Vec<String> = event
            .records
            .iter()
            .filter(|m| n == 1 && m.body.as_deref() == Some("a2"))
            .filter_map(|m| m.message_id.clone())
            .collect();
        Ok(failing(&failed))
    });
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    let counts = deliveries(&calls);
    assert_eq!(
        (counts["a1"], counts["a2"], counts["b1"], counts["a3"]),
        (1, 2, 1, 2),
        "a3 came back with a2, though only a2 failed"
    );
    assert_eq!(by_group(&calls)["a"], ["a1", "a2", "a3", "a2", "a3"]);
    assert_eq!(mapping.stats().messages_deleted, 4);
}

#[tokio::test(start_paused = true)]
async fn a_fifo_group_is_never_processed_in_parallel() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let url = fifo_queue(&env, "30").await;
    let messages: Vec<(String, String)> = (0..30)
        .map(|i| (format!("m{i}"), format!("g{}", i % 3)))
        .collect();
    let pairs: Vec<(&str, &str)> = messages
        .iter()
        .map(|(b, g)| (b.as_str(), g.as_str()))
        .collect();
    send_fifo(&env, &url, &pairs).await;
    // Per group: invocations running now, and the most ever at once.
    let running: Arc<std::sync::Mutex<HashMap<String, (usize, usize)>>> = Arc::default();
    let order = Calls::new();
    let handler: Arc<dyn SqsHandler> = {
        let running = running.clone();
        let order = order.clone();
        Arc::new(move |event: SqsEvent| {
            let running = running.clone();
            order.push((Instant::now(), event.clone()));
            async move {
                let groups: std::collections::HashSet<String> = event
                    .records
                    .iter()
                    .map(|m| m.attributes["MessageGroupId"].clone())
                    .collect();
                for g in &groups {
                    let mut r = running.lock().unwrap();
                    let e = r.entry(g.clone()).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                for g in &groups {
                    running.lock().unwrap().entry(g.clone()).or_default().0 -= 1;
                }
                Ok::<_, BoxError>(SqsBatchResponse::default())
            }
        })
    };
    let config = SqsMappingConfig {
        batch_size: 2,
        concurrency: 10,
        ..Default::default()
    };
    let mapping = spawn(&env, &url, config, handler).await;
    mapping.wait_idle(IDLE).await.unwrap();
    assert_eq!(mapping.stats().messages_deleted, 30);
    let peaks: Vec<usize> = running
        .lock()
        .unwrap()
        .values()
        .map(|(_, peak)| *peak)
        .collect();
    assert_eq!(peaks, [1, 1, 1], "one invocation per group at a time");
    for (group, bodies) in by_group(&order) {
        let numbers: Vec<usize> = bodies.iter().map(|b| b[1..].parse().unwrap()).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{group}: {bodies:?}"
        );
    }
}
