//! Fault injection through the SDK HttpClient layer, driven by the official SDK clients.
//!
//! The backend is a canned `HttpClient` that answers like AWS and records what reached it,
//! so each test can tell what the client saw from what the backend applied. Everything runs
//! under tokio's paused clock: SDK backoff, latency and timeouts cost no wall time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use emulator::client::InProcessClient;
use emulator::wire::{self, Service};
use emulator::{AwsError, Emulator, EmulatorConfig};
use harness::fault::{AttemptStatus, ConnectorErrorKind, FaultPlan, FaultyHttpClient, Journal};
use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::support::unique;

/// What reached the backend: the `X-Amz-Target` operation and the body.
#[derive(Debug, Clone)]
struct Hit {
    operation: String,
    body: Value,
}

type Answer = dyn Fn(&Hit, &[Hit]) -> Result<Value, AwsError> + Send + Sync;

/// A backend that answers every request with `answer(request, earlier requests)`.
#[derive(Clone)]
struct Canned {
    answer: Arc<Answer>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl std::fmt::Debug for Canned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Canned")
    }
}

impl Canned {
    fn new(
        answer: impl Fn(&Hit, &[Hit]) -> Result<Value, AwsError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            answer: Arc::new(answer),
            hits: Arc::default(),
        }
    }

    /// Answers like AWS on success; DynamoDB conditional puts fail on an existing id.
    fn aws() -> Self {
        Self::new(|hit, earlier| match hit.operation.as_str() {
            "AmazonSQS.SendMessage" => {
                let body = hit.body["MessageBody"].as_str().unwrap_or_default();
                let md5 = hex(&Md5::digest(body.as_bytes()));
                let id = format!("00000000-0000-4000-8000-{:012}", earlier.len());
                Ok(json!({"MD5OfMessageBody": md5, "MessageId": id}))
            }
            "Kinesis_20131202.PutRecord" | "Kinesis_20131202.PutRecords" => {
                let n = hit.body["Records"].as_array().map_or(1, Vec::len);
                let records: Vec<Value> = (0..n)
                    .map(|i| json!({"ShardId": "shardId-000000000000", "SequenceNumber": (earlier.len() * 10 + i).to_string()}))
                    .collect();
                let mut out = records[0].clone();
                out["FailedRecordCount"] = json!(0);
                out["Records"] = json!(records);
                Ok(out)
            }
            "DynamoDB_20120810.PutItem" => {
                let id = &hit.body["Item"]["id"];
                let exists = earlier.iter().any(|h| {
                    h.operation == hit.operation && h.body["Item"]["id"] == *id && applied(h)
                });
                if hit.body["ConditionExpression"].is_string() && exists {
                    Err(AwsError::new(
                        "ConditionalCheckFailedException",
                        "The conditional request failed",
                    ))
                } else {
                    Ok(json!({}))
                }
            }
            other => Err(AwsError::new("UnknownOperationException", other.to_owned())),
        })
    }

    fn hits(&self, operation: &str) -> Vec<Hit> {
        let hits = self.hits.lock().expect("hits");
        hits.iter()
            .filter(|h| h.operation.ends_with(&format!(".{operation}")))
            .cloned()
            .collect()
    }
}

