//! DynamoDB conformance through the official `aws-sdk-dynamodb` client, on both edges
//! (HTTP and in-process): tables, item operations and their error paths, conditions, updates,
//! Query and Scan pagination, batches, limits and throttling.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
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

/// Creates an on-demand table with a partition key and an optional sort key.
async fn create_table(
    client: &Client,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) -> String {
    let name = unique("t");
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest);
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
    request.send().await.unwrap();
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

fn sort_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i["sk"] {
            AttributeValue::N(v) => v.clone(),
            other => panic!("sk is {other:?}"),
        })
        .collect()
}

crate::on_both_edges!(
    table_lifecycle_create_describe_list_delete,
    create_table_validates_its_input,
    list_tables_pages_with_limit,
    items_round_trip_every_type_and_normalise_numbers,
    get_item_projects_and_misses_quietly,
    idempotent_put_succeeds_once_then_fails_the_condition,
    failed_condition_returns_the_old_item_when_asked,
    conditions_use_functions_comparators_and_logic,
    return_values_are_checked_per_operation,
    keys_and_attribute_values_are_validated,
    expression_names_and_values_must_be_defined_and_used,
    operations_on_a_missing_table_get_resource_not_found,
    update_item_arithmetic_if_not_exists_and_remove,
    update_item_add_delete_lists_and_nested_paths,
    update_item_return_values_and_failures,
    numbers_keep_their_precision,
    query_supports_every_sort_key_operator,
    query_filters_counts_and_reverses,
    query_pages_until_exhausted,
    scan_pages_with_filter_until_exhausted,
    batch_write_and_batch_get,
    batch_limits_are_enforced,
    item_size_limit_is_400_kb,
    concurrent_counter_updates_are_not_lost,
);

async fn table_lifecycle_create_describe_list_delete(env: &Env) {
    let client = env.dynamodb();
    let table = create_table(
        &client,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    assert_eq!(t.table_name(), Some(table.as_str()));
    assert_eq!(t.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(
        t.table_arn().unwrap(),
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
    );
    assert_eq!(t.item_count(), Some(0));
    assert_eq!(t.table_size_bytes(), Some(0));
    assert!(t.creation_date_time().is_some());
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    assert_eq!(t.attribute_definitions().len(), 2);
    assert_eq!(
        t.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    // Items are counted.
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("pk", s("a")), ("sk", n("1"))])))
        .send()
        .await
        .unwrap();
    let t = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(t.table().unwrap().item_count(), Some(1));
    assert!(t.table().unwrap().table_size_bytes().unwrap() > 0);

    let listed = client.list_tables().send().await.unwrap();
    assert!(listed.table_names().contains(&table));

    let again = client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert!(
        again
            .unwrap_err()
            .into_service_error()
            .is_resource_in_use_exception()
    );

    let deleted = client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted
            .table_description()
            .unwrap()
            .table_status()
            .unwrap()
            .as_str(),
        "DELETING"
    );
    let gone = client.describe_table().table_name(&table).send().await;
    let err = gone.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception());
    assert_eq!(
        err.message(),
        Some(format!("Requested resource not found: Table: {table} not found").as_str())
    );
    let gone = client.delete_table().table_name(&table).send().await;
    assert!(
        gone.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

async fn create_table_validates_its_input(env: &Env) {
    let client = env.dynamodb();
    let def = |name: &str, ty: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ty)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    // A key attribute missing from AttributeDefinitions.
    let (code, message) = error(
        client
            .create_table()
            .table_name(unique("t"))
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(def("other", ScalarAttributeType::S))
            .key_schema(key("id", KeyType::Hash))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("Some index key attributes are not defined"),
        "{message}"
    );
    // PROVISIONED (the default) needs ProvisionedThroughput.
    let (code, message) = error(
        client
            .create_table()
            .table_name(unique("t"))
            .attribute_definitions(def("id", ScalarAttributeType::S))
            .key_schema(key("id", KeyType::Hash))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("ReadCapacityUnits and WriteCapacityUnits"),
        "{message}"
    );
    // The first key must be the HASH key.
    let (code, message) = error(
        client
            .create_table()
            .table_name(unique("t"))
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(def("id", ScalarAttributeType::S))
            .key_schema(key("id", KeyType::Range))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("not a HASH key type"), "{message}");
    // Key attribute types are S, N or B only.
    let (code, _) = error(
        client
            .create_table()
            .table_name(unique("t"))
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(def("id", ScalarAttributeType::from("BOOL")))
            .key_schema(key("id", KeyType::Hash))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    // A bad table name.
    let (code, message) = error(
        client
            .create_table()
            .table_name("a!")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(def("id", ScalarAttributeType::S))
            .key_schema(key("id", KeyType::Hash))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("tableName"), "{message}");
    // A valid PROVISIONED table reports its capacity.
    let name = unique("t");
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(def("id", ScalarAttributeType::B))
        .key_schema(key("id", KeyType::Hash))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(7)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let t = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let pt = t.table().unwrap().provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(7), Some(3))
    );
}

