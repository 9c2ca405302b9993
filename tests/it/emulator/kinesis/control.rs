//! Streams and shards: create, describe, list (with pagination), delete, retention, ARNs.

use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails, StreamStatus};

use super::{code, create_stream, message};
use crate::support::{Env, unique};

const HALF: &str = "170141183460469231731687303715884105727";
const MAX: &str = "340282366920938463463374607431768211455";

crate::on_both_edges!(
    a_created_stream_is_active_with_evenly_split_md5_ranges,
    describe_stream_summary_counts_open_shards,
    creating_an_existing_stream_is_resource_in_use,
    on_demand_streams_start_with_four_shards,
    create_stream_without_shard_count_or_mode_is_on_demand_with_four_shards,
    create_stream_refuses_bad_names_and_counts,
    a_deleted_stream_is_gone,
    operations_on_a_missing_stream_are_resource_not_found,
    stream_arn_is_accepted_wherever_stream_name_is,
    list_streams_paginates_in_name_order,
    list_shards_paginates_with_next_token,
    describe_stream_pages_shards,
    retention_changes_within_24_to_8760_hours,
);

async fn a_created_stream_is_active_with_evenly_split_md5_ranges(env: &Env) {
    crate::needs!(env, KinesisOnDemand, KinesisHashKeyRanges);
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let desc = client
        .describe_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(desc.stream_name, name);
    assert_eq!(
        desc.stream_arn,
        format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}")
    );
    assert_eq!(desc.stream_status, StreamStatus::Active);
    assert_eq!(desc.retention_period_hours, 24);
    assert!(!desc.has_more_shards);
    assert_eq!(
        desc.stream_mode_details.unwrap().stream_mode,
        StreamMode::Provisioned
    );
    assert_eq!(desc.encryption_type.unwrap().as_str(), "NONE");
    let ids: Vec<_> = desc.shards.iter().map(|s| s.shard_id.as_str()).collect();
    assert_eq!(ids, ["shardId-000000000000", "shardId-000000000001"]);
    let ranges: Vec<_> = desc
        .shards
        .iter()
        .map(|s| {
            let r = s.hash_key_range.as_ref().unwrap();
            (r.starting_hash_key.clone(), r.ending_hash_key.clone())
        })
        .collect();
    let after_half = "170141183460469231731687303715884105728".to_owned();
    assert_eq!(
        ranges,
        [
            ("0".to_owned(), HALF.to_owned()),
            (after_half, MAX.to_owned())
        ]
    );
    let start = &desc.shards[0]
        .sequence_number_range
        .as_ref()
        .unwrap()
        .starting_sequence_number;
    assert!(start.bytes().all(|b| b.is_ascii_digit()), "{start}");
}

async fn describe_stream_summary_counts_open_shards(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 3).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap();
    assert_eq!(summary.stream_name, name);
    assert_eq!(summary.open_shard_count, 3);
    assert_eq!(summary.retention_period_hours, 24);
    assert_eq!(summary.stream_status, StreamStatus::Active);
}

async fn creating_an_existing_stream_is_resource_in_use(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let err = client
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("already exists"), "{err:?}");
    assert!(err.into_service_error().is_resource_in_use_exception());
}

async fn on_demand_streams_start_with_four_shards(env: &Env) {
    crate::needs!(env, KinesisOnDemand);
    let client = env.kinesis();
    let name = unique("s");
    client
        .create_stream()
        .stream_name(&name)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let desc = client
        .describe_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(desc.shards.len(), 4);
    assert_eq!(
        desc.stream_mode_details.unwrap().stream_mode,
        StreamMode::OnDemand
    );
}

