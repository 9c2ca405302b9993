//! One SQS poller: long-poll, gather a batch, filter, invoke, delete what succeeded
//! (AWS-SEMANTICS 3.3).
//!
//! Nothing is ever made visible again by hand: a failed message simply is not deleted, comes
//! back when its visibility timeout passes, and the queue counts its receives, so the queue's
//! redrive policy decides when it moves to the DLQ, exactly as with Lambda.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use tokio::time::Instant;

use super::{Counters, Mapping};
use crate::esm::event::sqs_message;
use crate::esm::handler::invoke_guarded;
use crate::esm::{BoxError, DeliveryFault};

/// Which messages of a batch to delete after an invocation: all, all but some, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    All,
    /// Delete all but these message ids.
    AllBut(HashSet<String>),
    None,
}

/// Reads a handler's answer as Lambda does (AWS-SEMANTICS 3.4).
pub(crate) fn classify(
    outcome: &Result<SqsBatchResponse, BoxError>,
    message_ids: &[&str],
    report_batch_item_failures: bool,
) -> Verdict {
    let response = match outcome {
        Err(_) => return Verdict::None,
        Ok(_) if !report_batch_item_failures => return Verdict::All,
        Ok(response) => response,
    };
    if response.batch_item_failures.is_empty() {
        return Verdict::All;
    }
    let mut failed = HashSet::new();
    for failure in &response.batch_item_failures {
        // Empty, null, or not a messageId of this batch: the whole batch failed.
        match failure.item_identifier.as_str() {
            id if !id.is_empty() && message_ids.contains(&id) => {
                failed.insert(id.to_owned());
            }
            _ => return Verdict::None,
        }
    }
    Verdict::AllBut(failed)
}

/// FIFO: once a message of a group fails, the group stops there, so every later message of
/// that group in the batch is kept (not deleted) too and returns, in order, with it (Lambda
/// developer guide, services-sqs-errorhandling: "for FIFO queues ... Lambda stops processing
/// messages after the first failure" of a group). `records` are `(messageId, MessageGroupId)`
/// in batch order.
pub(crate) fn hold_rest_of_groups(verdict: Verdict, records: &[(&str, Option<&str>)]) -> Verdict {
    let Verdict::AllBut(mut failed) = verdict else {
        return verdict;
    };
    let mut stopped = HashSet::new();
    for (id, group) in records {
        let Some(group) = group else { continue };
        if stopped.contains(group) {
            failed.insert((*id).to_owned());
        } else if failed.contains(*id) {
            stopped.insert(*group);
        }
    }
    Verdict::AllBut(failed)
}

fn group_of(record: &SqsMessage) -> Option<&str> {
    record.attributes.get("MessageGroupId").map(String::as_str)
}

/// The loop of poller `index`, until the mapping stops. It works while the scaler counts it
/// among the active pollers, and parks otherwise.
pub(crate) async fn run(m: Arc<Mapping>, index: usize) {
    let mut stop = m.stop.subscribe();
    let mut active = m.active.subscribe();
    loop {
        if m.stopping() {
            return;
        }
        if index >= m.active() {
            m.poller(index).last_empty = None;
            tokio::select! {
                _ = active.wait_for(|n| index < *n) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            continue;
        }
        let ticket = m.idle.ticket();
        let received = tokio::select! {
            received = receive_batch(&m) => received,
            _ = stop.wait_for(|s| *s) => return,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(queue = %m.queue_url, err = %aws_sdk_sqs::error::DisplayErrorContext(&err), "ReceiveMessage failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            }
        };
        {
            let mut st = m.poller(index);
            st.last_empty = messages.is_empty().then_some(ticket);
            st.in_flight = !messages.is_empty();
        }
        m.idle.bump();
        if messages.is_empty() {
            continue;
        }
        // Once received, a batch is always finished, even when stopping (graceful stop).
        process(&m, messages).await;
        m.poller(index).in_flight = false;
        m.idle.bump();
    }
}

/// Receives up to `batch_size` messages: one long poll, then (with a window) more receives
/// until the batch is full or the window, opened by the first message, closes.
async fn receive_batch(m: &Mapping) -> Result<Vec<Message>, aws_sdk_sqs::Error> {
    let c = &m.config;
    let mut batch: Vec<Message> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let wait = match deadline {
            None => c.wait_time_seconds,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                // Whole seconds only; round up so a short rest still waits rather than spins.
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                i32::try_from(secs).unwrap_or(20).min(20)
            }
        };
        let want = (c.batch_size - batch.len()).min(10);
        Counters::add(&m.counters.receives, 1);
        let out = m
            .sqs
            .receive_message()
            .queue_url(&m.queue_url)
            .max_number_of_messages(i32::try_from(want).unwrap_or(10))
            .wait_time_seconds(wait)
            .set_visibility_timeout(
                c.visibility_timeout
                    .map(|vt| i32::try_from(vt.as_secs()).unwrap_or(43_200)),
            )
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)?;
        if out.messages().len() >= want {
            // Messages are still available: the scaler adds pollers.
            m.saw_backlog
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        batch.extend(out.messages().iter().cloned());
        if batch.is_empty() {
            return Ok(batch);
        }
        if c.maximum_batching_window.is_zero() || batch.len() >= c.batch_size {
            break;
        }
        deadline.get_or_insert_with(|| Instant::now() + c.maximum_batching_window);
    }
    Ok(batch)
}

