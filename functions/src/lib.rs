//! The three AWS Lambda functions of `template.yaml`, as `sam build` builds them
//! (`BuildMethod: rust-cargolambda`, `CodeUri: ./functions`, `BuildProperties: Binary: NAME`):
//!
//! - `src/bin/ingest.rs` (`IngestFunction`): the pipeline's ingest router behind API Gateway,
//!   through `lambda_http` ([`ingest`]).
//! - `src/bin/forward.rs` (`ForwardFunction`): the forward handler behind the Kinesis event
//!   source mapping.
//! - `src/bin/store.rs` (`StoreFunction`): the store handler behind the SQS event source
//!   mapping.
//! - [`runtime`]: what all three share at their edge: the Lambda environment checked before
//!   `lambda_runtime` would panic on it, logging, the SDK configuration.
//!
//! Invariant: a function's settings come only from `pipeline::config::env`, the loader the
//! harness calls with the environment the template gives the same function. This crate adds
//! no setting of its own.

pub mod ingest;
pub mod runtime;
