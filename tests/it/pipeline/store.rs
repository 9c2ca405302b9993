//! The store handler against scripted DynamoDB answers (wiremock): conditional puts,
//! duplicates and conflicts told apart by the stored item's digest, throttling retried with
//! attempts counted on the wire, batchItemFailures.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::Utc;
use pipeline::RetryPolicy;
use pipeline::dlq::{ATTR_REASON, ATTR_STAGE, ATTR_STORED_DIGEST};
use pipeline::envelope::Envelope;
use pipeline::handlers::Store;
use pipeline::item::{digest, from_item};
use pipeline::observe::{MemoryObserver, PipelineEvent};
use serde_json::{Value, json};
use wiremock::MockServer;
use wiremock::matchers::body_string_contains;

use super::scripted::*;

fn store(server: &MockServer) -> (Store, Arc<MemoryObserver>) {
    let observer = Arc::new(MemoryObserver::new());
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    };
    (
        Store::new(
            dynamodb_client(server),
            "events",
            sqs_client(server),
            DLQ_URL,
            policy,
            observer.clone(),
        ),
        observer,
    )
}

fn envelope(id: &str) -> Envelope {
    Envelope::new(
        id,
        "default",
        Utc::now(),
        json!({"energy_type": "nuclear", "n": [1, null, {}]}),
    )
}

fn message(message_id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.to_owned());
    m.body = Some(body.to_owned());
    m
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

async fn puts(server: &MockServer) -> Vec<Value> {
    requests(server, "DynamoDB_20120810.PutItem", None).await
}

/// A PutItem request body's item, read back through the SDK's own AttributeValue JSON shape.
fn item_of(
    put: &Value,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    fn av(v: &Value) -> aws_sdk_dynamodb::types::AttributeValue {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let (k, inner) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one key");
        match k.as_str() {
            "S" => A::S(inner.as_str().unwrap_or_default().to_owned()),
            "N" => A::N(inner.as_str().unwrap_or_default().to_owned()),
            "BOOL" => A::Bool(inner.as_bool().unwrap_or_default()),
            "NULL" => A::Null(true),
            "L" => A::L(inner.as_array().into_iter().flatten().map(av).collect()),
            "M" => A::M(
                inner
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), av(v)))
                    .collect(),
            ),
            other => panic!("unexpected attribute type {other}"),
        }
    }
    put["Item"]
        .as_object()
        .expect("Item")
        .iter()
        .map(|(k, v)| (k.clone(), av(v)))
        .collect()
}

