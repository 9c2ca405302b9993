//! The whole pipeline end to end through the real SDK clients: PUT -> Kinesis -> forward ->
//! SQS -> store -> DynamoDB. On the embedded emulator under tokio's paused clock; on LocalStack,
//! moto or AWS in real time with the real-time profile (`harness::stack::REAL_TIME_PROFILE`),
//! proving the same delivery properties: 3 attempts then the DLQ, idempotent writes, replay,
//! redrive.

use aws_sdk_kinesis::primitives::Blob;
use harness::Harness;
use pipeline::Envelope;
use serde_json::json;

async fn start() -> Harness {
    Harness::start().await.expect("the harness starts")
}

fn event(id: &str, n: u64) -> serde_json::Value {
    json!({
        "stream": "default",
        "id": id,
        "payload": { "energy_type": "nuclear", "n": n, "nested": { "ok": true, "list": [1, "two", null] } },
    })
}

#[test]
fn every_accepted_event_is_stored_as_a_function_of_its_envelope() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        for n in 1..=20 {
            let outcome = h.ingest_json(event(&format!("e-{n:02}"), n)).await.unwrap();
            assert_eq!(outcome.status, 200, "{:?}", outcome.body);
            assert_eq!(outcome.body["id"], format!("e-{n:02}"));
            assert!(
                outcome.body["shardId"]
                    .as_str()
                    .unwrap()
                    .starts_with("shardId-")
            );
            assert!(outcome.body["sequenceNumber"].as_str().is_some());
        }
        h.drain().await.unwrap();

        let items = h.table_items().await.unwrap();
        assert_eq!(items.len(), 20);
        let counts = h.counts();
        assert_eq!(
            (counts.ingested, counts.forwarded, counts.stored),
            (20, 20, 20)
        );
        assert_eq!((counts.sent_to_dlq, counts.duplicates), (0, 0));
        assert!(h.dlq_ids().await.unwrap().is_empty());
        assert!(h.lost_ids().await.unwrap().is_empty());
        insta::assert_json_snapshot!("stored_items", items, { "[].receivedAt" => "[time]" });
    });
}

#[test]
fn a_kinesis_batch_delivered_twice_is_stored_once_and_the_duplicate_counted() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        h.faults().kinesis_delivery().duplicate().nth(1).install();
        let outcome = h.ingest_json(event("dup-1", 1)).await.unwrap();
        assert_eq!(outcome.status, 200);
        h.drain().await.unwrap();

        assert_eq!(h.table_ids().await.unwrap(), ["dup-1"]);
        let counts = h.counts();
        assert_eq!(counts.forwarded, 2, "both deliveries were forwarded");
        assert_eq!((counts.stored, counts.duplicates), (1, 1));
        assert_eq!(h.journal().attempts("dynamodb", "PutItem", "dup-1"), 2);
    });
}

#[test]
fn an_id_sent_again_with_another_payload_is_a_conflict_on_the_dlq_and_the_first_is_kept() {
    // Issue 13: both PUTs answer 200, so the second must end somewhere: the DLQ, with its reason.
    // The stored item comes back with the failed condition (ReturnValuesOnConditionCheckFailure,
    // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        let first = json!({"stream": "default", "id": "dup-1", "payload": {"v": 1}});
        let second = json!({"stream": "default", "id": "dup-1", "payload": {"v": 2}});
        h.ingest_ok(first.clone()).await.unwrap();
        h.drain().await.unwrap();
        h.ingest_ok(second).await.unwrap();
        h.ingest_ok(first).await.unwrap(); // the same envelope again: a true duplicate
        h.drain().await.unwrap();

        let items = h.table_items().await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0]["payload"],
            json!({"v": 1}),
            "the first envelope is kept"
        );
        let dlq = h.dlq_messages().await.unwrap();
        assert_eq!(dlq.len(), 1, "{dlq:?}");
        assert_eq!(dlq[0].id.as_deref(), Some("dup-1"));
        assert_eq!(dlq[0].attributes["failure.stage"], "store");
        assert_eq!(dlq[0].attributes["failure.reason"], "conflict");
        assert!(dlq[0].attributes["failure.stored_digest"].starts_with("sha256:"));
        let refused: serde_json::Value = serde_json::from_str(&dlq[0].body).unwrap();
        assert_eq!(
            refused["payload"],
            json!({"v": 2}),
            "the second envelope is on the DLQ"
        );
        let counts = h.counts();
        assert_eq!((counts.ingested, counts.stored), (3, 1));
        assert_eq!((counts.conflicts, counts.duplicates), (1, 1));
        assert_eq!(counts.sent_to_dlq, 0, "the forwarder sent nothing there");
        assert_eq!(h.journal().attempts_to(h.dlq(), "SendMessage", "dup-1"), 1);
    });
}

