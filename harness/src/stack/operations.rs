//! What a harness does to a running pipeline: drain it, restart a consumer, replay the stream,
//! redrive the DLQ (the last two are in [`super::replay`], shared with the CLI).

use std::time::Duration;

use tokio::time::Instant;

use super::inspect::{POLL, queue_depth};
use super::replay::{self, ReplayFrom, ReplayReport};
use super::{Harness, HarnessError};

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
        let config = crate::esm::KinesisMappingConfig {
            function_name: "forward-replay".into(),
            ..self.options.kinesis_mapping.clone()
        };
        replay::replay_stream(
            &self.clients.kinesis,
            &self.clients.sqs,
            &self.provisioned.resources.stream,
            config,
            self.forward_handler(),
            self.hooks(),
            from,
            self.options.drain_timeout,
            |_| {},
        )
        .await
    }

    /// Moves every DLQ message back to the queue, where the store handler picks it up again.
    /// Returns how many messages were moved.
    pub async fn redrive(&self) -> Result<u64, HarnessError> {
        replay::redrive_dlq(
            &self.clean.sqs,
            &self.provisioned,
            self.backend.capabilities().message_move_tasks,
            self.options.drain_timeout,
            |_, _| {},
        )
        .await
    }
}