async fn list_tables_pages_with_limit(env: &Env) {
    let client = env.dynamodb();
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(id_table(&client).await);
    }
    created.sort();
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .list_tables()
            .limit(2)
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .unwrap();
        assert!(page.table_names().len() <= 2);
        seen.extend(page.table_names().iter().cloned());
        match page.last_evaluated_table_name() {
            Some(last) => start = Some(last.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

async fn items_round_trip_every_type_and_normalise_numbers(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let mut nested = HashMap::new();
    nested.insert("inner".to_string(), AttributeValue::L(vec![s("x"), n("2")]));
    let stored = item(&[
        ("id", s("all-types")),
        ("s", s("")),
        ("n", n("1.50")),
        ("b", AttributeValue::B(vec![0u8, 1, 2, 255].into())),
        ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2.0".into()])),
        (
            "bs",
            AttributeValue::Bs(vec![vec![1u8].into(), vec![2u8].into()]),
        ),
        ("m", AttributeValue::M(nested)),
        (
            "l",
            AttributeValue::L(vec![
                AttributeValue::Null(true),
                AttributeValue::Bool(false),
            ]),
        ),
        ("t", AttributeValue::Bool(true)),
    ]);
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(stored.clone()))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name(&table)
        .key("id", s("all-types"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let got = got.item().unwrap();
    assert_eq!(got["n"], n("1.5"), "numbers are normalised");
    assert_eq!(got["ns"], AttributeValue::Ns(vec!["1".into(), "2".into()]));
    for key in ["id", "s", "b", "ss", "bs", "m", "l", "t"] {
        assert_eq!(got[key], stored[key], "{key}");
    }
    // Overwrite and delete with ALL_OLD.
    let replaced = client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("id", s("all-types")), ("v", n("2"))])))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replaced.attributes().unwrap()["t"],
        AttributeValue::Bool(true)
    );
    let deleted = client
        .delete_item()
        .table_name(&table)
        .key("id", s("all-types"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().unwrap()["v"], n("2"));
    let none = client
        .delete_item()
        .table_name(&table)
        .key("id", s("all-types"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(none.attributes().is_none());
}

async fn get_item_projects_and_misses_quietly(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let mut m = HashMap::new();
    m.insert("a".to_string(), n("1"));
    m.insert("b".to_string(), n("2"));
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("id", s("x")),
            ("m", AttributeValue::M(m)),
            ("l", AttributeValue::L(vec![s("l0"), s("l1"), s("l2")])),
            ("status", s("ok")),
        ])))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name(&table)
        .key("id", s("x"))
        .projection_expression("m.b, l[2], #st")
        .expression_attribute_names("#st", "status")
        .send()
        .await
        .unwrap();
    let got = got.item().unwrap();
    let mut only_b = HashMap::new();
    only_b.insert("b".to_string(), n("2"));
    assert_eq!(got.len(), 3);
    assert_eq!(got["m"], AttributeValue::M(only_b));
    assert_eq!(got["l"], AttributeValue::L(vec![s("l2")]));
    assert_eq!(got["status"], s("ok"));
    let missing = client
        .get_item()
        .table_name(&table)
        .key("id", s("nope"))
        .send()
        .await
        .unwrap();
    assert!(missing.item().is_none());
}

