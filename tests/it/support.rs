//! What every test needs: a backend to talk to and SDK clients for it.
//!
//! The backend is the one `HARNESS_BACKEND` names (embedded by default; see
//! `harness::backend`). `Env::start(Edge::Http)` on the embedded backend serves a fresh emulator
//! on an ephemeral loopback port; on `endpoint` and `localstack` it uses the shared server
//! (moto, LocalStack, ...) through the SDK configuration `harness::backend::Backend` builds.
//! `Edge::InProcess` connects the SDK clients to a fresh emulator with no socket
//! (paused-clock capable) and exists only on the embedded backend.
//!
//! What a backend cannot do is declared in `harness::backend::Capabilities`; a test that needs
//! such a feature starts with `crate::require!(Feature, ...)` (`harness::require!`, from
//! `harness::testing`), which prints one line `SKIPPED <test>: <reason>` to stderr (and a
//! JSON line to `HARNESS_SKIP_LOG`) and returns when the backend lacks it. Tests sharing a
//! backend use [`unique`] resource names.
//!
//! `on_both_edges!(test_fn, ...)` turns `async fn test_fn(env: &Env)` into one test per edge.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use emulator::client::InProcessClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};
use harness::backend::{Backend, BackendKind};

/// What a test may need that not every backend has (declared per backend in
/// `harness::backend::Capabilities`).
pub use harness::backend::Feature as Need;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The backend behind a real socket (a fresh emulator on a loopback port, or the shared
    /// server of a non-embedded backend).
    Http,
    /// The emulator called in process through the SDK's `HttpClient`.
    InProcess,
}

/// The backend settings this test run uses, read once from the environment.
pub use harness::testing::settings;

pub fn backend_kind() -> BackendKind {
    settings().kind
}

/// Whether the tests run against the embedded emulator.
pub fn is_embedded() -> bool {
    backend_kind() == BackendKind::Embedded
}

/// `Some(reason)` when the backend lacks one of `needs` or cannot be used at all; and the
/// line (and JSON record) a skipped test leaves: the library's, so a user's suite and this one
/// skip alike.
pub use harness::testing::{skip_reason, skipped};

