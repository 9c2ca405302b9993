//! The forward handler: Kinesis records -> SQS queue `events`, or the DLQ `events-dlq`.
//!
//! Records are sent with SendMessageBatch, up to 10 consecutive records per call (never two
//! copies of one event in a call) and at most 256 KiB of bodies (the API's limits,
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>),
//! and the attempt budget is kept **per record**: an entry SQS reports in `Failed` is one
//! failed attempt of that record, a whole call that fails is one failed attempt of every record
//! in it, and each record gets exactly `policy.max_attempts` attempts (the SDK's own retries
//! are off for these calls), backing off between rounds of retryable failures. A record whose
//! attempts are spent, or that failed for good, goes to the DLQ with `failure.stage=forward`
//! and its own attempt count, as before. A record that is not an envelope (poison) goes to the
//! DLQ at once with the raw data, `failure.stage=decode`; it ends the batch call before it, so
//! sends keep the shard's order call by call.
//!
//! Only a failed DLQ send reports a record in `batchItemFailures`: the event source mapping
//! then re-delivers from it (a duplicate later, never a loss). Records after it in the same
//! SendMessageBatch were sent already and come again as duplicates (the store handler's
//! condition suppresses them); nothing after that call is sent.

use std::sync::Arc;

use super::dead_letter::{DeadLetterQueue, send_batch_once};
use crate::config::RetryPolicy;
use crate::dlq::DlqMessage;
use crate::envelope::Envelope;
use crate::observe::{Observer, PipelineEvent};
use crate::retry::{self, AttemptError};
use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;

/// Entries per SendMessageBatch: the API's maximum.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// The most message-body bytes in one SendMessageBatch: the API's limit on the sum of its
/// entries (256 KiB). A single larger body is sent alone (and SQS refuses it alone).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The whole invocation failed (Lambda retries the batch).
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// A record must be reported as failed but has no sequence number to name it by.
    #[error("record {index} failed and has no sequence number to report it by")]
    UnreportableRecord {
        /// The record's position in the batch.
        index: usize,
    },
}