#[test]
fn a_poison_record_goes_to_the_dlq_without_blocking_its_shard() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        let kinesis = aws_sdk_kinesis::Client::new(&h.backend().sdk_config());
        let stream = &h.provisioned().resources.stream;
        let put = |data: Vec<u8>| {
            kinesis
                .put_record()
                .stream_name(stream)
                .partition_key("one-shard")
                .data(Blob::new(data))
                .send()
        };
        put(b"this is not an envelope".to_vec()).await.unwrap();
        for n in 1..=3 {
            let envelope = Envelope::new(
                format!("after-{n}"),
                "default",
                h.clock().now(),
                json!({ "n": n }),
            );
            put(serde_json::to_vec(&envelope).unwrap()).await.unwrap();
        }
        h.drain().await.unwrap();

        assert_eq!(
            h.table_ids().await.unwrap(),
            ["after-1", "after-2", "after-3"]
        );
        let dlq = h.dlq_messages().await.unwrap();
        assert_eq!(dlq.len(), 1, "{dlq:?}");
        assert_eq!(dlq[0].id, None);
        assert_eq!(dlq[0].body, "this is not an envelope");
        assert_eq!(dlq[0].attributes["failure.stage"], "decode");
    });
}

#[test]
fn a_store_failure_that_persists_moves_the_message_to_the_dlq_after_three_receives() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        h.faults()
            .dynamodb("PutItem")
            .throttle()
            .always()
            .for_event("stuck")
            .install();
        assert_eq!(h.ingest_json(event("stuck", 1)).await.unwrap().status, 200);
        assert_eq!(h.ingest_json(event("fine", 2)).await.unwrap().status, 200);
        h.drain().await.unwrap();

        assert_eq!(h.table_ids().await.unwrap(), ["fine"]);
        assert_eq!(h.dlq_ids().await.unwrap(), ["stuck"]);
        let attempts_per_receive = h.store_config().unwrap().retry.max_attempts as usize;
        assert_eq!(
            h.journal().attempts("dynamodb", "PutItem", "stuck"),
            3 * attempts_per_receive,
            "three receives (maxReceiveCount 3), each with the store's attempts"
        );
        assert_eq!(h.counts().store_failed, 3);
        // SQS moved the message unchanged: the DLQ holds the envelope as it was sent.
        let dlq = h.dlq_messages().await.unwrap();
        let envelope: serde_json::Value = serde_json::from_str(&dlq[0].body).unwrap();
        assert_eq!(envelope["payload"]["n"], 1);
    });
}

#[test]
fn sqs_throttling_beyond_three_attempts_sends_the_event_to_the_dlq() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        h.faults()
            .sqs("SendMessage")
            .to_queue()
            .throttle()
            .always()
            .for_event("e-1")
            .install();
        assert_eq!(h.ingest_json(event("e-1", 1)).await.unwrap().status, 200);
        assert_eq!(h.ingest_json(event("e-2", 2)).await.unwrap().status, 200);
        h.drain().await.unwrap();

        assert_eq!(h.dlq_ids().await.unwrap(), ["e-1"]);
        assert_eq!(h.table_ids().await.unwrap(), ["e-2"]);
        let sends_to = |queue: &str| h.journal().attempts_to(queue, "SendMessage", "e-1");
        assert_eq!(sends_to(h.queue()), 3, "3 attempts to the queue");
        assert_eq!(sends_to(h.dlq()), 1, "then 1 to the DLQ");
        let dlq = h.dlq_messages().await.unwrap();
        assert_eq!(dlq[0].attributes["failure.stage"], "forward");
        assert_eq!(dlq[0].attributes["failure.attempts"], "3");
    });
}

