//! Input shapes of the DynamoDB operations, as the wire sends them (awsJson1_0, PascalCase).
//! Items and AttributeValues stay raw JSON here and are validated by `value`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

pub type Names = Option<HashMap<String, String>>;
pub type Values = Option<Map<String, Value>>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedThroughput {
    pub read_capacity_units: Option<i64>,
    pub write_capacity_units: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTableInput {
    pub table_name: String,
    #[serde(default)]
    pub attribute_definitions: Vec<AttributeDefinition>,
    #[serde(default)]
    pub key_schema: Vec<KeySchemaElement>,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub global_secondary_indexes: Option<Value>,
    pub local_secondary_indexes: Option<Value>,
    pub stream_specification: Option<StreamSpecification>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    #[serde(default)]
    pub stream_enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableNameInput {
    pub table_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTablesInput {
    pub exclusive_start_table_name: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutItemInput {
    pub table_name: String,
    pub item: super::wire_item::WireItem,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub expression_attribute_values: Values,
    pub return_values: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub expected: Option<Value>,
    pub conditional_operator: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItemInput {
    pub table_name: String,
    pub key: Map<String, Value>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub attributes_to_get: Option<Vec<String>>,
    pub consistent_read: Option<bool>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteItemInput {
    pub table_name: String,
    pub key: Map<String, Value>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub expression_attribute_values: Values,
    pub return_values: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub expected: Option<Value>,
    pub conditional_operator: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateItemInput {
    pub table_name: String,
    pub key: Map<String, Value>,
    pub update_expression: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub expression_attribute_values: Values,
    pub return_values: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub attribute_updates: Option<Value>,
    pub expected: Option<Value>,
    pub conditional_operator: Option<Value>,
}

/// Query and Scan share most of their input; Scan has no key condition, Query no segments.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadManyInput {
    pub table_name: String,
    pub index_name: Option<String>,
    pub key_condition_expression: Option<String>,
    pub filter_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub expression_attribute_values: Values,
    pub attributes_to_get: Option<Vec<String>>,
    pub scan_index_forward: Option<bool>,
    pub limit: Option<i64>,
    pub exclusive_start_key: Option<Map<String, Value>>,
    pub select: Option<String>,
    pub consistent_read: Option<bool>,
    pub segment: Option<i64>,
    pub total_segments: Option<i64>,
    pub return_consumed_capacity: Option<String>,
    pub key_conditions: Option<Value>,
    pub query_filter: Option<Value>,
    pub scan_filter: Option<Value>,
    pub conditional_operator: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    pub item: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRequest {
    pub key: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteRequest {
    pub put_request: Option<PutRequest>,
    pub delete_request: Option<DeleteRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemInput {
    pub request_items: HashMap<String, Vec<WriteRequest>>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeysAndAttributes {
    pub keys: Vec<Map<String, Value>>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Names,
    pub attributes_to_get: Option<Vec<String>>,
    pub consistent_read: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemInput {
    pub request_items: HashMap<String, KeysAndAttributes>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// UpdateTable: what the emulator models (billing mode, provisioned throughput) and the
/// parameters it refuses, kept raw so they can be named.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTableInput {
    pub table_name: String,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub attribute_definitions: Option<Value>,
    pub global_secondary_index_updates: Option<Value>,
    pub stream_specification: Option<Value>,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: Option<Value>,
    pub replica_updates: Option<Value>,
    pub table_class: Option<Value>,
    pub deletion_protection_enabled: Option<Value>,
    pub on_demand_throughput: Option<Value>,
    pub warm_throughput: Option<Value>,
    pub multi_region_consistency: Option<Value>,
    pub global_table_witness_updates: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub enabled: Option<bool>,
    pub attribute_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTimeToLiveInput {
    pub table_name: String,
    pub time_to_live_specification: Option<TimeToLiveSpecification>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsOfResourceInput {
    pub resource_arn: Option<String>,
    pub next_token: Option<String>,
}