/// Whether a recorded PutItem was applied (it carries no marker; the canned backend applies
/// a conditional put only when no earlier applied put had the id).
fn applied(hit: &Hit) -> bool {
    hit.body["__applied"] != json!(false)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let mut hit = Hit { operation, body };
        let result = {
            let mut hits = self.hits.lock().expect("hits");
            let result = (self.answer)(&hit, &hits);
            if result.is_err() {
                hit.body["__applied"] = json!(false);
            }
            hits.push(hit.clone());
            result
        };
        // Encoded as the emulator encodes its answers (one wire format).
        let service = Service::from_target(&hit.operation).map_or(Service::Sqs, |(s, _)| s);
        let response = wire::encode(service, result, "canned-request");
        let response = HttpResponse::try_from(response.map(SdkBody::from)).expect("response");
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// SDK clients over `FaultyHttpClient(backend)`, each with a retry partition of its own so
/// the process-wide retry quota of other tests cannot stop their retries.
struct Clients {
    plan: FaultPlan,
    journal: Journal,
    backend: Canned,
    sdk: SdkConfig,
}

impl Clients {
    /// Clients of a canned backend (`c.backend` tells what reached it).
    fn new(backend: Canned) -> Self {
        Self::over(backend.clone(), backend)
    }

    /// Clients of the in-process emulator (`c.backend` stays empty).
    fn emulated() -> Self {
        let emulator = Emulator::new(EmulatorConfig::default());
        Self::over(InProcessClient::new(emulator), Canned::aws())
    }

    fn over(http: impl HttpClient + 'static, backend: Canned) -> Self {
        let plan = FaultPlan::new();
        let journal = plan.journal();
        let http = FaultyHttpClient::new(http, plan.clone(), journal.clone());
        let sdk = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "static",
            )))
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url("http://backend.local")
            .http_client(http)
            .build();
        Self {
            plan,
            journal,
            backend,
            sdk,
        }
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        let conf = aws_sdk_sqs::config::Builder::from(&self.sdk)
            .retry_partition(aws_sdk_sqs::config::retry::RetryPartition::new(unique(
                "fault",
            )))
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    }

    fn kinesis(&self) -> aws_sdk_kinesis::Client {
        let conf = aws_sdk_kinesis::config::Builder::from(&self.sdk)
            .retry_partition(aws_sdk_kinesis::config::retry::RetryPartition::new(unique(
                "fault",
            )))
            .build();
        aws_sdk_kinesis::Client::from_conf(conf)
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .retry_partition(aws_sdk_dynamodb::config::retry::RetryPartition::new(
                unique("fault"),
            ))
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    async fn send(
        &self,
        queue: &str,
        id: &str,
    ) -> Result<
        aws_sdk_sqs::operation::send_message::SendMessageOutput,
        aws_sdk_sqs::error::SdkError<aws_sdk_sqs::operation::send_message::SendMessageError>,
    > {
        self.sqs()
            .send_message()
            .queue_url(format!("http://backend.local/000000000000/{queue}"))
            .message_body(envelope(id))
            .send()
            .await
    }

    async fn put_item(
        &self,
        id: &str,
    ) -> Result<
        aws_sdk_dynamodb::operation::put_item::PutItemOutput,
        aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
    > {
        self.dynamodb()
            .put_item()
            .table_name("events")
            .item("id", AttributeValue::S(id.into()))
            .item("stream", AttributeValue::S("default".into()))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
    }

    fn statuses(&self) -> Vec<AttemptStatus> {
        self.journal
            .attempt_log()
            .into_iter()
            .map(|a| a.status)
            .collect()
    }
}

fn envelope(id: &str) -> String {
    json!({"id": id, "stream": "default", "receivedAt": "2026-11-25T22:43:51.123Z",
           "payload": {"energy_type": "nuclear"}})
    .to_string()
}

fn ok() -> AttemptStatus {
    AttemptStatus::Ok { status: 200 }
}

fn aws_error(status: u16, code: &str) -> AttemptStatus {
    AttemptStatus::AwsError {
        status,
        code: code.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn sqs_throttling_always_exhausts_the_sdks_three_attempts() {
    let c = Clients::new(Canned::aws());
    c.plan.sqs("SendMessage").throttle().always().install();

    let err = c
        .send("events", "e-1")
        .await
        .expect_err("throttled every time");

    assert_eq!(err.code(), Some("RequestThrottled"));
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_request_throttled())
    );
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 3);
    assert_eq!(c.statuses(), vec![aws_error(400, "RequestThrottled"); 3]);
    assert!(
        c.backend.hits("SendMessage").is_empty(),
        "never reached the backend"
    );
}

