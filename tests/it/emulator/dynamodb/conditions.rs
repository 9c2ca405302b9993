//! Condition expressions: idempotent puts, the old item on a failed condition, functions, comparators and logic, and the rules for expression names and values.

use super::*;

crate::on_both_edges!(
    idempotent_put_succeeds_once_then_fails_the_condition,
    failed_condition_returns_the_old_item_when_asked,
    conditions_use_functions_comparators_and_logic,
    expression_names_and_values_must_be_defined_and_used,
    a_failed_condition_with_all_old_has_message_and_item_but_no_lowercase_message,
);

/// AWS's recorded answer (issue 11, "Answers that differ"): ConditionalCheckFailedException
/// with ReturnValuesOnConditionCheckFailure=ALL_OLD has a body of `__type`, `Message` and
/// `Item`, and no lowercase `message`
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-ReturnValuesOnConditionCheckFailure).
/// The SDK hides the body, so the request goes raw.
async fn a_failed_condition_with_all_old_has_message_and_item_but_no_lowercase_message(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let client = env.dynamodb();
    let table = id_table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .item("id", s("a"))
        .item("v", n("1"))
        .send()
        .await
        .unwrap();
    let put = |return_old: bool| {
        let mut body = serde_json::json!({
            "TableName": table,
            "Item": {"id": {"S": "a"}, "v": {"N": "2"}},
            "ConditionExpression": "attribute_not_exists(id)",
        });
        if return_old {
            body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD".into();
        }
        body
    };
    let target = "DynamoDB_20120810.PutItem";
    let content_type = "application/x-amz-json-1.0";
    let (status, body) =
        crate::emulator::raw::post_json(env, target, content_type, &put(true)).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert_eq!(body["Message"], "The conditional request failed");
    assert_eq!(
        body["Item"],
        serde_json::json!({"id": {"S": "a"}, "v": {"N": "1"}})
    );
    assert!(body.get("message").is_none(), "{body}");
    // Without ALL_OLD the body is the usual `message`.
    let (_, body) = crate::emulator::raw::post_json(env, target, content_type, &put(false)).await;
    assert_eq!(body["message"], "The conditional request failed");
    assert!(body.get("Item").is_none(), "{body}");
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
    crate::needs!(env, DynamoDbExpressions);
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

async fn expression_names_and_values_must_be_defined_and_used(env: &Env) {
    crate::needs!(env, StrictValidation);
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