/// Lambda's payload limit for a synchronous invocation: a batch is cut before it
/// (AWS-SEMANTICS 3.1: "SQS+Lambda metadata count toward 6 MB payload so batches may be
/// smaller"), as the Kinesis mapping does.
pub(crate) const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// Splits messages, in order, into invocations that each fit in [`MAX_PAYLOAD`] once written
/// as Lambda's JSON (a message alone always goes, even if larger).
pub(crate) fn payload_chunks(records: Vec<SqsMessage>) -> Vec<Vec<SqsMessage>> {
    // `{"Records":[` and `]}`.
    const FRAME: usize = 14;
    // The usual case costs no serialising: a bound on the JSON that is under the limit.
    if FRAME + records.iter().map(json_size_bound).sum::<usize>() <= MAX_PAYLOAD {
        return vec![records];
    }
    let mut chunks: Vec<Vec<SqsMessage>> = Vec::new();
    let mut size = FRAME;
    for record in records {
        // The exact size: a body is at most 1 MiB, and a batch of 10,000 is rare.
        let len = serde_json::to_vec(&record).map_or(0, |v| v.len()) + 1;
        match chunks.last_mut() {
            Some(chunk) if size + len <= MAX_PAYLOAD => {
                size += len;
                chunk.push(record);
            }
            _ => {
                size = FRAME + len;
                chunks.push(vec![record]);
            }
        }
    }
    chunks
}

/// More than the bytes a message takes in Lambda's JSON: every string escaped at worst
/// (`\u00XX`, six bytes a byte), plus the field names and punctuation.
fn json_size_bound(m: &SqsMessage) -> usize {
    let text = |o: &Option<String>| o.as_deref().map_or(0, str::len);
    let strings = text(&m.message_id)
        + text(&m.receipt_handle)
        + text(&m.body)
        + text(&m.md5_of_body)
        + text(&m.md5_of_message_attributes)
        + text(&m.event_source)
        + text(&m.event_source_arn)
        + text(&m.aws_region)
        + m.attributes
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>()
        + m.message_attributes
            .iter()
            .map(|(k, a)| {
                k.len()
                    + text(&a.string_value)
                    + text(&a.data_type)
                    + a.binary_value
                        .as_ref()
                        .map_or(0, |b| b.len().div_ceil(3) * 4)
                    + a.string_list_values
                        .iter()
                        .map(|v| v.len() + 4)
                        .sum::<usize>()
                    + a.binary_list_values
                        .iter()
                        .map(|b| b.len().div_ceil(3) * 4 + 4)
                        .sum::<usize>()
                    + 128
            })
            .sum::<usize>();
    strings * 6 + 512
}