#[tokio::test(start_paused = true)]
async fn sqs_throttling_the_first_two_attempts_succeeds_on_the_third() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .throttle()
        .first(2)
        .named("two")
        .install();

    c.send("events", "e-1")
        .await
        .expect("third attempt succeeds");

    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 3);
    assert_eq!(c.journal.fired("two"), 2);
    assert_eq!(c.backend.hits("SendMessage").len(), 1);
    let throttled = aws_error(400, "RequestThrottled");
    assert_eq!(c.statuses(), [throttled.clone(), throttled, ok()]);
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_error_is_attempted_once() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .error(400, "InvalidMessageContents")
        .always()
        .install();

    let err = c.send("events", "e-1").await.expect_err("rejected");

    assert_eq!(err.code(), Some("InvalidMessageContents"));
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_message_contents())
    );
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_server_error_is_retried_like_any_5xx() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .error(500, "InternalError")
        .message("We encountered an internal error. Please try again.")
        .always()
        .install();

    let err = c.send("events", "e-1").await.expect_err("fails");

    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(
        err.message(),
        Some("We encountered an internal error. Please try again.")
    );
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 3);
}

#[tokio::test(start_paused = true)]
async fn kinesis_throttling_uses_provisioned_throughput_exceeded() {
    let c = Clients::new(Canned::aws());
    c.plan.kinesis("PutRecord").throttle().always().install();

    let err = c
        .kinesis()
        .put_record()
        .stream_name("events")
        .partition_key("e-1")
        .data(aws_smithy_types::Blob::new(envelope("e-1")))
        .send()
        .await
        .expect_err("throttled");

    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_provisioned_throughput_exceeded_exception())
    );
    assert_eq!(c.journal.attempts("kinesis", "PutRecord", "e-1"), 3);
}

#[tokio::test(start_paused = true)]
async fn dynamodb_throttling_is_retried_and_its_shape_configurable() {
    let c = Clients::new(Canned::aws());
    c.plan
        .dynamodb("PutItem")
        .throttle()
        .first(2)
        .for_event("e-1")
        .install();
    c.plan
        .dynamodb("PutItem")
        .throttle_as("ProvisionedThroughputExceededException")
        .always()
        .for_event("e-2")
        .install();

    c.put_item("e-1").await.expect("third attempt succeeds");
    let err = c.put_item("e-2").await.expect_err("always throttled");

    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_provisioned_throughput_exceeded_exception())
    );
    assert_eq!(c.journal.attempts("dynamodb", "PutItem", "e-1"), 3);
    assert_eq!(c.journal.attempts("dynamodb", "PutItem", "e-2"), 3);
    let statuses = c.statuses();
    assert_eq!(statuses[0], aws_error(400, "ThrottlingException"));
    assert_eq!(
        statuses[3],
        aws_error(400, "ProvisionedThroughputExceededException")
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_send_message_response_is_applied_twice_at_the_backend() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .lose_response()
        .nth(1)
        .named("lost")
        .install();

    c.send("events", "e-1").await.expect("the retry succeeds");

    let applied = c.backend.hits("SendMessage");
    assert_eq!(
        applied.len(),
        2,
        "the backend applied both attempts: a duplicate"
    );
    assert_eq!(
        applied[0].body["MessageBody"],
        applied[1].body["MessageBody"]
    );
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 2);
    let lost = AttemptStatus::ConnectorError {
        kind: ConnectorErrorKind::Io,
    };
    assert_eq!(c.statuses(), [lost, ok()]);
    assert_eq!(c.journal.attempt_log()[0].rule.as_deref(), Some("lost"));
}

