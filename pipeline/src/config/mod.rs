//! The pipeline's configuration: plain structs built once at the edge and passed in. Each
//! function reads its own from its environment through [`env`](mod@env), the one loader that
//! both the Lambda binaries (the process environment) and the harness (the environment
//! `template.yaml` gives the function) use. Nothing else in this crate reads environment variables.

pub mod env;

use std::collections::BTreeMap;
use std::time::Duration;

/// The seed's local API key (`x-api-key`).
pub const SEED_API_KEY: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Kinesis's record limit: data blob plus partition key, in bytes (AWS-SEMANTICS 1.1).
pub const KINESIS_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The default event limit: SQS's classic 256 KiB message limit less 4 KiB for the DLQ's
/// failure attributes (SQS counts attributes towards the message size).
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - 4 * 1024;

/// Who checks `x-api-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeys {
    /// The app compares the header with these keys (local runs: the harness plays API
    /// Gateway's part, with the key `template.yaml` gives).
    Local(Vec<String>),
    /// API Gateway checked the key before the request reached the app (the deployed
    /// `IngestFunction` behind `IngestApi`, whose method has `ApiKeyRequired: true`).
    Upstream,
}

/// Everything the ingest API needs to know. Built by [`IngestConfig::from_env`] on Lambda and
/// by the harness from `template.yaml`; the resource names come from there, never from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Who checks `x-api-key`.
    pub api_keys: ApiKeys,
    /// API Gateway stage: the first path segment (`/prod/stream`).
    pub stage: String,
    /// Stream names clients may use in `"stream"`, each mapped to a transport.
    pub streams: BTreeMap<String, StreamConfig>,
    /// Largest request body the ingest API reads; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest envelope (its JSON) the ingest API accepts; larger events get 413. Every hop
    /// must hold it: a Kinesis record (1 MiB), an SQS message with the DLQ's failure
    /// attributes (256 KiB classic limit), a DynamoDB item (400 KB). An event accepted but
    /// too big for a later hop could never be stored.
    pub max_event_bytes: usize,
    /// A request that takes longer gets 504, as API Gateway's integration timeout.
    pub request_timeout: Duration,
}

/// API Gateway's maximum integration timeout (REST APIs).
pub const API_GATEWAY_TIMEOUT: Duration = Duration::from_secs(29);

impl IngestConfig {
    /// The defaults for a set of streams: the seed's stage, its local key, AWS's limits.
    pub fn new(streams: BTreeMap<String, StreamConfig>) -> Self {
        IngestConfig {
            api_keys: ApiKeys::Local(vec![SEED_API_KEY.to_owned()]),
            stage: "prod".to_owned(),
            streams,
            // A body larger than Kinesis's record limit can never fit in a record.
            max_body_bytes: KINESIS_MAX_RECORD_BYTES,
            max_event_bytes: MAX_EVENT_BYTES,
            request_timeout: API_GATEWAY_TIMEOUT,
        }
    }

    /// One client stream, `default`, on the Kinesis stream `kinesis_stream` (tests).
    pub fn single(kinesis_stream: impl Into<String>) -> Self {
        Self::new(BTreeMap::from([(
            "default".to_owned(),
            StreamConfig::new(kinesis_stream),
        )]))
    }

    /// The key the app accepts first, if it checks keys itself.
    pub fn first_key(&self) -> Option<&str> {
        match &self.api_keys {
            ApiKeys::Local(keys) => keys.first().map(String::as_str),
            ApiKeys::Upstream => None,
        }
    }
}

/// Where one client-visible stream name goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// The Kinesis stream name.
    pub kinesis_stream: String,
    /// What the record's partition key is.
    pub partition_key: PartitionKeySource,
    /// Coalesce concurrent events into PutRecords requests (throughput under load) instead of
    /// one PutRecord each. Fault rules then see `PutRecords`.
    pub batch: bool,
}

impl StreamConfig {
    /// One PutRecord per event, partitioned by the event id.
    pub fn new(kinesis_stream: impl Into<String>) -> Self {
        StreamConfig {
            kinesis_stream: kinesis_stream.into(),
            partition_key: PartitionKeySource::Id,
            batch: false,
        }
    }
}

/// The forward handler's settings (`ForwardFunction`'s environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    /// The queue it sends each envelope to.
    pub queue_url: String,
    /// Where an envelope goes after the last failed attempt (and poison records at once).
    pub dlq_url: String,
    /// SendMessage attempts.
    pub retry: RetryPolicy,
}

/// The store handler's settings (`StoreFunction`'s environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The table it writes items to.
    pub table: String,
    /// Where an envelope whose id is stored with another envelope goes (a conflict).
    pub dlq_url: String,
    /// PutItem attempts (and the conflict's SendMessage attempts).
    pub retry: RetryPolicy,
}

/// The partition key of an event's record, which picks its shard (and so its order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PartitionKeySource {
    /// The event id: events spread evenly over the shards.
    #[default]
    Id,
    /// The stream name: every event of the stream on one shard, in one order.
    Stream,
    /// A string or number at this JSON pointer in the payload (e.g. `/device`), else the id.
    PayloadField(String),
}

/// How many attempts an operation gets and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP attempts in all (the first one included); 0 is treated as 1.
    pub max_attempts: u32,
    /// The backoff cap before the first retry; doubled for each later one.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy with `max_attempts` and no waiting, for tests.
    pub fn immediate(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// The attempts actually made: at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The backoff cap before retry number `retry` (1 for the wait after the first attempt):
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// "Full jitter" backoff: uniform in `[0, backoff_cap(retry)]`, so retrying clients spread out.
    pub fn backoff(&self, retry: u32, rng: &mut impl rand::Rng) -> Duration {
        let cap = self.backoff_cap(retry);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }
}

/// The one duration grammar of the project (CLI flags, scenario files, function settings):
/// humantime's, e.g. `"250ms"`, `"2s"`, `"1m 30s"`, `"500us"`. A bare number has no unit and
/// is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 250ms, 2s or 1m 30s: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn defaults_follow_the_seed() {
        let c = IngestConfig::single("s");
        assert_eq!(c.api_keys, ApiKeys::Local(vec![SEED_API_KEY.to_owned()]));
        assert_eq!(c.first_key(), Some(SEED_API_KEY));
        assert_eq!(c.stage, "prod");
        assert_eq!(c.streams["default"].kinesis_stream, "s");
        assert_eq!(c.streams["default"].partition_key, PartitionKeySource::Id);
        assert_eq!(RetryPolicy::default().max_attempts, 3);
    }

    #[test]
    fn durations_need_a_number_and_a_unit() {
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("2").is_err(), "a bare number has no unit");
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn backoff_caps_double_up_to_the_maximum() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        let caps: Vec<u128> = (1..=6).map(|r| p.backoff_cap(r).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            p.backoff_cap(200),
            Duration::from_millis(1000),
            "no overflow"
        );
    }

    #[test]
    fn backoff_stays_within_zero_and_its_cap() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for retry in 1..=8 {
            let mut seen_nonzero = false;
            for _ in 0..200 {
                let d = p.backoff(retry, &mut rng);
                assert!(d <= p.backoff_cap(retry), "{d:?} over cap at retry {retry}");
                seen_nonzero |= d > Duration::ZERO;
            }
            assert!(seen_nonzero, "jitter is not stuck at zero");
        }
        assert_eq!(
            RetryPolicy::immediate(3).backoff(2, &mut rng),
            Duration::ZERO
        );
        assert_eq!(RetryPolicy::immediate(0).attempts(), 1);
    }
}
