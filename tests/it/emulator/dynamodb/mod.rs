//! DynamoDB conformance through the official `aws-sdk-dynamodb` client, on both edges
//! (HTTP and in-process). Shared helpers here (tables, items, and [`error`], the one check of
//! a refused call: its code and message); the tests in the submodules:
//! - `tables`: create (and its validation), describe, list, delete, a missing table;
//! - `items`: attribute types, numbers, projections, key validation, ReturnValues, item size;
//! - `conditions`: condition expressions and expression names and values;
//! - `updates`: UpdateItem's actions, ReturnValues and concurrent updates;
//! - `queries`: Query and Scan operators, filters and pagination;
//! - `batches`: BatchWriteItem, BatchGetItem and their limits;
//! - `update_table`: UpdateTable's billing modes and provisioned throughput;
//! - `ttl`: Time to Live, and expired items deleted;
//! - `tags`: TagResource, UntagResource, ListTagsOfResource;
//! - `throttling`: the emulator's switchable limits (SDK retries off).

mod batches;
mod conditions;
mod items;
mod queries;
mod tables;
mod tags;
mod throttling;
mod ttl;
mod update_table;
mod updates;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    KeysAndAttributes, ProvisionedThroughput, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, Select, WriteRequest,
};

use crate::support::{Edge, Env, unique};

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The error code and message of a failed call.
fn error<T, E: ProvideErrorMetadata, R>(result: Result<T, SdkError<E, R>>) -> (String, String) {
    match result {
        Ok(_) => panic!("the call succeeded but an error was expected"),
        Err(err) => (
            err.code().unwrap_or("<none>").to_owned(),
            err.message().unwrap_or("<none>").to_owned(),
        ),
    }
}

/// The message of an UpdateItem that must fail.
async fn update_error(
    client: &Client,
    table: &str,
    id: &str,
    expression: &str,
    values: Vec<(&str, AttributeValue)>,
) -> String {
    let mut request = client
        .update_item()
        .table_name(table)
        .key("id", s(id))
        .update_expression(expression);
    for (name, value) in values {
        request = request.expression_attribute_values(name, value);
    }
    error(request.send().await).1
}

/// A CreateTable request under a fresh name with a partition key and an optional sort key,
/// for the caller to give billing, throughput or tags.
fn table_request(
    client: &Client,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) -> (String, CreateTableFluentBuilder) {
    let name = unique("t");
    let mut request = client.create_table().table_name(&name);
    for (attr, ty, kind) in std::iter::once((hash.0, hash.1, KeyType::Hash))
        .chain(range.map(|(a, t)| (a, t, KeyType::Range)))
    {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ty)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr)
                    .key_type(kind)
                    .build()
                    .unwrap(),
            );
    }
    (name, request)
}

/// Creates an on-demand table with a partition key and an optional sort key.
async fn create_table(
    client: &Client,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) -> String {
    let (name, request) = table_request(client, hash, range);
    request
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    name
}

async fn id_table(client: &Client) -> String {
    create_table(client, ("id", ScalarAttributeType::S), None).await
}

/// A table `pk` (S) + `sk` (N) holding sk = 1..=10 under pk "p", plus one item under "other".
async fn sorted_table(client: &Client) -> String {
    let table = create_table(
        client,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    for i in 1..=10 {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[
                ("pk", s("p")),
                ("sk", n(&i.to_string())),
                ("even", AttributeValue::Bool(i % 2 == 0)),
            ])))
            .send()
            .await
            .unwrap();
    }
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("pk", s("other")), ("sk", n("5"))])))
        .send()
        .await
        .unwrap();
    table
}

/// Creates a provisioned table keyed by `id` (S) with `read`/`write` capacity units, with the
/// BillingMode given only when `mode` is.
async fn provisioned_table(
    client: &Client,
    read: i64,
    write: i64,
    mode: Option<BillingMode>,
) -> String {
    let (name, request) = table_request(client, ("id", ScalarAttributeType::S), None);
    request
        .set_billing_mode(mode)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

/// The `arn:aws:dynamodb:...:table/<name>` of a table, from DescribeTable.
async fn table_arn(client: &Client, table: &str) -> String {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table()
        .and_then(|t| t.table_arn())
        .expect("a table ARN")
        .to_owned()
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i["sk"] {
            AttributeValue::N(v) => v.clone(),
            other => panic!("sk is {other:?}"),
        })
        .collect()
}
