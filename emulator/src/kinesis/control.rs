//! The control plane: creating, deleting, describing and listing streams and shards, and
//! changing retention.

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::shapes::*;
use super::stream::{Stream, StreamMode, parse_shard_id};
use super::validate::Violations;
use super::{Kinesis, lock, stream_arn, stream_name};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;
use crate::wire::{self, Ctx};

/// Shards an on-demand stream starts with.
const ON_DEMAND_SHARDS: u32 = 4;
const MIN_RETENTION_HOURS: i64 = 24;
const MAX_RETENTION_HOURS: i64 = 8760;
/// ListShards tokens expire like AWS's (ExpiredNextTokenException after 300 s).
const NEXT_TOKEN_TTL_MS: Millis = 300_000;

fn empty() -> Value {
    Value::Object(Map::new())
}

pub fn create_stream(k: &Kinesis, input: CreateStreamInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let mut v = Violations::new();
    let name = v.required("streamName", &input.stream_name).cloned();
    if let Some(name) = &name {
        v.stream_name("streamName", name);
    }
    if let Some(count) = input.shard_count {
        v.range("shardCount", count, 1, 100_000);
    }
    let mode = input
        .stream_mode_details
        .as_ref()
        .and_then(|d| d.stream_mode.as_deref());
    if let Some(mode) = mode {
        v.one_of(
            "streamModeDetails.streamMode",
            mode,
            &["PROVISIONED", "ON_DEMAND"],
        );
    }
    if let Some(tags) = &input.tags {
        super::tags::check_tags(&mut v, "tags", tags);
    }
    if let Some(size) = input.max_record_size_in_kib {
        v.range("maxRecordSizeInKiB", size, 1024, 10240);
    }
    v.finish()?;
    if input
        .max_record_size_in_kib
        .is_some_and(|size| size != 1024)
    {
        // Large records (up to 10 MiB) are not emulated: say so rather than ignore it.
        return Err(aws_error!(
            InvalidArgumentException,
            "This emulator supports only the default MaxRecordSizeInKiB of 1024."
        ));
    }
    let name = name.unwrap_or_default();
    let (mode, shard_count) = match mode {
        // AWS sizes an on-demand stream itself; a ShardCount sent along is not used.
        Some("ON_DEMAND") => (StreamMode::OnDemand, ON_DEMAND_SHARDS),
        _ => match input.shard_count {
            Some(count) => (StreamMode::Provisioned, count as u32),
            // Neither a ShardCount nor a mode: AWS creates an on-demand stream with 4 shards
            // (as recorded on AWS; both members are optional in
            // https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html).
            None if mode.is_none() => (StreamMode::OnDemand, ON_DEMAND_SHARDS),
            None => {
                return Err(aws_error!(
                    InvalidArgumentException,
                    "ShardCount must be specified for a stream in PROVISIONED mode."
                ));
            }
        },
    };

    let mut streams = k.streams.write().unwrap_or_else(PoisonError::into_inner);
    if streams.contains_key(&name) {
        return Err(aws_error!(
            ResourceInUseException,
            "Stream {name} under account {} already exists.",
            ctx.account
        ));
    }
    let current: u32 = streams.values().map(|s| lock(s).shards.len() as u32).sum();
    if current + shard_count > k.config.shard_limit {
        return Err(aws_error!(
            LimitExceededException,
            "This request would exceed the shard limit for the account {} in {}. Current shard \
             count for the account: {current}. Limit: {}. Number of additional shards that would \
             have resulted from this request: {shard_count}.",
            ctx.account,
            ctx.region,
            k.config.shard_limit
        ));
    }
    let mut stream = Stream::new(
        name.clone(),
        stream_arn(ctx, &name),
        ctx.account.clone(),
        k.incarnation(),
        shard_count,
        mode,
        ctx.now,
    );
    if let Some(tags) = input.tags {
        super::tags::merge_tags(&mut stream.tags, tags, &name, &ctx.account)?;
    }
    streams.insert(name, Arc::new(Mutex::new(stream)));
    Ok(empty())
}

pub fn delete_stream(k: &Kinesis, input: StreamInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut streams = k.streams.write().unwrap_or_else(PoisonError::into_inner);
    match streams.remove(name) {
        Some(_) => Ok(empty()),
        None => Err(super::stream_not_found(name, &ctx.account)),
    }
}

fn shard_out(stream: &Stream, index: usize) -> ShardOut<'_> {
    let shard = &stream.shards[index];
    ShardOut {
        shard_id: &shard.id,
        hash_key_range: HashKeyRange {
            starting_hash_key: shard.hash_range.0.to_string(),
            ending_hash_key: shard.hash_range.1.to_string(),
        },
        sequence_number_range: SequenceNumberRange {
            starting_sequence_number: stream.starting_sequence_number(index).to_string(),
        },
    }
}

