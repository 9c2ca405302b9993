//! SQS (placeholder until the service core lands).
use serde_json::Value;

use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};

#[derive(Debug, Clone, Default)]
pub struct SqsConfig {}

pub struct Sqs {}

impl Sqs {
    pub fn new(_config: SqsConfig) -> Self {
        Self {}
    }

    pub async fn call(&self, op: &str, _body: &[u8], _ctx: &Ctx) -> Result<Value, AwsError> {
        Err(wire::unknown_operation(Service::Sqs, op))
    }
}
