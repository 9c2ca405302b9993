//! SendMessage as both handlers make it: one HTTP request per attempt (the SDK's own retry
//! loop off, so attempts are ours to count), and the DLQ send with the handler's attempt
//! budget. The forward handler dead-letters what it cannot forward, the store handler the
//! conflicts it finds.

use std::collections::HashMap;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use crate::config::RetryPolicy;
use crate::dlq::DlqMessage;
use crate::retry::{self, AttemptError, Outcome};

/// One SendMessage HTTP request.
pub(crate) async fn send_once(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    body: &str,
    attributes: Option<&HashMap<String, MessageAttributeValue>>,
) -> Result<(), AttemptError> {
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .set_message_attributes(attributes.cloned())
        .send()
        .await
        .map(|_| ())
        .map_err(|err| retry::classify(&err))
}

/// One SendMessageBatch HTTP request of `entries` (`(position, body)`; the position, unique
/// in the call, is the entry's `Id`): one result per entry, in order. A call that fails
/// fails every entry with the call's error; an entry SQS reports in `Failed` fails alone.
pub(crate) async fn send_batch_once(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    entries: &[(usize, &str)],
) -> Vec<Result<(), AttemptError>> {
    let mut request = client.send_message_batch().queue_url(queue_url);
    for (at, body) in entries {
        let entry = SendMessageBatchRequestEntry::builder()
            .id(at.to_string())
            .message_body(*body)
            .build();
        match entry {
            Ok(entry) => request = request.entries(entry),
            Err(err) => {
                let error = AttemptError::permanent(err.to_string());
                return entries.iter().map(|_| Err(error.clone())).collect();
            }
        }
    }
    let output = request.send().await;
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            let error = retry::classify(&err);
            return entries.iter().map(|_| Err(error.clone())).collect();
        }
    };
    entries
        .iter()
        .map(|(at, _)| {
            let id = at.to_string();
            if output.successful().iter().any(|s| s.id() == id) {
                return Ok(());
            }
            match output.failed().iter().find(|f| f.id() == id) {
                Some(f) => Err(retry::classify_batch_entry(
                    f.code(),
                    f.message(),
                    f.sender_fault(),
                )),
                // Not in the answer at all: it may or may not be on the queue, so sending it
                // again is the safe side (a duplicate, never a loss).
                None => Err(AttemptError {
                    retryable: true,
                    reason: format!("entry {id} missing from the SendMessageBatch answer"),
                }),
            }
        })
        .collect()
}

/// The DLQ a handler sends failures to.
pub(crate) struct DeadLetterQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub policy: RetryPolicy,
}

impl DeadLetterQueue {
    /// Sends `message` with the attempt budget; the last error when every attempt failed.
    pub async fn send(&self, message: &DlqMessage) -> Result<(), AttemptError> {
        let attributes = message.attributes();
        let outcome = retry::run(
            &self.policy,
            |_| send_once(&self.client, &self.url, &message.body, Some(&attributes)),
            |_, _| {},
        )
        .await;
        match outcome {
            Outcome::Done { .. } => Ok(()),
            Outcome::Failed { error, .. } => Err(error),
        }
    }
}
