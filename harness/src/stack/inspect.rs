//! Reading the pipeline's results back: the table's items and the DLQ's messages.
//!
//! These use clients without fault injection, so that checking a result never fails because
//! of a fault the scenario scripted.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use serde_json::Value;

use super::HarnessError;

/// Every item of `table` as JSON (DynamoDB types unwrapped), sorted by `id`.
pub async fn table_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<Value>, HarnessError> {
    let mut items = Vec::new();
    for item in scan(client, table, false).await? {
        items.push(serde_dynamo::from_item(item).map_err(HarnessError::ItemNotJson)?);
    }
    items.sort_by(|a: &Value, b: &Value| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(items)
}

/// The ids of `table`'s items, sorted: a Scan projecting `id` alone, so counting what landed
/// (every `expect`, `lost_ids`) does not read and convert every item back.
pub async fn table_ids(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<String>, HarnessError> {
    let mut ids: Vec<String> = scan(client, table, true)
        .await?
        .into_iter()
        .filter_map(|mut item| match item.remove("id") {
            Some(AttributeValue::S(id)) => Some(id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Every item of `table`, page after page; `only_id` projects the `id` attribute alone.
async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    only_id: bool,
) -> Result<Vec<HashMap<String, AttributeValue>>, HarnessError> {
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let mut request = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take());
        if only_id {
            request = request
                .projection_expression("#id")
                .expression_attribute_names("#id", "id");
        }
        let page = request
            .send()
            .await
            .map_err(|e| HarnessError::aws("Scan", e))?;
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(items)
}

/// One message on the DLQ, as the pipeline wrote it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DlqEntry {
    /// The envelope's id (`None` for a poison record, whose raw data is the body).
    pub id: Option<String>,
    /// SQS's message id.
    pub message_id: String,
    /// The message body (the envelope JSON, or the poison record's data).
    pub body: String,
    /// `failure.stage`, `failure.reason`, `failure.attempts`, ... as strings.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// `ApproximateReceiveCount`: how often it was received (on the DLQ or before).
    pub receive_count: u32,
}

/// Reads every message on `queue_url` without consuming it: receives until the queue looks
/// empty (each received message hidden meanwhile), then makes them all visible again.
pub async fn peek_queue(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<Vec<DlqEntry>, HarnessError> {
    let mut entries = Vec::new();
    let mut handles = Vec::new();
    let mut pages = QueuePages::new(client, queue_url, Some(60));
    while let Some(messages) = pages.next().await? {
        for m in messages {
            if let Some(handle) = m.receipt_handle.clone() {
                handles.push(handle);
            }
            entries.push(entry(m));
        }
    }
    for handle in handles {
        // Visible again at once; failure only delays visibility, it loses nothing.
        let _ = client
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
    entries.sort_by(|a, b| (&a.id, &a.body).cmp(&(&b.id, &b.body)));
    entries.dedup_by(|a, b| a.message_id == b.message_id);
    Ok(entries)
}

/// Receives a queue's messages page by page (short polls of up to 10, every attribute) until
/// it looks empty: two empty polls in a row, since a real SQS samples servers and may miss a
/// message once. Each received message stays hidden for the visibility timeout given (else
/// the queue's), so later polls return others.
pub(crate) struct QueuePages<'a> {
    client: &'a aws_sdk_sqs::Client,
    queue_url: &'a str,
    visibility_timeout: Option<i32>,
    empty_polls: u32,
}

impl<'a> QueuePages<'a> {
    pub(crate) fn new(
        client: &'a aws_sdk_sqs::Client,
        queue_url: &'a str,
        visibility_timeout: Option<i32>,
    ) -> Self {
        QueuePages {
            client,
            queue_url,
            visibility_timeout,
            empty_polls: 0,
        }
    }

    /// The next non-empty page, or `None` once the queue looks empty.
    pub(crate) async fn next(
        &mut self,
    ) -> Result<Option<Vec<aws_sdk_sqs::types::Message>>, HarnessError> {
        while self.empty_polls < 2 {
            let messages = self
                .client
                .receive_message()
                .queue_url(self.queue_url)
                .max_number_of_messages(10)
                .set_visibility_timeout(self.visibility_timeout)
                .wait_time_seconds(0)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| HarnessError::aws("ReceiveMessage", e))?
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                self.empty_polls += 1;
            } else {
                self.empty_polls = 0;
                return Ok(Some(messages));
            }
        }
        Ok(None)
    }
}

fn entry(m: aws_sdk_sqs::types::Message) -> DlqEntry {
    let body = m.body.unwrap_or_default();
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    let attributes = m
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, attribute_text(&value)))
        .collect();
    let receive_count = m
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    DlqEntry {
        id,
        message_id: m.message_id.unwrap_or_default(),
        body,
        attributes,
        receive_count,
    }
}

fn attribute_text(value: &MessageAttributeValue) -> String {
    value.string_value.clone().unwrap_or_else(|| {
        format!(
            "<{} bytes>",
            value.binary_value.as_ref().map_or(0, |b| b.as_ref().len())
        )
    })
}

/// Messages visible, in flight and delayed on a queue.
pub async fn queue_depth(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<u64, HarnessError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| HarnessError::aws("GetQueueAttributes", e))?;
    let attrs = out.attributes.unwrap_or_default();
    Ok(attrs.values().filter_map(|v| v.parse::<u64>().ok()).sum())
}

/// Sleeps between checks while waiting on a backend (tokio time: free under a paused clock).
pub const POLL: Duration = Duration::from_millis(100);
