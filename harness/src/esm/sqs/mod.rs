//! The SQS event source mapping: Lambda's queue poller (AWS-SEMANTICS 3).
//!
//! Layout:
//! - [`config`]: the mapping's parameters;
//! - [`poller`]: one long-polling loop per unit of concurrency: receive, filter, invoke,
//!   delete what succeeded. Failures are left to the visibility timeout, and receive counts to
//!   the queue, so the queue's redrive policy moves a message that keeps failing;
//! - [`scaling`]: how many pollers run (Lambda's default scaling, MaximumConcurrency).

pub mod config;
pub mod poller;
pub mod scaling;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::esm::event::{SqsSource, arn_region_account};
use crate::esm::idle::{IdleTimeout, IdleTracker};
use crate::esm::{DeliveryHooks, MappingError, SqsHandler};

pub use config::SqsMappingConfig;

/// Counters of what an SQS mapping did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqsStats {
    /// ReceiveMessage calls.
    pub receives: u64,
    /// Handler invocations (a duplicated delivery counts twice).
    pub batches_invoked: u64,
    /// Messages handed to the handler, summed over invocations.
    pub messages_delivered: u64,
    /// Messages deleted after their invocation succeeded.
    pub messages_deleted: u64,
    /// Messages left on the queue after a failed (or partly failed) invocation.
    pub messages_failed: u64,
    /// Messages no filter of `FilterCriteria` matched: deleted without an invocation.
    pub messages_filtered: u64,
    /// The most pollers that ran at once (scaling).
    pub peak_pollers: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub receives: AtomicU64,
    pub batches_invoked: AtomicU64,
    pub messages_delivered: AtomicU64,
    pub messages_deleted: AtomicU64,
    pub messages_failed: AtomicU64,
    pub messages_filtered: AtomicU64,
    pub peak_pollers: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SqsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SqsStats {
            receives: get(&self.receives),
            batches_invoked: get(&self.batches_invoked),
            messages_delivered: get(&self.messages_delivered),
            messages_deleted: get(&self.messages_deleted),
            messages_failed: get(&self.messages_failed),
            messages_filtered: get(&self.messages_filtered),
            peak_pollers: get(&self.peak_pollers),
        }
    }
}

/// What every poller of one mapping shares.
pub(crate) struct Mapping {
    pub config: SqsMappingConfig,
    pub queue_url: String,
    pub source: SqsSource,
    /// A FIFO queue: BatchSize at most 10, no window, a failed message stops its group.
    pub fifo: bool,
    pub sqs: aws_sdk_sqs::Client,
    pub handler: Arc<dyn SqsHandler>,
    pub hooks: Arc<dyn DeliveryHooks>,
    pub counters: Counters,
    pub idle: IdleTracker,
    pub stop: tokio::sync::watch::Sender<bool>,
    /// One slot per poller the mapping may ever run (its ceiling); poller `i` works while
    /// `i < active`, else parks on this channel (the scaler moves it). Slots past `started`
    /// were never used.
    pub pollers: Vec<Mutex<PollerState>>,
    pub active: tokio::sync::watch::Sender<usize>,
    /// What the pollers saw since the scaler last looked (see [`scaling::Observed`]).
    pub saw_backlog: AtomicBool,
    pub saw_function_error: AtomicBool,
    /// The last invocation was a function error: the errors are not resolved yet.
    pub failing: AtomicBool,
    /// How many pollers the scaler has started (indices `0..started`).
    pub started: AtomicUsize,
}

#[derive(Debug, Default)]
pub(crate) struct PollerState {
    /// The ticket of this poller's last receive that came back empty; `None` after one that
    /// brought messages.
    pub last_empty: Option<u64>,
    pub in_flight: bool,
}

impl Mapping {
    pub(crate) fn poller(&self, i: usize) -> std::sync::MutexGuard<'_, PollerState> {
        self.pollers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pollers started so far (the most ever active): only they have state to look at.
    fn started(&self) -> usize {
        self.started.load(Ordering::Relaxed)
    }

    fn nothing_in_flight(&self) -> bool {
        (0..self.started()).all(|i| !self.poller(i).in_flight)
    }

    /// How many pollers work now.
    pub(crate) fn active(&self) -> usize {
        *self.active.borrow()
    }

    fn idle_since(&self, since: u64) -> bool {
        self.nothing_in_flight()
            && (0..self.started()).any(|i| self.poller(i).last_empty.is_some_and(|t| t > since))
    }

    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Visible, in-flight (received, not deleted) and delayed messages on the queue.
    async fn queue_depth(&self) -> Result<[u64; 3], aws_sdk_sqs::Error> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)?;
        let attrs = out.attributes();
        let get = |name: A| {
            attrs
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok([
            get(A::ApproximateNumberOfMessages),
            get(A::ApproximateNumberOfMessagesNotVisible),
            get(A::ApproximateNumberOfMessagesDelayed),
        ])
    }
}

/// Starts SQS event source mappings.
pub struct SqsMapping;

