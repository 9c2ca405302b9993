//! SQS conformance through the official `aws-sdk-sqs` client.
//!
//! - `queues`: queue operations and their errors;
//! - `messages`: send, receive, delete, visibility, attributes, MD5s, limits, long polling;
//! - `batches`: the batch operations and their errors;
//! - `fifo`: FIFO queues (groups, deduplication, sequence numbers, FIFO dead-letter queues);
//! - `redrive`: the redrive policy at exactly `maxReceiveCount` and message move tasks;
//! - `recorded`: answers checked against responses recorded on real AWS (issue 11);
//! - `raw`: raw HTTP requests for what the SDK cannot express;
//! - `query`: the awsQuery protocol (form parameters, XML), raw and through boto3;
//! - `timing`: what needs time to pass (visibility expiry, delays, retention, long-poll
//!   timeouts, paced move tasks), in process under tokio's paused clock.
//!
//! The Rust SDK does not check the MD5 digests SQS returns, so these tests recompute them.

mod batches;
mod fifo;
mod messages;
mod query;
mod queues;
mod raw;
mod recorded;
mod redrive;
mod timing;

use std::collections::BTreeMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use md5::{Digest, Md5};

use crate::support::unique;

/// Creates a queue with a unique name; returns its name and URL.
async fn create_queue(sqs: &Client, attributes: &[(QueueAttributeName, &str)]) -> (String, String) {
    let name = unique("q");
    let mut request = sqs.create_queue().queue_name(&name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    let url = request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    (name, url)
}

async fn queue_attribute(sqs: &Client, url: &str, name: QueueAttributeName) -> Option<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("get queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&name))
}

async fn queue_arn(sqs: &Client, url: &str) -> String {
    queue_attribute(sqs, url, QueueAttributeName::QueueArn)
        .await
        .expect("QueueArn")
}

/// `ApproximateNumberOfMessages` as a number.
async fn visible_count(sqs: &Client, url: &str) -> u64 {
    queue_attribute(sqs, url, QueueAttributeName::ApproximateNumberOfMessages)
        .await
        .and_then(|v| v.parse().ok())
        .expect("ApproximateNumberOfMessages")
}

async fn send(sqs: &Client, url: &str, body: &str) -> String {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("send message")
        .message_id
        .expect("message id")
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// MD5OfMessageAttributes recomputed from the attributes a client sees, as the AWS SDKs
/// that verify it do (Java's `MessageMD5ChecksumInterceptor`).
fn md5_of_attributes(
    attributes: &std::collections::HashMap<String, MessageAttributeValue>,
) -> String {
    fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
        buf.extend((bytes.len() as u32).to_be_bytes());
        buf.extend(bytes);
    }
    let sorted: BTreeMap<_, _> = attributes.iter().collect();
    let mut buf = Vec::new();
    for (name, value) in sorted {
        put(&mut buf, name.as_bytes());
        put(&mut buf, value.data_type().as_bytes());
        if let Some(s) = value.string_value() {
            buf.push(1);
            put(&mut buf, s.as_bytes());
        } else if let Some(b) = value.binary_value() {
            buf.push(2);
            put(&mut buf, b.as_ref());
        }
    }
    md5_hex(&buf)
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("attribute")
}
