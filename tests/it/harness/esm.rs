//! Event source mappings with Lambda's semantics: each Kinesis and SQS mapping parameter has a
//! test here that fails if the parameter is ignored. Everything runs through the official SDK
//! clients and the in-process edge under tokio's paused clock, so Lambda's real settings
//! (1 s shard polling, 30 s visibility timeouts, retries) cost no wall time.

mod kinesis;
mod sqs;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::harness::esm::{DeliveryFault, DeliveryHooks};

/// Generous in paused time, instant in wall time.
const IDLE: Duration = Duration::from_secs(600);

/// Collects what a handler saw, in order.
#[derive(Clone)]
struct Seen<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Seen<T> {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
    fn push(&self, item: T) -> usize {
        let mut v = self.0.lock().unwrap();
        v.push(item);
        v.len()
    }
    fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

/// Delivery faults handed out in order, one list per batch; then none.
#[derive(Default)]
struct ScriptedHooks {
    kinesis: Mutex<Vec<Vec<DeliveryFault>>>,
    sqs: Mutex<Vec<Vec<DeliveryFault>>>,
}

impl ScriptedHooks {
    fn kinesis(script: Vec<Vec<DeliveryFault>>) -> Arc<Self> {
        Arc::new(Self {
            kinesis: Mutex::new(script.into_iter().rev().collect()),
            ..Default::default()
        })
    }
    fn sqs(script: Vec<Vec<DeliveryFault>>) -> Arc<Self> {
        Arc::new(Self {
            sqs: Mutex::new(script.into_iter().rev().collect()),
            ..Default::default()
        })
    }
}

impl DeliveryHooks for ScriptedHooks {
    fn on_kinesis_batch(
        &self,
        _shard_id: &str,
        _records: &[aws_lambda_events::event::kinesis::KinesisEventRecord],
    ) -> Vec<DeliveryFault> {
        self.kinesis.lock().unwrap().pop().unwrap_or_default()
    }
    fn on_sqs_batch(
        &self,
        _queue: &str,
        _messages: &[aws_lambda_events::event::sqs::SqsMessage],
    ) -> Vec<DeliveryFault> {
        self.sqs.lock().unwrap().pop().unwrap_or_default()
    }
}
