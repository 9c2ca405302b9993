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
