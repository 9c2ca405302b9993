//! Time to Live: UpdateTimeToLive / DescribeTimeToLive and the deletion of expired items.
//!
//! AWS (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html):
//! the TTL attribute is a Number of epoch seconds, an item whose value is less than the current
//! time is expired and deleted "typically within two days"; another UpdateTimeToLive within the
//! hour a change takes is a ValidationException. The emulator deletes an expired item at the
//! first request on its table after its time, on its own clock (README.md, "Fidelity").

use aws_sdk_dynamodb::types::{TimeToLiveSpecification, TimeToLiveStatus};

use super::*;

crate::on_both_edges!(
    time_to_live_is_enabled_described_and_refused_as_aws_refuses,
    items_already_expired_are_deleted_once_time_to_live_is_enabled,
);

fn spec(attribute: &str, enabled: bool) -> TimeToLiveSpecification {
    TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(enabled)
        .build()
        .unwrap()
}

async fn update(
    client: &Client,
    table: &str,
    attribute: &str,
    enabled: bool,
) -> Result<
    aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveOutput,
    SdkError<
        aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveError,
        aws_smithy_runtime_api::http::Response,
    >,
> {
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec(attribute, enabled))
        .send()
        .await
}

async fn describe(client: &Client, table: &str) -> (TimeToLiveStatus, Option<String>) {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let d = out.time_to_live_description().unwrap();
    (
        d.time_to_live_status().unwrap().clone(),
        d.attribute_name().map(str::to_owned),
    )
}

async fn time_to_live_is_enabled_described_and_refused_as_aws_refuses(env: &Env) {
    crate::needs!(env, StrictValidation, AwsErrorMessages);
    let client = env.dynamodb();
    let table = id_table(&client).await;
    assert_eq!(
        describe(&client, &table).await,
        (TimeToLiveStatus::Disabled, None)
    );
    let (code, message) = error(update(&client, &table, "expires", false).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "TimeToLive is already disabled");

    let out = update(&client, &table, "expires", true).await.unwrap();
    let answered = out.time_to_live_specification().unwrap();
    assert_eq!(
        (answered.attribute_name(), answered.enabled()),
        ("expires", true)
    );
    let (status, attribute) = describe(&client, &table).await;
    // AWS may still say ENABLING for a while; the emulator is done at once.
    assert!(
        matches!(
            status,
            TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling
        ),
        "{status:?}"
    );
    assert_eq!(attribute.as_deref(), Some("expires"));

    let (code, message) = error(update(&client, &table, "expires", true).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "TimeToLive is already enabled");
    let (code, message) = error(update(&client, &table, "other", true).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "TimeToLive is active on a different AttributeName: current AttributeName is expires"
    );
    // Disabling within the hour the change takes.
    let (code, message) = error(update(&client, &table, "expires", false).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Time to live has been modified multiple times within a fixed interval"
    );
}

fn epoch_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn get(client: &Client, table: &str, id: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key("id", s(id))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

async fn items_already_expired_are_deleted_once_time_to_live_is_enabled(env: &Env) {
    crate::needs!(env, DynamoDbTtlDeletion);
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let now = epoch_seconds();
    for (id, expires) in [
        ("past", Some(n(&(now - 60).to_string()))),
        ("fraction", Some(n(&format!("{}.5", now - 60)))),
        ("future", Some(n(&(now + 3_600).to_string()))),
        // Not a Number: TTL ignores the item.
        ("text", Some(s(&(now - 60).to_string()))),
        ("none", None),
    ] {
        let mut request = client.put_item().table_name(&table).item("id", s(id));
        if let Some(expires) = expires {
            request = request.item("expires", expires);
        }
        request.send().await.unwrap();
    }
    // Expired but TTL not enabled: nothing is deleted.
    assert!(get(&client, &table, "past").await.is_some());
    update(&client, &table, "expires", true).await.unwrap();
    assert!(get(&client, &table, "past").await.is_none());
    assert!(get(&client, &table, "fraction").await.is_none());
    for id in ["future", "text", "none"] {
        assert!(get(&client, &table, id).await.is_some(), "{id}");
    }
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 3);
    let t = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(t.table().unwrap().item_count(), Some(3));
}

/// Under the paused clock: an item lives until its second has passed, and is gone at the
/// first request after that, whatever the request.
#[tokio::test(start_paused = true)]
async fn an_item_is_deleted_at_the_first_request_after_its_time() {
    crate::require!(PausedClock);
    let env = Env::start(Edge::InProcess).await;
    let clock = env.emulator().unwrap().clock().clone();
    let client = env.dynamodb();
    let table = id_table(&client).await;
    update(&client, &table, "expires", true).await.unwrap();
    let expires = clock.now_ms() / 1000 + 10;
    client
        .put_item()
        .table_name(&table)
        .item("id", s("a"))
        .item("expires", n(&expires.to_string()))
        .send()
        .await
        .unwrap();
    tokio::time::advance(std::time::Duration::from_secs(9)).await;
    assert!(clock.now_ms() < expires * 1000);
    assert!(get(&client, &table, "a").await.is_some());
    tokio::time::advance(std::time::Duration::from_millis(1_001)).await;
    assert!(clock.now_ms() > expires * 1000);
    // A Scan is the first request after the expiry: it no longer sees the item.
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 0);
    assert!(get(&client, &table, "a").await.is_none());
}
