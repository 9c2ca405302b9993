//! TagResource, UntagResource and ListTagsOfResource on table ARNs
//! (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TagResource.html; the
//! messages as dynalite's AWS-checked tests record them, mhart/dynalite `test/tagResource.js`,
//! including AWS's own spelling "ResourcArn").

use aws_sdk_dynamodb::types::Tag;

use super::*;

crate::on_both_edges!(
    tags_are_added_listed_and_removed_by_table_arn,
    tagging_refuses_unknown_tables_bad_arns_and_empty_tags,
);

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn tags_of(client: &Client, arn: &str) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = client
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    tags
}

async fn tags_are_added_listed_and_removed_by_table_arn(env: &Env) {
    crate::needs!(env, DynamoDbTags);
    let client = env.dynamodb();
    // Tags given at creation count too.
    let (name, request) = table_request(&client, ("id", ScalarAttributeType::S), None);
    request
        .billing_mode(BillingMode::PayPerRequest)
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap();
    let arn = table_arn(&client, &name).await;
    assert_eq!(
        tags_of(&client, &arn).await,
        [("team".into(), "data".into())]
    );
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "test"))
        .tags(tag("team", "pipeline"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&client, &arn).await,
        [
            ("env".into(), "test".into()),
            ("team".into(), "pipeline".into())
        ]
    );
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("never-set")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&client, &arn).await,
        [("env".into(), "test".into())]
    );
    // A table without tags lists none.
    let bare = id_table(&client).await;
    let bare_arn = table_arn(&client, &bare).await;
    assert!(tags_of(&client, &bare_arn).await.is_empty());
}

async fn tagging_refuses_unknown_tables_bad_arns_and_empty_tags(env: &Env) {
    crate::needs!(env, StrictValidation, AwsErrorMessages);
    let client = env.dynamodb();
    let missing = format!(
        "arn:aws:dynamodb:us-east-1:000000000000:table/{}",
        unique("missing")
    );
    let (code, message) = error(
        client
            .tag_resource()
            .resource_arn(&missing)
            .tags(tag("a", "b"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        format!("Requested resource not found: ResourcArn: {missing} not found")
    );
    let (code, message) = error(
        client
            .list_tags_of_resource()
            .resource_arn(&missing)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        format!("Requested resource not found: ResourcArn: {missing} not found")
    );
    let bad = "arn:aws:dynamodb:us-east-1:000000000000:stream/x";
    let (code, message) = error(
        client
            .tag_resource()
            .resource_arn(bad)
            .tags(tag("a", "b"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        format!("Invalid TableArn: Invalid ResourceArn provided as input {bad}")
    );
    let table = id_table(&client).await;
    let arn = table_arn(&client, &table).await;
    let (code, message) = error(
        client
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(vec![]))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Atleast one Tag needs to be provided as Input.");
    let (code, message) = error(
        client
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(vec![]))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Atleast one Tag Key needs to be provided as Input."
    );
}