/// Index of the first shard after `exclusive_start` (a shard id; ids sort by index).
fn first_after(stream: &Stream, exclusive_start: Option<&str>) -> usize {
    match exclusive_start {
        None => 0,
        Some(id) => stream.shards.partition_point(|s| s.id.as_str() <= id),
    }
}

fn mode_out(stream: &Stream) -> StreamModeOut {
    StreamModeOut {
        stream_mode: stream.mode.as_str(),
    }
}

pub fn describe_stream(
    k: &Kinesis,
    input: DescribeStreamInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    if let Some(limit) = input.limit {
        v.range("limit", limit, 1, 10_000);
    }
    if let Some(start) = &input.exclusive_start_shard_id {
        v.stream_name("exclusiveStartShardId", start);
    }
    v.finish()?;
    let limit = input.limit.unwrap_or(100) as usize;
    let stream = k.stream(name, ctx)?;
    let stream = lock(&stream);
    let from = first_after(&stream, input.exclusive_start_shard_id.as_deref());
    let to = (from + limit).min(stream.shards.len());
    let shards = (from..to).map(|i| shard_out(&stream, i)).collect();
    Ok(wire::to_value(&DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_name: &stream.name,
            stream_arn: &stream.arn,
            stream_status: "ACTIVE",
            stream_mode_details: mode_out(&stream),
            shards,
            has_more_shards: to < stream.shards.len(),
            retention_period_hours: stream.retention_hours,
            stream_creation_timestamp: epoch_seconds(stream.created),
            enhanced_monitoring: [EnhancedMetrics {
                shard_level_metrics: [],
            }],
            encryption_type: "NONE",
        },
    }))
}

pub fn describe_stream_summary(
    k: &Kinesis,
    input: StreamInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let stream = k.stream(name, ctx)?;
    let stream = lock(&stream);
    Ok(wire::to_value(&DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_name: &stream.name,
            stream_arn: &stream.arn,
            stream_status: "ACTIVE",
            stream_mode_details: mode_out(&stream),
            retention_period_hours: stream.retention_hours,
            stream_creation_timestamp: epoch_seconds(stream.created),
            enhanced_monitoring: [EnhancedMetrics {
                shard_level_metrics: [],
            }],
            encryption_type: "NONE",
            open_shard_count: stream.shards.len(),
            consumer_count: 0,
        },
    }))
}

pub fn list_streams(k: &Kinesis, input: ListStreamsInput, _ctx: &Ctx) -> Result<Value, AwsError> {
    let mut v = Violations::new();
    if let Some(limit) = input.limit {
        v.range("limit", limit, 1, 10_000);
    }
    if let Some(start) = &input.exclusive_start_stream_name {
        v.stream_name("exclusiveStartStreamName", start);
    }
    v.finish()?;
    // AWS answers at most 100 names per call whatever the Limit.
    let limit = input.limit.unwrap_or(100).min(100) as usize;
    let after = match &input.next_token {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| invalid_token(token))?,
        ),
        None => input.exclusive_start_stream_name.clone(),
    };

    let streams = k.streams.read().unwrap_or_else(PoisonError::into_inner);
    let mut names: Vec<&String> = streams
        .keys()
        .filter(|name| after.as_ref().is_none_or(|after| *name > after))
        .collect();
    names.sort();
    let has_more = names.len() > limit;
    names.truncate(limit);
    let summaries = names
        .iter()
        .filter_map(|name| streams.get(*name))
        .map(|stream| {
            let stream = lock(stream);
            StreamSummary {
                stream_name: stream.name.clone(),
                stream_arn: stream.arn.clone(),
                stream_status: "ACTIVE",
                stream_mode_details: mode_out(&stream),
                stream_creation_timestamp: epoch_seconds(stream.created),
            }
        })
        .collect();
    let next_token = match names.last() {
        Some(last) if has_more => Some(URL_SAFE_NO_PAD.encode(last.as_bytes())),
        _ => None,
    };
    Ok(wire::to_value(&ListStreamsOutput {
        stream_names: names.into_iter().cloned().collect(),
        has_more_streams: has_more,
        next_token,
        stream_summaries: summaries,
    }))
}

fn invalid_token(token: &str) -> AwsError {
    aws_error!(
        InvalidArgumentException,
        "Invalid NextToken: {token} was not issued by this service."
    )
}

/// A ListShards continuation: which stream (incarnation), after which shard, issued when.
struct ShardsToken {
    issued: Millis,
    incarnation: u64,
    after: usize,
    stream: String,
}

impl ShardsToken {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}/{}/{}/{}",
            self.issued, self.incarnation, self.after, self.stream
        ))
    }

    fn decode(token: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        let mut parts = raw.splitn(4, '/');
        Some(Self {
            issued: parts.next()?.parse().ok()?,
            incarnation: parts.next()?.parse().ok()?,
            after: parts.next()?.parse().ok()?,
            stream: parts.next()?.to_owned(),
        })
    }
}