/// AWS's recorded answer (issue 11, "Answers that differ"): with neither ShardCount nor
/// StreamModeDetails, CreateStream makes an on-demand stream of 4 shards; both members are
/// optional (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html).
async fn create_stream_without_shard_count_or_mode_is_on_demand_with_four_shards(env: &Env) {
    crate::needs!(env, KinesisOnDemand, KinesisOnDemandByDefault);
    let client = env.kinesis();
    let name = unique("s");
    client
        .create_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    super::wait_active(&client, &name).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap();
    assert_eq!(summary.open_shard_count, 4);
    assert_eq!(
        summary.stream_mode_details.unwrap().stream_mode,
        StreamMode::OnDemand
    );
}

async fn create_stream_refuses_bad_names_and_counts(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let err = client
        .create_stream()
        .stream_name("no/slashes")
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("streamName"), "{err:?}");
    assert!(err.into_service_error().is_validation_exception());
    let err = client
        .create_stream()
        .stream_name(unique("s"))
        .shard_count(0)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("shardCount"), "{err:?}");
    assert!(err.into_service_error().is_validation_exception());
    let err = client
        .create_stream()
        .stream_name(unique("s"))
        .shard_count(501)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_limit_exceeded_exception());
}

async fn a_deleted_stream_is_gone(env: &Env) {
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    client
        .delete_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap();
    // AWS keeps a deleted stream DELETING for a while (LocalStack too); the emulator drops it
    // at once. Either way it is gone within the deadline.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match client.describe_stream().stream_name(&name).send().await {
            Err(err) => {
                assert!(err.into_service_error().is_resource_not_found_exception());
                break;
            }
            Ok(out) => {
                let status = out.stream_description.map(|d| d.stream_status);
                assert_eq!(status, Some(StreamStatus::Deleting));
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "still DELETING after 30 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    let listed = client.list_streams().send().await.unwrap();
    assert!(!listed.stream_names.contains(&name));
    let err = client
        .delete_stream()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

async fn operations_on_a_missing_stream_are_resource_not_found(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = unique("missing");
    let err = client
        .describe_stream_summary()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        format!("Stream {name} under account 000000000000 not found.")
    );
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .put_record()
        .stream_name(&name)
        .partition_key("k")
        .data(aws_sdk_kinesis::primitives::Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .list_shards()
        .stream_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .get_shard_iterator()
        .stream_name(&name)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::Latest)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(48)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

async fn stream_arn_is_accepted_wherever_stream_name_is(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 2).await;
    let arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}");
    let put = client
        .put_record()
        .stream_arn(&arn)
        .partition_key("a")
        .data(aws_sdk_kinesis::primitives::Blob::new("by arn"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.shard_id, "shardId-000000000000");
    let desc = client
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.stream_description.unwrap().stream_name, name);
    let shards = client.list_shards().stream_arn(&arn).send().await.unwrap();
    assert_eq!(shards.shards.unwrap().len(), 2);
    let it = client
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let got = client
        .get_records()
        .shard_iterator(it)
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.records.len(), 1);
    client
        .increase_stream_retention_period()
        .stream_arn(&arn)
        .retention_period_hours(25)
        .send()
        .await
        .unwrap();

    // An ARN of another region names no stream here; neither name nor ARN is refused.
    let elsewhere = format!("arn:aws:kinesis:eu-west-1:000000000000:stream/{name}");
    let err = client
        .describe_stream_summary()
        .stream_arn(elsewhere)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .put_record()
        .partition_key("a")
        .data(aws_sdk_kinesis::primitives::Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .describe_stream()
        .stream_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn list_streams_paginates_in_name_order(env: &Env) {
    crate::needs!(env, IsolatedServer);
    let client = env.kinesis();
    let mut names = Vec::new();
    for _ in 0..5 {
        names.push(create_stream(&client, 1).await);
    }
    names.sort();
    let first = client.list_streams().limit(2).send().await.unwrap();
    assert_eq!(first.stream_names, names[..2]);
    assert!(first.has_more_streams);
    assert_eq!(first.stream_summaries.as_ref().map(Vec::len), Some(2));
    let summary = &first.stream_summaries.unwrap()[0];
    assert_eq!(summary.stream_name, names[0]);
    assert_eq!(summary.stream_status, StreamStatus::Active);

    let second = client
        .list_streams()
        .limit(2)
        .next_token(first.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.stream_names, names[2..4]);
    let by_name = client
        .list_streams()
        .exclusive_start_stream_name(&names[3])
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.stream_names, names[4..]);
    assert!(!by_name.has_more_streams);
    assert!(by_name.next_token.is_none());

    let mut paged = Vec::new();
    let mut pages = client.list_streams().limit(2).into_paginator().send();
    while let Some(page) = pages.next().await {
        paged.extend(page.unwrap().stream_names);
    }
    assert_eq!(paged, names);
}

