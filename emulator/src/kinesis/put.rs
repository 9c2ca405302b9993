//! Writing: PutRecord and PutRecords.
//!
//! Each call validates its input and hashes partition keys before it takes the stream's lock;
//! under the lock it only appends; output strings are formatted after it is released.

use serde_json::Value;

use super::hashing::{self, HashKeyError};
use super::sequence::{self, SequenceNumber};
use super::shapes::*;
use super::stream::{Stream, shard_id};
use super::validate::{self, Violations};
use super::{Kinesis, lock, stream_name};
use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Ctx};

/// Largest record: data blob plus partition key (AWS-SEMANTICS.md 1.1).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Largest PutRecords request: all data blobs plus partition keys.
pub const MAX_PUT_RECORDS_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_PUT_RECORDS: usize = 500;

const EXPLICIT_HASH_KEY_PATTERN: &str = r"0|([1-9]\d{0,38})";

/// One record to append, validated and hashed.
struct Entry {
    hash: u128,
    partition_key: String,
    data: String,
    size: usize,
}

/// Validates one record's members, recording violations under `path` (`` or
/// `records.N.member.`); returns the decoded data length.
fn check_entry(
    v: &mut Violations,
    path: &str,
    data: &Option<String>,
    partition_key: &Option<String>,
    explicit_hash_key: &Option<String>,
) -> Result<usize, AwsError> {
    // Blob decoding fails before any constraint is checked, as AWS's deserialiser does.
    let data_len = data.as_deref().map(validate::base64_len).transpose()?;
    if v.required(&format!("{path}data"), data).is_some() {
        let len = data_len.unwrap_or_default();
        v.length(
            &format!("{path}data"),
            &validate::blob_shown(len),
            len,
            0,
            MAX_RECORD_BYTES,
        );
    }
    if let Some(key) = v.required(&format!("{path}partitionKey"), partition_key) {
        v.partition_key(&format!("{path}partitionKey"), key);
    }
    if let Some(ehk) = explicit_hash_key {
        let ok = hashing::parse_explicit_hash_key(ehk) != Err(HashKeyError::Pattern);
        v.pattern(
            &format!("{path}explicitHashKey"),
            ehk,
            EXPLICIT_HASH_KEY_PATTERN,
            ok,
        );
    }
    Ok(data_len.unwrap_or_default())
}

/// Hashes a validated record and checks the limits that are not model constraints.
fn entry(
    data: Option<String>,
    data_len: usize,
    partition_key: Option<String>,
    explicit_hash_key: Option<&str>,
) -> Result<Entry, AwsError> {
    let data = data.unwrap_or_default();
    let partition_key = partition_key.unwrap_or_default();
    let hash = match explicit_hash_key {
        Some(ehk) => hashing::parse_explicit_hash_key(ehk).map_err(|_| {
            aws_error!(
                InvalidArgumentException,
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
                 Specified value was {ehk}"
            )
        })?,
        None => hashing::partition_key_hash(&partition_key),
    };
    let size = data_len + partition_key.len();
    if size > MAX_RECORD_BYTES {
        return Err(aws_error!(
            InvalidArgumentException,
            "Record size exceeds the limit of {MAX_RECORD_BYTES} bytes: data ({data_len} bytes) \
             plus partition key ({} bytes) is {size} bytes.",
            partition_key.len()
        ));
    }
    Ok(Entry {
        hash,
        partition_key,
        data,
        size,
    })
}

fn throttled_message(stream: &Stream, shard: usize) -> String {
    format!(
        "Rate exceeded for shard {} in stream {} under account {}.",
        stream.shards[shard].id, stream.name, stream.account
    )
}

