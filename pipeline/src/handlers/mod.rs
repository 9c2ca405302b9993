//! The two Lambda handlers, as plain async methods over `aws_lambda_events` types and SDK
//! clients: the harness's event source mappings call them in process, `lambda_runtime` calls
//! them on AWS (`src/bin`, feature `lambda`). Per-record failure is data
//! (`batchItemFailures`), not `Err`; `Err` means the whole batch failed.

pub mod forward;
pub mod store;

pub use forward::{ForwardError, Forwarder};
pub use store::{Store, StoreError};
