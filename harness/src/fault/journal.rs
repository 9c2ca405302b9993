//! The journal: every request attempt that reached the fault layer and every fault that
//! fired, so tests and scenario reports can assert on attempts per operation and event.
//!
//! An attempt is one HTTP request reaching the layer, so each SDK retry is an attempt of its
//! own. Times are offsets from the journal's creation on tokio's clock, so they are
//! reproducible under a paused clock.

#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// Attempts kept in [`Journal::attempt_log`]; the counts stay exact beyond it.
const LOG_CAP: usize = 100_000;

/// How an attempt ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptStatus {
    /// A 2xx response.
    Ok {
        /// The HTTP status.
        status: u16,
    },
    /// An AWS error response; `code` is the bare shape name (SQS: the query code the SDK
    /// matches, e.g. `RequestThrottled`).
    AwsError {
        /// The HTTP status.
        status: u16,
        /// The error code.
        code: String,
    },
    /// No response: a connector error.
    ConnectorError {
        /// What kind of connector error.
        kind: ConnectorErrorKind,
    },
}

/// The connector error kinds the SDK tells apart (timeouts and I/O errors are retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorErrorKind {
    /// A timeout (injected by a `timeout` rule, or the connector's own).
    Timeout,
    /// An I/O error (a `lose_response` rule: the request was applied, the answer lost).
    Io,
    /// Any other connector error.
    Other,
}

/// One HTTP request that reached the fault layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// `kinesis`, `sqs` or `dynamodb`.
    pub service: String,
    /// The API operation (`SendMessage`).
    pub operation: String,
    /// The pipeline events the request carries (envelope ids).
    pub event_ids: Vec<String>,
    /// The stream, queue or table the request addressed (tells a queue send from a DLQ send).
    pub resource: Option<String>,
    /// How it ended.
    pub status: AttemptStatus,
    /// The rule that fired on this attempt, if any.
    pub rule: Option<String>,
    /// A DLQ send's `failure.stage` (`decode`, `forward`, `store`), read from the request.
    pub failure_stage: Option<String>,
    /// When the attempt started, from the journal's creation.
    pub at: Duration,
}

/// One fault that fired. For delivery faults, `service` is the mapping (`kinesis`, `sqs`)
/// and `operation` is `delivery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredFault {
    /// The rule's name.
    pub rule: String,
    /// The service (request faults) or the mapping (delivery faults).
    pub service: String,
    /// The API operation, or `delivery`.
    pub operation: String,
    /// The action's name (`throttle`, `lose_response`, `duplicate`, ...).
    pub action: String,
    /// The events of the request or batch it fired on.
    pub event_ids: Vec<String>,
    /// When, from the journal's creation (tokio's clock).
    pub at: Duration,
}

/// Shared and cheap to clone: every clone records into and reads the same journal.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<State>>,
    start: Instant,
}

#[derive(Default)]
struct State {
    calls: HashMap<(String, String), usize>,
    attempts: HashMap<(String, String, String), usize>,
    /// Attempts by (resource, operation, event id).
    attempts_to: HashMap<(String, String, String), usize>,
    log: Vec<Attempt>,
    log_dropped: usize,
    fired: Vec<FiredFault>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Journal")
            .field("attempts", &(state.log.len() + state.log_dropped))
            .field("faults_fired", &state.fired.len())
            .finish()
    }
}

