//! Query and Scan: key conditions turned into a sort-key range of one partition, filters,
//! projections, Select, Limit and the 1 MB page, ExclusiveStartKey / LastEvaluatedKey, and
//! parallel scan segments.

use std::ops::Bound;

use serde_json::{Map, Value};

use super::DynamoDbConfig;
use super::expr::eval::{evaluate, project};
use super::expr::{Condition, Path, Symbols};
use super::items::{Capacity, check_symbols, condition, projection, reject_legacy};
use super::key_condition::{is_empty, key_range, tighter_lower, tighter_upper};
use super::shapes::ReadManyInput;
use super::table::{PrimaryKey, Table};
use super::throughput::{Kind, read_half_units};
use super::value::{Item, KeyValue, item_from_json, item_size, item_to_json};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// Data a page reads at most before it stops (DynamoDB's 1 MB).
const PAGE_BYTES: usize = 1024 * 1024;

fn validation(message: impl std::fmt::Display) -> AwsError {
    aws_error!(ValidationException, "{message}")
}

pub struct ReadMany {
    query: bool,
    key_condition: Option<Condition>,
    filter: Option<Condition>,
    projection: Option<Vec<Path>>,
    count_only: bool,
    forward: bool,
    limit: Option<usize>,
    start: Option<Item>,
    consistent: bool,
    segment: Option<(u32, u32)>,
    capacity: Capacity,
}

impl ReadMany {
    pub fn prepare(query: bool, input: ReadManyInput) -> Result<(String, ReadMany), AwsError> {
        reject_legacy(&[
            ("KeyConditions", input.key_conditions.is_some()),
            ("QueryFilter", input.query_filter.is_some()),
            ("ScanFilter", input.scan_filter.is_some()),
            ("ConditionalOperator", input.conditional_operator.is_some()),
        ])?;
        if let Some(index) = &input.index_name {
            return Err(validation(format!(
                "The table does not have the specified index: {index}"
            )));
        }
        let capacity = Capacity::parse(input.return_consumed_capacity.as_deref())?;
        let limit = match input.limit {
            Some(n) if n < 1 => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            n => n.map(|n| n as usize),
        };
        let symbols = Symbols::new(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
        )?;
        let key_condition = if query {
            let Some(source) = input.key_condition_expression.as_deref() else {
                return Err(validation(
                    "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                ));
            };
            condition("KeyConditionExpression", Some(source), &symbols)?
        } else {
            None
        };
        let filter = condition(
            "FilterExpression",
            input.filter_expression.as_deref(),
            &symbols,
        )?;
        let projection = projection(
            input.projection_expression.as_deref(),
            input.attributes_to_get.as_ref(),
            &symbols,
        )?;
        check_symbols(
            &symbols,
            key_condition.is_some() || filter.is_some() || input.projection_expression.is_some(),
            "FilterExpression is null",
        )?;
        let select = input.select.as_deref();
        let all = [
            "ALL_ATTRIBUTES",
            "ALL_PROJECTED_ATTRIBUTES",
            "SPECIFIC_ATTRIBUTES",
            "COUNT",
        ];
        match select {
            None | Some("SPECIFIC_ATTRIBUTES") => {}
            Some(s) if !all.contains(&s) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{s}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    all.join(", ")
                )));
            }
            Some("ALL_PROJECTED_ATTRIBUTES") => {
                return Err(validation(
                    "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
                ));
            }
            Some("COUNT") if projection.is_some() => {
                return Err(validation(
                    "Cannot specify the ProjectionExpression when choosing to get only the Count",
                ));
            }
            Some(s) if projection.is_some() => {
                return Err(validation(format!(
                    "Cannot specify the ProjectionExpression when choosing to get {s}"
                )));
            }
            Some(_) => {}
        }
        let segment = match (input.segment, input.total_segments) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(validation(
                    "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
                ));
            }
            (None, Some(_)) => {
                return Err(validation(
                    "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
                ));
            }
            (Some(s), Some(t)) => {
                if !(1..=1_000_000).contains(&t) || s < 0 {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{t}' at 'totalSegments' failed to satisfy constraint: Member must have value between 1 and 1000000"
                    )));
                }
                if s >= t {
                    return Err(validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
                    )));
                }
                Some((s as u32, t as u32))
            }
        };
        let start = input
            .exclusive_start_key
            .as_ref()
            .map(item_from_json)
            .transpose()?;
        let read = ReadMany {
            query,
            key_condition,
            filter,
            projection,
            count_only: select == Some("COUNT"),
            forward: input.scan_index_forward.unwrap_or(true),
            limit,
            start,
            consistent: input.consistent_read.unwrap_or(false),
            segment,
            capacity,
        };
        Ok((input.table_name, read))
    }

    pub fn apply(
        self,
        table: &mut Table,
        config: &DynamoDbConfig,
        now: Millis,
    ) -> Result<Value, AwsError> {
        let start = match &self.start {
            Some(s) => Some(table.key_of(s).map_err(|_| {
                validation("The provided starting key is invalid: The provided key element does not match the schema")
            })?),
            None => None,
        };
        let mut page = Page::new(&self);
        let mut partition_key = None;
        if self.query {
            let (hash, mut range) = key_range(table, self.key_condition.as_ref())?;
            if let Some(start) = &start {
                if start.hash != hash {
                    return Err(validation(
                        "The provided starting key does not match the range key predicate",
                    ));
                }
                let after = start.range.clone();
                if self.forward {
                    range.0 = tighter_lower(range.0, Bound::Excluded(after));
                } else {
                    range.1 = tighter_upper(range.1, Bound::Excluded(after));
                }
            }
            if !is_empty(&range) {
                for (sort, item) in table.partition(&hash, range, self.forward) {
                    let key = PrimaryKey {
                        hash: hash.clone(),
                        range: sort,
                    };
                    if !page.offer(key, item) {
                        break;
                    }
                }
            }
            partition_key = Some(hash);
        } else {
            for (key, item) in table.scan_after(start.as_ref()) {
                if let Some((segment, total)) = self.segment
                    && segment_of(&key.hash, total) != segment
                {
                    continue;
                }
                if !page.offer(key, item) {
                    break;
                }
            }
        }
        let half = read_half_units(page.bytes, self.consistent);
        table.charge(config, Kind::Read, partition_key.as_ref(), half, now)?;
        let mut out = Map::new();
        if !self.count_only {
            out.insert("Items".into(), Value::Array(page.items));
        }
        out.insert("Count".into(), page.count.into());
        out.insert("ScannedCount".into(), page.scanned.into());
        if let Some(last) = page.last_evaluated {
            out.insert(
                "LastEvaluatedKey".into(),
                Value::Object(item_to_json(&table.key_item(&last))),
            );
        }
        if let Some(c) = self.capacity.report(&table.name, half as f64 / 2.0) {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}

/// One page of results being collected.
struct Page<'a> {
    read: &'a ReadMany,
    items: Vec<Value>,
    count: usize,
    scanned: usize,
    bytes: usize,
    last_evaluated: Option<PrimaryKey>,
    last_key_so_far: Option<PrimaryKey>,
}

