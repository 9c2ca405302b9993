//! UpdateTimeToLive and DescribeTimeToLive. Expired items are deleted by
//! [`Table::expire`](super::table::Table::expire), at the first request on their table after
//! their time (AWS: "typically within two days"; the emulator picks the earliest point, on its
//! own clock, so tests are deterministic).
//!
//! AWS's rules (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html):
//! a change takes up to an hour and another UpdateTimeToLive within that hour is a
//! ValidationException; enabling what is enabled, disabling what is disabled, or naming
//! another attribute while enabled are ValidationExceptions too (their messages as AWS words
//! them, quoted by clients that handle them, e.g. ansible-collections amazon.aws
//! `dynamodb_table`).

use serde_json::{Value, json};

use super::shapes::{TableNameInput, UpdateTimeToLiveInput};
use super::{DynamoDb, lock_live, table_name};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// How long after a change another one is refused (AWS: "up to one hour").
const CHANGE_INTERVAL_MS: Millis = 3_600_000;

pub fn update_time_to_live(
    db: &DynamoDb,
    input: UpdateTimeToLiveInput,
    now: Millis,
) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?;
    let spec = input
        .time_to_live_specification
        .ok_or_else(|| null_member("timeToLiveSpecification"))?;
    let enabled = spec
        .enabled
        .ok_or_else(|| null_member("timeToLiveSpecification.enabled"))?;
    let attribute = spec
        .attribute_name
        .ok_or_else(|| null_member("timeToLiveSpecification.attributeName"))?;
    if attribute.is_empty() || attribute.len() > 255 {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value '{attribute}' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255, Member must have length greater than or equal to 1"
        ));
    }
    let table = db.table(name)?;
    let mut table = lock_live(&table, now);
    let current = table.time_to_live().clone();
    let validation = |message: String| aws_error!(ValidationException, "{message}");
    if current.enabled && current.attribute.as_deref() != Some(attribute.as_str()) {
        return Err(validation(format!(
            "TimeToLive is active on a different AttributeName: current AttributeName is {}",
            current.attribute.unwrap_or_default()
        )));
    }
    if current.enabled && enabled {
        return Err(validation("TimeToLive is already enabled".into()));
    }
    if !current.enabled && !enabled {
        return Err(validation("TimeToLive is already disabled".into()));
    }
    if current
        .changed_at
        .is_some_and(|at| now - at < CHANGE_INTERVAL_MS)
    {
        return Err(validation(
            "Time to live has been modified multiple times within a fixed interval".into(),
        ));
    }
    table.set_time_to_live(attribute.clone(), enabled, now);
    Ok(json!({
        "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}
    }))
}

pub fn describe_time_to_live(
    db: &DynamoDb,
    input: TableNameInput,
    now: Millis,
) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?;
    let table = db.table(name)?;
    let table = lock_live(&table, now);
    let ttl = table.time_to_live();
    // Enabling and disabling finish at once here (AWS passes through ENABLING / DISABLING).
    let description = match (&ttl.attribute, ttl.enabled) {
        (Some(attribute), true) => {
            json!({"TimeToLiveStatus": "ENABLED", "AttributeName": attribute})
        }
        _ => json!({"TimeToLiveStatus": "DISABLED"}),
    };
    Ok(json!({ "TimeToLiveDescription": description }))
}

fn null_member(member: &str) -> AwsError {
    aws_error!(
        ValidationException,
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::DynamoDbConfig;
    use super::*;
    use crate::clock::Clock;
    use crate::wire::Ctx;

    async fn call(db: &DynamoDb, op: &str, body: Value, now: Millis) -> Result<Value, AwsError> {
        let mut ctx = Ctx::for_test(Clock::new());
        ctx.now = now;
        db.call(op, &serde_json::to_vec(&body).unwrap(), &ctx).await
    }

    #[tokio::test]
    async fn an_item_expires_strictly_after_its_second_and_only_while_enabled() {
        let db = DynamoDb::new(DynamoDbConfig::default());
        let t0: Millis = 1_800_000_000_000;
        call(
            &db,
            "CreateTable",
            json!({"TableName": "ttl", "BillingMode": "PAY_PER_REQUEST",
                   "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}),
            t0,
        )
        .await
        .unwrap();
        let put = |id: &str, expires: i64| json!({"TableName": "ttl", "Item": {"id": {"S": id}, "exp": {"N": expires.to_string()}}});
        let get = |id: &str| json!({"TableName": "ttl", "Key": {"id": {"S": id}}});
        call(&db, "PutItem", put("a", t0 / 1000 + 10), t0)
            .await
            .unwrap();
        // Not enabled yet: an item long expired stays.
        call(&db, "PutItem", put("old", t0 / 1000 - 10), t0)
            .await
            .unwrap();
        let out = call(&db, "GetItem", get("old"), t0 + 60_000).await.unwrap();
        assert!(out.get("Item").is_some());
        let enable = json!({"TableName": "ttl",
            "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}});
        call(&db, "UpdateTimeToLive", enable, t0).await.unwrap();
        let out = call(&db, "GetItem", get("old"), t0).await.unwrap();
        assert!(out.get("Item").is_none(), "{out}");
        // At exactly its second the item is not yet expired ("less than the current time").
        let at = (t0 / 1000 + 10) * 1000;
        let out = call(&db, "GetItem", get("a"), at).await.unwrap();
        assert!(out.get("Item").is_some());
        let out = call(&db, "GetItem", get("a"), at + 1).await.unwrap();
        assert!(out.get("Item").is_none(), "{out}");
    }
}
