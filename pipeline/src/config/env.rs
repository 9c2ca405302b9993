//! Each function's settings from its environment: the one loader for every way a function
//! runs. On Lambda the environment is the process's (set by `template.yaml`'s
//! `Environment.Variables`); in the harness it is the same variables, resolved from the same
//! template. So a setting the harness proves is the setting that deploys.
//!
//! | function | variables (required in bold) |
//! |---|---|
//! | ingest | **`STREAMS`** (`name=kinesis-stream`, comma-separated), `STAGE`, `PARTITION_KEY` (`id`, `stream` or `payload:/json/pointer`), `BATCH_PUTS` (`true`/`false`), `MAX_EVENT_BYTES`, `MAX_BODY_BYTES` |
//! | forward | **`QUEUE_URL`**, **`DLQ_URL`**, `MAX_ATTEMPTS`, `BASE_DELAY`, `MAX_DELAY` (durations: `100ms`, `2s`) |
//! | store | **`TABLE_NAME`**, **`DLQ_URL`** (conflicts), `MAX_ATTEMPTS`, `BASE_DELAY`, `MAX_DELAY` |

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    ApiKeys, ForwardConfig, IngestConfig, PartitionKeySource, RetryPolicy, StoreConfig,
    StreamConfig,
};

/// A variable that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A variable the function needs is not set.
    #[error("environment variable {name} must be set")]
    Missing {
        /// The variable.
        name: &'static str,
    },
    /// A variable is set to something it cannot be.
    #[error("environment variable {name} must be {expected}, not `{value}`")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be (`` `true` or `false` ``, a whole number in a range, ...).
        expected: &'static str,
    },
}

/// The variables each function reads, so a caller that knows the whole environment (the
/// harness, reading a template) can refuse one that nothing reads instead of ignoring it.
pub const INGEST_VARS: &[&str] = &[
    "STREAMS",
    "STAGE",
    "PARTITION_KEY",
    "BATCH_PUTS",
    "MAX_EVENT_BYTES",
    "MAX_BODY_BYTES",
];
/// The variables the forward function reads.
pub const FORWARD_VARS: &[&str] = &[
    "QUEUE_URL",
    "DLQ_URL",
    "MAX_ATTEMPTS",
    "BASE_DELAY",
    "MAX_DELAY",
];
/// The variables the store function reads.
pub const STORE_VARS: &[&str] = &[
    "TABLE_NAME",
    "DLQ_URL",
    "MAX_ATTEMPTS",
    "BASE_DELAY",
    "MAX_DELAY",
];

/// Reads variables from somewhere: `|name| std::env::var(name).ok()` on Lambda, a map in the
/// harness.
pub trait Env {
    /// The variable `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The process environment (the Lambda binaries).
pub fn process() -> impl Env {
    |name: &str| std::env::var(name).ok()
}

impl ForwardConfig {
    /// The forward function's settings from its environment (`QUEUE_URL`, `DLQ_URL`, retries).
    pub fn from_env(env: &impl Env) -> Result<Self, EnvError> {
        Ok(ForwardConfig {
            queue_url: required(env, "QUEUE_URL")?,
            dlq_url: required(env, "DLQ_URL")?,
            retry: retry_policy(env)?,
        })
    }
}

impl StoreConfig {
    /// The store function's settings from its environment (`TABLE_NAME`, retries).
    pub fn from_env(env: &impl Env) -> Result<Self, EnvError> {
        Ok(StoreConfig {
            table: required(env, "TABLE_NAME")?,
            dlq_url: required(env, "DLQ_URL")?,
            retry: retry_policy(env)?,
        })
    }
}

impl IngestConfig {
    /// The deployed ingest function's settings. API Gateway has checked the key already
    /// ([`ApiKeys::Upstream`]); the harness replaces that with the template's key.
    pub fn from_env(env: &impl Env) -> Result<Self, EnvError> {
        let streams = required(env, "STREAMS")?;
        let partition_key = match env.var("PARTITION_KEY") {
            None => PartitionKeySource::Id,
            Some(text) => parse_partition_key(&text).ok_or(EnvError::Invalid {
                name: "PARTITION_KEY",
                value: text,
                expected: "`id`, `stream` or `payload:/json/pointer`",
            })?,
        };
        let batch = match env.var("BATCH_PUTS").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(EnvError::Invalid {
                    name: "BATCH_PUTS",
                    value: other.to_owned(),
                    expected: "`true` or `false`",
                });
            }
        };
        let mut config = IngestConfig::new(parse_streams(&streams, &partition_key, batch)?);
        config.api_keys = ApiKeys::Upstream;
        if let Some(stage) = env.var("STAGE") {
            config.stage = stage;
        }
        if let Some(n) = number(env, "MAX_EVENT_BYTES")? {
            config.max_event_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(env, "MAX_BODY_BYTES")? {
            config.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(config)
    }
}

/// `default=events,clicks=clicks-stream`: client stream names and their Kinesis streams.
fn parse_streams(
    text: &str,
    partition_key: &PartitionKeySource,
    batch: bool,
) -> Result<BTreeMap<String, StreamConfig>, EnvError> {
    let invalid = || EnvError::Invalid {
        name: "STREAMS",
        value: text.to_owned(),
        expected: "comma-separated `name=kinesis-stream` pairs",
    };
    let mut streams = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, stream) = pair.split_once('=').ok_or_else(invalid)?;
        let (name, stream) = (name.trim(), stream.trim());
        if name.is_empty() || stream.is_empty() || streams.contains_key(name) {
            return Err(invalid());
        }
        streams.insert(
            name.to_owned(),
            StreamConfig {
                kinesis_stream: stream.to_owned(),
                partition_key: partition_key.clone(),
                batch,
            },
        );
    }
    if streams.is_empty() {
        return Err(invalid());
    }
    Ok(streams)
}