impl<'a> Page<'a> {
    fn new(read: &'a ReadMany) -> Self {
        Self {
            read,
            items: Vec::new(),
            count: 0,
            scanned: 0,
            bytes: 0,
            last_evaluated: None,
            last_key_so_far: None,
        }
    }

    /// Evaluates one item; `false` once the page is full (Limit items read, or 1 MB). Like
    /// DynamoDB, a page that stops at its Limit names its last key even when nothing follows.
    fn offer(&mut self, key: PrimaryKey, item: Item) -> bool {
        if self.bytes >= PAGE_BYTES {
            self.last_evaluated = self.last_key_so_far.take();
            return false;
        }
        self.scanned += 1;
        self.bytes += item_size(&item);
        if self.read.filter.as_ref().is_none_or(|f| evaluate(f, &item)) {
            self.count += 1;
            if !self.read.count_only {
                let shown = match &self.read.projection {
                    Some(paths) => project(&item, paths),
                    None => item,
                };
                self.items.push(Value::Object(item_to_json(&shown)));
            }
        }
        if self.read.limit.is_some_and(|l| self.scanned >= l) {
            self.last_evaluated = Some(key);
            return false;
        }
        self.last_key_so_far = Some(key);
        true
    }
}

/// The parallel-scan segment an item belongs to, from its partition key.
fn segment_of(hash: &KeyValue, total: u32) -> u32 {
    let bytes: Vec<u8> = match hash {
        KeyValue::S(s) => s.as_bytes().to_vec(),
        KeyValue::N(n) => n.to_string().into_bytes(),
        KeyValue::B(b) => b.clone(),
    };
    crc32fast::hash(&bytes) % total
}