#[tokio::test]
async fn a_message_is_written_once_with_the_create_only_condition() {
    let server = MockServer::start().await;
    put_item().respond_with(ddb_ok()).mount(&server).await;
    let (store, observer) = store(&server);
    let e = envelope("e-1");

    let response = store
        .handle(batch(vec![message("m-1", &e.to_json())]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    let sent = puts(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["TableName"], "events");
    assert_eq!(sent[0]["ConditionExpression"], "attribute_not_exists(id)");
    assert_eq!(from_item(&item_of(&sent[0])), Some(e));
    assert_eq!(
        observer.events(),
        [PipelineEvent::Stored { id: "e-1".into() }]
    );
}

/// The item a PutItem request wrote, as the wire JSON DynamoDB would return it.
fn stored(e: &Envelope) -> Value {
    let item = pipeline::item::to_item(e);
    let mut wire = serde_json::Map::new();
    for (k, v) in item {
        let v = match v {
            aws_sdk_dynamodb::types::AttributeValue::S(s) => json!({ "S": s }),
            // The payload itself does not matter to the handler: the digest decides.
            _ => json!({ "M": {} }),
        };
        wire.insert(k, v);
    }
    Value::Object(wire)
}

#[tokio::test]
async fn a_failed_condition_with_the_same_digest_is_a_suppressed_duplicate() {
    let server = MockServer::start().await;
    let e = envelope("e-dup");
    put_item()
        .respond_with(ddb_condition_failed_with(stored(&e)))
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &e.to_json())]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    let sent = puts(&server).await;
    assert_eq!(sent.len(), 1, "a duplicate is not retried");
    assert_eq!(sent[0]["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
    assert!(sends_to(&server, DLQ_URL).await.is_empty());
    assert_eq!(
        observer.events(),
        [PipelineEvent::DuplicateSuppressed { id: "e-dup".into() }]
    );
}

#[tokio::test]
async fn a_failed_condition_with_another_digest_is_a_conflict_sent_to_the_dlq() {
    let server = MockServer::start().await;
    let first = envelope("e-c");
    let second = Envelope::new("e-c", "default", Utc::now(), json!({"energy_type": "wind"}));
    put_item()
        .respond_with(ddb_condition_failed_with(stored(&first)))
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &second.to_json())]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty(), "on the DLQ: done with it");
    assert_eq!(puts(&server).await.len(), 1, "a conflict is not retried");
    let dlq = sends_to(&server, DLQ_URL).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(
        sent_envelope(&dlq[0]),
        Some(second.clone()),
        "the refused envelope is what the DLQ keeps"
    );
    assert_eq!(attribute(&dlq[0], ATTR_STAGE), "store");
    assert_eq!(attribute(&dlq[0], ATTR_REASON), "conflict");
    assert_eq!(attribute(&dlq[0], ATTR_STORED_DIGEST), digest(&first));
    assert_eq!(
        observer.events(),
        [PipelineEvent::Conflict {
            id: "e-c".into(),
            digest: digest(&second),
            stored_digest: digest(&first),
        }]
    );
}

#[tokio::test]
async fn a_conflict_whose_dlq_send_fails_is_reported_so_it_comes_back() {
    let server = MockServer::start().await;
    let first = envelope("e-c");
    let second = Envelope::new(
        "e-c",
        "other",
        Utc::now(),
        json!({"energy_type": "nuclear"}),
    );
    put_item()
        .respond_with(ddb_condition_failed_with(stored(&first)))
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(sqs_throttled())
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &second.to_json())]))
        .await
        .expect("handled");

    assert_eq!(failures(&response), ["m-1"]);
    assert_eq!(
        sends_to(&server, DLQ_URL).await.len(),
        3,
        "the DLQ send has the attempt budget"
    );
    assert_eq!(observer.count("dlq_send_failed"), 1);
    assert_eq!(observer.count("conflict"), 0);
    assert_eq!(observer.count("store_failed"), 1);
}

#[tokio::test]
async fn a_failed_condition_without_the_stored_item_is_reported_not_guessed() {
    let server = MockServer::start().await;
    put_item()
        .respond_with(ddb_error(
            400,
            "ConditionalCheckFailedException",
            "The conditional request failed",
        ))
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &envelope("e-x").to_json())]))
        .await
        .expect("handled");

    assert_eq!(
        failures(&response),
        ["m-1"],
        "left for the redrive policy, not dropped"
    );
    assert_eq!(puts(&server).await.len(), 1);
    assert_eq!(observer.count("duplicate_suppressed"), 0);
}

#[tokio::test]
async fn throttled_twice_then_accepted_is_stored() {
    let server = MockServer::start().await;
    put_item()
        .respond_with(ddb_error(
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    put_item()
        .respond_with(ddb_ok())
        .with_priority(2)
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &envelope("e-2").to_json())]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    assert_eq!(puts(&server).await.len(), 3);
    assert_eq!(observer.count("store_attempt_failed"), 2);
    assert_eq!(observer.count("stored"), 1);
}

