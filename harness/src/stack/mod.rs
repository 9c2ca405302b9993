//! A running pipeline with everything around it: the backend, the pipeline's resources, the
//! ingest API, both handlers behind their event source mappings, the fault plan and the
//! journal. `harness up`, the scenario runner and the tests all drive a [`Harness`].
//!
//! ```ignore
//! let h = Harness::start().await?;
//! h.faults().sqs("SendMessage").resource("events").throttle().always().for_event("e-1");
//! h.ingest_json(json!({"stream": "default", "id": "e-1", "payload": {"energy_type": "nuclear"}})).await?;
//! h.drain().await?;
//! assert_eq!(h.dlq_ids().await?, ["e-1"]);
//! ```

mod inspect;
mod operations;
mod recorder;
pub mod replay;

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use axum::Router;
use pipeline::config::PipelineConfig;
use pipeline::ingest::IngestState;
use pipeline::observe::Observer;
use pipeline::{Forwarder, Store};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::backend::{Backend, BackendError, BackendSettings, Provisioned, Resources};
use crate::esm::{
    DeliveryHooks, InMemoryCheckpoints, KinesisHandler, KinesisMapping, KinesisMappingConfig,
    KinesisMappingHandle, MappingError, SqsHandler, SqsMapping, SqsMappingConfig, SqsMappingHandle,
};
use crate::fault::{FaultPlan, FaultyHttpClient, Journal};

pub use inspect::DlqEntry;
pub use recorder::{Counts, Recorder};
pub use replay::{ReplayFrom, ReplayReport};

/// Errors of a running harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("{0}")]
    Inspect(String),
    #[error("the pipeline did not drain within {waited:?}: {state}")]
    DrainTimeout { waited: Duration, state: String },
    #[error("{0}")]
    Unsupported(String),
}

impl HarnessError {
    pub(crate) fn aws(operation: &'static str, err: impl std::error::Error + 'static) -> Self {
        HarnessError::Aws {
            operation,
            message: aws_sdk_sqs::error::DisplayErrorContext(err).to_string(),
        }
    }
}

/// How to start a [`Harness`].
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    pub backend: BackendSettings,
    pub resources: Resources,
    pub pipeline: PipelineConfig,
    pub kinesis_mapping: KinesisMappingConfig,
    pub sqs_mapping: SqsMappingConfig,
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
}

impl HarnessOptions {
    /// Production settings on the default resources (`harness up`).
    pub fn new(backend: BackendSettings) -> Self {
        HarnessOptions {
            backend,
            resources: Resources::default(),
            pipeline: PipelineConfig::default(),
            kinesis_mapping: KinesisMappingConfig {
                // The forward handler reports records whose DLQ send failed.
                report_batch_item_failures: true,
                function_name: "forward".into(),
                ..KinesisMappingConfig::default()
            },
            sqs_mapping: SqsMappingConfig {
                report_batch_item_failures: true,
                ..SqsMappingConfig::default()
            },
            log_events: false,
            track_events: true,
            seed: 0,
            drain_timeout: Duration::from_secs(600),
            fault_layer: true,
        }
    }

    /// For tests: the backend from `HARNESS_BACKEND`, resources under unique names.
    pub fn for_tests() -> Result<Self, HarnessError> {
        let mut options = Self::new(BackendSettings::from_env()?);
        options.resources = Resources::unique("t");
        Ok(options)
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
    fn new(sdk: &SdkConfig, partition: &str) -> Clients {
        use aws_sdk_dynamodb::config::retry::RetryPartition as DdbPartition;
        use aws_sdk_kinesis::config::retry::RetryPartition as KinesisPartition;
        use aws_sdk_sqs::config::retry::RetryPartition as SqsPartition;
        Clients {
            kinesis: aws_sdk_kinesis::Client::from_conf(
                aws_sdk_kinesis::config::Builder::from(sdk)
                    .retry_partition(KinesisPartition::new(format!("{partition}-kinesis")))
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(sdk)
                    .retry_partition(SqsPartition::new(format!("{partition}-sqs")))
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk)
                    .retry_partition(DdbPartition::new(format!("{partition}-dynamodb")))
                    .build(),
            ),
        }
    }
}

/// A running pipeline on a backend. Dropping it aborts the mappings; prefer [`Harness::shutdown`].
pub struct Harness {
    backend: Backend,
    provisioned: Provisioned,
    options: HarnessOptions,
    plan: FaultPlan,
    journal: Journal,
    clock: emulator::Clock,
    /// Clients whose calls go through the fault layer (the pipeline's and the mappings').
    clients: Clients,
    /// Clients without faults, for inspecting results.
    clean: Clients,
    ingest: Router,
    recorder: Arc<Recorder>,
    forwarder: Arc<Forwarder>,
    store: Arc<Store>,
    checkpoints: Arc<InMemoryCheckpoints>,
    kinesis_mapping: Mutex<Option<KinesisMappingHandle>>,
    sqs_mapping: Mutex<Option<SqsMappingHandle>>,
}

impl Harness {
    /// A harness for a test: backend from the environment, unique resource names.
    pub async fn start() -> Result<Harness, HarnessError> {
        Self::start_with(HarnessOptions::for_tests()?).await
    }

