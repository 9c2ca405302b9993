//! BatchWriteItem (at most 25 puts and deletes) and BatchGetItem (at most 100 keys).
//! Every request is validated before anything is written; requests refused by throttling
//! come back as UnprocessedItems / UnprocessedKeys, and when all of them were refused the
//! throttling error itself is returned, as DynamoDB does.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::expr::Symbols;
use super::expr::eval::project;
use super::items::{Capacity, check_symbols, projection};
use super::shapes::{BatchGetItemInput, BatchWriteItemInput};
use super::table::PrimaryKey;
use super::throughput::{Kind, read_half_units, write_units};
use super::value::{Item, MAX_ITEM_SIZE, item_from_json, item_size, item_to_json};
use super::{DynamoDb, lock_live};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// Most requests in one BatchWriteItem.
const MAX_WRITES: usize = 25;
/// Most keys in one BatchGetItem.
const MAX_GETS: usize = 100;
/// Largest BatchGetItem response; the rest is left unprocessed.
const MAX_GET_BYTES: usize = 16 * 1024 * 1024;

fn duplicates() -> AwsError {
    aws_error!(
        ValidationException,
        "Provided list of item keys contains duplicates"
    )
}

enum Write {
    Put(PrimaryKey, Item),
    Delete(PrimaryKey, Item),
}

impl Write {
    fn to_json(&self) -> Value {
        match self {
            Write::Put(_, item) => json!({"PutRequest": {"Item": item_to_json(item)}}),
            Write::Delete(_, key) => json!({"DeleteRequest": {"Key": item_to_json(key)}}),
        }
    }
}

pub fn batch_write(
    db: &DynamoDb,
    input: BatchWriteItemInput,
    now: Millis,
) -> Result<Value, AwsError> {
    let total: usize = input.request_items.values().map(Vec::len).sum();
    if input.request_items.is_empty() || input.request_items.values().any(Vec::is_empty) {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ));
    }
    if total > MAX_WRITES {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
        ));
    }
    let capacity = Capacity::parse(input.return_consumed_capacity.as_deref())?;
    // Validate everything first: nothing is written if any request is invalid.
    let mut plan = Vec::new();
    for (name, requests) in &input.request_items {
        let table = db.table(name)?;
        let mut writes = Vec::new();
        let mut seen = HashSet::new();
        {
            let guard = lock_live(&table, now);
            for request in requests {
                let write = match (&request.put_request, &request.delete_request) {
                    (Some(put), None) => {
                        let item = item_from_json(&put.item)?;
                        if item_size(&item) > MAX_ITEM_SIZE {
                            return Err(aws_error!(
                                ValidationException,
                                "Item size has exceeded the maximum allowed size"
                            ));
                        }
                        // A put without every key attribute: BatchWriteItem words it as a key
                        // mismatch, unlike PutItem's "Missing the key".
                        if guard.schema.names().iter().any(|k| !item.contains_key(*k)) {
                            return Err(aws_error!(
                                ValidationException,
                                "The provided key element does not match the schema"
                            ));
                        }
                        Write::Put(guard.key_of_item(&item)?, item)
                    }
                    (None, Some(delete)) => {
                        let key = item_from_json(&delete.key)?;
                        Write::Delete(guard.key_of(&key)?, key)
                    }
                    _ => {
                        return Err(aws_error!(
                            ValidationException,
                            "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest"
                        ));
                    }
                };
                let key = match &write {
                    Write::Put(k, _) | Write::Delete(k, _) => k.clone(),
                };
                if !seen.insert(key) {
                    return Err(duplicates());
                }
                writes.push(write);
            }
        }
        plan.push((name.clone(), table, writes));
    }
    let config = db.config();
    let mut unprocessed = Map::new();
    let mut consumed = Vec::new();
    let mut first_throttle = None;
    for (name, table, writes) in plan {
        let mut table = lock_live(&table, now);
        let mut left = Vec::new();
        let mut units = 0;
        for write in writes {
            let (key, new_size) = match &write {
                Write::Put(k, item) => (k, item_size(item)),
                Write::Delete(k, _) => (k, 0),
            };
            let old_size = table.size_of(key).unwrap_or(0);
            let cost = write_units(new_size.max(old_size));
            let charged = table.charge(config, Kind::Write, Some(&key.hash), cost, now);
            if let Err(err) = charged {
                first_throttle.get_or_insert(err);
                left.push(write.to_json());
                continue;
            }
            units += cost;
            match write {
                Write::Put(key, item) => {
                    table.put(key, item);
                }
                Write::Delete(key, _) => {
                    table.remove(&key);
                }
            }
        }
        if let Some(c) = capacity.report(&table.name, units as f64) {
            consumed.push(c);
        }
        if !left.is_empty() {
            unprocessed.insert(name, Value::Array(left));
        }
    }
    let all_refused = unprocessed
        .values()
        .filter_map(Value::as_array)
        .map(Vec::len)
        .sum::<usize>()
        == total;
    if let (true, Some(err)) = (all_refused, first_throttle) {
        return Err(err);
    }
    let mut out = json!({ "UnprocessedItems": unprocessed });
    if capacity != Capacity::None {
        out["ConsumedCapacity"] = Value::Array(consumed);
    }
    Ok(out)
}

