//! The forward handler: Kinesis records -> SQS queue `events`, or the DLQ `events-dlq`.
//!
//! Per record, in shard order: decode the envelope (poison -> DLQ at once with the raw data,
//! `failure.stage=decode`); SendMessage with exactly `policy.max_attempts` HTTP attempts
//! (the SDK's own retries are off for these calls), backing off between retryable failures;
//! a non-retryable error or the last failure sends the envelope to the DLQ with
//! `failure.stage=forward`. Only a failed DLQ send reports the record in `batchItemFailures`:
//! the event source mapping then re-delivers it (a duplicate later, never a loss).

use std::sync::Arc;

use super::dead_letter::{DeadLetterQueue, send_once};
use crate::config::RetryPolicy;
use crate::dlq::DlqMessage;
use crate::envelope::Envelope;
use crate::observe::{Observer, PipelineEvent};
use crate::retry::{self, Outcome};
use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;

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

/// The forward handler.
pub struct Forwarder {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dlq: DeadLetterQueue,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
}

impl Forwarder {
    /// A forwarder sending to `queue_url`, failures to `dlq_url`, each send tried as `policy` says;
    /// `observer` hears what happens to each event.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        dlq_url: impl Into<String>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Self {
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

    /// Handles one batch (all from one shard, in order). Records are sent one after another,
    /// so their attempts keep the shard's order. At the first record whose DLQ send fails, the
    /// batch stops: that record and every later one are reported, so the mapping retries from
    /// it and nothing after it is sent twice or out of order.
    pub async fn handle(&self, event: KinesisEvent) -> Result<KinesisEventResponse, ForwardError> {
        let mut response = KinesisEventResponse::default();
        for (index, record) in event.records.iter().enumerate() {
            if self.forward_record(record).await.is_ok() {
                continue;
            }
            for (later, record) in event.records.iter().enumerate().skip(index) {
                let sequence_number = &record.kinesis.sequence_number;
                if sequence_number.is_empty() {
                    return Err(ForwardError::UnreportableRecord { index: later });
                }
                response.add_failure(sequence_number.clone());
            }
            break;
        }
        Ok(response)
    }

    async fn forward_record(&self, record: &KinesisEventRecord) -> Result<(), DlqSendFailed> {
        let data: &[u8] = &record.kinesis.data;
        let envelope = match Envelope::from_slice(data) {
            Ok(envelope) => envelope,
            Err(err) => {
                return self
                    .dead_letter(None, DlqMessage::poison(data, err.to_string()))
                    .await;
            }
        };
        let body = envelope.to_sqs_body();
        let outcome = retry::run(
            &self.policy,
            |_| send_once(&self.client, &self.queue_url, &body, None),
            |attempt, error| {
                self.observer.observe(&PipelineEvent::ForwardAttemptFailed {
                    id: envelope.id.clone(),
                    attempt,
                    reason: error.reason.clone(),
                    retryable: error.retryable,
                });
            },
        )
        .await;
        match outcome {
            Outcome::Done { attempts, .. } => {
                self.observer.observe(&PipelineEvent::Forwarded {
                    id: envelope.id.clone(),
                    attempts,
                });
                Ok(())
            }
            Outcome::Failed { error, attempts } => {
                let message = DlqMessage::forward(&envelope, error.reason, attempts);
                self.dead_letter(Some(envelope.id), message).await
            }
        }
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
