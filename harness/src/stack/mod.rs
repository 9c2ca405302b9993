//! A running pipeline with everything around it: the backend, the pipeline's resources, the
//! ingest API, both handlers behind their event source mappings, the fault plan and the
//! journal. `harness up`, the scenario runner and the tests all drive a [`Harness`].
//!
//! ```
//! use harness::Harness;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> anyhow::Result<()> {
//! let h = Harness::start().await?;
//! let rule = h.faults().sqs("SendMessage").to_queue().throttle().always().for_event("e-1").install();
//! h.ingest_ok(json!({"stream": "default", "id": "e-1", "payload": {"energy_type": "nuclear"}})).await?;
//! h.drain().await?;
//! assert_eq!(h.dlq_ids().await?, ["e-1"]);
//! assert_eq!(rule.fired(), 3);
//! assert_eq!(h.journal().attempts_to(h.queue(), "SendMessage", "e-1"), 3);
//! assert!(h.table_items().await?.is_empty());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod calls;
mod inspect;
mod operations;
mod profile;
mod recorder;
pub mod replay;
mod throttle;
mod unsigned;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use axum::Router;
use pipeline::config::env::EnvError;
use pipeline::ingest::IngestState;
use pipeline::observe::Observer;
use pipeline::{ApiKeys, ForwardConfig, Forwarder, IngestConfig, Store, StoreConfig};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::backend::{Backend, BackendError, BackendKind, BackendSettings, Provisioned};
use crate::esm::{
    DeliveryHooks, InMemoryCheckpoints, KinesisFunction, KinesisHandler, KinesisMapping,
    KinesisMappingConfig, KinesisMappingHandle, KinesisWindowHandler, MappingError, SqsHandler,
    SqsMapping, SqsMappingConfig, SqsMappingHandle,
};
use crate::fault::{FaultPlan, FaultyHttpClient, Journal};
use crate::template::spec::{Binary, CompileOptions, EventSource, FunctionSpec, KinesisEventSpec};
use crate::template::{Acceptance, Facts, Node, PipelineSpec, Template, TemplateError};

pub use calls::CallCounts;
pub use inspect::DlqEntry;
pub use profile::{REAL_TIME_PROFILE, real_time_overrides};
pub use recorder::{Counts, Recorder};
pub use replay::{ReplayFrom, ReplayReport};
pub use wire::WireCounts;

/// Errors of a running harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The backend could not start or provision the pipeline's resources.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// An event source mapping could not start.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The template cannot be run (exit code 2 in the CLI).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A function's settings, read from its environment as on Lambda, are wrong.
    #[error("{function}'s environment")]
    FunctionEnv {
        /// The function's logical id.
        function: String,
        /// What is wrong with its environment.
        #[source]
        source: EnvError,
    },
    /// An AWS call of the harness itself (inspecting, replaying, redriving) failed.
    #[error("{operation} failed")]
    Aws {
        /// The API operation (`Scan`, `ReceiveMessage`, ...).
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// A table item the harness read is not JSON (a number out of range, a set).
    #[error("a table item is not JSON")]
    ItemNotJson(#[source] serde_dynamo::Error),
    /// `queue_messages` named a queue the template does not have.
    #[error("the template has no queue {0}")]
    NoSuchQueue(String),
    /// The in-process call of the ingest API failed before it answered.
    #[error("the ingest API could not be called")]
    IngestCall(#[source] BoxError),
    /// A replay from a sequence number no shard holds.
    #[error("no shard of {stream} holds sequence number {sequence_number}")]
    NoShardHolds {
        /// The stream's name.
        stream: String,
        /// The sequence number asked for.
        sequence_number: String,
    },
    /// A redrive's message move task ended without completing.
    #[error("the move task ended {status}: {reason}")]
    MoveTaskEnded {
        /// `FAILED` or `CANCELLED`.
        status: String,
        /// SQS's `FailureReason`.
        reason: String,
    },
    /// A redrive's message move task was still running when the wait ended.
    #[error("the move task did not complete within {waited:?}")]
    MoveTaskTimeout {
        /// How long the harness waited.
        waited: Duration,
    },
    /// `ingest_ok`: the ingest API answered something other than 200.
    #[error("the ingest API answered {status}: {body}")]
    Ingest {
        /// The HTTP status (403 for a wrong key, 400 for a bad event, 503 when Kinesis
        /// throttled, ...).
        status: u16,
        /// The answer's JSON body (`null` when it was not JSON).
        body: Value,
    },
    /// The test runs under tokio's paused clock on a backend whose time it cannot pause.
    #[error(
        "this test runs under tokio's paused clock (`start_paused = true` or `time::pause`), \
         but {backend}'s time cannot be paused ({reason}): start the test with \
         `harness::require!(PausedClock)` to skip it there, or run it in real time"
    )]
    PausedClock {
        /// The kind of backend (or artifact mode).
        backend: String,
        /// Why its time cannot be paused.
        reason: String,
    },
    /// `drain` gave up: something is still in flight or keeps failing.
    #[error("the pipeline did not drain within {waited:?}: {state}")]
    DrainTimeout {
        /// How long it waited (tokio time).
        waited: Duration,
        /// What each mapping and queue was doing when it gave up.
        state: String,
        /// The mapping's own account, when one mapping did not become idle in time.
        #[source]
        mapping: Option<crate::esm::IdleTimeout>,
    },
    /// The template asks for something this harness cannot run (named in the message).
    #[error("{0}")]
    Unsupported(String),
    /// Artifact mode: a function's executable or its processes.
    #[error(transparent)]
    Lambda(#[from] crate::lambda::LambdaError),
}

/// An error with its sources, as the SDK's errors are kept.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl HarnessError {
    /// `operation` failed with `err` (an SDK error, kept as the source).
    pub(crate) fn aws(
        operation: &'static str,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        HarnessError::Aws {
            operation,
            source: Box::new(err),
        }
    }
}