fn parse_partition_key(text: &str) -> Option<PartitionKeySource> {
    match text {
        "id" => Some(PartitionKeySource::Id),
        "stream" => Some(PartitionKeySource::Stream),
        other => other
            .strip_prefix("payload:")
            .filter(|pointer| pointer.starts_with('/'))
            .map(|pointer| PartitionKeySource::PayloadField(pointer.to_owned())),
    }
}

/// `MAX_ATTEMPTS`, `BASE_DELAY`, `MAX_DELAY` (durations: `50ms`, `2s`), each optional.
fn retry_policy(env: &impl Env) -> Result<RetryPolicy, EnvError> {
    let default = RetryPolicy::default();
    let max_attempts = match number(env, "MAX_ATTEMPTS")? {
        None => default.max_attempts,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(EnvError::Invalid {
                name: "MAX_ATTEMPTS",
                value: n.to_string(),
                expected: "a whole number from 1 to 4294967295",
            })?,
    };
    Ok(RetryPolicy {
        max_attempts,
        base_delay: duration(env, "BASE_DELAY")?.unwrap_or(default.base_delay),
        max_delay: duration(env, "MAX_DELAY")?.unwrap_or(default.max_delay),
    })
}

fn required(env: &impl Env, name: &'static str) -> Result<String, EnvError> {
    env.var(name)
        .filter(|v| !v.is_empty())
        .ok_or(EnvError::Missing { name })
}

fn number(env: &impl Env, name: &'static str) -> Result<Option<u64>, EnvError> {
    env.var(name)
        .map(|text| {
            text.trim().parse().map_err(|_| EnvError::Invalid {
                name,
                value: text,
                expected: "a whole number",
            })
        })
        .transpose()
}

fn duration(env: &impl Env, name: &'static str) -> Result<Option<Duration>, EnvError> {
    env.var(name)
        .map(|text| {
            super::parse_duration(&text).map_err(|_| EnvError::Invalid {
                name,
                value: text,
                expected: "a duration such as 50ms or 2s",
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn forward_reads_its_queues_and_retry_policy() {
        let c = ForwardConfig::from_env(&env(&[
            ("QUEUE_URL", "http://q"),
            ("DLQ_URL", "http://d"),
            ("MAX_ATTEMPTS", "5"),
            ("BASE_DELAY", "10ms"),
        ]))
        .unwrap();
        assert_eq!(
            (c.queue_url.as_str(), c.dlq_url.as_str()),
            ("http://q", "http://d")
        );
        assert_eq!(c.retry.max_attempts, 5);
        assert_eq!(c.retry.base_delay, Duration::from_millis(10));
        assert_eq!(c.retry.max_delay, RetryPolicy::default().max_delay);
    }

    #[test]
    fn missing_and_invalid_variables_are_named() {
        let err = ForwardConfig::from_env(&env(&[("QUEUE_URL", "q")])).unwrap_err();
        assert_eq!(err.to_string(), "environment variable DLQ_URL must be set");
        let err = StoreConfig::from_env(&env(&[
            ("TABLE_NAME", "t"),
            ("DLQ_URL", "q"),
            ("MAX_ATTEMPTS", "0"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("MAX_ATTEMPTS"), "{err}");
        let err = StoreConfig::from_env(&env(&[
            ("TABLE_NAME", "t"),
            ("DLQ_URL", "q"),
            ("MAX_DELAY", "2000"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAX_DELAY must be a duration such as 50ms or 2s, not `2000`"
        );
    }

    #[test]
    fn ingest_reads_streams_partition_key_and_limits() {
        let c = IngestConfig::from_env(&env(&[
            ("STREAMS", "default=events, clicks=clicks-stream"),
            ("PARTITION_KEY", "payload:/device"),
            ("BATCH_PUTS", "true"),
            ("MAX_EVENT_BYTES", "1000"),
        ]))
        .unwrap();
        assert_eq!(c.api_keys, ApiKeys::Upstream, "API Gateway checks the key");
        assert_eq!(c.stage, "prod");
        assert_eq!(c.streams["clicks"].kinesis_stream, "clicks-stream");
        assert_eq!(
            c.streams["default"].partition_key,
            PartitionKeySource::PayloadField("/device".into())
        );
        assert!(c.streams["default"].batch);
        assert_eq!(c.max_event_bytes, 1000);
    }

    #[test]
    fn ingest_refuses_malformed_streams() {
        for bad in ["", "default", "=x", "a=x,a=y", "default="] {
            let err = IngestConfig::from_env(&env(&[("STREAMS", bad)])).unwrap_err();
            assert!(
                matches!(
                    err,
                    EnvError::Invalid {
                        name: "STREAMS",
                        ..
                    } | EnvError::Missing { .. }
                ),
                "{bad}: {err}"
            );
        }
        let err = IngestConfig::from_env(&env(&[("STREAMS", "a=b"), ("PARTITION_KEY", "user")]))
            .unwrap_err();
        assert!(err.to_string().contains("PARTITION_KEY"), "{err}");
    }
}
