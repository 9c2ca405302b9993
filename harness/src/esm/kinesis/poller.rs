//! A shard's consumer: the supervisor that restarts it from its checkpoint after a crash, and
//! the reader that polls GetRecords and hands records to the shard's lanes.
//!
//! Lambda polls each shard once a second when it is empty and keeps reading while records
//! come (AWS-SEMANTICS 2.2). With ParallelizationFactor N the reader hashes each record's
//! partition key into one of N lanes, so order is kept per key while keys interleave (2.7).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::batch::{self, Rec};
use super::checkpoint::SeqNum;
use super::{Counters, Mapping, Shard, StartingPosition, aws_error};
use crate::esm::MappingError;
use crate::esm::event::kinesis_record;

/// How a consumer (or one of its tasks) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// `stop` was asked for.
    Stopped,
    /// The shard is closed and every record was handled.
    Ended,
    /// A delivery fault (or a bug) killed the consumer before it checkpointed.
    Crashed,
}

/// Where a consumer starts reading.
enum Position<'a> {
    After(&'a str),
    Start(&'a StartingPosition),
}

pub(crate) async fn list_shards(
    kinesis: &aws_sdk_kinesis::Client,
    stream_name: &str,
) -> Result<Vec<String>, MappingError> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = match &token {
            Some(t) => kinesis.list_shards().next_token(t),
            None => kinesis.list_shards().stream_name(stream_name),
        };
        let out = req.send().await.map_err(|e| aws_error("ListShards", e))?;
        ids.extend(out.shards().iter().map(|s| s.shard_id().to_owned()));
        match out.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(ids),
        }
    }
}

/// The iterator a consumer starts from: after the checkpoint if there is one, else `start`.
pub(crate) async fn starting_iterator(
    m: &Mapping,
    shard: &Shard,
    start: &StartingPosition,
) -> Result<String, MappingError> {
    let checkpoint = m
        .checkpoints
        .get(&m.stream_name, &shard.shard_id)
        .await
        .map_err(|e| MappingError::aws("CheckpointStore::get", e))?;
    let position = match &checkpoint {
        Some(seq) => Position::After(seq),
        None => Position::Start(start),
    };
    shard_iterator(m, shard, position).await
}

async fn shard_iterator(
    m: &Mapping,
    shard: &Shard,
    position: Position<'_>,
) -> Result<String, MappingError> {
    let req = m
        .kinesis
        .get_shard_iterator()
        .stream_name(&m.stream_name)
        .shard_id(&shard.shard_id);
    let req = match position {
        Position::After(seq) => req
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .starting_sequence_number(seq),
        Position::Start(StartingPosition::TrimHorizon) => {
            req.shard_iterator_type(ShardIteratorType::TrimHorizon)
        }
        Position::Start(StartingPosition::Latest) => {
            req.shard_iterator_type(ShardIteratorType::Latest)
        }
        Position::Start(StartingPosition::AtTimestamp(t)) => req
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(aws_smithy_types::DateTime::from_millis(
                t.timestamp_millis(),
            )),
        Position::Start(StartingPosition::AtSequenceNumber(seq)) => req
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(seq),
    };
    let out = match req.send().await {
        Ok(out) => out,
        // Only the shard that holds the record accepts its sequence number; the others start
        // at LATEST.
        Err(_)
            if matches!(
                position,
                Position::Start(StartingPosition::AtSequenceNumber(_))
            ) =>
        {
            return Box::pin(shard_iterator(
                m,
                shard,
                Position::Start(&StartingPosition::Latest),
            ))
            .await;
        }
        Err(e) => return Err(aws_error("GetShardIterator", e)),
    };
    out.shard_iterator()
        .map(str::to_owned)
        .ok_or_else(|| MappingError::aws("GetShardIterator", "no ShardIterator in the answer"))
}

