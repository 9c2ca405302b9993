//! The forward handler's retry and DLQ logic against scripted SQS answers (wiremock): attempts
//! are counted per record on the wire (a SendMessageBatch entry is one attempt of its record).

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use pipeline::RetryPolicy;
use pipeline::dlq::{ATTR_ATTEMPTS, ATTR_REASON, ATTR_STAGE};
use pipeline::envelope::Envelope;
use pipeline::handlers::Forwarder;
use pipeline::observe::{MemoryObserver, PipelineEvent};
use serde_json::json;
use wiremock::MockServer;

use super::scripted::*;

fn tiny_backoff() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    }
}

fn forwarder(server: &MockServer) -> (Forwarder, Arc<MemoryObserver>) {
    let observer = Arc::new(MemoryObserver::new());
    let f = Forwarder::new(
        sqs_client(server),
        QUEUE_URL,
        DLQ_URL,
        tiny_backoff(),
        observer.clone(),
    );
    (f, observer)
}

fn envelope(id: &str) -> Envelope {
    Envelope::new(id, "default", Utc::now(), json!({"energy_type": "nuclear"}))
}

fn record(data: &[u8], sequence_number: &str) -> KinesisEventRecord {
    let mut record = KinesisEventRecord::default();
    // `Base64Data` is non-exhaustive: fill the default (empty) one through `DerefMut`.
    record.kinesis.data.extend_from_slice(data);
    record.kinesis.sequence_number = sequence_number.to_owned();
    record.kinesis.partition_key = "pk".to_owned();
    record.event_id = Some(format!("shardId-000000000000:{sequence_number}"));
    record
}

fn batch(records: Vec<KinesisEventRecord>) -> KinesisEvent {
    let mut event = KinesisEvent::default();
    event.records = records;
    event
}

fn failures(response: &aws_lambda_events::event::streams::KinesisEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn throttled_three_times_goes_to_the_dlq_after_exactly_three_attempts() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(sqs_throttled())
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);
    let e = envelope("e-1");

    let response = forwarder
        .handle(batch(vec![record(e.to_json().as_bytes(), "1")]))
        .await
        .expect("handled");

    assert!(
        failures(&response).is_empty(),
        "the DLQ took it: nothing to retry"
    );
    assert_eq!(sends_to(&server, QUEUE_URL).await.len(), 3);
    let dlq = sends_to(&server, DLQ_URL).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(sent_envelope(&dlq[0]), Some(e));
    assert_eq!(attribute(&dlq[0], ATTR_STAGE), "forward");
    assert_eq!(attribute(&dlq[0], ATTR_ATTEMPTS), "3");
    assert_eq!(
        dlq[0]["MessageAttributes"][ATTR_ATTEMPTS]["DataType"],
        "Number"
    );
    assert!(
        attribute(&dlq[0], ATTR_REASON).contains("RequestThrottled"),
        "{}",
        dlq[0]
    );
    assert_eq!(observer.count("forward_attempt_failed"), 3);
    assert_eq!(observer.count("sent_to_dlq"), 1);
    assert_eq!(observer.count("forwarded"), 0);
}

#[tokio::test]
async fn throttled_twice_then_accepted_is_forwarded_without_the_dlq() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(sqs_throttled())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .with_priority(2)
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);
    let e = envelope("e-2");

    let response = forwarder
        .handle(batch(vec![record(e.to_json().as_bytes(), "1")]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    let sent = sends_to(&server, QUEUE_URL).await;
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|s| s["MessageBody"] == e.to_json()),
        "the same body every attempt"
    );
    assert_eq!(sends_to(&server, DLQ_URL).await.len(), 0);
    assert!(observer.events().contains(&PipelineEvent::Forwarded {
        id: "e-2".into(),
        attempts: 3
    }));
}

#[tokio::test]
async fn a_server_error_is_retried_like_throttling() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(sqs_error(500, "InternalFailure", "oops"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .with_priority(2)
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);

    forwarder
        .handle(batch(vec![record(
            envelope("e-5").to_json().as_bytes(),
            "1",
        )]))
        .await
        .expect("handled");

    assert_eq!(sends_to(&server, QUEUE_URL).await.len(), 2);
    assert!(observer.events().contains(&PipelineEvent::Forwarded {
        id: "e-5".into(),
        attempts: 2
    }));
}

