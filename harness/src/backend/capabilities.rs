//! What each backend can do, declared in one place.
//!
//! Tests and scenarios ask here before using a feature that not every backend has, and skip
//! with the reason printed, never silently. The endpoint backend is described as CI meets it:
//! moto server (measured against moto 5); real AWS has more, but is never used in CI.

use super::BackendKind;

/// A feature a test or scenario may need that not every backend has. The moto-specific ones
/// were found by running the conformance suite against moto 5.2 (README.md, "Fidelity").
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
    /// Waiting out real SQS visibility timeouts (30 s each) within a test's time budget:
    /// scenarios that redeliver several times take minutes in real time.
    FastRedelivery,
    /// A server of the test's own: the test lists every stream, queue or table there is.
    IsolatedServer,
    /// Requests AWS refuses are refused (names, counts, sizes, parameter ranges, stale receipt
    /// handles, characters outside SQS's allowed set).
    StrictValidation,
    /// AWS's error codes and messages for refused requests.
    AwsErrorMessages,
    /// `Limit` / `NextToken` / `MaxResults` paging of DescribeStream, ListShards,
    /// ListTagsForStream, ListQueues and Query.
    Pagination,
    /// SQS StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.
    MessageMoveTasks,
    /// Kinesis rejects records over 1 MiB.
    KinesisRecordLimit,
    /// Kinesis AT_TIMESTAMP shard iterators.
    KinesisAtTimestamp,
    /// Kinesis ExplicitHashKey routing.
    KinesisExplicitHashKey,
    /// Kinesis on-demand streams (StreamModeDetails, 4 initial shards, DescribeLimits counts).
    KinesisOnDemand,
    /// Kinesis sequence numbers as AWS shapes them (fixed-width decimals, checked against
    /// their shard and SequenceNumberForOrdering).
    KinesisSequenceNumbers,
    /// SQS MD5OfMessageSystemAttributes.
    SqsSystemAttributeMd5,
    /// SQS queue attributes as AWS reports them (RedriveAllowPolicy, integer timestamps).
    SqsQueueAttributes,
    /// SQS DeadLetterQueueSourceArn on messages moved to a DLQ.
    SqsDeadLetterSourceArn,
    /// SQS PurgeQueueInProgress within 60 s of a purge.
    SqsPurgeLimit,
    /// DynamoDB number normalisation and 38-digit precision without exponents.
    DynamoDbNumbers,
    /// DynamoDB BETWEEN conditions and every sort-key operator in key conditions.
    DynamoDbExpressions,
    /// DynamoDB's item size rules (an item of exactly 400 KB fits).
    DynamoDbItemSize,
    /// DynamoDB TableSizeBytes / ItemCount reflecting writes at once (AWS itself updates them
    /// about every six hours).
    DynamoDbLiveTableSize,
    /// DynamoDB UPDATED_OLD / UPDATED_NEW returning whole top-level attributes.
    DynamoDbWholeAttributeReturnValues,
    /// Concurrent UpdateItem ADDs on one item all count (DynamoDB applies each atomically).
    DynamoDbAtomicUpdates,
}

impl Feature {
    /// What the feature is, for the skip line.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::PausedClock => "tokio's paused clock (needs the in-process emulator)",
            Feature::InProcessEdge => "the in-process edge (no socket; embedded emulator only)",
            Feature::EmulatorInternals => "access to the embedded emulator's internals",
            Feature::ThroughputLimits => "the emulator's switchable throughput limits",
            Feature::FastRedelivery => {
                "SQS redeliveries in scenario time (real 30 s visibility timeouts are too slow)"
            }
            Feature::IsolatedServer => {
                "a server of the test's own (the test lists every resource; the endpoint is shared)"
            }
            Feature::StrictValidation => {
                "AWS's input validation (moto accepts requests AWS refuses)"
            }
            Feature::AwsErrorMessages => "AWS's error codes and messages (moto's differ)",
            Feature::Pagination => "AWS's Limit/NextToken paging (moto ignores or rejects it)",
            Feature::MessageMoveTasks => {
                "SQS message move tasks (moto: StartMessageMoveTask is not implemented)"
            }
            Feature::KinesisRecordLimit => {
                "Kinesis's 1 MiB record limit (moto does not enforce it)"
            }
            Feature::KinesisAtTimestamp => {
                "Kinesis AT_TIMESTAMP iterators (moto answers 500 to this request)"
            }
            Feature::KinesisExplicitHashKey => {
                "Kinesis ExplicitHashKey routing (moto answers 500 to this request)"
            }
            Feature::KinesisOnDemand => {
                "Kinesis on-demand streams (moto: no StreamModeDetails, other limits)"
            }
            Feature::KinesisSequenceNumbers => {
                "AWS-shaped Kinesis sequence numbers (moto's are small integers, not checked)"
            }
            Feature::SqsSystemAttributeMd5 => {
                "SQS MD5OfMessageSystemAttributes (moto does not return it)"
            }
            Feature::SqsQueueAttributes => {
                "AWS's SQS queue attributes (moto: no RedriveAllowPolicy, fractional timestamps)"
            }
            Feature::SqsDeadLetterSourceArn => {
                "SQS DeadLetterQueueSourceArn on dead letters (moto does not set it)"
            }
            Feature::SqsPurgeLimit => "SQS's one purge per 60 s (moto allows any number)",
            Feature::DynamoDbNumbers => {
                "DynamoDB number normalisation (moto keeps trailing zeros and exponents)"
            }
            Feature::DynamoDbExpressions => {
                "DynamoDB BETWEEN and every sort-key operator (moto answers 500 or refuses)"
            }
            Feature::DynamoDbItemSize => {
                "DynamoDB's item size rule (moto refuses an item of exactly 400 KB)"
            }
            Feature::DynamoDbLiveTableSize => {
                "TableSizeBytes updated at once (moto reports 0; AWS updates it every ~6 h)"
            }
            Feature::DynamoDbWholeAttributeReturnValues => {
                "UPDATED_OLD/NEW as whole top-level attributes (moto returns the nested paths)"
            }
            Feature::DynamoDbAtomicUpdates => {
                "atomic concurrent UpdateItem ADDs (moto loses one now and then: 63 of 64 in CI)"
            }
        }
    }
}

