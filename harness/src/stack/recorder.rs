//! Counts what happens to events, hop by hop, and measures PUT -> stored latency.
//!
//! The pipeline reports every hop to an `Observer`; this one keeps counters, the set of
//! accepted ids (to find lost events) and a latency histogram, and can also log each event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use pipeline::observe::{Observer, PipelineEvent, TracingObserver};
use tokio::time::Instant;

use crate::stats::{Percentiles, new_histogram};

/// Counts per hop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Events the ingest API accepted (Kinesis acknowledged them).
    pub ingested: u64,
    /// Envelopes on the queue.
    pub forwarded: u64,
    /// Failed SendMessage attempts (each retried or, at the last, sent to the DLQ).
    pub forward_retries: u64,
    /// Records or events the forward handler sent to the DLQ (conflicts are `conflicts`).
    pub sent_to_dlq: u64,
    /// DLQ sends that failed (the record was reported back to the mapping).
    pub dlq_send_failed: u64,
    /// Items written.
    pub stored: u64,
    /// Duplicate writes the condition suppressed (same id, same envelope digest).
    pub duplicates: u64,
    /// Conflicts: the id was stored with another envelope; this one went to the DLQ
    /// (`failure.stage=store`, `failure.reason=conflict`). Not counted in `sent_to_dlq`.
    pub conflicts: u64,
    /// Failed PutItem attempts.
    pub store_retries: u64,
    /// Messages reported failed by the store handler (left for the redrive policy).
    pub store_failed: u64,
}

#[derive(Default)]
struct Counters {
    ingested: AtomicU64,
    forwarded: AtomicU64,
    forward_retries: AtomicU64,
    sent_to_dlq: AtomicU64,
    dlq_send_failed: AtomicU64,
    stored: AtomicU64,
    duplicates: AtomicU64,
    conflicts: AtomicU64,
    store_retries: AtomicU64,
    store_failed: AtomicU64,
}

/// The harness's observer.
pub struct Recorder {
    counters: Counters,
    /// Accepted ids and when they were accepted (tokio time: scenario time under a paused clock).
    /// Kept only when `track_events`: a long-running `harness up` would grow it without bound.
    accepted: Mutex<HashMap<String, Instant>>,
    track_events: bool,
    latency: Mutex<Histogram<u64>>,
    log: Option<TracingObserver>,
}

impl Recorder {
    /// `track_events` keeps every accepted id (for `lost` and the PUT -> stored latency);
    /// without it only the counters are kept.
    pub fn new(log_events: bool, track_events: bool) -> Self {
        Recorder {
            counters: Counters::default(),
            accepted: Mutex::new(HashMap::new()),
            track_events,
            latency: Mutex::new(new_histogram()),
            log: log_events.then_some(TracingObserver),
        }
    }

    /// The counters per hop so far.
    pub fn counts(&self) -> Counts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            ingested: get(&c.ingested),
            forwarded: get(&c.forwarded),
            forward_retries: get(&c.forward_retries),
            sent_to_dlq: get(&c.sent_to_dlq),
            dlq_send_failed: get(&c.dlq_send_failed),
            stored: get(&c.stored),
            duplicates: get(&c.duplicates),
            conflicts: get(&c.conflicts),
            store_retries: get(&c.store_retries),
            store_failed: get(&c.store_failed),
        }
    }

    /// Every id the ingest API accepted, sorted.
    pub fn accepted_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.accepted).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// PUT accepted -> item stored, over the events stored so far (first write of each id).
    pub fn latency(&self) -> Percentiles {
        Percentiles::of(&lock(&self.latency))
    }

    /// Forgets the latencies recorded so far (a benchmark's warm-up).
    pub fn reset_latency(&self) {
        lock(&self.latency).reset();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Observer for Recorder {
    fn observe(&self, event: &PipelineEvent) {
        if let Some(log) = &self.log {
            log.observe(event);
        }
        let c = &self.counters;
        let bump = |a: &AtomicU64| a.fetch_add(1, Ordering::Relaxed);
        match event {
            PipelineEvent::Ingested { id, .. } => {
                bump(&c.ingested);
                if self.track_events {
                    lock(&self.accepted)
                        .entry(id.clone())
                        .or_insert_with(Instant::now);
                }
            }
            PipelineEvent::ForwardAttemptFailed { .. } => {
                bump(&c.forward_retries);
            }
            PipelineEvent::Forwarded { .. } => {
                bump(&c.forwarded);
            }
            PipelineEvent::SentToDlq { .. } => {
                bump(&c.sent_to_dlq);
            }
            PipelineEvent::DlqSendFailed { .. } => {
                bump(&c.dlq_send_failed);
            }
            PipelineEvent::Stored { id } => {
                bump(&c.stored);
                if !self.track_events {
                    return;
                }
                let accepted_at = lock(&self.accepted).get(id).copied();
                if let Some(at) = accepted_at {
                    let micros = at.elapsed().as_micros().max(1) as u64;
                    let _ = lock(&self.latency).record(micros);
                }
            }
            PipelineEvent::DuplicateSuppressed { .. } => {
                bump(&c.duplicates);
            }
            PipelineEvent::Conflict { .. } => {
                bump(&c.conflicts);
            }
            PipelineEvent::StoreAttemptFailed { .. } => {
                bump(&c.store_retries);
            }
            PipelineEvent::StoreFailed { .. } => {
                bump(&c.store_failed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingested(id: &str) -> PipelineEvent {
        PipelineEvent::Ingested {
            id: id.into(),
            stream: "default".into(),
            shard_id: "shardId-000000000000".into(),
            sequence_number: "1".into(),
        }
    }

    #[test]
    fn a_tracking_recorder_remembers_ids_and_measures_latency() {
        let r = Recorder::new(false, true);
        r.observe(&ingested("b"));
        r.observe(&ingested("a"));
        r.observe(&PipelineEvent::Stored { id: "a".into() });
        assert_eq!(r.accepted_ids(), ["a", "b"]);
        assert_eq!((r.counts().ingested, r.counts().stored), (2, 1));
        assert!(r.latency().max_us >= 1);
    }

    #[test]
    fn without_tracking_only_the_counters_grow() {
        let r = Recorder::new(false, false);
        r.observe(&ingested("a"));
        r.observe(&PipelineEvent::Stored { id: "a".into() });
        assert!(r.accepted_ids().is_empty());
        assert_eq!((r.counts().ingested, r.counts().stored), (1, 1));
        assert_eq!(r.latency().max_us, 0);
    }
}
