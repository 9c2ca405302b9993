//! The pipeline's hops counted on the wire, from the journal: the same numbers in process
//! and in artifact mode, where the forward and store functions are child processes whose
//! own counters (the `Recorder`'s observer) the harness cannot see.

use std::collections::HashSet;

use pipeline::dlq::FailureStage;

use super::Harness;
use crate::fault::AttemptStatus;

/// What the forward and store functions did, as their requests show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WireCounts {
    /// SendMessage to the queue answered 2xx (a SendMessageBatch entry answered in
    /// `Successful` counts as one).
    pub forwarded: u64,
    /// SendMessage to the queue that failed (an error answer or no answer; a SendMessageBatch
    /// entry that failed, alone or with its call, counts as one).
    pub forward_failures: u64,
    /// SendMessage to the DLQ answered 2xx.
    pub sent_to_dlq: u64,
    /// PutItem answered 2xx: items written.
    pub stored: u64,
    /// PutItem answered ConditionalCheckFailedException by the backend (not by a fault
    /// rule) and the store function did not dead-letter the event next: duplicates the
    /// condition suppressed.
    pub duplicates: u64,
    /// DLQ sends with `failure.stage=store` answered 2xx: conflicts the store function
    /// dead-lettered.
    pub conflicts: u64,
    /// Other failed PutItem attempts.
    pub store_failures: u64,
}

impl Harness {
    /// The forward and store hops counted from the journal (needs `fault_layer`, on for
    /// tests and scenarios).
    pub fn wire_counts(&self) -> WireCounts {
        let resources = &self.provisioned.resources;
        let mut c = WireCounts::default();
        // Events whose last PutItem failed the condition: if the store function's DLQ send
        // (`failure.stage=store`) for one follows, that condition failure was a conflict.
        let mut refused: HashSet<String> = HashSet::new();
        for a in self.journal.attempt_log() {
            let ok = matches!(a.status, AttemptStatus::Ok { .. });
            let resource = a.resource.as_deref();
            match (a.service.as_str(), a.operation.as_str()) {
                ("sqs", "SendMessage") if resource == Some(resources.queue.as_str()) => {
                    if ok {
                        c.forwarded += 1
                    } else {
                        c.forward_failures += 1
                    }
                }
                ("sqs", "SendMessageBatch") if resource == Some(resources.queue.as_str()) => {
                    for entry in &a.entries {
                        if entry.ok() {
                            c.forwarded += 1
                        } else {
                            c.forward_failures += 1
                        }
                    }
                }
                ("sqs", "SendMessage") if resource == Some(resources.dlq.as_str()) => {
                    let from_store =
                        a.failure_stage.as_deref() == Some(FailureStage::Store.as_str());
                    // Once per conflict, however many of its DLQ sends failed before one took.
                    if from_store && a.event_ids.iter().any(|id| refused.remove(id)) {
                        c.duplicates = c.duplicates.saturating_sub(1);
                    }
                    match (ok, from_store) {
                        (true, true) => c.conflicts += 1,
                        (true, false) => c.sent_to_dlq += 1,
                        (false, _) => {}
                    }
                }
                ("dynamodb", "PutItem") => match &a.status {
                    AttemptStatus::Ok { .. } => c.stored += 1,
                    AttemptStatus::AwsError { code, .. }
                        if code == "ConditionalCheckFailedException" && a.rule.is_none() =>
                    {
                        c.duplicates += 1;
                        refused.extend(a.event_ids.iter().cloned());
                    }
                    _ => c.store_failures += 1,
                },
                _ => {}
            }
        }
        c
    }
}
