//! TagResource, UntagResource and ListTagsOfResource on table ARNs
//! (`arn:aws:dynamodb:{region}:{account}:table/{name}`), with AWS's validation messages as
//! recorded by dynalite's AWS-checked tests (mhart/dynalite `test/tagResource.js`).

use serde_json::{Value, json};

use super::DynamoDb;
use super::shapes::{ListTagsOfResourceInput, TagResourceInput, UntagResourceInput};
use super::table::Table;
use crate::aws_error;
use crate::error::AwsError;
use crate::wire::Ctx;

/// Longest tag key and value (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Tagging.html).
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

pub fn tag_resource(db: &DynamoDb, input: TagResourceInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let arn = input.resource_arn.ok_or_else(invalid_arn)?;
    let tags = input.tags.ok_or_else(|| null_member("tags"))?;
    let name = table_of(&arn)?;
    if tags.is_empty() {
        return Err(validation("Atleast one Tag needs to be provided as Input."));
    }
    for (i, tag) in tags.iter().enumerate() {
        let at = |member: &str| format!("tags.{}.member.{member}", i + 1);
        let key_len = tag.key.chars().count();
        if key_len < 1 {
            return Err(length(&tag.key, &at("key"), "greater than or equal to 1"));
        }
        if key_len > MAX_KEY {
            return Err(length(&tag.key, &at("key"), "less than or equal to 128"));
        }
        if tag.value.chars().count() > MAX_VALUE {
            return Err(length(
                &tag.value,
                &at("value"),
                "less than or equal to 256",
            ));
        }
    }
    with_table(db, &arn, name, ctx, not_found(&arn), |table| {
        for tag in tags {
            table.tags.insert(tag.key, tag.value);
        }
        json!({})
    })
}

pub fn untag_resource(
    db: &DynamoDb,
    input: UntagResourceInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let arn = input.resource_arn.ok_or_else(invalid_arn)?;
    let keys = input.tag_keys.ok_or_else(|| null_member("tagKeys"))?;
    let name = table_of(&arn)?;
    if keys.is_empty() {
        return Err(validation(
            "Atleast one Tag Key needs to be provided as Input.",
        ));
    }
    // UntagResource's not-found message has no ARN (dynalite `actions/untagResource.js`).
    let missing = aws_error!(ResourceNotFoundException, "Requested resource not found");
    with_table(db, &arn, name, ctx, missing, |table| {
        for key in &keys {
            table.tags.remove(key);
        }
        json!({})
    })
}

pub fn list_tags(
    db: &DynamoDb,
    input: ListTagsOfResourceInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let arn = input.resource_arn.ok_or_else(invalid_arn)?;
    let name = table_of(&arn)?;
    // Every tag fits one page (at most 50 per table), so a NextToken is never handed out;
    // one that is sent back is ignored, as there is nothing after the first page.
    let _ = input.next_token;
    with_table(db, &arn, name, ctx, not_found(&arn), |table| {
        let tags: Vec<Value> = table
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        json!({ "Tags": tags })
    })
}

/// Runs `f` on the table `arn` names, or answers `missing`.
fn with_table(
    db: &DynamoDb,
    arn: &str,
    name: &str,
    ctx: &Ctx,
    missing: AwsError,
    f: impl FnOnce(&mut Table) -> Value,
) -> Result<Value, AwsError> {
    let table = db.read_tables().get(name).cloned().ok_or(missing.clone())?;
    let mut table = super::lock(&table);
    if table.arn != arn || !arn.contains(&format!(":{}:{}:", ctx.region, ctx.account)) {
        return Err(missing);
    }
    Ok(f(&mut table))
}

/// The table name of a table ARN, or AWS's "Invalid TableArn".
fn table_of(arn: &str) -> Result<&str, AwsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = match parts.as_slice() {
        ["arn", "aws", "dynamodb", region, account, resource]
            if !region.is_empty()
                && !account.is_empty()
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            resource.strip_prefix("table/")
        }
        _ => None,
    };
    name.filter(|n| n.len() >= 3 && !n.contains('/'))
        .ok_or_else(|| {
            validation(&format!(
                "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
            ))
        })
}

fn not_found(arn: &str) -> AwsError {
    // "ResourcArn" is AWS's own spelling.
    aws_error!(
        ResourceNotFoundException,
        "Requested resource not found: ResourcArn: {arn} not found"
    )
}

fn invalid_arn() -> AwsError {
    validation("Invalid TableArn")
}

fn null_member(member: &str) -> AwsError {
    validation(&format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

fn length(value: &str, at: &str, bound: &str) -> AwsError {
    validation(&format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must have length {bound}"
    ))
}

fn validation(message: &str) -> AwsError {
    aws_error!(ValidationException, "{message}")
}
