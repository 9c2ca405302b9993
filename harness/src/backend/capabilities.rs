//! What each kind of server can do, declared in one place.
//!
//! Tests and scenarios ask here before using a feature that not every backend has, and skip
//! with the reason printed, never silently. Capabilities belong to the kind of server
//! ([`EndpointKind`]: embedded, localstack, moto, aws), not to the backend that reaches it, so
//! moto's gaps do not skip tests on LocalStack or AWS. Each gap is declared with its reason:
//! moto's and LocalStack's were found by running the conformance suite against them
//! (README.md, "Fidelity"); AWS's are what its documentation says it does not promise.

#![warn(missing_docs)]

use super::EndpointKind;

/// A feature a test or scenario may need that not every backend has. The gaps of each kind of
/// server, with their reasons, are the `*_GAPS` lists below (README.md, "Fidelity").
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
    /// A server of the test's own: the test lists every stream, queue or table there is.
    IsolatedServer,
    /// The test sends raw HTTP requests without a SigV4 signature (query-protocol bodies,
    /// absent JSON keys, headers the SDK hides); other servers route requests by signature.
    UnsignedRequests,
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
    /// Kinesis CreateStream with neither ShardCount nor StreamModeDetails makes an on-demand
    /// stream.
    KinesisOnDemandByDefault,
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
    /// SQS FIFO `DeduplicationScope=messageGroup` (deduplication per message group).
    SqsDeduplicationScope,
    /// SQS FIFO sequence numbers that increase per queue, and a group's messages moved to the
    /// dead-letter queue together, in order.
    SqsFifoOrdering,
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
    /// Shard hash-key ranges split as AWS splits them (shard 0 of 2 ends at 2^127 - 1).
    KinesisHashKeyRanges,
    /// DescribeLimits reporting AWS's default shard quota (500).
    KinesisDefaultLimits,
    /// Messages a move task returns to their source get new message ids.
    SqsMovedMessageIds,
    /// DeleteTable answering with the table DELETING.
    DynamoDbDeleteStatus,
    /// Kinesis over CBOR (`application/x-amz-cbor-1.1`, the Java SDK's and the KCL's default).
    KinesisCbor,
    /// DynamoDB table descriptions as AWS gives them: no BillingModeSummary unless a
    /// BillingMode was given, UpdateTable answering UPDATING, DeleteTable's trimmed description.
    DynamoDbTableDescriptions,
    /// DynamoDB TagResource replacing the value of a tag key it already has.
    DynamoDbTags,
    /// DynamoDB deleting an expired item (Time to Live) by the next request on its table.
    DynamoDbTtlDeletion,
}

impl Feature {
    /// What the feature is, for the skip line.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::PausedClock => "tokio's paused clock",
            Feature::InProcessEdge => "the in-process edge",
            Feature::EmulatorInternals => "access to the embedded emulator's internals",
            Feature::ThroughputLimits => "the emulator's switchable throughput limits",
            Feature::IsolatedServer => "a server of the test's own",
            Feature::UnsignedRequests => "raw unsigned HTTP requests",
            Feature::StrictValidation => "AWS's input validation",
            Feature::AwsErrorMessages => "AWS's error codes and messages",
            Feature::Pagination => "AWS's Limit/NextToken paging",
            Feature::MessageMoveTasks => "SQS message move tasks",
            Feature::KinesisRecordLimit => "Kinesis's 1 MiB record limit",
            Feature::KinesisAtTimestamp => "Kinesis AT_TIMESTAMP iterators",
            Feature::KinesisExplicitHashKey => "Kinesis ExplicitHashKey routing",
            Feature::KinesisOnDemand => "Kinesis on-demand streams",
            Feature::KinesisOnDemandByDefault => "on-demand as CreateStream's default mode",
            Feature::KinesisSequenceNumbers => "AWS-shaped Kinesis sequence numbers",
            Feature::SqsSystemAttributeMd5 => "SQS MD5OfMessageSystemAttributes",
            Feature::SqsQueueAttributes => "AWS's SQS queue attributes",
            Feature::SqsDeadLetterSourceArn => "SQS DeadLetterQueueSourceArn on dead letters",
            Feature::SqsPurgeLimit => "SQS's one purge per 60 s",
            Feature::SqsDeduplicationScope => "FIFO deduplication per message group",
            Feature::SqsFifoOrdering => "FIFO sequence numbers and dead-lettering in order",
            Feature::DynamoDbNumbers => "DynamoDB number normalisation",
            Feature::DynamoDbExpressions => "DynamoDB BETWEEN and every sort-key operator",
            Feature::DynamoDbItemSize => "DynamoDB's item size rule (exactly 400 KB fits)",
            Feature::DynamoDbLiveTableSize => "TableSizeBytes updated at once",
            Feature::DynamoDbWholeAttributeReturnValues => {
                "UPDATED_OLD/NEW as whole top-level attributes"
            }
            Feature::DynamoDbAtomicUpdates => "atomic concurrent UpdateItem ADDs",
            Feature::KinesisHashKeyRanges => "AWS's shard hash-key ranges",
            Feature::KinesisDefaultLimits => "AWS's default shard quota in DescribeLimits",
            Feature::SqsMovedMessageIds => "new message ids for messages a move task returns",
            Feature::DynamoDbDeleteStatus => "DeleteTable answering DELETING",
            Feature::KinesisCbor => "Kinesis over CBOR",
            Feature::DynamoDbTableDescriptions => "DynamoDB table descriptions as AWS gives them",
            Feature::DynamoDbTags => "DynamoDB tags replaced by key",
            Feature::DynamoDbTtlDeletion => "expired DynamoDB items deleted by the next request",
        }
    }
}