#[tokio::test(start_paused = true)]
async fn a_lost_conditional_put_item_response_surfaces_the_condition_check_on_retry() {
    let c = Clients::new(Canned::aws());
    c.plan
        .dynamodb("PutItem")
        .lose_response()
        .first(1)
        .install();

    let err = c
        .put_item("e-1")
        .await
        .expect_err("the retry finds the item");

    // The first attempt wrote the item; the retry's condition fails, which the store
    // handler counts as a suppressed duplicate. The table holds it once.
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_conditional_check_failed_exception())
    );
    let puts = c.backend.hits("PutItem");
    assert_eq!(puts.len(), 2);
    assert_eq!(puts.iter().filter(|h| applied(h)).count(), 1);
    assert_eq!(c.journal.attempts("dynamodb", "PutItem", "e-1"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_waits_then_fails_without_reaching_the_backend() {
    let c = Clients::new(Canned::aws());
    c.plan
        .dynamodb("PutItem")
        .timeout(Duration::from_secs(5))
        .nth(1)
        .install();
    let start = tokio::time::Instant::now();

    c.put_item("e-1").await.expect("the retry succeeds");

    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.backend.hits("PutItem").len(), 1);
    let timed_out = AttemptStatus::ConnectorError {
        kind: ConnectorErrorKind::Timeout,
    };
    assert_eq!(c.statuses(), [timed_out, ok()]);
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_call_on_tokios_clock() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .latency(Duration::from_millis(250))
        .always()
        .install();
    let start = tokio::time::Instant::now();
    let wall = std::time::Instant::now();

    c.send("events", "e-1").await.expect("passes through");
    c.send("events", "e-2").await.expect("passes through");

    let elapsed = start.elapsed();
    assert!(
        (Duration::from_millis(500)..Duration::from_millis(600)).contains(&elapsed),
        "{elapsed:?}"
    );
    assert!(
        wall.elapsed() < Duration::from_millis(500),
        "the paused clock costs no wall time"
    );
    assert_eq!(c.backend.hits("SendMessage").len(), 2);
    assert_eq!(c.statuses(), [ok(), ok()]);
}

#[tokio::test(start_paused = true)]
async fn for_event_faults_only_requests_carrying_that_event() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .throttle()
        .always()
        .for_event("e-1")
        .install();

    c.send("events", "e-2").await.expect("other events pass");
    c.send("events", "e-1").await.expect_err("e-1 is throttled");
    c.send("events", "e-3").await.expect("other events pass");

    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 3);
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-2"), 1);
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-3"), 1);
    assert_eq!(c.journal.calls("sqs", "SendMessage"), 5);
}

#[tokio::test(start_paused = true)]
async fn resource_scoping_spares_the_dlq_send() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .resource("events")
        .throttle()
        .always()
        .for_event("e-1")
        .install();

    c.send("events", "e-1")
        .await
        .expect_err("the main queue is throttled");
    c.send("events-dlq", "e-1")
        .await
        .expect("the DLQ send passes");

    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 4);
    assert_eq!(c.backend.hits("SendMessage").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn nth_fires_on_the_nth_matching_attempt_only() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .throttle()
        .nth(2)
        .named("second")
        .install();

    c.send("events", "e-1").await.expect("first call passes");
    c.send("events", "e-2")
        .await
        .expect("second call is retried after one throttle");
    c.send("events", "e-3").await.expect("later calls pass");

    assert_eq!(c.journal.fired("second"), 1);
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-2"), 2);
    assert_eq!(c.journal.calls("sqs", "SendMessage"), 4);
}

#[tokio::test(start_paused = true)]
async fn times_caps_an_always_rule_across_calls() {
    let c = Clients::new(Canned::aws());
    c.plan
        .sqs("SendMessage")
        .throttle()
        .always()
        .times(4)
        .named("four")
        .install();

    c.send("events", "e-1").await.expect_err("three throttles");
    c.send("events", "e-2")
        .await
        .expect("one throttle, then through");

    assert_eq!(c.journal.fired("four"), 4);
    assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-2"), 2);
}