    pub async fn start_with(mut options: HarnessOptions) -> Result<Harness, HarnessError> {
        let backend = Backend::start(&options.backend).await?;
        let journal = Journal::new();
        let plan = FaultPlan::with_journal(journal.clone(), options.seed);
        let faulty = if options.fault_layer {
            backend.sdk_config_with(|inner| {
                SharedHttpClient::new(FaultyHttpClient::new(inner, plan.clone(), journal.clone()))
            })
        } else {
            backend.sdk_config()
        };
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let partition = format!(
            "harness-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let clients = Clients::new(&faulty, &partition);
        let clean = Clients::new(&backend.sdk_config(), &format!("{partition}-clean"));
        let provisioned =
            crate::backend::provision(&backend.sdk_config(), &options.resources).await?;

        let clock = backend
            .emulator()
            .map(|e| e.clock().clone())
            .unwrap_or_default();
        options.kinesis_mapping.clock = Some(clock.clone());
        for stream in options.pipeline.streams.values_mut() {
            stream.kinesis_stream = provisioned.resources.stream.clone();
        }
        options.pipeline.queue = provisioned.resources.queue.clone();
        options.pipeline.dlq = provisioned.resources.dlq.clone();
        options.pipeline.table = provisioned.resources.table.clone();

        let recorder = Arc::new(Recorder::new(options.log_events, options.track_events));
        let observer: Arc<dyn Observer> = recorder.clone();
        let ingest_clock = clock.clone();
        let state = IngestState::from_config(&clients.kinesis, &options.pipeline, observer.clone())
            .with_clock(Arc::new(move || ingest_clock.now()));
        let ingest = pipeline::app(state, &options.pipeline);
        let forwarder = Arc::new(Forwarder::new(
            clients.sqs.clone(),
            provisioned.queue_url.clone(),
            provisioned.dlq_url.clone(),
            options.pipeline.forward,
            observer.clone(),
        ));
        let store = Arc::new(Store::new(
            clients.dynamodb.clone(),
            provisioned.resources.table.clone(),
            options.pipeline.store,
            observer,
        ));

        let harness = Harness {
            backend,
            provisioned,
            options,
            plan,
            journal,
            clock,
            clients,
            clean,
            ingest,
            recorder,
            forwarder,
            store,
            checkpoints: Arc::new(InMemoryCheckpoints::new()),
            kinesis_mapping: Mutex::new(None),
            sqs_mapping: Mutex::new(None),
        };
        *harness.kinesis_mapping.lock().await = Some(harness.spawn_kinesis_mapping().await?);
        *harness.sqs_mapping.lock().await = Some(harness.spawn_sqs_mapping().await?);
        Ok(harness)
    }

    fn forward_handler(&self) -> Arc<dyn KinesisHandler> {
        let forwarder = self.forwarder.clone();
        Arc::new(move |event| {
            let forwarder = forwarder.clone();
            async move { forwarder.handle(event).await }
        })
    }

    fn store_handler(&self) -> Arc<dyn SqsHandler> {
        let store = self.store.clone();
        Arc::new(move |event| {
            let store = store.clone();
            async move { store.handle(event).await }
        })
    }

    fn hooks(&self) -> Arc<dyn DeliveryHooks> {
        Arc::new(self.plan.clone())
    }

    async fn spawn_kinesis_mapping(&self) -> Result<KinesisMappingHandle, HarnessError> {
        Ok(KinesisMapping::spawn(
            self.clients.kinesis.clone(),
            self.clients.sqs.clone(),
            self.provisioned.resources.stream.clone(),
            self.options.kinesis_mapping.clone(),
            self.forward_handler(),
            self.checkpoints.clone(),
            self.hooks(),
        )
        .await?)
    }

    async fn spawn_sqs_mapping(&self) -> Result<SqsMappingHandle, HarnessError> {
        Ok(SqsMapping::spawn(
            self.clients.sqs.clone(),
            self.provisioned.queue_url.clone(),
            self.options.sqs_mapping.clone(),
            self.store_handler(),
            self.hooks(),
        )
        .await?)
    }

    /// The fault plan: add rules while the pipeline runs.
    pub fn faults(&self) -> &FaultPlan {
        &self.plan
    }

    /// Every request attempt and every fault that fired.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn provisioned(&self) -> &Provisioned {
        &self.provisioned
    }

    pub fn options(&self) -> &HarnessOptions {
        &self.options
    }

    /// The ingest API as an axum app (serve it, or call it with `oneshot`).
    pub fn ingest_app(&self) -> Router {
        self.ingest.clone()
    }

    pub fn counts(&self) -> Counts {
        self.recorder.counts()
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The harness's notion of now (the emulator's clock on the embedded backend).
    pub fn clock(&self) -> &emulator::Clock {
        &self.clock
    }

    /// PUTs one request body through the ingest API (in process) with the first API key.
    pub async fn ingest_json(&self, body: Value) -> Result<IngestOutcome, HarnessError> {
        use tower::ServiceExt;
        let key = self
            .options
            .pipeline
            .api_keys
            .first()
            .cloned()
            .unwrap_or_default();
        let uri = format!("/{}/stream", self.options.pipeline.stage);
        let request = http::Request::put(uri)
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .map_err(|e| HarnessError::Inspect(e.to_string()))?;
        let response = self
            .ingest
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| HarnessError::Inspect(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map_err(|e| HarnessError::Inspect(e.to_string()))?
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
        Ok(self
            .table_items()
            .await?
            .iter()
            .filter_map(|item| item["id"].as_str().map(str::to_owned))
            .collect())
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

    /// Stops both mappings gracefully (in-flight batches finish and checkpoint) and the backend.
    pub async fn shutdown(self) {
        if let Some(m) = self.kinesis_mapping.lock().await.take() {
            m.stop().await;
        }
        if let Some(m) = self.sqs_mapping.lock().await.take() {
            m.stop().await;
        }
        self.backend.shutdown().await;
    }
}

/// What the ingest API answered.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    pub status: u16,
    pub body: Value,
}
