//! The control plane: CreateTable, DescribeTable, UpdateTable, ListTables and DeleteTable.
//! Tables are ACTIVE as soon as they are created or updated (CreateTable and UpdateTable
//! themselves report CREATING and UPDATING, as AWS does, so waiters behave).

use serde_json::{Value, json};

use super::shapes::{
    CreateTableInput, ListTablesInput, ProvisionedThroughput, TableNameInput, UpdateTableInput,
};
use super::table::{Billing, KeyAttr, KeySchema, Table};
use super::{DynamoDb, lock, lock_live, table_name};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;
use crate::wire::Ctx;

fn invalid(message: impl std::fmt::Display) -> AwsError {
    aws_error!(
        ValidationException,
        "One or more parameter values were invalid: {message}"
    )
}

fn not_found(name: &str) -> AwsError {
    aws_error!(
        ResourceNotFoundException,
        "Requested resource not found: Table: {name} not found"
    )
}

pub fn create_table(db: &DynamoDb, input: CreateTableInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?.to_owned();
    if input.global_secondary_indexes.is_some() || input.local_secondary_indexes.is_some() {
        return Err(aws_error!(
            ValidationException,
            "Secondary indexes are not supported by this emulator"
        ));
    }
    if input
        .stream_specification
        .as_ref()
        .is_some_and(|s| s.stream_enabled)
    {
        return Err(aws_error!(
            ValidationException,
            "DynamoDB Streams are not supported by this emulator"
        ));
    }
    let mut definitions = Vec::new();
    for (i, def) in input.attribute_definitions.iter().enumerate() {
        if !["S", "N", "B"].contains(&def.attribute_type.as_str()) {
            return Err(aws_error!(
                ValidationException,
                "1 validation error detected: Value '{}' at 'attributeDefinitions.{}.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                def.attribute_type,
                i + 1
            ));
        }
        if definitions
            .iter()
            .any(|(n, _): &(String, String)| *n == def.attribute_name)
        {
            return Err(invalid(format!(
                "Duplicate AttributeName found in AttributeDefinitions: {}",
                def.attribute_name
            )));
        }
        definitions.push((def.attribute_name.clone(), def.attribute_type.clone()));
    }
    let schema = key_schema(&input, &definitions)?;
    let billing = billing(&input)?;
    let arn = format!(
        "arn:aws:dynamodb:{}:{}:table/{name}",
        ctx.region, ctx.account
    );
    let mut table = Table::new(name.clone(), arn, schema, definitions, billing, ctx.now);
    table.billing_history.mode_given = input.billing_mode.is_some();
    if billing == Billing::PayPerRequest {
        table.billing_history.pay_per_request_since = Some(ctx.now);
    }
    for tag in input.tags.into_iter().flatten() {
        table.tags.insert(tag.key, tag.value);
    }
    let description = describe(&table, "CREATING", db);
    let mut tables = db.write_tables();
    if tables.contains_key(&name) {
        return Err(aws_error!(
            ResourceInUseException,
            "Table already exists: {name}"
        ));
    }
    tables.insert(name, std::sync::Arc::new(std::sync::Mutex::new(table)));
    Ok(json!({ "TableDescription": description }))
}