#[tokio::test]
async fn a_non_retryable_error_goes_to_the_dlq_after_one_attempt() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(sqs_no_such_queue())
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);

    let response = forwarder
        .handle(batch(vec![record(
            envelope("e-3").to_json().as_bytes(),
            "1",
        )]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    assert_eq!(sends_to(&server, QUEUE_URL).await.len(), 1);
    let dlq = sends_to(&server, DLQ_URL).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(attribute(&dlq[0], ATTR_ATTEMPTS), "1");
    assert!(
        attribute(&dlq[0], ATTR_REASON).contains("NonExistentQueue"),
        "{}",
        dlq[0]
    );
    assert!(
        observer
            .events()
            .contains(&PipelineEvent::ForwardAttemptFailed {
                id: "e-3".into(),
                attempt: 1,
                reason: attribute(&dlq[0], ATTR_REASON).to_owned(),
                retryable: false,
            })
    );
}

/// Entry `e-bad` of the call is throttled every time; so is the DLQ: e-bad and everything
/// after it is reported. The records after it in the same SendMessageBatch were sent already
/// (they come again as duplicates); the next call's records are not sent at all.
#[tokio::test]
async fn a_failing_dlq_reports_the_record_and_everything_after_it() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsBatchAnswer::failing(|entry| {
            let body = entry["MessageBody"].as_str().unwrap_or_default();
            body.contains("e-bad").then_some(("RequestThrottled", true))
        }))
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(sqs_throttled())
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);
    let mut ids = vec!["e-ok".to_owned(), "e-bad".into(), "e-later".into()];
    ids.extend((0..9).map(|i| format!("f-{i}")));
    let records = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            record(
                envelope(id).to_json().as_bytes(),
                &(100 * (i + 1)).to_string(),
            )
        })
        .collect();

    let response = forwarder.handle(batch(records)).await.expect("handled");

    let reported: Vec<String> = (2..=12).map(|i| (100 * i).to_string()).collect();
    assert_eq!(
        failures(&response),
        reported,
        "e-bad and every later record"
    );
    let sent: Vec<String> = sends_to(&server, QUEUE_URL)
        .await
        .iter()
        .filter_map(sent_envelope)
        .map(|e| e.id)
        .collect();
    let count = |id: &str| sent.iter().filter(|s| *s == id).count();
    assert_eq!(count("e-ok"), 1);
    assert_eq!(count("e-bad"), 3, "its own three attempts");
    assert_eq!(count("e-later"), 1, "in e-bad's first call");
    assert_eq!(
        count("f-7") + count("f-8"),
        0,
        "the next call never went out"
    );
    assert_eq!(sent.len(), 10 + 2);
    assert_eq!(
        sends_to(&server, DLQ_URL).await.len(),
        3,
        "the DLQ send has the same budget"
    );
    assert_eq!(observer.count("dlq_send_failed"), 1);
}

