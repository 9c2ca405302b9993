//! The emulator's own cost: the same operations handed straight to `Emulator::handle` as
//! HTTP requests with the bodies the SDK sends, with no SDK, no signing and no socket.
//!
//! Next to the SDK figures this says where a call's time goes: what the emulator spends
//! (parsing, the service core, encoding) against what the client spends around it. Building
//! each request body is inside the timing, so the figure is an upper bound of the emulator's
//! share.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use bytes::Bytes;
use emulator::Emulator;
use serde_json::{Value, json};

use super::workload::{Case, Names, envelope};

/// Requests for one emulator, against resources created beforehand.
pub struct DirectWorkload {
    emulator: Emulator,
    names: Names,
    next_id: AtomicU64,
}

impl DirectWorkload {
    pub fn new(emulator: Emulator, names: Names) -> DirectWorkload {
        DirectWorkload {
            emulator,
            names,
            next_id: AtomicU64::new(0),
        }
    }

    pub async fn run_once(&self, case: Case) -> Result<(), String> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench-{n}");
        match case {
            Case::PutRecord => {
                let data = base64::engine::general_purpose::STANDARD.encode(envelope(&id, n));
                let body = json!({
                    "StreamName": self.names.stream,
                    "PartitionKey": id,
                    "Data": data,
                });
                call(&self.emulator, "Kinesis_20131202.PutRecord", &body).await?;
            }
            Case::SqsRoundTrip => {
                let queue_url = &self.names.queue_url;
                let message = String::from_utf8_lossy(&envelope(&id, n)).into_owned();
                let body = json!({ "QueueUrl": queue_url, "MessageBody": message });
                call(&self.emulator, "AmazonSQS.SendMessage", &body).await?;
                let body = json!({
                    "QueueUrl": queue_url,
                    "MaxNumberOfMessages": 1,
                    "WaitTimeSeconds": 0,
                });
                let received = call(&self.emulator, "AmazonSQS.ReceiveMessage", &body).await?;
                let handle = received["Messages"][0]["ReceiptHandle"]
                    .as_str()
                    .ok_or("ReceiveMessage returned no message")?;
                let body = json!({ "QueueUrl": queue_url, "ReceiptHandle": handle });
                call(&self.emulator, "AmazonSQS.DeleteMessage", &body).await?;
            }
            Case::PutItem => {
                let body = json!({
                    "TableName": self.names.table,
                    "Item": {
                        "id": { "S": id },
                        "stream": { "S": "default" },
                        "receivedAt": { "S": "2026-11-26T00:00:00.000Z" },
                        "payload": { "M": {
                            "energy_type": { "S": "nuclear" },
                            "n": { "N": n.to_string() },
                        }},
                    },
                });
                call(&self.emulator, "DynamoDB_20120810.PutItem", &body).await?;
            }
        }
        Ok(())
    }
}

/// One request (`target` such as `DynamoDB_20120810.PutItem`) through `Emulator::handle`:
/// the parsed answer, or the status and body as the error.
pub async fn call(emulator: &Emulator, target: &str, body: &Value) -> Result<Value, String> {
    let request = http::Request::post("/")
        .header("host", "emulator.local")
        .header("x-amz-target", target)
        .header("content-type", content_type(target))
        .body(Bytes::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = emulator.handle(request).await;
    if !response.status().is_success() {
        return Err(format!(
            "{target} answered {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        ));
    }
    serde_json::from_slice(response.body()).map_err(|e| format!("{target}: {e}"))
}

/// The content type of the service `target` names.
fn content_type(target: &str) -> &'static str {
    emulator::wire::Service::from_target(target).map_or(emulator::wire::JSON_1_0, |(service, _)| {
        service.content_type()
    })
}
