//! Kinesis Data Streams (placeholder until the service core lands).
use serde_json::Value;

use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};

#[derive(Debug, Clone, Default)]
pub struct KinesisConfig {
    /// Enforce the per-shard write limits (1 MiB/s or 1,000 records/s).
    pub enforce_throughput: bool,
}

pub struct Kinesis {}

impl Kinesis {
    pub fn new(_config: KinesisConfig) -> Self {
        Self {}
    }

    pub async fn call(&self, op: &str, _body: &[u8], _ctx: &Ctx) -> Result<Value, AwsError> {
        Err(wire::unknown_operation(Service::Kinesis, op))
    }
}
