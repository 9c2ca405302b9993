//! Checkpoints: where each shard's consumer resumes, and which records may be checkpointed.
//!
//! A checkpoint is the sequence number of the last record a shard's consumer finished
//! (processed, or discarded after its retries); a restarted consumer reads AFTER it, as a new
//! lease holder does in Lambda. Sequence numbers are compared as big integers (AWS-SEMANTICS
//! 1.3). With ParallelizationFactor > 1 records finish out of order, so the [`Tracker`] only
//! moves the checkpoint past a record once every lower record is finished too.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::esm::BoxError;

/// A Kinesis sequence number, ordered as the big integer it spells (the original text is kept,
/// since AFTER_SEQUENCE_NUMBER wants it back verbatim).
#[derive(Debug, Clone)]
pub struct SeqNum(String);

impl SeqNum {
    /// The sequence number `seq`, as Kinesis spelled it.
    pub fn new(seq: &str) -> Self {
        Self(seq.to_owned())
    }

    /// The sequence number as Kinesis spelled it (leading zeros kept).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn digits(&self) -> &str {
        let trimmed = self.0.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }
    }
}

impl Ord for SeqNum {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.digits(), other.digits());
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SeqNum {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SeqNum {}

impl std::hash::Hash for SeqNum {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.digits().hash(state);
    }
}

/// Where the mappings keep their per-shard checkpoints; shared across restarts of a mapping.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// The last checkpointed sequence number of a shard, if any.
    async fn get(&self, stream: &str, shard_id: &str) -> Result<Option<String>, BoxError>;
    /// Records that every record of the shard up to and including `seq` is finished.
    async fn set(&self, stream: &str, shard_id: &str, seq: &str) -> Result<(), BoxError>;
}

/// Checkpoints in memory: survives restarts of a mapping when the same `Arc` is handed in.
/// A checkpoint never moves backwards.
#[derive(Debug, Default)]
pub struct InMemoryCheckpoints {
    map: Mutex<HashMap<(String, String), SeqNum>>,
}

impl InMemoryCheckpoints {
    /// An empty store: every shard starts from the mapping's starting position.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checkpoint of a shard, without going through the async trait.
    pub fn checkpoint(&self, stream: &str, shard_id: &str) -> Option<String> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(stream.to_owned(), shard_id.to_owned()))
            .map(|s| s.as_str().to_owned())
    }
}

#[async_trait]
impl CheckpointStore for InMemoryCheckpoints {
    async fn get(&self, stream: &str, shard_id: &str) -> Result<Option<String>, BoxError> {
        Ok(self.checkpoint(stream, shard_id))
    }

    async fn set(&self, stream: &str, shard_id: &str, seq: &str) -> Result<(), BoxError> {
        let seq = SeqNum::new(seq);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry((stream.to_owned(), shard_id.to_owned()))
            .or_insert_with(|| seq.clone());
        if seq > *entry {
            *entry = seq;
        }
        Ok(())
    }
}

/// The records a shard's consumer has read and not yet checkpointed, with whether each is
/// finished.
#[derive(Debug, Default)]
pub struct Tracker {
    records: BTreeMap<SeqNum, bool>,
}

impl Tracker {
    /// Notes records as read and not yet finished (ones already noted keep their state).
    pub fn add(&mut self, seqs: impl IntoIterator<Item = SeqNum>) {
        for seq in seqs {
            self.records.entry(seq).or_insert(false);
        }
    }

    /// Marks records finished (handled, or sent to the on-failure destination).
    pub fn finish<'a>(&mut self, seqs: impl IntoIterator<Item = &'a SeqNum>) {
        for seq in seqs {
            if let Some(done) = self.records.get_mut(seq) {
                *done = true;
            }
        }
    }

    /// The highest record below which (inclusive) everything is finished, if that moved.
    pub fn checkpointable(&self) -> Option<SeqNum> {
        self.records
            .iter()
            .take_while(|(_, done)| **done)
            .last()
            .map(|(seq, _)| seq.clone())
    }

    /// Forgets everything up to and including a checkpoint that has been stored.
    pub fn committed(&mut self, checkpoint: &SeqNum) {
        self.records = self.records.split_off(checkpoint);
        self.records.remove(checkpoint);
    }

    /// Records read and not yet checkpointed (finished or not).
    pub fn outstanding(&self) -> usize {
        self.records.len()
    }

    /// Forgets every record (the consumer restarts from its checkpoint).
    pub fn clear(&mut self) {
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(v: &[&str]) -> Vec<SeqNum> {
        v.iter().map(|s| SeqNum::new(s)).collect()
    }

    #[test]
    fn sequence_numbers_compare_as_big_integers() {
        assert!(SeqNum::new("9") < SeqNum::new("10"));
        assert!(
            SeqNum::new("49590338271490256608559692538361571095921575989136588898")
                > SeqNum::new("4959033827149025660855969253836157109592157598913658889")
        );
        assert_eq!(SeqNum::new("007"), SeqNum::new("7"));
    }

    #[test]
    fn checkpoint_waits_for_every_lower_record() {
        let mut t = Tracker::default();
        t.add(seqs(&["1", "2", "3", "10"]));
        t.finish(&seqs(&["2", "10"]));
        assert_eq!(t.checkpointable(), None);
        t.finish(&seqs(&["1"]));
        assert_eq!(t.checkpointable(), Some(SeqNum::new("2")));
        t.committed(&SeqNum::new("2"));
        assert_eq!(t.outstanding(), 2);
        t.finish(&seqs(&["3"]));
        assert_eq!(t.checkpointable(), Some(SeqNum::new("10")));
        t.committed(&SeqNum::new("10"));
        assert_eq!(t.outstanding(), 0);
    }

    #[tokio::test]
    async fn in_memory_checkpoints_never_move_backwards() {
        let store = InMemoryCheckpoints::new();
        store.set("s", "shard-0", "100").await.unwrap();
        store.set("s", "shard-0", "99").await.unwrap();
        assert_eq!(
            store.get("s", "shard-0").await.unwrap().as_deref(),
            Some("100")
        );
        assert_eq!(store.get("s", "shard-1").await.unwrap(), None);
    }
}