#[tokio::test(start_paused = true)]
async fn seeded_probability_fires_identically_in_every_run() {
    async fn run(seed: u64) -> (Vec<AttemptStatus>, usize) {
        let c = Clients::new(Canned::aws());
        c.plan
            .dynamodb("PutItem")
            .throttle()
            .probability(0.3)
            .seed(seed)
            .named("p")
            .install();
        for i in 0..30 {
            let _ = c.put_item(&format!("e-{i}")).await;
        }
        (c.statuses(), c.journal.fired("p"))
    }
    let (a, fired_a) = run(7).await;
    let (b, fired_b) = run(7).await;
    let (other, _) = run(8).await;

    assert_eq!(a, b);
    assert_eq!(fired_a, fired_b);
    assert_ne!(a, other);
    let throttled = a
        .iter()
        .filter(|s| **s == aws_error(400, "ThrottlingException"))
        .count();
    assert_eq!(
        throttled, fired_a,
        "every fired fault is a throttled attempt"
    );
    assert!(
        (3..=25).contains(&fired_a),
        "{fired_a} fires at p = 0.3 over ~40 attempts"
    );
}

#[tokio::test(start_paused = true)]
async fn put_records_counts_an_attempt_for_every_event_it_carries() {
    let c = Clients::new(Canned::aws());
    c.plan
        .kinesis("PutRecords")
        .throttle()
        .first(1)
        .for_event("e-2")
        .install();
    let entry = |id: &str| {
        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
            .data(aws_smithy_types::Blob::new(envelope(id)))
            .partition_key(id)
            .build()
            .expect("entry")
    };

    c.kinesis()
        .put_records()
        .stream_name("events")
        .records(entry("e-1"))
        .records(entry("e-2"))
        .send()
        .await
        .expect("the retry succeeds");

    assert_eq!(c.journal.attempts("kinesis", "PutRecords", "e-1"), 2);
    assert_eq!(c.journal.attempts("kinesis", "PutRecords", "e-2"), 2);
    assert_eq!(c.journal.calls("kinesis", "PutRecords"), 2);
}

#[tokio::test(start_paused = true)]
async fn the_journal_lists_each_fired_fault_with_its_events() {
    let c = Clients::new(Canned::aws());
    c.plan
        .kinesis("PutRecord")
        .lose_response()
        .nth(1)
        .named("lost-ack")
        .install();
    c.plan.sqs("SendMessage").throttle().first(1).install();

    c.kinesis()
        .put_record()
        .stream_name("events")
        .partition_key("e-9")
        .data(aws_smithy_types::Blob::new(envelope("e-9")))
        .send()
        .await
        .expect("the retry succeeds");
    tokio::time::advance(Duration::from_secs(10)).await;
    c.send("events", "e-9").await.expect("the retry succeeds");

    let fired = c.journal.faults_fired();
    let summary: Vec<(&str, &str, &str, &str)> = fired
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.service.as_str(),
                f.operation.as_str(),
                f.action.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("lost-ack", "kinesis", "PutRecord", "lose_response"),
            (
                "sqs:SendMessage:throttle#2",
                "sqs",
                "SendMessage",
                "throttle"
            ),
        ]
    );
    assert!(fired.iter().all(|f| f.event_ids == ["e-9"]));
    assert!(fired[1].at >= fired[0].at + Duration::from_secs(10));
    assert_eq!(c.journal.fired("lost-ack"), 1);
    assert_eq!(
        c.backend.hits("PutRecord").len(),
        2,
        "the lost write was applied"
    );
}

#[tokio::test(start_paused = true)]
async fn the_plan_changes_while_clients_run() {
    let c = Clients::new(Canned::aws());
    let sqs = c.sqs();
    let send = |id: &str| {
        sqs.send_message()
            .queue_url("http://backend.local/000000000000/events")
            .message_body(envelope(id))
            .send()
    };
    send("e-1").await.expect("no rules yet");
    let id = c.plan.sqs("SendMessage").throttle().always().install().id();
    send("e-2")
        .await
        .expect_err("the installed rule applies to the same client");
    assert!(c.plan.remove(id));
    send("e-3").await.expect("removed");
    c.plan
        .sqs("SendMessage")
        .error(400, "InvalidMessageContents")
        .always()
        .install();
    c.plan.clear();
    send("e-4").await.expect("cleared");
    assert_eq!(c.journal.calls("sqs", "SendMessage"), 6);
}