/// A failed entry is one attempt of its record alone: the others are forwarded at their first
/// attempt, and only the failed entry is sent again.
#[tokio::test]
async fn a_failed_entry_is_one_attempt_of_its_record_alone() {
    let server = MockServer::start().await;
    let failures_left = Arc::new(std::sync::atomic::AtomicU32::new(2));
    let left = failures_left.clone();
    send_message_to(QUEUE_URL)
        .respond_with(SqsBatchAnswer::failing(move |entry| {
            let body = entry["MessageBody"].as_str().unwrap_or_default();
            let fails = body.contains("\"e-2\"")
                && left
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    )
                    .is_ok();
            fails.then_some(("InternalError", false))
        }))
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);
    let records = ["e-1", "e-2", "e-3"]
        .iter()
        .enumerate()
        .map(|(i, id)| record(envelope(id).to_json().as_bytes(), &(i + 1).to_string()))
        .collect();

    let response = forwarder.handle(batch(records)).await.expect("handled");

    assert!(failures(&response).is_empty());
    let calls: Vec<usize> = batches_to(&server, QUEUE_URL)
        .await
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(calls, [3, 1, 1], "the retries carry only e-2");
    let events = observer.events();
    for (id, attempts) in [("e-1", 1), ("e-2", 3), ("e-3", 1)] {
        assert!(
            events.contains(&PipelineEvent::Forwarded {
                id: id.into(),
                attempts
            }),
            "{id}: {events:?}"
        );
    }
    assert_eq!(observer.count("forward_attempt_failed"), 2);
    assert_eq!(failures_left.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A failed entry whose error is the sender's (and no throttle) is not retried: the record goes
/// to the DLQ after one attempt, with the entry's code in `failure.reason`.
#[tokio::test]
async fn a_sender_fault_entry_goes_to_the_dlq_after_one_attempt() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsBatchAnswer::failing(|entry| {
            let body = entry["MessageBody"].as_str().unwrap_or_default();
            body.contains("e-x")
                .then_some(("InvalidParameterValue", true))
        }))
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let records = ["e-x", "e-y"]
        .iter()
        .enumerate()
        .map(|(i, id)| record(envelope(id).to_json().as_bytes(), &(i + 1).to_string()))
        .collect();

    forwarder.handle(batch(records)).await.expect("handled");

    assert_eq!(batches_to(&server, QUEUE_URL).await.len(), 1);
    let dlq = sends_to(&server, DLQ_URL).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(sent_envelope(&dlq[0]).map(|e| e.id).as_deref(), Some("e-x"));
    assert_eq!(attribute(&dlq[0], ATTR_ATTEMPTS), "1");
    assert_eq!(
        attribute(&dlq[0], ATTR_REASON),
        "InvalidParameterValue: InvalidParameterValue (scripted) (HTTP 400)"
    );
}

/// SendMessageBatch takes at most 10 entries and 256 KiB of bodies; entry ids must be
/// distinct within a call (else BatchEntryIdsNotDistinct).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>
#[tokio::test]
async fn batches_keep_to_ten_entries_256_kib_and_distinct_ids() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let mut records: Vec<KinesisEventRecord> = (0..23)
        .map(|i| {
            record(
                envelope(&format!("e-{i}")).to_json().as_bytes(),
                &(i + 1).to_string(),
            )
        })
        .collect();
    let big = "x".repeat(100 * 1024);
    for i in 0..3 {
        let e = Envelope::new(
            format!("big-{i}"),
            "default",
            Utc::now(),
            json!({ "blob": big }),
        );
        records.push(record(e.to_json().as_bytes(), &(100 + i).to_string()));
    }

    forwarder.handle(batch(records)).await.expect("handled");

    let calls = batches_to(&server, QUEUE_URL).await;
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [10, 10, 5, 1],
        "a third 100 KiB body would pass 256 KiB"
    );
    for call in &calls {
        let bytes: usize = call
            .iter()
            .map(|e| e["MessageBody"].as_str().unwrap_or_default().len())
            .sum();
        assert!(bytes <= 256 * 1024, "{bytes} bytes in one call");
        let ids: std::collections::HashSet<&str> =
            call.iter().filter_map(|e| e["Id"].as_str()).collect();
        assert_eq!(ids.len(), call.len(), "entry ids distinct in a call");
    }
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dlq_while_the_next_one_is_forwarded() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, observer) = forwarder(&server);
    let good = envelope("e-4");

    let response = forwarder
        .handle(batch(vec![
            record(b"this is not an envelope", "1"),
            record(good.to_json().as_bytes(), "2"),
        ]))
        .await
        .expect("handled");

    assert!(failures(&response).is_empty());
    let dlq = sends_to(&server, DLQ_URL).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0]["MessageBody"], "this is not an envelope");
    assert_eq!(attribute(&dlq[0], ATTR_STAGE), "decode");
    assert_eq!(attribute(&dlq[0], ATTR_ATTEMPTS), "0");
    let sent = sends_to(&server, QUEUE_URL).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["MessageBody"], good.to_json());
    let events = observer.events();
    assert!(matches!(
        &events[0],
        PipelineEvent::SentToDlq {
            id: None,
            stage: pipeline::dlq::FailureStage::Decode,
            ..
        }
    ));
    assert_eq!(
        events[1],
        PipelineEvent::Forwarded {
            id: "e-4".into(),
            attempts: 1
        }
    );
}

