//! What one benchmark operation is, through the official SDK clients: a Kinesis PutRecord, an
//! SQS message's round trip (SendMessage + ReceiveMessage + DeleteMessage), a DynamoDB
//! PutItem. Also the resources they need, created (with unique names) before any timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::StreamStatus;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{BenchError, BoxError};

/// A benchmarked operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Case {
    /// Kinesis PutRecord of a ~150-byte envelope.
    PutRecord,
    /// SQS SendMessage + ReceiveMessage + DeleteMessage of one message (three calls).
    SqsRoundTrip,
    /// DynamoDB PutItem of an event-shaped item.
    PutItem,
}

impl Case {
    pub const ALL: [Case; 3] = [Case::PutRecord, Case::SqsRoundTrip, Case::PutItem];

    /// The name a report shows.
    pub fn label(self) -> &'static str {
        match self {
            Case::PutRecord => "Kinesis PutRecord",
            Case::SqsRoundTrip => "SQS Send+Receive+Delete",
            Case::PutItem => "DynamoDB PutItem",
        }
    }

    /// SDK calls one operation makes.
    pub fn calls_per_op(self) -> u64 {
        match self {
            Case::SqsRoundTrip => 3,
            Case::PutRecord | Case::PutItem => 1,
        }
    }
}

/// The names of the stream, queue and table a workload uses.
#[derive(Debug, Clone)]
pub struct Names {
    pub stream: String,
    pub queue_url: String,
    pub table: String,
}

impl Names {
    /// Names for a server that keeps no state (the null server): nothing is created.
    pub fn unprovisioned(endpoint_url: &str) -> Names {
        Names {
            stream: "bench-null".into(),
            queue_url: format!("{endpoint_url}/000000000000/bench-null"),
            table: "bench-null".into(),
        }
    }
}

/// SDK clients (shared by every task of a run) and the resources they write to.
pub struct Workload {
    kinesis: aws_sdk_kinesis::Client,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    names: Names,
    next_id: AtomicU64,
}

/// How long provisioning waits for a stream or table to become ACTIVE.
const ACTIVE_DEADLINE: Duration = Duration::from_secs(30);

/// Shards of the benchmark stream: more than one, as a real stream would have.
const SHARDS: i32 = 2;

impl Workload {
    pub fn new(sdk: &SdkConfig, names: Names) -> Workload {
        Workload {
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            names,
            next_id: AtomicU64::new(0),
        }
    }

