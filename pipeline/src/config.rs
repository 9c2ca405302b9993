//! The pipeline's configuration: plain structs built once at the edge (a TOML file, a binary's
//! `main`, a test) and passed in. Nothing in this crate reads environment variables.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The seed's local API key (`x-api-key`).
pub const SEED_API_KEY: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Kinesis's record limit: data blob plus partition key, in bytes (AWS-SEMANTICS 1.1).
pub const KINESIS_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The default event limit: SQS's classic 256 KiB message limit less 4 KiB for the DLQ's
/// failure attributes (SQS counts attributes towards the message size).
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - 4 * 1024;

/// Everything the ingest API and the handlers need to know.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Accepted `x-api-key` values.
    pub api_keys: Vec<String>,
    /// API Gateway stage: the first path segment (`/prod/stream`).
    pub stage: String,
    /// Stream names clients may use in `"stream"`, each mapped to a transport.
    pub streams: BTreeMap<String, StreamConfig>,
    /// The SQS queue the forward handler sends to.
    pub queue: String,
    /// The app-level DLQ queue (and the redrive target of `queue`).
    pub dlq: String,
    /// The DynamoDB table the store handler writes to.
    pub table: String,
    /// SendMessage attempts of the forward handler.
    pub forward: RetryPolicy,
    /// PutItem attempts of the store handler.
    pub store: RetryPolicy,
    /// Largest request body the ingest API reads; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest envelope (its JSON) the ingest API accepts; larger events get 413. Every hop
    /// must hold it: a Kinesis record (1 MiB), an SQS message with the DLQ's failure
    /// attributes (256 KiB classic limit), a DynamoDB item (400 KB). An event accepted but
    /// too big for a later hop could never be stored.
    pub max_event_bytes: usize,
    /// A request that takes longer gets 504, as API Gateway's integration timeout.
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            api_keys: vec![SEED_API_KEY.to_owned()],
            stage: "prod".to_owned(),
            streams: BTreeMap::from([("default".to_owned(), StreamConfig::default())]),
            queue: "events".to_owned(),
            dlq: "events-dlq".to_owned(),
            table: "events".to_owned(),
            forward: RetryPolicy::default(),
            store: RetryPolicy::default(),
            // A body larger than Kinesis's record limit can never fit in a record.
            max_body_bytes: KINESIS_MAX_RECORD_BYTES,
            max_event_bytes: MAX_EVENT_BYTES,
            // API Gateway's maximum integration timeout.
            request_timeout: Duration::from_secs(29),
        }
    }
}

/// Where one client-visible stream name goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// The Kinesis stream name.
    pub kinesis_stream: String,
    /// What the record's partition key is.
    pub partition_key: PartitionKeySource,
    /// Coalesce concurrent events into PutRecords requests (throughput under load) instead of
    /// one PutRecord each. Fault rules then see `PutRecords`.
    pub batch: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            kinesis_stream: "events".to_owned(),
            partition_key: PartitionKeySource::Id,
            batch: false,
        }
    }
}

/// The partition key of an event's record, which picks its shard (and so its order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// HTTP attempts in all (the first one included); 0 is treated as 1.
    pub max_attempts: u32,
    /// The backoff cap before the first retry; doubled for each later one.
    #[serde(deserialize_with = "duration")]
    pub base_delay: Duration,
    /// No backoff is longer than this.
    #[serde(deserialize_with = "duration")]
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

/// A duration written as an integer of milliseconds or a string with a unit: `"250ms"`,
/// `"2s"`, `"1m"`, `"500us"`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Millis(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Millis(ms) => Ok(Duration::from_millis(ms)),
        Raw::Text(text) => parse_duration(&text).map_err(serde::de::Error::custom),
    }
}

/// Parses `"250ms"`, `"2s"`, `"1m"`, `"500us"` (an integer and a unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration `{text}` needs a unit (us, ms, s, m)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("duration `{text}` must start with an integer"))?;
    match unit.trim() {
        "us" => Ok(Duration::from_micros(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        other => Err(format!(
            "unknown duration unit `{other}` in `{text}` (us, ms, s, m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn defaults_follow_the_seed() {
        let c = PipelineConfig::default();
        assert_eq!(c.api_keys, [SEED_API_KEY]);
        assert_eq!(c.stage, "prod");
        assert_eq!(c.streams["default"].kinesis_stream, "events");
        assert_eq!(c.streams["default"].partition_key, PartitionKeySource::Id);
        assert_eq!(
            (c.queue.as_str(), c.dlq.as_str(), c.table.as_str()),
            ("events", "events-dlq", "events")
        );
        assert_eq!(c.forward.max_attempts, 3);
        assert_eq!(c.store.max_attempts, 3);
    }

    #[test]
    fn config_reads_from_toml_with_durations_in_either_form() {
        let c: PipelineConfig = toml::from_str(
            r#"
            stage = "dev"
            request_timeout = "5s"
            [forward]
            max_attempts = 5
            base_delay = 10
            max_delay = "1m"
            [streams.clicks]
            kinesis_stream = "clicks"
            batch = true
            partition_key = { payload_field = "/user" }
            "#,
        )
        .expect("valid config");
        assert_eq!(c.stage, "dev");
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.forward.max_attempts, 5);
        assert_eq!(c.forward.base_delay, Duration::from_millis(10));
        assert_eq!(c.forward.max_delay, Duration::from_secs(60));
        assert_eq!(
            c.streams["clicks"].partition_key,
            PartitionKeySource::PayloadField("/user".into())
        );
        assert_eq!(
            c.api_keys,
            [SEED_API_KEY],
            "unset fields keep their defaults"
        );
    }

    #[test]
    fn config_rejects_unknown_keys_and_bad_durations() {
        assert!(toml::from_str::<PipelineConfig>("stages = \"x\"").is_err());
        assert!(toml::from_str::<PipelineConfig>("request_timeout = \"5 parsecs\"").is_err());
        assert!(parse_duration("ms").is_err());
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
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
