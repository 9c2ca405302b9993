//! SendMessage, ReceiveMessage (with long polling), DeleteMessage, ChangeMessageVisibility.
//!
//! Everything that can be done outside the queue lock is: parsing, validation, MD5s and
//! message ids before it; rendering responses and delivering dead letters after it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::errors::{
    invalid_parameter, missing_parameter, out_of_range, over_limit, receipt_handle_is_invalid,
};
use super::message::{self, Content};
use super::queue::{HandleError, Message, Received};
use super::shapes::{
    ChangeVisibilityInput, DeleteMessageInput, MessageShape, ReceiveMessageInput,
    ReceiveMessageOutput, SendEntry, SendMessageOutput,
};
use super::{QueueHandle, Shared};
use crate::clock::Millis;
use crate::error::AwsError;
use crate::wire::{self, Ctx};

/// A validated message, ready to enqueue once the queue's own limits are checked.
pub struct Prepared {
    pub content: Arc<Content>,
    pub delay_seconds: Option<u32>,
    /// Body plus attributes, checked against the queue's `MaximumMessageSize`.
    pub size: usize,
    /// FIFO: the `MessageDeduplicationId` sent (else content-based, decided under the lock,
    /// where the queue's current setting is known).
    pub deduplication_id: Option<String>,
}

impl Prepared {
    fn output(&self, message_id: String, sequence_number: Option<String>) -> SendMessageOutput {
        SendMessageOutput {
            message_id,
            md5_of_message_body: self.content.md5_of_body.clone(),
            md5_of_message_attributes: self.content.md5_of_attributes.clone(),
            md5_of_message_system_attributes: self.content.md5_of_system_attributes.clone(),
            sequence_number,
        }
    }

    /// Enqueues into a locked queue, after the checks that depend on its settings (worded
    /// as AWS words them for a batch entry when `in_batch`); the answer for the sender.
    pub fn enqueue(
        self,
        queue: &mut super::queue::Queue,
        now: Millis,
        in_batch: bool,
    ) -> Result<SendMessageOutput, AwsError> {
        let limit = queue.settings.maximum_message_size;
        if self.size > limit as usize {
            return Err(message::too_large(limit, in_batch));
        }
        if !queue.settings.fifo {
            let delay = self.delay_seconds.unwrap_or(queue.settings.delay_seconds);
            let output = self.output(self.content.id.clone(), None);
            queue.send(Message::new(self.content), delay, now);
            return Ok(output);
        }
        let content_based = queue
            .settings
            .content_based_deduplication
            .then(|| message::sha256_hex(&self.content.body));
        let deduplication_id =
            self.deduplication_id
                .clone()
                .or(content_based)
                .ok_or_else(|| {
                    invalid_parameter(
                        "The queue should either have ContentBasedDeduplication enabled or \
                 MessageDeduplicationId provided explicitly",
                    )
                })?;
        let group = self.content.message_group_id.clone().unwrap_or_default();
        let scope_key = match queue.settings.deduplication_scope {
            "messageGroup" => format!("{group}\u{0}{deduplication_id}"),
            _ => deduplication_id.clone(),
        };
        let delay = queue.settings.delay_seconds;
        let accepted = queue.send_fifo(
            Message::new(self.content.clone()),
            deduplication_id,
            scope_key,
            delay,
            now,
        );
        Ok(self.output(accepted.message_id, Some(accepted.sequence_number)))
    }
}

