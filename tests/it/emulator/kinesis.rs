//! Kinesis conformance through the official `aws-sdk-kinesis` client, on both edges
//! (AWS-SEMANTICS.md section 1). Shared helpers here; the tests in the submodules:
//! - `cbor`: the CBOR protocol of the Java SDK and the KCL, over raw HTTP;
//! - `clients`: third-party clients (a Python CBOR client, boto3, the AWS CLI) as users run them;
//! - `control`: streams and shards (create, describe, list, delete, retention, ARNs);
//! - `records`: PutRecord(s), the MD5 shard mapping, limits and throttling;
//! - `iterators`: every iterator type, GetRecords paging and iterator errors;
//! - `tags`: stream tags and DescribeLimits;
//! - `timed`: what needs time to pass (expiry, retention, timestamp boundaries), in process
//!   under tokio's paused clock.

mod cbor;
mod clients;
mod control;
mod iterators;
mod records;
mod tags;
mod timed;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};

use crate::support::{Env, unique};

/// Creates a provisioned stream with `shards` shards, waits until it is ACTIVE and returns its
/// name.
async fn create_stream(client: &Client, shards: i32) -> String {
    let name = unique("s");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
    wait_active(client, &name).await;
    name
}

/// Waits (30 s at most) until `stream` is ACTIVE. AWS creates a stream CREATING and makes it
/// ACTIVE later (LocalStack after about 0.5 s); the embedded emulator at once.
async fn wait_active(client: &Client, stream: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .expect("describe stream summary")
            .stream_description_summary
            .map(|d| d.stream_status);
        if status == Some(aws_sdk_kinesis::types::StreamStatus::Active) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream {stream} not ACTIVE within 30 s (last {status:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Puts a record and returns `(shard id, sequence number)`.
async fn put(client: &Client, stream: &str, key: &str, data: &str) -> (String, String) {
    let out = client
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data.as_bytes()))
        .send()
        .await
        .expect("put record");
    (out.shard_id, out.sequence_number)
}

async fn iterator(
    client: &Client,
    stream: &str,
    shard: &str,
    kind: ShardIteratorType,
    sequence: Option<&str>,
) -> String {
    client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_starting_sequence_number(sequence.map(str::to_owned))
        .send()
        .await
        .expect("get shard iterator")
        .shard_iterator
        .expect("an iterator")
}

/// Reads from `iterator` until a call returns no records; the records' data as text.
async fn drain(client: &Client, mut iterator: String) -> Vec<Record> {
    let mut records = Vec::new();
    for _ in 0..100 {
        let out = client
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .expect("get records");
        if out.records.is_empty() {
            return records;
        }
        records.extend(out.records);
        iterator = out
            .next_shard_iterator
            .expect("an open shard has a next iterator");
    }
    panic!("the shard never ran dry");
}

fn texts(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.data.as_ref().to_vec()).expect("utf-8 test data"))
        .collect()
}

/// The AWS error code of an SDK error (for codes the operation does not model).
fn code<E: ProvideErrorMetadata, R>(err: &aws_sdk_kinesis::error::SdkError<E, R>) -> String {
    err.code().unwrap_or_default().to_owned()
}

fn message<E: ProvideErrorMetadata, R>(err: &aws_sdk_kinesis::error::SdkError<E, R>) -> String {
    err.message().unwrap_or_default().to_owned()
}

/// A client that does not retry, so a throttled call shows its error at once.
fn no_retry_client(env: &Env) -> Client {
    let conf = aws_sdk_kinesis::config::Builder::from(env.sdk())
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}
