//! The SQS mapping's settings: Lambda's parameters for queues (AWS-SEMANTICS 3.1).

use std::time::Duration;

use crate::esm::MappingError;

#[derive(Debug, Clone)]
pub struct SqsMappingConfig {
    /// `BatchSize`: messages per invocation at most (1..=10,000; above 10 needs a window).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`: how long to gather messages once the first arrived.
    pub maximum_batching_window: Duration,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
    pub report_batch_item_failures: bool,
    /// Long polling: `WaitTimeSeconds` of each ReceiveMessage (0..=20).
    pub wait_time_seconds: i32,
    /// `VisibilityTimeout` on ReceiveMessage; `None` uses the queue's.
    pub visibility_timeout: Option<Duration>,
    /// Concurrent pollers, each with one batch in flight (Lambda starts with 5).
    pub concurrency: usize,
    /// The function's timeout: an invocation still running after it is a function error
    /// ("Task timed out"). `None`: no limit.
    pub function_timeout: Option<Duration>,
}

impl Default for SqsMappingConfig {
    fn default() -> Self {
        Self {
            batch_size: 10,
            maximum_batching_window: Duration::ZERO,
            report_batch_item_failures: false,
            wait_time_seconds: 20,
            visibility_timeout: None,
            concurrency: 5,
            function_timeout: None,
        }
    }
}

impl SqsMappingConfig {
    /// Checks the ranges Lambda's and SQS's APIs enforce.
    pub fn validate(&self) -> Result<(), MappingError> {
        let bad = |m: String| Err(MappingError::InvalidConfig(m));
        if !(1..=10_000).contains(&self.batch_size) {
            return bad(format!("BatchSize {} is not in 1..=10000", self.batch_size));
        }
        if self.batch_size > 10 && self.maximum_batching_window < Duration::from_secs(1) {
            return bad(
                "BatchSize above 10 requires MaximumBatchingWindowInSeconds of at least 1".into(),
            );
        }
        if self.maximum_batching_window > Duration::from_secs(300) {
            return bad("MaximumBatchingWindowInSeconds must be at most 300".into());
        }
        if !(0..=20).contains(&self.wait_time_seconds) {
            return bad(format!(
                "WaitTimeSeconds {} is not in 0..=20",
                self.wait_time_seconds
            ));
        }
        if self
            .visibility_timeout
            .is_some_and(|vt| vt > Duration::from_secs(43_200))
        {
            return bad("VisibilityTimeout must be at most 43200 seconds".into());
        }
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lambdas_and_valid() {
        let c = SqsMappingConfig::default();
        assert_eq!(
            (c.batch_size, c.wait_time_seconds, c.concurrency),
            (10, 20, 5)
        );
        c.validate().unwrap();
    }

    #[test]
    fn a_batch_above_ten_needs_a_window() {
        let c = SqsMappingConfig {
            batch_size: 20,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = SqsMappingConfig {
            batch_size: 20,
            maximum_batching_window: Duration::from_secs(1),
            ..Default::default()
        };
        c.validate().unwrap();
    }
}
