//! The journeys: every [`PipelineEvent`] of every event id, with when it happened, kept by an
//! [`Observer`] for the HTML report and the live view.
//!
//! Times are offsets from the log's creation on tokio's clock (scenario time under a paused
//! clock, wall time otherwise). A bounded log (the live view of a long-running `harness up`)
//! keeps the journeys of the latest ids only; the per-shard record counts stay exact.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pipeline::observe::{Observer, PipelineEvent};
use tokio::time::Instant;

/// Ids the live view remembers most recently stored.
const LATEST_STORED: usize = 50;

/// One observed step of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// When, from the log's creation.
    pub at: Duration,
    /// What happened.
    pub event: PipelineEvent,
}

/// Every hop of every event, by id, in the order ids were first seen.
pub struct JourneyLog {
    origin: Instant,
    capacity: Option<usize>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    order: VecDeque<String>,
    by_id: HashMap<String, Vec<Observed>>,
    /// Records the ingest API put, per shard (exact, never evicted).
    shard_records: BTreeMap<String, u64>,
    latest_stored: VecDeque<String>,
    poison: u64,
}

impl std::fmt::Debug for JourneyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneyLog")
            .field("events", &self.lock().order.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for JourneyLog {
    fn default() -> Self {
        Self::new()
    }
}

impl JourneyLog {
    /// A log of every event, its clock starting now (create it before the harness, so the
    /// journal's times, which start with the harness, are later on this axis).
    pub fn new() -> Self {
        JourneyLog {
            origin: Instant::now(),
            capacity: None,
            state: Mutex::default(),
        }
    }

    /// A log that keeps the journeys of the latest `events` ids only (a long-running
    /// `harness up` would otherwise grow it without bound).
    pub fn bounded(events: usize) -> Self {
        JourneyLog {
            capacity: Some(events.max(1)),
            ..Self::new()
        }
    }

    /// When the log's clock started.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Every journey, in the order ids were first seen.
    pub fn journeys(&self) -> Vec<(String, Vec<Observed>)> {
        let state = self.lock();
        state
            .order
            .iter()
            .map(|id| (id.clone(), state.by_id.get(id).cloned().unwrap_or_default()))
            .collect()
    }

    /// The journeys of the `n` ids seen last, newest first.
    pub fn latest(&self, n: usize) -> Vec<(String, Vec<Observed>)> {
        let state = self.lock();
        state
            .order
            .iter()
            .rev()
            .take(n)
            .map(|id| (id.clone(), state.by_id.get(id).cloned().unwrap_or_default()))
            .collect()
    }

    /// The ids stored last (first write of each), newest first, at most 50.
    pub fn latest_stored(&self) -> Vec<String> {
        self.lock().latest_stored.iter().rev().cloned().collect()
    }

    /// Records the ingest API put on each shard, by shard id.
    pub fn shard_records(&self) -> BTreeMap<String, u64> {
        self.lock().shard_records.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The id an event is filed under: poison records (no envelope id) get `poison-N`.
fn id_of(event: &PipelineEvent, poison: &mut u64) -> String {
    match event {
        PipelineEvent::Ingested { id, .. }
        | PipelineEvent::ForwardAttemptFailed { id, .. }
        | PipelineEvent::Forwarded { id, .. }
        | PipelineEvent::Stored { id }
        | PipelineEvent::DuplicateSuppressed { id }
        | PipelineEvent::Conflict { id, .. }
        | PipelineEvent::StoreAttemptFailed { id, .. }
        | PipelineEvent::StoreFailed { id, .. } => id.clone(),
        PipelineEvent::SentToDlq { id, .. } | PipelineEvent::DlqSendFailed { id, .. } => match id {
            Some(id) => id.clone(),
            None => {
                *poison += 1;
                format!("poison-{poison}")
            }
        },
    }
}

impl Observer for JourneyLog {
    fn observe(&self, event: &PipelineEvent) {
        let at = self.origin.elapsed();
        let mut state = self.lock();
        let state = &mut *state;
        let id = id_of(event, &mut state.poison);
        if let PipelineEvent::Ingested { shard_id, .. } = event {
            *state.shard_records.entry(shard_id.clone()).or_default() += 1;
        }
        let first_store = matches!(event, PipelineEvent::Stored { .. })
            && !state.by_id.get(&id).is_some_and(|j| {
                j.iter()
                    .any(|o| matches!(o.event, PipelineEvent::Stored { .. }))
            });
        if first_store {
            state.latest_stored.push_back(id.clone());
            if state.latest_stored.len() > LATEST_STORED {
                state.latest_stored.pop_front();
            }
        }
        let journey = match state.by_id.get_mut(&id) {
            Some(journey) => journey,
            None => {
                state.order.push_back(id.clone());
                if let Some(cap) = self.capacity
                    && state.order.len() > cap
                    && let Some(old) = state.order.pop_front()
                {
                    state.by_id.remove(&old);
                }
                state.by_id.entry(id).or_default()
            }
        };
        journey.push(Observed {
            at,
            event: event.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingested(id: &str, shard: &str) -> PipelineEvent {
        PipelineEvent::Ingested {
            id: id.into(),
            stream: "default".into(),
            shard_id: shard.into(),
            sequence_number: "1".into(),
        }
    }

    #[test]
    fn journeys_are_kept_per_id_in_first_seen_order() {
        let log = JourneyLog::new();
        log.observe(&ingested("b", "s-0"));
        log.observe(&ingested("a", "s-1"));
        log.observe(&PipelineEvent::Stored { id: "b".into() });
        log.observe(&PipelineEvent::Stored { id: "b".into() });
        log.observe(&PipelineEvent::SentToDlq {
            id: None,
            stage: pipeline::dlq::FailureStage::Decode,
            reason: "not an envelope".into(),
            attempts: 0,
        });
        let journeys = log.journeys();
        let ids: Vec<&str> = journeys.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "poison-1"]);
        assert_eq!(journeys[0].1.len(), 3);
        assert_eq!(log.latest_stored(), ["b"]);
        assert_eq!(log.shard_records()["s-0"], 1);
        assert_eq!(log.latest(1)[0].0, "poison-1");
    }

    #[test]
    fn a_bounded_log_forgets_the_oldest_ids_but_counts_every_record() {
        let log = JourneyLog::bounded(2);
        for id in ["a", "b", "c"] {
            log.observe(&ingested(id, "s-0"));
        }
        let ids: Vec<String> = log.journeys().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(log.shard_records()["s-0"], 3);
    }
}