/// A handler a test registers for a function of the template (by logical id), in place of a
/// project binary: how a template with more functions (another consumer of the stream) runs.
#[derive(Clone)]
pub enum FunctionHandler {
    /// For a Kinesis event source.
    Kinesis(Arc<dyn KinesisHandler>),
    /// For a Kinesis event source with `TumblingWindowInSeconds`.
    KinesisWindow(Arc<dyn KinesisWindowHandler>),
    /// For an SQS event source.
    Sqs(Arc<dyn SqsHandler>),
}

impl std::fmt::Debug for FunctionHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FunctionHandler::Kinesis(_) => "FunctionHandler::Kinesis",
            FunctionHandler::KinesisWindow(_) => "FunctionHandler::KinesisWindow",
            FunctionHandler::Sqs(_) => "FunctionHandler::Sqs",
        })
    }
}

/// One template value replaced for a run (a scenario's `[settings]`, a test's `set`).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// `LogicalId.Property...` (see [`Template::set_property`]).
    pub path: String,
    /// The value used in this run.
    pub value: Node,
    /// What the template said (`None`: it did not set the property).
    pub was: Option<Node>,
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.was {
            Some(was) => write!(f, "{} = {} (template: {was})", self.path, self.value),
            None => write!(f, "{} = {} (template: unset)", self.path, self.value),
        }
    }
}

/// How to start a [`Harness`]. What the pipeline *is* comes from the template; these are
/// where it runs and what the harness does around it.
///
/// ```
/// use harness::{Harness, HarnessOptions};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> anyhow::Result<()> {
/// // The backend from HARNESS_BACKEND, unique resource names; a template read from a file
/// // (here the project's own), one of its values changed for this run.
/// let options = HarnessOptions::for_tests()?
///     .template_file("../template.yaml")?
///     .set("StoreFunction.Events.Queue.Properties.BatchSize", 1);
/// let h = Harness::start_with(options).await?;
/// assert_eq!(
///     h.overrides()[0].to_string(),
///     "StoreFunction.Events.Queue.Properties.BatchSize = 1 (template: 10)"
/// );
/// h.ingest_ok(serde_json::json!({"stream": "default", "id": "e-1", "payload": {}})).await?;
/// h.drain().await?;
/// assert_eq!(h.table_ids().await?, ["e-1"]);
/// h.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Where the pipeline runs (embedded emulator, LocalStack, an endpoint).
    pub backend: BackendSettings,
    /// The template; `None` reads the project's `template.yaml` ([`Template::project`]).
    pub template: Option<Template>,
    /// Template parameter values (`sam deploy --parameter-overrides`).
    pub parameters: BTreeMap<String, String>,
    /// What the template says that the harness does not simulate, accepted as ignored.
    pub accept: Acceptance,
    /// Prefix of every physical name (tests and scenarios sharing a backend).
    pub name_prefix: Option<String>,
    /// Template values replaced for this run, in order.
    pub overrides: Vec<(String, Node)>,
    /// Handlers registered by function logical id (over a project binary, or for a function
    /// that has none).
    pub handlers: BTreeMap<String, FunctionHandler>,
    /// Lambda's shard polling when a read comes back empty (not a template setting: Lambda
    /// polls each shard about once a second).
    pub kinesis_poll_interval: Duration,
    /// One log line per event as it moves (`harness up`).
    pub log_events: bool,
    /// Remember every accepted id (for `lost_ids` and the PUT -> stored latency). Off for the
    /// long-running `harness up`, where the set would grow with every event.
    pub track_events: bool,
    /// Seed of the fault plan's probabilistic rules.
    pub seed: u64,
    /// How long `drain` waits at most (tokio time).
    pub drain_timeout: Duration,
    /// Put the fault layer (and its journal) under the pipeline's clients. Off for
    /// `harness up` and load runs, where nothing injects faults and the journal's per-request
    /// body inspection would only cost time.
    pub fault_layer: bool,
    /// Count the pipeline clients' SDK calls per operation ([`Harness::call_counts`]), with
    /// a layer that only reads each request's `X-Amz-Target` (for load runs).
    pub count_calls: bool,
    /// Artifact mode: functions that run as child processes through the Lambda Runtime API
    /// (built artifacts, or any executable by logical id). Runs in real time.
    pub artifacts: crate::lambda::Artifacts,
    /// Observers of every hop besides the harness's own [`Recorder`] (a soak's per-id
    /// bookkeeping, a test's own counts): each gets every [`pipeline::observe::PipelineEvent`].
    pub observers: Observers,
}

/// Observers a [`HarnessOptions`] adds to the harness's own ([`HarnessOptions::observe`]).
#[derive(Clone, Default)]
pub struct Observers(Vec<Arc<dyn Observer>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Observers({})", self.0.len())
    }
}

/// The recorder first, then the options' observers, each given every event.
struct Fanout(Vec<Arc<dyn Observer>>);

impl Observer for Fanout {
    fn observe(&self, event: &pipeline::observe::PipelineEvent) {
        for observer in &self.0 {
            observer.observe(event);
        }
    }
}

