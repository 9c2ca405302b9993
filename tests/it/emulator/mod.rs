//! Conformance of the emulator with AWS, through the official SDK clients, on both edges
//! (HTTP and in-process). One module per service.

mod dynamodb;
mod kinesis;
mod raw;
mod sqs;
mod wire;
