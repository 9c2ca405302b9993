//! Behaviour that needs time to pass: iterator expiry, retention, arrival-time boundaries,
//! MillisBehindLatest and per-second throttling. In process under tokio's paused clock, which
//! the emulator's clock follows, so hours pass in microseconds and times are exact.

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use emulator::EmulatorConfig;
use emulator::kinesis::KinesisConfig;
use tokio::time::advance;

use super::{create_stream, drain, iterator, message, no_retry_client, put, texts};
use crate::support::{Edge, Env};

const SHARD0: &str = "shardId-000000000000";
const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

async fn at_timestamp(client: &Client, stream: &str, at: DateTime) -> String {
    client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(at)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap()
}

/// Epoch milliseconds of a timestamp the SDK parsed from AWS's `1764115200.123`: the SDK
/// reads it as `.122999906`, so round (as the service does) rather than truncate.
fn millis(dt: &DateTime) -> i64 {
    dt.secs() * 1000 + i64::from((dt.subsec_nanos() + 500_000) / 1_000_000)
}

#[tokio::test(start_paused = true)]
async fn iterators_expire_five_minutes_after_they_are_issued() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "x").await;
    let first = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;

    advance(Duration::from_secs(300)).await;
    let out = client
        .get_records()
        .shard_iterator(&first)
        .send()
        .await
        .expect("valid for exactly five minutes");
    assert_eq!(texts(&out.records), ["x"]);
    let next = out.next_shard_iterator.unwrap();

    advance(MS).await;
    let err = client
        .get_records()
        .shard_iterator(&first)
        .send()
        .await
        .unwrap_err();
    let text = message(&err);
    assert!(
        text.starts_with("Iterator expired. The iterator was created at time ")
            && text.ends_with(
                "which is further in the future than the tolerated delay of 300000 milliseconds."
            ),
        "{text}"
    );
    assert!(err.into_service_error().is_expired_iterator_exception());
    // The iterator GetRecords handed back was issued later and is still good.
    let out = client
        .get_records()
        .shard_iterator(&next)
        .send()
        .await
        .unwrap();
    assert!(out.records.is_empty());
}

#[tokio::test(start_paused = true)]
async fn records_older_than_the_retention_period_are_trimmed() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "old").await;
    advance(23 * HOUR).await;
    put(&client, &name, "k", "new").await;
    advance(HOUR).await;
    let horizon = || iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None);
    assert_eq!(
        texts(&drain(&client, horizon().await).await),
        ["old", "new"]
    );
    let before_trim = horizon().await;

    advance(MS).await;
    assert_eq!(texts(&drain(&client, horizon().await).await), ["new"]);
    // An iterator taken before the trim skips what was trimmed.
    assert_eq!(texts(&drain(&client, before_trim).await), ["new"]);
    // AT_TIMESTAMP older than the trim horizon behaves as TRIM_HORIZON.
    let it = at_timestamp(&client, &name, DateTime::from_secs(0)).await;
    assert_eq!(texts(&drain(&client, it).await), ["new"]);
}

#[tokio::test(start_paused = true)]
async fn retention_changes_apply_to_stored_records() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    put(&client, &name, "k", "kept").await;
    advance(30 * HOUR).await;
    let horizon = || iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None);
    assert_eq!(texts(&drain(&client, horizon().await).await), ["kept"]);
    client
        .decrease_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(24)
        .send()
        .await
        .unwrap();
    assert!(drain(&client, horizon().await).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn at_timestamp_boundaries_are_exact_to_the_millisecond() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    for data in ["a", "b", "c"] {
        put(&client, &name, "k", data).await;
        advance(10 * MS).await;
    }
    let all = drain(
        &client,
        iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await,
    )
    .await;
    let arrival: Vec<i64> = all
        .iter()
        .map(|r| millis(r.approximate_arrival_timestamp.as_ref().unwrap()))
        .collect();
    assert_eq!(arrival[1] - arrival[0], 10);

    let (client_ref, name_ref) = (&client, name.as_str());
    let read_at = |ms: i64| async move {
        let it = at_timestamp(client_ref, name_ref, DateTime::from_millis(ms)).await;
        texts(&drain(client_ref, it).await)
    };
    assert_eq!(read_at(arrival[1]).await, ["b", "c"], "equal includes");
    assert_eq!(read_at(arrival[1] - 1).await, ["b", "c"]);
    assert_eq!(read_at(arrival[1] + 1).await, ["c"]);
    assert_eq!(read_at(arrival[2]).await, ["c"]);

    // After the last record: nothing, until a record arrives.
    let after_last = at_timestamp(&client, &name, DateTime::from_millis(arrival[2] + 1)).await;
    let out = client
        .get_records()
        .shard_iterator(&after_last)
        .send()
        .await
        .unwrap();
    assert!(out.records.is_empty());
    put(&client, &name, "k", "d").await;
    assert_eq!(texts(&drain(&client, after_last).await), ["d"]);
}

#[tokio::test(start_paused = true)]
async fn millis_behind_latest_is_the_age_of_the_oldest_unread_record() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "a").await;
    advance(Duration::from_millis(1000)).await;
    put(&client, &name, "k", "b").await;
    advance(Duration::from_millis(500)).await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let out = client
        .get_records()
        .shard_iterator(&it)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(texts(&out.records), ["a"]);
    assert_eq!(out.millis_behind_latest, Some(500));
    let out = client
        .get_records()
        .shard_iterator(out.next_shard_iterator.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(texts(&out.records), ["b"]);
    assert_eq!(out.millis_behind_latest, Some(0));
}

#[tokio::test(start_paused = true)]
async fn put_record_is_throttled_past_1000_records_a_second_per_shard() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let config = EmulatorConfig {
        kinesis: KinesisConfig {
            enforce_throughput: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let env = Env::start_with(Edge::InProcess, config).await;
    let client = no_retry_client(&env);
    let name = create_stream(&client, 2).await;
    for _ in 0..2 {
        let batch: Vec<_> = (0..500)
            .map(|_| {
                PutRecordsRequestEntry::builder()
                    .partition_key("a") // shard 0
                    .data(Blob::new("x"))
                    .build()
                    .unwrap()
            })
            .collect();
        let out = client
            .put_records()
            .stream_name(&name)
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count, Some(0));
    }
    let err = client
        .put_record()
        .stream_name(&name)
        .partition_key("a")
        .data(Blob::new("one too many"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        format!(
            "Rate exceeded for shard shardId-000000000000 in stream {name} under account 000000000000."
        )
    );
    assert!(
        err.into_service_error()
            .is_provisioned_throughput_exceeded_exception()
    );
    // The other shard has its own budget; the next second gives shard 0 a new one.
    assert_eq!(
        put(&client, &name, "1", "y").await.0,
        "shardId-000000000001"
    );
    advance(Duration::from_secs(1)).await;
    assert_eq!(
        put(&client, &name, "a", "z").await.0,
        "shardId-000000000000"
    );
}

#[tokio::test(start_paused = true)]
async fn list_shards_tokens_expire_after_300_seconds() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let client = env.kinesis();
    let name = create_stream(&client, 3).await;
    let token = client
        .list_shards()
        .stream_name(&name)
        .max_results(1)
        .send()
        .await
        .unwrap()
        .next_token
        .unwrap();
    advance(Duration::from_secs(300)).await;
    let page = client
        .list_shards()
        .next_token(&token)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.shards.unwrap()[0].shard_id, "shardId-000000000001");
    advance(MS).await;
    let err = client
        .list_shards()
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_expired_next_token_exception());
}
