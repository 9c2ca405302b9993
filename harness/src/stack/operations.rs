//! What a harness does to a running pipeline: drain it, restart a consumer, replay the stream,
//! redrive the DLQ (the last two are in [`super::replay`], shared with the CLI).

use std::time::Duration;

use tokio::time::Instant;

use super::inspect::{POLL, queue_depth};
use super::replay::{self, ReplayFrom, ReplayReport};
use super::{Harness, HarnessError, MappingSlot, SlotKind};
use crate::template::spec::Binary;

impl Harness {
    /// Waits until everything accepted has settled: every shard caught up with nothing in
    /// flight (on the evidence of reads that started after this call), and the queue empty:
    /// nothing visible, in flight or delayed. The queue's own counts are the evidence for the
    /// SQS side: a message being handled is in flight until the mapping deletes it, and one
    /// waiting out a visibility timeout keeps the pipeline busy.
    pub async fn drain(&self) -> Result<(), HarnessError> {
        self.drain_within(self.options.drain_timeout).await
    }

    /// [`Harness::drain`] with its own deadline (tokio time); [`HarnessError::DrainTimeout`]
    /// says what was still busy.
    pub async fn drain_within(&self, timeout: Duration) -> Result<(), HarnessError> {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            for slot in &self.mappings {
                if let SlotKind::Kinesis { handle, .. } = &slot.kind
                    && let Some(m) = handle.lock().await.as_ref()
                {
                    m.wait_idle(remaining)
                        .await
                        .map_err(|e| HarnessError::DrainTimeout {
                            waited: start.elapsed(),
                            state: format!(
                                "the Kinesis mapping {}.{} is busy",
                                slot.function, slot.event
                            ),
                            mapping: Some(e),
                        })?;
                }
            }
            let mut busy = Vec::new();
            for slot in &self.mappings {
                match &slot.kind {
                    SlotKind::Kinesis { handle, .. } => {
                        if handle.lock().await.as_ref().is_some_and(|m| !m.is_idle()) {
                            busy.push(format!("the Kinesis mapping of {} is busy", slot.function));
                        }
                    }
                    SlotKind::Sqs { queue_url, .. } => {
                        let depth = queue_depth(&self.clean.sqs, queue_url).await?;
                        if depth > 0 {
                            busy.push(format!(
                                "{depth} message(s) on the queue of {} (visible, in flight or delayed)",
                                slot.function
                            ));
                        }
                    }
                }
            }
            if busy.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::DrainTimeout {
                    waited: start.elapsed(),
                    state: busy.join("; "),
                    mapping: None,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The mappings of `consumer`: a function's logical id, or `forward` / `store` for the
    /// functions built from those binaries.
    fn slots_of(&self, consumer: &str) -> Result<Vec<&MappingSlot>, HarnessError> {
        let binary = match consumer {
            "forward" => Some(Binary::Forward),
            "store" => Some(Binary::Store),
            _ => None,
        };
        let slots: Vec<&MappingSlot> = self
            .mappings
            .iter()
            .filter(|slot| {
                slot.function == consumer
                    || binary.is_some() && self.spec.functions[&slot.function].binary == binary
            })
            .collect();
        if slots.is_empty() {
            let mut known: Vec<&str> = self.mappings.iter().map(|s| s.function.as_str()).collect();
            known.dedup();
            return Err(HarnessError::Unsupported(format!(
                "no consumer named {consumer:?} (forward, store, or a function with an event \
                 source: {})",
                known.join(", ")
            )));
        }
        Ok(slots)
    }

    /// Restarts a consumer's mappings: gracefully (in-flight batches finish and checkpoint),
    /// or as a crash (`crash`: nothing checkpoints, so what came after the last checkpoint is
    /// delivered again).
    pub async fn restart(&self, consumer: &str, crash: bool) -> Result<(), HarnessError> {
        for slot in self.slots_of(consumer)? {
            self.respawn(slot, crash).await?;
        }
        Ok(())
    }

    /// Stops the forward consumer gracefully and starts it again from its checkpoints.
    pub async fn restart_forward(&self) -> Result<(), HarnessError> {
        self.restart("forward", false).await
    }

    /// Kills the forward consumer without checkpointing (a crashed host) and starts it again:
    /// what came after the last checkpoint is delivered again.
    pub async fn crash_forward(&self) -> Result<(), HarnessError> {
        self.restart("forward", true).await
    }

    /// Stops the store consumer and starts it again.
    pub async fn restart_store(&self) -> Result<(), HarnessError> {
        self.restart("store", false).await
    }

    /// Re-reads the stream from `from` through the forward handler, with a consumer of its own
    /// (fresh checkpoints), until it has caught up. Because items are written idempotently,
    /// this adds only events that never landed.
    pub async fn replay(&self, from: ReplayFrom) -> Result<ReplayReport, HarnessError> {
        let Some((handler, config)) = self.forward.clone() else {
            return Err(HarnessError::Unsupported(
                "replay needs a function built from the forward binary with a Kinesis event source"
                    .into(),
            ));
        };
        let config = crate::esm::KinesisMappingConfig {
            function_name: format!("{}-replay", config.function_name),
            ..config
        };
        replay::replay_stream(
            &self.clients.kinesis,
            &self.clients.sqs,
            &self.provisioned.resources.stream,
            config,
            handler,
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

    /// Each Kinesis mapping's counters (by function logical id), iterator age included: what
    /// the live view shows per stream consumer. A mapping being restarted is left out.
    pub async fn kinesis_mapping_stats(&self) -> Vec<(String, crate::esm::KinesisStats)> {
        let mut out = Vec::new();
        for slot in &self.mappings {
            if let SlotKind::Kinesis { handle, .. } = &slot.kind
                && let Some(m) = handle.lock().await.as_ref()
            {
                out.push((slot.function.clone(), m.stats()));
            }
        }
        out
    }
}
