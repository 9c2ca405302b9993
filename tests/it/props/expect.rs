//! What the fault plan lets us expect of each event, before looking at the run: whether its
//! faults may exceed a retry budget (the only way into the DLQ) and whether they must.
//!
//! Budgets (the pipeline's defaults): the forward handler makes 3 SendMessage attempts per
//! delivery of a record and dead-letters at once on a non-retryable error; the store handler
//! makes 3 PutItem attempts per receive and the queue moves a message to the DLQ after 3
//! receives, so a message reaches the DLQ from the store side only after 9 failed PutItems
//! carrying its id. Rules count the calls they match, so the failures a rule can cause are
//! bounded by its `when` (first(k): k, nth: 1), whatever the number of copies.

use super::case::{Answer, Case, Fault, Times};

/// SendMessage attempts per delivery of a record.
pub const FORWARD_ATTEMPTS: u64 = 3;
/// PutItem attempts per receive times receives before the redrive policy moves a message.
pub const STORE_FAILURES_TO_DLQ: u64 = 3 * 3;

/// The plan's bearing on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation {
    /// Its SendMessage faults can exceed the forward budget (3 failed attempts in a row, or
    /// one non-retryable error): the forwarder may dead-letter it.
    pub may_forward_dlq: bool,
    /// Its SendMessage faults certainly exceed the budget on its first delivery.
    pub must_forward_dlq: bool,
    /// Every SendMessage carrying it fails: it never reaches the queue.
    pub never_queued: bool,
    /// Its PutItem faults can fail 9 attempts: the queue may move a message of it to the DLQ.
    pub may_redrive: bool,
    /// Every PutItem carrying it fails: every message of it on the queue is moved to the DLQ.
    pub always_redriven: bool,
    /// A SendMessage of it may lose its response: the forwarder then retries a send that
    /// left a message, so one delivery can put several messages of it on the queue.
    pub resent: bool,
}

impl Expectation {
    /// Every attempt to forward or to store it fails: it can never be in the table.
    pub fn never_stored(&self) -> bool {
        self.never_queued || self.always_redriven
    }
}

/// Adds failure bounds; `None` is unbounded.
fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(a? + b?)
}

fn reaches(bound: Option<u64>, threshold: u64) -> bool {
    bound.is_none_or(|n| n >= threshold)
}

fn applies(event: &Option<String>, id: &str) -> bool {
    event.as_deref().is_none_or(|e| e == id)
}

pub fn expectation(case: &Case, id: &str) -> Expectation {
    let mut send_failures = Some(0);
    let mut put_failures = Some(0);
    let mut always_fails = false;
    let mut e = Expectation {
        may_forward_dlq: false,
        must_forward_dlq: false,
        never_queued: false,
        may_redrive: false,
        always_redriven: false,
        resent: false,
    };
    for fault in &case.faults {
        match fault {
            Fault::Send {
                event,
                answer,
                times,
            } if applies(event, id) => {
                send_failures = add(send_failures, times.failures());
                e.may_forward_dlq |= *answer == Answer::Reject;
                e.resent |= *answer == Answer::LoseResponse;
                let own = event.is_some();
                always_fails |= own && *times == Times::Always;
                // The first delivery's 3 attempts are the event's first 3 matching calls,
                // unless a crash of the consumer cuts that delivery short and the redelivery
                // finds the rule used up.
                e.must_forward_dlq |= own
                    && match times {
                        Times::Always => true,
                        Times::First(k) => *k >= FORWARD_ATTEMPTS && !case.has_crash_steps(),
                        Times::Nth(_) => false,
                    };
            }
            Fault::Put { event, times, .. } if applies(event, id) => {
                put_failures = add(put_failures, times.failures());
                e.always_redriven |= event.is_some() && *times == Times::Always;
            }
            _ => {}
        }
    }
    // A lost response is a failure the backend applied: the message is there. Rules fire in
    // installation order, so a lost-response rule may take a call an `always` rule matches.
    e.never_queued = always_fails && !e.resent;
    e.may_forward_dlq |= reaches(send_failures, FORWARD_ATTEMPTS);
    e.may_redrive = reaches(put_failures, STORE_FAILURES_TO_DLQ);
    e
}
