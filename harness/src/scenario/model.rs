//! The scenario file format (TOML): a description, optional settings, and steps run in order.
//!
//! ```toml
//! description = "SQS throttles SendMessage twice; everything still lands once"
//! [[steps]]
//! fault = { service = "sqs", operation = "SendMessage", action = "throttle", first = 2 }
//! [[steps]]
//! ingest = { fixture = "fixtures/energy.jsonl" }
//! [[steps]]
//! drain = {}
//! [[steps]]
//! expect = { table = 20, dlq = 0, lost = 0 }
//! ```

use serde::Deserialize;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows (the report's first line).
    pub description: String,
    /// `[settings]`: template overrides, seed, throughput limits.
    #[serde(default)]
    pub settings: Settings,
    /// `[[steps]]`, run in order.
    pub steps: Vec<Step>,
}

/// Knobs a scenario may turn; everything else is the template's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Switch on the emulator's throughput limits (embedded backend only).
    #[serde(default)]
    pub throughput_limits: bool,
    /// Seed for probabilistic faults and generated ids.
    pub seed: Option<u64>,
    /// Another template for this scenario (a path relative to the workspace root) instead of
    /// the project's `template.yaml`.
    pub template: Option<String>,
    /// A YAML file (relative to the workspace root) of more resources added to the template
    /// for this scenario: another consumer of the stream, its queues.
    pub resources: Option<String>,
    /// Template values replaced for this scenario, by path under the resource's
    /// `Properties` (`"EventsQueue.VisibilityTimeout" = 2`,
    /// `"ForwardFunction.Events.Stream.Properties.BatchSize" = 2`). The report lists each.
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, toml::Value>,
}

/// One step. Exactly one key per `[[steps]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Install a fault rule (fields: see [`crate::fault::FaultSpec`]).
    Fault(crate::fault::FaultSpec),
    /// Remove every fault rule.
    ClearFaults(Empty),
    /// PUT events through the ingest API.
    Ingest(Ingest),
    /// Write a raw record straight to the stream (a producer that bypasses the ingest API).
    PutRecord(PutRecord),
    /// Wait until the stream, the queues and in-flight batches are idle.
    Drain(Drain),
    /// Restart a consumer (its checkpoint survives).
    Restart(Restart),
    /// Re-read the stream from a point through the forward handler.
    Replay(Replay),
    /// Move the DLQ's messages back to the queue.
    Redrive(Empty),
    /// Check counts, ids and attempts.
    Expect(Expect),
    /// Record the table and the DLQ under a name (the test suite snapshots them).
    Snapshot(Snapshot),
}

impl Step {
    /// The step's name as files spell it (`fault`, `ingest`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Fault(_) => "fault",
            Step::ClearFaults(_) => "clear_faults",
            Step::Ingest(_) => "ingest",
            Step::PutRecord(_) => "put_record",
            Step::Drain(_) => "drain",
            Step::Restart(_) => "restart",
            Step::Replay(_) => "replay",
            Step::Redrive(_) => "redrive",
            Step::Expect(_) => "expect",
            Step::Snapshot(_) => "snapshot",
        }
    }
}

/// `{}` (or `true`) for steps without parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Empty {
    /// `{}`.
    Table(NoFields),
    /// `true`.
    Flag(bool),
}

/// An empty table: `{}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// `ingest`: generated events or a fixture of request bodies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    /// Generate this many events with ids `{prefix}{n}` (n from 1).
    pub count: Option<u64>,
    /// Id prefix for generated events (default "e-").
    pub prefix: Option<String>,
    /// A JSON-lines file of request bodies, relative to the workspace root.
    pub fixture: Option<String>,
    /// The configured stream name (default "default").
    pub stream: Option<String>,
    /// Expected HTTP status of every PUT (default 200).
    pub status: Option<u16>,
    /// How often the client retries a `503` with the same id (default 3): the client owns
    /// the retry when Kinesis refuses, and a retried id never creates a second item.
    pub client_retries: Option<u32>,
}

/// `put_record`: raw data straight to the stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRecord {
    /// The record's data, as text.
    pub data: String,
    /// Partition key (default "raw").
    pub partition_key: Option<String>,
}

/// `drain`: until the pipeline is idle.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drain {
    /// Give up after this long in (scenario) time (default 10m): a duration such as `"90s"`.
    #[serde(default, deserialize_with = "optional_duration")]
    pub deadline: Option<std::time::Duration>,
}

/// `restart`: a consumer, gracefully or as a crash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// `forward` (the Kinesis mapping) or `store` (the SQS mapping).
    pub consumer: String,
    /// Kill it without a graceful stop (no checkpoint of in-flight work).
    #[serde(default)]
    pub crash: bool,
}

/// `replay`: re-read the stream from a point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// `trim-horizon`, an RFC 3339 time, or `scenario-start`.
    pub from: String,
}

/// `expect`: counts and ids the pipeline must show now.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Items in the table.
    pub table: Option<u64>,
    /// Messages in the DLQ.
    pub dlq: Option<u64>,
    /// Accepted events found neither in the table nor in the DLQ.
    pub lost: Option<u64>,
    /// Duplicate writes the store handler suppressed.
    pub duplicates: Option<u64>,
    /// Conflicts the store handler sent to the DLQ (an id stored with another envelope).
    pub conflicts: Option<u64>,
    /// The table's ids, exactly (sorted).
    pub table_ids: Option<Vec<String>>,
    /// The DLQ's envelope ids, exactly (sorted).
    pub dlq_ids: Option<Vec<String>>,
    /// HTTP attempts per operation (and event).
    #[serde(default)]
    pub attempts: Vec<ExpectAttempts>,
    /// Faults fired, by rule name.
    #[serde(default)]
    pub fired: Vec<ExpectFired>,
    /// Messages on a queue of the template (visible, in flight or delayed), by logical id.
    #[serde(default)]
    pub queues: std::collections::BTreeMap<String, u64>,
}

/// An expected number of HTTP attempts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectAttempts {
    /// `kinesis`, `sqs` or `dynamodb`.
    pub service: String,
    /// The API operation.
    pub operation: String,
    /// Only attempts carrying this event id.
    pub event: Option<String>,
    /// How many.
    pub count: u64,
}

/// An expected number of times a rule fired.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFired {
    /// The rule's name.
    pub rule: String,
    /// How many.
    pub count: u64,
}

/// `snapshot`: record the table and the DLQ under a name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The name in the report.
    pub name: String,
}

/// A duration in the project's one grammar (`pipeline::config::parse_duration`: `"90s"`).
fn optional_duration<'de, D>(deserializer: D) -> Result<Option<std::time::Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|t| pipeline::config::parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}