#[test]
fn a_replay_from_a_sequence_number_re_reads_its_shard_from_that_record() {
    // The replay starts every shard at the number; only one shard may hold it, as on AWS.
    crate::require!(KinesisSequenceNumbers);
    crate::support::on_any_clock(async {
        use harness::stack::ReplayFrom;
        let h = start().await;
        let mut receipts = Vec::new();
        for n in 1..=6 {
            let outcome = h.ingest_json(event(&format!("s-{n}"), n)).await.unwrap();
            receipts.push(outcome.body);
        }
        h.drain().await.unwrap();
        let third = &receipts[2];
        let shard = third["shardId"].as_str().unwrap();
        let expected = receipts[2..]
            .iter()
            .filter(|r| r["shardId"] == shard)
            .count() as u64;
        let from = ReplayFrom::SequenceNumber(third["sequenceNumber"].as_str().unwrap().to_owned());
        let replayed = h.replay(from).await.unwrap();
        h.drain().await.unwrap();

        assert_eq!(
            replayed.records, expected,
            "s-3 and what came after it on {shard}"
        );
        assert_eq!(h.counts().duplicates, expected);
        assert_eq!(h.table_ids().await.unwrap().len(), 6);
    });
}

#[test]
fn a_redrive_without_move_tasks_moves_every_dlq_message_back_by_hand() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let h = start().await;
        let rule = h
            .faults()
            .sqs("SendMessage")
            .to_queue()
            .throttle()
            .always()
            .install();
        for n in 1..=3 {
            h.ingest_ok(event(&format!("h-{n}"), n)).await.unwrap();
        }
        h.drain().await.unwrap();
        assert_eq!(h.dlq_ids().await.unwrap(), ["h-1", "h-2", "h-3"]);
        h.faults().remove(rule.id());

        let sqs = aws_sdk_sqs::Client::new(&h.backend().sdk_config());
        let moved = harness::stack::replay::redrive_dlq(
            &sqs,
            h.provisioned(),
            false,
            std::time::Duration::from_secs(60),
            |_, _| {},
        )
        .await
        .unwrap();
        h.drain().await.unwrap();

        assert_eq!(moved, 3);
        assert!(h.dlq_ids().await.unwrap().is_empty());
        assert_eq!(h.table_ids().await.unwrap(), ["h-1", "h-2", "h-3"]);
    });
}

/// The harness's clients sign exactly the requests that leave the process: none to the
/// embedded emulator's in-process edge (`harness/src/stack/unsigned.rs`: there is no one to
/// check a signature), all of them to LocalStack, moto or AWS over HTTP.
#[test]
fn the_pipelines_requests_are_signed_exactly_when_they_leave_the_process() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    crate::support::on_any_clock(async {
        let mut options = harness::stack::HarnessOptions::for_tests().unwrap();
        options.count_calls = true;
        let h = harness::Harness::start_with(options).await.unwrap();
        let outcome = h.ingest_json(event("signed-1", 1)).await.unwrap();
        assert_eq!(outcome.status, 200, "{:?}", outcome.body);
        h.drain().await.unwrap();
        assert_eq!(h.counts().stored, 1);
        let calls: u64 = h.call_counts().values().sum();
        // At least PutRecord, GetRecords, SendMessageBatch, ReceiveMessage and PutItem.
        assert!(calls >= 5, "{:?}", h.call_counts());
        let expected = if crate::support::is_embedded() {
            0
        } else {
            calls
        };
        assert_eq!(h.signed_calls(), expected, "{:?}", h.call_counts());
    });
}
