//! PutItem, GetItem, DeleteItem and UpdateItem. Each request is `prepare`d without any lock
//! (parsing, expression checks) and then `apply`d to the locked table, sans-io.

use serde_json::{Map, Value, json};

use super::DynamoDbConfig;
use super::expr::eval::{evaluate, project};
use super::expr::parser::{parse_condition, parse_projection, parse_update};
use super::expr::{Condition, Path, PathElem, Symbols, UpdateExpr, invalid, update};
use super::shapes::{DeleteItemInput, GetItemInput, Names, PutItemInput, UpdateItemInput, Values};
use super::table::Table;
use super::throughput::{Kind, read_half_units, write_units};
use super::value::{Item, MAX_ITEM_SIZE, item_from_json_owned, item_size, item_to_json};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// Rejects the pre-expression ("legacy") parameters, which this emulator does not model.
pub(crate) fn reject_legacy(params: &[(&str, bool)]) -> Result<(), AwsError> {
    match params.iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(aws_error!(
            ValidationException,
            "The legacy parameter {name} is not supported by this emulator; use the expression parameters instead"
        )),
        None => Ok(()),
    }
}

/// Checks an enum-valued parameter against the values the operation allows.
pub(crate) fn enum_param(
    field: &str,
    value: Option<&str>,
    all: &[&str],
    allowed: &[&str],
    not_allowed: &str,
) -> Result<String, AwsError> {
    let value = value.unwrap_or("NONE");
    if !all.contains(&value) {
        return Err(aws_error!(
            ValidationException,
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            all.join(", ")
        ));
    }
    if !allowed.contains(&value) {
        return Err(aws_error!(ValidationException, "{not_allowed}"));
    }
    Ok(value.to_owned())
}

const RETURN_VALUES: [&str; 5] = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];

fn return_old_on_failure(value: Option<&str>) -> Result<bool, AwsError> {
    let all = ["ALL_OLD", "NONE"];
    let v = enum_param("returnValuesOnConditionCheckFailure", value, &all, &all, "")?;
    Ok(v == "ALL_OLD")
}

/// ReturnConsumedCapacity: whether and how to report the units a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capacity {
    None,
    Total,
    Indexes,
}

impl Capacity {
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, AwsError> {
        let all = ["INDEXES", "TOTAL", "NONE"];
        Ok(
            match enum_param("returnConsumedCapacity", value, &all, &all, "")?.as_str() {
                "TOTAL" => Capacity::Total,
                "INDEXES" => Capacity::Indexes,
                _ => Capacity::None,
            },
        )
    }

    pub(crate) fn report(self, table: &str, units: f64) -> Option<Value> {
        match self {
            Capacity::None => None,
            Capacity::Total => Some(json!({"TableName": table, "CapacityUnits": units})),
            Capacity::Indexes => Some(json!({
                "TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": units}
            })),
        }
    }
}

/// Parses an optional expression of the given kind (for messages) with the request's symbols.
pub(crate) fn condition(
    kind: &str,
    source: Option<&str>,
    symbols: &Symbols,
) -> Result<Option<Condition>, AwsError> {
    source
        .map(|s| parse_condition(s, symbols).map_err(|e| invalid(kind, e)))
        .transpose()
}

/// A projection from ProjectionExpression or the legacy AttributesToGet (never both).
pub(crate) fn projection(
    expression: Option<&str>,
    attributes_to_get: Option<&Vec<String>>,
    symbols: &Symbols,
) -> Result<Option<Vec<Path>>, AwsError> {
    match (expression, attributes_to_get) {
        (Some(_), Some(_)) => Err(aws_error!(
            ValidationException,
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{AttributesToGet}} Expression parameters: {{ProjectionExpression}}"
        )),
        (Some(e), None) => parse_projection(e, symbols)
            .map(Some)
            .map_err(|e| invalid("ProjectionExpression", e)),
        (None, Some(names)) => Ok(Some(
            names
                .iter()
                .map(|n| Path(vec![PathElem::Attr(n.clone())]))
                .collect(),
        )),
        (None, None) => Ok(None),
    }
}

