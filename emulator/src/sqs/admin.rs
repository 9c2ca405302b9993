//! Queue operations: CreateQueue, GetQueueUrl, Get/SetQueueAttributes, ListQueues,
//! DeleteQueue, PurgeQueue, ListDeadLetterSourceQueues and the tag operations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::attributes::{QueueSettings, READABLE, redrive_allowed};
use super::errors::{
    invalid_attribute_name, invalid_attribute_value, invalid_parameter, missing_parameter,
    out_of_range, purge_queue_in_progress, queue_deleted_recently, queue_does_not_exist,
    queue_name_exists,
};
use super::queue::Queue;
use super::shapes::{
    CreateQueueInput, GetQueueAttributesInput, GetQueueUrlInput, ListQueuesInput, ListQueuesOutput,
    QueueUrlInput, SetQueueAttributesInput,
};
use super::{QueueHandle, Shared, queue_arn, queue_url};
use crate::error::AwsError;
use crate::wire::{self, Ctx};

pub fn create_queue(s: &Shared, input: CreateQueueInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = input
        .queue_name
        .ok_or_else(|| missing_parameter("QueueName"))?;
    let fifo = input.attributes.get("FifoQueue").map(String::as_str) == Some("true");
    validate_queue_name(&name, fifo)?;
    let max = s.config.max_message_size;
    let mut settings = QueueSettings::defaults(max);
    settings.fifo = fifo;
    settings.apply(&input.attributes, max)?;
    check_dead_letter_target(s, &settings, &queue_arn(ctx, &name))?;
    let deleted_at = s
        .deleted_at
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&name)
        .copied();
    if deleted_at.is_some_and(|at| ctx.now - at < 60_000) {
        return Err(queue_deleted_recently());
    }

    if let Some(existing) = s.get(&name) {
        let queue = existing.lock();
        if let Some(attribute) = queue.settings.first_difference(&input.attributes, max)? {
            return Err(queue_name_exists(&attribute));
        }
        return Ok(json!({ "QueueUrl": queue_url(ctx, &name) }));
    }
    let mut queue = Queue::new(name.clone(), queue_arn(ctx, &name), settings, ctx.now);
    queue.tags = input.tags;
    let handle = Arc::new(QueueHandle {
        state: Mutex::new(queue),
        notify: Notify::new(),
        deleted: AtomicBool::new(false),
        fifo,
    });
    // Two concurrent creates of one name: the first insert wins; both answer its URL.
    s.queues
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(name.clone())
        .or_insert(handle);
    Ok(json!({ "QueueUrl": queue_url(ctx, &name) }))
}

