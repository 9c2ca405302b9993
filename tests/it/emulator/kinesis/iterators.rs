//! Reading: every shard iterator type, GetRecords paging, and the iterator errors.

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::ShardIteratorType;

use super::{code, create_stream, drain, iterator, message, put, texts};
use crate::support::Env;

const SHARD0: &str = "shardId-000000000000";

crate::on_both_edges!(
    trim_horizon_reads_everything_in_order_with_limit_and_next_iterator,
    latest_returns_only_records_put_after_the_iterator_was_taken,
    at_sequence_number_includes_and_after_sequence_number_excludes_the_record,
    at_timestamp_starts_at_the_first_record_arriving_at_or_after_it,
    at_timestamp_before_the_trim_horizon_reads_everything,
    a_caught_up_reader_gets_empty_records_and_zero_millis_behind,
    get_records_limit_must_be_1_to_10000,
    iterator_type_and_sequence_number_must_agree,
    a_sequence_number_from_another_shard_is_refused,
    garbage_iterators_are_invalid,
    get_records_accepts_a_shard_iterator_in_double_quotes,
    an_unknown_shard_is_resource_not_found,
);

async fn trim_horizon_reads_everything_in_order_with_limit_and_next_iterator(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(
            put(&client, &name, &format!("pk{i}"), &format!("r{i}"))
                .await
                .1,
        );
    }
    let mut it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        let out = client
            .get_records()
            .shard_iterator(&it)
            .limit(2)
            .send()
            .await
            .unwrap();
        pages.push(texts(&out.records));
        if let Some(first) = out.records.first() {
            assert!(first.partition_key.as_deref().unwrap().starts_with("pk"));
            assert!(first.approximate_arrival_timestamp.is_some());
        }
        it = out.next_shard_iterator.unwrap();
    }
    assert_eq!(pages, [vec!["r0", "r1"], vec!["r2", "r3"], vec!["r4"]]);
    let all = drain(
        &client,
        iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await,
    )
    .await;
    let got: Vec<_> = all.iter().map(|r| r.sequence_number.clone()).collect();
    assert_eq!(got, seqs);
}

async fn latest_returns_only_records_put_after_the_iterator_was_taken(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "before").await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::Latest, None).await;
    let out = client
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap();
    assert!(out.records.is_empty());
    put(&client, &name, "k", "after").await;
    // Both the original iterator and the one GetRecords handed back see the new record.
    assert_eq!(texts(&drain(&client, it).await), ["after"]);
    let next = out.next_shard_iterator.unwrap();
    assert_eq!(texts(&drain(&client, next).await), ["after"]);
}

async fn at_sequence_number_includes_and_after_sequence_number_excludes_the_record(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "a").await;
    let (_, b) = put(&client, &name, "k", "b").await;
    put(&client, &name, "k", "c").await;
    let at = iterator(
        &client,
        &name,
        SHARD0,
        ShardIteratorType::AtSequenceNumber,
        Some(&b),
    )
    .await;
    assert_eq!(texts(&drain(&client, at).await), ["b", "c"]);
    let after = iterator(
        &client,
        &name,
        SHARD0,
        ShardIteratorType::AfterSequenceNumber,
        Some(&b),
    )
    .await;
    assert_eq!(texts(&drain(&client, after).await), ["c"]);
    // The shard's starting sequence number is before every record.
    let start = client
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .shards
        .unwrap()[0]
        .sequence_number_range
        .clone()
        .unwrap()
        .starting_sequence_number;
    let at_start = iterator(
        &client,
        &name,
        SHARD0,
        ShardIteratorType::AtSequenceNumber,
        Some(&start),
    )
    .await;
    assert_eq!(texts(&drain(&client, at_start).await), ["a", "b", "c"]);
}

async fn at_timestamp_starts_at_the_first_record_arriving_at_or_after_it(env: &Env) {
    crate::needs!(env, KinesisAtTimestamp);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    for i in 0..5 {
        put(&client, &name, "k", &format!("r{i}")).await;
    }
    let all = drain(
        &client,
        iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await,
    )
    .await;
    for record in &all {
        let at = record.approximate_arrival_timestamp.unwrap();
        let it = client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(SHARD0)
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(at)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        let got = drain(&client, it).await;
        // Exactly the records that arrived at or after `at`, the record itself included.
        let expected: Vec<_> = all
            .iter()
            .filter(|r| r.approximate_arrival_timestamp.unwrap() >= at)
            .map(|r| r.sequence_number.clone())
            .collect();
        let got: Vec<_> = got.iter().map(|r| r.sequence_number.clone()).collect();
        assert!(got.contains(&record.sequence_number));
        assert_eq!(got, expected);
    }
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&err).contains("Must specify timestampInMillis"),
        "{err:?}"
    );
    assert!(err.into_service_error().is_invalid_argument_exception());
    let future = DateTime::from_secs(4_000_000_000);
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(future)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("cannot be greater than the currentTimestampInMillis"));
    assert!(err.into_service_error().is_invalid_argument_exception());
}