fn key_schema(
    input: &CreateTableInput,
    definitions: &[(String, String)],
) -> Result<KeySchema, AwsError> {
    let elements = &input.key_schema;
    if elements.is_empty() || elements.len() > 2 {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2, Member must have length greater than or equal to 1"
        ));
    }
    if elements[0].key_type != "HASH" {
        return Err(invalid(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if elements.len() == 2 {
        if elements[1].key_type != "RANGE" {
            return Err(invalid(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if elements[0].attribute_name == elements[1].attribute_name {
            return Err(invalid(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
    }
    let names: Vec<&str> = elements.iter().map(|e| e.attribute_name.as_str()).collect();
    let defined: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
    if names.iter().any(|n| !defined.contains(n)) {
        return Err(invalid(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined.join(", ")
        )));
    }
    if defined.len() != names.len() {
        return Err(invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    let attr = |name: &str| -> KeyAttr {
        let ty = match definitions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
        {
            Some("N") => "N",
            Some("B") => "B",
            _ => "S",
        };
        KeyAttr {
            name: name.to_owned(),
            ty,
        }
    };
    Ok(KeySchema {
        hash: attr(names[0]),
        range: names.get(1).map(|n| attr(n)),
    })
}

fn billing(input: &CreateTableInput) -> Result<Billing, AwsError> {
    let mode = input.billing_mode.as_deref().unwrap_or("PROVISIONED");
    match mode {
        "PAY_PER_REQUEST" => {
            if input.provisioned_throughput.is_some() {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            Ok(Billing::PayPerRequest)
        }
        "PROVISIONED" => provisioned(input.provisioned_throughput.as_ref()),
        other => Err(unknown_mode(other)),
    }
}

fn unknown_mode(mode: &str) -> AwsError {
    aws_error!(
        ValidationException,
        "1 validation error detected: Value '{mode}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
    )
}

/// Provisioned capacity as given: both units, each at least 1.
fn provisioned(pt: Option<&ProvisionedThroughput>) -> Result<Billing, AwsError> {
    let (Some(read), Some(write)) = (
        pt.and_then(|p| p.read_capacity_units),
        pt.and_then(|p| p.write_capacity_units),
    ) else {
        return Err(invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ));
    };
    for (field, v) in [("readCapacityUnits", read), ("writeCapacityUnits", write)] {
        if v < 1 {
            return Err(aws_error!(
                ValidationException,
                "1 validation error detected: Value '{v}' at 'provisionedThroughput.{field}' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ));
        }
    }
    Ok(Billing::Provisioned {
        read: read as u64,
        write: write as u64,
    })
}

/// UpdateTable: the billing mode and provisioned throughput, with AWS's rules and messages
/// (dynalite's AWS-checked `validations/updateTable.js`, `actions/updateTable.js`). What the
/// emulator does not model (indexes, streams, encryption, replicas, table class, deletion
/// protection, on-demand and warm throughput settings) is refused, naming the parameter.
pub fn update_table(
    db: &DynamoDb,
    input: UpdateTableInput,
    now: Millis,
) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?;
    let refused = [
        (
            "AttributeDefinitions",
            input.attribute_definitions.is_some(),
        ),
        (
            "GlobalSecondaryIndexUpdates",
            input.global_secondary_index_updates.is_some(),
        ),
        ("StreamSpecification", input.stream_specification.is_some()),
        ("SSESpecification", input.sse_specification.is_some()),
        ("ReplicaUpdates", input.replica_updates.is_some()),
        ("TableClass", input.table_class.is_some()),
        (
            "DeletionProtectionEnabled",
            input.deletion_protection_enabled.is_some(),
        ),
        ("OnDemandThroughput", input.on_demand_throughput.is_some()),
        ("WarmThroughput", input.warm_throughput.is_some()),
        (
            "MultiRegionConsistency",
            input.multi_region_consistency.is_some(),
        ),
        (
            "GlobalTableWitnessUpdates",
            input.global_table_witness_updates.is_some(),
        ),
    ];
    if let Some((parameter, _)) = refused.iter().find(|(_, given)| *given) {
        return Err(aws_error!(
            ValidationException,
            "UpdateTable's {parameter} is not supported by this emulator (it models BillingMode and ProvisionedThroughput)"
        ));
    }
    let mode = input.billing_mode.as_deref();
    let pt = input.provisioned_throughput.as_ref();
    if mode.is_none() && pt.is_none() {
        return Err(aws_error!(
            ValidationException,
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
        ));
    }
    if let Some(mode) = mode
        && !["PROVISIONED", "PAY_PER_REQUEST"].contains(&mode)
    {
        return Err(unknown_mode(mode));
    }
    if mode == Some("PROVISIONED") && pt.is_none() {
        return Err(invalid(
            "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
        ));
    }
    let table = db
        .read_tables()
        .get(name)
        .cloned()
        .ok_or_else(|| not_found(name))?;
    let mut table = lock_live(&table, now);
    let current = table.billing;
    let to_pay_per_request = match mode {
        Some("PAY_PER_REQUEST") => true,
        Some(_) => false,
        None => current == Billing::PayPerRequest,
    };
    let next = if to_pay_per_request {
        if pt.is_some() {
            return Err(invalid(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        Billing::PayPerRequest
    } else {
        provisioned(pt)?
    };
    if let (
        Billing::Provisioned { read, write },
        Billing::Provisioned {
            read: new_read,
            write: new_write,
        },
    ) = (current, next)
    {
        if (read, write) == (new_read, new_write) {
            return Err(aws_error!(
                ValidationException,
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {read}. Requested ReadCapacityUnits: {new_read}. Current WriteCapacityUnits provisioned for the table: {write}. Requested WriteCapacityUnits: {new_write}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
            ));
        }
        if new_read > read || new_write > write {
            table.billing_history.last_increase = Some(now);
        }
        if new_read < read || new_write < write {
            table.billing_history.last_decrease = Some(now);
            table.billing_history.decreases_today += 1;
        }
    }
    if next == Billing::PayPerRequest && current != Billing::PayPerRequest {
        table.billing_history.pay_per_request_since = Some(now);
    }
    if mode.is_some() {
        table.billing_history.mode_given = true;
    }
    table.billing = next;
    Ok(json!({ "TableDescription": describe(&table, "UPDATING", db) }))
}

/// A TableDescription, as DescribeTable, CreateTable and UpdateTable return it.
///
/// `BillingModeSummary` only once a BillingMode was given: a table created PROVISIONED by
/// default has none. `WarmThroughput` is what the table can take at once: its provisioned
/// capacity, or the on-demand units (AWS: 12,000 reads and 4,000 writes for a new table).
pub fn describe(table: &Table, status: &str, db: &DynamoDb) -> Value {
    let created = table.created_ms as f64 / 1000.0;
    let key_schema: Vec<Value> = std::iter::once((&table.schema.hash, "HASH"))
        .chain(table.schema.range.as_ref().map(|r| (r, "RANGE")))
        .map(|(attr, kind)| json!({"AttributeName": attr.name, "KeyType": kind}))
        .collect();
    let definitions: Vec<Value> = table
        .attribute_definitions
        .iter()
        .map(|(n, t)| json!({"AttributeName": n, "AttributeType": t}))
        .collect();
    let (mode, read, write) = match table.billing {
        Billing::PayPerRequest => ("PAY_PER_REQUEST", 0, 0),
        Billing::Provisioned { read, write } => ("PROVISIONED", read, write),
    };
    let history = &table.billing_history;
    let seconds = |ms: Millis| ms as f64 / 1000.0;
    let mut throughput = json!({
        "NumberOfDecreasesToday": history.decreases_today,
        "ReadCapacityUnits": read,
        "WriteCapacityUnits": write,
    });
    if let Some(at) = history.last_increase {
        throughput["LastIncreaseDateTime"] = json!(seconds(at));
    }
    if let Some(at) = history.last_decrease {
        throughput["LastDecreaseDateTime"] = json!(seconds(at));
    }
    let (warm_read, warm_write) = match table.billing {
        Billing::PayPerRequest => (
            db.config().on_demand_read_units,
            db.config().on_demand_write_units,
        ),
        Billing::Provisioned { read, write } => (read, write),
    };
    let mut out = json!({
        "AttributeDefinitions": definitions,
        "TableName": table.name,
        "KeySchema": key_schema,
        "TableStatus": status,
        "CreationDateTime": created,
        "ProvisionedThroughput": throughput,
        "TableSizeBytes": table.size_bytes(),
        "ItemCount": table.item_count(),
        "TableArn": table.arn,
        "TableId": table.id,
        "DeletionProtectionEnabled": false,
        "WarmThroughput": {
            "ReadUnitsPerSecond": warm_read,
            "WriteUnitsPerSecond": warm_write,
            "Status": "ACTIVE",
        },
    });
    if history.mode_given {
        let mut billing = json!({ "BillingMode": mode });
        if let (Billing::PayPerRequest, Some(at)) = (table.billing, history.pay_per_request_since) {
            billing["LastUpdateToPayPerRequestDateTime"] = json!(seconds(at));
        }
        out["BillingModeSummary"] = billing;
    }
    out
}

pub fn describe_table(
    db: &DynamoDb,
    input: TableNameInput,
    now: Millis,
) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?;
    let table = db
        .read_tables()
        .get(name)
        .cloned()
        .ok_or_else(|| not_found(name))?;
    let table = lock_live(&table, now);
    Ok(json!({ "Table": describe(&table, "ACTIVE", db) }))
}

/// DeleteTable answers with the table DELETING and without its AttributeDefinitions,
/// KeySchema, CreationDateTime and BillingModeSummary, as AWS does.
pub fn delete_table(db: &DynamoDb, input: TableNameInput) -> Result<Value, AwsError> {
    let name = table_name(&input.table_name)?;
    let table = db
        .write_tables()
        .remove(name)
        .ok_or_else(|| not_found(name))?;
    let table = lock(&table);
    let mut description = describe(&table, "DELETING", db);
    if let Some(fields) = description.as_object_mut() {
        for gone in [
            "AttributeDefinitions",
            "KeySchema",
            "CreationDateTime",
            "BillingModeSummary",
        ] {
            fields.remove(gone);
        }
    }
    Ok(json!({ "TableDescription": description }))
}

pub fn list_tables(db: &DynamoDb, input: ListTablesInput) -> Result<Value, AwsError> {
    let limit = input.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        let bound = if limit < 1 {
            "greater than or equal to 1"
        } else {
            "less than or equal to 100"
        };
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {bound}"
        ));
    }
    let tables = db.read_tables();
    let mut names = tables.keys().filter(|n| {
        input
            .exclusive_start_table_name
            .as_ref()
            .is_none_or(|s| *n > s)
    });
    let page: Vec<&String> = names.by_ref().take(limit as usize).collect();
    let mut out = json!({ "TableNames": page });
    if names.next().is_some()
        && let Some(last) = page.last()
    {
        out["LastEvaluatedTableName"] = json!(last);
    }
    Ok(out)
}