/// Validates a SendMessage input or a batch entry (everything but queue-specific limits);
/// `fifo` says whether the queue is a FIFO queue (its parameters differ).
pub fn prepare(entry: SendEntry, ctx: &Ctx, fifo: bool) -> Result<Prepared, AwsError> {
    let body = message::validate_body(entry.message_body)?;
    let attributes = message::parse_attributes(entry.message_attributes)?;
    let mut system_attributes = message::parse_system_attributes(entry.message_system_attributes)?;
    // The X-Amzn-Trace-Id header becomes AWSTraceHeader unless the sender set it itself; it
    // is not part of MD5OfMessageSystemAttributes, which covers what the sender sent.
    let trace_from_header = system_attributes.is_empty() && ctx.trace_header.is_some();
    if let (true, Some(trace)) = (trace_from_header, &ctx.trace_header) {
        system_attributes.insert(
            "AWSTraceHeader".into(),
            message::AttributeValue {
                data_type: "String".into(),
                data: message::AttributeData::String(trace.clone()),
            },
        );
    }
    if let Some(group) = &entry.message_group_id {
        message::validate_group_id(group, "MessageGroupId")?;
    }
    let delay_seconds = match entry.delay_seconds {
        None => None,
        // FIFO queues take only the queue's delay.
        Some(n) if fifo => {
            return Err(invalid_parameter(format!(
                "Value {n} for parameter DelaySeconds is invalid. Reason: The request include \
                 parameter that is not valid for this queue type."
            )));
        }
        Some(n @ 0..=900) => Some(n as u32),
        Some(n) => {
            return Err(out_of_range(
                "DelaySeconds",
                n,
                "DelaySeconds must be >= 0 and <= 900.",
            ));
        }
    };
    let deduplication_id = match (fifo, entry.message_deduplication_id) {
        (false, Some(_)) => {
            return Err(invalid_parameter(
                "The request include parameter MessageDeduplicationId which is not valid for this queue type",
            ));
        }
        (true, Some(id)) => {
            message::validate_group_id(&id, "MessageDeduplicationId")?;
            Some(id)
        }
        (_, None) => None,
    };
    if fifo && entry.message_group_id.is_none() {
        return Err(missing_parameter("MessageGroupId"));
    }
    let size = message::message_size(&body, &attributes);
    let mut content = Content::new(
        body,
        attributes,
        system_attributes,
        entry.message_group_id,
        ctx.now,
        ctx.account.clone(),
    );
    if trace_from_header && let Some(content) = Arc::get_mut(&mut content) {
        content.md5_of_system_attributes = None;
    }
    Ok(Prepared {
        content,
        delay_seconds,
        size,
        deduplication_id,
    })
}

pub fn send_message(s: &Shared, input: SendEntry, ctx: &Ctx) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let prepared = prepare(input, ctx, handle.fifo)?;
    let output = prepared.enqueue(&mut handle.lock(), ctx.now, false)?;
    handle.wake_receivers();
    Ok(wire::to_value(&output))
}

/// Which attributes a ReceiveMessage asked for.
struct Selection {
    all_system: bool,
    system: HashSet<String>,
    all_user: bool,
    user_names: HashSet<String>,
    /// From `prefix.*`: matches names starting with `prefix` (`Hel.*` matches `Hello` and
    /// `Help.Me`, as AWS answers).
    user_prefixes: Vec<String>,
}

impl Selection {
    fn new(input: &ReceiveMessageInput) -> Self {
        let system: HashSet<String> = input
            .attribute_names
            .iter()
            .chain(&input.message_system_attribute_names)
            .cloned()
            .collect();
        let mut user_names = HashSet::new();
        let mut user_prefixes = Vec::new();
        let mut all_user = false;
        for name in &input.message_attribute_names {
            if name == "All" || name == ".*" {
                all_user = true;
            } else if let Some(prefix) = name.strip_suffix(".*") {
                user_prefixes.push(prefix.to_owned());
            } else {
                user_names.insert(name.clone());
            }
        }
        Self {
            all_system: system.contains("All"),
            system,
            all_user,
            user_names,
            user_prefixes,
        }
    }

    fn wants_system(&self, name: &str) -> bool {
        self.all_system || self.system.contains(name)
    }

    fn wants_user(&self, name: &str) -> bool {
        self.all_user
            || self.user_names.contains(name)
            || self
                .user_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
    }
}

