//! How many pollers an SQS mapping runs: Lambda's default scaling for standard queues, capped
//! by `ScalingConfig.MaximumConcurrency`.
//!
//! What AWS documents (Lambda developer guide, services-sqs-scaling, and the knowledge-center
//! article "lambda-sqs-scaling"): Lambda "starts processing five batches at a time with five
//! concurrent invocations"; "if messages are still available, Lambda increases the number of
//! processes that are reading batches by up to 300 more instances per minute"; at most 1,000
//! batches at once per mapping; "when traffic is low, Lambda scales back the processing to five
//! concurrent batches"; and "Lambda throttles function scaling when invocation errors occur.
//! When the errors are resolved, Lambda continues to scale". MaximumConcurrency (2-1000)
//! "limits the number of concurrent instances that the Amazon SQS event source can invoke".
//!
//! The curve, where AWS gives no numbers (our choices): a scaler looks every
//! [`SCALE_INTERVAL`] (1 s). Messages still available (some receive of the last interval came
//! back full) and no function error: [`SCALE_STEP`] more pollers (5 a second is the documented
//! 300 a minute). A function error in the interval, or no success since the last one: half the
//! pollers, never fewer than the initial count. No backlog: back to the initial count. AWS's further drop to 2 pollers on an
//! idle queue only saves SQS calls and is not modelled.

use std::time::Duration;

/// How often the scaler looks at what the pollers saw.
pub const SCALE_INTERVAL: Duration = Duration::from_secs(1);

/// Pollers added per interval while messages are still available (300 a minute).
pub const SCALE_STEP: usize = 5;

/// What the pollers saw during one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// A receive came back with as many messages as it asked for: more are waiting.
    pub backlog: bool,
    /// An invocation of the interval was a function error, or the last invocation was (the
    /// errors are not "resolved" until one succeeds).
    pub function_error: bool,
}

/// The poller count for the next interval.
pub fn next_target(current: usize, initial: usize, ceiling: usize, seen: Observed) -> usize {
    let next = if seen.function_error {
        (current / 2).max(initial)
    } else if seen.backlog {
        current + SCALE_STEP
    } else {
        initial
    };
    next.clamp(1, ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKLOG: Observed = Observed {
        backlog: true,
        function_error: false,
    };

    #[test]
    fn a_backlog_adds_three_hundred_pollers_a_minute_up_to_the_ceiling() {
        let mut n = 5;
        for _ in 0..60 {
            n = next_target(n, 5, 1000, BACKLOG);
        }
        assert_eq!(n, 305);
        for _ in 0..1000 {
            n = next_target(n, 5, 1000, BACKLOG);
        }
        assert_eq!(n, 1000);
        assert_eq!(
            next_target(2, 2, 2, BACKLOG),
            2,
            "MaximumConcurrency caps it"
        );
    }

    #[test]
    fn errors_halve_the_pollers_and_a_quiet_queue_goes_back_to_the_start() {
        let errors = Observed {
            backlog: true,
            function_error: true,
        };
        assert_eq!(next_target(100, 5, 1000, errors), 50);
        assert_eq!(next_target(6, 5, 1000, errors), 5);
        assert_eq!(next_target(100, 5, 1000, Observed::default()), 5);
    }
}
