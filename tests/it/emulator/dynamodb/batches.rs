//! BatchWriteItem and BatchGetItem, and their limits.

use super::*;

crate::on_both_edges!(batch_write_and_batch_get, batch_limits_are_enforced,);

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
    crate::needs!(env, StrictValidation, AwsErrorMessages);
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
