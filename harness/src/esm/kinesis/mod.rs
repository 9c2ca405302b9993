//! The Kinesis event source mapping: Lambda's stream poller (AWS-SEMANTICS 2).
//!
//! Layout:
//! - [`config`]: the mapping's parameters, with Lambda's defaults and ranges;
//! - [`poller`]: a supervisor per shard (restarts a crashed consumer from its checkpoint) and
//!   the shard's reader (GetRecords loop, records hashed into lanes by partition key);
//! - [`batch`]: a lane: batching by size and window, invocation, retries, bisect, partial
//!   batch responses, record age, discards;
//! - [`checkpoint`]: the checkpoint store and the tracker that keeps checkpoints in order;
//! - [`on_failure`]: the record sent to the on-failure destination;
//! - [`window`]: tumbling windows (state carried between invocations, final invocations).
//!
//! Architecture invariant: a shard's checkpoint only ever moves past a record once that record
//! and every lower one is finished (processed or discarded), so a restarted consumer never
//! skips a record and re-delivers exactly what came after the checkpoint.

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod on_failure;
pub mod poller;
pub mod window;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emulator::Clock;
use tokio::task::JoinSet;

use crate::esm::event::{KinesisSource, arn_region_account};
use crate::esm::idle::{IdleTimeout, IdleTracker};
use crate::esm::{DeliveryHooks, KinesisHandler, MappingError};

pub use checkpoint::{CheckpointStore, InMemoryCheckpoints, SeqNum};
pub use config::{KinesisMappingConfig, StartingPosition};
pub use on_failure::{DiscardCondition, OnFailureRecord};
pub use window::{KinesisWindowEvent, KinesisWindowHandler, KinesisWindowResponse, Window};

/// What a Kinesis mapping invokes: a plain handler, or one that keeps a tumbling window's
/// state (`TumblingWindowInSeconds`).
#[derive(Clone)]
pub enum KinesisFunction {
    /// A handler invoked with each batch.
    Plain(Arc<dyn KinesisHandler>),
    /// A handler invoked with each batch and its window's state, returning the new state.
    Windowed(Arc<dyn KinesisWindowHandler>),
}

/// Counters of what a mapping did, for tests and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KinesisStats {
    /// Handler invocations (a duplicated delivery counts twice).
    pub batches_invoked: u64,
    /// Records handed to the handler, summed over invocations.
    pub records_delivered: u64,
    /// Retries counted against `MaximumRetryAttempts` (re-invocations without progress).
    pub retries: u64,
    /// Failed batches split in two.
    pub bisects: u64,
    /// Records sent to the on-failure destination.
    pub on_failure_sent: u64,
    /// Records discarded (retries or age exhausted), whether or not a destination took them.
    pub records_discarded: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Shard consumers restarted after a crash.
    pub restarts: u64,
    /// Records no filter of `FilterCriteria` matched: skipped and checkpointed.
    pub records_filtered: u64,
    /// Lambda's IteratorAge of the last batch sent to the function: how old its last record
    /// was (from its arrival on the stream), in milliseconds.
    pub iterator_age_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub batches_invoked: AtomicU64,
    pub records_delivered: AtomicU64,
    pub retries: AtomicU64,
    pub bisects: AtomicU64,
    pub on_failure_sent: AtomicU64,
    pub records_discarded: AtomicU64,
    pub checkpoints: AtomicU64,
    pub restarts: AtomicU64,
    pub records_filtered: AtomicU64,
    /// A gauge, not a sum: set at each invocation.
    pub iterator_age_ms: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> KinesisStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        KinesisStats {
            batches_invoked: get(&self.batches_invoked),
            records_delivered: get(&self.records_delivered),
            retries: get(&self.retries),
            bisects: get(&self.bisects),
            on_failure_sent: get(&self.on_failure_sent),
            records_discarded: get(&self.records_discarded),
            checkpoints: get(&self.checkpoints),
            restarts: get(&self.restarts),
            records_filtered: get(&self.records_filtered),
            iterator_age_ms: get(&self.iterator_age_ms),
        }
    }
}

/// What every task of one mapping shares.
pub(crate) struct Mapping {
    pub config: KinesisMappingConfig,
    pub stream_name: String,
    pub stream_arn: String,
    pub function_arn: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub function: KinesisFunction,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub hooks: Arc<dyn DeliveryHooks>,
    pub clock: Clock,
    pub counters: Counters,
    pub idle: IdleTracker,
    /// Set once by `stop`: consumers finish their in-flight batch and exit.
    pub stop: tokio::sync::watch::Sender<bool>,
    pub shards: Vec<Arc<Shard>>,
    /// Where a consumer with no checkpoint (re)starts after the first time.
    pub restart_position: StartingPosition,
    /// The origin of the mapping's polling schedule: a caught-up reader polls again at the next
    /// `poll_epoch + k * poll_interval`, so every shard polls at the same instants however
    /// its reader got out of step (a restart after a crash, a lane that held it back).
    /// `wait_idle` needs one empty poll per shard inside a single wait; with shards out of
    /// step, no wait shorter than their distance would ever see them all caught up.
    pub poll_epoch: tokio::time::Instant,
}

