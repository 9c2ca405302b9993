//! The test from DESIGN's sketch, as a user writes it in their own crate (issue 12).
//!
//! The forwarder makes at most 3 SendMessage attempts, then sends the event to the DLQ
//! (pipeline::handlers::forward); a rule scoped to the queue leaves that DLQ send alone. SQS
//! answers a throttled send with `RequestThrottled` (HTTP 403 on the query protocol):
//! https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html

use harness::Harness;
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn a_throttled_event_lands_in_the_dlq_after_three_attempts() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let rule = h.faults().sqs("SendMessage").to_queue().throttle().always().for_event("e-1").install();
    h.ingest_ok(json!({"stream": "default", "id": "e-1", "payload": {"energy_type": "nuclear"}})).await?;
    h.drain().await?;
    assert_eq!(h.dlq_ids().await?, ["e-1"]);
    assert_eq!(rule.fired(), 3);
    assert_eq!(h.journal().attempts_to(h.queue(), "SendMessage", "e-1"), 3);
    assert!(h.table_items().await?.is_empty());
    Ok(())
}

/// `harness::testing`: on a backend whose time cannot be paused (moto, LocalStack), this
/// test prints `SKIPPED <test>: <reason>` and passes instead of failing in `Harness::start`.
#[tokio::test(start_paused = true)]
async fn a_rule_scoped_to_the_dlq_leaves_the_queue_alone() -> anyhow::Result<()> {
    harness::require!(PausedClock);
    let h = Harness::start().await?;
    // `expect(0)` is checked when the guard drops, with a message naming the rule.
    let _dlq = h.faults().sqs("SendMessage").to_dlq().throttle().always().expect(0).install();
    let answer = h.ingest_ok(json!({"stream": "default", "id": "e-2", "payload": {}})).await?;
    assert!(answer["sequenceNumber"].is_string(), "{answer}");
    h.drain().await?;
    assert_eq!(h.table_ids().await?, ["e-2"]);
    assert_eq!(h.journal().attempts_to(h.queue(), "SendMessage", "e-2"), 1);
    assert_eq!(h.journal().attempts_to(h.dlq(), "SendMessage", "e-2"), 0);
    Ok(())
}
