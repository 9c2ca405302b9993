//! The store handler: SQS messages -> DynamoDB table `events`, each written at most once.
//!
//! Per message: parse the envelope (a body that is not one is reported in
//! `batchItemFailures`, so the redrive policy moves it to the DLQ after `maxReceiveCount`
//! receives); PutItem(`to_item`) with `attribute_not_exists(id)`. ConditionalCheckFailed is a
//! duplicate delivery: success, observed as `DuplicateSuppressed`. Throttling, 5xx and timeouts
//! are retried here with exactly `policy.max_attempts` HTTP attempts (the SDK's own retries are
//! off for these calls); what still fails is reported by its `messageId`. Messages of a batch
//! are written concurrently: a standard queue promises no order.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use futures::StreamExt;

use crate::config::RetryPolicy;
use crate::envelope::Envelope;
use crate::item::to_item;
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
}

/// The store handler.
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
}

impl Store {
    /// A store writing to `table`, each PutItem tried as `policy` says; `observer` hears what
    /// happens to each event.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Self {
        Store {
            client,
            table: table.into(),
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
        let outcome = retry::run(
            &self.policy,
            |_| self.put(item.clone()),
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
            Outcome::Failed { error, .. } => PipelineEvent::StoreFailed {
                id: envelope.id,
                reason: error.reason,
            },
        };
        let ok = !matches!(event, PipelineEvent::StoreFailed { .. });
        self.observer.observe(&event);
        ok
    }

    /// One conditional PutItem HTTP request: the SDK's retry loop is off, ours counts.
    async fn put(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) -> Result<Written, AttemptError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Stored),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Duplicate)
            }
            Err(err) => Err(retry::classify(&err)),
        }
    }
}