/// Filters a received batch (deleting what no filter matches), then invokes the handler with
/// what is left, in invocations cut at Lambda's payload limit, deleting what succeeded.
async fn process(m: &Mapping, messages: Vec<Message>) {
    let records: Vec<SqsMessage> = messages
        .iter()
        .map(|msg| sqs_message(&m.source, msg))
        .collect();
    let (records, filtered): (Vec<SqsMessage>, Vec<SqsMessage>) = match &m.config.filter_criteria {
        // "If a message doesn't satisfy your filter criteria, Lambda automatically removes the
        // message from the queue" (Lambda developer guide, invocation-eventfiltering).
        Some(filter) => records.into_iter().partition(|r| filter.matches_sqs(r)),
        None => (records, Vec::new()),
    };
    if !filtered.is_empty() {
        Counters::add(&m.counters.messages_filtered, filtered.len() as u64);
        // Not counted in `messages_deleted`, which is what invocations succeeded with.
        let handles: Vec<&str> = filtered
            .iter()
            .filter_map(|r| r.receipt_handle.as_deref())
            .collect();
        delete(m, &handles).await;
    }
    // FIFO: a group that failed in one invocation is not delivered in the next (its
    // messages return after their visibility timeout, in order).
    let mut stopped: HashSet<String> = HashSet::new();
    for chunk in payload_chunks(records) {
        let (held, chunk): (Vec<SqsMessage>, Vec<SqsMessage>) = chunk
            .into_iter()
            .partition(|r| group_of(r).is_some_and(|g| stopped.contains(g)));
        Counters::add(&m.counters.messages_failed, held.len() as u64);
        if chunk.is_empty() {
            continue;
        }
        stopped.extend(invoke(m, chunk).await);
    }
}

/// One invocation: the handler's answer decides which messages are deleted. Answers the
/// message groups (FIFO) with a message that was not deleted.
async fn invoke(m: &Mapping, records: Vec<SqsMessage>) -> HashSet<String> {
    let mut event = SqsEvent::default();
    event.records = records;
    let faults = m.hooks.on_sqs_batch(&m.queue_url, &event.records);
    let deliveries = if faults.contains(&DeliveryFault::Duplicate) {
        2
    } else {
        1
    };
    // A duplicated delivery: the second invocation's answer is the one that counts.
    let mut outcome = Err::<SqsBatchResponse, BoxError>("not invoked".into());
    for _ in 0..deliveries {
        Counters::add(&m.counters.batches_invoked, 1);
        Counters::add(&m.counters.messages_delivered, event.records.len() as u64);
        let event = event.clone();
        outcome = invoke_guarded(|| m.handler.handle(event), m.config.function_timeout).await;
    }
    let records = event.records;
    if faults.contains(&DeliveryFault::CrashBeforeCheckpoint) {
        // The poller dies before deleting: the whole batch returns after its visibility timeout.
        Counters::add(&m.counters.messages_failed, records.len() as u64);
        return records
            .iter()
            .filter_map(|r| group_of(r).map(str::to_owned))
            .collect();
    }
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    let mut verdict = classify(&outcome, &ids, m.config.report_batch_item_failures);
    if m.fifo {
        let groups: Vec<(&str, Option<&str>)> = records
            .iter()
            .filter_map(|r| Some((r.message_id.as_deref()?, group_of(r))))
            .collect();
        verdict = hold_rest_of_groups(verdict, &groups);
    }
    // Until an invocation succeeds again, the errors are not "resolved" and the scaler holds.
    m.failing
        .store(outcome.is_err(), std::sync::atomic::Ordering::Relaxed);
    if let Err(err) = &outcome {
        m.saw_function_error
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(queue = %m.queue_url, %err, "function error; the batch returns after its visibility timeout");
    }
    let (kept, deleted): (Vec<&SqsMessage>, Vec<&SqsMessage>) =
        records.iter().partition(|r| match &verdict {
            Verdict::All => false,
            Verdict::None => true,
            Verdict::AllBut(failed) => r.message_id.as_ref().is_some_and(|id| failed.contains(id)),
        });
    let to_delete: Vec<&str> = deleted
        .iter()
        .filter_map(|r| r.receipt_handle.as_deref())
        .collect();
    Counters::add(
        &m.counters.messages_failed,
        (records.len() - to_delete.len()) as u64,
    );
    let deleted = delete(m, &to_delete).await;
    Counters::add(&m.counters.messages_deleted, deleted);
    kept.iter()
        .filter_map(|r| group_of(r).map(str::to_owned))
        .collect()
}

