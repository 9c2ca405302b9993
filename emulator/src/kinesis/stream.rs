//! One stream's state, sans-io: its shards, their records, and the operations on them, with
//! time passed in. The service edge (`put`, `read`, `control`) validates input and builds output;
//! this file only keeps the invariants:
//! - each shard's records are in arrival order, their counters consecutive from `first`;
//! - arrival times never decrease within a shard (so `AT_TIMESTAMP` can binary-search);
//! - records older than the retention period are gone before anything reads the shard.

use std::collections::{BTreeMap, VecDeque};

use super::hashing;
use super::sequence::SequenceNumber;
use super::throughput::WriteWindow;
use crate::clock::Millis;

/// Largest GetRecords answer in data bytes (AWS: 10 MiB per call).
pub const MAX_READ_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// A stored record. The data stays the base64 text the producer sent (validated), so a
/// read hands it back without encoding again.
#[derive(Debug, Clone)]
pub struct Record {
    pub arrival: Millis,
    pub partition_key: String,
    pub data: String,
    /// Decoded data bytes plus partition key bytes: what the limits count.
    pub size: u64,
}

#[derive(Debug)]
pub struct Shard {
    pub id: String,
    pub hash_range: (u128, u128),
    records: VecDeque<Record>,
    /// Counter of `records[0]` (or of the next record when empty).
    first: u64,
    /// Counter the next appended record gets; counter 0 is the shard's starting number.
    next: u64,
    last_arrival: Millis,
    window: WriteWindow,
}

impl Shard {
    fn new(index: usize, hash_range: (u128, u128)) -> Self {
        Self {
            id: shard_id(index),
            hash_range,
            records: VecDeque::new(),
            first: 1,
            next: 1,
            last_arrival: Millis::MIN,
            window: WriteWindow::default(),
        }
    }

    /// Records currently held (after the last trim).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.records.len()
    }
}

/// `shardId-000000000000`.
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

/// The index a shard id names, if it has the exact form `shardId-` + 12 digits.
pub fn parse_shard_id(id: &str) -> Option<usize> {
    let digits = id.strip_prefix("shardId-")?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Where a new iterator starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    TrimHorizon,
    Latest,
    AtSequence(u64),
    AfterSequence(u64),
    AtTimestamp(Millis),
}