fn render(received: Received, selection: &Selection) -> MessageShape {
    let message = received.message;
    let content = &message.content;
    let mut attributes = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|_| selection.wants_system(name)) {
            attributes.insert(name.to_owned(), value);
        }
    };
    put("SenderId", Some(content.sender_id.clone()));
    put("SentTimestamp", Some(content.sent.to_string()));
    put(
        "ApproximateReceiveCount",
        Some(message.receive_count.to_string()),
    );
    put(
        "ApproximateFirstReceiveTimestamp",
        message.first_receive.map(|t| t.to_string()),
    );
    put(
        "AWSTraceHeader",
        content
            .system_attributes
            .get("AWSTraceHeader")
            .and_then(|v| match &v.data {
                message::AttributeData::String(s) => Some(s.clone()),
                message::AttributeData::Binary(_) => None,
            }),
    );
    put(
        "DeadLetterQueueSourceArn",
        message.dead_letter_source_arn.clone(),
    );
    put("MessageGroupId", content.message_group_id.clone());
    if let Some(fifo) = &message.fifo {
        put(
            "MessageDeduplicationId",
            Some(fifo.deduplication_id.clone()),
        );
        put("SequenceNumber", Some(fifo.sequence_number.clone()));
    }
    let selected: Vec<_> = content
        .attributes
        .iter()
        .filter(|(name, _)| selection.wants_user(name))
        .collect();
    // The digest covers exactly the attributes returned, as clients recompute it from them.
    let md5_of_message_attributes = super::md5::of_attributes(selected.iter().copied());
    MessageShape {
        message_id: content.id.clone(),
        receipt_handle: received.receipt_handle,
        md5_of_body: content.md5_of_body.clone(),
        body: content.body.clone(),
        attributes,
        md5_of_message_attributes,
        message_attributes: selected
            .into_iter()
            .map(|(name, value)| (name.clone(), value.to_shape()))
            .collect(),
    }
}