pub fn list_shards(k: &Kinesis, input: ListShardsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let mut v = Violations::new();
    if let Some(max) = input.max_results {
        v.range("maxResults", max, 1, 10_000);
    }
    if let Some(start) = &input.exclusive_start_shard_id {
        v.stream_name("exclusiveStartShardId", start);
    }
    let filter = input.shard_filter.as_ref();
    if let Some(kind) = filter.and_then(|f| f.kind.as_deref()) {
        v.one_of(
            "shardFilter.type",
            kind,
            &[
                "AFTER_SHARD_ID",
                "AT_TRIM_HORIZON",
                "FROM_TRIM_HORIZON",
                "AT_LATEST",
                "AT_TIMESTAMP",
                "FROM_TIMESTAMP",
            ],
        );
    }
    v.finish()?;
    let max = input.max_results.unwrap_or(1000) as usize;

    let (name, from_token) = match &input.next_token {
        Some(token) => {
            // AWS refuses these together (botocore's ListShards paginator trips on it too).
            let conflicting = if input.stream_name.is_some() {
                Some("StreamName")
            } else if input.stream_arn.is_some() {
                Some("StreamARN")
            } else if input.exclusive_start_shard_id.is_some() {
                Some("ExclusiveStartShardId")
            } else {
                None
            };
            if let Some(other) = conflicting {
                return Err(aws_error!(
                    InvalidArgumentException,
                    "NextToken and {other} cannot be provided together."
                ));
            }
            let parsed = ShardsToken::decode(token).ok_or_else(|| invalid_token(token))?;
            if ctx.now.saturating_sub(parsed.issued) > NEXT_TOKEN_TTL_MS {
                return Err(aws_error!(
                    ExpiredNextTokenException,
                    "The NextToken {token} has expired: it was issued more than 300 seconds ago."
                ));
            }
            (parsed.stream.clone(), Some(parsed))
        }
        None => (
            stream_name(&input.stream_name, &input.stream_arn, ctx)?.to_owned(),
            None,
        ),
    };
    let stream = k.stream(&name, ctx)?;
    let stream = lock(&stream);
    let from = match &from_token {
        Some(token) if token.incarnation != stream.incarnation => {
            return Err(super::stream_not_found(&name, &ctx.account));
        }
        Some(token) => token.after.saturating_add(1),
        None => {
            let after_filter = filter
                .filter(|f| f.kind.as_deref() == Some("AFTER_SHARD_ID"))
                .and_then(|f| f.shard_id.as_deref());
            let start = input.exclusive_start_shard_id.as_deref().or(after_filter);
            // Unparsable ids compare as strings, as AWS orders shard ids.
            match start.and_then(parse_shard_id) {
                Some(index) => index + 1,
                None => first_after(&stream, start),
            }
        }
    };
    let from = from.min(stream.shards.len());
    let to = (from + max).min(stream.shards.len());
    let shards = (from..to).map(|i| shard_out(&stream, i)).collect();
    let next_token = (to < stream.shards.len()).then(|| {
        ShardsToken {
            issued: ctx.now,
            incarnation: stream.incarnation,
            after: to - 1,
            stream: stream.name.clone(),
        }
        .encode()
    });
    Ok(wire::to_value(&ListShardsOutput { shards, next_token }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Increase,
    Decrease,
}

pub fn change_retention(
    k: &Kinesis,
    input: RetentionInput,
    ctx: &Ctx,
    change: Change,
) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    let hours = v
        .required("retentionPeriodHours", &input.retention_period_hours)
        .copied();
    v.finish()?;
    let hours = hours.unwrap_or_default();
    let stream = k.stream(name, ctx)?;
    if hours < MIN_RETENTION_HOURS {
        return Err(aws_error!(
            InvalidArgumentException,
            "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention \
             period ({hours} hours) is too short."
        ));
    }
    if hours > MAX_RETENTION_HOURS {
        return Err(aws_error!(
            InvalidArgumentException,
            "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention \
             period ({hours} hours) is too long."
        ));
    }
    let mut stream = lock(&stream);
    let current = i64::from(stream.retention_hours);
    match change {
        Change::Increase if hours < current => Err(aws_error!(
            InvalidArgumentException,
            "Requested retention period ({hours} hours) for stream {name} can not be shorter than \
             existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
        )),
        Change::Decrease if hours > current => Err(aws_error!(
            InvalidArgumentException,
            "Requested retention period ({hours} hours) for stream {name} can not be longer than \
             existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
        )),
        _ => {
            stream.retention_hours = hours as u32;
            Ok(empty())
        }
    }
}