async fn idempotent_put_succeeds_once_then_fails_the_condition(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let put = |payload: &str| {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[("id", s("evt-1")), ("payload", s(payload))])))
            .condition_expression("attribute_not_exists(id)")
            .send()
    };
    put("first").await.unwrap();
    let err = put("second").await.unwrap_err().into_service_error();
    assert!(err.is_conditional_check_failed_exception(), "{err:?}");
    assert_eq!(err.message(), Some("The conditional request failed"));
    // Without ReturnValuesOnConditionCheckFailure the old item is not sent.
    if let PutItemError::ConditionalCheckFailedException(e) = &err {
        assert!(e.item().is_none());
    }
    let stored = client
        .get_item()
        .table_name(&table)
        .key("id", s("evt-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.item().unwrap()["payload"], s("first"));
}

async fn failed_condition_returns_the_old_item_when_asked(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("id", s("k")), ("status", s("COMPLETED"))])))
        .send()
        .await
        .unwrap();
    let err = client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("id", s("k")), ("status", s("INPROGRESS"))])))
        .condition_expression("attribute_not_exists(#id) OR #s = :inprogress")
        .expression_attribute_names("#id", "id")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":inprogress", s("INPROGRESS"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let PutItemError::ConditionalCheckFailedException(e) = err else {
        panic!("expected ConditionalCheckFailedException, got {err:?}");
    };
    let old = e.item().expect("the old item");
    assert_eq!(old["status"], s("COMPLETED"));
    assert_eq!(old["id"], s("k"));
    // The same for DeleteItem and UpdateItem.
    let err = client
        .delete_item()
        .table_name(&table)
        .key("id", s("k"))
        .condition_expression("attribute_not_exists(id)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conditional_check_failed_exception());
    let err = client
        .update_item()
        .table_name(&table)
        .key("id", s("k"))
        .update_expression("SET #s = :v")
        .condition_expression("#s = :v")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":v", s("FAILED"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let UpdateItemError::ConditionalCheckFailedException(e) = err else {
        panic!("expected ConditionalCheckFailedException, got {err:?}");
    };
    assert_eq!(e.item().unwrap()["status"], s("COMPLETED"));
}

async fn conditions_use_functions_comparators_and_logic(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("id", s("c")),
            ("name", s("widget-42")),
            ("qty", n("10")),
            (
                "tags",
                AttributeValue::Ss(vec!["red".into(), "blue".into()]),
            ),
            ("l", AttributeValue::L(vec![n("1"), n("2"), n("3")])),
        ])))
        .send()
        .await
        .unwrap();
    let values: Vec<(&str, AttributeValue)> = vec![
        (":prefix", s("widget")),
        (":red", s("red")),
        (":five", n("5")),
        (":ten", n("10")),
        (":twenty", n("20")),
        (":three", n("3")),
        (":ten_s", s("10")),
        (":type_ss", s("SS")),
    ];
    let check = |condition: &'static str| {
        let mut request = client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[
                ("id", s("c")),
                ("name", s("widget-42")),
                ("qty", n("10")),
                (
                    "tags",
                    AttributeValue::Ss(vec!["red".into(), "blue".into()]),
                ),
                ("l", AttributeValue::L(vec![n("1"), n("2"), n("3")])),
            ])))
            .condition_expression(condition);
        // Send exactly the values the condition names (AWS rejects unused ones).
        let used: Vec<&str> = condition
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .filter(|w| w.starts_with(':'))
            .collect();
        for (k, v) in &values {
            if used.contains(k) {
                request = request.expression_attribute_values(*k, v.clone());
            }
        }
        if condition.contains("#n") {
            request = request.expression_attribute_names("#n", "name");
        }
        async move {
            match request.send().await {
                Ok(_) => true,
                Err(e) => {
                    let e = e.into_service_error();
                    assert!(
                        e.is_conditional_check_failed_exception(),
                        "{condition}: {e:?}"
                    );
                    false
                }
            }
        }
    };
    assert!(check("begins_with(#n, :prefix)").await);
    assert!(check("contains(tags, :red) AND size(l) = :three").await);
    assert!(check("qty BETWEEN :five AND :twenty").await);
    assert!(!check("#n BETWEEN :five AND :twenty").await, "types differ");
    assert!(check("qty IN (:five, :ten)").await);
    assert!(!check("qty = :ten_s").await, "a number is not a string");
    assert!(check("qty <> :ten_s").await);
    assert!(check("attribute_type(tags, :type_ss)").await);
    assert!(check("NOT qty < :five AND (qty > :twenty OR qty >= :ten)").await);
    assert!(!check("qty > :twenty OR qty < :five").await);
    assert!(check("attribute_exists(l[2]) AND attribute_not_exists(l[3])").await);
}