/// AWS rejects names or values given without any expression to use them; `absent` names
/// the expressions that could have used values (AWS's message says which were null).
pub(crate) fn check_symbols(
    symbols: &Symbols,
    any_expression: bool,
    absent: &str,
) -> Result<(), AwsError> {
    if !any_expression {
        if symbols.has_names() {
            return Err(aws_error!(
                ValidationException,
                "ExpressionAttributeNames can only be specified when using expressions"
            ));
        }
        if symbols.has_values() {
            return Err(aws_error!(
                ValidationException,
                "ExpressionAttributeValues can only be specified when using expressions: {absent}"
            ));
        }
    }
    symbols.check_all_used()
}

fn condition_failed(old: Option<&Item>, return_old: bool) -> AwsError {
    let err = aws_error!(
        ConditionalCheckFailedException,
        "The conditional request failed"
    );
    match old {
        // With the old item AWS's body is `{"__type", "Message", "Item"}`: a capital `Message`.
        Some(old) if return_old => {
            let message = Value::String(err.message.clone());
            err.with_field("Message", message)
                .with_field("Item", Value::Object(item_to_json(old)))
        }
        _ => err,
    }
}

fn output(attributes: Option<&Item>, consumed: Option<Value>) -> Value {
    let mut out = Map::new();
    if let Some(a) = attributes.filter(|a| !a.is_empty()) {
        out.insert("Attributes".into(), Value::Object(item_to_json(a)));
    }
    if let Some(c) = consumed {
        out.insert("ConsumedCapacity".into(), c);
    }
    Value::Object(out)
}

/// Charges the write units of a write whose larger side (before or after) is `size` bytes.
fn charge_write(
    table: &mut Table,
    config: &DynamoDbConfig,
    hash: &super::value::KeyValue,
    size: usize,
    now: Millis,
) -> Result<u64, AwsError> {
    let units = write_units(size);
    table.charge(config, Kind::Write, Some(hash), units, now)?;
    Ok(units)
}

/// What PutItem and DeleteItem share: the legacy parameters refused, ReturnValues (NONE or
/// ALL_OLD), ReturnValuesOnConditionCheckFailure, capacity reporting and the condition.
struct WriteOptions {
    condition: Option<Condition>,
    return_old: bool,
    old_on_failure: bool,
    capacity: Capacity,
}

/// The request fields [`WriteOptions`] reads.
struct WriteFields<'a> {
    expected: bool,
    conditional_operator: bool,
    return_values: Option<&'a str>,
    on_condition_failure: Option<&'a str>,
    consumed_capacity: Option<&'a str>,
    names: &'a Names,
    values: &'a Values,
    condition_expression: Option<&'a str>,
}

/// PutItemInput and DeleteItemInput name these fields alike.
macro_rules! write_fields {
    ($input:expr) => {
        WriteFields {
            expected: $input.expected.is_some(),
            conditional_operator: $input.conditional_operator.is_some(),
            return_values: $input.return_values.as_deref(),
            on_condition_failure: $input.return_values_on_condition_check_failure.as_deref(),
            consumed_capacity: $input.return_consumed_capacity.as_deref(),
            names: &$input.expression_attribute_names,
            values: &$input.expression_attribute_values,
            condition_expression: $input.condition_expression.as_deref(),
        }
    };
}

impl WriteOptions {
    fn parse(f: WriteFields<'_>) -> Result<Self, AwsError> {
        reject_legacy(&[
            ("Expected", f.expected),
            ("ConditionalOperator", f.conditional_operator),
        ])?;
        let return_values = enum_param(
            "returnValues",
            f.return_values,
            &RETURN_VALUES,
            &["NONE", "ALL_OLD"],
            "Return values set to invalid value",
        )?;
        let old_on_failure = return_old_on_failure(f.on_condition_failure)?;
        let capacity = Capacity::parse(f.consumed_capacity)?;
        let symbols = Symbols::new(f.names.as_ref(), f.values.as_ref())?;
        let condition = condition("ConditionExpression", f.condition_expression, &symbols)?;
        check_symbols(&symbols, condition.is_some(), "ConditionExpression is null")?;
        Ok(WriteOptions {
            condition,
            return_old: return_values == "ALL_OLD",
            old_on_failure,
            capacity,
        })
    }

