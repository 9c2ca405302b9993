//! What each backend can do, declared in one place.
//!
//! Tests and scenarios ask here before using a feature that not every backend has, and skip
//! with the reason printed, never silently. The endpoint backend is described as CI meets it:
//! moto server (measured against moto 5); real AWS has more, but is never used in CI.

use super::BackendKind;

/// A feature a test or scenario may need that not every backend has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// Tokio's paused clock drives the backend's time (only the in-process emulator).
    PausedClock,
    /// SDK clients reach the backend in process, without a socket (the embedded emulator).
    InProcessEdge,
    /// The test inspects or configures the embedded emulator itself (its clock, its router,
    /// its settings).
    EmulatorInternals,
    /// The emulator's switchable throughput limits (per-shard writes, on-demand throttling).
    ThroughputLimits,
    /// SQS StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.
    MessageMoveTasks,
    /// Kinesis rejects records over 1 MiB.
    KinesisRecordLimit,
    /// Waiting out real SQS visibility timeouts (30 s each) within a test's time budget:
    /// scenarios that redeliver several times take minutes in real time.
    FastRedelivery,
}

impl Feature {
    /// What the feature is, for the skip line.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::PausedClock => "tokio's paused clock (needs the in-process emulator)",
            Feature::InProcessEdge => "the in-process edge (no socket; embedded emulator only)",
            Feature::EmulatorInternals => "access to the embedded emulator's internals",
            Feature::ThroughputLimits => "the emulator's switchable throughput limits",
            Feature::MessageMoveTasks => "SQS message move tasks (StartMessageMoveTask)",
            Feature::KinesisRecordLimit => "Kinesis's 1 MiB record limit",
            Feature::FastRedelivery => {
                "SQS redeliveries in scenario time (real 30 s visibility timeouts are too slow)"
            }
        }
    }
}

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

    /// Whether the backend has `feature`.
    pub fn has(&self, feature: Feature) -> bool {
        match feature {
            // Paused time, the in-process edge and the emulator's internals all come with
            // the embedded emulator and with nothing else.
            Feature::PausedClock | Feature::InProcessEdge | Feature::EmulatorInternals => {
                self.paused_time
            }
            Feature::ThroughputLimits => self.throughput_limits,
            Feature::MessageMoveTasks => self.message_move_tasks,
            Feature::KinesisRecordLimit => self.kinesis_record_limit,
            Feature::FastRedelivery => self.paused_time,
        }
    }

    /// `Some(reason)` when any of `needed` is missing: the one line a skipping test prints.
    pub fn missing(&self, kind: BackendKind, needed: &[Feature]) -> Option<String> {
        let missing: Vec<&str> = needed
            .iter()
            .filter(|f| !self.has(**f))
            .map(|f| f.describe())
            .collect();
        (!missing.is_empty())
            .then(|| format!("the {} backend lacks {}", kind.name(), missing.join("; ")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_backend_has_every_feature() {
        let caps = Capabilities::of(BackendKind::Embedded);
        assert_eq!(
            caps.missing(
                BackendKind::Embedded,
                &[Feature::PausedClock, Feature::MessageMoveTasks]
            ),
            None
        );
    }

    #[test]
    fn an_endpoint_names_every_missing_feature() {
        let caps = Capabilities::of(BackendKind::Endpoint);
        let reason = caps
            .missing(
                BackendKind::Endpoint,
                &[Feature::PausedClock, Feature::MessageMoveTasks],
            )
            .unwrap();
        assert!(reason.starts_with("the endpoint backend lacks"), "{reason}");
        assert!(reason.contains("paused clock"), "{reason}");
        assert!(reason.contains("StartMessageMoveTask"), "{reason}");
    }
}