/// A feature a kind of server lacks, and why (the skip line quotes the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// What is missing.
    pub feature: Feature,
    /// Why, as the skip line says it.
    pub reason: &'static str,
}

const fn gap(feature: Feature, reason: &'static str) -> Gap {
    Gap { feature, reason }
}

/// What only the in-process emulator has: its clock, its internals, a server per test.
const EMBEDDED_ONLY: &[Gap] = &[
    gap(Feature::PausedClock, "it runs on the wall clock"),
    gap(Feature::InProcessEdge, "it is reached over a socket"),
    gap(
        Feature::EmulatorInternals,
        "it is not the embedded emulator",
    ),
    gap(
        Feature::ThroughputLimits,
        "it has no switchable throughput limits",
    ),
    gap(
        Feature::IsolatedServer,
        "the server is shared, so a listing holds other tests' resources",
    ),
    gap(
        Feature::UnsignedRequests,
        "it routes (or refuses) requests by their signature",
    ),
];

/// What moto 5.2 lacks beyond [`EMBEDDED_ONLY`] (measured in CI).
const MOTO_GAPS: &[Gap] = &[
    gap(
        Feature::DynamoDbAtomicUpdates,
        "moto loses one concurrent ADD now and then: 63 of 64 in CI",
    ),
    gap(
        Feature::StrictValidation,
        "moto accepts requests AWS refuses",
    ),
    gap(
        Feature::AwsErrorMessages,
        "moto's codes and messages differ",
    ),
    gap(
        Feature::Pagination,
        "moto ignores or rejects Limit/NextToken",
    ),
    gap(
        Feature::MessageMoveTasks,
        "moto: StartMessageMoveTask is not implemented",
    ),
    gap(Feature::KinesisRecordLimit, "moto does not enforce it"),
    gap(
        Feature::KinesisCbor,
        "moto's Kinesis speaks JSON only (no application/x-amz-cbor-1.1)",
    ),
    gap(
        Feature::KinesisAtTimestamp,
        "moto answers 500 to this request",
    ),
    gap(
        Feature::KinesisExplicitHashKey,
        "moto answers 500 to this request",
    ),
    gap(
        Feature::KinesisOnDemand,
        "moto: no StreamModeDetails, other limits",
    ),
    gap(
        Feature::KinesisOnDemandByDefault,
        "moto: no StreamModeDetails",
    ),
    gap(
        Feature::KinesisSequenceNumbers,
        "moto's are small integers, not checked",
    ),
    gap(Feature::SqsSystemAttributeMd5, "moto does not return it"),
    gap(
        Feature::SqsQueueAttributes,
        "moto: no RedriveAllowPolicy, fractional timestamps",
    ),
    gap(Feature::SqsDeadLetterSourceArn, "moto does not set it"),
    gap(Feature::SqsPurgeLimit, "moto allows any number"),
    gap(
        Feature::SqsDeduplicationScope,
        "moto deduplicates per queue whatever DeduplicationScope says",
    ),
    gap(
        Feature::SqsFifoOrdering,
        "moto's sequence numbers are random; it dead-letters one message of a group per receive",
    ),
    gap(
        Feature::DynamoDbNumbers,
        "moto keeps trailing zeros and exponents",
    ),
    gap(Feature::DynamoDbExpressions, "moto answers 500 or refuses"),
    gap(
        Feature::DynamoDbItemSize,
        "moto refuses an item of exactly 400 KB",
    ),
    gap(Feature::DynamoDbLiveTableSize, "moto reports 0"),
    gap(
        Feature::DynamoDbTableDescriptions,
        "moto reports a BillingModeSummary nobody asked for and answers UpdateTable and DeleteTable ACTIVE",
    ),
    gap(
        Feature::DynamoDbTags,
        "moto adds a second tag with the same key",
    ),
    gap(
        Feature::DynamoDbTtlDeletion,
        "moto never deletes expired items",
    ),
    gap(
        Feature::DynamoDbWholeAttributeReturnValues,
        "moto returns the nested paths",
    ),
];