#[tokio::test]
async fn throttled_beyond_max_attempts_is_reported_by_message_id() {
    let server = MockServer::start().await;
    put_item()
        .and(body_string_contains("e-hot"))
        .respond_with(ddb_error(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    put_item()
        .respond_with(ddb_ok())
        .with_priority(2)
        .mount(&server)
        .await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![
            message("m-1", &envelope("e-cold").to_json()),
            message("m-2", &envelope("e-hot").to_json()),
        ]))
        .await
        .expect("handled");

    assert_eq!(failures(&response), ["m-2"]);
    let hot = puts(&server)
        .await
        .into_iter()
        .filter(|p| p["Item"]["id"]["S"] == "e-hot")
        .count();
    assert_eq!(
        hot, 3,
        "exactly max_attempts HTTP attempts: the SDK's retries are off"
    );
    assert_eq!(observer.count("stored"), 1);
    assert_eq!(observer.count("store_failed"), 1);
}

#[tokio::test]
async fn a_non_retryable_error_fails_after_one_attempt() {
    let server = MockServer::start().await;
    put_item()
        .respond_with(ddb_error(
            400,
            "ResourceNotFoundException",
            "Requested resource not found",
        ))
        .mount(&server)
        .await;
    let (store, _) = store(&server);

    let response = store
        .handle(batch(vec![message("m-1", &envelope("e-3").to_json())]))
        .await
        .expect("handled");

    assert_eq!(failures(&response), ["m-1"]);
    assert_eq!(puts(&server).await.len(), 1);
}

#[tokio::test]
async fn a_body_that_is_not_an_envelope_is_reported_without_a_write() {
    let server = MockServer::start().await;
    put_item().respond_with(ddb_ok()).mount(&server).await;
    let (store, observer) = store(&server);

    let response = store
        .handle(batch(vec![
            message("m-bad", "{\"hello\": 1}"),
            message("m-good", &envelope("e-4").to_json()),
        ]))
        .await
        .expect("handled");

    assert_eq!(failures(&response), ["m-bad"]);
    assert_eq!(puts(&server).await.len(), 1);
    assert_eq!(observer.count("store_failed"), 1);
    assert_eq!(observer.count("stored"), 1);
}

#[tokio::test]
async fn a_whole_batch_is_written_and_each_message_accounted_for() {
    let server = MockServer::start().await;
    put_item().respond_with(ddb_ok()).mount(&server).await;
    let (store, observer) = store(&server);
    let messages = (0..10)
        .map(|i| message(&format!("m-{i}"), &envelope(&format!("e-{i}")).to_json()))
        .collect();

    let response = store.handle(batch(messages)).await.expect("handled");

    assert!(failures(&response).is_empty());
    let mut ids: Vec<String> = puts(&server)
        .await
        .iter()
        .filter_map(|p| p["Item"]["id"]["S"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("e-{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(observer.count("stored"), 10);
}

#[tokio::test]
async fn an_sqs_event_as_lambda_sends_it_is_answered_as_lambda_expects() {
    let server = MockServer::start().await;
    put_item()
        .respond_with(ddb_error(500, "InternalServerError", "scripted"))
        .mount(&server)
        .await;
    let (store, _) = store(&server);
    // AWS-SEMANTICS 3.2's example event, its body replaced by an envelope.
    let event: SqsEvent = serde_json::from_value(json!({
        "Records": [{
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
            "body": envelope("e-json").to_json(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082649185"
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
            "awsRegion": "us-east-2"
        }]
    }))
    .expect("Lambda's event shape");

    let response = store.handle(event).await.expect("handled");

    assert_eq!(
        serde_json::to_value(&response).expect("serialises"),
        json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
    );
    assert_eq!(
        puts(&server).await.len(),
        3,
        "5xx is retried up to max_attempts"
    );
}

#[tokio::test]
async fn a_failed_message_without_a_message_id_fails_the_whole_batch() {
    let server = MockServer::start().await;
    let (store, _) = store(&server);
    let mut nameless = message("", "not an envelope");
    nameless.message_id = None;

    let result = store.handle(batch(vec![nameless])).await;

    assert!(
        matches!(
            result,
            Err(pipeline::handlers::StoreError::UnreportableMessage { index: 0 })
        ),
        "{result:?}"
    );
}
