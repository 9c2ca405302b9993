//! The Kinesis mapping's settings: Lambda's `CreateEventSourceMapping` parameters for streams
//! (AWS-SEMANTICS 2.1), with Lambda's defaults, plus the few knobs the harness needs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::esm::MappingError;
use crate::esm::filter::FilterCriteria;

/// Where a shard with no checkpoint starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still in the stream (`TRIM_HORIZON`).
    TrimHorizon,
    /// Only records put after the shard's iterator is taken (`LATEST`).
    Latest,
    /// The first record arriving at or after the time (`AT_TIMESTAMP`).
    AtTimestamp(DateTime<Utc>),
    /// Not a Lambda setting: the harness's replay from one record. The shard holding the
    /// sequence number starts at it (AT_SEQUENCE_NUMBER); every other shard at LATEST.
    AtSequenceNumber(String),
}

/// A Kinesis event source mapping's settings, as Lambda names them; [`Default`] is Lambda's
/// defaults.
#[derive(Debug, Clone)]
pub struct KinesisMappingConfig {
    /// `BatchSize`: records per invocation at most (1..=10,000).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`: how long to gather records before invoking.
    pub maximum_batching_window: Duration,
    /// `StartingPosition`: where a shard without a checkpoint starts.
    pub starting_position: StartingPosition,
    /// `MaximumRetryAttempts`: `None` is Lambda's -1 (retry until the record expires).
    pub maximum_retry_attempts: Option<u32>,
    /// `MaximumRecordAgeInSeconds`: `None` is Lambda's -1 (no limit).
    pub maximum_record_age: Option<Duration>,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
    pub report_batch_item_failures: bool,
    /// `ParallelizationFactor` (1..=10): concurrent batches per shard, order kept per key.
    pub parallelization_factor: u8,
    /// `DestinationConfig.OnFailure`: the URL of an SQS queue for discarded batches' records.
    pub on_failure: Option<String>,
    /// How long a shard's consumer waits after an empty GetRecords (Lambda polls each shard
    /// at a base rate of once per second).
    pub poll_interval: Duration,
    /// How long a consumer waits before the first retry of a failed batch; each further retry
    /// waits twice as long, up to `max_retry_delay` (see `batch::retry_backoff` for the
    /// curve and the recording it is fitted to: Lambda does not document its pacing).
    pub retry_delay: Duration,
    /// The longest wait between two retries of a failed batch.
    pub max_retry_delay: Duration,
    /// The function's name, for the `functionArn` of on-failure records.
    pub function_name: String,
    /// The function's execution role (the template's `Role`): every record's
    /// `invokeIdentityArn`. `None`: `arn:aws:iam::<account>:role/lambda-role`.
    pub role_arn: Option<String>,
    /// The clock for record age and on-failure timestamps; `None` follows tokio's clock from
    /// the system time at spawn. Hand in the emulator's clock for exact agreement with it.
    pub clock: Option<emulator::Clock>,
    /// The function's timeout: an invocation still running after it is a function error
    /// ("Task timed out"). `None`: no limit.
    pub function_timeout: Option<Duration>,
    /// `FilterCriteria`: records no filter matches (on their decoded `data` and metadata) are
    /// skipped and checkpointed. `None`: every record is delivered.
    pub filter_criteria: Option<FilterCriteria>,
    /// `TumblingWindowInSeconds` (1..=900; AWS's 0 is `None`): windows of this length with
    /// state carried between invocations (`KinesisMapping::spawn_windowed`).
    pub tumbling_window: Option<Duration>,
}

impl Default for KinesisMappingConfig {
    fn default() -> Self {
        Self {
            batch_size: 100,
            maximum_batching_window: Duration::ZERO,
            starting_position: StartingPosition::TrimHorizon,
            maximum_retry_attempts: None,
            maximum_record_age: None,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            parallelization_factor: 1,
            on_failure: None,
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(10),
            function_name: "function".to_owned(),
            role_arn: None,
            clock: None,
            function_timeout: None,
            filter_criteria: None,
            tumbling_window: None,
        }
    }
}

impl KinesisMappingConfig {
    /// Checks the ranges Lambda's API enforces.
    pub fn validate(&self) -> Result<(), MappingError> {
        let bad = |m: String| Err(MappingError::InvalidConfig(m));
        if !(1..=10_000).contains(&self.batch_size) {
            return bad(format!("BatchSize {} is not in 1..=10000", self.batch_size));
        }
        if self.maximum_batching_window > Duration::from_secs(300) {
            return bad("MaximumBatchingWindowInSeconds must be at most 300".into());
        }
        if !(1..=10).contains(&self.parallelization_factor) {
            return bad(format!(
                "ParallelizationFactor {} is not in 1..=10",
                self.parallelization_factor
            ));
        }
        if self.maximum_retry_attempts.is_some_and(|n| n > 10_000) {
            return bad("MaximumRetryAttempts must be at most 10000".into());
        }
        if let Some(age) = self.maximum_record_age
            && !(Duration::from_secs(60)..=Duration::from_secs(604_800)).contains(&age)
        {
            return bad(format!(
                "MaximumRecordAgeInSeconds {} is not in 60..=604800",
                age.as_secs()
            ));
        }
        if self.poll_interval.is_zero() {
            return bad("poll_interval must be positive".into());
        }
        if let Some(w) = self.tumbling_window
            && !(Duration::from_secs(1)..=Duration::from_secs(900)).contains(&w)
        {
            return bad(format!(
                "TumblingWindowInSeconds {} is not in 0..=900",
                w.as_secs()
            ));
        }
        if self.max_retry_delay < self.retry_delay {
            return bad("max_retry_delay must be at least retry_delay".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lambdas() {
        let c = KinesisMappingConfig::default();
        assert_eq!(c.batch_size, 100);
        assert_eq!(c.maximum_retry_attempts, None);
        assert_eq!(c.parallelization_factor, 1);
        assert_eq!(c.poll_interval, Duration::from_secs(1));
        c.validate().unwrap();
    }

    #[test]
    fn out_of_range_settings_are_rejected() {
        for c in [
            KinesisMappingConfig {
                batch_size: 0,
                ..Default::default()
            },
            KinesisMappingConfig {
                parallelization_factor: 11,
                ..Default::default()
            },
            KinesisMappingConfig {
                maximum_record_age: Some(Duration::from_secs(59)),
                ..Default::default()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