/// What LocalStack (localstack-core 2026.3.0: kinesis-mock for Kinesis, DynamoDB Local for
/// DynamoDB, its own SQS) lacks beyond [`EMBEDDED_ONLY`], found by running the conformance
/// suite against it (`HARNESS_BACKEND=localstack`).
const LOCALSTACK_GAPS: &[Gap] = &[
    gap(
        Feature::StrictValidation,
        "LocalStack accepts requests AWS refuses (PutRecords over 500 records, a stale receipt handle, invalid queue attributes, ...)",
    ),
    gap(
        Feature::AwsErrorMessages,
        "LocalStack's codes and messages differ (InvalidArgumentException for ValidationException; DynamoDB Local's wording)",
    ),
    gap(
        Feature::Pagination,
        "kinesis-mock's ListTagsForStream ignores Limit; DynamoDB Local ends a Query at exactly Limit items without LastEvaluatedKey",
    ),
    gap(
        Feature::KinesisAtTimestamp,
        "kinesis-mock's AT_TIMESTAMP iterator returns records that arrived before the timestamp",
    ),
    gap(
        Feature::KinesisHashKeyRanges,
        "kinesis-mock ends each shard's range one lower than AWS (shard 0 of 2 at 2^127 - 2)",
    ),
    gap(
        Feature::KinesisDefaultLimits,
        "LocalStack's default shard limit is 100 (KINESIS_SHARD_LIMIT)",
    ),
    gap(
        Feature::SqsPurgeLimit,
        "LocalStack allows a second PurgeQueue within 60 s",
    ),
    gap(
        Feature::SqsQueueAttributes,
        "LocalStack does not enforce a DLQ's RedriveAllowPolicy",
    ),
    gap(
        Feature::SqsMovedMessageIds,
        "LocalStack keeps a moved message's id",
    ),
    gap(
        Feature::DynamoDbDeleteStatus,
        "DynamoDB Local answers DeleteTable with the table ACTIVE",
    ),
    gap(
        Feature::DynamoDbTtlDeletion,
        "LocalStack deletes expired items in a periodic background job (not measured at the next request)",
    ),
    gap(
        Feature::KinesisOnDemandByDefault,
        "LocalStack creates a PROVISIONED stream when CreateStream names neither ShardCount nor StreamModeDetails",
    ),
    gap(
        Feature::DynamoDbTableDescriptions,
        "DynamoDB Local omits BillingModeSummary when BillingMode=PROVISIONED is given, and UpdateTable answers ACTIVE, not UPDATING",
    ),
    gap(
        Feature::SqsFifoOrdering,
        "LocalStack delivers a group's next message while an earlier one is in flight, and accepts a standard queue as a FIFO queue's DLQ",
    ),
    gap(
        Feature::SqsDeduplicationScope,
        "LocalStack deduplicates across message groups with DeduplicationScope=messageGroup",
    ),
];

/// What real AWS does not promise beyond [`EMBEDDED_ONLY`] (never run in CI).
const AWS_GAPS: &[Gap] = &[
    gap(
        Feature::DynamoDbLiveTableSize,
        "AWS updates TableSizeBytes about every six hours",
    ),
    gap(
        Feature::DynamoDbWholeAttributeReturnValues,
        "AWS is understood to return the updated paths, as moto does",
    ),
    gap(
        Feature::DynamoDbTtlDeletion,
        "AWS deletes expired items in the background, typically within two days",
    ),
];

/// What one kind of server can do: the features tests [`require!`](crate::require).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The kind of server these are the capabilities of.
    pub kind: EndpointKind,
    /// Tokio's paused clock drives the backend's time (only the in-process emulator).
    pub paused_time: bool,
    /// The emulator's switchable throughput limits (per-shard writes, on-demand throttling).
    pub throughput_limits: bool,
    /// SQS StartMessageMoveTask / ListMessageMoveTasks.
    pub message_move_tasks: bool,
    /// Kinesis rejects records over 1 MiB (moto does not).
    pub kinesis_record_limit: bool,
    /// Every feature this kind of server lacks, with the reason.
    gaps: &'static [&'static [Gap]],
}