async fn list_shards_paginates_with_next_token(env: &Env) {
    crate::needs!(env, Pagination);
    let client = env.kinesis();
    let name = create_stream(&client, 5).await;
    let mut ids = Vec::new();
    let mut out = client
        .list_shards()
        .stream_name(&name)
        .max_results(2)
        .send()
        .await
        .unwrap();
    let mut calls = 1;
    loop {
        ids.extend(
            out.shards
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.shard_id),
        );
        let Some(token) = out.next_token else { break };
        out = client
            .list_shards()
            .next_token(token)
            .max_results(2)
            .send()
            .await
            .unwrap();
        calls += 1;
    }
    assert_eq!(calls, 3);
    let expected: Vec<String> = (0..5).map(|i| format!("shardId-{i:012}")).collect();
    assert_eq!(ids, expected);

    let after = client
        .list_shards()
        .stream_name(&name)
        .exclusive_start_shard_id("shardId-000000000002")
        .send()
        .await
        .unwrap();
    let after: Vec<_> = after
        .shards
        .unwrap()
        .into_iter()
        .map(|s| s.shard_id)
        .collect();
    assert_eq!(after, expected[3..]);

    let token = client
        .list_shards()
        .stream_name(&name)
        .max_results(1)
        .send()
        .await
        .unwrap()
        .next_token
        .unwrap();
    let err = client
        .list_shards()
        .stream_name(&name)
        .next_token(token)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .list_shards()
        .stream_arn(format!(
            "arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
        ))
        .next_token("any")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "NextToken and StreamARN cannot be provided together."
    );
    let err = client
        .list_shards()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
}

async fn describe_stream_pages_shards(env: &Env) {
    crate::needs!(env, Pagination);
    let client = env.kinesis();
    let name = create_stream(&client, 3).await;
    let desc = client
        .describe_stream()
        .stream_name(&name)
        .limit(2)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(desc.shards.len(), 2);
    assert!(desc.has_more_shards);
    let rest = client
        .describe_stream()
        .stream_name(&name)
        .exclusive_start_shard_id(&desc.shards[1].shard_id)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(rest.shards.len(), 1);
    assert_eq!(rest.shards[0].shard_id, "shardId-000000000002");
    assert!(!rest.has_more_shards);
}

async fn retention_changes_within_24_to_8760_hours(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    let retention = || async {
        client
            .describe_stream_summary()
            .stream_name(&name)
            .send()
            .await
            .unwrap()
            .stream_description_summary
            .unwrap()
            .retention_period_hours
    };
    client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(8760)
        .send()
        .await
        .unwrap();
    assert_eq!(retention().await, 8760);
    client
        .decrease_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    assert_eq!(retention().await, 48);

    let err = client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(8761)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("Maximum allowed retention period is 8760 hours"));
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .increase_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(30)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("can not be shorter than existing retention period (48 hours)"));
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .decrease_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(23)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("Minimum allowed retention period is 24 hours"));
    assert!(err.into_service_error().is_invalid_argument_exception());
    let err = client
        .decrease_stream_retention_period()
        .stream_name(&name)
        .retention_period_hours(72)
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("can not be longer than existing retention period"));
    assert!(err.into_service_error().is_invalid_argument_exception());
    assert_eq!(retention().await, 48);
}