/// Reads a Kinesis event as the Lambda runtime hands it over (its JSON, already parsed).
///
/// `aws_lambda_events` 1.2 turns `approximateArrivalTimestamp`'s fraction digits into
/// nanoseconds by multiplying them by 10^6: a fraction of more than 13 digits overflows (a
/// panic with overflow checks, a wrong or refused time without) and more than 3 digits is
/// misread. AWS sends milliseconds (`1545084650.987`,
/// <https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>), so each record's
/// timestamp is rounded to the millisecond first; what is still no time (negative, too
/// large) stays an error. Found by the `handler_events` fuzz target (RELIABILITY.md).
pub fn decode_event(mut event: serde_json::Value) -> Result<KinesisEvent, serde_json::Error> {
    if let Some(records) = event.get_mut("Records").and_then(|r| r.as_array_mut()) {
        for record in records {
            let Some(at) = record.pointer_mut("/kinesis/approximateArrivalTimestamp") else {
                continue;
            };
            let seconds = match &*at {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            if let Some(seconds) = seconds.filter(|s| s.is_finite())
                && let Some(millis) =
                    serde_json::Number::from_f64((seconds * 1000.0).round() / 1000.0)
            {
                *at = serde_json::Value::Number(millis);
            }
        }
    }
    serde_json::from_value(event)
}

/// A failed DLQ send: the record has to be retried by the event source mapping.
struct DlqSendFailed;

/// One record on its way into a SendMessageBatch.
struct Pending {
    /// The record's position in the Kinesis batch.
    index: usize,
    envelope: Envelope,
    body: String,
}

/// Consecutive envelopes that fit one SendMessageBatch.
#[derive(Default)]
struct Chunk {
    records: Vec<Pending>,
    bytes: usize,
}

impl Chunk {
    /// Whether a record fits this call. Another copy of an event already in it (a producer's
    /// retry) waits for the next call, so the earlier copy's attempts all come first, as when
    /// records were sent one by one.
    fn has_room_for(&self, envelope: &Envelope, body: &str) -> bool {
        self.records.is_empty()
            || (self.records.len() < MAX_BATCH_ENTRIES
                && self.bytes + body.len() <= MAX_BATCH_BYTES
                && !self.records.iter().any(|p| p.envelope.id == envelope.id))
    }
}

/// The forward handler.
pub struct Forwarder {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dlq: DeadLetterQueue,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
}

impl Forwarder {
    /// A forwarder sending to `queue_url`, failures to `dlq_url`, each record's sends tried as
    /// `policy` says; `observer` hears what happens to each event.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        dlq_url: impl Into<String>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let client = retry::sqs_without_sdk_retries(client);
        Forwarder {
            dlq: DeadLetterQueue {
                client: client.clone(),
                url: dlq_url.into(),
                policy,
            },
            client,
            queue_url: queue_url.into(),
            policy,
            observer,
        }
    }

    /// Handles one batch (all from one shard, in order): consecutive envelopes go out together
    /// in SendMessageBatch calls, one call (with its retries) after another. At the first
    /// record whose DLQ send fails, the batch stops: that record and every later one are
    /// reported, so the mapping retries from it.
    pub async fn handle(&self, event: KinesisEvent) -> Result<KinesisEventResponse, ForwardError> {
        let stopped_at = self.forward_all(&event.records).await.err();
        let mut response = KinesisEventResponse::default();
        if let Some(index) = stopped_at {
            for (later, record) in event.records.iter().enumerate().skip(index) {
                let sequence_number = &record.kinesis.sequence_number;
                if sequence_number.is_empty() {
                    return Err(ForwardError::UnreportableRecord { index: later });
                }
                response.add_failure(sequence_number.clone());
            }
        }
        Ok(response)
    }

    /// Forwards every record; `Err(index)`: the first one whose DLQ send failed.
    async fn forward_all(&self, records: &[KinesisEventRecord]) -> Result<(), usize> {
        let mut chunk = Chunk::default();
        for (index, record) in records.iter().enumerate() {
            let data: &[u8] = &record.kinesis.data;
            match Envelope::from_slice(data) {
                Ok(envelope) => {
                    let body = envelope.to_sqs_body();
                    if !chunk.has_room_for(&envelope, &body) {
                        self.forward_chunk(std::mem::take(&mut chunk)).await?;
                    }
                    chunk.bytes += body.len();
                    chunk.records.push(Pending {
                        index,
                        envelope,
                        body,
                    });
                }
                Err(err) => {
                    self.forward_chunk(std::mem::take(&mut chunk)).await?;
                    let poison = DlqMessage::poison(data, err.to_string());
                    if self.dead_letter(None, poison).await.is_err() {
                        return Err(index);
                    }
                }
            }
        }
        self.forward_chunk(chunk).await
    }

    /// Sends one chunk until every record is on the queue or has spent its attempts, then
    /// dead-letters the ones that failed, in shard order. `Err(index)`: the first record whose
    /// DLQ send failed.
    async fn forward_chunk(&self, chunk: Chunk) -> Result<(), usize> {
        if chunk.records.is_empty() {
            return Ok(());
        }
        let records = chunk.records;
        let max = self.policy.attempts();
        // Positions (in `records`) still to send; every one of them has had `attempt - 1`
        // attempts, since a round sends all of them.
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut failed: Vec<(usize, AttemptError, u32)> = Vec::new();
        let mut attempt = 1;
        loop {
            let bodies: Vec<(usize, &str)> = pending
                .iter()
                .map(|&at| (at, records[at].body.as_str()))
                .collect();
            let results = send_batch_once(&self.client, &self.queue_url, &bodies).await;
            let mut retry = Vec::new();
            for (&at, result) in pending.iter().zip(results) {
                let id = &records[at].envelope.id;
                match result {
                    Ok(()) => self.observer.observe(&PipelineEvent::Forwarded {
                        id: id.clone(),
                        attempts: attempt,
                    }),
                    Err(error) => {
                        self.observer.observe(&PipelineEvent::ForwardAttemptFailed {
                            id: id.clone(),
                            attempt,
                            reason: error.reason.clone(),
                            retryable: error.retryable,
                        });
                        if error.retryable && attempt < max {
                            retry.push(at);
                        } else {
                            failed.push((at, error, attempt));
                        }
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            let delay = self.policy.backoff(attempt, &mut rand::rng());
            tokio::time::sleep(delay).await;
            attempt += 1;
            pending = retry;
        }
        failed.sort_unstable_by_key(|(at, ..)| *at);
        for (at, error, attempts) in failed {
            let record = &records[at];
            let message = DlqMessage::forward(&record.envelope, error.reason, attempts);
            if self
                .dead_letter(Some(record.envelope.id.clone()), message)
                .await
                .is_err()
            {
                return Err(record.index);
            }
        }
        Ok(())
    }

    /// Sends `message` to the DLQ (with the same attempt budget) and reports how it went.
    async fn dead_letter(
        &self,
        id: Option<String>,
        message: DlqMessage,
    ) -> Result<(), DlqSendFailed> {
        match self.dlq.send(&message).await {
            Ok(()) => {
                self.observer.observe(&PipelineEvent::SentToDlq {
                    id,
                    stage: message.failure.stage,
                    reason: message.failure.reason,
                    attempts: message.failure.attempts,
                });
                Ok(())
            }
            Err(error) => {
                self.observer.observe(&PipelineEvent::DlqSendFailed {
                    id,
                    reason: error.reason,
                });
                Err(DlqSendFailed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::decode_event;

    /// A Kinesis event as Lambda delivers it, from AWS's sample
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html>), with `at` as the
    /// record's `approximateArrivalTimestamp`.
    fn event(at: serde_json::Value) -> serde_json::Value {
        json!({"Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0", "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "approximateArrivalTimestamp": at
            },
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-2", "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
        }]})
    }

    fn arrival_ms(at: serde_json::Value) -> i64 {
        let event = decode_event(event(at)).expect("decodes");
        event.records[0]
            .kinesis
            .approximate_arrival_timestamp
            .timestamp_millis()
    }

    /// Regression (fuzz target `handler_events`): `aws_lambda_events` multiplied these 14
    /// fraction digits by 10^6 and overflowed (a panic in debug builds).
    #[test]
    fn a_long_fraction_is_read_to_the_millisecond() {
        assert_eq!(arrival_ms(json!(166.333_333_333_333_33)), 166_333);
        assert_eq!(arrival_ms(json!("166.33333333333333")), 166_333);
    }

    #[test]
    fn aws_millisecond_timestamps_are_kept() {
        assert_eq!(arrival_ms(json!(1545084650.987)), 1_545_084_650_987);
        assert_eq!(arrival_ms(json!(1545084650)), 1_545_084_650_000);
    }

    #[test]
    fn what_is_no_time_is_an_error_not_a_panic() {
        assert!(decode_event(event(json!(-1.5))).is_err());
        assert!(decode_event(event(json!("soon"))).is_err());
    }
}