pub fn batch_get(db: &DynamoDb, input: BatchGetItemInput, now: Millis) -> Result<Value, AwsError> {
    let total: usize = input.request_items.values().map(|r| r.keys.len()).sum();
    if input.request_items.is_empty() || input.request_items.values().any(|r| r.keys.is_empty()) {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ));
    }
    if total > MAX_GETS {
        return Err(aws_error!(
            ValidationException,
            "Too many items requested for the BatchGetItem call"
        ));
    }
    let capacity = Capacity::parse(input.return_consumed_capacity.as_deref())?;
    let mut plan = Vec::new();
    for (name, request) in &input.request_items {
        let symbols = Symbols::new(request.expression_attribute_names.as_ref(), None)?;
        let paths = projection(
            request.projection_expression.as_deref(),
            request.attributes_to_get.as_ref(),
            &symbols,
        )?;
        check_symbols(&symbols, request.projection_expression.is_some(), "")?;
        let table = db.table(name)?;
        let mut keys = Vec::new();
        {
            let guard = lock_live(&table, now);
            let mut seen = HashSet::new();
            for raw in &request.keys {
                let item = item_from_json(raw)?;
                let key = guard.key_of(&item)?;
                if !seen.insert(key.clone()) {
                    return Err(duplicates());
                }
                keys.push((key, raw.clone()));
            }
        }
        plan.push((name.clone(), request, table, paths, keys));
    }
    let config = db.config();
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut consumed = Vec::new();
    let mut first_throttle = None;
    let mut bytes = 0;
    for (name, request, table, paths, keys) in plan {
        let mut table = lock_live(&table, now);
        let consistent = request.consistent_read.unwrap_or(false);
        let mut found = Vec::new();
        let mut left = Vec::new();
        let mut half_units = 0;
        for (key, raw) in keys {
            let size = table.size_of(&key).unwrap_or(0);
            if bytes + size > MAX_GET_BYTES {
                left.push(Value::Object(raw));
                continue;
            }
            let cost = read_half_units(size, consistent);
            if let Err(err) = table.charge(config, Kind::Read, Some(&key.hash), cost, now) {
                first_throttle.get_or_insert(err);
                left.push(Value::Object(raw));
                continue;
            }
            half_units += cost;
            if let Some(item) = table.get(&key) {
                bytes += size;
                let shown = match &paths {
                    Some(p) => project(&item, p),
                    None => item,
                };
                found.push(Value::Object(item_to_json(&shown)));
            }
        }
        if let Some(c) = capacity.report(&table.name, half_units as f64 / 2.0) {
            consumed.push(c);
        }
        if !left.is_empty() {
            let mut again = Map::new();
            again.insert("Keys".into(), Value::Array(left));
            if let Some(p) = &request.projection_expression {
                again.insert("ProjectionExpression".into(), json!(p));
            }
            if let Some(n) = &request.expression_attribute_names {
                again.insert("ExpressionAttributeNames".into(), json!(n));
            }
            if let Some(a) = &request.attributes_to_get {
                again.insert("AttributesToGet".into(), json!(a));
            }
            if let Some(c) = request.consistent_read {
                again.insert("ConsistentRead".into(), json!(c));
            }
            unprocessed.insert(name.clone(), Value::Object(again));
        }
        responses.insert(name, Value::Array(found));
    }
    let refused: usize = unprocessed
        .values()
        .filter_map(|v| v["Keys"].as_array())
        .map(Vec::len)
        .sum();
    if let (true, Some(err)) = (refused == total, first_throttle) {
        return Err(err);
    }
    let mut out = json!({ "Responses": responses, "UnprocessedKeys": unprocessed });
    if capacity != Capacity::None {
        out["ConsumedCapacity"] = Value::Array(consumed);
    }
    Ok(out)
}