/// What each conformance test needs beyond a backend to talk to, keyed by the name of its
/// `async fn` (one place for the whole suite, so the conformance modules need no edits and the
/// list reads as the fidelity table: see README.md, "Fidelity"). `on_both_edges!` consults it.
const TEST_NEEDS: &[(&str, &[Need])] = &[
    // SQS FIFO (emulator/sqs/fifo.rs), measured against moto 5.
    (
        "fifo_queues_have_fifo_names_and_report_their_attributes",
        &[Need::StrictValidation],
    ),
    (
        "deduplication_per_message_group_keeps_equal_ids_of_other_groups",
        &[Need::SqsDeduplicationScope],
    ),
    (
        "a_duplicate_within_the_window_is_accepted_and_delivered_once",
        &[Need::SqsFifoOrdering],
    ),
    (
        "fifo_batches_answer_sequence_numbers",
        &[Need::SqsFifoOrdering],
    ),
    (
        "a_fifo_queue_dead_letters_to_a_fifo_queue_in_order",
        &[Need::SqsFifoOrdering],
    ),
    (
        "a_group_is_delivered_in_order_one_batch_at_a_time",
        &[Need::SqsFifoOrdering],
    ),
    // SQS: the awsQuery protocol and the answers recorded on AWS (emulator/sqs/query.rs,
    // emulator/sqs/recorded.rs); measured against moto 5.
    (
        "query_create_queue_answers_xml_with_the_queue_url_and_request_id",
        &[Need::UnsignedRequests],
    ),
    (
        "query_errors_are_xml_with_type_and_query_code",
        &[Need::UnsignedRequests],
    ),
    (
        "query_get_addresses_the_queue_by_its_url_path",
        &[Need::UnsignedRequests],
    ),
    (
        "query_batches_and_message_attributes_use_flattened_members",
        &[Need::UnsignedRequests],
    ),
    (
        "query_queue_attributes_and_tags_round_trip",
        &[Need::UnsignedRequests],
    ),
    (
        "json_errors_carry_the_modelled_shape_and_the_query_code",
        &[Need::UnsignedRequests],
    ),
    (
        "empty_queue_urls_and_failed_lists_are_absent",
        &[Need::UnsignedRequests],
    ),
    (
        "x_amzn_trace_id_becomes_aws_trace_header",
        &[Need::UnsignedRequests],
    ),
    (
        "attribute_names_allow_any_letters_and_string_values_no_control_characters",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
    (
        "batch_size_errors_name_the_sizes",
        &[Need::AwsErrorMessages],
    ),
    (
        "change_message_visibility_of_a_deleted_message_is_invalid_parameter_value",
        &[Need::AwsErrorMessages],
    ),
    (
        "create_queue_within_60_seconds_of_deleting_it_is_queue_deleted_recently",
        &[Need::StrictValidation],
    ),
    (
        "fifo_only_attributes_on_a_standard_queue_are_unknown_attributes",
        &[Need::AwsErrorMessages],
    ),
    (
        "message_group_id_is_validated_on_standard_queues",
        &[Need::StrictValidation],
    ),
    (
        "cancel_message_move_task_checks_its_handle",
        &[Need::MessageMoveTasks, Need::AwsErrorMessages],
    ),
    (
        "receive_parameters_are_validated",
        &[Need::StrictValidation],
    ),
    (
        "an_unknown_shard_is_resource_not_found",
        &[Need::AwsErrorMessages],
    ),
    (
        "retention_changes_within_24_to_8760_hours",
        &[Need::AwsErrorMessages],
    ),
    (
        "operations_on_a_missing_stream_are_resource_not_found",
        &[Need::AwsErrorMessages],
    ),
    // Kinesis
    (
        "a_created_stream_is_active_with_evenly_split_md5_ranges",
        &[Need::KinesisOnDemand, Need::KinesisHashKeyRanges],
    ),
    (
        "on_demand_streams_start_with_four_shards",
        &[Need::KinesisOnDemand],
    ),
    (
        "describe_limits_counts_open_shards_and_on_demand_streams",
        &[Need::KinesisOnDemand, Need::KinesisDefaultLimits],
    ),
    (
        "create_stream_refuses_bad_names_and_counts",
        &[Need::StrictValidation],
    ),
    (
        "stream_arn_is_accepted_wherever_stream_name_is",
        &[Need::StrictValidation],
    ),
    (
        "a_sequence_number_from_another_shard_is_refused",
        &[Need::StrictValidation],
    ),
    (
        "get_records_limit_must_be_1_to_10000",
        &[Need::StrictValidation],
    ),
    (
        "iterator_type_and_sequence_number_must_agree",
        &[Need::StrictValidation],
    ),
    (
        "put_records_refuses_more_than_500_records_or_5_mib",
        &[Need::StrictValidation],
    ),
    (
        "sequence_number_for_ordering_is_accepted",
        &[Need::KinesisSequenceNumbers],
    ),
    (
        "sequence_numbers_are_fixed_width_decimals_increasing_per_shard",
        &[Need::KinesisSequenceNumbers],
    ),
    (
        "a_stream_carries_at_most_50_tags",
        &[Need::StrictValidation],
    ),
    (
        "larger_max_record_sizes_are_refused_not_ignored",
        &[Need::StrictValidation],
    ),
    (
        "creating_an_existing_stream_is_resource_in_use",
        &[Need::AwsErrorMessages],
    ),
    ("garbage_iterators_are_invalid", &[Need::AwsErrorMessages]),
    (
        "partition_keys_must_have_1_to_256_characters",
        &[Need::AwsErrorMessages],
    ),
    ("describe_stream_pages_shards", &[Need::Pagination]),
    ("list_shards_paginates_with_next_token", &[Need::Pagination]),
    (
        "tags_are_added_listed_in_key_order_and_removed",
        &[Need::Pagination],
    ),
    (
        "list_streams_paginates_in_name_order",
        &[Need::IsolatedServer],
    ),
    (
        "at_timestamp_starts_at_the_first_record_arriving_at_or_after_it",
        &[Need::KinesisAtTimestamp],
    ),
    (
        "explicit_hash_key_overrides_the_partition_key",
        &[Need::KinesisExplicitHashKey, Need::KinesisHashKeyRanges],
    ),
    (
        "a_record_over_1_mib_is_refused",
        &[Need::KinesisRecordLimit, Need::AwsErrorMessages],
    ),
    (
        "cbor_records_round_trip_byte_exact_with_millisecond_timestamps",
        &[Need::KinesisCbor],
    ),
    (
        "cbor_at_timestamp_takes_epoch_milliseconds",
        &[
            Need::KinesisCbor,
            Need::KinesisAtTimestamp,
            Need::AwsErrorMessages,
        ],
    ),
    (
        "cbor_errors_are_cbor_maps_with_type_and_message",
        &[Need::KinesisCbor, Need::AwsErrorMessages],
    ),
    (
        "create_stream_without_shard_count_or_mode_is_on_demand_with_four_shards",
        &[Need::KinesisOnDemand, Need::KinesisOnDemandByDefault],
    ),
    // SQS
    ("batches_report_each_entry", &[Need::StrictValidation]),
    (
        "change_message_visibility_to_zero_makes_a_message_receivable_at_once",
        &[Need::StrictValidation],
    ),
    (
        "oversized_and_invalid_messages_get_aws_errors",
        &[Need::StrictValidation],
    ),
    (
        "invalid_queue_attributes_are_rejected",
        &[Need::StrictValidation],
    ),
    (
        "create_queue_is_idempotent_only_with_the_same_attributes",
        &[Need::AwsErrorMessages],
    ),
    (
        "list_queues_filters_by_prefix_and_paginates",
        &[Need::Pagination],
    ),
    (
        "send_and_receive_return_the_md5_digests_aws_computes",
        &[Need::SqsSystemAttributeMd5],
    ),
    (
        "queue_attributes_report_defaults_settings_and_counts",
        &[Need::SqsQueueAttributes],
    ),
    (
        "a_dlq_redrive_allow_policy_decides_which_queues_may_use_it",
        &[Need::SqsQueueAttributes],
    ),
    (
        "a_message_moves_to_the_dlq_at_exactly_max_receive_count",
        &[Need::SqsDeadLetterSourceArn],
    ),
    (
        "purge_queue_deletes_all_messages_once_a_minute",
        &[Need::SqsPurgeLimit],
    ),
    (
        "a_move_task_can_target_another_queue",
        &[Need::MessageMoveTasks],
    ),
    (
        "a_move_task_returns_dead_letters_to_their_source_as_new_messages",
        &[Need::MessageMoveTasks, Need::SqsMovedMessageIds],
    ),
    (
        "move_task_errors",
        &[Need::MessageMoveTasks, Need::AwsErrorMessages],
    ),
    // DynamoDB
    (
        "batch_limits_are_enforced",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
    (
        "create_table_validates_its_input",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
    (
        "expression_names_and_values_must_be_defined_and_used",
        &[Need::StrictValidation],
    ),
    (
        "keys_and_attribute_values_are_validated",
        &[Need::AwsErrorMessages],
    ),
    (
        "return_values_are_checked_per_operation",
        &[Need::AwsErrorMessages],
    ),
    (
        "update_item_arithmetic_if_not_exists_and_remove",
        &[Need::AwsErrorMessages],
    ),
    ("list_tables_pages_with_limit", &[Need::IsolatedServer]),
    ("query_pages_until_exhausted", &[Need::Pagination]),
    (
        "items_round_trip_every_type_and_normalise_numbers",
        &[Need::DynamoDbNumbers],
    ),
    (
        "numbers_keep_their_precision",
        &[Need::DynamoDbNumbers, Need::AwsErrorMessages],
    ),
    (
        "conditions_use_functions_comparators_and_logic",
        &[Need::DynamoDbExpressions],
    ),
    (
        "query_supports_every_sort_key_operator",
        &[Need::DynamoDbExpressions, Need::AwsErrorMessages],
    ),
    ("item_size_limit_is_400_kb", &[Need::DynamoDbItemSize]),
    (
        "concurrent_counter_updates_are_not_lost",
        &[Need::DynamoDbAtomicUpdates],
    ),
    (
        "table_lifecycle_create_describe_list_delete",
        &[Need::DynamoDbLiveTableSize, Need::DynamoDbDeleteStatus],
    ),
    (
        "update_item_return_values_and_failures",
        &[Need::DynamoDbWholeAttributeReturnValues],
    ),
    (
        "a_provisioned_table_created_without_billing_mode_has_no_billing_mode_summary",
        &[Need::DynamoDbTableDescriptions],
    ),
    (
        "delete_table_describes_the_table_without_its_schema",
        &[Need::DynamoDbTableDescriptions, Need::DynamoDbDeleteStatus],
    ),
    (
        "update_table_changes_throughput_and_switches_billing_modes",
        &[Need::DynamoDbTableDescriptions],
    ),
    (
        "update_table_refuses_what_aws_refuses",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
    (
        "update_table_refuses_what_the_emulator_does_not_model",
        &[Need::EmulatorInternals],
    ),
    (
        "batch_write_put_without_its_key_does_not_match_the_schema",
        &[Need::AwsErrorMessages],
    ),
    (
        "a_failed_condition_with_all_old_has_message_and_item_but_no_lowercase_message",
        &[Need::AwsErrorMessages],
    ),
    (
        "time_to_live_is_enabled_described_and_refused_as_aws_refuses",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
    (
        "items_already_expired_are_deleted_once_time_to_live_is_enabled",
        &[Need::DynamoDbTtlDeletion],
    ),
    (
        "tags_are_added_listed_and_removed_by_table_arn",
        &[Need::DynamoDbTags],
    ),
    (
        "tagging_refuses_unknown_tables_bad_arns_and_empty_tags",
        &[Need::StrictValidation, Need::AwsErrorMessages],
    ),
];

/// What the conformance test `name` (its `async fn`) needs, from [`TEST_NEEDS`].
pub fn needs_of(name: &str) -> &'static [Need] {
    TEST_NEEDS
        .iter()
        .find(|(test, _)| *test == name)
        .map_or(&[], |(_, needs)| *needs)
}

/// `skip_reason` for the conformance test `name` plus `extra` needs.
pub fn skip_reason_for(name: &str, extra: &[Need]) -> Option<String> {
    let needs: Vec<Need> = needs_of(name).iter().chain(extra).copied().collect();
    skip_reason(&needs)
}

pub struct Env {
    emulator: Option<Emulator>,
    server: Option<ServerHandle>,
    sdk: SdkConfig,
    endpoint_url: Option<String>,
}

impl Env {
    /// A backend to test against. On non-embedded backends only `Edge::Http` exists: call
    /// `require!(InProcessEdge)` (or `PausedClock`) before asking for `Edge::InProcess`.
    pub async fn start(edge: Edge) -> Env {
        if is_embedded() {
            return Self::start_with(edge, EmulatorConfig::default()).await;
        }
        assert_eq!(
            edge,
            Edge::Http,
            "the {} backend has no in-process edge: start the test with require!(InProcessEdge)",
            backend_kind().name()
        );
        let backend = Backend::start(settings())
            .await
            .unwrap_or_else(|e| panic!("the {} backend: {e}", backend_kind().name()));
        Env {
            emulator: None,
            server: None,
            sdk: backend.sdk_config(),
            endpoint_url: backend.endpoint_url().map(str::to_owned),
        }
    }

    /// A fresh embedded emulator with `config` (its settings exist only on the embedded
    /// backend: start the test with `require!(EmulatorInternals)` or `ThroughputLimits`).
    pub async fn start_with(edge: Edge, config: EmulatorConfig) -> Env {
        assert!(
            is_embedded(),
            "emulator settings exist only on the embedded backend: start the test with require!(EmulatorInternals)"
        );
        let emulator = Emulator::new(config);
        let base = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "static",
            )))
            .behavior_version(BehaviorVersion::latest());
        match edge {
            Edge::Http => {
                let server = emulator::server::spawn(([127, 0, 0, 1], 0).into(), emulator.clone())
                    .await
                    .expect("bind an ephemeral port");
                let url = server.endpoint_url();
                let sdk = base.endpoint_url(&url).build();
                Env {
                    emulator: Some(emulator),
                    server: Some(server),
                    sdk,
                    endpoint_url: Some(url),
                }
            }
            Edge::InProcess => {
                let sdk = base
                    .endpoint_url("http://emulator.local")
                    .http_client(InProcessClient::new(emulator.clone()))
                    .build();
                Env {
                    emulator: Some(emulator),
                    server: None,
                    sdk,
                    endpoint_url: None,
                }
            }
        }
    }

    /// The emulator itself, when the backend is the embedded one.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// The HTTP endpoint, when there is a socket (and one URL for every service).
    pub fn endpoint_url(&self) -> Option<String> {
        self.endpoint_url.clone()
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }
}

/// A resource name no other test uses, so tests can share one server (the process id keeps
/// two runs against one long-lived server apart too).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `on_both_edges!(f, g)`: for each `async fn f(env: &Env)`, a module `f` with the tests
/// `f::over_http` and `f::in_process`. On a non-embedded backend `over_http` runs against it
/// unless the backend lacks what [`TEST_NEEDS`] says `f` needs, and `in_process` skips; every
/// skip prints its line.
#[macro_export]
macro_rules! on_both_edges {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn over_http() {
                    if let Some(reason) = $crate::support::skip_reason_for(stringify!($name), &[]) {
                        $crate::support::skipped(&$crate::test_name!(), &reason);
                        return;
                    }
                    let env = $crate::support::Env::start($crate::support::Edge::Http).await;
                    super::$name(&env).await;
                }
                #[tokio::test]
                async fn in_process() {
                    let needs = [$crate::support::Need::InProcessEdge];
                    if let Some(reason) = $crate::support::skip_reason_for(stringify!($name), &needs) {
                        $crate::support::skipped(&$crate::test_name!(), &reason);
                        return;
                    }
                    let env = $crate::support::Env::start($crate::support::Edge::InProcess).await;
                    super::$name(&env).await;
                }
            }
        )*
    };
}

/// Runs a pipeline test's body on the backend `HARNESS_BACKEND` names: on a current-thread
/// runtime under tokio's paused clock for the embedded emulator (production timeouts cost no
/// wall time), on a multi-threaded runtime in real time elsewhere (where
/// `Harness::start` applies the real-time profile).
pub fn on_any_clock<F: std::future::Future>(body: F) -> F::Output {
    let mut builder = if is_embedded() {
        let mut b = tokio::runtime::Builder::new_current_thread();
        b.start_paused(true);
        b
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(body)
}
