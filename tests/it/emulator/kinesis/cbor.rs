//! Kinesis over CBOR (`Content-Type: application/x-amz-cbor-1.1`), the protocol the AWS SDK
//! for Java (v1 and v2) and the KCL use by default. No Rust SDK speaks it, so these tests send
//! raw CBOR bodies over HTTP (or to the emulator's router in process) and read the raw answer.
//!
//! What AWS sends, and so what is checked: blobs (`Data`) as CBOR byte strings; timestamps as
//! CBOR tag 1 around an integer of epoch milliseconds, in requests (aws-sdk-java-v2
//! `SdkCborGenerator.writeValue(Instant)`: `writeTag(1); writeNumber(instant.toEpochMilli())`,
//! and aws/aws-sdk-java-v2#4661) and answers (`ApproximateArrivalTimestamp` arrives as integer
//! milliseconds: aws/aws-sdk-java-v2#184; `AwsCborProtocolFactory` reads payload timestamps as
//! `UNIX_TIMESTAMP_MILLIS`); errors as a CBOR map with `__type` and `message`, the same members
//! as the JSON protocol's error body
//! (https://docs.aws.amazon.com/kinesis/latest/APIReference/CommonErrors.html).

use ciborium::Value as Cbor;

use crate::support::{Env, unique};

crate::on_both_edges!(
    cbor_records_round_trip_byte_exact_with_millisecond_timestamps,
    cbor_at_timestamp_takes_epoch_milliseconds,
    cbor_errors_are_cbor_maps_with_type_and_message,
);

/// One answer: status, content type and the decoded CBOR body.
struct Answer {
    status: u16,
    content_type: String,
    body: Cbor,
}

impl Answer {
    fn ok(self, op: &str) -> Cbor {
        assert_eq!(self.status, 200, "{op}: {:?}", self.body);
        assert_eq!(self.content_type, "application/x-amz-cbor-1.1", "{op}");
        self.body
    }
}

/// Calls `op` with a CBOR `body`.
async fn call(env: &Env, op: &str, body: Cbor) -> Answer {
    let mut bytes = Vec::new();
    ciborium::into_writer(&body, &mut bytes).unwrap();
    call_raw(env, op, bytes).await
}

/// Calls `op` with raw body bytes.
async fn call_raw(env: &Env, op: &str, body: Vec<u8>) -> Answer {
    let target = format!("Kinesis_20131202.{op}");
    let raw = crate::emulator::raw::post(env, &target, "application/x-amz-cbor-1.1", body).await;
    let body = ciborium::from_reader(raw.body.as_slice())
        .unwrap_or_else(|e| panic!("{op}: the answer is not CBOR ({e}): {:02x?}", raw.body));
    Answer {
        status: raw.status,
        content_type: raw.content_type,
        body,
    }
}

fn map(pairs: &[(&str, Cbor)]) -> Cbor {
    Cbor::Map(
        pairs
            .iter()
            .map(|(k, v)| (Cbor::Text((*k).into()), v.clone()))
            .collect(),
    )
}

fn text(v: &str) -> Cbor {
    Cbor::Text(v.into())
}

fn millis_tag(ms: i64) -> Cbor {
    Cbor::Tag(1, Box::new(Cbor::Integer(ms.into())))
}

fn field<'a>(value: &'a Cbor, name: &str) -> &'a Cbor {
    let Cbor::Map(entries) = value else {
        panic!("{value:?} is not a map (looking for {name})")
    };
    let key = text(name);
    &entries
        .iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no {name} in {value:?}"))
        .1
}

fn as_text(value: &Cbor) -> &str {
    value
        .as_text()
        .unwrap_or_else(|| panic!("{value:?} is not text"))
}

