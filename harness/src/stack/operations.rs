//! What a harness does to a running pipeline: drain it, restart a consumer, replay the stream,
//! redrive the DLQ.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::inspect::{POLL, queue_depth};
use super::{Harness, HarnessError};
use crate::esm::{InMemoryCheckpoints, KinesisMapping, KinesisMappingConfig, StartingPosition};

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayFrom {
    TrimHorizon,
    Timestamp(DateTime<Utc>),
}

impl std::str::FromStr for ReplayFrom {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trim-horizon" | "TRIM_HORIZON" => Ok(ReplayFrom::TrimHorizon),
            other => DateTime::parse_from_rfc3339(other)
                .map(|t| ReplayFrom::Timestamp(t.with_timezone(&Utc)))
                .map_err(|_| {
                    format!("{other:?} is neither trim-horizon nor an RFC 3339 time (e.g. 2026-11-25T22:00:00Z)")
                }),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub batches: u64,
    pub records: u64,
}

impl Harness {
    /// Waits until everything accepted has settled: every shard caught up with nothing in
    /// flight (on the evidence of reads that started after this call), and the queue empty:
    /// nothing visible, in flight or delayed. The queue's own counts are the evidence for the
    /// SQS side: a message being handled is in flight until the mapping deletes it, and one
    /// waiting out a visibility timeout keeps the pipeline busy.
    pub async fn drain(&self) -> Result<(), HarnessError> {
        self.drain_within(self.options.drain_timeout).await
    }