/// Deletes messages (DeleteMessageBatch, 10 at a time); answers how many were deleted.
async fn delete(m: &Mapping, receipt_handles: &[&str]) -> u64 {
    let mut deleted = 0;
    for chunk in receipt_handles.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(*handle)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let sent = entries.len();
        match m
            .sqs
            .delete_message_batch()
            .queue_url(&m.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                for failed in out.failed() {
                    tracing::warn!(queue = %m.queue_url, code = failed.code(), message = ?failed.message(), "DeleteMessageBatch entry failed");
                }
                deleted += (sent - out.failed().len()) as u64;
            }
            Err(err) => {
                tracing::warn!(queue = %m.queue_url, err = %aws_sdk_sqs::error::DisplayErrorContext(&err), "DeleteMessageBatch failed")
            }
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::BatchItemFailure;

    fn failures(ids: &[&str]) -> Result<SqsBatchResponse, BoxError> {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = ids
            .iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = (*id).to_owned();
                f
            })
            .collect();
        Ok(response)
    }

    #[test]
    fn on_fifo_queues_a_failed_message_stops_the_rest_of_its_group() {
        let records = [
            ("a1", Some("a")),
            ("b1", Some("b")),
            ("a2", Some("a")),
            ("b2", Some("b")),
            ("a3", Some("a")),
        ];
        let ids: Vec<&str> = records.iter().map(|(id, _)| *id).collect();
        let verdict = classify(&failures(&["a2"]), &ids, true);
        let held = hold_rest_of_groups(verdict, &records);
        let expected: HashSet<String> = ["a2", "a3"].map(String::from).into();
        assert_eq!(held, Verdict::AllBut(expected));
        assert_eq!(hold_rest_of_groups(Verdict::All, &records), Verdict::All);
    }

    const IDS: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn listed_messages_stay_and_the_others_are_deleted() {
        let verdict = classify(&failures(&["b"]), &IDS, true);
        assert_eq!(verdict, Verdict::AllBut(HashSet::from(["b".to_owned()])));
    }

    #[test]
    fn an_unknown_or_empty_identifier_fails_the_whole_batch() {
        assert_eq!(classify(&failures(&["zz"]), &IDS, true), Verdict::None);
        assert_eq!(classify(&failures(&[""]), &IDS, true), Verdict::None);
    }

    #[test]
    fn a_batch_is_cut_before_lambdas_payload_limit() {
        let mib = 1024 * 1024;
        let message = |n: usize| {
            let mut m = SqsMessage::default();
            m.message_id = Some(n.to_string());
            m.body = Some("x".repeat(mib));
            m
        };
        // 1 MiB bodies (SQS's limit since 2025): five fit in 6 MiB with their metadata.
        let chunks = payload_chunks((0..12).map(message).collect());
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [5, 5, 2]);
        let ids: Vec<String> = chunks
            .iter()
            .flatten()
            .filter_map(|m| m.message_id.clone())
            .collect();
        assert_eq!(
            ids,
            (0..12).map(|n| n.to_string()).collect::<Vec<_>>(),
            "order kept"
        );
        let mut huge = message(0);
        huge.body = Some("x".repeat(7 * mib));
        assert_eq!(
            payload_chunks(vec![huge]).len(),
            1,
            "a message alone always goes"
        );
        // Bodies JSON escapes six-fold (control characters) are measured, not guessed.
        let escaped = |n: usize| {
            let mut m = message(n);
            m.body = Some("\u{1}".repeat(300 * 1024));
            m
        };
        let chunks = payload_chunks((0..5).map(escaped).collect());
        for chunk in &chunks {
            let mut event = SqsEvent::default();
            event.records = chunk.clone();
            assert!(serde_json::to_vec(&event).unwrap().len() <= MAX_PAYLOAD);
        }
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 5);
        assert!(chunks.len() >= 2, "1.8 MiB each once escaped");
    }

    #[test]
    fn errors_delete_nothing_and_partial_answers_are_ignored_when_off() {
        assert_eq!(classify(&Err("x".into()), &IDS, true), Verdict::None);
        assert_eq!(classify(&failures(&["b"]), &IDS, false), Verdict::All);
        assert_eq!(classify(&failures(&[]), &IDS, true), Verdict::All);
    }
}
