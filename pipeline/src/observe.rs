//! What the pipeline reports as an event moves: one [`PipelineEvent`] per hop, handed to an
//! [`Observer`]. The ingest API and the handlers take an `Arc<dyn Observer>`; the harness
//! logs and counts through it, [`TracingObserver`] writes one tracing line per event, and
//! [`MemoryObserver`] keeps them for tests.

use std::sync::Mutex;

use crate::dlq::FailureStage;

/// One step of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    /// The ingest API put the record and Kinesis acknowledged it.
    Ingested {
        /// The envelope's id.
        id: String,
        /// The stream it was put on.
        stream: String,
        /// The shard Kinesis put it on.
        shard_id: String,
        /// Its sequence number there.
        sequence_number: String,
    },
    /// A SendMessage attempt to the queue failed.
    ForwardAttemptFailed {
        /// The envelope's id.
        id: String,
        /// Which attempt (from 1).
        attempt: u32,
        /// The SDK's error.
        reason: String,
        /// Whether another attempt may succeed (a throttle, a timeout).
        retryable: bool,
    },
    /// The envelope is on the queue after `attempts` SendMessage attempts.
    Forwarded {
        /// The envelope's id.
        id: String,
        /// SendMessage attempts made.
        attempts: u32,
    },
    /// The event (or a poison record, `id: None`) is on the DLQ.
    SentToDlq {
        /// The envelope's id (`None`: a poison record).
        id: Option<String>,
        /// Where it failed.
        stage: FailureStage,
        /// The last error.
        reason: String,
        /// SendMessage attempts made to the queue (0 for a poison record).
        attempts: u32,
    },
    /// The DLQ send failed too: the record is reported in `batchItemFailures`.
    DlqSendFailed {
        /// The envelope's id (`None`: a poison record).
        id: Option<String>,
        /// The DLQ send's error.
        reason: String,
    },
    /// The item was written.
    Stored {
        /// The envelope's id (the item's key).
        id: String,
    },
    /// The item existed already: a duplicate delivery, dropped by the condition.
    DuplicateSuppressed {
        /// The envelope's id (the item's key).
        id: String,
    },
    /// The id is stored with another envelope (`stored_digest`): this one (`digest`) is on
    /// the DLQ with `failure.reason=conflict`; the table keeps the first.
    Conflict {
        /// The envelope's id (the item's key).
        id: String,
        /// This envelope's digest (`pipeline::item::digest`).
        digest: String,
        /// The stored item's digest.
        stored_digest: String,
    },
    /// A PutItem attempt failed.
    StoreAttemptFailed {
        /// The envelope's id.
        id: String,
        /// Which attempt (from 1).
        attempt: u32,
        /// The SDK's error.
        reason: String,
    },
    /// The message is reported in `batchItemFailures` (`id` is the envelope id, or the
    /// message id when the body is not an envelope).
    StoreFailed {
        /// The envelope's id, or the message id.
        id: String,
        /// Why it could not be stored.
        reason: String,
    },
}

impl PipelineEvent {
    /// A short name for counting: `ingested`, `forwarded`, `sent_to_dlq`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            PipelineEvent::Ingested { .. } => "ingested",
            PipelineEvent::ForwardAttemptFailed { .. } => "forward_attempt_failed",
            PipelineEvent::Forwarded { .. } => "forwarded",
            PipelineEvent::SentToDlq { .. } => "sent_to_dlq",
            PipelineEvent::DlqSendFailed { .. } => "dlq_send_failed",
            PipelineEvent::Stored { .. } => "stored",
            PipelineEvent::DuplicateSuppressed { .. } => "duplicate_suppressed",
            PipelineEvent::Conflict { .. } => "conflict",
            PipelineEvent::StoreAttemptFailed { .. } => "store_attempt_failed",
            PipelineEvent::StoreFailed { .. } => "store_failed",
        }
    }
}

/// Receives every [`PipelineEvent`]. Called on the hot path: keep it cheap and non-blocking.
pub trait Observer: Send + Sync + 'static {
    /// Hears one step of one event.
    fn observe(&self, event: &PipelineEvent);
}

/// Ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn observe(&self, _event: &PipelineEvent) {}
}

/// One tracing line per event (target `pipeline::events`): info for progress, warn for
/// failures.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingObserver;

const TARGET: &str = "pipeline::events";

impl Observer for TracingObserver {
    fn observe(&self, event: &PipelineEvent) {
        match event {
            PipelineEvent::Ingested {
                id,
                stream,
                shard_id,
                sequence_number,
            } => {
                tracing::info!(target: TARGET, %id, %stream, %shard_id, %sequence_number, "ingested")
            }
            PipelineEvent::ForwardAttemptFailed {
                id,
                attempt,
                reason,
                retryable,
            } => {
                tracing::warn!(target: TARGET, %id, attempt, retryable, %reason, "forward attempt failed")
            }
            PipelineEvent::Forwarded { id, attempts } => {
                tracing::info!(target: TARGET, %id, attempts, "forwarded")
            }
            PipelineEvent::SentToDlq {
                id,
                stage,
                reason,
                attempts,
            } => {
                tracing::warn!(target: TARGET, id = id.as_deref().unwrap_or("-"), %stage, attempts, %reason, "sent to dlq")
            }
            PipelineEvent::DlqSendFailed { id, reason } => {
                tracing::error!(target: TARGET, id = id.as_deref().unwrap_or("-"), %reason, "dlq send failed")
            }
            PipelineEvent::Stored { id } => tracing::info!(target: TARGET, %id, "stored"),
            PipelineEvent::DuplicateSuppressed { id } => {
                tracing::info!(target: TARGET, %id, "duplicate suppressed")
            }
            PipelineEvent::Conflict {
                id,
                digest,
                stored_digest,
            } => {
                tracing::warn!(target: TARGET, %id, %digest, %stored_digest, "conflict: stored with another envelope, this one sent to dlq")
            }
            PipelineEvent::StoreAttemptFailed {
                id,
                attempt,
                reason,
            } => {
                tracing::warn!(target: TARGET, %id, attempt, %reason, "store attempt failed")
            }
            PipelineEvent::StoreFailed { id, reason } => {
                tracing::error!(target: TARGET, %id, %reason, "store failed")
            }
        }
    }
}

/// Keeps every event in order, for tests.
#[derive(Debug, Default)]
pub struct MemoryObserver {
    events: Mutex<Vec<PipelineEvent>>,
}

impl MemoryObserver {
    /// An observer that has heard nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything observed so far.
    pub fn events(&self) -> Vec<PipelineEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many events of this [`PipelineEvent::kind`] were observed.
    pub fn count(&self, kind: &str) -> usize {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|e| e.kind() == kind)
            .count()
    }
}

impl Observer for MemoryObserver {
    fn observe(&self, event: &PipelineEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}