pub fn put_record(k: &Kinesis, input: PutRecordInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    let data_len = check_entry(
        &mut v,
        "",
        &input.data,
        &input.partition_key,
        &input.explicit_hash_key,
    )?;
    if let Some(seq) = &input.sequence_number_for_ordering {
        v.pattern(
            "sequenceNumberForOrdering",
            seq,
            sequence::MODEL_PATTERN,
            sequence::matches_model_pattern(seq),
        );
    }
    v.finish()?;
    // Numbers this emulator issues are strictly increasing per shard already, so a valid
    // SequenceNumberForOrdering needs no further action.
    if let Some(seq) = &input.sequence_number_for_ordering
        && SequenceNumber::parse(seq).is_none()
    {
        return Err(aws_error!(
            InvalidArgumentException,
            "ExclusiveMinimumSequenceNumber {seq} used in PutRecord on stream {name} under \
             account {} is invalid.",
            ctx.account
        ));
    }
    let entry = entry(
        input.data,
        data_len,
        input.partition_key,
        input.explicit_hash_key.as_deref(),
    )?;

    let stream = k.stream(name, ctx)?;
    let (shard, seq) = {
        let mut stream = lock(&stream);
        let shard = stream.shard_for_hash(entry.hash);
        let appended = stream.append(
            shard,
            entry.partition_key,
            entry.data,
            entry.size as u64,
            ctx.now,
            k.config.enforce_throughput,
        );
        match appended {
            Ok(seq) => (shard, seq),
            Err(_) => {
                return Err(aws_error!(
                    ProvisionedThroughputExceededException,
                    "{}",
                    throttled_message(&stream, shard)
                ));
            }
        }
    };
    let shard_id = shard_id(shard);
    Ok(wire::to_value(&PutRecordOutput {
        shard_id: &shard_id,
        sequence_number: seq.to_string(),
        encryption_type: "NONE",
    }))
}

pub fn put_records(k: &Kinesis, input: PutRecordsInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = stream_name(&input.stream_name, &input.stream_arn, ctx)?;
    let mut v = Violations::new();
    let mut data_lens = Vec::new();
    if let Some(records) = v.required("records", &input.records) {
        let shown = format!("[{} PutRecordsRequestEntry]", records.len());
        v.length("records", &shown, records.len(), 1, MAX_PUT_RECORDS);
        for (i, r) in records.iter().enumerate() {
            let path = format!("records.{}.member.", i + 1);
            data_lens.push(check_entry(
                &mut v,
                &path,
                &r.data,
                &r.partition_key,
                &r.explicit_hash_key,
            )?);
        }
    }
    v.finish()?;
    let records = input.records.unwrap_or_default();
    let mut entries = Vec::with_capacity(records.len());
    for (r, len) in records.into_iter().zip(data_lens) {
        entries.push(entry(
            r.data,
            len,
            r.partition_key,
            r.explicit_hash_key.as_deref(),
        )?);
    }
    let total: usize = entries.iter().map(|e| e.size).sum();
    if total > MAX_PUT_RECORDS_BYTES {
        return Err(aws_error!(
            InvalidArgumentException,
            "Records size exceeds 5 MB limit"
        ));
    }

    let stream = k.stream(name, ctx)?;
    let mut results: Vec<Result<(usize, SequenceNumber), String>> =
        Vec::with_capacity(entries.len());
    {
        let mut stream = lock(&stream);
        for e in entries {
            let shard = stream.shard_for_hash(e.hash);
            let appended = stream.append(
                shard,
                e.partition_key,
                e.data,
                e.size as u64,
                ctx.now,
                k.config.enforce_throughput,
            );
            results.push(match appended {
                Ok(seq) => Ok((shard, seq)),
                Err(_) => Err(throttled_message(&stream, shard)),
            });
        }
    }
    let shard_ids: Vec<String> = results
        .iter()
        .map(|r| r.as_ref().map(|(s, _)| shard_id(*s)).unwrap_or_default())
        .collect();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let out = results
        .into_iter()
        .zip(&shard_ids)
        .map(|(r, id)| match r {
            Ok((_, seq)) => PutRecordsResultEntry {
                shard_id: Some(id),
                sequence_number: Some(seq.to_string()),
                error_code: None,
                error_message: None,
            },
            Err(message) => PutRecordsResultEntry {
                shard_id: None,
                sequence_number: None,
                error_code: Some("ProvisionedThroughputExceededException"),
                error_message: Some(message),
            },
        })
        .collect();
    Ok(wire::to_value(&PutRecordsOutput {
        failed_record_count: failed,
        records: out,
        encryption_type: "NONE",
    }))
}