    /// The condition against the item as it is (an absent item is an empty one).
    fn check(&self, old: Option<&Item>) -> Result<(), AwsError> {
        match &self.condition {
            Some(condition) if !evaluate(condition, old.unwrap_or(&Item::new())) => {
                Err(condition_failed(old, self.old_on_failure))
            }
            _ => Ok(()),
        }
    }
}

pub struct Put {
    item: Item,
    /// The item's DynamoDB size, computed once.
    size: usize,
    options: WriteOptions,
}

impl Put {
    pub fn prepare(input: PutItemInput) -> Result<(String, Put), AwsError> {
        let options = WriteOptions::parse(write_fields!(input))?;
        let item = input.item.0?;
        let size = checked_item_size(&item, "Item size has exceeded the maximum allowed size")?;
        Ok((
            input.table_name,
            Put {
                item,
                size,
                options,
            },
        ))
    }

    pub fn apply(
        self,
        table: &mut Table,
        config: &DynamoDbConfig,
        now: Millis,
    ) -> Result<Value, AwsError> {
        let key = table.key_of_item(&self.item)?;
        let old_size = table.size_of(&key);
        let units = charge_write(
            table,
            config,
            &key.hash,
            self.size.max(old_size.unwrap_or(0)),
            now,
        )?;
        // The old item is decoded only when something reads it: the condition, ReturnValues
        // or (through the condition) ReturnValuesOnConditionCheckFailure.
        let old = match old_size {
            Some(_) if self.options.condition.is_some() || self.options.return_old => {
                table.get(&key)
            }
            _ => None,
        };
        self.options.check(old.as_ref())?;
        table.put(key, self.item);
        let consumed = self.options.capacity.report(&table.name, units as f64);
        Ok(output(
            old.as_ref().filter(|_| self.options.return_old),
            consumed,
        ))
    }
}

/// The item's DynamoDB size, refused with `message` over the 400 KB limit.
fn checked_item_size(item: &Item, message: &str) -> Result<usize, AwsError> {
    let size = item_size(item);
    if size > MAX_ITEM_SIZE {
        return Err(aws_error!(ValidationException, "{message}"));
    }
    Ok(size)
}

pub struct Get {
    key: Item,
    projection: Option<Vec<Path>>,
    consistent: bool,
    capacity: Capacity,
}

impl Get {
    pub fn prepare(input: GetItemInput) -> Result<(String, Get), AwsError> {
        let capacity = Capacity::parse(input.return_consumed_capacity.as_deref())?;
        let symbols = Symbols::new(input.expression_attribute_names.as_ref(), None)?;
        let projection = projection(
            input.projection_expression.as_deref(),
            input.attributes_to_get.as_ref(),
            &symbols,
        )?;
        check_symbols(&symbols, input.projection_expression.is_some(), "")?;
        let get = Get {
            key: item_from_json_owned(input.key)?,
            projection,
            consistent: input.consistent_read.unwrap_or(false),
            capacity,
        };
        Ok((input.table_name, get))
    }

