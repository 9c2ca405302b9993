//! Runs the pipeline locally and proves it right.
//!
//! Layout:
//! - [`esm`]: Lambda-faithful event source mappings (Kinesis and SQS pollers);
//! - [`fault`]: fault injection (an SDK `HttpClient` layer) and the journal of what fired.

pub mod esm;
pub mod fault;
