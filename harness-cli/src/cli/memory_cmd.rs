//! `harness memory`: what the embedded emulator's DynamoDB holds per stored item. Puts N items
//! shaped like the pipeline's (`pipeline::item::to_item` of a seed-like event) straight through
//! `Emulator::handle` (no HTTP, no SDK: only the table's own memory grows), then compares the
//! process's resident memory growth with DynamoDB's own measure of the items, the table's
//! `TableSizeBytes` (attribute names plus values, as AWS bills storage). Issue 13: at most 2x.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use emulator::wire::Service;
use emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// `harness memory` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Items to store.
    #[arg(long, default_value_t = 1_000_000)]
    items: u64,
    /// Fail (exit 1) when resident growth per item byte is above this ratio.
    #[arg(long, default_value_t = 2.0)]
    max_ratio: f64,
    /// Measure the Kinesis records instead: put N (`--items`) records of the ingest API's
    /// envelopes into a stream and compare with their data and partition key bytes (what
    /// Kinesis counts). Reported, never failed: a stream keeps records for its retention
    /// period (24 hours at least), and these are its cost until then.
    #[arg(long)]
    kinesis: bool,
}

const TABLE: &str = "EventsTable";

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.kinesis {
        return kinesis(args.items).await;
    }
    let emulator = Emulator::new(EmulatorConfig::default());
    call(
        &emulator,
        "CreateTable",
        json!({
            "TableName": TABLE,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .await?;
    let before = resident_bytes()?;
    let started = std::time::Instant::now();
    for n in 0..args.items {
        call(
            &emulator,
            "PutItem",
            json!({"TableName": TABLE, "Item": item(n)}),
        )
        .await?;
    }
    let elapsed = started.elapsed();
    let after = resident_bytes()?;
    let description = call(&emulator, "DescribeTable", json!({"TableName": TABLE})).await?;
    let table_bytes = description["Table"]["TableSizeBytes"]
        .as_u64()
        .context("DescribeTable has no TableSizeBytes")?;
    let count = description["Table"]["ItemCount"]
        .as_u64()
        .unwrap_or_default();
    if count != args.items {
        bail!("the table holds {count} items, {} were put", args.items);
    }
    let grown = after.saturating_sub(before);
    let ratio = grown as f64 / table_bytes.max(1) as f64;
    println!(
        "memory: {count} items, {table_bytes} bytes as DynamoDB counts them ({:.0} per item); \
         resident memory grew {grown} bytes ({:.0} per item) = {ratio:.2}x; put in {:.1} s",
        table_bytes as f64 / count.max(1) as f64,
        grown as f64 / count.max(1) as f64,
        elapsed.as_secs_f64()
    );
    Ok(if ratio <= args.max_ratio {
        ExitCode::SUCCESS
    } else {
        println!("above the {:.2}x limit", args.max_ratio);
        ExitCode::FAILURE
    })
}

/// Resident growth per Kinesis record, against the records' own bytes.
async fn kinesis(records: u64) -> anyhow::Result<ExitCode> {
    use base64::Engine as _;
    let emulator = Emulator::new(EmulatorConfig::default());
    let stream = "EventsStream";
    let kinesis = |op: &str| Service::Kinesis.target(op);
    crate::bench::direct::call(
        &emulator,
        &kinesis("CreateStream"),
        &json!({"StreamName": stream, "ShardCount": 1}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let before = resident_bytes()?;
    let mut bytes = 0u64;
    for n in 0..records {
        let envelope = envelope(n).to_json();
        let key = uuid::Uuid::from_u128(u128::from(n)).to_string();
        bytes += (envelope.len() + key.len()) as u64;
        let body = json!({
            "StreamName": stream,
            "PartitionKey": key,
            "Data": base64::engine::general_purpose::STANDARD.encode(envelope),
        });
        crate::bench::direct::call(&emulator, &kinesis("PutRecord"), &body)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let grown = resident_bytes()?.saturating_sub(before);
    println!(
        "memory: {records} Kinesis records, {bytes} bytes of data and partition keys ({:.0} per \
         record); resident memory grew {grown} bytes ({:.0} per record) = {:.2}x",
        bytes as f64 / records.max(1) as f64,
        grown as f64 / records.max(1) as f64,
        grown as f64 / bytes.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// The n-th seed-like event, as the ingest API wraps it.
fn envelope(n: u64) -> pipeline::Envelope {
    pipeline::Envelope::new(
        format!("e-{n:08}"),
        "default",
        chrono::DateTime::from_timestamp_millis(1_795_000_000_000 + n as i64).unwrap_or_default(),
        json!({"energy_type": "nuclear", "mw": 1200 + n % 100, "site": {"name": format!("plant-{}", n % 50), "tags": ["grid", "base"]}}),
    )
}

/// The n-th item: what the store handler writes for a seed-like event.
fn item(n: u64) -> Value {
    let item = pipeline::item::to_item(&envelope(n));
    Value::Object(item.iter().map(|(k, v)| (k.clone(), wire(v))).collect())
}

/// The SDK's attribute value as DynamoDB's JSON wire shape.
fn wire(value: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match value {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::Bool(b) => json!({ "BOOL": b }),
        A::Null(_) => json!({ "NULL": true }),
        A::L(items) => json!({ "L": items.iter().map(wire).collect::<Vec<_>>() }),
        A::M(map) => {
            json!({ "M": map.iter().map(|(k, v)| (k.clone(), wire(v))).collect::<serde_json::Map<_, _>>() })
        }
        // to_item writes no other type.
        _ => json!({ "NULL": true }),
    }
}

/// One DynamoDB request through the emulator (the benchmark's direct call).
async fn call(emulator: &Emulator, operation: &str, body: Value) -> anyhow::Result<Value> {
    crate::bench::direct::call(emulator, &Service::DynamoDb.target(operation), &body)
        .await
        .map_err(anyhow::Error::msg)
}

/// The process's resident set size.
fn resident_bytes() -> anyhow::Result<u64> {
    memory_stats::memory_stats()
        .map(|m| m.physical_mem as u64)
        .context("this platform does not report the process's memory")
}
