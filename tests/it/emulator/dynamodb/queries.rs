//! Query and Scan: every sort-key operator, filters, counts, reversal and pagination.

use super::*;

crate::on_both_edges!(
    query_supports_every_sort_key_operator,
    query_filters_counts_and_reverses,
    query_pages_until_exhausted,
    scan_pages_with_filter_until_exhausted,
);

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
    crate::needs!(env, DynamoDbExpressions, AwsErrorMessages);
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
    crate::needs!(env, Pagination);
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