impl HarnessOptions {
    /// The project's template on `backend`, with production timings (`harness up`).
    pub fn new(backend: BackendSettings) -> Self {
        HarnessOptions {
            backend,
            template: None,
            parameters: BTreeMap::new(),
            accept: Acceptance::default(),
            name_prefix: None,
            overrides: Vec::new(),
            handlers: BTreeMap::new(),
            kinesis_poll_interval: KinesisMappingConfig::default().poll_interval,
            log_events: false,
            track_events: true,
            seed: 0,
            drain_timeout: Duration::from_secs(600),
            fault_layer: true,
            count_calls: false,
            artifacts: crate::lambda::Artifacts::default(),
            observers: Observers::default(),
        }
    }

    /// Adds an observer that gets every hop of every event, as the harness's recorder does.
    pub fn observe(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.0.push(observer);
        self
    }

    /// For tests: the backend from `HARNESS_BACKEND`, resources under unique names, and on a
    /// backend that runs on the wall clock the [`REAL_TIME_PROFILE`].
    pub fn for_tests() -> Result<Self, HarnessError> {
        let backend = BackendSettings::from_env()?;
        let real_time = !backend.capabilities().paused_time;
        let mut options = Self::new(backend);
        options.name_prefix = Some(unique_prefix("t"));
        Ok(if real_time {
            options.real_time_profile()
        } else {
            options
        })
    }

    /// Applies the [`REAL_TIME_PROFILE`] (short SQS redelivery) to the project's template.
    pub fn real_time_profile(self) -> Self {
        REAL_TIME_PROFILE
            .iter()
            .fold(self, |options, (path, value)| options.set(path, *value))
    }

    /// Runs another template (a path to read).
    pub fn template_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, HarnessError> {
        self.template = Some(Template::load(path.as_ref())?);
        Ok(self)
    }

    /// Replaces one template value for this run: `"EventsQueue.VisibilityTimeout"`,
    /// `"StoreFunction.Events.Queue.Properties.BatchSize"`. Numbers, strings and booleans
    /// are written as they would be in YAML.
    pub fn set(mut self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        self.overrides
            .push((path.to_owned(), json_to_node(value.into())));
        self
    }

    /// Registers the handler of a function whose event source is a Kinesis stream.
    pub fn kinesis_handler(mut self, function: &str, handler: Arc<dyn KinesisHandler>) -> Self {
        self.handlers
            .insert(function.to_owned(), FunctionHandler::Kinesis(handler));
        self
    }

    /// Registers the handler of a function whose Kinesis event source has a tumbling window.
    pub fn kinesis_window_handler(
        mut self,
        function: &str,
        handler: Arc<dyn KinesisWindowHandler>,
    ) -> Self {
        self.handlers
            .insert(function.to_owned(), FunctionHandler::KinesisWindow(handler));
        self
    }

    /// Artifact mode: every function built from a project binary runs from `dir` (`sam
    /// build`'s `.aws-sam/build`, `cargo lambda build`'s `target/lambda`).
    pub fn artifacts_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.artifacts.dir = Some(dir.into());
        self
    }

    /// Artifact mode for one function: any executable speaking the Lambda Runtime API.
    pub fn function_executable(
        mut self,
        function: &str,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.artifacts
            .functions
            .insert(function.to_owned(), path.into());
        self
    }

    /// Registers the handler of a function whose event source is an SQS queue.
    pub fn sqs_handler(mut self, function: &str, handler: Arc<dyn SqsHandler>) -> Self {
        self.handlers
            .insert(function.to_owned(), FunctionHandler::Sqs(handler));
        self
    }
}

/// A name prefix no other run in this process (or another process) uses: tag, process id,
/// counter.
pub fn unique_prefix(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn json_to_node(value: serde_json::Value) -> Node {
    use serde_json::Value;
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(b),
        Value::Number(n) => Node::Number(n.to_string()),
        Value::String(s) => Node::Str(s),
        Value::Array(items) => Node::List(items.into_iter().map(json_to_node).collect()),
        Value::Object(map) => {
            Node::Map(map.into_iter().map(|(k, v)| (k, json_to_node(v))).collect())
        }
    }
}

/// The Kinesis mapping's settings from a template's event source (and the harness's own
/// polling interval, which the template does not set).
pub fn kinesis_config(
    k: &KinesisEventSpec,
    function: &FunctionSpec,
    queue_urls: &BTreeMap<String, String>,
    poll_interval: Duration,
    clock: Option<emulator::Clock>,
) -> KinesisMappingConfig {
    KinesisMappingConfig {
        batch_size: k.batch_size,
        maximum_batching_window: k.maximum_batching_window,
        starting_position: k.starting_position.clone(),
        maximum_retry_attempts: k.maximum_retry_attempts,
        maximum_record_age: k.maximum_record_age,
        bisect_batch_on_function_error: k.bisect_batch_on_function_error,
        report_batch_item_failures: k.report_batch_item_failures,
        parallelization_factor: k.parallelization_factor,
        on_failure: k.on_failure.as_ref().map(|dest| queue_urls[dest].clone()),
        poll_interval,
        function_name: function.name.clone(),
        clock,
        function_timeout: Some(function.timeout),
        filter_criteria: k.filter_criteria.clone(),
        tumbling_window: k.tumbling_window,
        // SAM's implicit execution role of the function (`<LogicalId>Role`).
        role_arn: Some(function.role_arn.clone()),
        ..KinesisMappingConfig::default()
    }
}

