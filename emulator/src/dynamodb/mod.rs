//! DynamoDB (placeholder until the service core lands).
pub mod expr;
pub mod number;
pub mod value;

use serde_json::Value;

use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};

#[derive(Debug, Clone, Default)]
pub struct DynamoDbConfig {
    /// Enforce on-demand table throttling (AWS-SEMANTICS.md 5.3).
    pub enforce_throughput: bool,
}

pub struct DynamoDb {}

impl DynamoDb {
    pub fn new(_config: DynamoDbConfig) -> Self {
        Self {}
    }

    pub async fn call(&self, op: &str, _body: &[u8], _ctx: &Ctx) -> Result<Value, AwsError> {
        Err(wire::unknown_operation(Service::DynamoDb, op))
    }
}
