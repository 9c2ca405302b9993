//! Kinesis Data Streams (awsJson1_1, `X-Amz-Target: Kinesis_20131202.<Op>`).
//!
//! Layout:
//! - this file: configuration, the stream registry and operation dispatch;
//! - `control`: CreateStream, DeleteStream, Describe*, ListStreams, ListShards, retention;
//! - `put`: PutRecord, PutRecords; `read`: GetShardIterator, GetRecords;
//! - `stream`: one stream's sans-io state (shards, records, trimming, reads);
//! - `hashing`, `sequence`, `iterator`, `throughput`: MD5 hash keys, sequence
//!   numbers, shard iterators and the per-shard write limit;
//! - `tags`: stream tags and DescribeLimits;
//! - `shapes`, `validate`: JSON shapes and AWS's validation messages;
//! - `cbor`: the CBOR protocol (`application/x-amz-cbor-1.1`) translated to and from JSON at
//!   the edge, so the operations never see it.
//!
//! Locking: the registry is a `RwLock<HashMap>` taken briefly to find a stream; each stream
//! has its own `Mutex`. A PutRecord is a read-locked map look-up plus one append under its
//! stream's mutex; no lock spans services or `.await`s.

pub mod cbor;
mod control;
mod hashing;
mod iterator;
mod put;
mod read;
mod sequence;
mod shapes;
mod stream;
mod tags;
mod throughput;
mod validate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use serde_json::Value;

use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};
use stream::Stream;

/// Kinesis settings. `Default` follows AWS (throughput limits off so tests are not throttled
/// unless they ask to be).
#[derive(Debug, Clone)]
pub struct KinesisConfig {
    /// Enforce the per-shard write limits (1 MiB/s or 1,000 records/s).
    pub enforce_throughput: bool,
    /// Open shards allowed per account and region (AWS's default quota: 500 in the large
    /// regions); CreateStream beyond it answers `LimitExceededException`.
    pub shard_limit: u32,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        Self {
            enforce_throughput: false,
            shard_limit: 500,
        }
    }
}

pub struct Kinesis {
    config: KinesisConfig,
    streams: RwLock<HashMap<String, Arc<Mutex<Stream>>>>,
    next_incarnation: AtomicU64,
}

impl Kinesis {
    pub fn new(config: KinesisConfig) -> Self {
        Self {
            config,
            streams: RwLock::new(HashMap::new()),
            next_incarnation: AtomicU64::new(1),
        }
    }

    pub async fn call(&self, op: &str, body: &[u8], ctx: &Ctx) -> Result<Value, AwsError> {
        match op {
            "CreateStream" => control::create_stream(self, wire::parse(body)?, ctx),
            "DeleteStream" => control::delete_stream(self, wire::parse(body)?, ctx),
            "DescribeStream" => control::describe_stream(self, wire::parse(body)?, ctx),
            "DescribeStreamSummary" => {
                control::describe_stream_summary(self, wire::parse(body)?, ctx)
            }
            "ListStreams" => control::list_streams(self, wire::parse(body)?, ctx),
            "ListShards" => control::list_shards(self, wire::parse(body)?, ctx),
            "IncreaseStreamRetentionPeriod" => {
                control::change_retention(self, wire::parse(body)?, ctx, control::Change::Increase)
            }
            "DecreaseStreamRetentionPeriod" => {
                control::change_retention(self, wire::parse(body)?, ctx, control::Change::Decrease)
            }
            "AddTagsToStream" => tags::add_tags(self, wire::parse(body)?, ctx),
            "RemoveTagsFromStream" => tags::remove_tags(self, wire::parse(body)?, ctx),
            "ListTagsForStream" => tags::list_tags(self, wire::parse(body)?, ctx),
            "DescribeLimits" => tags::describe_limits(self, ctx),
            "PutRecord" => put::put_record(self, wire::parse(body)?, ctx),
            "PutRecords" => put::put_records(self, wire::parse(body)?, ctx),
            "GetShardIterator" => read::get_shard_iterator(self, wire::parse(body)?, ctx),
            "GetRecords" => read::get_records(self, wire::parse(body)?, ctx),
            _ => Err(wire::unknown_operation(Service::Kinesis, op)),
        }
    }