impl Capabilities {
    /// The capabilities of `kind`, from the gaps declared above.
    pub fn of(kind: EndpointKind) -> Capabilities {
        let gaps: &'static [&'static [Gap]] = match kind {
            EndpointKind::Embedded => &[],
            EndpointKind::LocalStack => &[EMBEDDED_ONLY, LOCALSTACK_GAPS],
            EndpointKind::Moto => &[EMBEDDED_ONLY, MOTO_GAPS],
            EndpointKind::Aws => &[EMBEDDED_ONLY, AWS_GAPS],
        };
        let has = |f: Feature| !gaps.iter().any(|set| set.iter().any(|g| g.feature == f));
        Capabilities {
            kind,
            paused_time: has(Feature::PausedClock),
            throughput_limits: has(Feature::ThroughputLimits),
            message_move_tasks: has(Feature::MessageMoveTasks),
            kinesis_record_limit: has(Feature::KinesisRecordLimit),
            gaps,
        }
    }

    /// The gap for `feature`, when this kind of server lacks it.
    pub fn gap(&self, feature: Feature) -> Option<Gap> {
        self.gaps
            .iter()
            .flat_map(|set| set.iter())
            .find(|g| g.feature == feature)
            .copied()
    }

    /// Whether the backend has `feature`.
    pub fn has(&self, feature: Feature) -> bool {
        self.gap(feature).is_none()
    }

    /// Every gap, for listings.
    pub fn gaps(&self) -> impl Iterator<Item = Gap> + '_ {
        self.gaps.iter().flat_map(|set| set.iter()).copied()
    }

    /// `Some(reason)` when any of `needed` is missing: the one line a skipping test prints.
    pub fn missing(&self, needed: &[Feature]) -> Option<String> {
        let missing: Vec<String> = needed
            .iter()
            .filter_map(|f| self.gap(*f))
            .map(|g| format!("{} ({})", g.feature.describe(), g.reason))
            .collect();
        (!missing.is_empty()).then(|| format!("{} lacks {}", self.kind.name(), missing.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [EndpointKind; 4] = [
        EndpointKind::Embedded,
        EndpointKind::LocalStack,
        EndpointKind::Moto,
        EndpointKind::Aws,
    ];

    #[test]
    fn the_embedded_backend_has_every_feature() {
        let caps = Capabilities::of(EndpointKind::Embedded);
        assert_eq!(
            caps.missing(&[Feature::PausedClock, Feature::MessageMoveTasks]),
            None
        );
        assert_eq!(caps.gaps().count(), 0);
    }

    #[test]
    fn a_skip_names_the_kind_every_missing_feature_and_why() {
        let caps = Capabilities::of(EndpointKind::Moto);
        let reason = caps
            .missing(&[Feature::PausedClock, Feature::MessageMoveTasks])
            .unwrap();
        assert!(reason.starts_with("moto lacks"), "{reason}");
        assert!(reason.contains("paused clock"), "{reason}");
        assert!(
            reason.contains("StartMessageMoveTask is not implemented"),
            "{reason}"
        );
    }

    #[test]
    fn motos_gaps_are_not_localstacks_or_awss() {
        for feature in [
            Feature::MessageMoveTasks,
            Feature::StrictValidation,
            Feature::KinesisAtTimestamp,
        ] {
            assert!(
                !Capabilities::of(EndpointKind::Moto).has(feature),
                "{feature:?}"
            );
            assert!(
                Capabilities::of(EndpointKind::Aws).has(feature),
                "{feature:?}"
            );
        }
        for kind in [
            EndpointKind::LocalStack,
            EndpointKind::Moto,
            EndpointKind::Aws,
        ] {
            assert!(
                !Capabilities::of(kind).has(Feature::PausedClock),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn every_gap_is_declared_once_per_kind() {
        for kind in KINDS {
            let gaps: Vec<Feature> = Capabilities::of(kind).gaps().map(|g| g.feature).collect();
            let mut unique = gaps.clone();
            unique.sort_by_key(|f| format!("{f:?}"));
            unique.dedup();
            assert_eq!(gaps.len(), unique.len(), "{kind:?} declares a gap twice");
        }
    }

    #[test]
    fn the_flags_agree_with_the_feature_lists() {
        for kind in KINDS {
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