/// A standard queue's name: 1 to 80 of `[A-Za-z0-9_-]`; a FIFO queue's ends with `.fifo`
/// (within the 80), and only a FIFO queue's may.
fn validate_queue_name(name: &str, fifo: bool) -> Result<(), AwsError> {
    let base = name.strip_suffix(".fifo");
    if fifo != base.is_some() {
        return Err(invalid_parameter(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
             underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    let base = base.unwrap_or(name);
    let valid = (1..=80).contains(&name.len())
        && !base.is_empty()
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    Ok(())
}

/// A redrive policy must name a dead-letter queue that exists and whose RedriveAllowPolicy
/// lets this queue use it. Locks only the dead-letter queue (never with another queue lock).
fn check_dead_letter_target(
    s: &Shared,
    settings: &QueueSettings,
    source_arn: &str,
) -> Result<(), AwsError> {
    let Some(policy) = &settings.redrive_policy else {
        return Ok(());
    };
    let invalid = |reason: &str| {
        invalid_attribute_value(format!(
            "Value {} for parameter RedrivePolicy is invalid. Reason: {reason}",
            policy.to_json()
        ))
    };
    let dlq = s
        .get(policy.target_name())
        .ok_or_else(|| invalid("Dead letter target does not exist."))?;
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html:
    // "The dead-letter queue of a FIFO queue must also be a FIFO queue" (and likewise standard).
    // Code and wording as moto answers it (AWS's recorded answer is not at hand).
    if dlq.fifo != settings.fifo {
        let message = if settings.fifo {
            "Fifo queues cannot use non fifo dead letter queues"
        } else {
            "Standard queues cannot use fifo dead letter queues"
        };
        return Err(AwsError::new("InvalidParameterCombination", message));
    }
    let allow = dlq.lock().settings.redrive_allow_policy.clone();
    match allow {
        Some(allow) if !redrive_allowed(&allow, source_arn) => Err(invalid(&format!(
            "The RedriveAllowPolicy of the dead letter target does not allow {source_arn} to use it."
        ))),
        _ => Ok(()),
    }
}

pub fn get_queue_url(s: &Shared, input: GetQueueUrlInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let name = input
        .queue_name
        .ok_or_else(|| missing_parameter("QueueName"))?;
    if !s.exists(&name) {
        return Err(queue_does_not_exist());
    }
    Ok(json!({ "QueueUrl": queue_url(ctx, &name) }))
}

pub fn get_queue_attributes(
    s: &Shared,
    input: GetQueueAttributesInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let mut names: Vec<&str> = Vec::new();
    for name in &input.attribute_names {
        if name == "All" {
            names = READABLE.to_vec();
            break;
        }
        match READABLE.iter().find(|r| **r == name.as_str()) {
            Some(known) => names.push(known),
            None => return Err(invalid_attribute_name(name)),
        }
    }
    let mut queue = handle.lock();
    let counts = queue.counts(ctx.now);
    let mut out = BTreeMap::new();
    for name in names {
        let value = match name {
            "ApproximateNumberOfMessages" => Some(counts.visible.to_string()),
            "ApproximateNumberOfMessagesNotVisible" => Some(counts.in_flight.to_string()),
            "ApproximateNumberOfMessagesDelayed" => Some(counts.delayed.to_string()),
            // Queue timestamps are epoch seconds (message timestamps are milliseconds).
            "CreatedTimestamp" => Some((queue.created / 1000).to_string()),
            "LastModifiedTimestamp" => Some((queue.last_modified / 1000).to_string()),
            "QueueArn" => Some(queue.arn.clone()),
            other => queue.settings.get(other),
        };
        if let Some(value) = value {
            out.insert(name, value);
        }
    }
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Attributes": out }))
}

pub fn set_queue_attributes(
    s: &Shared,
    input: SetQueueAttributesInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let attributes = input
        .attributes
        .ok_or_else(|| missing_parameter("Attributes"))?;
    // A new redrive policy is checked first, with only its dead-letter queue locked.
    if attributes.contains_key("RedrivePolicy") {
        let (mut wanted, arn) = {
            let queue = handle.lock();
            (queue.settings.clone(), queue.arn.clone())
        };
        wanted.apply(&attributes, s.config.max_message_size)?;
        check_dead_letter_target(s, &wanted, &arn)?;
    }
    // Then one lock for read-modify-write, so concurrent updates do not undo each other.
    let mut queue = handle.lock();
    let mut settings = queue.settings.clone();
    settings.apply(&attributes, s.config.max_message_size)?;
    queue.settings = settings;
    queue.last_modified = ctx.now;
    drop(queue);
    handle.wake_receivers();
    Ok(json!({}))
}

pub fn list_queues(s: &Shared, input: ListQueuesInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let max = match input.max_results {
        None => None,
        Some(n @ 1..=1000) => Some(n as usize),
        Some(n) => {
            return Err(out_of_range(
                "MaxResults",
                n,
                "MaxResults must be an integer between 1 and 1000.",
            ));
        }
    };
    let after = match &input.next_token {
        None => None,
        Some(token) => Some(
            B64.decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_parameter("Invalid NextToken value."))?,
        ),
    };
    let prefix = input.queue_name_prefix.unwrap_or_default();
    let mut names: Vec<String> = s
        .queues
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .keys()
        .filter(|n| n.starts_with(&prefix))
        .filter(|n| after.as_ref().is_none_or(|a| n.as_str() > a.as_str()))
        .cloned()
        .collect();
    names.sort();
    let page = max.unwrap_or(1000);
    let next_token = (max.is_some() && names.len() > page).then(|| B64.encode(&names[page - 1]));
    names.truncate(page);
    Ok(wire::to_value(&ListQueuesOutput {
        queue_urls: names.iter().map(|n| queue_url(ctx, n)).collect(),
        next_token,
    }))
}

pub fn delete_queue(s: &Shared, input: QueueUrlInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let name = handle.lock().name.clone();
    s.queues
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&name);
    s.deleted_at
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name, ctx.now);
    handle.deleted.store(true, Ordering::Release);
    handle.wake_receivers();
    Ok(json!({}))
}

pub fn purge_queue(s: &Shared, input: QueueUrlInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let mut queue = handle.lock();
    queue
        .purge(ctx.now)
        .map_err(|_| purge_queue_in_progress(&queue.name))?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSourcesInput {
    queue_url: Option<String>,
    max_results: Option<i64>,
}

/// The queues whose redrive policy names this queue as their dead-letter queue.
pub fn list_dead_letter_source_queues(
    s: &Shared,
    input: ListSourcesInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let target = s.by_url(input.queue_url.as_deref())?.lock().name.clone();
    let max = match input.max_results {
        None => 1000,
        Some(n @ 1..=1000) => n as usize,
        Some(n) => return Err(out_of_range("MaxResults", n, "Must be between 1 and 1000.")),
    };
    let mut sources: Vec<String> = s
        .all()
        .iter()
        .filter_map(|h| {
            let queue = h.lock();
            let policy = queue.settings.redrive_policy.as_ref()?;
            (policy.target_name() == target).then(|| queue.name.clone())
        })
        .collect();
    sources.sort();
    sources.truncate(max);
    let urls: Vec<String> = sources.iter().map(|n| queue_url(ctx, n)).collect();
    Ok(json!({ "queueUrls": urls }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueInput {
    queue_url: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueInput {
    queue_url: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub fn tag_queue(s: &Shared, input: TagQueueInput) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let tags = input.tags.ok_or_else(|| missing_parameter("Tags"))?;
    handle.lock().tags.extend(tags);
    Ok(json!({}))
}

pub fn untag_queue(s: &Shared, input: UntagQueueInput) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let keys = input.tag_keys.ok_or_else(|| missing_parameter("TagKeys"))?;
    let mut queue = handle.lock();
    for key in keys {
        queue.tags.remove(&key);
    }
    Ok(json!({}))
}

pub fn list_queue_tags(s: &Shared, input: QueueUrlInput) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let tags = handle.lock().tags.clone();
    if tags.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Tags": tags }))
}
