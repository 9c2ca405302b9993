//! One SQS poller: long-poll, gather a batch, invoke, delete what succeeded (AWS-SEMANTICS 3.3).
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

/// The loop of poller `index`, until the mapping stops.
pub(crate) async fn run(m: Arc<Mapping>, index: usize) {
    let mut stop = m.stop.subscribe();
    loop {
        if m.stopping() {
            return;
        }
        let ticket = m.idle.ticket();
        let received = tokio::select! {
            received = receive_batch(&m) => received,
            _ = stop.wait_for(|s| *s) => return,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(queue = %m.queue_url, %err, "ReceiveMessage failed");
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
async fn receive_batch(m: &Mapping) -> Result<Vec<Message>, BoxError> {
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
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
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

/// Invokes the handler with a batch and deletes what it says succeeded.
async fn process(m: &Mapping, messages: Vec<Message>) {
    let records: Vec<SqsMessage> = messages
        .iter()
        .map(|msg| sqs_message(&m.source, msg))
        .collect();
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
    if faults.contains(&DeliveryFault::CrashBeforeCheckpoint) {
        // The poller dies before deleting: the whole batch returns after its visibility timeout.
        Counters::add(&m.counters.messages_failed, messages.len() as u64);
        return;
    }
    let ids: Vec<&str> = messages.iter().filter_map(|msg| msg.message_id()).collect();
    let verdict = classify(&outcome, &ids, m.config.report_batch_item_failures);
    if let Err(err) = &outcome {
        tracing::debug!(queue = %m.queue_url, %err, "function error; the batch returns after its visibility timeout");
    }
    let to_delete: Vec<&Message> = match &verdict {
        Verdict::All => messages.iter().collect(),
        Verdict::None => Vec::new(),
        Verdict::AllBut(failed) => messages
            .iter()
            .filter(|msg| !msg.message_id().is_some_and(|id| failed.contains(id)))
            .collect(),
    };
    Counters::add(
        &m.counters.messages_failed,
        (messages.len() - to_delete.len()) as u64,
    );
    delete(m, &to_delete).await;
}

async fn delete(m: &Mapping, messages: &[&Message]) {
    for chunk in messages.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, msg)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(msg.receipt_handle()?)
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
                Counters::add(
                    &m.counters.messages_deleted,
                    (sent - out.failed().len()) as u64,
                );
            }
            Err(err) => {
                tracing::warn!(queue = %m.queue_url, err = %aws_sdk_sqs::error::DisplayErrorContext(&err), "DeleteMessageBatch failed")
            }
        }
    }
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
    fn errors_delete_nothing_and_partial_answers_are_ignored_when_off() {
        assert_eq!(classify(&Err("x".into()), &IDS, true), Verdict::None);
        assert_eq!(classify(&failures(&["b"]), &IDS, false), Verdict::All);
        assert_eq!(classify(&failures(&[]), &IDS, true), Verdict::All);
    }
}
