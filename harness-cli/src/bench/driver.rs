//! Runs one operation over and over from N concurrent tasks (closed loop: each task starts its
//! next call when the previous one answered) for a duration or a number of operations, and
//! measures the rate and the latency distribution.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use harness::stats::{Percentiles, new_histogram};

/// How long one measurement lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// As many operations as fit in this time.
    Duration(Duration),
    /// Exactly this many operations.
    Ops(u64),
}

/// What one measurement found.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Operations that succeeded.
    pub ops: u64,
    /// Operations that failed (their latency is not in the percentiles).
    pub errors: u64,
    pub elapsed: Duration,
    pub latency: Percentiles,
    /// The first failure's message, to show why.
    pub first_error: Option<String>,
}

impl Measurement {
    pub fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `op` from `concurrency` tasks until `budget` is spent.
pub async fn drive<F, Fut>(concurrency: usize, budget: Budget, op: F) -> Measurement
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let claimed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (op, claimed) = (op.clone(), claimed.clone());
        tasks.spawn(async move {
            let mut histogram = new_histogram();
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let more = match budget {
                    Budget::Ops(total) => claimed.fetch_add(1, Ordering::Relaxed) < total,
                    Budget::Duration(limit) => start.elapsed() < limit,
                };
                if !more {
                    break;
                }
                let sent = Instant::now();
                match op().await {
                    Ok(()) => {
                        let _ = histogram.record((sent.elapsed().as_micros() as u64).max(1));
                    }
                    Err(message) => {
                        errors += 1;
                        first_error.get_or_insert(message);
                    }
                }
                // An in-process call may complete without ever returning Pending; without this
                // one task would run many operations in a row while the others starve, and the
                // latency of the starved ones would measure the scheduler, not the call.
                tokio::task::yield_now().await;
            }
            (histogram, errors, first_error)
        });
    }
    let mut histogram: Histogram<u64> = new_histogram();
    let (mut errors, mut first_error) = (0, None);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((h, e, first)) => {
                let _ = histogram.add(&h);
                errors += e;
                if first_error.is_none() {
                    first_error = first;
                }
            }
            Err(join_error) => {
                errors += 1;
                first_error.get_or_insert(format!("a benchmark task failed: {join_error}"));
            }
        }
    }
    Measurement {
        ops: histogram.len(),
        errors,
        elapsed: start.elapsed(),
        latency: Percentiles::of(&histogram),
        first_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_ops_budget_runs_exactly_that_many_operations_across_tasks() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = calls.clone();
        let m = drive(8, Budget::Ops(100), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        })
        .await;
        assert_eq!(m.ops, 100);
        assert_eq!(calls.load(Ordering::Relaxed), 100);
        assert_eq!(m.errors, 0);
    }

    #[tokio::test]
    async fn failures_are_counted_apart_and_the_first_message_is_kept() {
        let n = Arc::new(AtomicU64::new(0));
        let m = drive(1, Budget::Ops(10), move || {
            let k = n.fetch_add(1, Ordering::Relaxed);
            async move {
                if k.is_multiple_of(2) {
                    Err(format!("failure {k}"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!((m.ops, m.errors), (5, 5));
        assert_eq!(m.first_error.as_deref(), Some("failure 0"));
    }

    #[tokio::test]
    async fn a_duration_budget_stops_once_the_time_is_spent() {
        let m = drive(2, Budget::Duration(Duration::from_millis(30)), || async {
            tokio::task::yield_now().await;
            Ok(())
        })
        .await;
        assert!(m.ops > 0);
        assert!(m.elapsed >= Duration::from_millis(30));
    }
}