/// One shard's identity and the state its consumer publishes.
pub(crate) struct Shard {
    pub shard_id: String,
    pub source: KinesisSource,
    pub state: Mutex<ShardState>,
    /// Serialises checkpoint writes so that two lanes never store them out of order.
    pub checkpoint_lock: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
pub(crate) struct ShardState {
    /// The ticket of the last GetRecords that came back empty and caught up; `None` once one
    /// returned records.
    pub last_empty: Option<u64>,
    /// The shard is closed and fully read.
    pub ended: bool,
    pub tracker: checkpoint::Tracker,
}

impl Shard {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, ShardState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Mapping {
    fn idle_since(&self, since: u64) -> bool {
        self.shards.iter().all(|shard| {
            let st = shard.lock();
            st.tracker.outstanding() == 0 && (st.ended || st.last_empty.is_some_and(|t| t > since))
        })
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .shards
            .iter()
            .map(|shard| {
                let st = shard.lock();
                format!(
                    "{}: {} records outstanding, {}",
                    shard.shard_id,
                    st.tracker.outstanding(),
                    if st.ended {
                        "ended"
                    } else if st.last_empty.is_some() {
                        "caught up"
                    } else {
                        "reading"
                    }
                )
            })
            .collect();
        parts.join("; ")
    }

    /// When a reader whose last poll came back empty at `now` polls again.
    pub(crate) fn next_poll(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        poller::next_tick(self.poll_epoch, self.config.poll_interval, now)
    }

    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

/// Starts Kinesis event source mappings.
pub struct KinesisMapping;

impl KinesisMapping {
    /// Starts one consumer per shard of `stream_name`. Every shard's starting iterator is
    /// obtained before this returns, so records put afterwards are seen even from LATEST.
    pub async fn spawn(
        kinesis: aws_sdk_kinesis::Client,
        sqs: aws_sdk_sqs::Client,
        stream_name: impl Into<String>,
        config: KinesisMappingConfig,
        handler: Arc<dyn KinesisHandler>,
        checkpoints: Arc<dyn CheckpointStore>,
        hooks: Arc<dyn DeliveryHooks>,
    ) -> Result<KinesisMappingHandle, MappingError> {
        Self::spawn_function(
            kinesis,
            sqs,
            stream_name,
            config,
            KinesisFunction::Plain(handler),
            checkpoints,
            hooks,
        )
        .await
    }

    /// Starts a mapping with a tumbling window (`config.tumbling_window` must be set): the
    /// function receives each window's state and returns the next (see [`window`]).
    pub async fn spawn_windowed(
        kinesis: aws_sdk_kinesis::Client,
        sqs: aws_sdk_sqs::Client,
        stream_name: impl Into<String>,
        config: KinesisMappingConfig,
        handler: Arc<dyn KinesisWindowHandler>,
        checkpoints: Arc<dyn CheckpointStore>,
        hooks: Arc<dyn DeliveryHooks>,
    ) -> Result<KinesisMappingHandle, MappingError> {
        Self::spawn_function(
            kinesis,
            sqs,
            stream_name,
            config,
            KinesisFunction::Windowed(handler),
            checkpoints,
            hooks,
        )
        .await
    }

    /// Starts a mapping invoking `function`; a windowed function needs
    /// `config.tumbling_window`, a plain one must not have it.
    pub async fn spawn_function(
        kinesis: aws_sdk_kinesis::Client,
        sqs: aws_sdk_sqs::Client,
        stream_name: impl Into<String>,
        config: KinesisMappingConfig,
        function: KinesisFunction,
        checkpoints: Arc<dyn CheckpointStore>,
        hooks: Arc<dyn DeliveryHooks>,
    ) -> Result<KinesisMappingHandle, MappingError> {
        match (&function, config.tumbling_window) {
            (KinesisFunction::Plain(_), Some(_)) => {
                return Err(MappingError::InvalidConfig(
                    "TumblingWindowInSeconds needs a KinesisWindowHandler (spawn_windowed)".into(),
                ));
            }
            (KinesisFunction::Windowed(_), None) => {
                return Err(MappingError::InvalidConfig(
                    "spawn_windowed needs TumblingWindowInSeconds".into(),
                ));
            }
            _ => {}
        }
        Self::start(
            kinesis,
            sqs,
            stream_name.into(),
            config,
            function,
            checkpoints,
            hooks,
        )
        .await
    }

