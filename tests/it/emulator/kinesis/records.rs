//! Writing records: the MD5 shard mapping, explicit hash keys, sequence numbers, PutRecords
//! results, AWS's size limits and (with limits on) per-shard throttling.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use emulator::EmulatorConfig;
use emulator::kinesis::KinesisConfig;

use super::{code, create_stream, drain, iterator, message, put, texts};
use crate::support::{Edge, Env};

crate::on_both_edges!(
    partition_keys_map_to_shards_by_md5,
    explicit_hash_key_overrides_the_partition_key,
    sequence_numbers_are_fixed_width_decimals_increasing_per_shard,
    put_records_answers_each_record_in_order,
    put_records_refuses_more_than_500_records_or_5_mib,
    a_record_over_1_mib_is_refused,
    partition_keys_must_have_1_to_256_characters,
    record_data_round_trips_byte_for_byte,
    sequence_number_for_ordering_is_accepted,
);

fn entry(key: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(Blob::new(data))
        .build()
        .unwrap()
}

async fn partition_keys_map_to_shards_by_md5(env: &Env) {
    let client = env.kinesis();
    // AWS-SEMANTICS.md 1.2 test vectors.
    let four = create_stream(&client, 4).await;
    let two = create_stream(&client, 2).await;
    for (key, on_two, on_four) in [("a", 0, 0), ("1", 1, 3), ("user-42", 0, 1)] {
        let (shard, _) = put(&client, &four, key, "x").await;
        assert_eq!(shard, format!("shardId-{on_four:012}"), "{key} on 4 shards");
        let (shard, _) = put(&client, &two, key, "x").await;
        assert_eq!(shard, format!("shardId-{on_two:012}"), "{key} on 2 shards");
    }
    // The same key always lands on the same shard, and there it is read back.
    let (shard, _) = put(&client, &four, "user-42", "again").await;
    let it = iterator(&client, &four, &shard, ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(texts(&drain(&client, it).await), ["x", "again"]);
}

async fn explicit_hash_key_overrides_the_partition_key(env: &Env) {
    crate::needs!(env, KinesisExplicitHashKey, KinesisHashKeyRanges);
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let put_with = |key: &'static str| {
        client
            .put_record()
            .stream_name(&name)
            .partition_key("1") // MD5 would send it to shard 1
            .explicit_hash_key(key)
            .data(Blob::new("x"))
            .send()
    };
    assert_eq!(
        put_with("0").await.unwrap().shard_id,
        "shardId-000000000000"
    );
    let half = "170141183460469231731687303715884105727";
    assert_eq!(
        put_with(half).await.unwrap().shard_id,
        "shardId-000000000000"
    );
    let max = "340282366920938463463374607431768211455";
    assert_eq!(
        put_with(max).await.unwrap().shard_id,
        "shardId-000000000001"
    );

    let err = put_with("340282366920938463463374607431768211456")
        .await
        .unwrap_err();
    assert!(message(&err).contains("[0, 2^128-1]"), "{err:?}");
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = put_with("12ab").await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");

    let out = client
        .put_records()
        .stream_name(&name)
        .records(
            PutRecordsRequestEntry::builder()
                .partition_key("a")
                .explicit_hash_key(max)
                .data(Blob::new("y"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.records[0].shard_id.as_deref(),
        Some("shardId-000000000001")
    );
}

async fn sequence_numbers_are_fixed_width_decimals_increasing_per_shard(env: &Env) {
    crate::needs!(env, KinesisSequenceNumbers);
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let mut last = String::new();
    let mut all = Vec::new();
    for i in 0..20 {
        let (shard, seq) = put(&client, &name, "1", &i.to_string()).await;
        assert_eq!(shard, "shardId-000000000001");
        assert!(seq.bytes().all(|b| b.is_ascii_digit()) && !seq.starts_with('0'));
        assert!(seq.len() == last.len() || last.is_empty(), "fixed width");
        assert!(seq > last, "{seq} after {last}");
        last = seq.clone();
        all.push(seq);
    }
    let (_, other) = put(&client, &name, "a", "other shard").await;
    assert!(!all.contains(&other), "unique in the stream");
}

async fn put_records_answers_each_record_in_order(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 4).await;
    let keys = ["a", "1", "user-42", "a"];
    let out = client
        .put_records()
        .stream_name(&name)
        .set_records(Some(
            keys.iter()
                .enumerate()
                .map(|(i, k)| entry(k, i.to_string().as_bytes()))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count, Some(0));
    let shards: Vec<_> = out
        .records
        .iter()
        .map(|r| r.shard_id.clone().unwrap())
        .collect();
    assert_eq!(
        shards,
        [
            "shardId-000000000000",
            "shardId-000000000003",
            "shardId-000000000001",
            "shardId-000000000000"
        ]
    );
    assert!(out.records[0].sequence_number < out.records[3].sequence_number);
    assert!(out.records.iter().all(|r| r.error_code.is_none()));
    let it = iterator(
        &client,
        &name,
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    assert_eq!(texts(&drain(&client, it).await), ["0", "3"]);
}

async fn put_records_refuses_more_than_500_records_or_5_mib(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let many: Vec<_> = (0..501).map(|i| entry(&i.to_string(), b"x")).collect();
    let err = client
        .put_records()
        .stream_name(&name)
        .set_records(Some(many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    assert!(
        message(&err).contains("Member must have length less than or equal to 500"),
        "{err:?}"
    );

    let big = vec![b'x'; 1024 * 1024 - 10];
    let six: Vec<_> = (0..6).map(|i| entry(&i.to_string(), &big)).collect();
    let err = client
        .put_records()
        .stream_name(&name)
        .set_records(Some(six))
        .send()
        .await
        .unwrap_err();
    assert_eq!(message(&err), "Records size exceeds 5 MB limit");
    assert!(err.into_service_error().is_invalid_argument_exception());

    let err = client
        .put_records()
        .stream_name(&name)
        .set_records(Some(Vec::new()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn a_record_over_1_mib_is_refused(env: &Env) {
    crate::needs!(env, KinesisRecordLimit, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let put_data = |data: Vec<u8>, key: &'static str| {
        client
            .put_record()
            .stream_name(&name)
            .partition_key(key)
            .data(Blob::new(data))
            .send()
    };
    // Exactly 1 MiB of data plus partition key fits.
    put_data(vec![7; 1024 * 1024 - 1], "k").await.unwrap();
    let err = put_data(vec![7; 1024 * 1024 + 1], "k").await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    assert!(
        message(&err).contains(
            "at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576"
        ),
        "{err:?}"
    );
    // Data within 1 MiB whose partition key takes it over.
    let err = put_data(vec![7; 1024 * 1024], "key").await.unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());

    let err = client
        .put_records()
        .stream_name(&name)
        .records(entry("k", b"small"))
        .records(entry("k", &vec![1; 1024 * 1024 + 1]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    assert!(message(&err).contains("'records.2.member.data'"), "{err:?}");
}

async fn partition_keys_must_have_1_to_256_characters(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let put_key = |key: String| {
        client
            .put_record()
            .stream_name(&name)
            .partition_key(key)
            .data(Blob::new("x"))
            .send()
    };
    put_key("é".repeat(256)).await.unwrap();
    let err = put_key("k".repeat(257)).await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    assert!(message(&err).contains("'partitionKey'"), "{err:?}");
    let err = put_key(String::new()).await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn record_data_round_trips_byte_for_byte(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let payloads: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0xff, 0xfe], (0..=255).collect()];
    for p in &payloads {
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new(p.clone()))
            .send()
            .await
            .unwrap();
    }
    let it = iterator(
        &client,
        &name,
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    let got: Vec<Vec<u8>> = drain(&client, it)
        .await
        .into_iter()
        .map(|r| r.data.into_inner())
        .collect();
    assert_eq!(got, payloads);
}

async fn sequence_number_for_ordering_is_accepted(env: &Env) {
    crate::needs!(env, KinesisSequenceNumbers);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let (_, first) = put(&client, &name, "k", "1").await;
    let second = client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("2"))
        .sequence_number_for_ordering(&first)
        .send()
        .await
        .unwrap();
    assert!(second.sequence_number > first);
    let err = client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new("3"))
        .sequence_number_for_ordering("12")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
}

// ---- throughput limits (switched on) ----

fn throttling() -> EmulatorConfig {
    EmulatorConfig {
        kinesis: KinesisConfig {
            enforce_throughput: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

mod put_records_fails_per_record_when_a_shard_is_over_its_limit {
    use super::*;

    #[tokio::test]
    async fn over_http() {
        crate::require!(ThroughputLimits); // Routed through support: emulator-only setting.
        super::put_records_fails_per_record_when_a_shard_is_over_its_limit(
            &Env::start_with(Edge::Http, throttling()).await,
        )
        .await;
    }

    #[tokio::test]
    async fn in_process() {
        crate::require!(ThroughputLimits); // Routed through support: emulator-only setting.
        super::put_records_fails_per_record_when_a_shard_is_over_its_limit(
            &Env::start_with(Edge::InProcess, throttling()).await,
        )
        .await;
    }
}

/// One PutRecords call is applied at one instant, so 2 MiB sent to one shard deterministically
/// exceeds its 1 MiB/s while the other shard's record goes through.
async fn put_records_fails_per_record_when_a_shard_is_over_its_limit(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let data = vec![b'd'; 4096];
    let mut records: Vec<_> = (0..499)
        .map(|_| {
            PutRecordsRequestEntry::builder()
                .partition_key("k")
                .explicit_hash_key("0")
                .data(Blob::new(data.clone()))
                .build()
                .unwrap()
        })
        .collect();
    records.push(entry("1", b"to shard 1"));
    let out = client
        .put_records()
        .stream_name(&name)
        .set_records(Some(records))
        .send()
        .await
        .expect("partial failure is still HTTP 200");
    // 1 MiB / (4096 + 1) bytes = 255 records fit on shard 0.
    let failed = out.failed_record_count.unwrap();
    assert_eq!(failed, 499 - 255);
    assert_eq!(out.records.len(), 500);
    let first_failure = &out.records[255];
    assert_eq!(
        first_failure.error_code.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(
        first_failure.error_message.as_deref(),
        Some(
            format!(
                "Rate exceeded for shard shardId-000000000000 in stream {name} under account 000000000000."
            )
            .as_str()
        )
    );
    assert!(first_failure.sequence_number.is_none() && first_failure.shard_id.is_none());
    assert!(out.records[254].sequence_number.is_some());
    assert_eq!(
        out.records[499].shard_id.as_deref(),
        Some("shardId-000000000001")
    );
    let it = iterator(
        &client,
        &name,
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    assert_eq!(
        drain(&client, it).await.len(),
        255,
        "throttled records are not stored"
    );
}