/// Runs a shard's consumer until it stops or the shard ends, restarting it from the
/// checkpoint store after each crash (as a new lease holder would).
pub(crate) async fn run_shard(m: Arc<Mapping>, shard: Arc<Shard>, first_iterator: String) {
    let mut iterator = Some(first_iterator);
    loop {
        let it = match iterator.take() {
            Some(it) => it,
            None => match starting_iterator(&m, &shard, &m.restart_position).await {
                Ok(it) => it,
                Err(err) => {
                    tracing::warn!(shard = %shard.shard_id, %err, "cannot restart the consumer");
                    if m.stopping() {
                        return;
                    }
                    tokio::time::sleep(m.config.poll_interval).await;
                    continue;
                }
            },
        };
        match run_consumer(&m, &shard, it).await {
            Exit::Crashed => {
                Counters::add(&m.counters.restarts, 1);
                shard.lock().tracker.clear();
                m.idle.bump();
                tracing::info!(shard = %shard.shard_id, "consumer crashed; restarting from the checkpoint");
                if m.stopping() {
                    return;
                }
            }
            Exit::Stopped | Exit::Ended => return,
        }
    }
}

/// One life of a shard's consumer: the reader and its lanes, until one crashes or all end.
async fn run_consumer(m: &Arc<Mapping>, shard: &Arc<Shard>, iterator: String) -> Exit {
    let lanes = usize::from(m.config.parallelization_factor.max(1));
    let mut set = JoinSet::new();
    let mut senders = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        // Small buffers: a lane blocked on retries soon stops the reader, as in Lambda.
        let (tx, rx) = mpsc::channel(2);
        senders.push(tx);
        set.spawn(batch::run_lane(m.clone(), shard.clone(), rx));
    }
    set.spawn(read(m.clone(), shard.clone(), iterator, senders));
    let mut exit = Exit::Ended;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Exit::Crashed) => return Exit::Crashed,
            Ok(Exit::Stopped) => exit = Exit::Stopped,
            Ok(Exit::Ended) => {}
            Err(err) => {
                tracing::error!(shard = %shard.shard_id, %err, "consumer task failed");
                tokio::time::sleep(m.config.poll_interval).await;
                return Exit::Crashed;
            }
        }
    }
    exit
}

/// The GetRecords loop of one consumer.
async fn read(
    m: Arc<Mapping>,
    shard: Arc<Shard>,
    mut iterator: String,
    lanes: Vec<mpsc::Sender<Vec<Rec>>>,
) -> Exit {
    let mut stop = m.stop.subscribe();
    let limit = i32::try_from(m.config.batch_size.min(10_000)).unwrap_or(10_000);
    let mut last_read: Option<String> = None;
    loop {
        if m.stopping() {
            return Exit::Stopped;
        }
        let ticket = m.idle.ticket();
        let answer = m
            .kinesis
            .get_records()
            .shard_iterator(&iterator)
            .limit(limit)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(err) => {
                let expired = err
                    .as_service_error()
                    .is_some_and(|e| e.is_expired_iterator_exception());
                if expired {
                    // A lane blocked for minutes lets the iterator expire: pick up where we were.
                    let renewed = match &last_read {
                        Some(seq) => shard_iterator(&m, &shard, Position::After(seq)).await,
                        None => starting_iterator(&m, &shard, &m.restart_position).await,
                    };
                    match renewed {
                        Ok(it) => {
                            iterator = it;
                            continue;
                        }
                        Err(err) => {
                            tracing::warn!(shard = %shard.shard_id, %err, "renewing the iterator failed")
                        }
                    }
                } else {
                    tracing::warn!(shard = %shard.shard_id, err = %aws_sdk_kinesis::error::DisplayErrorContext(&err), "GetRecords failed");
                }
                if sleep_or_stop(&mut stop, m.config.poll_interval).await {
                    return Exit::Stopped;
                }
                continue;
            }
        };
        let records: Vec<Rec> = out
            .records()
            .iter()
            .map(|r| {
                Rec::new(
                    kinesis_record(&shard.source, r),
                    SeqNum::new(r.sequence_number()),
                    arrival(r),
                )
            })
            .collect();
        let empty = records.is_empty();
        {
            let mut st = shard.lock();
            st.tracker.add(records.iter().map(|r| r.seq.clone()));
            st.last_empty =
                (empty && out.millis_behind_latest().unwrap_or(0) == 0).then_some(ticket);
        }
        m.idle.bump();
        if let Some(last) = records.last() {
            last_read = Some(last.seq.as_str().to_owned());
        }
        // FilterCriteria: a record no filter matches is never delivered, and the checkpoint
        // moves past it ("the streams iterator advances past this record", Lambda developer
        // guide, invocation-eventfiltering).
        let records = match &m.config.filter_criteria {
            Some(filter) => {
                let (kept, skipped): (Vec<Rec>, Vec<Rec>) = records
                    .into_iter()
                    .partition(|r| filter.matches_kinesis(&r.event));
                if !skipped.is_empty() {
                    Counters::add(&m.counters.records_filtered, skipped.len() as u64);
                    let seqs: Vec<SeqNum> = skipped.into_iter().map(|r| r.seq).collect();
                    batch::finish(&m, &shard, &seqs).await;
                }
                kept
            }
            None => records,
        };
        for (lane, chunk) in split_into_lanes(records, lanes.len()) {
            tokio::select! {
                sent = lanes[lane].send(chunk) => if sent.is_err() { return Exit::Stopped },
                _ = stop.wait_for(|s| *s) => return Exit::Stopped,
            }
        }
        match out.next_shard_iterator() {
            Some(next) => iterator = next.to_owned(),
            None => {
                // A closed shard read to its end: the lanes finish what they have, then end.
                shard.lock().ended = true;
                m.idle.bump();
                return Exit::Ended;
            }
        }
        if empty && sleep_until_or_stop(&mut stop, m.next_poll(Instant::now())).await {
            return Exit::Stopped;
        }
    }
}