    fn incarnation(&self) -> u64 {
        self.next_incarnation.fetch_add(1, Ordering::Relaxed)
    }

    /// The named stream, or AWS's `ResourceNotFoundException`.
    fn stream(&self, name: &str, ctx: &Ctx) -> Result<Arc<Mutex<Stream>>, AwsError> {
        let streams = self.streams.read().unwrap_or_else(PoisonError::into_inner);
        streams
            .get(name)
            .cloned()
            .ok_or_else(|| stream_not_found(name, &ctx.account))
    }
}

fn lock(stream: &Mutex<Stream>) -> MutexGuard<'_, Stream> {
    stream.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stream_not_found(name: &str, account: &str) -> AwsError {
    aws_error!(
        ResourceNotFoundException,
        "Stream {name} under account {account} not found."
    )
}

/// `arn:aws:kinesis:{region}:{account}:stream/{name}`.
fn stream_arn(ctx: &Ctx, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:stream/{name}",
        ctx.region, ctx.account
    )
}

/// The stream an operation names, by `StreamName`, `StreamARN` or both (which must agree).
fn stream_name<'a>(
    name: &'a Option<String>,
    arn: &'a Option<String>,
    ctx: &Ctx,
) -> Result<&'a str, AwsError> {
    let mut violations = validate::Violations::new();
    if let Some(name) = name {
        violations.stream_name("streamName", name);
    }
    let from_arn = match arn {
        Some(arn) => {
            let parsed = parse_stream_arn(arn);
            violations.pattern(
                "streamARN",
                arn,
                r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+",
                parsed.is_some(),
            );
            parsed
        }
        None => None,
    };
    violations.finish()?;
    match (name.as_deref(), from_arn) {
        (None, None) => Err(aws_error!(
            InvalidArgumentException,
            "Either StreamName or StreamARN must be provided."
        )),
        (Some(name), None) => Ok(name),
        (named, Some((region, account, arn_name))) => {
            if region != ctx.region || account != ctx.account {
                return Err(stream_not_found(arn_name, account));
            }
            if let Some(named) = named
                && named != arn_name
            {
                return Err(aws_error!(
                    InvalidArgumentException,
                    "StreamName {named} does not match the stream {arn_name} named by StreamARN."
                ));
            }
            Ok(arn_name)
        }
    }
}

/// `(region, account, name)` of a stream ARN.
fn parse_stream_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let name = resource.strip_prefix("stream/")?;
    let ok = scheme == "arn"
        && partition.starts_with("aws")
        && service == "kinesis"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.contains(char::is_whitespace);
    ok.then_some((region, account, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn stream_arns_name_their_stream() {
        assert_eq!(
            parse_stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/events"),
            Some(("us-east-1", "000000000000", "events"))
        );
        assert_eq!(
            parse_stream_arn("arn:aws:sqs:us-east-1:000000000000:q"),
            None
        );
        assert_eq!(parse_stream_arn("events"), None);
    }

    #[tokio::test]
    async fn name_and_arn_must_agree_and_one_is_needed() {
        let ctx = Ctx::for_test(Clock::new());
        let arn = Some(stream_arn(&ctx, "a"));
        assert_eq!(stream_name(&None, &arn, &ctx).unwrap(), "a");
        assert_eq!(stream_name(&Some("a".into()), &arn, &ctx).unwrap(), "a");
        let err = stream_name(&Some("b".into()), &arn, &ctx).unwrap_err();
        assert_eq!(err.code, "InvalidArgumentException");
        let err = stream_name(&None, &None, &ctx).unwrap_err();
        assert_eq!(err.code, "InvalidArgumentException");
        let err = stream_name(&Some("a b".into()), &None, &ctx).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        let other = Some("arn:aws:kinesis:eu-west-1:000000000000:stream/a".to_owned());
        let err = stream_name(&None, &other, &ctx).unwrap_err();
        assert_eq!(err.code, "ResourceNotFoundException");
    }
}