pub async fn receive_message(
    s: &Shared,
    input: ReceiveMessageInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let max = match input.max_number_of_messages {
        None => 1,
        Some(n @ 1..=10) => n as usize,
        Some(n) => {
            return Err(out_of_range(
                "MaxNumberOfMessages",
                n,
                "Must be between 1 and 10, if provided.",
            ));
        }
    };
    let visibility = match input.visibility_timeout {
        None => None,
        Some(n @ 0..=43_200) => Some(n as u32),
        Some(n) => {
            return Err(out_of_range(
                "VisibilityTimeout",
                n,
                "Must be between 0 and 43200, if provided.",
            ));
        }
    };
    let wait = match input.wait_time_seconds {
        None => None,
        Some(n @ 0..=20) => Some(n as u32),
        Some(n) => {
            return Err(out_of_range(
                "WaitTimeSeconds",
                n,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
    };
    let selection = Selection::new(&input);

    let mut deadline = None;
    let received = loop {
        // Registered before looking, so a send between the look and the wait still wakes us.
        let notified = handle.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = ctx.clock.now_ms().max(ctx.now);
        let look = receive_once(s, &handle, max, visibility, now);
        // The queue's ReceiveMessageWaitTimeSeconds applies when the request names no wait.
        let deadline = *deadline.get_or_insert_with(|| {
            ctx.now + Millis::from(wait.unwrap_or(look.default_wait_seconds)) * 1000
        });
        if look.over_limit && look.received.is_empty() && deadline == ctx.now {
            return Err(over_limit());
        }
        if !look.received.is_empty() || now >= deadline || handle.is_deleted() {
            break look.received;
        }
        let wake_at = look.next_change.map_or(deadline, |at| at.min(deadline));
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(ctx.clock.instant_at(wake_at)) => {}
        }
    };
    let messages = received
        .into_iter()
        .map(|r| render(r, &selection))
        .collect();
    Ok(wire::to_value(&ReceiveMessageOutput { messages }))
}

/// What one look at a queue found.
struct Look {
    received: Vec<Received>,
    /// When a delayed or in-flight message next becomes visible by itself.
    next_change: Option<Millis>,
    default_wait_seconds: u32,
    over_limit: bool,
}

/// One look at the queue (one lock); then delivers any dead letters the look produced.
fn receive_once(
    s: &Shared,
    handle: &QueueHandle,
    max: usize,
    visibility: Option<u32>,
    now: Millis,
) -> Look {
    let (outcome, look, dlq) = {
        let mut queue = handle.lock();
        let visibility = visibility.unwrap_or(queue.settings.visibility_timeout);
        let outcome = queue.receive(max, visibility, now, |name| s.exists(name));
        let dlq = (!outcome.dead_letters.is_empty())
            .then(|| queue.settings.redrive_policy.as_ref())
            .flatten()
            .map(|p| p.target_name().to_owned());
        let look = Look {
            received: Vec::new(),
            next_change: queue.next_change(),
            default_wait_seconds: queue.settings.receive_message_wait_time_seconds,
            over_limit: outcome.over_limit,
        };
        (outcome, look, dlq)
    };
    if let Some(dlq) = dlq.and_then(|name| s.get(&name)) {
        let mut queue = dlq.lock();
        for message in outcome.dead_letters {
            queue.accept_dead_letter(message, now);
        }
        drop(queue);
        dlq.wake_receivers();
    } else if !outcome.dead_letters.is_empty() {
        tracing::warn!(
            count = outcome.dead_letters.len(),
            "dead-letter queue deleted while moving messages to it; messages dropped"
        );
    }
    Look {
        received: outcome.received,
        ..look
    }
}

pub fn delete_message(s: &Shared, input: DeleteMessageInput, ctx: &Ctx) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let receipt = input
        .receipt_handle
        .ok_or_else(|| missing_parameter("ReceiptHandle"))?;
    handle
        .lock()
        .delete(&receipt, ctx.now)
        .map_err(|e| handle_error(e, &receipt))?;
    Ok(json!({}))
}

pub fn change_message_visibility(
    s: &Shared,
    input: ChangeVisibilityInput,
    ctx: &Ctx,
) -> Result<Value, AwsError> {
    let handle = s.by_url(input.queue_url.as_deref())?;
    let receipt = input
        .receipt_handle
        .ok_or_else(|| missing_parameter("ReceiptHandle"))?;
    let timeout = visibility_timeout(input.visibility_timeout)?;
    handle
        .lock()
        .change_visibility(&receipt, timeout, ctx.now)
        .map_err(|e| handle_error(e, &receipt))?;
    handle.wake_receivers();
    Ok(json!({}))
}

/// ChangeMessageVisibility's required `VisibilityTimeout`, 0 to 12 hours.
pub fn visibility_timeout(value: Option<i64>) -> Result<u32, AwsError> {
    match value {
        None => Err(missing_parameter("VisibilityTimeout")),
        Some(n @ 0..=43_200) => Ok(n as u32),
        Some(n) => Err(out_of_range(
            "VisibilityTimeout",
            n,
            "VisibilityTimeout must be an integer between 0 and 43200",
        )),
    }
}

pub fn handle_error(error: HandleError, receipt: &str) -> AwsError {
    match error {
        HandleError::Invalid => receipt_handle_is_invalid(receipt),
        // AWS's recorded answer (not MessageNotInflight, which it no longer sends).
        HandleError::Gone => invalid_parameter(format!(
            "Value {receipt} for parameter ReceiptHandle is invalid. Reason: Message does not \
             exist or is not available for visibility timeout change."
        )),
        HandleError::BeyondVisibilityLimit => invalid_parameter(
            "Value for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout \
             for the message is beyond the limit [43200 seconds]",
        ),
    }
}