fn arrival(record: &aws_sdk_kinesis::types::Record) -> DateTime<Utc> {
    record
        .approximate_arrival_timestamp()
        .and_then(|t| t.to_millis().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_default()
}

/// Sleeps, unless `stop` comes first (then `true`).
pub(crate) async fn sleep_or_stop(
    stop: &mut tokio::sync::watch::Receiver<bool>,
    duration: Duration,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}

/// Sleeps until `deadline`, unless `stop` comes first (then `true`).
async fn sleep_until_or_stop(
    stop: &mut tokio::sync::watch::Receiver<bool>,
    deadline: Instant,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}

/// The first tick of the schedule `epoch + k * interval` strictly after `now`: where a caught-up
/// reader polls next. At most one poll per tick, so at most one a second per empty shard.
pub(crate) fn next_tick(epoch: Instant, interval: Duration, now: Instant) -> Instant {
    let elapsed = now.saturating_duration_since(epoch).as_nanos();
    let interval_ns = interval.as_nanos().max(1);
    let ticks = elapsed / interval_ns + 1;
    let offset = interval_ns.saturating_mul(ticks);
    epoch + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

/// Splits records (in shard order) into per-lane chunks, keeping the order within each.
pub(crate) fn split_into_lanes(records: Vec<Rec>, lanes: usize) -> Vec<(usize, Vec<Rec>)> {
    if records.is_empty() {
        return Vec::new();
    }
    if lanes <= 1 {
        return vec![(0, records)];
    }
    let mut chunks: Vec<Vec<Rec>> = (0..lanes).map(|_| Vec::new()).collect();
    for rec in records {
        let lane = lane_of(&rec.event.kinesis.partition_key, lanes);
        chunks[lane].push(rec);
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

/// The lane (of `lanes`) a partition key goes to. FNV-1a: a stable hash, so a key lands in
/// the same lane in every run.
pub fn lane_of(partition_key: &str, lanes: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in partition_key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % lanes as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_readers_poll_on_the_mappings_schedule() {
        let epoch = Instant::now();
        let second = Duration::from_secs(1);
        let at = |ms| epoch + Duration::from_millis(ms);
        assert_eq!(
            next_tick(epoch, second, epoch),
            at(1000),
            "never the same instant"
        );
        assert_eq!(next_tick(epoch, second, at(413)), at(1000));
        assert_eq!(next_tick(epoch, second, at(1000)), at(2000));
        assert_eq!(next_tick(epoch, second, at(2999)), at(3000));
    }

    #[test]
    fn a_key_always_lands_in_the_same_lane_and_keys_spread() {
        assert_eq!(lane_of("a", 4), lane_of("a", 4));
        let used: std::collections::HashSet<usize> =
            (0..64).map(|i| lane_of(&format!("key-{i}"), 4)).collect();
        assert_eq!(used.len(), 4);
        assert_eq!(lane_of("anything", 1), 0);
    }
}