/// SDK clients for one harness, each with its own retry partition: the SDK shares a retry
/// token bucket per partition across the process, and fault-heavy runs must not drain the
/// budget of other harnesses (or later tests).
#[derive(Clone)]
pub(crate) struct Clients {
    pub kinesis: aws_sdk_kinesis::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    /// `signing` says how requests are authenticated: `Unsigned` only for the embedded
    /// backend's in-process edge ([`unsigned`]).
    fn new(sdk: &SdkConfig, partition: &str, signing: Signing) -> Clients {
        use aws_sdk_dynamodb::config::retry::RetryPartition as DdbPartition;
        use aws_sdk_kinesis::config::retry::RetryPartition as KinesisPartition;
        use aws_sdk_sqs::config::retry::RetryPartition as SqsPartition;
        let mut kinesis = aws_sdk_kinesis::config::Builder::from(sdk)
            .retry_partition(KinesisPartition::new(format!("{partition}-kinesis")));
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk)
            .retry_partition(SqsPartition::new(format!("{partition}-sqs")));
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_partition(DdbPartition::new(format!("{partition}-dynamodb")));
        if signing == Signing::Unsigned {
            kinesis.set_auth_scheme_resolver(unsigned::Unsigned);
            sqs.set_auth_scheme_resolver(unsigned::Unsigned);
            dynamodb.set_auth_scheme_resolver(unsigned::Unsigned);
        }
        Clients {
            kinesis: aws_sdk_kinesis::Client::from_conf(kinesis.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        }
    }
}

/// How the harness's clients authenticate their requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    /// SigV4, as on AWS: every backend reached over HTTP.
    SigV4,
    /// No signature: the embedded emulator in process, which checks none.
    Unsigned,
}

impl Signing {
    fn for_backend(backend: &Backend) -> Signing {
        match backend.kind() {
            // The harness's clients reach the embedded emulator in process even when it is
            // also served over HTTP (`harness up`): others' requests there are still signed.
            BackendKind::Embedded => Signing::Unsigned,
            BackendKind::LocalStack | BackendKind::Endpoint => Signing::SigV4,
        }
    }
}

/// One event source mapping of the template, and the consumer running it.
pub(crate) struct MappingSlot {
    /// The function's logical id and the event's name (`ForwardFunction`, `Stream`).
    pub function: String,
    pub event: String,
    pub kind: SlotKind,
}

pub(crate) enum SlotKind {
    Kinesis {
        stream: String,
        config: KinesisMappingConfig,
        handler: KinesisFunction,
        /// Each mapping keeps its own checkpoints, as each Lambda mapping does.
        checkpoints: Arc<InMemoryCheckpoints>,
        handle: Mutex<Option<KinesisMappingHandle>>,
    },
    Sqs {
        queue_url: String,
        config: SqsMappingConfig,
        handler: Arc<dyn SqsHandler>,
        handle: Mutex<Option<SqsMappingHandle>>,
    },
}

/// A running pipeline on a backend, built from a template. Dropping it aborts the mappings;
/// prefer [`Harness::shutdown`].
pub struct Harness {
    backend: Backend,
    provisioned: Provisioned,
    options: HarnessOptions,
    spec: PipelineSpec,
    facts: Facts,
    overrides: Vec<Override>,
    plan: FaultPlan,
    journal: Journal,
    clock: emulator::Clock,
    /// Clients whose calls go through the fault layer (the pipeline's and the mappings').
    clients: Clients,
    /// Clients without faults, for inspecting results.
    clean: Clients,
    call_counts: CallCounts,
    ingest: Router,
    ingest_config: IngestConfig,
    recorder: Arc<Recorder>,
    /// The forward function's handler and mapping settings (replay reads with them).
    forward: Option<(Arc<dyn KinesisHandler>, KinesisMappingConfig)>,
    /// The store function's settings, as its environment gives them.
    store_config: Option<StoreConfig>,
    /// Every event source mapping of the template. Each slot's lock is held only to swap
    /// its consumer (restart, crash, shutdown) or to wait for it to go idle (drain).
    mappings: Vec<MappingSlot>,
    /// Artifact mode: the functions running as child processes (after `mappings`, which
    /// invoke them: dropped last, it kills the processes).
    processes: crate::lambda::Processes,
    /// Verifies the fault rules' `expect(n)` when the harness is dropped.
    _expectations: Expectations,
}

/// Checks, on drop, every `expect(n)` of the plan's rules that no guard checked yet.
struct Expectations(FaultPlan);

impl Drop for Expectations {
    fn drop(&mut self) {
        let unmet = self.0.unmet_expectations();
        if !unmet.is_empty() && !std::thread::panicking() {
            panic!("{}", unmet.join("\n"));
        }
    }
}

