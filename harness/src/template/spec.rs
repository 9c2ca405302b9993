//! The pipeline a template describes, typed: every resource the harness provisions, every
//! function with its environment and event sources, and the API. [`PipelineSpec::compile`]
//! reads each property the harness simulates, checks it with AWS's own rule, and turns
//! everything else into a [`Finding`] (refused unless accepted).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::node::Node;
use super::policy::{self, Statement};
use super::props::Props;
use super::resolve::{Facts, ResourceFacts};
use super::{Acceptance, Finding, Output, SAM_TRANSFORM, Template, TemplateError};
use crate::esm::{FilterCriteria, StartingPosition};

/// The logical ids the pipeline's code and outside tools rely on (DESIGN, "the template").
pub const INGEST_API: &str = "IngestApi";
/// The Kinesis stream the ingest API writes to.
pub const EVENTS_STREAM: &str = "EventsStream";
/// The queue the forwarder sends to and the store consumes.
pub const EVENTS_QUEUE: &str = "EventsQueue";
/// The dead-letter queue both consumers send failures to.
pub const EVENTS_DLQ: &str = "EventsDlq";
/// The table the store writes.
pub const EVENTS_TABLE: &str = "EventsTable";

/// Metadata keys with no behaviour to simulate.
const NO_EFFECT: &[&str] = &["Description", "Tags"];

/// How a template is turned into a pipeline.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Prepended to every physical name (`t-123-0-EventsQueue`): runs that share a backend.
    pub name_prefix: Option<String>,
    /// Parameter values over the template's defaults (`sam deploy --parameter-overrides`).
    pub parameters: BTreeMap<String, String>,
    /// Findings the user accepts as ignored.
    pub accept: Acceptance,
    /// Region and account of the backend (ARNs before provisioning).
    pub region: String,
    /// The account id of the backend (ARNs before provisioning).
    pub account: String,
}

/// A Kinesis stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// The physical name (the name prefix, then the template's `Name` or the logical id).
    pub name: String,
    /// `None`: on-demand (`StreamModeDetails: ON_DEMAND`).
    pub shards: Option<u32>,
    /// `RetentionPeriodHours` (`None`: AWS's default, 24).
    pub retention_hours: Option<u32>,
}

/// An SQS queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// The physical name.
    pub name: String,
    /// `VisibilityTimeout` (AWS's default 30 s).
    pub visibility_timeout: Duration,
    /// Other attributes as CreateQueue takes them (`MessageRetentionPeriod`, ...).
    pub attributes: BTreeMap<String, String>,
    /// `RedrivePolicy`: where messages go after too many receives.
    pub redrive: Option<Redrive>,
}

/// A queue's RedrivePolicy.
#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    /// The DLQ's logical id.
    pub dead_letter: String,
    /// `maxReceiveCount`: receives after which a message moves to the DLQ.
    pub max_receive_count: u32,
}

/// A DynamoDB table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// The physical name.
    pub name: String,
    /// Attribute name and type (`S`, `N`, `B`) of each key attribute.
    pub attributes: Vec<(String, String)>,
    /// The partition key's attribute name.
    pub hash_key: String,
    /// The sort key's attribute name, if any.
    pub range_key: Option<String>,
    /// `None`: on-demand; else read and write capacity units.
    pub provisioned: Option<(i64, i64)>,
}

/// Which of the project's binaries a function runs (`Metadata.BuildProperties.Binary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// The ingest API's handler (`functions/ingest`).
    Ingest,
    /// The Kinesis consumer that forwards to SQS (`functions/forward`).
    Forward,
    /// The SQS consumer that stores into DynamoDB (`functions/store`).
    Store,
}

impl Binary {
    /// The binary's name (`ingest`, `forward`, `store`).
    pub fn name(self) -> &'static str {
        match self {
            Binary::Ingest => "ingest",
            Binary::Forward => "forward",
            Binary::Store => "store",
        }
    }

    /// The environment variables the binary reads (`pipeline::config::env`).
    pub fn env_vars(self) -> &'static [&'static str] {
        use pipeline::config::env;
        match self {
            Binary::Ingest => env::INGEST_VARS,
            Binary::Forward => env::FORWARD_VARS,
            Binary::Store => env::STORE_VARS,
        }
    }
}

/// A Lambda function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// The physical name (`FunctionName`, or made from the logical id).
    pub name: String,
    /// The project binary it runs; `None` for a function whose handler a test registers.
    pub binary: Option<Binary>,
    /// `Runtime` (`provided.al2023`).
    pub runtime: String,
    /// The first of `Architectures` (`x86_64` or `arm64`).
    pub architecture: String,
    /// `Timeout` (Lambda's default 3 s).
    pub timeout: Duration,
    /// `MemorySize`, in MB (Lambda's default 128).
    pub memory_mb: u32,
    /// `Environment.Variables`, evaluated once the resources exist.
    pub environment: BTreeMap<String, Node>,
    /// The inline policy statements of `Policies`, checked against the calls the function makes.
    pub statements: Vec<Statement>,
    /// `Events`: its event sources.
    pub events: Vec<EventSpec>,
    /// The execution role SAM makes for it (`<LogicalId>Role`), as an ARN.
    pub role_arn: String,
}

/// One entry of a function's `Events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// The event's key under `Events`.
    pub name: String,
    /// What invokes the function.
    pub source: EventSource,
}

/// What invokes a function.
#[derive(Debug, Clone, PartialEq)]
pub enum EventSource {
    /// A Kinesis stream's event source mapping.
    Kinesis(KinesisEventSpec),
    /// An SQS queue's event source mapping.
    Sqs(SqsEventSpec),
    /// An API Gateway route.
    Api(ApiEventSpec),
}

/// A Kinesis event source mapping (Lambda's names, AWS's defaults when unset).
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisEventSpec {
    /// The stream's logical id.
    pub stream: String,
    /// `StartingPosition`.
    pub starting_position: StartingPosition,
    /// `BatchSize` (default 100).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (default 0).
    pub maximum_batching_window: Duration,
    /// `BisectBatchOnFunctionError`: split a failing batch in two and retry each half.
    pub bisect_batch_on_function_error: bool,
    /// `None`: -1, retry until the record expires.
    pub maximum_retry_attempts: Option<u32>,
    /// `None`: -1, no limit.
    pub maximum_record_age: Option<Duration>,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// `ParallelizationFactor`: concurrent batches per shard (1..=10).
    pub parallelization_factor: u8,
    /// The logical id of the SQS queue discarded batches are described to.
    pub on_failure: Option<String>,
    /// `Enabled` (default true).
    pub enabled: bool,
    /// `FilterCriteria`, compiled.
    pub filter_criteria: Option<FilterCriteria>,
    /// `TumblingWindowInSeconds` (the function then needs a windowed handler).
    pub tumbling_window: Option<Duration>,
}

