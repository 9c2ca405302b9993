//! The soak's observer: per event id, how often the store handler wrote it (a `Stored`
//! event is one PutItem that succeeded, so one effective write) and the last reason the
//! store handler gave up on it (what explains a message the redrive policy dead-lettered).

use std::collections::HashMap;
use std::sync::Mutex;

use pipeline::observe::{Observer, PipelineEvent};

/// What the pipeline reported about one id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// PutItem calls that succeeded (wrote the item).
    pub stored: u32,
    /// Writes the condition suppressed as duplicates.
    pub duplicates: u32,
    /// The last reason the store handler left the message for the redrive policy.
    pub last_store_failure: Option<String>,
    /// Deliveries found stored with another envelope (conflicts).
    pub conflicts: u32,
}

/// Keeps a [`Seen`] per id; give it to [`crate::HarnessOptions::observe`].
#[derive(Debug, Default)]
pub struct Tracker {
    by_id: Mutex<HashMap<String, Seen>>,
}

impl Tracker {
    /// What was seen of `id` (default: nothing).
    pub fn seen(&self, id: &str) -> Seen {
        self.lock().get(id).cloned().unwrap_or_default()
    }

    /// Ids written more than once, sorted.
    pub fn written_more_than_once(&self) -> Vec<String> {
        self.ids_where(|seen| seen.stored > 1)
    }

    /// Ids the store handler found stored with another envelope, sorted.
    pub fn conflicted(&self) -> Vec<String> {
        self.ids_where(|seen| seen.conflicts > 0)
    }

    /// Conflicts seen, over all ids (each one dead-lettered with `failure.reason=conflict`).
    pub fn conflicts(&self) -> u64 {
        self.lock()
            .values()
            .map(|seen| u64::from(seen.conflicts))
            .sum()
    }

    fn ids_where(&self, keep: impl Fn(&Seen) -> bool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, seen)| keep(seen))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Observer for Tracker {
    fn observe(&self, event: &PipelineEvent) {
        match event {
            PipelineEvent::Stored { id } => self.lock().entry(id.clone()).or_default().stored += 1,
            PipelineEvent::DuplicateSuppressed { id } => {
                self.lock().entry(id.clone()).or_default().duplicates += 1
            }
            PipelineEvent::Conflict { id, .. } => {
                self.lock().entry(id.clone()).or_default().conflicts += 1
            }
            PipelineEvent::StoreFailed { id, reason } => {
                self.lock()
                    .entry(id.clone())
                    .or_default()
                    .last_store_failure = Some(reason.clone())
            }
            // Other hops are counted by the harness's recorder.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_writes_per_id_and_keeps_the_last_store_failure() {
        let t = Tracker::default();
        for event in [
            PipelineEvent::Stored { id: "a".into() },
            PipelineEvent::DuplicateSuppressed { id: "a".into() },
            PipelineEvent::StoreFailed {
                id: "b".into(),
                reason: "throttled".into(),
            },
            PipelineEvent::Stored { id: "b".into() },
            PipelineEvent::Stored { id: "b".into() },
        ] {
            t.observe(&event);
        }
        assert_eq!(
            t.seen("a"),
            Seen {
                stored: 1,
                duplicates: 1,
                last_store_failure: None,
                conflicts: 0,
            }
        );
        assert_eq!(t.seen("b").last_store_failure.as_deref(), Some("throttled"));
        assert_eq!(t.written_more_than_once(), ["b"]);
        assert_eq!(t.seen("c"), Seen::default());
    }

    #[test]
    fn conflicts_are_counted_per_id_and_in_all() {
        let t = Tracker::default();
        for id in ["a", "a", "b"] {
            t.observe(&PipelineEvent::Conflict {
                id: id.into(),
                digest: "sha256:2".into(),
                stored_digest: "sha256:1".into(),
            });
        }
        assert_eq!(t.conflicted(), ["a", "b"]);
        assert_eq!(t.conflicts(), 3);
        assert_eq!(t.seen("a").conflicts, 2);
    }
}
