//! Runs the pipeline locally and proves it right.
//!
//! Layout:
//! - [`backend`]: where AWS calls go (embedded emulator, LocalStack, any endpoint) and
//!   provisioning of the pipeline's resources;
//! - [`bench`]: the emulator's benchmark (`harness bench`);
//! - [`esm`]: Lambda-faithful event source mappings (Kinesis and SQS pollers);
//! - [`fault`]: fault injection (an SDK `HttpClient` layer) and the journal of what fired;
//! - [`lambda`]: artifact mode: the Lambda Runtime API and functions as child processes;
//! - [`stack`]: a running pipeline ([`Harness`]): backend, resources, ingest, handlers,
//!   mappings, faults; drain, replay, redrive;
//! - [`template`]: `template.yaml`, read into the pipeline the harness runs;
//! - [`scenario`]: scenario files; [`load`]: the load generator;
//! - [`cli`]: the `harness` command.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod esm;
pub mod fault;
pub mod lambda;
pub mod load;
pub mod scenario;
pub mod stack;
pub mod template;
pub mod testing;

pub use stack::{Harness, HarnessError, HarnessOptions, IngestOutcome};
