//! Event source mappings: pollers that play Lambda's part for the Kinesis and SQS handlers.

pub mod hooks;
