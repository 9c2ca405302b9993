//! Stream tags (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream, and CreateStream's
//! `Tags`) and DescribeLimits: small operations infrastructure tools call around a stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::PoisonError;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::stream::StreamMode;
use super::validate::Violations;
use super::{Kinesis, lock, stream_name};
use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Ctx};

/// Tags one stream may carry.
const MAX_TAGS: usize = 50;
/// AWS's quota of on-demand streams per account.
const ON_DEMAND_STREAM_LIMIT: usize = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsInput {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tags: Option<HashMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsInput {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsInput {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub exclusive_start_tag_key: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsOutput<'a> {
    tags: Vec<Tag<'a>>,
    has_more_tags: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeLimitsOutput {
    shard_limit: u32,
    open_shard_count: usize,
    on_demand_stream_count: usize,
    on_demand_stream_count_limit: usize,
}

/// Model constraints of a tag map: 1..200 entries, keys 1..128, values 0..256 characters.
pub fn check_tags(v: &mut Violations, path: &str, tags: &HashMap<String, String>) {
    let shown = format!("{{{} tags}}", tags.len());
    v.length(path, &shown, tags.len(), 1, 200);
    for (key, value) in tags {
        v.length(&format!("{path}.key"), key, key.chars().count(), 1, 128);
        v.length(
            &format!("{path}.{key}"),
            value,
            value.chars().count(),
            0,
            256,
        );
    }
}

/// Adds `new` to `tags` unless the stream would then carry more than 50.
pub fn merge_tags(
    tags: &mut BTreeMap<String, String>,
    new: HashMap<String, String>,
    stream: &str,
    account: &str,
) -> Result<(), AwsError> {
    let added = new.keys().filter(|k| !tags.contains_key(*k)).count();
    if tags.len() + added > MAX_TAGS {
        return Err(aws_error!(
            InvalidArgumentException,
            "Failed to add tags to stream {stream} under account {account} because a given \
             stream cannot have more than {MAX_TAGS} tags associated with it."
        ));
    }
    tags.extend(new);
    Ok(())
}

pub fn add_tags(k: &Kinesis, input: AddTagsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    if let Some(tags) = v.required("tags", &input.tags) {
        check_tags(&mut v, "tags", tags);
    }
    v.finish()?;
    let stream = k.stream(name, ctx)?;
    let mut stream = lock(&stream);
    let stream = &mut *stream;
    merge_tags(
        &mut stream.tags,
        input.tags.unwrap_or_default(),
        &stream.name,
        &stream.account,
    )?;
    Ok(Value::Object(Map::new()))
}

pub fn remove_tags(k: &Kinesis, input: RemoveTagsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    if let Some(keys) = v.required("tagKeys", &input.tag_keys) {
        let shown = format!("[{}]", keys.join(", "));
        v.length("tagKeys", &shown, keys.len(), 1, 50);
        for key in keys {
            v.length("tagKeys.member", key, key.chars().count(), 1, 128);
        }
    }
    v.finish()?;
    let stream = k.stream(name, ctx)?;
    let mut stream = lock(&stream);
    for key in input.tag_keys.unwrap_or_default() {
        stream.tags.remove(&key);
    }
    Ok(Value::Object(Map::new()))
}

pub fn list_tags(k: &Kinesis, input: ListTagsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    if let Some(limit) = input.limit {
        v.range("limit", limit, 1, 50);
    }
    if let Some(start) = &input.exclusive_start_tag_key {
        v.length("exclusiveStartTagKey", start, start.chars().count(), 1, 128);
    }
    v.finish()?;
    let limit = input.limit.unwrap_or(50) as usize;
    let stream = k.stream(name, ctx)?;
    let stream = lock(&stream);
    let after: Vec<_> = stream
        .tags
        .iter()
        .filter(|(key, _)| {
            input
                .exclusive_start_tag_key
                .as_ref()
                .is_none_or(|start| *key > start)
        })
        .collect();
    Ok(wire::to_value(&ListTagsOutput {
        has_more_tags: after.len() > limit,
        tags: after
            .into_iter()
            .take(limit)
            .map(|(key, value)| Tag { key, value })
            .collect(),
    }))
}

pub fn describe_limits(k: &Kinesis, _ctx: &Ctx) -> Result<Value, AwsError> {
    let streams = k.streams.read().unwrap_or_else(PoisonError::into_inner);
    let (mut shards, mut on_demand) = (0, 0);
    for stream in streams.values() {
        let stream = lock(stream);
        shards += stream.shards.len();
        on_demand += usize::from(stream.mode == StreamMode::OnDemand);
    }
    Ok(wire::to_value(&DescribeLimitsOutput {
        shard_limit: k.config.shard_limit,
        open_shard_count: shards,
        on_demand_stream_count: on_demand,
        on_demand_stream_count_limit: ON_DEMAND_STREAM_LIMIT,
    }))
}