/// What moto 5.2 (the endpoint CI uses) lacks beyond what no socketed backend has.
const MOTO_GAPS: &[Feature] = &[
    Feature::DynamoDbAtomicUpdates,
    Feature::StrictValidation,
    Feature::AwsErrorMessages,
    Feature::Pagination,
    Feature::MessageMoveTasks,
    Feature::KinesisRecordLimit,
    Feature::KinesisAtTimestamp,
    Feature::KinesisExplicitHashKey,
    Feature::KinesisOnDemand,
    Feature::KinesisSequenceNumbers,
    Feature::SqsSystemAttributeMd5,
    Feature::SqsQueueAttributes,
    Feature::SqsDeadLetterSourceArn,
    Feature::SqsPurgeLimit,
    Feature::DynamoDbNumbers,
    Feature::DynamoDbExpressions,
    Feature::DynamoDbItemSize,
    Feature::DynamoDbLiveTableSize,
    Feature::DynamoDbWholeAttributeReturnValues,
];

/// What no backend but the embedded emulator has: its clock, its internals, a server per test.
const EMBEDDED_ONLY: &[Feature] = &[
    Feature::PausedClock,
    Feature::InProcessEdge,
    Feature::EmulatorInternals,
    Feature::ThroughputLimits,
    Feature::FastRedelivery,
    Feature::IsolatedServer,
];

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
    /// Every feature this backend lacks.
    lacks: &'static [&'static [Feature]],
}

impl Capabilities {
    pub fn of(kind: BackendKind) -> Capabilities {
        match kind {
            BackendKind::Embedded => Capabilities {
                paused_time: true,
                throughput_limits: true,
                message_move_tasks: true,
                kinesis_record_limit: true,
                lacks: &[],
            },
            // Not measured here (no Docker engine): assumed to have what AWS has until a run
            // with Docker says otherwise.
            BackendKind::LocalStack => Capabilities {
                paused_time: false,
                throughput_limits: false,
                message_move_tasks: true,
                kinesis_record_limit: true,
                lacks: &[EMBEDDED_ONLY],
            },
            // Measured against moto 5 (the endpoint CI uses); real AWS has more.
            BackendKind::Endpoint => Capabilities {
                paused_time: false,
                throughput_limits: false,
                message_move_tasks: false,
                kinesis_record_limit: false,
                lacks: &[EMBEDDED_ONLY, MOTO_GAPS],
            },
        }
    }

    /// Whether the backend has `feature`.
    pub fn has(&self, feature: Feature) -> bool {
        !self.lacks.iter().any(|set| set.contains(&feature))
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

    #[test]
    fn the_flags_agree_with_the_feature_lists() {
        for kind in [
            BackendKind::Embedded,
            BackendKind::LocalStack,
            BackendKind::Endpoint,
        ] {
            let caps = Capabilities::of(kind);
            assert_eq!(caps.paused_time, caps.has(Feature::PausedClock), "{kind:?}");
            assert_eq!(
                caps.throughput_limits,
                caps.has(Feature::ThroughputLimits),
                "{kind:?}"
            );
            assert_eq!(
                caps.message_move_tasks,
                caps.has(Feature::MessageMoveTasks),
                "{kind:?}"
            );
            assert_eq!(
                caps.kinesis_record_limit,
                caps.has(Feature::KinesisRecordLimit),
                "{kind:?}"
            );
        }
    }
}