/// What one read returns.
#[derive(Debug)]
pub struct Read<'a> {
    pub records: Vec<(SequenceNumber, &'a Record)>,
    /// The counter the next read continues from.
    pub next_position: u64,
    /// How far the reader is behind the newest record, in ms (0 when caught up).
    pub millis_behind: Millis,
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled;

#[derive(Debug)]
pub struct Stream {
    pub name: String,
    pub arn: String,
    pub account: String,
    /// Unique per stream ever created, so a recreated stream's numbers and iterators differ.
    pub incarnation: u64,
    pub created: Millis,
    pub retention_hours: u32,
    pub mode: StreamMode,
    pub shards: Vec<Shard>,
    pub tags: BTreeMap<String, String>,
    ranges: Vec<(u128, u128)>,
}

impl Stream {
    pub fn new(
        name: String,
        arn: String,
        account: String,
        incarnation: u64,
        shard_count: u32,
        mode: StreamMode,
        now: Millis,
    ) -> Self {
        let ranges = hashing::even_ranges(shard_count);
        let shards = ranges
            .iter()
            .enumerate()
            .map(|(i, &range)| Shard::new(i, range))
            .collect();
        Self {
            name,
            arn,
            account,
            incarnation,
            created: now,
            retention_hours: 24,
            mode,
            shards,
            tags: BTreeMap::new(),
            ranges,
        }
    }

    pub fn sequence_number(&self, shard: usize, counter: u64) -> SequenceNumber {
        SequenceNumber {
            shard: shard as u32,
            counter,
            incarnation: self.incarnation,
        }
    }

    /// The shard's `SequenceNumberRange.StartingSequenceNumber`.
    pub fn starting_sequence_number(&self, shard: usize) -> SequenceNumber {
        self.sequence_number(shard, 0)
    }

    /// The open shard whose hash-key range holds `hash`.
    pub fn shard_for_hash(&self, hash: u128) -> usize {
        hashing::shard_for_hash(&self.ranges, hash)
    }

    fn retention_ms(&self) -> Millis {
        Millis::from(self.retention_hours) * 3_600_000
    }

    /// Drops the shard's records that are older than the retention period.
    pub fn trim(&mut self, shard: usize, now: Millis) {
        let cutoff = now - self.retention_ms();
        let shard = &mut self.shards[shard];
        let before = shard.records.len();
        while shard.records.front().is_some_and(|r| r.arrival < cutoff) {
            shard.records.pop_front();
            shard.first += 1;
        }
        // A deque keeps its peak capacity: give the room back once most of it is empty, so
        // memory follows what the shard holds (amortised O(1), as for the SQS message map).
        let (len, capacity) = (shard.records.len(), shard.records.capacity());
        if len < before && capacity > 64 && len < capacity / 4 {
            shard.records.shrink_to(len * 2);
        }
    }

    /// Appends a record to a shard and returns its sequence number. With `enforce_throughput`
    /// a write beyond the shard's per-second limits is refused and nothing is stored.
    pub fn append(
        &mut self,
        shard: usize,
        partition_key: String,
        data: String,
        size: u64,
        now: Millis,
        enforce_throughput: bool,
    ) -> Result<SequenceNumber, Throttled> {
        self.trim(shard, now);
        let incarnation = self.incarnation;
        let s = &mut self.shards[shard];
        if enforce_throughput && !s.window.admit(now, size) {
            return Err(Throttled);
        }
        let arrival = now.max(s.last_arrival);
        s.last_arrival = arrival;
        let counter = s.next;
        s.next += 1;
        s.records.push_back(Record {
            arrival,
            partition_key,
            data,
            size,
        });
        Ok(SequenceNumber {
            shard: shard as u32,
            counter,
            incarnation,
        })
    }

    /// The position (record counter) an iterator of the given kind starts at.
    pub fn position(&mut self, shard: usize, start: Start, now: Millis) -> u64 {
        self.trim(shard, now);
        let s = &self.shards[shard];
        match start {
            Start::TrimHorizon => s.first,
            Start::Latest => s.next,
            Start::AtSequence(counter) => counter,
            Start::AfterSequence(counter) => counter.saturating_add(1),
            Start::AtTimestamp(at) => {
                s.first + s.records.partition_point(|r| r.arrival < at) as u64
            }
        }
    }

    /// Reads up to `limit` records (and at most 10 MiB of data) from `position` on.
    pub fn read(&mut self, shard: usize, position: u64, limit: usize, now: Millis) -> Read<'_> {
        self.trim(shard, now);
        let incarnation = self.incarnation;
        let s = &self.shards[shard];
        let from = position.max(s.first);
        let skip = usize::try_from(from - s.first).unwrap_or(usize::MAX);
        let mut records = Vec::new();
        let mut bytes = 0u64;
        for (i, record) in s.records.iter().enumerate().skip(skip).take(limit) {
            if !records.is_empty() && bytes + record.size > MAX_READ_BYTES {
                break;
            }
            bytes += record.size;
            let seq = SequenceNumber {
                shard: shard as u32,
                counter: s.first + i as u64,
                incarnation,
            };
            records.push((seq, record));
        }
        let next_position = from + records.len() as u64;
        let millis_behind = usize::try_from(next_position - s.first)
            .ok()
            .and_then(|i| s.records.get(i))
            .map_or(0, |unread| (now - unread.arrival).max(0));
        Read {
            records,
            next_position,
            millis_behind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;

    fn stream(shards: u32) -> Stream {
        Stream::new(
            "s".into(),
            "arn:aws:kinesis:us-east-1:000000000000:stream/s".into(),
            "000000000000".into(),
            1,
            shards,
            StreamMode::Provisioned,
            0,
        )
    }

    fn put(s: &mut Stream, shard: usize, data: &str, now: Millis) -> SequenceNumber {
        s.append(shard, "pk".into(), data.into(), 4, now, false)
            .unwrap()
    }

    fn data(read: &Read<'_>) -> Vec<String> {
        read.records.iter().map(|(_, r)| r.data.clone()).collect()
    }

    #[test]
    fn sequence_numbers_strictly_increase_per_shard_and_differ_across_shards() {
        let mut s = stream(2);
        let a = put(&mut s, 0, "a", 10);
        let b = put(&mut s, 0, "b", 10);
        let c = put(&mut s, 1, "c", 10);
        assert!(a.to_string() < b.to_string());
        assert_ne!(a.to_string(), c.to_string());
        assert!(s.starting_sequence_number(0).to_string() < a.to_string());
    }

    #[test]
    fn reads_follow_positions_and_limits() {
        let mut s = stream(1);
        for (i, d) in ["a", "b", "c"].iter().enumerate() {
            put(&mut s, 0, d, i as Millis);
        }
        let start = s.position(0, Start::TrimHorizon, 5);
        let read = s.read(0, start, 2, 5);
        assert_eq!(data(&read), ["a", "b"]);
        assert_eq!(read.millis_behind, 5 - 2);
        let next = read.next_position;
        let read = s.read(0, next, 10, 5);
        assert_eq!(data(&read), ["c"]);
        assert_eq!(read.millis_behind, 0);
        let next = read.next_position;
        let read = s.read(0, next, 10, 5);
        assert!(read.records.is_empty());
    }

    #[test]
    fn at_and_after_sequence_number_start_at_and_after_the_record() {
        let mut s = stream(1);
        put(&mut s, 0, "a", 1);
        let b = put(&mut s, 0, "b", 2);
        put(&mut s, 0, "c", 3);
        let at = s.position(0, Start::AtSequence(b.counter), 4);
        assert_eq!(data(&s.read(0, at, 10, 4)), ["b", "c"]);
        let after = s.position(0, Start::AfterSequence(b.counter), 4);
        assert_eq!(data(&s.read(0, after, 10, 4)), ["c"]);
    }

    #[test]
    fn at_timestamp_includes_a_record_that_arrived_exactly_then() {
        let mut s = stream(1);
        put(&mut s, 0, "a", 100);
        put(&mut s, 0, "b", 200);
        let at = s.position(0, Start::AtTimestamp(200), 300);
        assert_eq!(data(&s.read(0, at, 10, 300)), ["b"]);
        let at = s.position(0, Start::AtTimestamp(201), 300);
        assert!(s.read(0, at, 10, 300).records.is_empty());
        put(&mut s, 0, "c", 300);
        assert_eq!(data(&s.read(0, at, 10, 300)), ["c"]);
    }

    #[test]
    fn a_trimmed_shard_gives_its_room_back() {
        let mut s = stream(1);
        for n in 0..10_000 {
            put(&mut s, 0, "x", n);
        }
        let peak = s.shards[0].records.capacity();
        // Every record past the retention period: trimmed by the next read.
        let horizon = s.position(0, Start::TrimHorizon, 48 * HOUR);
        assert!(s.read(0, horizon, 10, 48 * HOUR).records.is_empty());
        assert_eq!(s.shards[0].len(), 0);
        assert!(s.shards[0].records.capacity() < peak / 100, "{peak}");
    }

    #[test]
    fn latest_sees_only_records_put_after_it() {
        let mut s = stream(1);
        put(&mut s, 0, "old", 1);
        let latest = s.position(0, Start::Latest, 2);
        assert!(s.read(0, latest, 10, 2).records.is_empty());
        put(&mut s, 0, "new", 3);
        assert_eq!(data(&s.read(0, latest, 10, 3)), ["new"]);
    }

    #[test]
    fn records_older_than_retention_are_trimmed_from_every_read() {
        let mut s = stream(1);
        put(&mut s, 0, "old", 0);
        put(&mut s, 0, "new", HOUR);
        let horizon = s.position(0, Start::TrimHorizon, 0);
        // At exactly 24 h the first record is still retained; a millisecond later it is gone.
        assert_eq!(data(&s.read(0, horizon, 10, 24 * HOUR)), ["old", "new"]);
        assert_eq!(data(&s.read(0, horizon, 10, 24 * HOUR + 1)), ["new"]);
        assert_eq!(s.shards[0].len(), 1);
        let trim = s.position(0, Start::TrimHorizon, 24 * HOUR + 1);
        assert_eq!(data(&s.read(0, trim, 10, 24 * HOUR + 1)), ["new"]);
        // A longer retention keeps records longer.
        s.retention_hours = 48;
        assert_eq!(data(&s.read(0, trim, 10, 26 * HOUR)), ["new"]);
    }

    #[test]
    fn arrival_times_never_go_backwards_within_a_shard() {
        let mut s = stream(1);
        put(&mut s, 0, "a", 50);
        put(&mut s, 0, "b", 40);
        let read = s.read(0, 1, 10, 60);
        assert_eq!(read.records[1].1.arrival, 50);
    }

    #[test]
    fn throttled_writes_store_nothing() {
        let mut s = stream(1);
        for _ in 0..1000 {
            s.append(0, "k".into(), "QQ==".into(), 2, 0, true).unwrap();
        }
        assert_eq!(
            s.append(0, "k".into(), "QQ==".into(), 2, 999, true),
            Err(Throttled)
        );
        assert_eq!(s.shards[0].len(), 1000);
        assert!(
            s.append(0, "k".into(), "QQ==".into(), 2, 1000, true)
                .is_ok()
        );
    }

    #[test]
    fn shard_ids_are_twelve_digit_zero_padded() {
        assert_eq!(shard_id(6), "shardId-000000000006");
        assert_eq!(parse_shard_id("shardId-000000000006"), Some(6));
        assert_eq!(parse_shard_id("shardId-6"), None);
        assert_eq!(parse_shard_id("6"), None);
    }
}
