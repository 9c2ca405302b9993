//! Throttling: limits switched on, SDK retries off so the error surfaces.

use super::*;

async fn throttled_env(edge: Edge) -> (Env, Client) {
    let config = emulator::EmulatorConfig {
        dynamodb: emulator::dynamodb::DynamoDbConfig {
            enforce_throughput: true,
            on_demand_write_units: 6,
            on_demand_read_units: 100,
            partition_write_units: 3,
            partition_read_units: 100,
        },
        ..Default::default()
    };
    let env = Env::start_with(edge, config).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(env.sdk())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let client = Client::from_conf(conf);
    (env, client)
}

/// Puts to one key until refused; returns how many succeeded and the refusal.
async fn put_until_throttled(client: &Client, table: &str, key: &str) -> (usize, PutItemError) {
    for done in 0..50 {
        let result = client
            .put_item()
            .table_name(table)
            .item("id", s(key))
            .send()
            .await;
        if let Err(err) = result {
            return (done, err.into_service_error());
        }
    }
    panic!("50 puts to one key within a few seconds were never throttled");
}

async fn on_demand_tables_throttle_hot_keys_and_the_table(edge: Edge) {
    let (_env, client) = throttled_env(edge).await;
    let table = id_table(&client).await;
    let (done, err) = put_until_throttled(&client, &table, "hot").await;
    // 3 WCU/s per key: refused after 3 (or up to 6 if a second boundary fell in between).
    assert!((3..=6).contains(&done), "{done} puts before throttling");
    let PutItemError::ThrottlingException(e) = &err else {
        panic!("expected ThrottlingException, got {err:?}");
    };
    assert_eq!(
        e.message(),
        Some("Rate of requests exceeds the allowed throughput.")
    );
    assert!(!e.throttling_reasons().is_empty());
    // A batch over the table's 6 WCU/s comes back partly unprocessed, never lost.
    let puts: Vec<WriteRequest> = (0..10)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("id", s(&format!("k{i}")))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    match client
        .batch_write_item()
        .request_items(&table, puts)
        .send()
        .await
    {
        Ok(out) => {
            let left = out
                .unprocessed_items()
                .map(|u| u[&table].len())
                .unwrap_or(0);
            assert!(left >= 4, "{left} unprocessed of 10 over a 6 WCU/s table");
        }
        Err(err) => {
            // Everything refused (the second was already used up): AWS answers with the error.
            assert_eq!(err.into_service_error().code(), Some("ThrottlingException"));
        }
    }
}

async fn provisioned_tables_answer_provisioned_throughput_exceeded(edge: Edge) {
    let (_env, client) = throttled_env(edge).await;
    let name = super::provisioned_table(&client, 1, 1, None).await;
    let (done, err) = put_until_throttled(&client, &name, "k").await;
    assert!((1..=2).contains(&done), "{done} puts before throttling");
    assert!(
        err.is_provisioned_throughput_exceeded_exception(),
        "{err:?}"
    );
}

#[tokio::test]
async fn on_demand_over_http() {
    crate::require!(ThroughputLimits); // emulator-only setting
    on_demand_tables_throttle_hot_keys_and_the_table(Edge::Http).await;
}

/// In process under the paused clock, so every call falls in the same second.
#[tokio::test(start_paused = true)]
async fn on_demand_in_process() {
    crate::require!(ThroughputLimits); // emulator-only setting
    on_demand_tables_throttle_hot_keys_and_the_table(Edge::InProcess).await;
}

#[tokio::test]
async fn provisioned_over_http() {
    crate::require!(ThroughputLimits); // emulator-only setting
    provisioned_tables_answer_provisioned_throughput_exceeded(Edge::Http).await;
}

#[tokio::test(start_paused = true)]
async fn provisioned_in_process() {
    crate::require!(ThroughputLimits); // emulator-only setting
    provisioned_tables_answer_provisioned_throughput_exceeded(Edge::InProcess).await;
}

/// Reads are metered in half units (eventually consistent) and BatchGetItem hands back
/// what the table could not serve as UnprocessedKeys.
#[tokio::test(start_paused = true)]
async fn reads_throttle_and_batch_get_leaves_keys_unprocessed() {
    crate::require!(ThroughputLimits); // emulator-only setting
    let config = emulator::EmulatorConfig {
        dynamodb: emulator::dynamodb::DynamoDbConfig {
            enforce_throughput: true,
            on_demand_read_units: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let env = Env::start_with(Edge::InProcess, config).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(env.sdk())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let client = Client::from_conf(conf);
    let table = id_table(&client).await;
    for i in 0..10 {
        client
            .put_item()
            .table_name(&table)
            .item("id", s(&format!("k{i}")))
            .send()
            .await
            .unwrap();
    }
    // 2 read units = 4 eventually consistent reads of items under 4 KB.
    for i in 0..4 {
        let out = client
            .get_item()
            .table_name(&table)
            .key("id", s(&format!("k{i}")))
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        assert_eq!(out.consumed_capacity().unwrap().capacity_units(), Some(0.5));
    }
    let err = client
        .get_item()
        .table_name(&table)
        .key("id", s("k0"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    let keys: Vec<Item> = (0..10)
        .map(|i| item(&[("id", s(&format!("k{i}")))]))
        .collect();
    let out = client
        .batch_get_item()
        .request_items(
            &table,
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let served = out.responses().unwrap()[&table].len();
    let left = out.unprocessed_keys().unwrap()[&table].keys().len();
    assert_eq!((served, left), (4, 6));
}

/// With the paused clock the limits are exact, and a new second refills the buckets.
#[tokio::test(start_paused = true)]
async fn a_new_second_refills_the_bucket() {
    crate::require!(ThroughputLimits); // emulator-only setting
    let (_env, client) = throttled_env(Edge::InProcess).await;
    let table = id_table(&client).await;
    let (done, _) = put_until_throttled(&client, &table, "hot").await;
    assert_eq!(done, 3);
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    let (done, _) = put_until_throttled(&client, &table, "hot").await;
    assert_eq!(done, 3);
}