#[tokio::test]
async fn records_are_sent_in_shard_order() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let ids: Vec<String> = (0..8).map(|i| format!("e-{i}")).collect();
    let records = ids
        .iter()
        .enumerate()
        .map(|(i, id)| record(envelope(id).to_json().as_bytes(), &(i + 1).to_string()))
        .collect();

    forwarder.handle(batch(records)).await.expect("handled");

    let sent: Vec<String> = sends_to(&server, QUEUE_URL)
        .await
        .iter()
        .filter_map(sent_envelope)
        .map(|e| e.id)
        .collect();
    assert_eq!(sent, ids);
    assert_eq!(batches_to(&server, QUEUE_URL).await.len(), 1, "in one call");
}

#[tokio::test]
async fn a_kinesis_event_as_lambda_sends_it_is_answered_as_lambda_expects() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(sqs_throttled())
        .mount(&server)
        .await;
    send_message_to(DLQ_URL)
        .respond_with(sqs_no_such_queue())
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let seq = "49590338271490256608559692538361571095921575989136588898";
    // AWS-SEMANTICS 2.3's example event, its data replaced by an envelope.
    let event: KinesisEvent = serde_json::from_value(json!({
        "Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "e-json",
                "sequenceNumber": seq,
                "data": BASE64.encode(envelope("e-json").to_json()),
                "approximateArrivalTimestamp": 1545084650.987,
                "encryptionType": "KMS"
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": format!("shardId-000000000006:{seq}"),
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
        }]
    }))
    .expect("Lambda's event shape");

    let response = forwarder.handle(event).await.expect("handled");

    assert_eq!(
        serde_json::to_value(&response).expect("serialises"),
        json!({"batchItemFailures": [{"itemIdentifier": seq}]})
    );
}

#[tokio::test]
async fn a_record_that_cannot_be_reported_fails_the_whole_batch() {
    let server = MockServer::start().await;
    send_message_to(DLQ_URL)
        .respond_with(sqs_throttled())
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);

    let result = forwarder.handle(batch(vec![record(b"poison", "")])).await;

    assert!(
        matches!(
            result,
            Err(pipeline::handlers::ForwardError::UnreportableRecord { index: 0 })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn handlers_run_on_spawned_tasks_as_event_source_mappings_call_them() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let forwarder = Arc::new(forwarder);
    let handler = move |event: KinesisEvent| {
        let forwarder = Arc::clone(&forwarder);
        async move { forwarder.handle(event).await }
    };

    let task = tokio::spawn(handler(batch(vec![record(
        envelope("e-s").to_json().as_bytes(),
        "1",
    )])));

    assert!(
        task.await
            .expect("joined")
            .expect("handled")
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(sends_to(&server, QUEUE_URL).await.len(), 1);
}

/// Two copies of one event (a producer's retry put it twice) never share a call: the later
/// copy waits for the next one, so the earlier copy's attempts all come first.
#[tokio::test]
async fn copies_of_one_event_go_in_separate_calls() {
    let server = MockServer::start().await;
    send_message_to(QUEUE_URL)
        .respond_with(SqsAccepts)
        .mount(&server)
        .await;
    let (forwarder, _) = forwarder(&server);
    let d = envelope("e-d");
    let records = vec![
        record(d.to_json().as_bytes(), "1"),
        record(envelope("e-x").to_json().as_bytes(), "2"),
        record(d.to_json().as_bytes(), "3"),
    ];

    forwarder.handle(batch(records)).await.expect("handled");

    let calls: Vec<Vec<String>> = batches_to(&server, QUEUE_URL)
        .await
        .iter()
        .map(|call| {
            call.iter()
                .filter_map(sent_envelope)
                .map(|e| e.id)
                .collect()
        })
        .collect();
    assert_eq!(calls, [vec!["e-d", "e-x"], vec!["e-d"]]);
}