/// The epoch milliseconds of a tag-1 timestamp; fails on anything else (seconds as a float,
/// an untagged number).
fn as_millis(value: &Cbor) -> i64 {
    match value {
        Cbor::Tag(1, inner) => match inner.as_ref() {
            Cbor::Integer(i) => i64::try_from(*i).unwrap(),
            other => panic!("tag 1 around {other:?}, not integer milliseconds"),
        },
        other => panic!("{other:?} is not a tag-1 timestamp"),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Creates a one-shard stream over CBOR and waits (30 s at most) until it is ACTIVE; returns
/// its name and its StreamCreationTimestamp in milliseconds.
async fn create_stream(env: &Env) -> (String, i64) {
    let name = unique("cbor");
    let out = call(
        env,
        "CreateStream",
        map(&[
            ("StreamName", text(&name)),
            ("ShardCount", Cbor::Integer(1.into())),
        ]),
    )
    .await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let summary = call(
            env,
            "DescribeStreamSummary",
            map(&[("StreamName", text(&name))]),
        )
        .await
        .ok("DescribeStreamSummary");
        let summary = field(&summary, "StreamDescriptionSummary");
        if as_text(field(summary, "StreamStatus")) == "ACTIVE" {
            return (name, as_millis(field(summary, "StreamCreationTimestamp")));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never ACTIVE"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn trim_horizon(env: &Env, stream: &str) -> String {
    let out = call(
        env,
        "GetShardIterator",
        map(&[
            ("StreamName", text(stream)),
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("TRIM_HORIZON")),
        ]),
    )
    .await
    .ok("GetShardIterator");
    as_text(field(&out, "ShardIterator")).to_owned()
}

async fn get_records(env: &Env, iterator: &str) -> Vec<Cbor> {
    let out = call(env, "GetRecords", map(&[("ShardIterator", text(iterator))]))
        .await
        .ok("GetRecords");
    assert!(matches!(
        field(&out, "MillisBehindLatest"),
        Cbor::Integer(_)
    ));
    match field(&out, "Records") {
        Cbor::Array(records) => records.clone(),
        other => panic!("Records is {other:?}"),
    }
}

async fn cbor_records_round_trip_byte_exact_with_millisecond_timestamps(env: &Env) {
    crate::needs!(env, KinesisCbor);
    let before = now_ms();
    let (stream, created) = create_stream(env).await;
    // Within a minute of the wall clock, in milliseconds (seconds would be 1000 times smaller).
    assert!(
        (created - before).abs() < 60_000,
        "created {created}, now {before}"
    );
    // Every byte value, a NUL first: base64 or UTF-8 handling anywhere would change them.
    let every_byte: Vec<u8> = (0..=255u8).rev().collect();
    let put = call(
        env,
        "PutRecord",
        map(&[
            ("StreamName", text(&stream)),
            ("PartitionKey", text("k")),
            ("Data", Cbor::Bytes(every_byte.clone())),
        ]),
    )
    .await
    .ok("PutRecord");
    assert_eq!(as_text(field(&put, "ShardId")), "shardId-000000000000");
    let first_sequence = as_text(field(&put, "SequenceNumber")).to_owned();
    let entries = Cbor::Array(vec![
        map(&[("PartitionKey", text("a")), ("Data", Cbor::Bytes(vec![0]))]),
        map(&[
            ("PartitionKey", text("b")),
            ("Data", Cbor::Bytes(b"\xff\xfe{}".to_vec())),
        ]),
    ]);
    let puts = call(
        env,
        "PutRecords",
        map(&[("StreamName", text(&stream)), ("Records", entries)]),
    )
    .await
    .ok("PutRecords");
    assert_eq!(field(&puts, "FailedRecordCount"), &Cbor::Integer(0.into()));
    let after = now_ms();

    let records = get_records(env, &trim_horizon(env, &stream).await).await;
    let data: Vec<&Cbor> = records.iter().map(|r| field(r, "Data")).collect();
    assert_eq!(
        data,
        [
            &Cbor::Bytes(every_byte),
            &Cbor::Bytes(vec![0]),
            &Cbor::Bytes(b"\xff\xfe{}".to_vec())
        ]
    );
    assert_eq!(
        as_text(field(&records[0], "SequenceNumber")),
        first_sequence
    );
    assert_eq!(as_text(field(&records[1], "PartitionKey")), "a");
    for record in &records {
        let arrived = as_millis(field(record, "ApproximateArrivalTimestamp"));
        assert!(
            (before - 1_000..=after + 1_000).contains(&arrived),
            "arrived {arrived}, put between {before} and {after}"
        );
    }
}

async fn cbor_at_timestamp_takes_epoch_milliseconds(env: &Env) {
    crate::needs!(env, KinesisCbor, KinesisAtTimestamp, AwsErrorMessages);
    let (stream, _) = create_stream(env).await;
    call(
        env,
        "PutRecord",
        map(&[
            ("StreamName", text(&stream)),
            ("PartitionKey", text("k")),
            ("Data", Cbor::Bytes(b"one".to_vec())),
        ]),
    )
    .await
    .ok("PutRecord");
    let records = get_records(env, &trim_horizon(env, &stream).await).await;
    let arrived = as_millis(field(&records[0], "ApproximateArrivalTimestamp"));
    // AT_TIMESTAMP at the record's own arrival: the record is at or after it.
    let at = |ms: i64| {
        map(&[
            ("StreamName", text(&stream)),
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", millis_tag(ms)),
        ])
    };
    let out = call(env, "GetShardIterator", at(arrived))
        .await
        .ok("GetShardIterator");
    let records = get_records(env, as_text(field(&out, "ShardIterator"))).await;
    assert_eq!(records.len(), 1);
    assert_eq!(field(&records[0], "Data"), &Cbor::Bytes(b"one".to_vec()));
    // An hour ahead is in the future, and the message counts in milliseconds.
    let ahead = now_ms() + 3_600_000;
    let refused = call(env, "GetShardIterator", at(ahead)).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        as_text(field(&refused.body, "__type")),
        "InvalidArgumentException"
    );
    let message = as_text(field(&refused.body, "message"));
    assert!(
        message.contains(&format!("timestampInMillis: {ahead}")),
        "{message}"
    );
}

async fn cbor_errors_are_cbor_maps_with_type_and_message(env: &Env) {
    crate::needs!(env, KinesisCbor, AwsErrorMessages);
    let name = unique("missing");
    let missing = call(
        env,
        "DescribeStreamSummary",
        map(&[("StreamName", text(&name))]),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.content_type, "application/x-amz-cbor-1.1");
    assert_eq!(
        as_text(field(&missing.body, "__type")),
        "ResourceNotFoundException"
    );
    assert_eq!(
        as_text(field(&missing.body, "message")),
        format!("Stream {name} under account 000000000000 not found.")
    );
    // A body that is not CBOR at all.
    let garbage = call_raw(env, "ListStreams", vec![0xff, 0xff, 0x00]).await;
    assert_eq!(garbage.status, 400);
    assert_eq!(
        as_text(field(&garbage.body, "__type")),
        "SerializationException"
    );
}
