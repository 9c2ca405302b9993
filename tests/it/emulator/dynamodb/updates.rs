//! UpdateItem: SET arithmetic, if_not_exists, REMOVE, ADD, DELETE, lists and nested paths, ReturnValues, and concurrent updates.

use super::*;

crate::on_both_edges!(
    update_item_arithmetic_if_not_exists_and_remove,
    update_item_add_delete_lists_and_nested_paths,
    update_item_return_values_and_failures,
    concurrent_counter_updates_are_not_lost,
);

async fn update_item_arithmetic_if_not_exists_and_remove(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
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
    crate::needs!(env, DynamoDbWholeAttributeReturnValues);
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

async fn concurrent_counter_updates_are_not_lost(env: &Env) {
    crate::needs!(env, DynamoDbAtomicUpdates);
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
