//! The soak's invariants, checked against the table, the DLQ and the per-id tracker:
//!
//! - **stored exactly once**: every accepted id is in the table with the payload it was
//!   accepted with, and no id was written more than once (a `Stored` event per successful
//!   PutItem: a second one is a second effective write, a *double effect*);
//! - **nothing lost**: an accepted id missing from the table (or stored with another
//!   payload) is lost unless it is on the DLQ with an explanation;
//! - **every DLQ entry explained**: `failure.stage` and `failure.reason` (what the forwarder,
//!   or the store on a conflict, writes), Lambda's on-failure record (its `condition`), or a
//!   message the queue's redrive policy moved after `maxReceiveCount` receives (which carries
//!   no attributes, `pipeline::dlq`; the store's last failure reason is named when it had one).

use std::collections::{BTreeMap, HashMap};

use pipeline::dlq::{ATTR_REASON, ATTR_STAGE};
use serde_json::Value;

use super::tracker::Tracker;
use crate::stack::DlqEntry;

/// At most this many offending ids are named per invariant.
pub const NAMED: usize = 20;

/// Why a message is on the DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    /// The pipeline's `failure.stage` / `failure.reason` attributes.
    Attributes {
        /// `failure.stage`.
        stage: String,
        /// `failure.reason`.
        reason: String,
    },
    /// Lambda's on-failure record for discarded Kinesis records.
    OnFailure {
        /// `requestContext.condition` (`RetryAttemptsExhausted`, ...).
        condition: String,
    },
    /// Moved by the queue's redrive policy after this many receives.
    RedrivePolicy {
        /// `ApproximateReceiveCount`.
        receives: u32,
        /// The store handler's last failure reason for the id, if it reported one.
        last_store_failure: Option<String>,
    },
}

/// How `entry` came to be on the DLQ, or `None` if nothing explains it.
pub fn explain(entry: &DlqEntry, max_receive_count: u32, tracker: &Tracker) -> Option<Explanation> {
    if let (Some(stage), Some(reason)) = (
        entry.attributes.get(ATTR_STAGE),
        entry.attributes.get(ATTR_REASON),
    ) {
        return Some(Explanation::Attributes {
            stage: stage.clone(),
            reason: reason.clone(),
        });
    }
    if let Ok(body) = serde_json::from_str::<Value>(&entry.body)
        && let Some(condition) = body["requestContext"]["condition"].as_str()
    {
        return Some(Explanation::OnFailure {
            condition: condition.to_owned(),
        });
    }
    let id = entry.id.as_deref()?;
    (entry.receive_count >= max_receive_count).then(|| Explanation::RedrivePolicy {
        receives: entry.receive_count,
        last_store_failure: tracker.seen(id).last_store_failure,
    })
}

/// The outcome of the check.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// Accepted ids neither stored with their payload nor on the DLQ with an explanation.
    pub lost: Vec<String>,
    /// Ids written more than once.
    pub double_effects: Vec<String>,
    /// Events stored with another envelope under an accepted id (DLQ `failure.reason` =
    /// `conflict`); a soak only retries true duplicates, so any is a fault.
    pub conflicts: u64,
    /// The ids of those conflicts.
    pub conflicted: Vec<String>,
    /// DLQ entries (before or after the redrive) nothing explains: their ids or message ids.
    pub unexplained: Vec<String>,
    /// Messages on the DLQ after the faulty run, before the redrive.
    pub dlq: u64,
    /// Messages the redrive moved back to the queue.
    pub redriven: u64,
    /// Accepted ids still on the DLQ at the end (explained: not lost).
    pub still_dead: Vec<String>,
}

impl Verdict {
    /// Whether every invariant holds.
    pub fn holds(&self) -> bool {
        self.lost.is_empty()
            && self.double_effects.is_empty()
            && self.conflicts == 0
            && self.unexplained.is_empty()
    }

    /// `soak: lost 0, double effects 0, conflicts 0, dlq N, redriven N`.
    pub fn line(&self) -> String {
        format!(
            "soak: lost {}, double effects {}, conflicts {}, dlq {}, redriven {}",
            self.lost.len(),
            self.double_effects.len(),
            self.conflicts,
            self.dlq,
            self.redriven
        )
    }

    /// One line per broken invariant, naming up to [`NAMED`] offending ids.
    pub fn failures(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (what, ids) in [
            ("lost", &self.lost),
            ("written more than once", &self.double_effects),
            ("unexplained DLQ entries", &self.unexplained),
        ] {
            if !ids.is_empty() {
                lines.push(format!("{what} ({}): {}", ids.len(), named(ids)));
            }
        }
        if self.conflicts > 0 {
            lines.push(format!(
                "conflicts ({}): {} (a retry with the same id and payload was taken for another event)",
                self.conflicts,
                named(&self.conflicted)
            ));
        }
        lines
    }
}

fn named(ids: &[String]) -> String {
    let mut text = ids
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > NAMED {
        text.push_str(&format!(", ... ({} more)", ids.len() - NAMED));
    }
    text
}

/// What the check reads.
pub struct Evidence<'a> {
    /// Accepted ids and their payloads.
    pub accepted: &'a BTreeMap<String, Value>,
    /// The table's items by id (as JSON).
    pub items: &'a HashMap<String, Value>,
    /// The DLQ after the faulty run (before the redrive).
    pub dlq_before: &'a [DlqEntry],
    /// The DLQ at the end.
    pub dlq_after: &'a [DlqEntry],
    /// Messages the redrive moved.
    pub redriven: u64,
    /// The queue's `maxReceiveCount`.
    pub max_receive_count: u32,
    /// Per-id writes and failures.
    pub tracker: &'a Tracker,
}