async fn return_values_are_checked_per_operation(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let (code, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .return_values(ReturnValue::AllNew)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Return values set to invalid value");
    let (code, _) = error(
        client
            .delete_item()
            .table_name(&table)
            .key("id", s("a"))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let (code, message) = error(
        client
            .update_item()
            .table_name(&table)
            .key("id", s("a"))
            .return_values(ReturnValue::from("SOME"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("returnValues"), "{message}");
}

async fn keys_and_attribute_values_are_validated(env: &Env) {
    let client = env.dynamodb();
    let table = create_table(
        &client,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    let put = |i: Item| {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(i))
            .send()
    };
    let cases = [
        (
            item(&[("sk", n("1"))]),
            "One or more parameter values were invalid: Missing the key pk in the item",
        ),
        (
            item(&[("pk", s("a"))]),
            "One or more parameter values were invalid: Missing the key sk in the item",
        ),
        (
            item(&[("pk", n("1")), ("sk", n("1"))]),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            item(&[("pk", s("")), ("sk", n("1"))]),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
        ),
        (
            item(&[
                ("pk", s("a")),
                ("sk", n("1")),
                ("set", AttributeValue::Ss(vec![])),
            ]),
            "One or more parameter values were invalid: An string set  may not be empty",
        ),
        (
            item(&[("pk", s("a")), ("sk", n("not-a-number"))]),
            "A value provided cannot be converted into a number",
        ),
        (
            item(&[
                ("pk", s("a")),
                ("sk", n("1")),
                ("dup", AttributeValue::Ss(vec!["x".into(), "x".into()])),
            ]),
            "One or more parameter values were invalid: Input collection [x, x] contains duplicates",
        ),
    ];
    for (bad, expected) in cases {
        let (code, message) = error(put(bad).await);
        assert_eq!(code, "ValidationException");
        assert_eq!(message, expected);
    }
    // Empty strings are fine outside keys.
    put(item(&[("pk", s("a")), ("sk", n("1")), ("empty", s(""))]))
        .await
        .unwrap();
    // A Key must be exactly the key attributes.
    for key in [
        item(&[("pk", s("a"))]),
        item(&[("pk", s("a")), ("sk", s("1"))]),
        item(&[("pk", s("a")), ("sk", n("1")), ("extra", s("x"))]),
    ] {
        let (code, message) = error(
            client
                .get_item()
                .table_name(&table)
                .set_key(Some(key))
                .send()
                .await,
        );
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            "The provided key element does not match the schema"
        );
    }
}

async fn expression_names_and_values_must_be_defined_and_used(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let (code, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .condition_expression("attribute_not_exists(id)")
            .expression_attribute_values(":x", s("unused"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
    );
    let (_, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .condition_expression("id = :v")
            .send()
            .await,
    );
    assert_eq!(
        message,
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v"
    );
    let (_, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .condition_expression("attribute_not_exists(#missing)")
            .send()
            .await,
    );
    assert_eq!(
        message,
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #missing"
    );
    let (_, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .condition_expression("attribute_not_exists(id)")
            .expression_attribute_names("#unused", "x")
            .send()
            .await,
    );
    assert_eq!(
        message,
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"
    );
    let (code, message) = error(
        client
            .put_item()
            .table_name(&table)
            .item("id", s("a"))
            .condition_expression("id = ")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("Invalid ConditionExpression: Syntax error; token: \"<EOF>\""),
        "{message}"
    );
    let message = update_error(&client, &table, "a", "SET a = :v", vec![]).await;
    assert!(message.starts_with("Invalid UpdateExpression: An expression attribute value"));
    // Reserved words cannot be bare attribute names; placeholders can stand for them.
    let (code, message) = error(
        client
            .update_item()
            .table_name(&table)
            .key("id", s("a"))
            .update_expression("SET count = :v")
            .expression_attribute_values(":v", n("1"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: count"
    );
    client
        .update_item()
        .table_name(&table)
        .key("id", s("a"))
        .update_expression("SET #c = :v")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":v", n("1"))
        .send()
        .await
        .unwrap();
}

async fn operations_on_a_missing_table_get_resource_not_found(env: &Env) {
    let client = env.dynamodb();
    let missing = unique("missing");
    let put = client
        .put_item()
        .table_name(&missing)
        .item("id", s("a"))
        .send()
        .await;
    assert!(
        put.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let get = client
        .get_item()
        .table_name(&missing)
        .key("id", s("a"))
        .send()
        .await;
    assert!(
        get.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let query = client
        .query()
        .table_name(&missing)
        .key_condition_expression("id = :v")
        .expression_attribute_values(":v", s("a"))
        .send()
        .await;
    assert!(
        query
            .unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let scan = client.scan().table_name(&missing).send().await;
    assert!(
        scan.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

async fn update_item_arithmetic_if_not_exists_and_remove(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    // Creates the item when absent.
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("u"))
        .update_expression(
            "SET visits = if_not_exists(visits, :zero) + :one, #n = :name, gone = :one",
        )
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(":zero", n("0"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":name", s("first"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let new = out.attributes().unwrap();
    assert_eq!(new["id"], s("u"));
    assert_eq!(new["visits"], n("1"));
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("u"))
        .update_expression("SET visits = visits + :step, remaining = visits - :big, #n = if_not_exists(#n, :other) REMOVE gone")
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(":step", n("0.5"))
        .expression_attribute_values(":big", n("100"))
        .expression_attribute_values(":other", s("second"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let new = out.attributes().unwrap();
    assert_eq!(new["visits"], n("1.5"));
    assert_eq!(
        new["remaining"],
        n("-99"),
        "operands read the item before the update"
    );
    assert_eq!(new["name"], s("first"));
    assert!(!new.contains_key("gone"));
    // Arithmetic on a missing attribute or a string fails.
    let (code, message) = error(
        client
            .update_item()
            .table_name(&table)
            .key("id", s("u"))
            .update_expression("SET x = nothing + :one")
            .expression_attribute_values(":one", n("1"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "The provided expression refers to an attribute that does not exist in the item"
    );
    let (_, message) = error(
        client
            .update_item()
            .table_name(&table)
            .key("id", s("u"))
            .update_expression("SET x = #n + :one")
            .expression_attribute_names("#n", "name")
            .expression_attribute_values(":one", n("1"))
            .send()
            .await,
    );
    assert_eq!(
        message,
        "An operand in the update expression has an incorrect data type"
    );
    // The key cannot be updated.
    let message = update_error(
        &client,
        &table,
        "u",
        "SET id = :v",
        vec![(":v", s("other"))],
    )
    .await;
    assert_eq!(
        message,
        "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key"
    );
}

async fn update_item_add_delete_lists_and_nested_paths(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let mut profile = HashMap::new();
    profile.insert(
        "addresses".to_string(),
        AttributeValue::L(vec![AttributeValue::M(
            [("city".to_string(), s("Oslo"))].into_iter().collect(),
        )]),
    );
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("id", s("n")),
            ("count", n("5")),
            ("tags", AttributeValue::Ss(vec!["a".into(), "b".into()])),
            ("log", AttributeValue::L(vec![s("one")])),
            ("profile", AttributeValue::M(profile)),
        ])))
        .send()
        .await
        .unwrap();
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("n"))
        .update_expression(
            "ADD #c :two, tags :more, fresh :two DELETE tags :gone \
             SET #log = list_append(#log, :entries), profile.addresses[0].city = :city, profile.age = :two",
        )
        .expression_attribute_names("#c", "count")
        .expression_attribute_names("#log", "log")
        .expression_attribute_values(":two", n("2"))
        .expression_attribute_values(":more", AttributeValue::Ss(vec!["c".into()]))
        .expression_attribute_values(":gone", AttributeValue::Ss(vec!["a".into()]))
        .expression_attribute_values(":entries", AttributeValue::L(vec![s("two")]))
        .expression_attribute_values(":city", s("Bergen"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    // ADD and DELETE on the same attribute overlap: AWS refuses that.
    let (_, message) = error(out);
    assert!(message.contains("Two document paths"), "{message}");
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("n"))
        .update_expression(
            "ADD #c :two, tags :more, fresh :two \
             SET #log = list_append(#log, :entries), profile.addresses[0].city = :city, profile.age = :two",
        )
        .expression_attribute_names("#c", "count")
        .expression_attribute_names("#log", "log")
        .expression_attribute_values(":two", n("2"))
        .expression_attribute_values(":more", AttributeValue::Ss(vec!["c".into()]))
        .expression_attribute_values(":entries", AttributeValue::L(vec![s("two")]))
        .expression_attribute_values(":city", s("Bergen"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let new = out.attributes().unwrap();
    assert_eq!(new["count"], n("7"));
    assert_eq!(new["fresh"], n("2"));
    let AttributeValue::Ss(tags) = &new["tags"] else {
        panic!("tags: {:?}", new["tags"]);
    };
    let mut tags = tags.clone();
    tags.sort();
    assert_eq!(tags, ["a", "b", "c"]);
    assert_eq!(new["log"], AttributeValue::L(vec![s("one"), s("two")]));
    let AttributeValue::M(profile) = &new["profile"] else {
        panic!("profile");
    };
    assert_eq!(profile["age"], n("2"));
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("n"))
        .update_expression("DELETE tags :all REMOVE #log[0], profile.addresses")
        .expression_attribute_names("#log", "log")
        .expression_attribute_values(
            ":all",
            AttributeValue::Ss(vec!["a".into(), "b".into(), "c".into()]),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let new = out.attributes().unwrap();
    assert!(
        !new.contains_key("tags"),
        "a set emptied by DELETE disappears"
    );
    assert_eq!(new["log"], AttributeValue::L(vec![s("two")]));
    let AttributeValue::M(profile) = &new["profile"] else {
        panic!("profile");
    };
    assert!(!profile.contains_key("addresses"));
    // A nested path under a missing attribute is invalid.
    let message = update_error(
        &client,
        &table,
        "n",
        "SET nothing.deeper = :v",
        vec![(":v", n("1"))],
    )
    .await;
    assert_eq!(
        message,
        "The document path provided in the update expression is invalid for update"
    );
}

async fn update_item_return_values_and_failures(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("id", s("r")), ("a", n("1")), ("b", n("2"))])))
        .send()
        .await
        .unwrap();
    let update = |rv: ReturnValue| {
        client
            .update_item()
            .table_name(&table)
            .key("id", s("r"))
            .update_expression("SET a = a + :one")
            .expression_attribute_values(":one", n("1"))
            .return_values(rv)
            .send()
    };
    let old = update(ReturnValue::UpdatedOld).await.unwrap();
    assert_eq!(old.attributes().unwrap(), &item(&[("a", n("1"))]));
    let new = update(ReturnValue::UpdatedNew).await.unwrap();
    assert_eq!(new.attributes().unwrap(), &item(&[("a", n("3"))]));
    let all_old = update(ReturnValue::AllOld).await.unwrap();
    assert_eq!(
        all_old.attributes().unwrap(),
        &item(&[("id", s("r")), ("a", n("3")), ("b", n("2"))])
    );
    let all_new = update(ReturnValue::AllNew).await.unwrap();
    assert_eq!(all_new.attributes().unwrap()["a"], n("5"));
    let none = update(ReturnValue::None).await.unwrap();
    assert!(none.attributes().is_none());
    // A nested update returns its whole top-level attribute.
    let m = AttributeValue::M(item(&[("x", n("1")), ("y", n("2"))]));
    client
        .update_item()
        .table_name(&table)
        .key("id", s("r"))
        .update_expression("SET m = :m")
        .expression_attribute_values(":m", m)
        .send()
        .await
        .unwrap();
    let nested = client
        .update_item()
        .table_name(&table)
        .key("id", s("r"))
        .update_expression("SET m.x = :nine")
        .expression_attribute_values(":nine", n("9"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    assert_eq!(
        nested.attributes().unwrap(),
        &item(&[(
            "m",
            AttributeValue::M(item(&[("x", n("9")), ("y", n("2"))]))
        )])
    );
    // A failed condition leaves the item alone.
    let err = client
        .update_item()
        .table_name(&table)
        .key("id", s("r"))
        .update_expression("SET a = :zero")
        .condition_expression("a < :zero")
        .expression_attribute_values(":zero", n("0"))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_conditional_check_failed_exception()
    );
    let got = client
        .get_item()
        .table_name(&table)
        .key("id", s("r"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["a"], n("6"));
    // A conditional update of a missing item sees no attributes.
    let err = client
        .update_item()
        .table_name(&table)
        .key("id", s("absent"))
        .update_expression("SET a = :zero")
        .condition_expression("attribute_exists(id)")
        .expression_attribute_values(":zero", n("0"))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_conditional_check_failed_exception()
    );
}

async fn numbers_keep_their_precision(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let big = "12345678901234567890123456789012345678";
    let small = "0.00000000000000000000000000000000000000000000000000000000000000000001";
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("id", s("num")),
            ("big", n(big)),
            ("small", n(small)),
            ("sum", n("0.1")),
            ("huge", n("9.9E+125")),
        ])))
        .send()
        .await
        .unwrap();
    let out = client
        .update_item()
        .table_name(&table)
        .key("id", s("num"))
        .update_expression("ADD #sum :fifth")
        .expression_attribute_names("#sum", "sum")
        .expression_attribute_values(":fifth", n("0.2"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let new = out.attributes().unwrap();
    assert_eq!(new["sum"], n("0.3"));
    assert_eq!(new["big"], n(big));
    assert_eq!(new["small"], n(small));
    assert_eq!(new["huge"], n(&format!("99{}", "0".repeat(124))));
    let (code, message) = error(
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[("id", s("num")), ("x", n(&"9".repeat(39)))])))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Attempting to store more than 38 significant digits in a Number"
    );
    let message = update_error(
        &client,
        &table,
        "num",
        "SET big = big + :tiny",
        vec![(":tiny", n("0.1"))],
    )
    .await;
    assert_eq!(
        message,
        "Attempting to store more than 38 significant digits in a Number"
    );
    let (_, message) = error(
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[("id", s("num")), ("x", n("1E+126"))])))
            .send()
            .await,
    );
    assert!(message.starts_with("Number overflow"), "{message}");
}

async fn query(
    client: &Client,
    table: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> Vec<String> {
    let mut request = client
        .query()
        .table_name(table)
        .key_condition_expression(condition)
        .expression_attribute_values(":p", s("p"));
    for (k, v) in values {
        request = request.expression_attribute_values(*k, v.clone());
    }
    let out = request.send().await.unwrap();
    sort_keys(out.items())
}

async fn query_supports_every_sort_key_operator(env: &Env) {
    let client = env.dynamodb();
    let table = sorted_table(&client).await;
    let all: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    assert_eq!(
        query(&client, &table, "pk = :p", &[]).await,
        all,
        "numeric order, not string order"
    );
    assert_eq!(
        query(&client, &table, "pk = :p AND sk = :v", &[(":v", n("4"))]).await,
        ["4"]
    );
    assert_eq!(
        query(&client, &table, "pk = :p AND sk < :v", &[(":v", n("3"))]).await,
        ["1", "2"]
    );
    assert_eq!(
        query(&client, &table, "pk = :p AND sk <= :v", &[(":v", n("3"))]).await,
        ["1", "2", "3"]
    );
    assert_eq!(
        query(&client, &table, "pk = :p AND sk > :v", &[(":v", n("8"))]).await,
        ["9", "10"]
    );
    assert_eq!(
        query(&client, &table, "pk = :p AND sk >= :v", &[(":v", n("8"))]).await,
        ["8", "9", "10"]
    );
    assert_eq!(
        query(
            &client,
            &table,
            "pk = :p AND sk BETWEEN :lo AND :hi",
            &[(":lo", n("3")), (":hi", n("5"))]
        )
        .await,
        ["3", "4", "5"]
    );
    assert_eq!(
        query(&client, &table, ":v < sk AND pk = :p", &[(":v", n("9"))]).await,
        ["10"]
    );
    // begins_with on a string sort key, ordered bytewise.
    let strings = create_table(
        &client,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    for sk in [
        "order#2", "order#10", "order#1", "user#1", "orde", "Order#3",
    ] {
        client
            .put_item()
            .table_name(&strings)
            .set_item(Some(item(&[("pk", s("p")), ("sk", s(sk))])))
            .send()
            .await
            .unwrap();
    }
    let out = client
        .query()
        .table_name(&strings)
        .key_condition_expression("pk = :p AND begins_with(sk, :prefix)")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":prefix", s("order#"))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let got: Vec<_> = out
        .items()
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(got, ["order#2", "order#10", "order#1"]);
    // Key conditions AWS does not support.
    for (condition, expected) in [
        ("sk = :v", "Query condition missed key schema element: pk"),
        (
            "pk = :p OR sk = :v",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "pk = :p AND sk <> :v",
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            "pk = :p AND extra = :v",
            "Query condition missed key schema element: sk",
        ),
        ("pk < :p", "Query key condition not supported"),
    ] {
        let mut request = client
            .query()
            .table_name(&table)
            .key_condition_expression(condition);
        if condition.contains(":v") {
            request = request.expression_attribute_values(":v", n("1"));
        }
        if condition.contains(":p") {
            request = request.expression_attribute_values(":p", s("p"));
        }
        let (code, message) = error(request.send().await);
        assert_eq!(code, "ValidationException", "{condition}");
        assert_eq!(message, expected, "{condition}");
    }
    let (_, message) = error(
        client
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", n("1"))
            .send()
            .await,
    );
    assert!(
        message.contains("Condition parameter type does not match schema type"),
        "{message}"
    );
}

async fn query_filters_counts_and_reverses(env: &Env) {
    let client = env.dynamodb();
    let table = sorted_table(&client).await;
    let out = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p AND sk > :three")
        .filter_expression("even = :yes")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":three", n("3"))
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .scan_index_forward(false)
        .projection_expression("sk")
        .send()
        .await
        .unwrap();
    assert_eq!(sort_keys(out.items()), ["10", "8", "6", "4"]);
    assert_eq!(out.count(), 4);
    assert_eq!(out.scanned_count(), 7);
    assert!(out.items().iter().all(|i| i.len() == 1), "projected to sk");
    let counted = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(counted.count(), 10);
    assert!(counted.items().is_empty());
}

async fn query_pages_until_exhausted(env: &Env) {
    let client = env.dynamodb();
    let table = sorted_table(&client).await;
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let out = client
                .query()
                .table_name(&table)
                .key_condition_expression("pk = :p AND sk >= :two")
                .expression_attribute_values(":p", s("p"))
                .expression_attribute_values(":two", n("2"))
                .scan_index_forward(forward)
                .limit(3)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            pages += 1;
            assert!(out.items().len() <= 3);
            seen.extend(sort_keys(out.items()));
            match out.last_evaluated_key() {
                Some(key) => {
                    assert_eq!(key.len(), 2, "the key attributes: {key:?}");
                    start = Some(key.clone());
                }
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }
        let mut expected: Vec<String> = (2..=10).map(|i| i.to_string()).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected, "forward = {forward}");
        // 9 items in pages of 3: the third page is full, so a fourth (empty) page ends it.
        assert_eq!(pages, 4);
    }
}

async fn scan_pages_with_filter_until_exhausted(env: &Env) {
    let client = env.dynamodb();
    let table = sorted_table(&client).await;
    let mut seen = Vec::new();
    let mut scanned = 0;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(&table)
            .filter_expression("attribute_exists(even) AND even = :no")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .limit(4)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        assert!(out.scanned_count() <= 4);
        scanned += out.scanned_count();
        assert_eq!(out.count() as usize, out.items().len());
        seen.extend(sort_keys(out.items()));
        match out.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    seen.sort_by_key(|k| k.parse::<u32>().unwrap());
    assert_eq!(seen, ["1", "3", "5", "7", "9"]);
    assert_eq!(scanned, 11, "every item is scanned exactly once");
    // A whole-table scan without a limit.
    let all = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!((all.count(), all.scanned_count()), (11, 11));
    assert!(all.last_evaluated_key().is_none());
    // Parallel scan segments partition the table.
    let mut total = 0;
    for segment in 0..3 {
        let out = client
            .scan()
            .table_name(&table)
            .segment(segment)
            .total_segments(3)
            .send()
            .await
            .unwrap();
        total += out.count();
    }
    assert_eq!(total, 11);
}

async fn batch_write_and_batch_get(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let puts: Vec<WriteRequest> = (0..25)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item(&[
                            ("id", s(&format!("b{i}"))),
                            ("n", n(&i.to_string())),
                        ])))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    let out = client
        .batch_write_item()
        .request_items(&table, puts)
        .send()
        .await
        .unwrap();
    assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    let deletes: Vec<WriteRequest> = (20..25)
        .map(|i| {
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .key("id", s(&format!("b{i}")))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    client
        .batch_write_item()
        .request_items(&table, deletes)
        .send()
        .await
        .unwrap();
    let keys: Vec<Item> = (15..25)
        .map(|i| item(&[("id", s(&format!("b{i}")))]))
        .collect();
    let out = client
        .batch_get_item()
        .request_items(
            &table,
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression("id, #n")
                .expression_attribute_names("#n", "n")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut found: Vec<String> = out.responses().unwrap()[&table]
        .iter()
        .map(|i| i["id"].as_s().unwrap().clone())
        .collect();
    found.sort();
    assert_eq!(found, ["b15", "b16", "b17", "b18", "b19"]);
    assert!(out.unprocessed_keys().is_none_or(|u| u.is_empty()));
    let scan = client
        .scan()
        .table_name(&table)
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 20);
}

async fn batch_limits_are_enforced(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let put = |i: usize| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("id", s(&format!("x{i}")))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let (code, message) = error(
        client
            .batch_write_item()
            .request_items(&table, (0..26).map(put).collect())
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("less than or equal to 25"), "{message}");
    let (_, message) = error(
        client
            .batch_write_item()
            .request_items(&table, vec![put(1), put(1)])
            .send()
            .await,
    );
    assert_eq!(message, "Provided list of item keys contains duplicates");
    // One invalid request means nothing is written.
    let bad = WriteRequest::builder()
        .put_request(PutRequest::builder().item("other", s("x")).build().unwrap())
        .build();
    let (code, _) = error(
        client
            .batch_write_item()
            .request_items(&table, vec![put(2), bad])
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 0);
    let keys: Vec<Item> = (0..101)
        .map(|i| item(&[("id", s(&format!("x{i}")))]))
        .collect();
    let (code, message) = error(
        client
            .batch_get_item()
            .request_items(
                &table,
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Too many items requested for the BatchGetItem call"
    );
    let missing = client
        .batch_write_item()
        .request_items(unique("missing"), vec![put(1)])
        .send()
        .await;
    assert!(
        missing
            .unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

async fn item_size_limit_is_400_kb(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    // "id" (2) + "k" (1) + "data" (4) + payload = 409,600 bytes exactly: the largest item.
    let fits = 400 * 1024 - 2 - 1 - 4;
    let put = |len: usize| {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[("id", s("k")), ("data", s(&"x".repeat(len)))])))
            .send()
    };
    put(fits).await.unwrap();
    let (code, message) = error(put(fits + 1).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Item size has exceeded the maximum allowed size");
    let message = update_error(&client, &table, "k", "SET more = :x", vec![(":x", s("xx"))]).await;
    assert_eq!(
        message,
        "Item size to update has exceeded the maximum allowed size"
    );
}

async fn concurrent_counter_updates_are_not_lost(env: &Env) {
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let client = client.clone();
        let table = table.clone();
        tasks.spawn(async move {
            client
                .update_item()
                .table_name(&table)
                .key("id", s("counter"))
                .update_expression("ADD hits :one")
                .expression_attribute_values(":one", n("1"))
                .send()
                .await
                .unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let got = client
        .get_item()
        .table_name(&table)
        .key("id", s("counter"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["hits"], n("64"));
}

// ---- throttling (limits switched on, SDK retries off so the error surfaces) ----

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
    let name = unique("t");
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (done, err) = put_until_throttled(&client, &name, "k").await;
    assert!((1..=2).contains(&done), "{done} puts before throttling");
    assert!(
        err.is_provisioned_throughput_exceeded_exception(),
        "{err:?}"
    );
}

mod throttling {
    use super::*;

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
}