/// An SQS event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsEventSpec {
    /// The queue's logical id.
    pub queue: String,
    /// `BatchSize` (default 10).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (default 0).
    pub maximum_batching_window: Duration,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency` (2..=1000; `None`: no limit beyond Lambda's scaling).
    pub maximum_concurrency: Option<u16>,
    /// `Enabled` (default true).
    pub enabled: bool,
    /// `FilterCriteria`, compiled.
    pub filter_criteria: Option<FilterCriteria>,
}

/// An API Gateway route to a function.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiEventSpec {
    /// The API's logical id (`RestApiId`, or the implicit API).
    pub api: String,
    /// The route's path (`/stream`), served under the stage (`/{stage}/stream`).
    pub path: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// `Auth.ApiKeyRequired` of the route (or the API's default).
    pub api_key_required: bool,
}

/// The REST API: its stage, the keys its usage plans accept, its throttling.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSpec {
    /// The API's logical id.
    pub logical_id: String,
    /// The stage name (`StageName`), the first segment of every path.
    pub stage: String,
    /// `Auth.ApiKeyRequired` of the API: every method needs a key.
    pub default_api_key_required: bool,
    /// Values of the enabled API keys attached (through a usage plan) to this API's stage.
    pub keys: Vec<String>,
    /// The usage plan's steady rate (requests/s) and burst.
    pub throttle: Option<Throttle>,
}

/// A usage plan's `Throttle`: API Gateway's token bucket, answering 429 beyond it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// `RateLimit`: steady requests per second.
    pub rate_limit: f64,
    /// `BurstLimit`: the bucket's size.
    pub burst_limit: u32,
}

/// The pipeline a template describes.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    /// Where the template came from.
    pub origin: String,
    /// The parameters' values (defaults, then overrides).
    pub parameters: BTreeMap<String, String>,
    /// The Kinesis streams, by logical id.
    pub streams: BTreeMap<String, StreamSpec>,
    /// The SQS queues, by logical id.
    pub queues: BTreeMap<String, QueueSpec>,
    /// The DynamoDB tables, by logical id.
    pub tables: BTreeMap<String, TableSpec>,
    /// The functions, by logical id.
    pub functions: BTreeMap<String, FunctionSpec>,
    /// The REST API.
    pub api: ApiSpec,
    /// The outputs `harness up` prints.
    pub outputs: BTreeMap<String, Output>,
    /// What the template says that the harness ignores because the user accepted it.
    pub accepted: Vec<Finding>,
    /// The API keys, usage plans and their links, by logical id.
    api_resources: Vec<String>,
    region: String,
    account: String,
}

impl PipelineSpec {
    /// The project's `template.yaml`, compiled for the embedded emulator's region and account
    /// with `name_prefix` before every name.
    pub fn of_project(name_prefix: Option<String>) -> Result<Self, TemplateError> {
        let config = emulator::EmulatorConfig::default();
        Self::compile(
            &Template::project()?,
            &CompileOptions {
                name_prefix,
                region: config.region,
                account: config.account,
                ..CompileOptions::default()
            },
        )
    }

    /// Reads, checks and types a template.
    pub fn compile(template: &Template, options: &CompileOptions) -> Result<Self, TemplateError> {
        let origin = template.origin.as_str();
        let mut findings = Vec::new();
        let pipeline = |message: String| TemplateError::Pipeline {
            origin: origin.to_owned(),
            message,
        };
        if template.transform.as_deref() != Some(SAM_TRANSFORM) {
            return Err(pipeline(format!(
                "Transform must be {SAM_TRANSFORM} (the template uses AWS::Serverless resources)"
            )));
        }
        for section in &template.other_sections {
            findings.push(Finding {
                logical_id: "Template".into(),
                property: section.clone(),
                message: "is not simulated by the harness".into(),
            });
        }
        let parameters = parameter_values(template, options)?;
        let facts = Facts {
            parameters: parameters.clone(),
            region: options.region.clone(),
            account: options.account.clone(),
            stack_name: "local".into(),
            resources: BTreeMap::new(),
        };
        let name = |id: &str, given: Option<String>| {
            let base = given.unwrap_or_else(|| id.to_owned());
            match &options.name_prefix {
                Some(prefix) => format!("{prefix}-{base}"),
                None => base,
            }
        };

        let mut spec = PipelineSpec {
            origin: origin.to_owned(),
            parameters,
            streams: BTreeMap::new(),
            queues: BTreeMap::new(),
            tables: BTreeMap::new(),
            functions: BTreeMap::new(),
            api: ApiSpec {
                logical_id: INGEST_API.into(),
                stage: String::new(),
                default_api_key_required: false,
                keys: Vec::new(),
                throttle: None,
            },
            outputs: template.outputs.clone(),
            accepted: Vec::new(),
            api_resources: Vec::new(),
            region: options.region.clone(),
            account: options.account.clone(),
        };
        let mut api_parts = ApiParts::default();
        for (id, resource) in &template.resources {
            for attr in resource.attributes.keys() {
                // DependsOn orders deployment; the harness provisions by reference anyway.
                if !matches!(
                    attr.as_str(),
                    "DependsOn" | "DeletionPolicy" | "UpdateReplacePolicy"
                ) {
                    findings.push(Finding {
                        logical_id: id.clone(),
                        property: attr.clone(),
                        message: "(a resource attribute) is not simulated by the harness".into(),
                    });
                }
            }
            let props = Props::new(id, &resource.properties, origin, &facts);
            match resource.kind.as_str() {
                "AWS::Kinesis::Stream" => {
                    let stream = stream(&props, &name)?;
                    spec.streams.insert(id.clone(), stream);
                }
                "AWS::SQS::Queue" => {
                    let queue = queue(&props, &name)?;
                    spec.queues.insert(id.clone(), queue);
                }
                "AWS::DynamoDB::Table" => {
                    let table = table(&props, &name)?;
                    spec.tables.insert(id.clone(), table);
                }
                "AWS::Serverless::Function" => {
                    let function =
                        function(&props, resource.metadata.as_ref(), &name, &mut findings)?;
                    spec.functions.insert(id.clone(), function);
                }
                "AWS::Serverless::Api" => api_parts.api(&props)?,
                "AWS::ApiGateway::ApiKey" => {
                    api_parts.key(&props)?;
                    spec.api_resources.push(id.clone());
                }
                "AWS::ApiGateway::UsagePlan" => {
                    api_parts.plan(&props)?;
                    spec.api_resources.push(id.clone());
                }
                "AWS::ApiGateway::UsagePlanKey" => {
                    api_parts.plan_key(&props)?;
                    spec.api_resources.push(id.clone());
                }
                other => {
                    findings.push(Finding {
                        logical_id: id.clone(),
                        property: "Type".into(),
                        message: format!("{other} is not emulated"),
                    });
                    continue;
                }
            }
            props.finish(&mut findings, NO_EFFECT);
        }
        spec.api = api_parts.finish(origin)?;
        spec.check_references()?;
        spec.check_mappings()?;

        let (accepted, refused): (Vec<_>, Vec<_>) = findings
            .into_iter()
            .partition(|f| options.accept.accepts(f));
        if !refused.is_empty() {
            return Err(TemplateError::Unsupported {
                origin: origin.to_owned(),
                findings: refused,
            });
        }
        spec.accepted = accepted;
        Ok(spec)
    }

    fn err(&self, message: String) -> TemplateError {
        TemplateError::Pipeline {
            origin: self.origin.clone(),
            message,
        }
    }

    fn invalid(&self, id: &str, property: &str, message: String) -> TemplateError {
        TemplateError::Invalid {
            origin: self.origin.clone(),
            logical_id: id.to_owned(),
            property: property.to_owned(),
            message,
        }
    }

    /// The resources the pipeline's own code relies on, each of the right type; every
    /// reference from an event source or redrive policy to a resource of this template.
    fn check_references(&self) -> Result<(), TemplateError> {
        for (id, kind, present) in [
            (
                EVENTS_STREAM,
                "AWS::Kinesis::Stream",
                self.streams.contains_key(EVENTS_STREAM),
            ),
            (
                EVENTS_QUEUE,
                "AWS::SQS::Queue",
                self.queues.contains_key(EVENTS_QUEUE),
            ),
            (
                EVENTS_DLQ,
                "AWS::SQS::Queue",
                self.queues.contains_key(EVENTS_DLQ),
            ),
            (
                EVENTS_TABLE,
                "AWS::DynamoDB::Table",
                self.tables.contains_key(EVENTS_TABLE),
            ),
        ] {
            if !present {
                return Err(self.err(format!(
                    "the pipeline needs a resource {id} of type {kind} (the harness and outside \
                     tools find the pipeline's resources by these logical ids)"
                )));
            }
        }
        for (id, queue) in &self.queues {
            if let Some(redrive) = &queue.redrive
                && !self.queues.contains_key(&redrive.dead_letter)
            {
                return Err(self.invalid(
                    id,
                    "RedrivePolicy.deadLetterTargetArn",
                    format!(
                        "{} is not an SQS queue of this template",
                        redrive.dead_letter
                    ),
                ));
            }
        }
        let ingest: Vec<&String> = self
            .functions
            .iter()
            .filter(|(_, f)| f.binary == Some(Binary::Ingest))
            .map(|(id, _)| id)
            .collect();
        if ingest.len() != 1 {
            return Err(self.err(format!(
                "the pipeline needs exactly one function built from the `ingest` binary \
                 (Metadata.BuildProperties.Binary: ingest), found {}",
                ingest.len()
            )));
        }
        for (id, function) in &self.functions {
            for event in &function.events {
                let path = format!("Events.{}.Properties", event.name);
                match &event.source {
                    EventSource::Kinesis(k) => {
                        if !self.streams.contains_key(&k.stream) {
                            return Err(self.invalid(
                                id,
                                &format!("{path}.Stream"),
                                format!("{} is not a Kinesis stream of this template", k.stream),
                            ));
                        }
                        if let Some(dest) = &k.on_failure
                            && !self.queues.contains_key(dest)
                        {
                            return Err(self.invalid(
                                id,
                                &format!("{path}.DestinationConfig.OnFailure.Destination"),
                                format!("{dest} is not an SQS queue of this template"),
                            ));
                        }
                    }
                    EventSource::Sqs(s) => {
                        if !self.queues.contains_key(&s.queue) {
                            return Err(self.invalid(
                                id,
                                &format!("{path}.Queue"),
                                format!("{} is not an SQS queue of this template", s.queue),
                            ));
                        }
                    }
                    EventSource::Api(a) => {
                        if a.api != self.api.logical_id {
                            return Err(self.invalid(
                                id,
                                &format!("{path}.RestApiId"),
                                format!("{} is not the template's AWS::Serverless::Api", a.api),
                            ));
                        }
                        if function.binary != Some(Binary::Ingest)
                            || a.path != "/stream"
                            || !a.method.eq_ignore_ascii_case("put")
                        {
                            return Err(self.invalid(
                                id,
                                &path,
                                format!(
                                    "{} {} is not simulated: the harness serves PUT /stream, \
                                     routed to the function built from the `ingest` binary",
                                    a.method, a.path
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// What Lambda's CreateEventSourceMapping refuses across resources.
    fn check_mappings(&self) -> Result<(), TemplateError> {
        for (id, function) in &self.functions {
            let mut sources = Vec::new();
            for event in &function.events {
                let path = format!("Events.{}.Properties", event.name);
                let source = match &event.source {
                    EventSource::Sqs(s) => {
                        let queue = &self.queues[&s.queue];
                        // AWS: InvalidParameterValueException at CreateEventSourceMapping.
                        if queue.visibility_timeout < function.timeout {
                            return Err(self.invalid(
                                id,
                                &format!("{path}.Queue"),
                                format!(
                                    "Queue visibility timeout: {} seconds is less than Function \
                                     timeout: {} seconds (AWS refuses this mapping)",
                                    queue.visibility_timeout.as_secs(),
                                    function.timeout.as_secs()
                                ),
                            ));
                        }
                        s.queue.clone()
                    }
                    EventSource::Kinesis(k) => k.stream.clone(),
                    EventSource::Api(_) => continue,
                };
                if sources.contains(&source) {
                    // AWS: ResourceConflictException, one mapping per function and source.
                    return Err(self.invalid(
                        id,
                        &format!("Events.{}", event.name),
                        format!(
                            "An event source mapping with {source} and function {id} already \
                             exists (ResourceConflictException)"
                        ),
                    ));
                }
                sources.push(source);
            }
        }
        Ok(())
    }

    /// What each resource evaluates to, from what provisioning returned (`urls`: each queue's
    /// URL by logical id) and the backend's region and account.
    pub fn facts(&self, urls: &BTreeMap<String, String>) -> Facts {
        let (region, account) = (&self.region, &self.account);
        let mut resources = BTreeMap::new();
        let arn =
            |service: &str, rest: &str| format!("arn:aws:{service}:{region}:{account}:{rest}");
        for (id, s) in &self.streams {
            resources.insert(
                id.clone(),
                facts(
                    &s.name,
                    [("Arn", arn("kinesis", &format!("stream/{}", s.name)))],
                ),
            );
        }
        for (id, q) in &self.queues {
            let url = urls.get(id).cloned().unwrap_or_default();
            resources.insert(
                id.clone(),
                facts(
                    &url,
                    [
                        ("Arn", arn("sqs", &q.name)),
                        ("QueueName", q.name.clone()),
                        ("QueueUrl", url.clone()),
                    ],
                ),
            );
        }
        for (id, t) in &self.tables {
            resources.insert(
                id.clone(),
                facts(
                    &t.name,
                    [("Arn", arn("dynamodb", &format!("table/{}", t.name)))],
                ),
            );
        }
        for (id, f) in &self.functions {
            resources.insert(
                id.clone(),
                facts(
                    &f.name,
                    [("Arn", arn("lambda", &format!("function:{}", f.name)))],
                ),
            );
        }
        resources.insert(
            self.api.logical_id.clone(),
            facts(
                &format!("local-{}", self.api.logical_id.to_lowercase()),
                [
                    ("Stage", self.api.stage.clone()),
                    ("RootResourceId", "root".to_owned()),
                ],
            ),
        );
        // API Gateway's generated ids, made up locally (an output such as ApiKeyId shows them).
        for id in &self.api_resources {
            resources.insert(
                id.clone(),
                facts(&format!("local-{}", id.to_lowercase()), []),
            );
        }
        Facts {
            parameters: self.parameters.clone(),
            region: region.clone(),
            account: account.clone(),
            stack_name: "local".into(),
            resources,
        }
    }

    /// The same spec with the region and account the backend really has (read from an ARN it
    /// returned: real AWS has its own account).
    pub fn located_by(mut self, arn: &str) -> Self {
        let parts: Vec<&str> = arn.split(':').collect();
        if let [_, _, _, region, account, ..] = parts.as_slice()
            && !region.is_empty()
            && !account.is_empty()
        {
            let (old, new) = (format!(":{}:", self.account), format!(":{account}:"));
            for function in self.functions.values_mut() {
                function.role_arn = function.role_arn.replacen(&old, &new, 1);
            }
            self.region = (*region).to_owned();
            self.account = (*account).to_owned();
        }
        self
    }

    /// Whether API Gateway asks for `x-api-key` before `function`'s route: the route's
    /// `Auth.ApiKeyRequired`, else the API's default.
    pub fn api_key_required(&self, function: &str) -> bool {
        let route = self.functions.get(function).and_then(|f| {
            f.events.iter().find_map(|e| match &e.source {
                EventSource::Api(a) => Some(a.api_key_required),
                _ => None,
            })
        });
        route.unwrap_or(false) || self.api.default_api_key_required
    }

    /// A function's environment, evaluated.
    pub fn environment(
        &self,
        function: &str,
        facts: &Facts,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let spec = &self.functions[function];
        spec.environment
            .iter()
            .map(|(k, v)| {
                facts
                    .string(v)
                    .map(|value| (k.clone(), value))
                    .map_err(|message| TemplateError::Resolve {
                        origin: self.origin.clone(),
                        path: format!("{function}.Environment.Variables.{k}"),
                        message,
                    })
            })
            .collect()
    }

    /// Every stream, queue and table: its logical id and its physical name.
    pub fn physical_names(&self) -> Vec<(String, String)> {
        let streams = self
            .streams
            .iter()
            .map(|(id, s)| (id.clone(), s.name.clone()));
        let queues = self
            .queues
            .iter()
            .map(|(id, q)| (id.clone(), q.name.clone()));
        let tables = self
            .tables
            .iter()
            .map(|(id, t)| (id.clone(), t.name.clone()));
        streams.chain(queues).chain(tables).collect()
    }

    /// The function built from `binary` (the first, by logical id).
    pub fn function_with(&self, binary: Binary) -> Option<(&str, &FunctionSpec)> {
        self.functions
            .iter()
            .find(|(_, f)| f.binary == Some(binary))
            .map(|(id, f)| (id.as_str(), f))
    }

    /// Checks each function's policies allow the calls its binary and its event sources
    /// make (`policy::needs`), now that ARNs are known.
    pub fn check_permissions(&self, facts: &Facts) -> Result<(), TemplateError> {
        for (id, function) in &self.functions {
            let needs = policy::needs(self, id, function, facts);
            policy::check(id, function, &needs, facts).map_err(|message| {
                TemplateError::Pipeline {
                    origin: self.origin.clone(),
                    message,
                }
            })?;
        }
        Ok(())
    }
}

fn facts<const N: usize>(reference: &str, attributes: [(&str, String); N]) -> ResourceFacts {
    ResourceFacts {
        reference: reference.to_owned(),
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

/// Each parameter's value: an override, else its default; checked against its constraints.
fn parameter_values(
    template: &Template,
    options: &CompileOptions,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let invalid = |name: &str, message: String| TemplateError::Invalid {
        origin: template.origin.clone(),
        logical_id: "Parameters".into(),
        property: name.to_owned(),
        message,
    };
    for name in options.parameters.keys() {
        if !template.parameters.contains_key(name) {
            return Err(invalid(name, "the template has no such parameter".into()));
        }
    }
    let mut values = BTreeMap::new();
    for (name, parameter) in &template.parameters {
        let value = options
            .parameters
            .get(name)
            .cloned()
            .or_else(|| parameter.default.clone())
            .ok_or_else(|| invalid(name, "has no Default and no value was given".into()))?;
        let int = |key: &str| {
            parameter
                .properties
                .get(key)
                .and_then(Node::literal)
                .and_then(|t| t.parse::<f64>().ok())
        };
        match parameter.kind.as_str() {
            "String" => {
                if int("MinLength").is_some_and(|n| (value.chars().count() as f64) < n)
                    || int("MaxLength").is_some_and(|n| (value.chars().count() as f64) > n)
                {
                    return Err(invalid(
                        name,
                        "the value's length is outside MinLength..MaxLength".into(),
                    ));
                }
            }
            "Number" => {
                let n: f64 = value
                    .parse()
                    .map_err(|_| invalid(name, format!("`{value}` is not a number")))?;
                if int("MinValue").is_some_and(|m| n < m) || int("MaxValue").is_some_and(|m| n > m)
                {
                    return Err(invalid(
                        name,
                        format!("{value} is outside MinValue..MaxValue"),
                    ));
                }
            }
            other => {
                return Err(invalid(
                    name,
                    format!("parameter type {other} is not simulated"),
                ));
            }
        }
        if let Some(Node::List(allowed)) = parameter.properties.get("AllowedValues")
            && !allowed
                .iter()
                .any(|a| a.literal().as_deref() == Some(&value))
        {
            return Err(invalid(
                name,
                format!("`{value}` is not one of AllowedValues"),
            ));
        }
        if parameter.properties.contains_key("AllowedPattern") {
            return Err(invalid(name, "AllowedPattern is not simulated".into()));
        }
        values.insert(name.clone(), value);
    }
    Ok(values)
}

/// The logical id an ARN-valued property names: `!GetAtt Id.Arn` (or `!Ref` for a queue
/// ARN given as a GetAtt alias). Literal ARNs of resources elsewhere are not simulated.
fn arn_target(props: &Props, key: &str, node: &Node) -> Result<String, TemplateError> {
    match node {
        Node::GetAtt(id, attr) if attr == "Arn" => Ok(id.clone()),
        other => Err(props.invalid(
            key,
            format!(
                "{other} is not simulated: name a resource of this template with !GetAtt LogicalId.Arn"
            ),
        )),
    }
}

fn stream(
    props: &Props,
    name: &impl Fn(&str, Option<String>) -> String,
) -> Result<StreamSpec, TemplateError> {
    let given = props.static_string("Name")?;
    let on_demand = match props.nested("StreamModeDetails")? {
        None => false,
        Some(mode) => {
            let value = mode.static_string("StreamMode")?;
            let on_demand = match value.as_deref() {
                Some("ON_DEMAND") => true,
                Some("PROVISIONED") | None => false,
                Some(other) => {
                    return Err(mode.invalid(
                        "StreamMode",
                        format!("`{other}` is not ON_DEMAND or PROVISIONED"),
                    ));
                }
            };
            mode.finish(&mut Vec::new(), &[]);
            on_demand
        }
    };
    let shards = props.int_in("ShardCount", 1..=100_000)?;
    if on_demand && shards.is_some() {
        return Err(props.invalid(
            "ShardCount",
            "ShardCount cannot be set for an ON_DEMAND stream",
        ));
    }
    if !on_demand && shards.is_none() {
        return Err(props.invalid("ShardCount", "a PROVISIONED stream needs ShardCount"));
    }
    let retention = props.int_in("RetentionPeriodHours", 24..=8760)?;
    Ok(StreamSpec {
        name: name(props.id, given),
        shards: shards.map(|n| n as u32),
        retention_hours: retention.map(|n| n as u32),
    })
}

fn queue(
    props: &Props,
    name: &impl Fn(&str, Option<String>) -> String,
) -> Result<QueueSpec, TemplateError> {
    let given = props.static_string("QueueName")?;
    if given.as_deref().is_some_and(|n| n.ends_with(".fifo")) {
        return Err(props.invalid("QueueName", "FIFO queues are not emulated"));
    }
    let visibility = props.int_in("VisibilityTimeout", 0..=43_200)?.unwrap_or(30);
    let mut attributes = BTreeMap::new();
    for (key, range) in [
        ("MessageRetentionPeriod", 60..=1_209_600),
        ("DelaySeconds", 0..=900),
        ("MaximumMessageSize", 1024..=1_048_576),
        ("ReceiveMessageWaitTimeSeconds", 0..=20),
    ] {
        if let Some(n) = props.int_in(key, range)? {
            attributes.insert(key.to_owned(), n.to_string());
        }
    }
    let redrive = match props.take("RedrivePolicy") {
        None => None,
        Some(Node::Map(map)) => {
            let facts = Facts::default();
            let policy = Props::new(props.id, map, "", &facts);
            let target = policy
                .take("deadLetterTargetArn")
                .ok_or_else(|| props.invalid("RedrivePolicy", "deadLetterTargetArn is required"))?;
            let dead_letter = arn_target(props, "RedrivePolicy.deadLetterTargetArn", target)?;
            let count = policy.int_in("maxReceiveCount", 1..=1000).map_err(|_| {
                props.invalid(
                    "RedrivePolicy.maxReceiveCount",
                    "must be a whole number from 1 to 1000 (AWS: Value for parameter RedrivePolicy is invalid)",
                )
            })?;
            let count = count
                .ok_or_else(|| props.invalid("RedrivePolicy", "maxReceiveCount is required"))?;
            let mut unread = Vec::new();
            policy.finish(&mut unread, &[]);
            if let Some(f) = unread.first() {
                return Err(props.invalid(
                    "RedrivePolicy",
                    format!("{} is not a RedrivePolicy key", f.property),
                ));
            }
            Some(Redrive {
                dead_letter,
                max_receive_count: count as u32,
            })
        }
        Some(other) => {
            return Err(props.invalid(
                "RedrivePolicy",
                format!(
                    "must be a map (deadLetterTargetArn, maxReceiveCount), not {}",
                    other.kind()
                ),
            ));
        }
    };
    Ok(QueueSpec {
        name: name(props.id, given),
        visibility_timeout: Duration::from_secs(visibility as u64),
        attributes,
        redrive,
    })
}

fn table(
    props: &Props,
    name: &impl Fn(&str, Option<String>) -> String,
) -> Result<TableSpec, TemplateError> {
    let given = props.static_string("TableName")?;
    let billing = props
        .static_string("BillingMode")?
        .unwrap_or_else(|| "PROVISIONED".into());
    let mut attributes = Vec::new();
    match props.take("AttributeDefinitions") {
        Some(Node::List(items)) => {
            for item in items {
                let (Some(n), Some(t)) = (
                    item.get("AttributeName").and_then(Node::literal),
                    item.get("AttributeType").and_then(Node::literal),
                ) else {
                    return Err(props.invalid(
                        "AttributeDefinitions",
                        "each entry needs AttributeName and AttributeType",
                    ));
                };
                if !matches!(t.as_str(), "S" | "N" | "B") {
                    return Err(props.invalid(
                        "AttributeDefinitions",
                        format!("AttributeType `{t}` is not S, N or B"),
                    ));
                }
                attributes.push((n, t));
            }
        }
        _ => return Err(props.invalid("AttributeDefinitions", "is required (a list)")),
    }
    let mut hash_key = None;
    let mut range_key = None;
    match props.take("KeySchema") {
        Some(Node::List(items)) if (1..=2).contains(&items.len()) => {
            for item in items {
                let n = item.get("AttributeName").and_then(Node::literal);
                match (item.get("KeyType").and_then(Node::literal).as_deref(), n) {
                    (Some("HASH"), Some(n)) if hash_key.is_none() => hash_key = Some(n),
                    (Some("RANGE"), Some(n)) if range_key.is_none() => range_key = Some(n),
                    _ => {
                        return Err(props
                            .invalid("KeySchema", "needs one HASH key and at most one RANGE key"));
                    }
                }
            }
        }
        _ => {
            return Err(props.invalid(
                "KeySchema",
                "is required: one HASH key and at most one RANGE key",
            ));
        }
    }
    let hash_key = hash_key.ok_or_else(|| props.invalid("KeySchema", "needs a HASH key"))?;
    let keys: Vec<&String> = std::iter::once(&hash_key)
        .chain(range_key.as_ref())
        .collect();
    if attributes.len() != keys.len()
        || !keys.iter().all(|k| attributes.iter().any(|(n, _)| n == *k))
    {
        // AWS's ValidationException wording.
        return Err(props.invalid(
            "AttributeDefinitions",
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    let provisioned = match billing.as_str() {
        "PAY_PER_REQUEST" => {
            if props.take("ProvisionedThroughput").is_some() {
                return Err(props.invalid(
                    "ProvisionedThroughput",
                    "cannot be set with BillingMode PAY_PER_REQUEST",
                ));
            }
            None
        }
        "PROVISIONED" => {
            let throughput = props.nested("ProvisionedThroughput")?.ok_or_else(|| {
                props.invalid(
                    "ProvisionedThroughput",
                    "is required with BillingMode PROVISIONED",
                )
            })?;
            let read = throughput.int_in("ReadCapacityUnits", 1..=40_000)?;
            let write = throughput.int_in("WriteCapacityUnits", 1..=40_000)?;
            throughput.finish(&mut Vec::new(), &[]);
            match (read, write) {
                (Some(r), Some(w)) => Some((r, w)),
                _ => {
                    return Err(props.invalid(
                        "ProvisionedThroughput",
                        "needs ReadCapacityUnits and WriteCapacityUnits",
                    ));
                }
            }
        }
        other => {
            return Err(props.invalid(
                "BillingMode",
                format!("`{other}` is not PAY_PER_REQUEST or PROVISIONED"),
            ));
        }
    };
    Ok(TableSpec {
        name: name(props.id, given),
        attributes,
        hash_key,
        range_key,
        provisioned,
    })
}

fn function(
    props: &Props,
    metadata: Option<&Node>,
    name: &impl Fn(&str, Option<String>) -> String,
    findings: &mut Vec<Finding>,
) -> Result<FunctionSpec, TemplateError> {
    let id = props.id;
    let given = props.static_string("FunctionName")?;
    let binary = match metadata {
        None => None,
        Some(meta) => {
            let method = meta.get("BuildMethod").and_then(Node::literal);
            let bin = meta
                .get("BuildProperties")
                .and_then(|p| p.get("Binary"))
                .and_then(Node::literal);
            match (method.as_deref(), bin.as_deref()) {
                (Some("rust-cargolambda"), Some("ingest")) => Some(Binary::Ingest),
                (Some("rust-cargolambda"), Some("forward")) => Some(Binary::Forward),
                (Some("rust-cargolambda"), Some("store")) => Some(Binary::Store),
                (Some("rust-cargolambda"), other) => {
                    return Err(props.invalid(
                        "Metadata.BuildProperties.Binary",
                        format!("{other:?} is not one of the project's binaries (ingest, forward, store)"),
                    ));
                }
                _ => None,
            }
        }
    };
    let runtime = props.static_string("Runtime")?.unwrap_or_default();
    props.static_string("Handler")?;
    props.take("CodeUri");
    if binary.is_some() && !matches!(runtime.as_str(), "provided.al2023" | "provided.al2") {
        return Err(props.invalid(
            "Runtime",
            format!("`{runtime}`: a Rust binary runs on provided.al2023 or provided.al2"),
        ));
    }
    let architecture = match props.strings("Architectures")?.as_deref() {
        None => "x86_64".to_owned(),
        Some([one]) if one == "x86_64" || one == "arm64" => one.clone(),
        Some(other) => {
            return Err(props.invalid(
                "Architectures",
                format!("{other:?}: one of x86_64 or arm64"),
            ));
        }
    };
    let timeout = props.int_in("Timeout", 1..=900)?.unwrap_or(3);
    let memory = props.int_in("MemorySize", 128..=10_240)?.unwrap_or(128);
    let mut environment = BTreeMap::new();
    if let Some(env) = props.nested("Environment")? {
        match env.take("Variables") {
            Some(Node::Map(vars)) => environment = vars.clone(),
            Some(other) => {
                return Err(
                    env.invalid("Variables", format!("must be a map, not {}", other.kind()))
                );
            }
            None => {}
        }
        env.finish(findings, &[]);
    }
    if let Some(binary) = binary {
        for var in environment.keys() {
            if !binary.env_vars().contains(&var.as_str()) {
                findings.push(Finding {
                    logical_id: id.to_owned(),
                    property: format!("Environment.Variables.{var}"),
                    message: format!(
                        "is not read by the `{}` binary (it reads {})",
                        binary.name(),
                        binary.env_vars().join(", ")
                    ),
                });
            }
        }
    }
    let statements = match props.take("Policies") {
        None => Vec::new(),
        Some(node) => {
            policy::statements(node, id, findings).map_err(|m| props.invalid("Policies", m))?
        }
    };
    let mut events = Vec::new();
    if let Some(map) = props.nested("Events")? {
        for event_name in &map.keys() {
            let Some(event) = map.nested(event_name)? else {
                continue;
            };
            let kind = event.static_string("Type")?.unwrap_or_default();
            let source = match event.nested("Properties")? {
                None => return Err(event.invalid("Properties", "is required")),
                Some(p) => {
                    let source = match kind.as_str() {
                        "Kinesis" => Some(EventSource::Kinesis(kinesis_event(&p)?)),
                        "SQS" => Some(EventSource::Sqs(sqs_event(&p)?)),
                        "Api" => Some(EventSource::Api(api_event(&p, findings)?)),
                        other => {
                            findings.push(Finding {
                                logical_id: id.to_owned(),
                                property: format!("Events.{event_name}"),
                                message: format!(
                                    "(an event source of type {other}) is not emulated"
                                ),
                            });
                            None
                        }
                    };
                    if source.is_some() {
                        p.finish(findings, &[]);
                    }
                    source
                }
            };
            event.finish(findings, &[]);
            if let Some(source) = source {
                events.push(EventSpec {
                    name: event_name.clone(),
                    source,
                });
            }
        }
        map.finish(findings, &[]);
    }
    let role = name(&format!("{id}Role"), None);
    let account = props.account();
    Ok(FunctionSpec {
        role_arn: format!("arn:aws:iam::{account}:role/{role}"),
        name: name(id, given),
        binary,
        runtime,
        architecture,
        timeout: Duration::from_secs(timeout as u64),
        memory_mb: memory as u32,
        environment,
        statements,
        events,
    })
}

fn report_batch_item_failures(p: &Props) -> Result<bool, TemplateError> {
    match p.strings("FunctionResponseTypes")?.as_deref() {
        None | Some([]) => Ok(false),
        Some([one]) if one == "ReportBatchItemFailures" => Ok(true),
        Some(other) => Err(p.invalid(
            "FunctionResponseTypes",
            format!("{other:?}: the only response type is ReportBatchItemFailures"),
        )),
    }
}

/// `FilterCriteria: {Filters: [{Pattern: "<json>"}, ...]}`, compiled with Lambda's grammar.
fn filter_criteria(p: &Props) -> Result<Option<FilterCriteria>, TemplateError> {
    let Some(criteria) = p.nested("FilterCriteria")? else {
        return Ok(None);
    };
    let mut patterns = Vec::new();
    match criteria.take("Filters") {
        Some(Node::List(filters)) => {
            for filter in filters {
                match filter.get("Pattern") {
                    Some(Node::Str(pattern)) => patterns.push(pattern.clone()),
                    _ => {
                        return Err(criteria.invalid(
                            "Filters",
                            "each filter needs a Pattern string: Invalid filter pattern definition.",
                        ));
                    }
                }
            }
        }
        _ => return Err(criteria.invalid("Filters", "is required (a list of {Pattern: ...})")),
    }
    criteria.finish(&mut Vec::new(), &[]);
    FilterCriteria::from_patterns(&patterns)
        .map(Some)
        .map_err(|e| {
            let reason = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            p.invalid("FilterCriteria", format!("{e} ({reason})"))
        })
}

fn kinesis_event(p: &Props) -> Result<KinesisEventSpec, TemplateError> {
    let stream = match p.take("Stream") {
        Some(node) => arn_target(p, "Stream", node)?,
        None => return Err(p.invalid("Stream", "is required")),
    };
    let starting_position = match p.static_string("StartingPosition")?.as_deref() {
        // Lambda's own message for a stream mapping without one.
        None => {
            return Err(p.invalid(
                "StartingPosition",
                "Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.",
            ));
        }
        Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
        Some("LATEST") => StartingPosition::Latest,
        Some("AT_TIMESTAMP") => {
            let seconds = p
                .static_string("StartingPositionTimestamp")?
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(|| {
                    p.invalid(
                        "StartingPositionTimestamp",
                        "is required with AT_TIMESTAMP (epoch seconds)",
                    )
                })?;
            let at: DateTime<Utc> = DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
                .ok_or_else(|| p.invalid("StartingPositionTimestamp", "is out of range"))?;
            StartingPosition::AtTimestamp(at)
        }
        Some(other) => {
            return Err(p.invalid(
                "StartingPosition",
                format!("`{other}` is not TRIM_HORIZON, LATEST or AT_TIMESTAMP"),
            ));
        }
    };
    let batch_size = p.int_in("BatchSize", 1..=10_000)?.unwrap_or(100) as usize;
    let window = p
        .int_in("MaximumBatchingWindowInSeconds", 0..=300)?
        .unwrap_or(0);
    let retries = p.int_in("MaximumRetryAttempts", -1..=10_000)?.unwrap_or(-1);
    let age = p
        .int_in("MaximumRecordAgeInSeconds", -1..=604_800)?
        .unwrap_or(-1);
    if (0..60).contains(&age) {
        return Err(p.invalid(
            "MaximumRecordAgeInSeconds",
            format!("{age} is not valid: -1 (no limit) or 60 to 604800"),
        ));
    }
    let on_failure = match p.nested("DestinationConfig")? {
        None => None,
        Some(dest) => {
            let on_failure = dest.nested("OnFailure")?;
            let target = match &on_failure {
                None => None,
                Some(of) => {
                    match of.static_string("Type")?.as_deref() {
                        None | Some("SQS") => {}
                        Some(other) => {
                            return Err(of.invalid(
                                "Type",
                                format!("an on-failure destination of type {other} is not emulated (SQS is)"),
                            ));
                        }
                    }
                    let node = of
                        .take("Destination")
                        .ok_or_else(|| of.invalid("Destination", "is required"))?;
                    Some(arn_target(of, "Destination", node)?)
                }
            };
            if let Some(of) = on_failure {
                of.finish(&mut Vec::new(), &[]);
            }
            dest.finish(&mut Vec::new(), &[]);
            target
        }
    };
    Ok(KinesisEventSpec {
        stream,
        starting_position,
        batch_size,
        maximum_batching_window: Duration::from_secs(window as u64),
        bisect_batch_on_function_error: p.bool("BisectBatchOnFunctionError")?.unwrap_or(false),
        maximum_retry_attempts: u32::try_from(retries).ok(),
        maximum_record_age: u64::try_from(age).ok().map(Duration::from_secs),
        report_batch_item_failures: report_batch_item_failures(p)?,
        parallelization_factor: p.int_in("ParallelizationFactor", 1..=10)?.unwrap_or(1) as u8,
        on_failure,
        enabled: p.bool("Enabled")?.unwrap_or(true),
        filter_criteria: filter_criteria(p)?,
        tumbling_window: p
            .int_in("TumblingWindowInSeconds", 0..=900)?
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s as u64)),
    })
}

fn sqs_event(p: &Props) -> Result<SqsEventSpec, TemplateError> {
    let queue = match p.take("Queue") {
        Some(node) => arn_target(p, "Queue", node)?,
        None => return Err(p.invalid("Queue", "is required")),
    };
    let batch_size = p.int_in("BatchSize", 1..=10_000)?.unwrap_or(10);
    let window = p
        .int_in("MaximumBatchingWindowInSeconds", 0..=300)?
        .unwrap_or(0);
    if batch_size > 10 && window < 1 {
        // Lambda: batch sizes above 10 need a batching window (SQS only; Kinesis takes 100 with 0).
        return Err(p.invalid(
            "BatchSize",
            format!("{batch_size}: a batch size above 10 requires MaximumBatchingWindowInSeconds of at least 1"),
        ));
    }
    let maximum_concurrency = match p.nested("ScalingConfig")? {
        None => None,
        Some(scaling) => {
            let n = scaling.int_in("MaximumConcurrency", 2..=1000)?;
            scaling.finish(&mut Vec::new(), &[]);
            n.map(|n| n as u16)
        }
    };
    Ok(SqsEventSpec {
        queue,
        batch_size: batch_size as usize,
        maximum_batching_window: Duration::from_secs(window as u64),
        report_batch_item_failures: report_batch_item_failures(p)?,
        maximum_concurrency,
        enabled: p.bool("Enabled")?.unwrap_or(true),
        filter_criteria: filter_criteria(p)?,
    })
}

fn api_event(p: &Props, findings: &mut Vec<Finding>) -> Result<ApiEventSpec, TemplateError> {
    let api = match p.take("RestApiId") {
        Some(Node::Ref(id)) => id.clone(),
        _ => {
            return Err(p.invalid(
                "RestApiId",
                "must be !Ref of the template's AWS::Serverless::Api",
            ));
        }
    };
    let path = p
        .static_string("Path")?
        .ok_or_else(|| p.invalid("Path", "is required"))?;
    let method = p
        .static_string("Method")?
        .ok_or_else(|| p.invalid("Method", "is required"))?;
    let mut api_key_required = false;
    if let Some(auth) = p.nested("Auth")? {
        api_key_required = auth.bool("ApiKeyRequired")?.unwrap_or(false);
        auth.finish(findings, &[]);
    }
    Ok(ApiEventSpec {
        api,
        path,
        method,
        api_key_required,
    })
}

/// The API's pieces, gathered across resources, then joined.
#[derive(Default)]
struct ApiParts {
    api: Option<(String, String, bool)>,
    keys: BTreeMap<String, (String, bool)>,
    plans: BTreeMap<String, (Vec<String>, Option<Throttle>)>,
    plan_keys: Vec<(String, String)>,
}

impl ApiParts {
    fn api(&mut self, p: &Props) -> Result<(), TemplateError> {
        if let Some((other, ..)) = &self.api {
            return Err(p.invalid(
                "Type",
                format!("a second AWS::Serverless::Api ({other} is the first) is not simulated"),
            ));
        }
        let stage = p
            .static_string("StageName")?
            .ok_or_else(|| p.invalid("StageName", "is required"))?;
        p.static_string("Name")?;
        let mut key_required = false;
        if let Some(auth) = p.nested("Auth")? {
            key_required = auth.bool("ApiKeyRequired")?.unwrap_or(false);
            auth.finish(&mut Vec::new(), &[]);
        }
        self.api = Some((p.id.to_owned(), stage, key_required));
        Ok(())
    }

    fn key(&mut self, p: &Props) -> Result<(), TemplateError> {
        let value = p.static_string("Value")?.ok_or_else(|| {
            p.invalid("Value", "is required locally: without it API Gateway generates a key the harness cannot know")
        })?;
        let enabled = p.bool("Enabled")?.unwrap_or(false);
        // StageKeys attach the key to a stage; keys are enforced through usage plans anyway.
        p.take("StageKeys");
        p.static_string("Name")?;
        self.keys.insert(p.id.to_owned(), (value, enabled));
        Ok(())
    }

    fn plan(&mut self, p: &Props) -> Result<(), TemplateError> {
        let mut apis = Vec::new();
        if let Some(Node::List(stages)) = p.take("ApiStages") {
            for stage in stages {
                match stage.get("ApiId") {
                    Some(Node::Ref(id)) => apis.push(id.clone()),
                    _ => {
                        return Err(
                            p.invalid("ApiStages", "ApiId must be !Ref of the template's API")
                        );
                    }
                }
            }
        }
        let throttle = match p.nested("Throttle")? {
            None => None,
            Some(t) => {
                let rate = t
                    .static_string("RateLimit")?
                    .and_then(|r| r.parse::<f64>().ok());
                let burst = t.int_in("BurstLimit", 0..=i64::from(u32::MAX))?;
                t.finish(&mut Vec::new(), &[]);
                match (rate, burst) {
                    (Some(rate_limit), Some(burst)) if rate_limit > 0.0 => Some(Throttle {
                        rate_limit,
                        burst_limit: burst as u32,
                    }),
                    _ => {
                        return Err(
                            p.invalid("Throttle", "needs a positive RateLimit and a BurstLimit")
                        );
                    }
                }
            }
        };
        p.static_string("UsagePlanName")?;
        self.plans.insert(p.id.to_owned(), (apis, throttle));
        Ok(())
    }

    fn plan_key(&mut self, p: &Props) -> Result<(), TemplateError> {
        let reference = |key: &str| match p.take(key) {
            Some(Node::Ref(id)) => Ok(id.clone()),
            _ => Err(p.invalid(key, "must be !Ref of a resource of this template")),
        };
        let key = reference("KeyId")?;
        let plan = reference("UsagePlanId")?;
        if p.static_string("KeyType")?.as_deref() != Some("API_KEY") {
            return Err(p.invalid("KeyType", "must be API_KEY"));
        }
        self.plan_keys.push((key, plan));
        Ok(())
    }

    fn finish(self, origin: &str) -> Result<ApiSpec, TemplateError> {
        let Some((logical_id, stage, default_api_key_required)) = self.api else {
            return Err(TemplateError::Pipeline {
                origin: origin.to_owned(),
                message: format!("the pipeline needs an AWS::Serverless::Api ({INGEST_API})"),
            });
        };
        let mut keys = Vec::new();
        let mut throttle = None;
        let plans: Vec<_> = self
            .plans
            .iter()
            .filter(|(_, (apis, _))| apis.contains(&logical_id))
            .collect();
        if plans.len() > 1 {
            // Each key would then be throttled by its own plan: not simulated.
            return Err(TemplateError::Pipeline {
                origin: origin.to_owned(),
                message: format!(
                    "{logical_id}: more than one usage plan on its stage is not simulated"
                ),
            });
        }
        for (plan_id, (_, plan_throttle)) in plans {
            throttle = *plan_throttle;
            for (key_id, plan) in &self.plan_keys {
                if plan == plan_id
                    && let Some((value, enabled)) = self.keys.get(key_id)
                    && *enabled
                {
                    keys.push(value.clone());
                }
            }
        }
        Ok(ApiSpec {
            logical_id,
            stage,
            default_api_key_required,
            keys,
            throttle,
        })
    }
}