    /// The resources this workload writes to.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Creates a stream, a queue and a table named `tag` (unique per run) and waits for them.
    pub async fn provision(sdk: &SdkConfig, tag: &str) -> Result<Workload, BenchError> {
        let provision =
            |what: &'static str| move |source: BoxError| BenchError::Provision { what, source };
        let mut workload = Workload::new(sdk, Names::unprovisioned(""));
        workload.names.stream = tag.to_owned();
        workload.names.table = tag.to_owned();
        workload
            .kinesis
            .create_stream()
            .stream_name(tag)
            .shard_count(SHARDS)
            .send()
            .await
            .map_err(|e| provision("stream")(e.into()))?;
        workload
            .wait_for_stream()
            .await
            .map_err(provision("stream"))?;
        workload.names.queue_url = workload
            .sqs
            .create_queue()
            .queue_name(tag)
            .send()
            .await
            .map_err(|e| provision("queue")(e.into()))?
            .queue_url
            .ok_or_else(|| provision("queue")("CreateQueue returned no QueueUrl".into()))?;
        workload
            .dynamodb
            .create_table()
            .table_name(tag)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| provision("table")(e.into()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| provision("table")(e.into()))?,
            )
            .send()
            .await
            .map_err(|e| provision("table")(e.into()))?;
        workload
            .wait_for_table()
            .await
            .map_err(provision("table"))?;
        Ok(workload)
    }

    /// Deletes what [`Workload::provision`] created (best effort: for shared endpoints).
    pub async fn delete_resources(&self) {
        let _ = self
            .kinesis
            .delete_stream()
            .stream_name(&self.names.stream)
            .send()
            .await;
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.names.queue_url)
            .send()
            .await;
        let _ = self
            .dynamodb
            .delete_table()
            .table_name(&self.names.table)
            .send()
            .await;
    }

    async fn wait_for_stream(&self) -> Result<(), BoxError> {
        let deadline = Instant::now() + ACTIVE_DEADLINE;
        loop {
            let summary = self
                .kinesis
                .describe_stream_summary()
                .stream_name(&self.names.stream)
                .send()
                .await?;
            let status = summary
                .stream_description_summary()
                .map(|s| s.stream_status().clone());
            if status == Some(StreamStatus::Active) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("stream still {status:?} after {ACTIVE_DEADLINE:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for_table(&self) -> Result<(), BoxError> {
        let deadline = Instant::now() + ACTIVE_DEADLINE;
        loop {
            let described = self
                .dynamodb
                .describe_table()
                .table_name(&self.names.table)
                .send()
                .await?;
            let status = described.table().and_then(|t| t.table_status().cloned());
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("table still {status:?} after {ACTIVE_DEADLINE:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Performs one operation of `case`; a failure is counted by the benchmark, its text
    /// (the SDK's error with its context) kept as the first error seen.
    pub async fn run_once(&self, case: Case) -> Result<(), String> {
        self.call(case).await.map_err(|e| context(&*e))
    }

    /// Performs one operation of `case`; the error is the SDK's.
    pub async fn call(&self, case: Case) -> Result<(), BoxError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench-{n}");
        match case {
            Case::PutRecord => {
                self.kinesis
                    .put_record()
                    .stream_name(&self.names.stream)
                    .partition_key(&id)
                    .data(Blob::new(envelope(&id, n)))
                    .send()
                    .await?;
            }
            Case::SqsRoundTrip => self.sqs_round_trip(&id, n).await?,
            Case::PutItem => {
                let payload = [
                    (
                        "energy_type".to_owned(),
                        AttributeValue::S("nuclear".into()),
                    ),
                    ("n".to_owned(), AttributeValue::N(n.to_string())),
                ];
                self.dynamodb
                    .put_item()
                    .table_name(&self.names.table)
                    .item("id", AttributeValue::S(id))
                    .item("stream", AttributeValue::S("default".into()))
                    .item(
                        "receivedAt",
                        AttributeValue::S("2026-11-26T00:00:00.000Z".into()),
                    )
                    .item("payload", AttributeValue::M(payload.into_iter().collect()))
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    /// Sends one message, receives one (any: tasks share the queue) and deletes it.
    ///
    /// Every task sends before it receives, so a message is always there for it; a short poll
    /// that still comes back empty (a server that samples, like real SQS) is retried with a
    /// long poll, which returns as soon as a message is visible.
    async fn sqs_round_trip(&self, id: &str, n: u64) -> Result<(), BoxError> {
        let queue_url = &self.names.queue_url;
        self.sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(String::from_utf8_lossy(&envelope(id, n)))
            .send()
            .await?;
        for wait_seconds in [0, 1, 1, 1, 1, 1] {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(1)
                .wait_time_seconds(wait_seconds)
                .send()
                .await?;
            let Some(handle) = received.messages().first().and_then(|m| m.receipt_handle()) else {
                continue;
            };
            self.sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await?;
            return Ok(());
        }
        Err("ReceiveMessage found no message in 5 s after SendMessage".into())
    }
}

/// An event envelope like the pipeline's (DESIGN.md "Envelope"), about 150 bytes.
pub(crate) fn envelope(id: &str, n: u64) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","stream":"default","receivedAt":"2026-11-26T00:00:00.000Z","payload":{{"energy_type":"nuclear","n":{n}}}}}"#
    )
    .into_bytes()
}

/// The error and its sources on one line (the SDK's own `Display` says only "service error").
fn context(err: &(dyn std::error::Error + 'static)) -> String {
    DisplayErrorContext(err).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_json_of_the_pipeline_shape() {
        let value: serde_json::Value = serde_json::from_slice(&envelope("bench-7", 7)).unwrap();
        assert_eq!(value["id"], "bench-7");
        assert_eq!(value["payload"]["n"], 7);
        assert!(envelope("bench-7", 7).len() < 200);
    }

    #[test]
    fn the_sqs_round_trip_counts_three_calls() {
        assert_eq!(Case::SqsRoundTrip.calls_per_op(), 3);
        assert_eq!(Case::PutRecord.calls_per_op(), 1);
    }
}
