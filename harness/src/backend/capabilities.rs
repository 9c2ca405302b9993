//! What each backend can do, declared in one place.
//!
//! Tests and scenarios ask here before using a feature that not every backend has, and skip
//! with the reason printed, never silently.

use super::BackendKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Tokio's paused clock drives the backend's time (only the in-process emulator).
    pub paused_time: bool,
    /// The emulator's switchable throughput limits (per-shard writes, on-demand throttling).
    pub throughput_limits: bool,
    /// SQS StartMessageMoveTask / ListMessageMoveTasks.
    pub message_move_tasks: bool,
    /// Kinesis rejects records over 1 MiB (moto does not).
    pub kinesis_record_limit: bool,
}

impl Capabilities {
    pub fn of(kind: BackendKind) -> Capabilities {
        match kind {
            BackendKind::Embedded => Capabilities {
                paused_time: true,
                throughput_limits: true,
                message_move_tasks: true,
                kinesis_record_limit: true,
            },
            BackendKind::LocalStack => Capabilities {
                paused_time: false,
                throughput_limits: false,
                message_move_tasks: true,
                kinesis_record_limit: true,
            },
            // Measured against moto 5 (the endpoint CI uses); real AWS has more.
            BackendKind::Endpoint => Capabilities {
                paused_time: false,
                throughput_limits: false,
                message_move_tasks: false,
                kinesis_record_limit: false,
            },
        }
    }

    /// `Err(reason)` when `needed` is missing, for a loud skip.
    pub fn require(&self, kind: BackendKind, needed: &[(&str, bool)]) -> Result<(), String> {
        let missing: Vec<&str> = needed
            .iter()
            .filter(|(_, has)| !has)
            .map(|(name, _)| *name)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the {} backend lacks: {}",
                kind.name(),
                missing.join(", ")
            ))
        }
    }
}