    pub fn apply(
        self,
        table: &mut Table,
        config: &DynamoDbConfig,
        now: Millis,
    ) -> Result<Value, AwsError> {
        let key = table.key_of(&self.key)?;
        let size = table.size_of(&key).unwrap_or(0);
        let half = read_half_units(size, self.consistent);
        table.charge(config, Kind::Read, Some(&key.hash), half, now)?;
        let mut out = Map::new();
        if let Some(item) = table.get(&key) {
            let item = match &self.projection {
                Some(paths) => project(&item, paths),
                None => item,
            };
            out.insert("Item".into(), Value::Object(item_to_json(&item)));
        }
        if let Some(c) = self.capacity.report(&table.name, half as f64 / 2.0) {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}

pub struct Delete {
    key: Item,
    options: WriteOptions,
}

impl Delete {
    pub fn prepare(input: DeleteItemInput) -> Result<(String, Delete), AwsError> {
        let options = WriteOptions::parse(write_fields!(input))?;
        let delete = Delete {
            key: item_from_json_owned(input.key)?,
            options,
        };
        Ok((input.table_name, delete))
    }

    pub fn apply(
        self,
        table: &mut Table,
        config: &DynamoDbConfig,
        now: Millis,
    ) -> Result<Value, AwsError> {
        let key = table.key_of(&self.key)?;
        let size = table.size_of(&key).unwrap_or(0);
        let units = charge_write(table, config, &key.hash, size, now)?;
        let old = table.get(&key);
        self.options.check(old.as_ref())?;
        table.remove(&key);
        let consumed = self.options.capacity.report(&table.name, units as f64);
        Ok(output(
            old.as_ref().filter(|_| self.options.return_old),
            consumed,
        ))
    }
}

pub struct Update {
    key: Item,
    update: Option<UpdateExpr>,
    condition: Option<Condition>,
    return_values: String,
    old_on_failure: bool,
    capacity: Capacity,
}

impl Update {
    pub fn prepare(input: UpdateItemInput) -> Result<(String, Update), AwsError> {
        reject_legacy(&[
            ("AttributeUpdates", input.attribute_updates.is_some()),
            ("Expected", input.expected.is_some()),
            ("ConditionalOperator", input.conditional_operator.is_some()),
        ])?;
        let return_values = enum_param(
            "returnValues",
            input.return_values.as_deref(),
            &RETURN_VALUES,
            &RETURN_VALUES,
            "",
        )?;
        let old_on_failure =
            return_old_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let capacity = Capacity::parse(input.return_consumed_capacity.as_deref())?;
        let symbols = Symbols::new(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
        )?;
        let update = input
            .update_expression
            .as_deref()
            .map(|s| parse_update(s, &symbols).map_err(|e| invalid("UpdateExpression", e)))
            .transpose()?;
        let condition = condition(
            "ConditionExpression",
            input.condition_expression.as_deref(),
            &symbols,
        )?;
        check_symbols(
            &symbols,
            update.is_some() || condition.is_some(),
            "UpdateExpression and ConditionExpression are null",
        )?;
        let prepared = Update {
            key: item_from_json_owned(input.key)?,
            update,
            condition,
            return_values,
            old_on_failure,
            capacity,
        };
        Ok((input.table_name, prepared))
    }

    pub fn apply(
        self,
        table: &mut Table,
        config: &DynamoDbConfig,
        now: Millis,
    ) -> Result<Value, AwsError> {
        let key = table.key_of(&self.key)?;
        if let Some(u) = &self.update {
            update::validate(u, &table.schema.names())?;
        }
        let old = table.get(&key);
        let old_size = old.as_ref().map(item_size).unwrap_or(0);
        if let Some(condition) = &self.condition
            && !evaluate(condition, old.as_ref().unwrap_or(&Item::new()))
        {
            // A failed conditional write still consumes capacity.
            charge_write(table, config, &key.hash, old_size, now)?;
            return Err(condition_failed(old.as_ref(), self.old_on_failure));
        }
        // A missing item is updated as if it held only its key attributes.
        let base = old.clone().unwrap_or_else(|| self.key.clone());
        let new = match &self.update {
            Some(u) => update::apply(u, &base)?,
            None => base,
        };
        let size = checked_item_size(
            &new,
            "Item size to update has exceeded the maximum allowed size",
        )?;
        let units = charge_write(table, config, &key.hash, size.max(old_size), now)?;
        // UPDATED_OLD / UPDATED_NEW return each updated top-level attribute whole, even when
        // only a nested path of it changed (as DynamoDB Local answers).
        let targets: Vec<Path> = self
            .update
            .as_ref()
            .map(|u| {
                u.targets()
                    .into_iter()
                    .map(|p| Path(vec![PathElem::Attr(p.root().to_owned())]))
                    .collect()
            })
            .unwrap_or_default();
        let attributes = match self.return_values.as_str() {
            "ALL_OLD" => old.clone(),
            "ALL_NEW" => Some(new.clone()),
            "UPDATED_OLD" => old.as_ref().map(|o| project(o, &targets)),
            "UPDATED_NEW" => Some(project(&new, &targets)),
            _ => None,
        };
        table.put(key, new);
        let consumed = self.capacity.report(&table.name, units as f64);
        Ok(output(attributes.as_ref(), consumed))
    }
}
