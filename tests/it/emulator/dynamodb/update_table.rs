//! UpdateTable: switching billing modes and changing provisioned throughput, and what AWS
//! refuses (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html;
//! the messages as dynalite's AWS-checked tests record them, mhart/dynalite
//! `test/updateTable.js`).

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType, TableStatus};

use super::*;

crate::on_both_edges!(
    update_table_changes_throughput_and_switches_billing_modes,
    update_table_refuses_what_aws_refuses,
    update_table_refuses_what_the_emulator_does_not_model,
);

fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

async fn describe(client: &Client, table: &str) -> aws_sdk_dynamodb::types::TableDescription {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
}

/// Waits (60 s at most) until `table` is ACTIVE again after an update (AWS takes a while,
/// the emulator none).
async fn wait_active(client: &Client, table: &str) -> aws_sdk_dynamodb::types::TableDescription {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let t = describe(client, table).await;
        if t.table_status() == Some(&TableStatus::Active) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{table} never ACTIVE"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn update_table_changes_throughput_and_switches_billing_modes(env: &Env) {
    crate::needs!(env, DynamoDbTableDescriptions);
    let client = env.dynamodb();
    let table = provisioned_table(&client, 5, 5, None).await;
    // More reads, fewer writes: an increase and a decrease at once.
    let out = client
        .update_table()
        .table_name(&table)
        .provisioned_throughput(throughput(10, 2))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(out.table_status(), Some(&TableStatus::Updating));
    let t = wait_active(&client, &table).await;
    let pt = t.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(10), Some(2))
    );
    assert!(pt.last_increase_date_time().is_some());
    assert!(pt.last_decrease_date_time().is_some());
    assert_eq!(pt.number_of_decreases_today(), Some(1));

    // To on-demand: no capacity, and the switch's time.
    client
        .update_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let t = wait_active(&client, &table).await;
    let summary = t
        .billing_mode_summary()
        .expect("a BillingModeSummary once given");
    assert_eq!(summary.billing_mode(), Some(&BillingMode::PayPerRequest));
    assert!(summary.last_update_to_pay_per_request_date_time().is_some());
    let pt = t.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(0), Some(0))
    );

    // And back to provisioned.
    client
        .update_table()
        .table_name(&table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(3, 4))
        .send()
        .await
        .unwrap();
    let t = wait_active(&client, &table).await;
    assert_eq!(
        t.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::Provisioned)
    );
    let pt = t.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(3), Some(4))
    );
    // Items survive every change.
    client
        .put_item()
        .table_name(&table)
        .item("id", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&client, &table).await.item_count(), Some(1));
}

async fn update_table_refuses_what_aws_refuses(env: &Env) {
    crate::needs!(env, StrictValidation, AwsErrorMessages);
    let client = env.dynamodb();
    let table = provisioned_table(&client, 5, 5, None).await;
    let (code, message) = error(client.update_table().table_name(&table).send().await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
    );
    let (code, message) = error(
        client
            .update_table()
            .table_name(&table)
            .provisioned_throughput(throughput(5, 5))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: 5. Requested ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. Requested WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
    );
    let on_demand = id_table(&client).await;
    let (code, message) = error(
        client
            .update_table()
            .table_name(&on_demand)
            .billing_mode(BillingMode::Provisioned)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED"
    );
    let (code, message) = error(
        client
            .update_table()
            .table_name(&on_demand)
            .provisioned_throughput(throughput(1, 1))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
    );
    let (code, message) = error(
        client
            .update_table()
            .table_name(unique("missing"))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert!(
        message.starts_with("Requested resource not found"),
        "{message}"
    );
}

/// The emulator models billing and throughput only; anything else is refused by name rather
/// than ignored (README.md, "Not emulated").
async fn update_table_refuses_what_the_emulator_does_not_model(env: &Env) {
    crate::needs!(env, EmulatorInternals);
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let (code, message) = error(
        client
            .update_table()
            .table_name(&table)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("StreamSpecification"), "{message}");
}
