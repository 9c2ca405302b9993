//! The test harness for the Kinesis -> SQS -> DynamoDB pipeline: runs the pipeline locally,
//! from `template.yaml`, and proves it right. A user's test reads:
//!
//! ```
//! use harness::Harness;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> anyhow::Result<()> {
//! // In a test: #[tokio::test(start_paused = true)]
//! let h = Harness::start().await?;
//! let rule = h.faults().sqs("SendMessage").to_queue().throttle().always().for_event("e-1").install();
//! h.ingest_ok(json!({"stream": "default", "id": "e-1", "payload": {"energy_type": "nuclear"}})).await?;
//! h.drain().await?;
//! assert_eq!(h.dlq_ids().await?, ["e-1"]);
//! assert_eq!(rule.fired(), 3);
//! assert_eq!(h.journal().attempts_to(h.queue(), "SendMessage", "e-1"), 3);
//! # Ok(())
//! # }
//! ```
//!
//! Layout:
//! - [`stack`]: a running pipeline ([`Harness`]): backend, resources, ingest, handlers,
//!   mappings, faults; drain, replay, redrive;
//! - [`fault`]: fault injection (an SDK `HttpClient` layer, delivery hooks), rules and their
//!   guards, and the [`Journal`](fault::Journal) of what was attempted and what fired;
//! - [`testing`]: running one suite on several backends: `require!`, the skip line and log;
//! - [`backend`]: where AWS calls go (embedded emulator, LocalStack, any endpoint) and
//!   provisioning of the pipeline's resources;
//! - [`esm`]: Lambda-faithful event source mappings (Kinesis and SQS pollers);
//! - [`lambda`]: artifact mode: the Lambda Runtime API and functions as child processes;
//! - [`template`]: `template.yaml`, read into the pipeline the harness runs;
//! - [`report`]: the HTML report of a run and the live view of `harness up`;
//! - [`scenario`]: scenario files (model, loader, runner, report); [`stats`]: latency
//!   percentiles;
//! - [`soak`]: the whole pipeline under load with random faults on every hop, and the check
//!   that nothing was lost or doubled.
//!
//! The `harness` command (`up`, `scenario`, `load`, `bench`, ...) is the `harness-cli` crate.

#![warn(missing_docs)]

pub mod backend;
pub mod esm;
pub mod fault;
pub mod lambda;
pub mod report;
pub mod scenario;
pub mod soak;
pub mod stack;
pub mod stats;
pub mod template;
pub mod testing;

pub use stack::{Harness, HarnessError, HarnessOptions, IngestOutcome};
