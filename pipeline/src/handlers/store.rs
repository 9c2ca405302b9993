//! The store handler: SQS messages -> DynamoDB table `events`, each written at most once.
//!
//! Per message: parse the envelope (a body that is not one is reported in
//! `batchItemFailures`, so the redrive policy moves it to the DLQ after `maxReceiveCount`
//! receives); PutItem(`to_item`) with `attribute_not_exists(id)` and
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD`, so a failed condition brings the stored item
//! back without a second read. Its digest (`item::digest`) tells the two cases apart:
//! - the same digest is a duplicate delivery (or a client's retry of the same PUT): success,
//!   observed as `DuplicateSuppressed`;
//! - another digest is a **conflict**: the id is stored with another stream or payload. The
//!   table keeps the first; this envelope goes to the DLQ (`failure.stage=store`,
//!   `failure.reason=conflict`), observed as `Conflict`, so an accepted event is never dropped
//!   in silence. If that DLQ send fails too, the message is reported failed and comes back.
//!
//! Throttling, 5xx and timeouts
//! are retried here with exactly `policy.max_attempts` HTTP attempts (the SDK's own retries are
//! off for these calls); what still fails is reported by its `messageId`. Messages of a batch
//! are written concurrently: a standard queue promises no order.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use futures::StreamExt;

use super::dead_letter::DeadLetterQueue;
use crate::config::RetryPolicy;
use crate::dlq::DlqMessage;
use crate::envelope::Envelope;
use crate::item::{digest, stored_digest, to_item};
use crate::observe::{Observer, PipelineEvent};
use crate::retry::{self, AttemptError, Outcome};

/// At most this many PutItem calls of one batch in flight.
const MAX_CONCURRENT_WRITES: usize = 32;

/// The whole invocation failed (Lambda leaves the whole batch to the visibility timeout).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A message must be reported as failed but has no message id to name it by.
    #[error("message {index} failed and has no messageId to report it by")]
    UnreportableMessage {
        /// The message's position in the batch.
        index: usize,
    },
}

/// How one PutItem ended well.
enum Written {
    Stored,
    Duplicate,
    /// The id is stored with this other digest.
    Conflict {
        stored_digest: String,
    },
}

/// The store handler.
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
    dlq: DeadLetterQueue,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
}

impl Store {
    /// A store writing to `table`, each PutItem tried as `policy` says; conflicts go to
    /// `dlq_url` (SendMessage with the same attempts); `observer` hears what happens to each
    /// event.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        sqs: aws_sdk_sqs::Client,
        dlq_url: impl Into<String>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Self {
        Store {
            client: retry::dynamodb_without_sdk_retries(client),
            table: table.into(),
            dlq: DeadLetterQueue {
                client: retry::sqs_without_sdk_retries(sqs),
                url: dlq_url.into(),
                policy,
            },
            policy,
            observer,
        }
    }

    /// Handles one batch; failed messages come back in `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, StoreError> {
        // Messages are moved into their futures: a closure over `&SqsMessage` would make the
        // stream's future not provably `Send` (a higher-ranked lifetime limitation).
        let mut failed: Vec<(usize, Option<String>)> =
            futures::stream::iter(event.records.into_iter().enumerate())
                .map(|(index, message)| async move {
                    let stored = self.store_message(&message).await;
                    (!stored).then_some((index, message.message_id))
                })
                .buffer_unordered(MAX_CONCURRENT_WRITES)
                .filter_map(|failed| async move { failed })
                .collect()
                .await;
        failed.sort_unstable_by_key(|(index, _)| *index);
        let mut response = SqsBatchResponse::default();
        for (index, message_id) in failed {
            match message_id {
                Some(id) if !id.is_empty() => response.add_failure(id),
                _ => return Err(StoreError::UnreportableMessage { index }),
            }
        }
        Ok(response)
    }

    /// Stores one message; `false` when it must be reported as failed.
    async fn store_message(&self, message: &SqsMessage) -> bool {
        let message_id = message.message_id.as_deref().unwrap_or("-");
        let body = message.body.as_deref().unwrap_or_default();
        let envelope = match Envelope::from_slice(body.as_bytes()) {
            Ok(envelope) => envelope,
            Err(err) => {
                self.observer.observe(&PipelineEvent::StoreFailed {
                    id: message_id.to_owned(),
                    reason: err.to_string(),
                });
                return false;
            }
        };
        let item = to_item(&envelope);
        // `to_item` has hashed the envelope once: read its digest back instead of twice per event.
        let digest = stored_digest(&item).unwrap_or_else(|| digest(&envelope));
        let outcome = retry::run(
            &self.policy,
            |_| self.put(item.clone(), &digest),
            |attempt, error| {
                self.observer.observe(&PipelineEvent::StoreAttemptFailed {
                    id: envelope.id.clone(),
                    attempt,
                    reason: error.reason.clone(),
                });
            },
        )
        .await;
        let event = match outcome {
            Outcome::Done {
                value: Written::Stored,
                ..
            } => PipelineEvent::Stored { id: envelope.id },
            Outcome::Done {
                value: Written::Duplicate,
                ..
            } => PipelineEvent::DuplicateSuppressed { id: envelope.id },
            Outcome::Done {
                value: Written::Conflict { stored_digest },
                attempts,
            } => {
                let message = DlqMessage::conflict(&envelope, &stored_digest, attempts);
                match self.dlq.send(&message).await {
                    Ok(()) => PipelineEvent::Conflict {
                        id: envelope.id,
                        digest,
                        stored_digest,
                    },
                    Err(error) => {
                        self.observer.observe(&PipelineEvent::DlqSendFailed {
                            id: Some(envelope.id.clone()),
                            reason: error.reason.clone(),
                        });
                        PipelineEvent::StoreFailed {
                            id: envelope.id,
                            reason: format!("conflict, and the DLQ send failed: {}", error.reason),
                        }
                    }
                }
            }
            Outcome::Failed { error, .. } => PipelineEvent::StoreFailed {
                id: envelope.id,
                reason: error.reason,
            },
        };
        let ok = !matches!(event, PipelineEvent::StoreFailed { .. });
        self.observer.observe(&event);
        ok
    }

    /// One conditional PutItem HTTP request: the client's SDK retry loop is off, ours counts.
    async fn put(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        digest: &str,
    ) -> Result<Written, AttemptError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Written::Stored),
            Err(err) => err,
        };
        let Some(
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                failed,
            ),
        ) = err.as_service_error()
        else {
            return Err(retry::classify(&err));
        };
        // DynamoDB returns the item with ALL_OLD (AWS, moto, LocalStack and the emulator do).
        // Without it the two cases cannot be told apart; guessing "duplicate" could drop an
        // event, so the message fails and the redrive policy keeps it.
        match failed.item().and_then(stored_digest) {
            Some(stored) if stored == digest => Ok(Written::Duplicate),
            Some(stored_digest) => Ok(Written::Conflict { stored_digest }),
            None => Err(AttemptError::permanent(
                "ConditionalCheckFailedException without the stored item \
                 (ReturnValuesOnConditionCheckFailure=ALL_OLD): duplicate or conflict unknown",
            )),
        }
    }
}
