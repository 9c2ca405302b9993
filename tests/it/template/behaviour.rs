//! Each class of template property the harness reads changes what the pipeline does: names,
//! the redrive policy, the mappings' batch size, retries, response types, on-failure
//! destination, and a function's timeout. Under tokio's paused clock on the embedded backend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use harness::{Harness, HarnessOptions};
use serde_json::json;

use super::{edited, options, project_text, with_resources};

fn seed_event(id: &str) -> serde_json::Value {
    json!({"stream": "default", "id": id, "payload": {"energy_type": "nuclear"}})
}

async fn start(options: HarnessOptions) -> Harness {
    Harness::start_with(options)
        .await
        .expect("the harness starts")
}

/// The envelope ids of a Kinesis invocation, in order.
fn ids(event: &KinesisEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| {
            let envelope: serde_json::Value =
                serde_json::from_slice(&r.kinesis.data.0).expect("an envelope");
            envelope["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn renamed_resources_carry_the_seed_event_through_the_names_the_template_gives() {
    crate::require!(); // Any backend: real time is fast enough here.
    let o = options(&project_text())
        .set("EventsStream.Name", "orders-stream")
        .set("EventsQueue.QueueName", "orders-q")
        .set("EventsDlq.QueueName", "orders-dlq")
        .set("EventsTable.TableName", "orders");
    let h = start(o).await;
    let r = &h.provisioned().resources;
    assert!(r.stream.ends_with("-orders-stream"), "{}", r.stream);
    assert!(r.queue.ends_with("-orders-q") && r.dlq.ends_with("-orders-dlq"));
    assert!(r.table.ends_with("-orders"), "{}", r.table);

    // A fault rule names the queue by its logical id, whatever the template calls it.
    h.faults()
        .sqs("SendMessage")
        .resource("EventsQueue")
        .error(500, "InternalError")
        .always()
        .for_event("seed-2")
        .install();
    let outcome = h.ingest_json(seed_event("seed-1")).await.unwrap();
    assert_eq!(outcome.status, 200, "{:?}", outcome.body);
    h.ingest_ok(seed_event("seed-2")).await.unwrap();
    h.drain().await.unwrap();
    assert_eq!(
        h.dlq_ids().await.unwrap(),
        ["seed-2"],
        "3 attempts to orders-q, then orders-dlq"
    );

    // Straight from DynamoDB by the template's name: the item is in `orders`.
    let sdk = h.backend().sdk_config();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let scan = ddb.scan().table_name(&r.table).send().await.unwrap();
    assert_eq!(scan.count, 1);
    let tables = ddb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    let prefix = r.table.trim_end_matches("orders");
    assert!(tables.contains(&r.table), "{tables:?}");
    assert!(
        !tables.contains(&format!("{prefix}EventsTable")),
        "no table under the logical id: {tables:?}"
    );
    // And it went through the renamed stream and queue.
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&r.stream)
        .send()
        .await
        .unwrap();
    assert!(summary.stream_description_summary.is_some());
    assert!(h.journal().attempts("sqs", "SendMessage", "seed-1") >= 1);
    assert!(h.provisioned().queue_url.ends_with(&r.queue));
}

#[tokio::test(start_paused = true)]
async fn max_receive_count_two_moves_a_failing_message_after_exactly_two_receives() {
    crate::require!(PausedClock);
    for (count, receives) in [(2u32, 2usize), (3, 3)] {
        let o = options(&project_text()).set("EventsQueue.RedrivePolicy.maxReceiveCount", count);
        let h = start(o).await;
        h.faults()
            .dynamodb("PutItem")
            .error(500, "InternalServerError")
            .always()
            .for_event("e-1")
            .install();
        h.ingest_ok(seed_event("e-1")).await.unwrap();
        h.drain().await.unwrap();
        assert_eq!(h.dlq_ids().await.unwrap(), ["e-1"]);
        let per_receive = h.store_config().unwrap().retry.max_attempts as usize;
        assert_eq!(
            h.journal().attempts("dynamodb", "PutItem", "e-1"),
            receives * per_receive,
            "maxReceiveCount {count}: {receives} receives of {per_receive} attempts each"
        );
        h.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn batch_size_caps_the_records_of_each_invocation() {
    crate::require!(PausedClock);
    let batches = Arc::new(Mutex::new(Vec::<usize>::new()));
    let seen = batches.clone();
    let mut o =
        options(&project_text()).set("ForwardFunction.Events.Stream.Properties.BatchSize", 3);
    o.parameters.insert("ShardCount".into(), "1".into());
    let o = o.kinesis_handler(
        "ForwardFunction",
        Arc::new(move |event: KinesisEvent| {
            seen.lock().unwrap().push(event.records.len());
            async { Ok::<_, std::convert::Infallible>(KinesisEventResponse::default()) }
        }),
    );
    let h = start(o).await;
    for n in 0..10 {
        h.ingest_ok(seed_event(&format!("b-{n}"))).await.unwrap();
    }
    h.drain().await.unwrap();
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 10, "{batches:?}");
    assert!(batches.iter().all(|n| *n <= 3), "BatchSize 3: {batches:?}");
    assert!(batches.len() >= 4, "{batches:?}");
}

/// A Kinesis handler that fails every invocation holding `id`, counting invocations.
fn failing_on(id: &'static str, calls: Arc<Mutex<usize>>) -> Arc<dyn harness::esm::KinesisHandler> {
    Arc::new(move |event: KinesisEvent| {
        let has = ids(&event).iter().any(|i| i == id);
        if has {
            *calls.lock().unwrap() += 1;
        }
        async move {
            if has {
                Err("the function failed".to_owned())
            } else {
                Ok(KinesisEventResponse::default())
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn maximum_retry_attempts_bounds_retries_then_the_on_failure_destination_gets_the_batch() {
    crate::require!(PausedClock);
    // The on-failure destination is its own queue here, so what lands there is the mapping's
    // doing, not the forward handler's.
    let text = with_resources("  FailuresQueue:\n    Type: AWS::SQS::Queue\n");
    let text = text
        .replacen(
            "Resource: [!GetAtt EventsQueue.Arn, !GetAtt EventsDlq.Arn]",
            "Resource: [!GetAtt EventsQueue.Arn, !GetAtt EventsDlq.Arn, !GetAtt FailuresQueue.Arn]",
            1,
        )
        .replacen(
            "                Destination: !GetAtt EventsDlq.Arn",
            "                Destination: !GetAtt FailuresQueue.Arn",
            1,
        );
    for retries in [1u32, 3] {
        let calls = Arc::new(Mutex::new(0));
        let mut o = options(&text)
            .set(
                "ForwardFunction.Events.Stream.Properties.MaximumRetryAttempts",
                retries,
            )
            .kinesis_handler("ForwardFunction", failing_on("r-1", calls.clone()));
        o.parameters.insert("ShardCount".into(), "1".into());
        let h = start(o).await;
        h.ingest_ok(seed_event("r-1")).await.unwrap();
        h.drain().await.unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            1 + retries as usize,
            "MaximumRetryAttempts {retries}"
        );
        let sqs = aws_sdk_sqs::Client::new(&h.backend().sdk_config());
        let failures = &h.provisioned().queue_urls["FailuresQueue"];
        let got = sqs
            .receive_message()
            .queue_url(failures)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        assert_eq!(messages.len(), 1, "one on-failure record");
        let record: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
        assert_eq!(
            record["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert!(
            h.dlq_messages().await.unwrap().is_empty(),
            "nothing on EventsDlq"
        );
        h.shutdown().await;
    }
}

/// AWS: without `ReportBatchItemFailures` Lambda ignores the response's
/// `batchItemFailures`; a function that returns normally succeeded for the whole batch, so
/// SQS deletes every message ("Reporting batch item failures", Lambda developer guide). The
/// store handler reports a message it could not write as a batch item failure, so that
/// template change loses events: the harness shows it.
#[tokio::test(start_paused = true)]
async fn without_report_batch_item_failures_a_reported_failure_is_deleted_and_lost() {
    crate::require!(PausedClock);
    let o = options(&project_text()).set(
        "StoreFunction.Events.Queue.Properties.FunctionResponseTypes",
        serde_json::Value::Null,
    );
    let h = start(o).await;
    h.faults()
        .dynamodb("PutItem")
        .error(500, "InternalServerError")
        .always()
        .for_event("lost-1")
        .install();
    h.ingest_ok(seed_event("lost-1")).await.unwrap();
    h.ingest_ok(seed_event("kept-1")).await.unwrap();
    h.drain().await.unwrap();
    assert_eq!(h.table_ids().await.unwrap(), ["kept-1"]);
    assert!(h.dlq_ids().await.unwrap().is_empty());
    assert_eq!(
        h.lost_ids().await.unwrap(),
        ["lost-1"],
        "the harness sees the loss"
    );
}

#[tokio::test(start_paused = true)]
async fn with_report_batch_item_failures_only_the_failed_message_returns() {
    crate::require!(PausedClock);
    let h = start(options(&project_text())).await;
    h.faults()
        .dynamodb("PutItem")
        .error(500, "InternalServerError")
        .always()
        .for_event("bad-1")
        .install();
    h.ingest_ok(seed_event("bad-1")).await.unwrap();
    h.ingest_ok(seed_event("good-1")).await.unwrap();
    h.drain().await.unwrap();
    assert_eq!(h.table_ids().await.unwrap(), ["good-1"]);
    assert_eq!(h.dlq_ids().await.unwrap(), ["bad-1"]);
    assert!(h.lost_ids().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_function_timeout_ends_an_invocation_that_runs_longer() {
    crate::require!(PausedClock);
    // The handler takes 3 s on its first invocation, then answers at once.
    for (timeout, invocations) in [(2u64, 2usize), (5, 1)] {
        let calls = Arc::new(Mutex::new(0usize));
        let counter = calls.clone();
        let o = options(&project_text())
            .set("StoreFunction.Timeout", timeout)
            .sqs_handler(
                "StoreFunction",
                Arc::new(move |_event: SqsEvent| {
                    let first = {
                        let mut n = counter.lock().unwrap();
                        *n += 1;
                        *n == 1
                    };
                    async move {
                        if first {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        Ok::<_, std::convert::Infallible>(SqsBatchResponse::default())
                    }
                }),
            );
        let h = start(o).await;
        h.ingest_ok(seed_event("slow-1")).await.unwrap();
        h.drain().await.unwrap();
        assert_eq!(*calls.lock().unwrap(), invocations, "Timeout {timeout} s");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn a_missing_permission_is_refused_before_anything_runs() {
    crate::require!(); // Any backend: real time is fast enough here.
    let text = edited(
        "Resource: [!GetAtt EventsQueue.Arn, !GetAtt EventsDlq.Arn]",
        "Resource: !GetAtt EventsQueue.Arn",
    );
    let err = Harness::start_with(options(&text))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("ForwardFunction: its Policies do not allow"),
        "{err}"
    );
    assert!(err.contains("sqs:SendMessage on arn:aws:sqs:"), "{err}");
    assert!(
        err.contains("EventsDlq (the forward handler sends failed envelopes there)"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_usage_plan_throttle_answers_429_as_api_gateway_does() {
    crate::require!(PausedClock);
    let o = options(&project_text())
        .set("IngestUsagePlan.Throttle.BurstLimit", 2)
        .set("IngestUsagePlan.Throttle.RateLimit", 1);
    let h = start(o).await;
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for n in 0..3 {
            out.push(
                h.ingest_json(seed_event(&format!("t-{n}")))
                    .await
                    .unwrap()
                    .status,
            );
        }
        out
    };
    assert_eq!(statuses, [200, 200, 429]);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(h.ingest_json(seed_event("t-3")).await.unwrap().status, 200);
}

#[tokio::test]
async fn the_api_key_comes_from_the_template_parameter() {
    crate::require!(); // Any backend: real time is fast enough here.
    let mut o = options(&project_text());
    o.parameters
        .insert("ApiKeyValue".into(), "another-key-0123456789".into());
    let h = start(o).await;
    assert_eq!(
        h.ingest_config().first_key(),
        Some("another-key-0123456789")
    );
    assert_eq!(h.ingest_json(seed_event("k-1")).await.unwrap().status, 200);
    // A disabled key is no key: API Gateway's own 403.
    let o = options(&project_text()).set("IngestApiKey.Enabled", false);
    let h = start(o).await;
    assert_eq!(h.ingest_json(seed_event("k-2")).await.unwrap().status, 403);
}

/// FilterCriteria from the template (Lambda's grammar, harness::esm::filter): the Kinesis
/// mapping filters on the record's decoded `data` and skips (checkpoints) what no filter
/// matches; the SQS mapping filters on `body` and deletes what no filter matches.
#[tokio::test(start_paused = true)]
async fn filter_criteria_from_the_template_decide_what_each_function_sees() {
    crate::require!(PausedClock);
    let kinesis = r#"{"data": {"payload": {"energy_type": ["nuclear", "solar"]}}}"#;
    let sqs = r#"{"body": {"payload": {"energy_type": [{"anything-but": ["solar"]}]}}}"#;
    let o = options(&project_text())
        .set(
            "ForwardFunction.Events.Stream.Properties.FilterCriteria",
            json!({"Filters": [{"Pattern": kinesis}]}),
        )
        .set(
            "StoreFunction.Events.Queue.Properties.FilterCriteria",
            json!({"Filters": [{"Pattern": sqs}]}),
        );
    let h = start(o).await;
    for (id, energy) in [("n-1", "nuclear"), ("s-1", "solar"), ("w-1", "wind")] {
        let body = json!({"stream": "default", "id": id, "payload": {"energy_type": energy}});
        assert_eq!(h.ingest_json(body).await.unwrap().status, 200);
    }
    h.drain().await.unwrap();
    // wind never reached the forward function; solar reached the queue and was deleted
    // there unseen by the store function; only nuclear passed both filters.
    assert_eq!(h.table_ids().await.unwrap(), ["n-1"]);
    assert_eq!(h.journal().attempts("sqs", "SendMessage", "w-1"), 0);
    assert_eq!(h.journal().attempts("sqs", "SendMessage", "s-1"), 1);
    assert_eq!(h.queue_messages("EventsQueue").await.unwrap(), 0);
    assert!(h.dlq_ids().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_tumbling_window_on_a_function_without_window_state_is_refused() {
    crate::require!(PausedClock);
    let o = options(&project_text()).set(
        "ForwardFunction.Events.Stream.Properties.TumblingWindowInSeconds",
        60,
    );
    let err = Harness::start_with(o)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("ForwardFunction: event source Stream has TumblingWindowInSeconds"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_api_stage_the_deployed_ingest_router_would_not_serve_is_refused() {
    crate::require!(PausedClock);
    // Deployed, lambda_http hands the router `/dev/stream`; IngestFunction's STAGE (left to
    // its default, `prod`) would make every request a 403. Locally the same template is refused.
    let text = edited("StageName: prod", "StageName: dev");
    let err = Harness::start_with(options(&text))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("IngestFunction: STAGE=prod (its default) but IngestApi serves stage dev"),
        "{err}"
    );
    // Setting STAGE to the API's stage is the fix.
    let streams = "STREAMS: !Sub \"default=${EventsStream}\"";
    assert!(
        text.contains(streams),
        "IngestFunction's STREAMS line moved"
    );
    let text = text.replacen(streams, &format!("{streams}\n          STAGE: dev"), 1);
    let h = start(options(&text)).await;
    assert_eq!(h.ingest_config().stage, "dev");
    assert_eq!(
        h.ingest_json(seed_event("dev-1")).await.unwrap().status,
        200
    );
    h.shutdown().await;
}
