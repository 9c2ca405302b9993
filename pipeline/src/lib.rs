//! The deployable pipeline: `PUT /{stage}/stream` -> Kinesis -> forward handler -> SQS
//! (retries, then the DLQ) -> store handler -> DynamoDB.
//!
//! - [`config`]: plain configuration structs, built once at the edge; [`aws`]: the SDK's
//!   HTTPS client.
//! - [`envelope`]: the event as it travels; [`item`]: the stored item; [`dlq`]: DLQ messages.
//! - [`ingest`]: the axum ingest API; [`transport`]: where it puts events (Kinesis).
//! - [`handlers`]: the forward and store Lambda handlers.
//! - [`observe`]: what happens to each event, for logs and counts.
//! - [`retry`]: attempts counted on the wire, and which AWS errors are worth another.
//!
//! Invariants:
//! - Only [`config::env`] reads a function's environment: the Lambda binaries hand it the
//!   process's, the harness the one `template.yaml` gives the function.
//! - The envelope is made once, at ingest; every later hop carries it unchanged, and the
//!   stored item is a pure function of it, so a duplicate delivery writes the same item.
//! - A handler's `max_attempts` is the number of HTTP requests: the SDK's retry loop is off
//!   for the calls that run inside the handler's own loop.
//! - Per-record failure is data (`batchItemFailures`); `Err` fails the whole batch.

#![warn(missing_docs)]

pub mod aws;
pub mod config;
pub mod dlq;
pub mod envelope;
pub mod handlers;
pub mod ingest;
pub mod item;
pub mod observe;
pub mod retry;
pub mod transport;

pub use config::{
    ApiKeys, ForwardConfig, IngestConfig, PartitionKeySource, RetryPolicy, StoreConfig,
    StreamConfig,
};
pub use envelope::Envelope;
pub use handlers::{Forwarder, Store};
pub use ingest::{IngestState, app};
pub use observe::{NoopObserver, Observer, PipelineEvent, TracingObserver};
pub use transport::{KinesisBatchTransport, KinesisTransport, Receipt, Transport, TransportError};
