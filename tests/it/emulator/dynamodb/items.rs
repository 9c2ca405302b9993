//! Items: every attribute type round-tripped, number normalisation and precision, projections, key and value validation, ReturnValues per operation, the 400 KB item size.

use super::*;

crate::on_both_edges!(
    items_round_trip_every_type_and_normalise_numbers,
    get_item_projects_and_misses_quietly,
    keys_and_attribute_values_are_validated,
    numbers_keep_their_precision,
    return_values_are_checked_per_operation,
    item_size_limit_is_400_kb,
);

async fn items_round_trip_every_type_and_normalise_numbers(env: &Env) {
    crate::needs!(env, DynamoDbNumbers);
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

async fn keys_and_attribute_values_are_validated(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
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

async fn numbers_keep_their_precision(env: &Env) {
    crate::needs!(env, DynamoDbNumbers, AwsErrorMessages);
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

async fn return_values_are_checked_per_operation(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
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

async fn item_size_limit_is_400_kb(env: &Env) {
    crate::needs!(env, DynamoDbItemSize);
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
