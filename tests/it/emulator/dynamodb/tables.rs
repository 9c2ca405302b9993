//! Tables: create (and its validation), describe, list (with paging), delete, and operations on a missing table.

use super::*;

crate::on_both_edges!(
    table_lifecycle_create_describe_list_delete,
    create_table_validates_its_input,
    list_tables_pages_with_limit,
    operations_on_a_missing_table_get_resource_not_found,
    a_provisioned_table_created_without_billing_mode_has_no_billing_mode_summary,
    describe_table_reports_warm_throughput,
    delete_table_describes_the_table_without_its_schema,
);

/// AWS's recorded answer (issue 11, "Answers that differ"): a table created PROVISIONED by
/// default, without a BillingMode, has no BillingModeSummary; given, it has one
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BillingModeSummary.html).
async fn a_provisioned_table_created_without_billing_mode_has_no_billing_mode_summary(env: &Env) {
    crate::needs!(env, DynamoDbTableDescriptions);
    let client = env.dynamodb();
    let implicit = provisioned_table(&client, 5, 5, None).await;
    let explicit = provisioned_table(&client, 5, 5, Some(BillingMode::Provisioned)).await;
    let describe = |name: String| {
        let client = client.clone();
        async move {
            client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .unwrap()
                .table
                .unwrap()
        }
    };
    let t = describe(implicit).await;
    assert!(t.billing_mode_summary().is_none(), "{t:?}");
    assert_eq!(
        t.provisioned_throughput().unwrap().read_capacity_units(),
        Some(5)
    );
    let t = describe(explicit).await;
    assert_eq!(
        t.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::Provisioned)
    );
}

/// AWS's recorded answer (issue 11): DescribeTable has WarmThroughput, for a 5/5 provisioned
/// table ReadUnitsPerSecond 5, WriteUnitsPerSecond 5, Status ACTIVE; an on-demand table starts
/// warm at 12,000 reads and 4,000 writes a second
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
async fn describe_table_reports_warm_throughput(env: &Env) {
    let client = env.dynamodb();
    let table = provisioned_table(&client, 5, 5, None).await;
    let t = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let warm = t.warm_throughput().expect("WarmThroughput");
    assert_eq!(warm.read_units_per_second(), Some(5));
    assert_eq!(warm.write_units_per_second(), Some(5));
    assert_eq!(warm.status().map(|s| s.as_str()), Some("ACTIVE"));
    let on_demand = id_table(&client).await;
    let t = client
        .describe_table()
        .table_name(&on_demand)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let warm = t.warm_throughput().expect("WarmThroughput");
    assert_eq!(warm.read_units_per_second(), Some(12_000));
    assert_eq!(warm.write_units_per_second(), Some(4_000));
}

/// AWS's recorded answer (issue 11): DeleteTable's TableDescription has no
/// AttributeDefinitions, KeySchema, CreationDateTime or BillingModeSummary
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html).
async fn delete_table_describes_the_table_without_its_schema(env: &Env) {
    crate::needs!(env, DynamoDbTableDescriptions, DynamoDbDeleteStatus);
    let client = env.dynamodb();
    let table = id_table(&client).await;
    let deleted = client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(deleted.table_name(), Some(table.as_str()));
    assert_eq!(deleted.table_status().map(|s| s.as_str()), Some("DELETING"));
    assert!(deleted.table_arn().is_some());
    assert!(deleted.attribute_definitions().is_empty(), "{deleted:?}");
    assert!(deleted.key_schema().is_empty(), "{deleted:?}");
    assert!(deleted.creation_date_time().is_none(), "{deleted:?}");
    assert!(deleted.billing_mode_summary().is_none(), "{deleted:?}");
}

async fn table_lifecycle_create_describe_list_delete(env: &Env) {
    crate::needs!(env, DynamoDbLiveTableSize, DynamoDbDeleteStatus);
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
    crate::needs!(env, StrictValidation, AwsErrorMessages);
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
    crate::needs!(env, IsolatedServer);
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
