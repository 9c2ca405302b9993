//! Reading: GetShardIterator and GetRecords.

use serde_json::Value;

use super::iterator::ShardIterator;
use super::sequence::{self, SequenceNumber};
use super::shapes::*;
use super::stream::{Start, Stream, parse_shard_id, shard_id};
use super::validate::Violations;
use super::{Kinesis, lock, stream_name};
use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Ctx};

pub const MAX_GET_RECORDS: i64 = 10_000;

const ITERATOR_TYPES: [&str; 5] = [
    "AFTER_SEQUENCE_NUMBER",
    "LATEST",
    "AT_TIMESTAMP",
    "AT_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
];

fn shard_not_found(shard: &str, stream: &str, account: &str) -> AwsError {
    aws_error!(
        ResourceNotFoundException,
        "Shard {shard} in stream {stream} under account {account} does not exist"
    )
}

fn type_mismatch(kind: &str, with_sequence: bool) -> AwsError {
    let also = if with_sequence { "also a" } else { "no" };
    aws_error!(
        InvalidArgumentException,
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and \
         StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. \
         Request specified {kind} and {also} StartingSequenceNumber."
    )
}

pub fn get_shard_iterator(
    k: &Kinesis,
    input: GetShardIteratorInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    if let Some(id) = v.required("shardId", &input.shard_id) {
        v.stream_name("shardId", id);
    }
    if let Some(kind) = v.required("shardIteratorType", &input.shard_iterator_type) {
        v.one_of("shardIteratorType", kind, &ITERATOR_TYPES);
    }
    if let Some(seq) = &input.starting_sequence_number {
        v.pattern(
            "startingSequenceNumber",
            seq,
            sequence::MODEL_PATTERN,
            sequence::matches_model_pattern(seq),
        );
    }
    v.finish()?;
    let shard_name = input.shard_id.as_deref().unwrap_or_default();
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();

    let stream = k.stream(name, ctx)?;
    let mut stream = lock(&stream);
    let shard = parse_shard_id(shard_name)
        .filter(|&i| i < stream.shards.len())
        .ok_or_else(|| shard_not_found(shard_name, name, &ctx.account))?;
    let seq = input.starting_sequence_number.as_deref();
    let start = match (kind, seq) {
        ("TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP", Some(_)) => {
            return Err(type_mismatch(kind, true));
        }
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => {
            return Err(type_mismatch(kind, false));
        }
        ("TRIM_HORIZON", None) => Start::TrimHorizon,
        ("LATEST", None) => Start::Latest,
        ("AT_TIMESTAMP", None) => {
            let Some(at) = input.timestamp.map(epoch_millis) else {
                return Err(aws_error!(
                    InvalidArgumentException,
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. \
                     Current request has no timestamp parameter."
                ));
            };
            if at > ctx.now {
                return Err(aws_error!(
                    InvalidArgumentException,
                    "The timestampInMillis parameter cannot be greater than the \
                     currentTimestampInMillis. timestampInMillis: {at}, \
                     currentTimestampInMillis: {}",
                    ctx.now
                ));
            }
            Start::AtTimestamp(at)
        }
        (_, Some(seq)) => {
            let counter = sequence_in_shard(&stream, shard, seq, ctx)?;
            if kind == "AT_SEQUENCE_NUMBER" {
                Start::AtSequence(counter)
            } else {
                Start::AfterSequence(counter)
            }
        }
        (_, None) => return Err(type_mismatch(kind, false)),
    };
    let position = stream.position(shard, start, ctx.now);
    let iterator = ShardIterator {
        stream: stream.name.clone(),
        incarnation: stream.incarnation,
        shard: shard as u32,
        position,
        issued: ctx.now,
    };
    drop(stream);
    Ok(wire::to_value(&GetShardIteratorOutput {
        shard_iterator: iterator.encode(),
    }))
}

/// The record counter a `StartingSequenceNumber` names, if it belongs to this shard.
fn sequence_in_shard(stream: &Stream, shard: usize, seq: &str, ctx: &Ctx) -> Result<u64, AwsError> {
    let shard_name = &stream.shards[shard].id;
    let invalid = |why: &str| {
        aws_error!(
            InvalidArgumentException,
            "StartingSequenceNumber {seq} used in GetShardIterator on shard {shard_name} in \
             stream {} under account {} is invalid{why}.",
            stream.name,
            ctx.account
        )
    };
    let parsed = SequenceNumber::parse(seq).ok_or_else(|| invalid(""))?;
    if parsed.shard as usize != shard {
        return Err(aws_error!(
            InvalidArgumentException,
            "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a \
             shard with {shard_name}",
            shard_id(parsed.shard as usize)
        ));
    }
    if parsed.incarnation != stream.incarnation {
        return Err(invalid(" because it did not come from this stream"));
    }
    Ok(parsed.counter)
}

pub fn get_records(k: &Kinesis, input: GetRecordsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let mut v = Violations::new();
    if let Some(it) = v.required("shardIterator", &input.shard_iterator) {
        v.length("shardIterator", it, it.len(), 1, 512);
    }
    if let Some(limit) = input.limit
        && limit < 1
    {
        v.range("limit", limit, 1, MAX_GET_RECORDS);
    }
    v.finish()?;
    let limit = input.limit.unwrap_or(MAX_GET_RECORDS);
    if limit > MAX_GET_RECORDS {
        return Err(aws_error!(
            InvalidArgumentException,
            "Limit {limit} is greater than the maximum of {MAX_GET_RECORDS} records per \
             GetRecords call."
        ));
    }
    let text = input.shard_iterator.as_deref().unwrap_or_default();
    // AWS reads an iterator wrapped in double quotes (as a shell or a JSON tool may hand it
    // over) as the iterator itself.
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let iterator = ShardIterator::decode(text)
        .filter(|it| it.issued <= ctx.now)
        .ok_or_else(|| aws_error!(InvalidArgumentException, "Invalid ShardIterator."))?;
    if iterator.is_expired(ctx.now) {
        return Err(aws_error!(
            ExpiredIteratorException,
            "{}",
            iterator.expired_message(ctx.now)
        ));
    }
    if let Some(arn) = &input.stream_arn {
        let named = stream_name(&None, &input.stream_arn, ctx)?;
        if named != iterator.stream {
            return Err(aws_error!(
                InvalidArgumentException,
                "StreamARN {arn} does not name the stream of the ShardIterator."
            ));
        }
    }
    let shard = iterator.shard as usize;
    let gone = || shard_not_found(&shard_id(shard), &iterator.stream, &ctx.account);
    let stream = k.stream(&iterator.stream, ctx).map_err(|_| gone())?;
    let mut stream = lock(&stream);
    if stream.incarnation != iterator.incarnation || shard >= stream.shards.len() {
        return Err(gone());
    }
    let read = stream.read(shard, iterator.position, limit as usize, ctx.now);
    let next = ShardIterator {
        position: read.next_position,
        issued: ctx.now,
        ..iterator
    };
    Ok(wire::to_value(&GetRecordsOutput {
        records: read
            .records
            .iter()
            .map(|(seq, r)| RecordOut {
                sequence_number: seq.to_string(),
                approximate_arrival_timestamp: epoch_seconds(r.arrival),
                data: &r.data,
                partition_key: &r.partition_key,
            })
            .collect(),
        next_shard_iterator: next.encode(),
        millis_behind_latest: read.millis_behind,
    }))
}