impl Journal {
    /// An empty journal; its clock starts now.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            start: Instant::now(),
        }
    }

    /// Time since the journal was created, on tokio's clock.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// HTTP attempts of `service`/`operation` carrying `event_id` (SDK retries included).
    pub fn attempts(&self, service: &str, operation: &str, event_id: &str) -> usize {
        let key = (
            service.to_owned(),
            operation.to_owned(),
            event_id.to_owned(),
        );
        self.lock().attempts.get(&key).copied().unwrap_or(0)
    }

    /// HTTP attempts of `operation` on `resource` (a stream, queue or table name, e.g.
    /// [`Harness::queue`](crate::Harness::queue)) carrying `event_id`: unlike
    /// [`Journal::attempts`], a send to the DLQ does not count as a send to the queue.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> anyhow::Result<()> {
    /// let h = harness::Harness::start().await?;
    /// // Every send of e-1 to the queue is throttled: the forwarder gives up after its
    /// // attempts and sends the event to the DLQ instead.
    /// let _rule = h.faults().sqs("SendMessage").to_queue().throttle().always().install();
    /// h.ingest_ok(serde_json::json!({"stream": "default", "id": "e-1", "payload": {}})).await?;
    /// h.drain().await?;
    /// let journal = h.journal();
    /// assert_eq!(journal.attempts_to(h.queue(), "SendMessage", "e-1"), 3);
    /// assert_eq!(journal.attempts_to(h.dlq(), "SendMessage", "e-1"), 1);
    /// // Counted by service alone, the DLQ send is one more SendMessage.
    /// assert_eq!(journal.attempts("sqs", "SendMessage", "e-1"), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn attempts_to(&self, resource: &str, operation: &str, event_id: &str) -> usize {
        let key = (
            resource.to_owned(),
            operation.to_owned(),
            event_id.to_owned(),
        );
        self.lock().attempts_to.get(&key).copied().unwrap_or(0)
    }

    /// All HTTP attempts of `service`/`operation`.
    pub fn calls(&self, service: &str, operation: &str) -> usize {
        let key = (service.to_owned(), operation.to_owned());
        self.lock().calls.get(&key).copied().unwrap_or(0)
    }

    /// Every fault that fired, in order.
    pub fn faults_fired(&self) -> Vec<FiredFault> {
        self.lock().fired.clone()
    }

    /// How many times the rule named `rule` fired.
    pub fn fired(&self, rule: &str) -> usize {
        self.lock().fired.iter().filter(|f| f.rule == rule).count()
    }

    /// The attempts in order (the first 100,000; counts stay exact beyond that).
    pub fn attempt_log(&self) -> Vec<Attempt> {
        self.lock().log.clone()
    }

    /// Forgets everything recorded so far.
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    pub(crate) fn record_attempt(&self, attempt: Attempt) {
        let mut state = self.lock();
        *state
            .calls
            .entry((attempt.service.clone(), attempt.operation.clone()))
            .or_default() += 1;
        // A request carrying the same id twice (a batch with a duplicate) is one attempt.
        let mut seen: Vec<&String> = Vec::with_capacity(attempt.event_ids.len());
        for id in &attempt.event_ids {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let key = (
                attempt.service.clone(),
                attempt.operation.clone(),
                id.clone(),
            );
            *state.attempts.entry(key).or_default() += 1;
            if let Some(resource) = &attempt.resource {
                let key = (resource.clone(), attempt.operation.clone(), id.clone());
                *state.attempts_to.entry(key).or_default() += 1;
            }
        }
        if state.log.len() < LOG_CAP {
            state.log.push(attempt);
        } else {
            state.log_dropped += 1;
        }
    }

    pub(crate) fn record_fired(&self, fault: FiredFault) {
        tracing::debug!(rule = %fault.rule, service = %fault.service,
            operation = %fault.operation, action = %fault.action, ids = ?fault.event_ids,
            "fault fired");
        self.lock().fired.push(fault);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the counts usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(op: &str, ids: &[&str], rule: Option<&str>) -> Attempt {
        Attempt {
            service: "sqs".into(),
            operation: op.into(),
            event_ids: ids.iter().map(|s| s.to_string()).collect(),
            resource: Some(
                if rule.is_some() {
                    "events"
                } else {
                    "events-dlq"
                }
                .into(),
            ),
            status: AttemptStatus::Ok { status: 200 },
            rule: rule.map(str::to_owned),
            failure_stage: None,
            at: Duration::ZERO,
        }
    }

    #[test]
    fn counts_attempts_per_operation_and_event() {
        let journal = Journal::new();
        let clone = journal.clone();
        clone.record_attempt(attempt("SendMessage", &["e-1"], None));
        clone.record_attempt(attempt("SendMessage", &["e-1"], Some("r")));
        clone.record_attempt(attempt("SendMessageBatch", &["e-1", "e-2", "e-2"], None));
        assert_eq!(journal.calls("sqs", "SendMessage"), 2);
        assert_eq!(journal.calls("sqs", "SendMessageBatch"), 1);
        assert_eq!(journal.attempts("sqs", "SendMessage", "e-1"), 2);
        assert_eq!(journal.attempts("sqs", "SendMessageBatch", "e-2"), 1);
        assert_eq!(journal.attempts("sqs", "SendMessage", "e-2"), 0);
        assert_eq!(journal.attempts_to("events", "SendMessage", "e-1"), 1);
        assert_eq!(journal.attempts_to("events-dlq", "SendMessage", "e-1"), 1);
        assert_eq!(journal.attempts_to("events", "SendMessageBatch", "e-2"), 0);
        assert_eq!(journal.attempt_log().len(), 3);
        journal.clear();
        assert_eq!(journal.calls("sqs", "SendMessage"), 0);
    }

    #[test]
    fn counts_fired_faults_by_rule_name() {
        let journal = Journal::new();
        for rule in ["a", "b", "a"] {
            journal.record_fired(FiredFault {
                rule: rule.into(),
                service: "kinesis".into(),
                operation: "delivery".into(),
                action: "duplicate".into(),
                event_ids: vec![],
                at: Duration::ZERO,
            });
        }
        assert_eq!(journal.fired("a"), 2);
        assert_eq!(journal.fired("c"), 0);
        assert_eq!(journal.faults_fired().len(), 3);
    }
}