impl SqsMapping {
    /// Starts `config.concurrency` pollers on the queue, and the scaler that adds more while
    /// there is a backlog (up to MaximumConcurrency, or 1,000).
    pub async fn spawn(
        sqs: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        config: SqsMappingConfig,
        handler: Arc<dyn SqsHandler>,
        hooks: Arc<dyn DeliveryHooks>,
    ) -> Result<SqsMappingHandle, MappingError> {
        let queue_url = queue_url.into();
        // A FIFO queue's URL (like its name) ends with `.fifo`.
        let fifo = queue_url.trim_end_matches('/').ends_with(".fifo");
        if fifo {
            config.validate_for_fifo()?;
        } else {
            config.validate()?;
        }
        let out = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| MappingError::aws("GetQueueAttributes", e))?;
        let queue_arn = out
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        let region = match arn_region_account(&queue_arn) {
            Some((region, _)) => region.to_owned(),
            None => sqs
                .config()
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
        };
        let pollers = (0..config.ceiling())
            .map(|_| Mutex::new(PollerState::default()))
            .collect();
        let initial = config.initial_pollers();
        let mapping = Arc::new(Mapping {
            config,
            queue_url,
            source: SqsSource { queue_arn, region },
            fifo,
            sqs,
            handler,
            hooks,
            counters: Counters::default(),
            idle: IdleTracker::default(),
            stop: tokio::sync::watch::Sender::new(false),
            pollers,
            active: tokio::sync::watch::Sender::new(initial),
            saw_backlog: AtomicBool::new(false),
            saw_function_error: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            started: AtomicUsize::new(0),
        });
        Counters::add(&mapping.counters.peak_pollers, initial as u64);
        let mut tasks = JoinSet::new();
        tasks.spawn(scale(mapping.clone()));
        Ok(SqsMappingHandle { mapping, tasks })
    }
}

/// The scaler: owns the pollers (started as they are first needed, so an idle mapping does
/// not hold a thousand parked tasks), and every [`scaling::SCALE_INTERVAL`] sets how many
/// work. Aborting it drops its `JoinSet`, which aborts the pollers; on `stop` it waits for
/// them to finish their batches.
async fn scale(m: Arc<Mapping>) {
    let mut stop = m.stop.subscribe();
    let (initial, ceiling) = (m.config.initial_pollers(), m.config.ceiling());
    let mut pollers = JoinSet::new();
    let start_up_to = |n: usize, pollers: &mut JoinSet<()>| {
        while m.started() < n {
            let index = m.started.fetch_add(1, Ordering::Relaxed);
            pollers.spawn(poller::run(m.clone(), index));
        }
    };
    start_up_to(initial, &mut pollers);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(scaling::SCALE_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let seen = scaling::Observed {
            backlog: m.saw_backlog.swap(false, Ordering::Relaxed),
            function_error: m.saw_function_error.swap(false, Ordering::Relaxed)
                || m.failing.load(Ordering::Relaxed),
        };
        let next = scaling::next_target(m.active(), initial, ceiling, seen);
        if next != m.active() {
            tracing::debug!(queue = %m.queue_url, pollers = next, ?seen, "scaling");
            start_up_to(next, &mut pollers);
            m.active.send_replace(next);
            m.counters
                .peak_pollers
                .fetch_max(next as u64, Ordering::Relaxed);
        }
    }
    while pollers.join_next().await.is_some() {}
}

/// Owns a running SQS mapping; dropping it aborts every poller.
pub struct SqsMappingHandle {
    mapping: Arc<Mapping>,
    tasks: JoinSet<()>,
}

impl SqsMappingHandle {
    /// No batch in flight and every working poller's last receive came back empty.
    pub fn is_idle(&self) -> bool {
        let m = &self.mapping;
        m.nothing_in_flight() && (0..m.active()).all(|i| m.poller(i).last_empty.is_some())
    }

    /// Waits until no batch is in flight, a receive that started after this call came back
    /// empty, and the queue holds no visible, in-flight or delayed messages (so a message
    /// waiting out its visibility timeout, or about to be redriven, is waited for).
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), IdleTimeout> {
        let m = &self.mapping;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            m.idle
                .wait(left, |since| m.idle_since(since), || self.describe())
                .await
                .map_err(|mut e| {
                    e.waited = timeout;
                    e
                })?;
            match m.queue_depth().await {
                Ok([0, 0, 0]) => return Ok(()),
                Ok(_) | Err(_) if tokio::time::Instant::now() >= deadline => {
                    return Err(self.timed_out(timeout).await);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(
                    err = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                    "GetQueueAttributes failed while waiting"
                ),
            }
        }
    }

    fn describe(&self) -> String {
        let m = &self.mapping;
        let busy = (0..m.started()).filter(|&i| m.poller(i).in_flight).count();
        format!("{busy} of {} pollers with a batch in flight", m.active())
    }

    /// The timeout after `waited`: the pollers' state and the queue's depth, or, when reading
    /// the depth fails, the SDK's error as the source.
    async fn timed_out(&self, waited: Duration) -> IdleTimeout {
        match self.mapping.queue_depth().await {
            Ok([visible, not_visible, delayed]) => IdleTimeout {
                waited,
                state: format!(
                    "{}; queue has {visible} visible, {not_visible} in flight, {delayed} delayed",
                    self.describe()
                ),
                depth_error: None,
            },
            Err(err) => IdleTimeout {
                waited,
                state: format!("{}; queue depth unknown", self.describe()),
                depth_error: Some(Box::new(err)),
            },
        }
    }

    /// What the mapping has done so far (receives, batches, deletes, ...).
    pub fn stats(&self) -> SqsStats {
        self.mapping.counters.snapshot()
    }

    /// The ARN of the queue the mapping polls.
    pub fn queue_arn(&self) -> &str {
        &self.mapping.source.queue_arn
    }

    /// Graceful: pollers finish their in-flight batch (invoke, delete) and stop.
    pub async fn stop(mut self) {
        self.mapping.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Aborts every poller now and waits until they are gone: what was received and not
    /// deleted returns after its visibility timeout.
    pub async fn kill(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}
