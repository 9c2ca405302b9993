//! An emulator of the Kinesis, SQS and DynamoDB APIs that unmodified AWS SDK clients, the AWS
//! CLI and boto3 talk to.
//!
//! One [`Emulator`] serves all three services; it has two edges onto the same core:
//! - [`server`]: a real HTTP server (`serve(listener, emulator, shutdown)`);
//! - [`client`]: an in-process `HttpClient` for the AWS SDK, with no socket, so tests can run
//!   under tokio's paused clock.
//!
//! Layout:
//! - [`wire`]: the wire formats: `X-Amz-Target` dispatch, body parsing, error codes and their
//!   statuses, AWS error encoding, SQS's awsQuery protocol;
//! - [`error`]: the AWS-shaped error type and the `aws_error!` macro;
//! - [`clock`]: epoch time that follows tokio's clock;
//! - [`kinesis`], [`sqs`], [`dynamodb`]: one service core each, state behind per-resource locks.

pub mod client;
pub mod clock;
pub mod dynamodb;
pub mod error;
pub mod kinesis;
pub mod server;
pub mod sqs;
pub mod wire;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};

pub use clock::Clock;
pub use error::AwsError;
pub use wire::{Ctx, Service};

/// Settings for the whole emulator. `Default` follows AWS (throughput limits off).
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub region: String,
    pub account: String,
    pub kinesis: kinesis::KinesisConfig,
    pub sqs: sqs::SqsConfig,
    pub dynamodb: dynamodb::DynamoDbConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            kinesis: Default::default(),
            sqs: Default::default(),
            dynamodb: Default::default(),
        }
    }
}

impl EmulatorConfig {
    /// Switches on AWS's throughput limits (per-shard writes, on-demand table throttling).
    pub fn with_throughput_limits(mut self) -> Self {
        self.kinesis.enforce_throughput = true;
        self.dynamodb.enforce_throughput = true;
        self
    }
}

/// The emulator: cheap to clone, shared by both edges.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    clock: Clock,
    kinesis: kinesis::Kinesis,
    sqs: sqs::Sqs,
    dynamodb: dynamodb::DynamoDb,
    request_ids: wire::RequestIds,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Clock::new())
    }

    pub fn with_clock(config: EmulatorConfig, clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                kinesis: kinesis::Kinesis::new(config.kinesis.clone()),
                sqs: sqs::Sqs::new(config.sqs.clone()),
                dynamodb: dynamodb::DynamoDb::new(config.dynamodb.clone()),
                config,
                clock,
                request_ids: wire::RequestIds::new(0),
            }),
        }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Answers one AWS API request. Never fails: errors are AWS error responses.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let request_id = self.inner.request_ids.next_id();
        // Kinesis over CBOR is translated at this edge: the service cores speak JSON only.
        if kinesis::cbor::is_cbor(&request) {
            return kinesis::cbor::serve(request, &request_id, |json| {
                self.answer(json, &request_id)
            })
            .await;
        }
        self.answer(request, &request_id).await
    }

    async fn answer(&self, request: Request<Bytes>, request_id: &str) -> Response<Bytes> {
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
        };
        let host = header(http::header::HOST.as_str())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or("localhost:4566")
            .to_owned();
        let ctx = Ctx {
            clock: self.inner.clock.clone(),
            now: self.inner.clock.now_ms(),
            region: self.inner.config.region.clone(),
            account: self.inner.config.account.clone(),
            trace_header: header("x-amzn-trace-id").map(str::to_owned),
            host,
        };
        let target = header("x-amz-target").unwrap_or("");
        if target.is_empty() {
            // No target: SQS's awsQuery protocol (`Action=...`), if the request is one.
            let query = wire::query::QueryRequest::from_http(
                request.uri(),
                header(http::header::CONTENT_TYPE.as_str()),
                &ctx.host,
                request.body(),
            );
            if let Some(query) = query {
                let input = serde_json::to_vec(&query.input).unwrap_or_default();
                let result = self.inner.sqs.call(&query.action, &input, &ctx).await;
                log_error(Service::Sqs, &query.action, &result);
                return wire::query::encode(&query.action, result, request_id);
            }
        }
        let (service, op) = match wire::parse_target(target) {
            Ok(parsed) => parsed,
            Err(err) => return wire::encode(guess_service(&request), Err(err), request_id),
        };
        let body = request.body();
        let result = match service {
            Service::Kinesis => self.inner.kinesis.call(op, body, &ctx).await,
            Service::Sqs => self.inner.sqs.call(op, body, &ctx).await,
            Service::DynamoDb => self.inner.dynamodb.call(op, body, &ctx).await,
        };
        log_error(service, op, &result);
        wire::encode(service, result, request_id)
    }
}

fn log_error(service: Service, op: &str, result: &Result<serde_json::Value, AwsError>) {
    if let Err(err) = result {
        tracing::debug!(service = service.name(), op, code = %err.code, "{}", err.message);
    }
}

/// For a request whose target we cannot read, answer in the dialect its content type suggests.
fn guess_service(request: &Request<Bytes>) -> Service {
    match request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) if ct.contains("1.1") => Service::Kinesis,
        _ => Service::DynamoDb,
    }
}
