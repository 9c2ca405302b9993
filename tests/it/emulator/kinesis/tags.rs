//! Stream tags and DescribeLimits.

use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails};

use super::{code, create_stream, message};
use crate::support::{Env, unique};

crate::on_both_edges!(
    tags_are_added_listed_in_key_order_and_removed,
    a_stream_carries_at_most_50_tags,
    describe_limits_counts_open_shards_and_on_demand_streams,
    larger_max_record_sizes_are_refused_not_ignored,
);

async fn tags_are_added_listed_in_key_order_and_removed(env: &Env) {
    crate::needs!(env, Pagination);
    let client = env.kinesis();
    let name = unique("s");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(1)
        .tags("team", "ingest")
        .send()
        .await
        .unwrap();
    super::wait_active(&client, &name).await;
    client
        .add_tags_to_stream()
        .stream_name(&name)
        .tags("env", "test")
        .tags("cost", "")
        .send()
        .await
        .unwrap();
    let listed = |start: Option<&str>, limit: i32| {
        client
            .list_tags_for_stream()
            .stream_name(&name)
            .set_exclusive_start_tag_key(start.map(str::to_owned))
            .limit(limit)
            .send()
    };
    let page = listed(None, 2).await.unwrap();
    let keys: Vec<_> = page.tags.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["cost", "env"]);
    assert!(page.has_more_tags);
    let rest = listed(Some("env"), 2).await.unwrap();
    assert_eq!(rest.tags.len(), 1);
    assert_eq!(rest.tags[0].key, "team");
    assert_eq!(rest.tags[0].value.as_deref(), Some("ingest"));
    assert!(!rest.has_more_tags);

    client
        .remove_tags_from_stream()
        .stream_name(&name)
        .tag_keys("env")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed(None, 50)
        .await
        .unwrap()
        .tags
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(keys, ["cost", "team"]);
    let err = listed(None, 51).await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

async fn a_stream_carries_at_most_50_tags(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    let name = create_stream(&client, 1).await;
    // AddTagsToStream takes up to 10 tags a call (Kinesis API Reference), 50 in all.
    for batch in 0..5 {
        let mut add = client.add_tags_to_stream().stream_name(&name);
        for i in batch * 10..batch * 10 + 10 {
            add = add.tags(format!("k{i:02}"), "v");
        }
        add.send().await.unwrap();
    }
    let err = client
        .add_tags_to_stream()
        .stream_name(&name)
        .tags("one-more", "v")
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&err).contains("cannot have more than 50 tags"),
        "{err:?}"
    );
    assert!(err.into_service_error().is_invalid_argument_exception());
    // Overwriting an existing key is not an extra tag.
    client
        .add_tags_to_stream()
        .stream_name(&name)
        .tags("k00", "w")
        .send()
        .await
        .unwrap();
}

async fn describe_limits_counts_open_shards_and_on_demand_streams(env: &Env) {
    crate::needs!(env, KinesisOnDemand, KinesisDefaultLimits);
    let client = env.kinesis();
    create_stream(&client, 3).await;
    client
        .create_stream()
        .stream_name(unique("s"))
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let limits = client.describe_limits().send().await.unwrap();
    assert_eq!(limits.shard_limit, 500);
    assert_eq!(limits.open_shard_count, 7);
    assert_eq!(limits.on_demand_stream_count, 1);
}

async fn larger_max_record_sizes_are_refused_not_ignored(env: &Env) {
    crate::needs!(env, StrictValidation);
    let client = env.kinesis();
    client
        .create_stream()
        .stream_name(unique("s"))
        .shard_count(1)
        .max_record_size_in_kib(1024)
        .send()
        .await
        .unwrap();
    let err = client
        .create_stream()
        .stream_name(unique("s"))
        .shard_count(1)
        .max_record_size_in_kib(2048)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_argument_exception());
}