impl Harness {
    /// A harness for a test: the project's template (`template.yaml` in the current directory
    /// or its nearest ancestor, or `HARNESS_TEMPLATE`), the backend from the environment
    /// (`HARNESS_BACKEND`, embedded by default), unique resource names.
    ///
    /// Under tokio's paused clock on a backend whose time cannot be paused it fails with
    /// [`HarnessError::PausedClock`] (see [`crate::testing`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), harness::HarnessError> {
    /// let h = harness::Harness::start().await?;
    /// let answer = h.ingest_ok(serde_json::json!({"stream": "default", "id": "e-1", "payload": {}})).await?;
    /// assert_eq!(answer["id"], "e-1");
    /// h.drain().await?;
    /// assert_eq!(h.table_ids().await?, ["e-1"]);
    /// # h.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start() -> Result<Harness, HarnessError> {
        Self::start_with(HarnessOptions::for_tests()?).await
    }

    /// A harness with explicit options: another template, overrides, registered handlers,
    /// artifact mode, a backend chosen in code ([`HarnessOptions`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), harness::HarnessError> {
    /// use harness::HarnessOptions;
    /// let options = HarnessOptions::for_tests()?.set("EventsQueue.VisibilityTimeout", 60);
    /// let h = harness::Harness::start_with(options).await?;
    /// assert_eq!(h.overrides()[0].path, "EventsQueue.VisibilityTimeout");
    /// # h.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_with(options: HarnessOptions) -> Result<Harness, HarnessError> {
        // The template first: a template the harness refuses costs no backend.
        let mut template = match &options.template {
            Some(t) => t.clone(),
            None => Template::project()?,
        };
        let mut overrides = Vec::new();
        for (path, value) in &options.overrides {
            let was = template.set_property(path, value.clone())?;
            overrides.push(Override {
                path: path.clone(),
                value: value.clone(),
                was,
            });
        }
        let backend_region = options.backend.emulator.region.clone();
        let compile = CompileOptions {
            name_prefix: options.name_prefix.clone(),
            parameters: options.parameters.clone(),
            accept: options.accept.clone(),
            region: backend_region,
            account: options.backend.emulator.account.clone(),
        };
        let spec = PipelineSpec::compile(&template, &compile)?;

        // Artifact mode: the children's SDK clients need the embedded emulator over HTTP.
        let mut backend_settings = options.backend.clone();
        if options.artifacts.is_active()
            && backend_settings.kind == crate::backend::BackendKind::Embedded
            && backend_settings.emulator_addr.is_none()
        {
            backend_settings.emulator_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        if crate::testing::clock_is_paused() {
            let capabilities = backend_settings.capabilities();
            let gap = capabilities.gap(crate::backend::Feature::PausedClock);
            let reason = match (gap, options.artifacts.is_active()) {
                (Some(gap), _) => {
                    Some((capabilities.kind.name().to_owned(), gap.reason.to_owned()))
                }
                (None, true) => Some((
                    "artifact mode".to_owned(),
                    "its functions are child processes on the wall clock".to_owned(),
                )),
                (None, false) => None,
            };
            if let Some((backend, reason)) = reason {
                return Err(HarnessError::PausedClock { backend, reason });
            }
        }
        let backend = Backend::start(&backend_settings).await?;
        let journal = Journal::new();
        let plan = FaultPlan::with_journal(journal.clone(), options.seed);
        let call_counts = CallCounts::default();
        let faulty = match (options.fault_layer, options.count_calls) {
            (true, count) => backend.sdk_config_with(|inner| {
                let inner = match count {
                    true => SharedHttpClient::new(calls::CountingHttpClient::new(
                        inner,
                        call_counts.clone(),
                    )),
                    false => inner,
                };
                SharedHttpClient::new(FaultyHttpClient::new(inner, plan.clone(), journal.clone()))
            }),
            (false, true) => backend.sdk_config_with(|inner| {
                SharedHttpClient::new(calls::CountingHttpClient::new(inner, call_counts.clone()))
            }),
            (false, false) => backend.sdk_config(),
        };
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let partition = format!(
            "harness-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let signing = Signing::for_backend(&backend);
        let clients = Clients::new(&faulty, &partition, signing);
        let clean = Clients::new(
            &backend.sdk_config(),
            &format!("{partition}-clean"),
            signing,
        );
        let provisioned = crate::backend::provision(&backend.sdk_config(), &spec).await?;
        let spec = spec.located_by(&provisioned.stream_arn);
        let facts = spec.facts(&provisioned.queue_urls);
        spec.check_permissions(&facts)?;
        plan.set_resource_aliases(spec.physical_names());

        // Artifact mode: functions that run as processes, registered like a test's handlers.
        let processes = crate::lambda::Processes::start(
            &options.artifacts,
            crate::lambda::ProcessContext {
                spec: &spec,
                facts: &facts,
                backend: &backend,
                faults: options.fault_layer.then(|| (plan.clone(), journal.clone())),
                region: options.backend.emulator.region.clone(),
                account: options.backend.emulator.account.clone(),
            },
            |id| options.handlers.contains_key(id),
        )
        .await?;

        let clock = backend
            .emulator()
            .map(|e| e.clock().clone())
            .unwrap_or_default();
        let recorder = Arc::new(Recorder::new(options.log_events, options.track_events));
        let observer: Arc<dyn Observer> = if options.observers.0.is_empty() {
            recorder.clone()
        } else {
            let mut all: Vec<Arc<dyn Observer>> = vec![recorder.clone()];
            all.extend(options.observers.0.iter().cloned());
            Arc::new(Fanout(all))
        };
        let env_error = |function: &str| {
            let function = function.to_owned();
            move |source: EnvError| HarnessError::FunctionEnv { function, source }
        };

        // The ingest function behind the API: its environment, then API Gateway's part.
        let (ingest_id, ingest_fn) = spec
            .function_with(Binary::Ingest)
            .expect("compile checked there is one ingest function");
        let ingest_env = spec.environment(ingest_id, &facts)?;
        let mut ingest_config =
            IngestConfig::from_env(&ingest_env).map_err(env_error(ingest_id))?;
        // On Lambda, lambda_http hands the router `/{API stage}/stream` and the router serves
        // `/{STAGE}/stream` (default `prod`): a mismatch would answer every deployed request
        // 403, so it is refused here even when STAGE is left to its default.
        if ingest_config.stage != spec.api.stage {
            let set = if ingest_env.contains_key("STAGE") {
                ""
            } else {
                " (its default)"
            };
            return Err(HarnessError::Unsupported(format!(
                "{ingest_id}: STAGE={}{set} but {} serves stage {}",
                ingest_config.stage, spec.api.logical_id, spec.api.stage
            )));
        }
        if spec.api_key_required(ingest_id) {
            ingest_config.api_keys = ApiKeys::Local(spec.api.keys.clone());
        }
        ingest_config.request_timeout = ingest_config.request_timeout.min(ingest_fn.timeout);
        let ingest_clock = clock.clone();
        let state = IngestState::from_config(&clients.kinesis, &ingest_config, observer.clone())
            .with_clock(Arc::new(move || ingest_clock.now()));
        let mut ingest = pipeline::app(state, &ingest_config);
        if let Some(throttle) = spec.api.throttle {
            ingest = ingest.layer(axum::middleware::from_fn_with_state(
                throttle::UsagePlanThrottle::new(throttle),
                throttle::UsagePlanThrottle::middleware,
            ));
        }

        // Every other function's handler, and a slot for each of its event sources.
        let mut mappings = Vec::new();
        let mut forward = None;
        let mut store_config = None;
        for (id, function) in &spec.functions {
            let env = spec.environment(id, &facts)?;
            let registered = options
                .handlers
                .get(id)
                .cloned()
                .or_else(|| processes.handler(id, function));
            let handler = match (registered, function.binary) {
                (Some(handler), _) => Some(handler),
                (None, Some(Binary::Ingest)) => None,
                (None, Some(Binary::Forward)) => {
                    let config = ForwardConfig::from_env(&env).map_err(env_error(id))?;
                    let forwarder = Arc::new(Forwarder::new(
                        clients.sqs.clone(),
                        config.queue_url,
                        config.dlq_url,
                        config.retry,
                        observer.clone(),
                    ));
                    let handler: Arc<dyn KinesisHandler> = Arc::new(move |event| {
                        let forwarder = forwarder.clone();
                        async move { forwarder.handle(event).await }
                    });
                    Some(FunctionHandler::Kinesis(handler))
                }
                (None, Some(Binary::Store)) => {
                    let config = StoreConfig::from_env(&env).map_err(env_error(id))?;
                    let store = Arc::new(Store::new(
                        clients.dynamodb.clone(),
                        config.table.clone(),
                        clients.sqs.clone(),
                        config.dlq_url.clone(),
                        config.retry,
                        observer.clone(),
                    ));
                    store_config = Some(config);
                    let handler: Arc<dyn SqsHandler> = Arc::new(move |event| {
                        let store = store.clone();
                        async move { store.handle(event).await }
                    });
                    Some(FunctionHandler::Sqs(handler))
                }
                (None, None) => {
                    return Err(HarnessError::Unsupported(format!(
                        "{id}: no handler to run: it is not built from a project binary \
                         (Metadata.BuildProperties.Binary) and no test registered one \
                         (HarnessOptions::kinesis_handler / sqs_handler)"
                    )));
                }
            };
            for event in &function.events {
                let kind = match (&event.source, &handler) {
                    (EventSource::Api(_), _) => continue,
                    (
                        EventSource::Kinesis(k),
                        Some(
                            handler @ (FunctionHandler::Kinesis(_)
                            | FunctionHandler::KinesisWindow(_)),
                        ),
                    ) => {
                        let handler = match (handler, k.tumbling_window) {
                            (FunctionHandler::Kinesis(h), None) => {
                                KinesisFunction::Plain(h.clone())
                            }
                            (FunctionHandler::KinesisWindow(h), Some(_)) => {
                                KinesisFunction::Windowed(h.clone())
                            }
                            (_, Some(_)) => {
                                return Err(HarnessError::Unsupported(format!(
                                    "{id}: event source {} has TumblingWindowInSeconds, but its handler \
                                     keeps no window state (register one with \
                                     HarnessOptions::kinesis_window_handler)",
                                    event.name
                                )));
                            }
                            (_, None) => {
                                return Err(HarnessError::Unsupported(format!(
                                    "{id}: its handler is a tumbling-window handler, but event source {} \
                                     has no TumblingWindowInSeconds",
                                    event.name
                                )));
                            }
                        };
                        let config = kinesis_config(
                            k,
                            function,
                            &provisioned.queue_urls,
                            options.kinesis_poll_interval,
                            Some(clock.clone()),
                        );
                        if let (Some(Binary::Forward), None, KinesisFunction::Plain(plain)) =
                            (function.binary, &forward, &handler)
                        {
                            forward = Some((plain.clone(), config.clone()));
                        }
                        if !k.enabled {
                            continue;
                        }
                        SlotKind::Kinesis {
                            stream: spec.streams[&k.stream].name.clone(),
                            config,
                            handler,
                            checkpoints: Arc::new(InMemoryCheckpoints::new()),
                            handle: Mutex::new(None),
                        }
                    }
                    (EventSource::Sqs(q), Some(FunctionHandler::Sqs(handler))) => {
                        if !q.enabled {
                            continue;
                        }
                        SlotKind::Sqs {
                            queue_url: provisioned.queue_urls[&q.queue].clone(),
                            config: SqsMappingConfig {
                                batch_size: q.batch_size,
                                maximum_batching_window: q.maximum_batching_window,
                                report_batch_item_failures: q.report_batch_item_failures,
                                // Lambda starts with 5 pollers and scales with the backlog,
                                // up to MaximumConcurrency (esm::sqs::scaling).
                                maximum_concurrency: q.maximum_concurrency,
                                filter_criteria: q.filter_criteria.clone(),
                                function_timeout: Some(function.timeout),
                                ..SqsMappingConfig::default()
                            },
                            handler: handler.clone(),
                            handle: Mutex::new(None),
                        }
                    }
                    (source, _) => {
                        return Err(HarnessError::Unsupported(format!(
                            "{id}: its handler cannot take the events of {} ({})",
                            event.name,
                            match source {
                                EventSource::Kinesis(_) => "a Kinesis stream",
                                _ => "an SQS queue",
                            }
                        )));
                    }
                };
                mappings.push(MappingSlot {
                    function: id.clone(),
                    event: event.name.clone(),
                    kind,
                });
            }
        }

        let plan_for_expectations = plan.clone();
        let harness = Harness {
            backend,
            provisioned,
            options,
            spec,
            facts,
            overrides,
            plan,
            journal,
            clock,
            clients,
            clean,
            call_counts,
            ingest,
            ingest_config,
            recorder,
            forward,
            store_config,
            mappings,
            processes,
            _expectations: Expectations(plan_for_expectations),
        };
        for slot in &harness.mappings {
            harness.respawn(slot, false).await?;
        }
        Ok(harness)
    }

    fn hooks(&self) -> Arc<dyn DeliveryHooks> {
        Arc::new(self.plan.clone())
    }

    /// Stops the slot's consumer (gracefully, or as a crash: no checkpoint) and starts a new
    /// one from the slot's checkpoints.
    pub(crate) async fn respawn(
        &self,
        slot: &MappingSlot,
        crash: bool,
    ) -> Result<(), HarnessError> {
        match &slot.kind {
            SlotKind::Kinesis {
                stream,
                config,
                handler,
                checkpoints,
                handle,
            } => {
                let mut handle = handle.lock().await;
                if let Some(old) = handle.take() {
                    if crash {
                        old.kill().await
                    } else {
                        old.stop().await
                    }
                }
                *handle = Some(
                    KinesisMapping::spawn_function(
                        self.clients.kinesis.clone(),
                        self.clients.sqs.clone(),
                        stream.clone(),
                        config.clone(),
                        handler.clone(),
                        checkpoints.clone(),
                        self.hooks(),
                    )
                    .await?,
                );
            }
            SlotKind::Sqs {
                queue_url,
                config,
                handler,
                handle,
            } => {
                let mut handle = handle.lock().await;
                if let Some(old) = handle.take() {
                    if crash {
                        old.kill().await
                    } else {
                        old.stop().await
                    }
                }
                *handle = Some(
                    SqsMapping::spawn(
                        self.clients.sqs.clone(),
                        queue_url.clone(),
                        config.clone(),
                        handler.clone(),
                        self.hooks(),
                    )
                    .await?,
                );
            }
        }
        Ok(())
    }

    /// The pipeline the template describes, as compiled for this run.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// Template values this run replaced.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The template's outputs, evaluated against this run's resources.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        self.spec
            .outputs
            .iter()
            .filter_map(|(name, o)| self.facts.string(&o.value).ok().map(|v| (name.clone(), v)))
            .collect()
    }

    /// The ingest API's settings (stage, keys, streams), as the template gives them.
    pub fn ingest_config(&self) -> &IngestConfig {
        &self.ingest_config
    }

    /// The store function's settings (its table and retry policy), if the template has one.
    pub fn store_config(&self) -> Option<&StoreConfig> {
        self.store_config.as_ref()
    }

    /// The fault plan: add rules while the pipeline runs (see [`crate::fault`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), harness::HarnessError> {
    /// let h = harness::Harness::start().await?;
    /// // The first two PutItem attempts are throttled; the store handler's retries absorb them.
    /// let rule = h.faults().dynamodb("PutItem").to_table().throttle().first(2).expect(2).install();
    /// h.ingest_ok(serde_json::json!({"stream": "default", "id": "e-1", "payload": {}})).await?;
    /// h.drain().await?;
    /// assert_eq!(h.table_ids().await?, ["e-1"]);
    /// drop(rule); // checks expect(2)
    /// # Ok(())
    /// # }
    /// ```
    pub fn faults(&self) -> &FaultPlan {
        &self.plan
    }

    /// SDK calls of the pipeline's clients per `(service, operation)` (HTTP requests, SDK
    /// retries included), when [`HarnessOptions::count_calls`] is on; empty otherwise.
    pub fn call_counts(&self) -> std::collections::BTreeMap<(String, String), u64> {
        self.call_counts.snapshot()
    }

    /// How many of the calls [`call_counts`](Self::call_counts) counts were SigV4-signed: none
    /// on the embedded emulator's in-process edge, all of them on a backend reached over HTTP.
    pub fn signed_calls(&self) -> u64 {
        self.call_counts.signed()
    }

    /// Every request attempt and every fault that fired.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), harness::HarnessError> {
    /// let h = harness::Harness::start().await?;
    /// h.ingest_ok(serde_json::json!({"stream": "default", "id": "e-1", "payload": {}})).await?;
    /// h.drain().await?;
    /// let journal = h.journal();
    /// assert_eq!(journal.attempts("kinesis", "PutRecord", "e-1"), 1);
    /// assert_eq!(journal.attempts_to(h.queue(), "SendMessage", "e-1"), 1);
    /// assert_eq!(journal.attempts_to(h.table(), "PutItem", "e-1"), 1);
    /// assert!(journal.faults_fired().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The backend the pipeline runs on (its SDK configuration, the embedded emulator).
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The provisioned resources: names, URLs and ARNs.
    pub fn provisioned(&self) -> &Provisioned {
        &self.provisioned
    }

    /// The options this harness started with.
    pub fn options(&self) -> &HarnessOptions {
        &self.options
    }

    /// The ingest API as an axum app (serve it, or call it with `oneshot`).
    pub fn ingest_app(&self) -> Router {
        self.ingest.clone()
    }

    /// The in-process counters per hop. In artifact mode the hops of the functions that run
    /// as processes are not seen here (see [`Harness::wire_counts`]).
    pub fn counts(&self) -> Counts {
        self.recorder.counts()
    }

    /// Artifact mode: the functions running as processes, and what they did.
    pub fn process_functions(&self) -> &crate::lambda::Processes {
        &self.processes
    }

    /// The in-process observer of every hop (counts, accepted ids, latency).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The harness's notion of now (the emulator's clock on the embedded backend).
    pub fn clock(&self) -> &emulator::Clock {
        &self.clock
    }

    /// The pipeline's stream, as provisioned (its physical name).
    pub fn stream(&self) -> &str {
        &self.provisioned.resources.stream
    }

    /// The pipeline's queue (the forward function's destination), as provisioned: the name
    /// fault rules and [`Journal::attempts_to`] use.
    pub fn queue(&self) -> &str {
        &self.provisioned.resources.queue
    }

    /// The pipeline's dead-letter queue, as provisioned.
    pub fn dlq(&self) -> &str {
        &self.provisioned.resources.dlq
    }

    /// The pipeline's table, as provisioned.
    pub fn table(&self) -> &str {
        &self.provisioned.resources.table
    }

    /// PUTs one request body through the ingest API and returns its 200 answer (the shard
    /// and sequence number); any other status is [`HarnessError::Ingest`] with the body.
    pub async fn ingest_ok(&self, body: Value) -> Result<Value, HarnessError> {
        let outcome = self.ingest_json(body).await?;
        if outcome.status == 200 {
            Ok(outcome.body)
        } else {
            Err(HarnessError::Ingest {
                status: outcome.status,
                body: outcome.body,
            })
        }
    }

    /// PUTs one request body through the ingest API (in process) with the first API key and
    /// returns whatever it answered (see [`Harness::ingest_ok`] for a 200 or an error).
    pub async fn ingest_json(&self, body: Value) -> Result<IngestOutcome, HarnessError> {
        use tower::ServiceExt;
        let key = self
            .ingest_config
            .first_key()
            .unwrap_or_default()
            .to_owned();
        let uri = format!("/{}/stream", self.ingest_config.stage);
        let request = http::Request::put(uri)
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .map_err(|e| HarnessError::IngestCall(e.into()))?;
        let Ok(response) = self.ingest.clone().oneshot(request).await;
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map_err(|e| HarnessError::IngestCall(e.into()))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(IngestOutcome { status, body })
    }

    /// Every item in the table, as JSON, sorted by id.
    pub async fn table_items(&self) -> Result<Vec<Value>, HarnessError> {
        inspect::table_items(&self.clean.dynamodb, &self.provisioned.resources.table).await
    }

    /// The ids of the table's items, sorted.
    pub async fn table_ids(&self) -> Result<Vec<String>, HarnessError> {
        inspect::table_ids(&self.clean.dynamodb, &self.provisioned.resources.table).await
    }

    /// How many messages a queue of the template holds (visible, in flight or delayed).
    pub async fn queue_messages(&self, logical_id: &str) -> Result<u64, HarnessError> {
        let url = self
            .provisioned
            .queue_urls
            .get(logical_id)
            .ok_or_else(|| HarnessError::NoSuchQueue(logical_id.to_owned()))?;
        inspect::queue_depth(&self.clean.sqs, url).await
    }

    /// The DLQ's messages (read without consuming them), sorted by id.
    pub async fn dlq_messages(&self) -> Result<Vec<DlqEntry>, HarnessError> {
        inspect::peek_queue(&self.clean.sqs, &self.provisioned.dlq_url).await
    }

    /// The envelope ids on the DLQ, sorted (poison records have none).
    pub async fn dlq_ids(&self) -> Result<Vec<String>, HarnessError> {
        Ok(self
            .dlq_messages()
            .await?
            .into_iter()
            .filter_map(|m| m.id)
            .collect())
    }

    /// Accepted ids found neither in the table nor on the DLQ (needs `track_events`).
    pub async fn lost_ids(&self) -> Result<Vec<String>, HarnessError> {
        let stored: std::collections::HashSet<String> =
            self.table_ids().await?.into_iter().collect();
        let dead: std::collections::HashSet<String> = self.dlq_ids().await?.into_iter().collect();
        Ok(self
            .recorder
            .accepted_ids()
            .into_iter()
            .filter(|id| !stored.contains(id) && !dead.contains(id))
            .collect())
    }

    /// Stops every mapping gracefully (in-flight batches finish and checkpoint) and the backend.
    pub async fn shutdown(self) {
        for slot in &self.mappings {
            match &slot.kind {
                SlotKind::Kinesis { handle, .. } => {
                    if let Some(m) = handle.lock().await.take() {
                        m.stop().await;
                    }
                }
                SlotKind::Sqs { handle, .. } => {
                    if let Some(m) = handle.lock().await.take() {
                        m.stop().await;
                    }
                }
            }
        }
        self.backend.shutdown().await;
    }
}

/// What the ingest API answered: check `status` (or call [`Harness::ingest_ok`]).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "the ingest API may have refused the event: check the status or use ingest_ok"]
pub struct IngestOutcome {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`null` when it was not JSON).
    pub body: Value,
}
