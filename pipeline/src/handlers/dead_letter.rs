//! SendMessage as both handlers make it: one HTTP request per attempt (the SDK's own retry
//! loop off, so attempts are ours to count), and the DLQ send with the handler's attempt
//! budget. The forward handler dead-letters what it cannot forward, the store handler the
//! conflicts it finds.

use std::collections::HashMap;

use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::MessageAttributeValue;

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
        .customize()
        .config_override(
            aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|err| retry::classify(&err))
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