async fn at_timestamp_before_the_trim_horizon_reads_everything(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "a").await;
    put(&client, &name, "k", "b").await;
    let it = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(DateTime::from_secs(0))
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    assert_eq!(texts(&drain(&client, it).await), ["a", "b"]);
}

async fn a_caught_up_reader_gets_empty_records_and_zero_millis_behind(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let out = client
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap();
    assert!(out.records.is_empty());
    assert_eq!(out.millis_behind_latest, Some(0));
    assert!(out.next_shard_iterator.is_some());
    put(&client, &name, "k", "x").await;
    let out = client
        .get_records()
        .shard_iterator(out.next_shard_iterator.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(texts(&out.records), ["x"]);
    assert_eq!(out.millis_behind_latest, Some(0));
}

async fn get_records_limit_must_be_1_to_10000(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "x").await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let out = client
        .get_records()
        .shard_iterator(&it)
        .limit(10_000)
        .send()
        .await
        .unwrap();
    assert_eq!(out.records.len(), 1);
    let err = client
        .get_records()
        .shard_iterator(&it)
        .limit(10_001)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .get_records()
        .shard_iterator(&it)
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn iterator_type_and_sequence_number_must_agree(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let (_, seq) = put(&client, &name, "k", "x").await;
    let request = |kind: ShardIteratorType, seq: Option<String>| {
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(SHARD0)
            .shard_iterator_type(kind)
            .set_starting_sequence_number(seq)
            .send()
    };
    let err = request(ShardIteratorType::TrimHorizon, Some(seq.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and \
         StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. \
         Request specified TRIM_HORIZON and also a StartingSequenceNumber."
    );
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = request(ShardIteratorType::AfterSequenceNumber, None)
        .await
        .unwrap_err();
    assert!(
        message(&err)
            .ends_with("Request specified AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    );
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = request(ShardIteratorType::AtSequenceNumber, Some("123".into()))
        .await
        .unwrap_err();
    assert!(message(&err).contains("is invalid"), "{err:?}");
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = request(ShardIteratorType::AtSequenceNumber, Some("x1".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn a_sequence_number_from_another_shard_is_refused(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let (shard, seq) = put(&client, &name, "1", "on shard 1").await;
    assert_eq!(shard, "shardId-000000000001");
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&seq)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a \
         call to a shard with shardId-000000000000"
    );
    assert!(err.into_service_error().is_invalid_argument_exception());

    // A number of a deleted and recreated stream of the same name does not come from it.
    client
        .delete_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    super::wait_active(&client, &name).await;
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&seq)
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&err).contains("did not come from this stream"),
        "{err:?}"
    );
}

/// AWS's recorded answer (issue 11, "Answers that differ"): GetRecords reads a ShardIterator
/// wrapped in double quotes as the iterator itself
/// (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html).
async fn get_records_accepts_a_shard_iterator_in_double_quotes(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    put(&client, &name, "k", "quoted").await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let out = client
        .get_records()
        .shard_iterator(format!("\"{it}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(texts(&out.records), ["quoted"]);
    assert!(out.next_shard_iterator.is_some());
}

async fn garbage_iterators_are_invalid(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let it = iterator(&client, &name, SHARD0, ShardIteratorType::TrimHorizon, None).await;
    let mut tampered = it.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    for bad in [
        "garbage".to_owned(),
        String::from_utf8(tampered).unwrap(),
        "AAAA".repeat(10),
    ] {
        let err = client
            .get_records()
            .shard_iterator(&bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(message(&err), "Invalid ShardIterator.");
        assert!(err.into_service_error().is_invalid_argument_exception());
    }
    let err = client
        .get_records()
        .shard_iterator("x".repeat(513))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    // An iterator of a deleted stream reads nothing.
    client
        .delete_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    let err = client
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

async fn an_unknown_shard_is_resource_not_found(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id("shardId-000000000001")
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        format!(
            "Shard shardId-000000000001 in stream {name} under account 000000000000 does not exist"
        )
    );
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(Blob::new(""))
        .send()
        .await;
    assert!(err.is_ok(), "empty data is a valid record");
}
