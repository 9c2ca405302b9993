//! The SQS mapping's settings: Lambda's parameters for queues (AWS-SEMANTICS 3.1).

use std::time::Duration;

use crate::esm::MappingError;
use crate::esm::filter::FilterCriteria;

/// An SQS event source mapping's settings, as Lambda names them; [`Default`] is Lambda's defaults.
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
    /// Concurrent pollers to start with, each with one batch in flight (Lambda starts with 5).
    /// The mapping scales up from here while the queue has a backlog (see `sqs::scaling`).
    pub concurrency: usize,
    /// The function's timeout: an invocation still running after it is a function error
    /// ("Task timed out"). `None`: no limit.
    pub function_timeout: Option<Duration>,
    /// `ScalingConfig.MaximumConcurrency` (2..=1000): at most this many batches at once.
    /// `None`: Lambda's ceiling of 1,000 concurrent batches per mapping.
    pub maximum_concurrency: Option<u16>,
    /// `FilterCriteria`: messages no filter matches (on their `body`, parsed when JSON) are
    /// deleted without invoking the function. `None`: every message is delivered.
    pub filter_criteria: Option<FilterCriteria>,
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
            maximum_concurrency: None,
            filter_criteria: None,
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
        if let Some(max) = self.maximum_concurrency
            && !(2..=1000).contains(&max)
        {
            return bad(format!(
                "ScalingConfig.MaximumConcurrency {max} is not in 2..=1000"
            ));
        }
        Ok(())
    }

    /// Checks what Lambda allows on a FIFO queue on top of [`Self::validate`]: BatchSize at
    /// most 10 and no batching window (Lambda developer guide, with-sqs: "For FIFO queues
    /// ... the maximum batch size is 10", and MaximumBatchingWindowInSeconds is not supported).
    pub fn validate_for_fifo(&self) -> Result<(), MappingError> {
        self.validate()?;
        if self.batch_size > 10 {
            return Err(MappingError::InvalidConfig(format!(
                "BatchSize {} is above 10, the most a FIFO queue allows",
                self.batch_size
            )));
        }
        if !self.maximum_batching_window.is_zero() {
            return Err(MappingError::InvalidConfig(
                "MaximumBatchingWindowInSeconds is not supported for FIFO queues".into(),
            ));
        }
        Ok(())
    }

    /// The most batches the mapping runs at once: MaximumConcurrency, else Lambda's 1,000.
    pub fn ceiling(&self) -> usize {
        usize::from(self.maximum_concurrency.unwrap_or(1000))
    }

    /// The pollers the mapping starts with (and scales back to): `concurrency`, capped.
    pub fn initial_pollers(&self) -> usize {
        self.concurrency.clamp(1, self.ceiling())
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

    /// CloudFormation `AWS::Lambda::EventSourceMapping ScalingConfig`: MaximumConcurrency
    /// minimum 2, maximum 1000 (AWS-SEMANTICS 3.1, [CFN-SCALE]).
    #[test]
    fn maximum_concurrency_is_two_to_a_thousand() {
        for (max, ok) in [(1, false), (2, true), (1000, true), (1001, false)] {
            let c = SqsMappingConfig {
                maximum_concurrency: Some(max),
                ..Default::default()
            };
            assert_eq!(c.validate().is_ok(), ok, "{max}");
        }
        let c = SqsMappingConfig {
            maximum_concurrency: Some(2),
            ..Default::default()
        };
        assert_eq!((c.ceiling(), c.initial_pollers()), (2, 2));
        assert_eq!(SqsMappingConfig::default().ceiling(), 1000);
    }

    #[test]
    fn fifo_queues_take_at_most_ten_and_no_window() {
        SqsMappingConfig::default().validate_for_fifo().unwrap();
        let c = SqsMappingConfig {
            batch_size: 20,
            maximum_batching_window: Duration::from_secs(1),
            ..Default::default()
        };
        assert!(c.validate_for_fifo().is_err());
        let c = SqsMappingConfig {
            maximum_batching_window: Duration::from_secs(1),
            ..Default::default()
        };
        assert!(c.validate_for_fifo().is_err());
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