/// The same faults against the in-process emulator: what the backend holds afterwards.
mod emulated {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use aws_sdk_kinesis::types::ShardIteratorType;
    use aws_sdk_sqs::types::QueueAttributeName;

    use super::*;

    async fn create_queue(c: &Clients) -> String {
        c.sqs()
            .create_queue()
            .queue_name(unique("events"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url")
    }

    async fn queue_depth(c: &Clients, url: &str) -> usize {
        let attrs = c
            .sqs()
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("attributes")
            .attributes
            .unwrap_or_default();
        attrs
            .get(&QueueAttributeName::ApproximateNumberOfMessages)
            .and_then(|n| n.parse().ok())
            .expect("a message count")
    }

    async fn send_to(c: &Clients, url: &str, id: &str) -> bool {
        c.sqs()
            .send_message()
            .queue_url(url)
            .message_body(envelope(id))
            .send()
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_send_message_response_leaves_two_copies_in_the_queue() {
        let c = Clients::emulated();
        let url = create_queue(&c).await;
        c.plan.sqs("SendMessage").lose_response().nth(1).install();

        assert!(
            send_to(&c, &url, "e-1").await,
            "the client sees success after a retry"
        );

        assert_eq!(queue_depth(&c, &url).await, 2, "a producer duplicate");
        assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_sends_within_the_retry_budget_land_once() {
        let c = Clients::emulated();
        let url = create_queue(&c).await;
        c.plan.sqs("SendMessage").throttle().first(2).install();

        assert!(send_to(&c, &url, "e-1").await);

        assert_eq!(queue_depth(&c, &url).await, 1);
        assert_eq!(c.journal.attempts("sqs", "SendMessage", "e-1"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_conditional_put_item_response_stores_the_item_once() {
        let c = Clients::emulated();
        let ddb = c.dynamodb();
        ddb.create_table()
            .table_name("events")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key"),
            )
            .send()
            .await
            .expect("create table");
        c.plan.dynamodb("PutItem").lose_response().nth(1).install();

        let err = c
            .put_item("e-1")
            .await
            .expect_err("the retry's condition fails");

        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception())
        );
        let scan = ddb.scan().table_name("events").send().await.expect("scan");
        assert_eq!(scan.count, 1, "the table holds the event once");
        assert_eq!(c.journal.attempts("dynamodb", "PutItem", "e-1"), 2);
        let puts: Vec<AttemptStatus> = c
            .journal
            .attempt_log()
            .into_iter()
            .filter(|a| a.operation == "PutItem")
            .map(|a| a.status)
            .collect();
        assert_eq!(
            puts.last(),
            Some(&aws_error(400, "ConditionalCheckFailedException")),
            "the journal reads the backend's error code"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_put_record_response_writes_the_record_twice() {
        let c = Clients::emulated();
        let kinesis = c.kinesis();
        let stream = unique("events");
        kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(1)
            .send()
            .await
            .expect("create stream");
        c.plan
            .kinesis("PutRecord")
            .lose_response()
            .nth(1)
            .named("lost-ack")
            .install();

        let put = kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key("e-1")
            .data(aws_smithy_types::Blob::new(envelope("e-1")))
            .send()
            .await
            .expect("the retry succeeds");

        let iterator = kinesis
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(&put.shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator
            .expect("an iterator");
        let records = kinesis
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .expect("records")
            .records;
        assert_eq!(records.len(), 2, "the producer retry wrote a duplicate");
        assert_eq!(records[0].data, records[1].data);
        assert_ne!(records[0].sequence_number, records[1].sequence_number);
        assert_eq!(records[1].sequence_number, put.sequence_number);
        assert_eq!(c.journal.fired("lost-ack"), 1);
    }
}
