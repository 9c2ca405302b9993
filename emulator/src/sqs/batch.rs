//! SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch: request-level checks
//! (empty, more than 10, entry ids) fail the whole call; anything about one entry fails only
//! that entry, reported in `Failed` with HTTP 200.

use std::collections::HashSet;

use serde_json::Value;

use super::Shared;
use super::errors::{
    batch_ids_not_distinct, batch_request_too_long, empty_batch_request, invalid_batch_entry_id,
    missing_parameter, too_many_entries,
};
use super::messaging::{handle_error, prepare, visibility_timeout};
use super::shapes::{
    BatchOutput, BatchResultErrorEntry, HandleBatchInput, IdEntry, SendBatchResultEntry, SendEntry,
    SendMessageBatchInput,
};
use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};

const MAX_ENTRIES: usize = 10;

/// The checks every batch gets before any entry is looked at; returns the entry ids.
fn check_entries<'a>(
    ids: impl ExactSizeIterator<Item = Option<&'a str>>,
    entry_shape: &str,
) -> Result<Vec<String>, AwsError> {
    match ids.len() {
        0 => return Err(empty_batch_request(entry_shape)),
        n if n > MAX_ENTRIES => return Err(too_many_entries(n)),
        _ => {}
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        let id = id.ok_or_else(|| missing_parameter("Id"))?;
        let valid = (1..=80).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(invalid_batch_entry_id());
        }
        if !seen.insert(id) {
            return Err(batch_ids_not_distinct(id));
        }
        out.push(id.to_owned());
    }
    Ok(out)
}

/// An entry's size as it counts toward the batch limit: body, attribute names, types and
/// values (binary values by their decoded length), before any entry is validated.
fn entry_size(entry: &SendEntry) -> usize {
    let attributes: usize = entry
        .message_attributes
        .iter()
        .map(|(name, v)| {
            name.len()
                + v.data_type.as_ref().map_or(0, String::len)
                + v.string_value.as_ref().map_or(0, String::len)
                + v.binary_value.as_ref().map_or(0, |b| b.len() / 4 * 3)
        })
        .sum();
    entry.message_body.as_ref().map_or(0, String::len) + attributes
}

fn failed(id: String, err: AwsError) -> BatchResultErrorEntry {
    let status = wire::errors::status(Service::Sqs, &err);
    BatchResultErrorEntry {
        id,
        sender_fault: !status.is_server_error(),
        code: wire::errors::sqs_query_code(&err.code).to_owned(),
        message: err.message,
    }
}

pub fn send_message_batch(
    s: &Shared,
    input: SendMessageBatchInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let ids = check_entries(
        input.entries.iter().map(|e| e.id.as_deref()),
        "SendMessageBatchRequestEntry",
    )?;
    let limit = s.config.max_message_size as usize;
    let total: usize = input.entries.iter().map(entry_size).sum();
    if total > limit {
        return Err(batch_request_too_long(limit, total));
    }
    let prepared: Vec<_> = ids
        .into_iter()
        .zip(input.entries)
        .map(|(id, entry)| (id, prepare(entry, ctx, handle.fifo)))
        .collect();
    let mut out = BatchOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    {
        let mut queue = handle.lock();
        for (id, entry) in prepared {
            match entry {
                Ok(entry) => match entry.enqueue(&mut queue, ctx.now, true) {
                    Ok(output) => out.successful.push(SendBatchResultEntry { id, output }),
                    Err(err) => out.failed.push(failed(id, err)),
                },
                Err(err) => out.failed.push(failed(id, err)),
            }
        }
    }
    if !out.successful.is_empty() {
        handle.wake_receivers();
    }
    Ok(wire::to_value(&out))
}

pub fn delete_message_batch(
    s: &Shared,
    input: HandleBatchInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let ids = check_entries(
        input.entries.iter().map(|e| e.id.as_deref()),
        "DeleteMessageBatchRequestEntry",
    )?;
    let mut out = BatchOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    let mut queue = handle.lock();
    for (id, entry) in ids.into_iter().zip(input.entries) {
        let Some(receipt) = entry.receipt_handle else {
            out.failed
                .push(failed(id, missing_parameter("ReceiptHandle")));
            continue;
        };
        match queue.delete(&receipt, ctx.now) {
            Ok(()) => out.successful.push(IdEntry { id }),
            Err(e) => out.failed.push(failed(id, handle_error(e, &receipt))),
        }
    }
    Ok(wire::to_value(&out))
}

pub fn change_message_visibility_batch(
    s: &Shared,
    input: HandleBatchInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let ids = check_entries(
        input.entries.iter().map(|e| e.id.as_deref()),
        "ChangeMessageVisibilityBatchRequestEntry",
    )?;
    let mut out = BatchOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    {
        let mut queue = handle.lock();
        for (id, entry) in ids.into_iter().zip(input.entries) {
            let Some(receipt) = entry.receipt_handle else {
                out.failed
                    .push(failed(id, missing_parameter("ReceiptHandle")));
                continue;
            };
            let result = visibility_timeout(entry.visibility_timeout).and_then(|timeout| {
                queue
                    .change_visibility(&receipt, timeout, ctx.now)
                    .map_err(|e| handle_error(e, &receipt))
            });
            match result {
                Ok(()) => out.successful.push(IdEntry { id }),
                Err(err) => out.failed.push(failed(id, err)),
            }
        }
    }
    handle.wake_receivers();
    Ok(wire::to_value(&out))
}