/// Checks the invariants on `evidence`.
pub fn check(evidence: &Evidence<'_>) -> Verdict {
    let explained =
        |entry: &DlqEntry| explain(entry, evidence.max_receive_count, evidence.tracker).is_some();
    let mut unexplained: Vec<String> = evidence
        .dlq_before
        .iter()
        .chain(evidence.dlq_after)
        .filter(|e| !explained(e))
        .map(|e| {
            e.id.clone()
                .unwrap_or_else(|| format!("message {}", e.message_id))
        })
        .collect();
    unexplained.sort();
    unexplained.dedup();
    let dead_at_end: std::collections::HashSet<&str> = evidence
        .dlq_after
        .iter()
        .filter(|e| explained(e))
        .filter_map(|e| e.id.as_deref())
        .collect();
    let mut lost = Vec::new();
    let mut still_dead = Vec::new();
    for (id, payload) in evidence.accepted {
        let stored_right = evidence
            .items
            .get(id)
            .is_some_and(|item| item.get("payload") == Some(payload));
        if stored_right {
            continue;
        }
        if dead_at_end.contains(id.as_str()) {
            still_dead.push(id.clone());
        } else {
            lost.push(id.clone());
        }
    }
    Verdict {
        lost,
        double_effects: evidence.tracker.written_more_than_once(),
        conflicts: evidence.tracker.conflicts(),
        conflicted: evidence.tracker.conflicted(),
        unexplained,
        dlq: evidence.dlq_before.len() as u64,
        redriven: evidence.redriven,
        still_dead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::observe::{Observer, PipelineEvent};
    use serde_json::json;

    fn entry(id: Option<&str>, attributes: &[(&str, &str)], receives: u32) -> DlqEntry {
        DlqEntry {
            id: id.map(str::to_owned),
            message_id: "m-1".into(),
            body: id.map_or("raw".into(), |id| json!({"id": id}).to_string()),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            receive_count: receives,
        }
    }

    #[test]
    fn dlq_entries_are_explained_by_attributes_on_failure_records_or_the_redrive_policy() {
        let t = Tracker::default();
        t.observe(&PipelineEvent::StoreFailed {
            id: "b".into(),
            reason: "throttled".into(),
        });
        let attrs = entry(
            Some("a"),
            &[(ATTR_STAGE, "forward"), (ATTR_REASON, "500")],
            1,
        );
        assert!(
            matches!(explain(&attrs, 3, &t), Some(Explanation::Attributes { stage, .. }) if stage == "forward")
        );
        assert_eq!(
            explain(&entry(Some("b"), &[], 4), 3, &t),
            Some(Explanation::RedrivePolicy {
                receives: 4,
                last_store_failure: Some("throttled".into())
            })
        );
        // Received fewer times than the policy's count, no attributes: nothing explains it.
        assert_eq!(explain(&entry(Some("c"), &[], 1), 3, &t), None);
        let on_failure = DlqEntry {
            body: json!({"requestContext": {"condition": "RetryAttemptsExhausted"}}).to_string(),
            ..entry(None, &[], 1)
        };
        assert!(matches!(
            explain(&on_failure, 3, &t),
            Some(Explanation::OnFailure { .. })
        ));
    }

    #[test]
    fn an_accepted_id_missing_or_with_another_payload_is_lost_unless_dead_lettered() {
        let t = Tracker::default();
        let accepted: BTreeMap<String, Value> = [
            ("a".to_owned(), json!({"n": 1})),
            ("b".to_owned(), json!({"n": 2})),
            ("c".to_owned(), json!({"n": 3})),
            ("d".to_owned(), json!({"n": 4})),
        ]
        .into();
        let items: HashMap<String, Value> = [
            ("a".to_owned(), json!({"id": "a", "payload": {"n": 1}})),
            ("b".to_owned(), json!({"id": "b", "payload": {"n": 20}})),
        ]
        .into();
        let dlq_after = [entry(
            Some("d"),
            &[(ATTR_STAGE, "store"), (ATTR_REASON, "x")],
            1,
        )];
        let verdict = check(&Evidence {
            accepted: &accepted,
            items: &items,
            dlq_before: &[],
            dlq_after: &dlq_after,
            redriven: 0,
            max_receive_count: 3,
            tracker: &t,
        });
        assert_eq!(verdict.lost, ["b", "c"]);
        assert_eq!(verdict.still_dead, ["d"]);
        assert!(!verdict.holds());
        assert_eq!(
            verdict.line(),
            "soak: lost 2, double effects 0, conflicts 0, dlq 0, redriven 0"
        );
        assert_eq!(verdict.failures(), ["lost (2): b, c"]);
    }

    #[test]
    fn a_second_write_is_a_double_effect_and_many_ids_are_cut_at_twenty() {
        let t = Tracker::default();
        for _ in 0..2 {
            t.observe(&PipelineEvent::Stored { id: "a".into() });
        }
        let none = BTreeMap::new();
        let verdict = check(&Evidence {
            accepted: &none,
            items: &HashMap::new(),
            dlq_before: &[],
            dlq_after: &[],
            redriven: 0,
            max_receive_count: 3,
            tracker: &t,
        });
        assert_eq!(verdict.double_effects, ["a"]);
        let many: Vec<String> = (0..25).map(|i| format!("e-{i}")).collect();
        assert!(named(&many).ends_with("e-19, ... (5 more)"));
    }
}