    pub async fn drain_within(&self, timeout: Duration) -> Result<(), HarnessError> {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if let Some(m) = self.kinesis_mapping.lock().await.as_ref() {
                m.wait_idle(remaining)
                    .await
                    .map_err(|e| HarnessError::DrainTimeout {
                        waited: start.elapsed(),
                        state: format!("the Kinesis mapping is busy: {e}"),
                    })?;
            }
            let depth = queue_depth(&self.clean.sqs, &self.provisioned.queue_url).await?;
            let kinesis_idle = match self.kinesis_mapping.lock().await.as_ref() {
                Some(m) => m.is_idle(),
                None => true,
            };
            if depth == 0 && kinesis_idle {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::DrainTimeout {
                    waited: start.elapsed(),
                    state: format!(
                        "{depth} message(s) on the queue (visible, in flight or delayed); \
                         Kinesis mapping idle: {kinesis_idle}"
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the forward consumer gracefully and starts it again from its checkpoints.
    pub async fn restart_forward(&self) -> Result<(), HarnessError> {
        let mut slot = self.kinesis_mapping.lock().await;
        if let Some(m) = slot.take() {
            m.stop().await;
        }
        *slot = Some(self.spawn_kinesis_mapping().await?);
        Ok(())
    }

    /// Kills the forward consumer without checkpointing (a crashed host) and starts it again:
    /// what came after the last checkpoint is delivered again.
    pub async fn crash_forward(&self) -> Result<(), HarnessError> {
        let mut slot = self.kinesis_mapping.lock().await;
        if let Some(m) = slot.take() {
            m.kill().await;
        }
        *slot = Some(self.spawn_kinesis_mapping().await?);
        Ok(())
    }

    /// Stops the store consumer and starts it again.
    pub async fn restart_store(&self) -> Result<(), HarnessError> {
        let mut slot = self.sqs_mapping.lock().await;
        if let Some(m) = slot.take() {
            m.stop().await;
        }
        *slot = Some(self.spawn_sqs_mapping().await?);
        Ok(())
    }

    /// Re-reads the stream from `from` through the forward handler, with a consumer of its own
    /// (fresh checkpoints), until it has caught up. Because items are written idempotently,
    /// this adds only events that never landed.
    pub async fn replay(&self, from: ReplayFrom) -> Result<ReplayReport, HarnessError> {
        let config = KinesisMappingConfig {
            starting_position: match from {
                ReplayFrom::TrimHorizon => StartingPosition::TrimHorizon,
                ReplayFrom::Timestamp(t) => StartingPosition::AtTimestamp(t),
            },
            function_name: "forward-replay".into(),
            ..self.options.kinesis_mapping.clone()
        };
        let mapping = KinesisMapping::spawn(
            self.clients.kinesis.clone(),
            self.clients.sqs.clone(),
            self.provisioned.resources.stream.clone(),
            config,
            self.forward_handler(),
            Arc::new(InMemoryCheckpoints::new()),
            self.hooks(),
        )
        .await?;
        let waited = mapping.wait_idle(self.options.drain_timeout).await;
        let stats = mapping.stats();
        mapping.stop().await;
        waited.map_err(|e| HarnessError::DrainTimeout {
            waited: self.options.drain_timeout,
            state: format!("replay did not catch up: {e}"),
        })?;
        Ok(ReplayReport {
            batches: stats.batches_invoked,
            records: stats.records_delivered,
        })
    }

    /// Moves every DLQ message back to the queue, where the store handler picks it up again.
    /// Uses SQS's own StartMessageMoveTask where the backend has it, else receive/send/delete.
    /// Returns how many messages were moved.
    pub async fn redrive(&self) -> Result<u64, HarnessError> {
        if self.backend.capabilities().message_move_tasks {
            self.redrive_with_move_task().await
        } else {
            self.redrive_by_hand().await
        }
    }

    async fn redrive_with_move_task(&self) -> Result<u64, HarnessError> {
        let sqs = &self.clean.sqs;
        let task = sqs
            .start_message_move_task()
            .source_arn(&self.provisioned.dlq_arn)
            .destination_arn(&self.provisioned.queue_arn)
            .send()
            .await
            .map_err(|e| HarnessError::aws("StartMessageMoveTask", e))?;
        tracing::debug!(task = ?task.task_handle, "redrive started");
        let deadline = Instant::now() + self.options.drain_timeout;
        loop {
            let tasks = sqs
                .list_message_move_tasks()
                .source_arn(&self.provisioned.dlq_arn)
                .send()
                .await
                .map_err(|e| HarnessError::aws("ListMessageMoveTasks", e))?;
            // Most recent first; AWS reports a TaskHandle only while a task runs.
            let ours = tasks.results.unwrap_or_default().into_iter().next();
            if let Some(t) = ours {
                match t.status.as_deref() {
                    Some("COMPLETED") => return Ok(t.approximate_number_of_messages_moved as u64),
                    Some("FAILED") | Some("CANCELLED") => {
                        return Err(HarnessError::Inspect(format!(
                            "the move task ended {}: {}",
                            t.status.unwrap_or_default(),
                            t.failure_reason.unwrap_or_default()
                        )));
                    }
                    _ => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Inspect(
                    "the move task did not complete".into(),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn redrive_by_hand(&self) -> Result<u64, HarnessError> {
        let sqs = &self.clean.sqs;
        let mut moved = 0;
        let mut empty = 0;
        while empty < 2 {
            let out = sqs
                .receive_message()
                .queue_url(&self.provisioned.dlq_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| HarnessError::aws("ReceiveMessage", e))?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                empty += 1;
                continue;
            }
            empty = 0;
            for m in messages {
                sqs.send_message()
                    .queue_url(&self.provisioned.queue_url)
                    .message_body(m.body.clone().unwrap_or_default())
                    .set_message_attributes(m.message_attributes.clone())
                    .send()
                    .await
                    .map_err(|e| HarnessError::aws("SendMessage", e))?;
                // Deleted only once it is safely on the queue: a failure here duplicates, never loses.
                if let Some(handle) = m.receipt_handle {
                    sqs.delete_message()
                        .queue_url(&self.provisioned.dlq_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| HarnessError::aws("DeleteMessage", e))?;
                }
                moved += 1;
            }
        }
        Ok(moved)
    }
}
