//! The journal: every request attempt that reached the fault layer and every fault that
//! fired, so tests and scenario reports can assert on attempts per operation and event.
//!
//! An attempt is one HTTP request reaching the layer, so each SDK retry is an attempt of its
//! own. Times are offsets from the journal's creation on tokio's clock, so they are
//! reproducible under a paused clock.
//!
//! **Batch entries.** A SendMessageBatch is one [`Attempt`] (operation `SendMessageBatch`,
//! `event_ids` of all its entries, the call's status) whose [`Attempt::entries`] list each
//! entry: its `Id`, its event, how it ended (in `Successful`, in `Failed` with its code, or
//! with the call when the whole call failed) and the rule that fired on it. Each entry is also
//! one attempt of its event's single-message operation (`SendMessage`, see
//! [`entry_operation`]): [`Journal::attempts`] and [`Journal::attempts_to`] count it there,
//! so "3 SendMessage attempts of e-3" means the same whether the forwarder sent e-3 alone or
//! in batches. [`Journal::calls`] counts HTTP requests only (`SendMessageBatch` calls). A
//! report showing per-entry attempts reads [`Attempt::entries`].

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
    /// A batch call's entries, in request order (empty for other calls): each one attempt of
    /// [`entry_operation`] for its event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryAttempt>,
}

/// One entry of a batch call (SendMessageBatch), as the fault layer saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryAttempt {
    /// The entry's `Id` in the request.
    pub entry_id: String,
    /// The pipeline event the entry carries (envelope id), if its body is an envelope.
    pub event_id: Option<String>,
    /// How the entry ended: `Ok` (the call's status) when the answer lists it in
    /// `Successful`; `AwsError` with the entry's code when it lists it in `Failed` (the
    /// status is the call's, 200: an entry has none of its own); the call's own status when
    /// the whole call failed.
    pub status: AttemptStatus,
    /// A failed entry's `SenderFault`.
    pub sender_fault: Option<bool>,
    /// The rule that fired on this entry (a rule on the single-message operation), if any.
    pub rule: Option<String>,
}

impl EntryAttempt {
    /// Whether the entry got through.
    pub fn ok(&self) -> bool {
        matches!(self.status, AttemptStatus::Ok { .. })
    }
}

/// The single-message operation each entry of a batch operation stands for
/// (`SendMessageBatch` -> `SendMessage`), or `None` for an operation the journal does not
/// split into entries.
pub fn entry_operation(operation: &str) -> Option<&'static str> {
    match operation {
        "SendMessageBatch" => Some("SendMessage"),
        _ => None,
    }
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

    /// HTTP attempts of `service`/`operation` carrying `event_id` (SDK retries included). For
    /// `SendMessage`, each SendMessageBatch entry carrying it counts too (one attempt of that
    /// record; see the module docs).
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
    /// [`Journal::attempts`], a send to the DLQ does not count as a send to the queue. Batch
    /// entries count as for [`Journal::attempts`].
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

    /// All HTTP attempts of `service`/`operation` (a SendMessageBatch is one, whatever its
    /// entries).
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
        if let Some(entry_op) = entry_operation(&attempt.operation) {
            // Each entry is one attempt of its record, as a SendMessage of it would be.
            for id in attempt.entries.iter().filter_map(|e| e.event_id.as_ref()) {
                let key = (attempt.service.clone(), entry_op.to_owned(), id.clone());
                *state.attempts.entry(key).or_default() += 1;
                if let Some(resource) = &attempt.resource {
                    let key = (resource.clone(), entry_op.to_owned(), id.clone());
                    *state.attempts_to.entry(key).or_default() += 1;
                }
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
            entries: Vec::new(),
        }
    }

    fn entry(id: &str, event: &str, code: Option<&str>) -> EntryAttempt {
        EntryAttempt {
            entry_id: id.into(),
            event_id: Some(event.into()),
            status: match code {
                None => AttemptStatus::Ok { status: 200 },
                Some(code) => AttemptStatus::AwsError {
                    status: 200,
                    code: code.into(),
                },
            },
            sender_fault: code.map(|_| false),
            rule: None,
        }
    }

    #[test]
    fn a_batch_entry_is_one_send_message_attempt_of_its_event() {
        let journal = Journal::new();
        let mut call = attempt("SendMessageBatch", &["e-1", "e-2"], Some("r"));
        call.entries = vec![
            entry("0", "e-1", None),
            entry("1", "e-2", Some("InternalError")),
        ];
        journal.record_attempt(call.clone());
        call.entries = vec![entry("1", "e-2", None)];
        call.event_ids = vec!["e-2".into()];
        journal.record_attempt(call);
        journal.record_attempt(attempt("SendMessage", &["e-2"], Some("r")));
        assert_eq!(journal.calls("sqs", "SendMessageBatch"), 2);
        assert_eq!(journal.calls("sqs", "SendMessage"), 1);
        assert_eq!(journal.attempts("sqs", "SendMessage", "e-1"), 1);
        assert_eq!(journal.attempts("sqs", "SendMessage", "e-2"), 3);
        assert_eq!(journal.attempts_to("events", "SendMessage", "e-2"), 3);
        assert_eq!(journal.attempts("sqs", "SendMessageBatch", "e-2"), 2);
        let log = journal.attempt_log();
        assert!(!log[0].entries[1].ok());
        assert_eq!(
            serde_json::to_value(&log[0]).expect("serialises")["entries"][1]["status"]["code"],
            "InternalError"
        );
        assert!(serde_json::to_value(&log[2]).expect("serialises")["entries"].is_null());
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
