//! DynamoDB (awsJson1_0, `X-Amz-Target: DynamoDB_20120810.<Op>`): tables with a partition key
//! and optional sort key, item reads and writes with condition, update, filter and projection
//! expressions, Query and Scan with pagination, batch operations, and optional throttling.
//!
//! Layout:
//! - this file: configuration, the table map and dispatch (the only part that locks);
//! - [`shapes`]: request shapes; [`value`]: AttributeValues, items, key order, item size;
//!   [`wire_item`]: items read straight from a request body;
//!   [`number`]: exact decimal numbers; [`expr`]: the expression language;
//! - [`table`]: one table's sans-io state, items held encoded ([`stored`]);
//!   [`throughput`]: capacity and throttling;
//! - [`tables`]: CreateTable, DescribeTable, UpdateTable, ListTables, DeleteTable;
//!   [`ttl`]: UpdateTimeToLive, DescribeTimeToLive (expired items deleted at the first
//!   request on their table after their time); [`tags`]: TagResource, UntagResource,
//!   ListTagsOfResource;
//!   [`items`]: PutItem, GetItem, DeleteItem, UpdateItem; [`read`]: Query and Scan, with
//!   [`key_condition`] for key conditions;
//!   [`batch`]: BatchWriteItem and BatchGetItem.
//!
//! Locking: a `RwLock` over the table map (written only by CreateTable and DeleteTable), then
//! one `Mutex` per table. A PutItem is a map look-up, then one table lock for the condition
//! check and the insert; expressions and items are parsed before any lock is taken.

pub mod batch;
pub mod expr;
pub mod items;
pub mod key_condition;
pub mod number;
pub mod read;
pub mod shapes;
pub mod stored;
pub mod table;
pub mod tables;
pub mod tags;
pub mod throughput;
pub mod ttl;
pub mod value;
pub mod wire_item;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::Value;

use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};
use table::Table;

/// DynamoDB settings. `Default` follows AWS, with throughput limits off.
#[derive(Debug, Clone)]
pub struct DynamoDbConfig {
    /// Enforce capacity limits (AWS-SEMANTICS.md 5.3): on-demand tables answer
    /// `ThrottlingException`, provisioned ones `ProvisionedThroughputExceededException`.
    pub enforce_throughput: bool,
    /// Write request units per second an on-demand table takes (AWS: 4,000 for a new table).
    pub on_demand_write_units: u64,
    /// Read request units per second an on-demand table takes (AWS: 12,000 for a new table).
    pub on_demand_read_units: u64,
    /// Write units per second one partition key takes (AWS: 1,000).
    pub partition_write_units: u64,
    /// Read units per second one partition key takes (AWS: 3,000).
    pub partition_read_units: u64,
}

impl Default for DynamoDbConfig {
    fn default() -> Self {
        Self {
            enforce_throughput: false,
            on_demand_write_units: 4_000,
            on_demand_read_units: 12_000,
            partition_write_units: 1_000,
            partition_read_units: 3_000,
        }
    }
}

type TableRef = Arc<Mutex<Table>>;

pub struct DynamoDb {
    config: DynamoDbConfig,
    /// Tables by name; a `BTreeMap` so ListTables pages in name order.
    tables: RwLock<BTreeMap<String, TableRef>>,
}

impl DynamoDb {
    pub fn new(config: DynamoDbConfig) -> Self {
        Self {
            config,
            tables: RwLock::new(BTreeMap::new()),
        }
    }

    pub async fn call(&self, op: &str, body: &[u8], ctx: &Ctx) -> Result<Value, AwsError> {
        let now = ctx.now;
        match op {
            "CreateTable" => tables::create_table(self, wire::parse(body)?, ctx),
            "DescribeTable" => tables::describe_table(self, wire::parse(body)?, now),
            "UpdateTable" => tables::update_table(self, wire::parse(body)?, now),
            "UpdateTimeToLive" => ttl::update_time_to_live(self, wire::parse(body)?, now),
            "DescribeTimeToLive" => ttl::describe_time_to_live(self, wire::parse(body)?, now),
            "TagResource" => tags::tag_resource(self, wire::parse(body)?, ctx),
            "UntagResource" => tags::untag_resource(self, wire::parse(body)?, ctx),
            "ListTagsOfResource" => tags::list_tags(self, wire::parse(body)?, ctx),
            "ListTables" => tables::list_tables(self, wire::parse(body)?),
            "DeleteTable" => tables::delete_table(self, wire::parse(body)?),
            "PutItem" => {
                let (name, put) = items::Put::prepare(wire::parse(body)?)?;
                let table = self.table(&name)?;
                put.apply(&mut lock_live(&table, now), &self.config, now)
            }
            "GetItem" => {
                let (name, get) = items::Get::prepare(wire::parse(body)?)?;
                let table = self.table(&name)?;
                get.apply(&mut lock_live(&table, now), &self.config, now)
            }
            "DeleteItem" => {
                let (name, delete) = items::Delete::prepare(wire::parse(body)?)?;
                let table = self.table(&name)?;
                delete.apply(&mut lock_live(&table, now), &self.config, now)
            }
            "UpdateItem" => {
                let (name, update) = items::Update::prepare(wire::parse(body)?)?;
                let table = self.table(&name)?;
                update.apply(&mut lock_live(&table, now), &self.config, now)
            }
            "Query" | "Scan" => {
                let (name, read) = read::ReadMany::prepare(op == "Query", wire::parse(body)?)?;
                let table = self.table(&name)?;
                read.apply(&mut lock_live(&table, now), &self.config, now)
            }
            "BatchWriteItem" => batch::batch_write(self, wire::parse(body)?, now),
            "BatchGetItem" => batch::batch_get(self, wire::parse(body)?, now),
            _ => Err(wire::unknown_operation(Service::DynamoDb, op)),
        }
    }

    pub(crate) fn config(&self) -> &DynamoDbConfig {
        &self.config
    }

    /// The table a data-plane request names (a name or an ARN).
    pub(crate) fn table(&self, name: &str) -> Result<TableRef, AwsError> {
        let name = table_name(name)?;
        self.read_tables()
            .get(name)
            .cloned()
            .ok_or_else(|| aws_error!(ResourceNotFoundException, "Requested resource not found"))
    }

    fn read_tables(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, TableRef>> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_tables(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, TableRef>> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Locks a table; a panic elsewhere cannot leave a table half-written (every mutation is a
/// single map operation), so a poisoned lock is still usable.
pub(crate) fn lock(table: &TableRef) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks a table for a request arriving at `now`, first deleting the items whose Time to
/// Live has passed (the emulator's deterministic point for AWS's background deletion).
pub(crate) fn lock_live(table: &TableRef, now: crate::clock::Millis) -> MutexGuard<'_, Table> {
    let mut guard = lock(table);
    guard.expire(now);
    guard
}

/// Validates a TableName (3-255 of `[a-zA-Z0-9_.-]`), accepting a table ARN too.
pub(crate) fn table_name(name: &str) -> Result<&str, AwsError> {
    let name = match name.split_once(":table/") {
        Some((prefix, rest)) if prefix.starts_with("arn:") => rest,
        _ => name,
    };
    let constraint = if name.len() < 3 {
        "Member must have length greater than or equal to 3"
    } else if name.len() > 255 {
        "Member must have length less than or equal to 255"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    } else {
        return Ok(name);
    };
    Err(aws_error!(
        ValidationException,
        "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: {constraint}"
    ))
}
