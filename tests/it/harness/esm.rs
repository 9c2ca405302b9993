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

/// One row per FilterCriteria operator of AWS's table (Lambda developer guide,
/// invocation-eventfiltering, "Filter rule syntax"): a name, the rule for the payload (put
/// under `body` for SQS, `data` for Kinesis), a payload that matches and one that does not.
fn filter_rows() -> Vec<(&'static str, serde_json::Value, String, String)> {
    use serde_json::json;
    let rows = [
        (
            "null",
            json!({"UserID": [null]}),
            json!({"UserID": null}),
            json!({"UserID": "u"}),
        ),
        (
            "empty",
            json!({"LastName": [""]}),
            json!({"LastName": ""}),
            json!({"LastName": "x"}),
        ),
        (
            "equals",
            json!({"Name": ["Alice"]}),
            json!({"Name": "Alice"}),
            json!({"Name": "Bob"}),
        ),
        (
            "equals-ignore-case",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "ALICE"}),
            json!({"Name": "Bob"}),
        ),
        (
            "and",
            json!({"Location": ["New York"], "Day": ["Monday"]}),
            json!({"Location": "New York", "Day": "Monday"}),
            json!({"Location": "New York", "Day": "Tuesday"}),
        ),
        (
            "or",
            json!({"PaymentType": ["Credit", "Debit"]}),
            json!({"PaymentType": "Debit"}),
            json!({"PaymentType": "Cash"}),
        ),
        (
            "anything-but",
            json!({"Weather": [{"anything-but": ["Raining"]}]}),
            json!({"Weather": "Sunny"}),
            json!({"Weather": "Raining"}),
        ),
        (
            "numeric-equals",
            json!({"Price": [{"numeric": ["=", 100]}]}),
            json!({"Price": 100}),
            json!({"Price": 99}),
        ),
        (
            "numeric-range",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": 20}),
            json!({"Price": 10}),
        ),
        (
            "exists",
            json!({"ProductName": [{"exists": true}]}),
            json!({"ProductName": "p"}),
            json!({"Other": "p"}),
        ),
        (
            "does-not-exist",
            json!({"ProductName": [{"exists": false}]}),
            json!({"Other": "p"}),
            json!({"ProductName": "p"}),
        ),
        (
            "prefix",
            json!({"Region": [{"prefix": "us-"}]}),
            json!({"Region": "us-east-1"}),
            json!({"Region": "eu-west-1"}),
        ),
        (
            "suffix",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "a.png"}),
            json!({"FileName": "a.jpg"}),
        ),
    ];
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|(name, rule, yes, no)| (name, rule, yes.to_string(), no.to_string()))
        .collect();
    // Recorded on AWS (LocalStack snapshot `test_sqs_event_filter[valid-json-filter]`, 2025):
    // a payload that is not JSON never matches a JSON pattern.
    rows.push((
        "not-json",
        json!({"my-key": ["my-value"]}),
        json!({"my-key": "my-value"}).to_string(),
        "plain-string".to_owned(),
    ));
    rows
}