    async fn start(
        kinesis: aws_sdk_kinesis::Client,
        sqs: aws_sdk_sqs::Client,
        stream_name: String,
        config: KinesisMappingConfig,
        function: KinesisFunction,
        checkpoints: Arc<dyn CheckpointStore>,
        hooks: Arc<dyn DeliveryHooks>,
    ) -> Result<KinesisMappingHandle, MappingError> {
        config.validate()?;
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&stream_name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeStreamSummary", e))?;
        let stream_arn = summary
            .stream_description_summary()
            .map(|s| s.stream_arn().to_owned())
            .unwrap_or_default();
        let (region, account) = match arn_region_account(&stream_arn) {
            Some((r, a)) => (r.to_owned(), a.to_owned()),
            None => (
                kinesis
                    .config()
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "us-east-1".into()),
                "000000000000".to_owned(),
            ),
        };
        let shard_ids = poller::list_shards(&kinesis, &stream_name).await?;
        let clock = config.clock.clone().unwrap_or_default();
        // A consumer restarted before its first checkpoint must not lose what arrived since the
        // mapping started: LATEST then means "at the mapping's start time".
        let restart_position = match &config.starting_position {
            StartingPosition::Latest => StartingPosition::AtTimestamp(clock.now()),
            other => other.clone(),
        };
        let shards: Vec<Arc<Shard>> = shard_ids
            .into_iter()
            .map(|shard_id| {
                Arc::new(Shard {
                    source: KinesisSource {
                        shard_id: shard_id.clone(),
                        stream_arn: stream_arn.clone(),
                        region: region.clone(),
                        invoke_identity_arn: config
                            .role_arn
                            .clone()
                            .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/lambda-role")),
                    },
                    shard_id,
                    state: Mutex::new(ShardState::default()),
                    checkpoint_lock: tokio::sync::Mutex::new(()),
                })
            })
            .collect();
        let mapping = Arc::new(Mapping {
            function_arn: format!(
                "arn:aws:lambda:{region}:{account}:function:{}",
                config.function_name
            ),
            config,
            stream_name,
            stream_arn,
            kinesis,
            sqs,
            function,
            checkpoints,
            hooks,
            clock,
            counters: Counters::default(),
            idle: IdleTracker::default(),
            stop: tokio::sync::watch::Sender::new(false),
            shards,
            restart_position,
            poll_epoch: tokio::time::Instant::now(),
        });
        let mut first_iterators = Vec::new();
        for shard in &mapping.shards {
            let it = poller::starting_iterator(&mapping, shard, &mapping.config.starting_position)
                .await?;
            first_iterators.push(it);
        }
        let mut tasks = JoinSet::new();
        for (shard, it) in mapping.shards.iter().zip(first_iterators) {
            tasks.spawn(poller::run_shard(mapping.clone(), shard.clone(), it));
        }
        Ok(KinesisMappingHandle { mapping, tasks })
    }
}

pub(crate) fn aws_error<E>(operation: &'static str, err: E) -> MappingError
where
    E: std::error::Error + Send + Sync + 'static,
{
    MappingError::aws(operation, err)
}

/// Owns a running Kinesis mapping; dropping it aborts every task (as `kill` does, without waiting).
pub struct KinesisMappingHandle {
    mapping: Arc<Mapping>,
    tasks: JoinSet<()>,
}

impl KinesisMappingHandle {
    /// Every shard caught up (its last GetRecords was empty with MillisBehindLatest 0, or the
    /// shard is closed and read), nothing in flight, no retry pending, all checkpointed.
    pub fn is_idle(&self) -> bool {
        self.mapping.idle_since(0)
    }

    /// Waits until the mapping is idle on the evidence of polls that started after this call,
    /// so records put just before it are delivered first. Time is tokio's (paused or not).
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), IdleTimeout> {
        let m = &self.mapping;
        m.idle
            .wait(timeout, |since| m.idle_since(since), || m.describe())
            .await
    }

    /// What the mapping has done so far (reads, batches, retries, discards, ...).
    pub fn stats(&self) -> KinesisStats {
        self.mapping.counters.snapshot()
    }

    /// The ids of the shards the mapping reads, one consumer each.
    pub fn shard_ids(&self) -> Vec<String> {
        self.mapping
            .shards
            .iter()
            .map(|s| s.shard_id.clone())
            .collect()
    }

    /// The ARN of the stream the mapping reads.
    pub fn stream_arn(&self) -> &str {
        &self.mapping.stream_arn
    }

    /// Graceful: every consumer finishes its in-flight invocation, checkpoints, and stops.
    pub async fn stop(mut self) {
        self.mapping.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Aborts every consumer now, without checkpointing (a crashed host), and waits until
    /// they are gone.
    pub async fn kill(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}
