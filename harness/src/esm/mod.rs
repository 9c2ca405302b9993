//! Event source mappings: pollers that play Lambda's part for the Kinesis and SQS handlers.
//!
//! Layout:
//! - [`handler`]: the handler traits the mappings invoke (closures over `aws_lambda_events`);
//! - [`event`]: SDK records and messages turned into Lambda's exact event shapes;
//! - [`kinesis`]: the Kinesis mapping (a consumer per shard, retries, bisect, partial batch
//!   responses, parallelization, on-failure destination, checkpoints);
//! - [`sqs`]: the SQS mapping (long-polling pollers, partial batch responses, deletion);
//! - [`filter`]: `FilterCriteria`, Lambda's event filtering grammar, for both mappings;
//! - [`idle`]: how a handle knows its mapping has caught up;
//! - [`hooks`]: where delivery faults enter;
//! - [`response`]: a function's response body read as Lambda reads it (for out-of-process
//!   functions, whose JSON can be malformed in ways the typed responses cannot).
//!
//! Time is tokio's clock throughout (polling, windows, retry delays, record age through an
//! [`emulator::Clock`]), so a mapping runs under a paused clock.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use aws_lambda_events::event::kinesis::KinesisEvent;
//! use aws_lambda_events::event::streams::KinesisEventResponse;
//! use harness::backend::Backend;
//! use harness::esm::{
//!     BoxError, InMemoryCheckpoints, KinesisHandler, KinesisMapping, KinesisMappingConfig,
//!     NoDeliveryFaults,
//! };
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> anyhow::Result<()> {
//! let backend = Backend::embedded(Default::default(), None).await?;
//! let kinesis = aws_sdk_kinesis::Client::new(&backend.sdk_config());
//! let sqs = aws_sdk_sqs::Client::new(&backend.sdk_config());
//! kinesis.create_stream().stream_name("events").shard_count(1).send().await?;
//! kinesis.put_record().stream_name("events").partition_key("k")
//!     .data(aws_sdk_kinesis::primitives::Blob::new("hello")).send().await?;
//!
//! let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
//! let counter = seen.clone();
//! let handler: Arc<dyn KinesisHandler> = Arc::new(move |event: KinesisEvent| {
//!     let counter = counter.clone();
//!     async move {
//!         counter.fetch_add(event.records.len(), std::sync::atomic::Ordering::Relaxed);
//!         Ok::<_, BoxError>(KinesisEventResponse::default())
//!     }
//! });
//! let config = KinesisMappingConfig { report_batch_item_failures: true, ..Default::default() };
//! let mapping = KinesisMapping::spawn(kinesis, sqs, "events", config, handler,
//!     Arc::new(InMemoryCheckpoints::new()), Arc::new(NoDeliveryFaults)).await?;
//! mapping.wait_idle(Duration::from_secs(60)).await?;
//! mapping.stop().await;
//! assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
//! # Ok(())
//! # }
//! ```
//!
//! Choices where AWS documents nothing (each is one line to change):
//! - a failed Kinesis batch is retried after a backoff doubling from `retry_delay` (1 s) up to
//!   `max_retry_delay` (10 s), fitted to invocation counts recorded on AWS
//!   (`kinesis::batch::retry_backoff`);
//! - a partial batch response that moves the checkpoint gives the remaining records a fresh
//!   `MaximumRetryAttempts` budget and invoke count, and they are re-invoked at once (the
//!   budget is recorded on AWS; the immediacy is our choice); one that does not move it (the
//!   first record failed) is a retry like any other;
//! - bisected halves keep the retries their parent had used (bisecting itself is free); a
//!   partial response Lambda cannot use fails the batch without bisecting it (bisect is
//!   documented for function errors, and AWS records such a response as `functionError:
//!   null`);
//! - records past `MaximumRecordAgeInSeconds` are discarded with condition
//!   `RecordAgeExceeded`, no `responseContext`, and `approximateInvokeCount` at least 1 (all
//!   recorded on AWS; the count of a never-invoked record is AWS's 1);
//! - a consumer restarted before its first checkpoint with `LATEST` resumes at the mapping's
//!   start time (`AT_TIMESTAMP`), so nothing that arrived meanwhile is lost;
//! - a duplicated delivery uses the second invocation's answer; `CrashBeforeCheckpoint` on an
//!   SQS batch means the poller dies before deleting, so the batch returns after its
//!   visibility timeout.

pub mod event;
pub mod filter;
pub mod handler;
pub mod hooks;
pub mod idle;
pub mod kinesis;
pub mod response;
pub mod sqs;

pub use filter::{FilterCriteria, FilterError};
pub use handler::{BoxError, KinesisHandler, SqsHandler};
pub use hooks::{DeliveryFault, DeliveryHooks, NoDeliveryFaults};
pub use idle::IdleTimeout;
pub use kinesis::{
    CheckpointStore, InMemoryCheckpoints, KinesisFunction, KinesisMapping, KinesisMappingConfig,
    KinesisMappingHandle, KinesisStats, KinesisWindowEvent, KinesisWindowHandler,
    KinesisWindowResponse, StartingPosition,
};
pub use sqs::{SqsMapping, SqsMappingConfig, SqsMappingHandle, SqsStats};

/// Why a mapping could not start.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A setting is out of Lambda's range or conflicts with another (named in the message).
    #[error("invalid mapping configuration: {0}")]
    InvalidConfig(String),
    /// An AWS call needed to start the mapping failed.
    #[error("{operation} failed")]
    Aws {
        /// The API operation (`ListShards`, `GetQueueAttributes`, ...).
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
}

impl MappingError {
    pub(crate) fn aws(operation: &'static str, err: impl Into<BoxError>) -> Self {
        Self::Aws {
            operation,
            source: err.into(),
        }
    }
}
