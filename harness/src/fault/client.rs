//! The request-fault layer: an SDK `HttpClient` that wraps another one (the in-process
//! emulator, a real HTTP client, a canned one) and applies the plan's request rules.
//!
//! Each request's service and operation come from its `X-Amz-Target` header; requests without
//! a recognised target pass through untouched and unjournaled. Every other request is one
//! attempt in the journal (an SDK retry is a new request, so a new attempt). Delays use
//! tokio's clock, so faults cost no wall time under a paused clock.
//!
//! ```
//! use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
//! use emulator::{Emulator, EmulatorConfig, client::InProcessClient};
//! use harness::fault::{FaultPlan, FaultyHttpClient};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let plan = FaultPlan::new();
//! let rule = plan.sqs("CreateQueue").throttle().first(1).install();
//! let emulator = Emulator::new(EmulatorConfig::default());
//! let http = FaultyHttpClient::new(InProcessClient::new(emulator), plan.clone(), plan.journal());
//! let conf = aws_sdk_sqs::Config::builder()
//!     .http_client(http)
//!     .endpoint_url("http://emulator.local")
//!     .region(Region::new("us-east-1"))
//!     .credentials_provider(Credentials::new("test", "test", None, None, "doc"))
//!     .behavior_version(BehaviorVersion::latest())
//!     .build();
//! let sqs = aws_sdk_sqs::Client::from_conf(conf);
//! // Throttled once, then the SDK's retry gets through.
//! sqs.create_queue().queue_name("q").send().await.unwrap();
//! assert_eq!(rule.fired(), 1);
//! assert_eq!(plan.journal().calls("sqs", "CreateQueue"), 2);
//! # }
//! ```

#![warn(missing_docs)]

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;

use super::event_id::{RequestInfo, inspect_request};
use super::journal::{Attempt, AttemptStatus, ConnectorErrorKind, FiredFault, Journal};
use super::plan::{Decision, FaultPlan};
use super::response::{
    default_throttle_code, error_response, response_error_code, throttle_message,
};
use super::rule::{RequestAction, RequestView, Service};

/// An SDK `HttpClient` that injects the plan's request faults in front of `inner`.
#[derive(Debug, Clone)]
pub struct FaultyHttpClient {
    inner: SharedHttpClient,
    plan: FaultPlan,
    journal: Journal,
}

impl FaultyHttpClient {
    /// Wraps `inner` (a `SharedHttpClient` or any `HttpClient`); attempts and fired faults
    /// go to `journal` (usually `plan.journal()`).
    pub fn new(inner: impl HttpClient + 'static, plan: FaultPlan, journal: Journal) -> Self {
        Self {
            inner: inner.into_shared(),
            plan,
            journal,
        }
    }

    /// The plan whose request rules this layer applies.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The journal this layer records every attempt in.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
            journal: self.journal.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner
            .validate_base_client_config(runtime_components, cfg)
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// The fault layer over a connector rather than a client: for the artifact-mode proxy
/// (`crate::lambda::proxy`), which relays a child process's already-signed requests and has no
/// SDK runtime components to build a connector from a client with.
pub fn faulty_connector(
    inner: SharedHttpConnector,
    plan: FaultPlan,
    journal: Journal,
) -> SharedHttpConnector {
    SharedHttpConnector::new(FaultyConnector {
        inner,
        plan,
        journal,
    })
}

#[derive(Debug, Clone)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: FaultPlan,
    journal: Journal,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // The SDK marks the connection for closure after a transient error. An injected answer
        // never had one: report a connection whose closing is a no-op (else the SDK logs an
        // error each time). A real connector called below replaces this with its own.
        if let Some(capture) = request.extension::<CaptureSmithyConnection>() {
            capture.set_connection_retriever(|| {
                Some(
                    ConnectionMetadata::builder()
                        .proxied(false)
                        .poison_fn(|| {})
                        .build(),
                )
            });
        }
        let this = self.clone();
        HttpConnectorFuture::new(async move { this.handle(request).await })
    }
}

impl FaultyConnector {
    async fn handle(self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(Service::from_target)
            .map(|(service, op)| (service, op.to_owned()));
        let Some((service, operation)) = target else {
            return self.inner.call(request).await;
        };
        // SDK JSON bodies are in memory; a streaming body is passed on without inspection.
        let body = request.body().bytes().unwrap_or_default();
        let RequestInfo {
            event_ids,
            resource,
            failure_stage,
        } = inspect_request(service, &operation, body);
        let at = self.journal.elapsed();
        let decision = self.plan.decide_request(&RequestView {
            service,
            operation: &operation,
            event_ids: &event_ids,
            resource: resource.as_deref(),
            body,
        });
        if let Some(d) = &decision {
            self.journal.record_fired(FiredFault {
                rule: d.rule.clone(),
                service: service.name().to_owned(),
                operation: operation.clone(),
                action: d.action.name().to_owned(),
                event_ids: event_ids.clone(),
                at,
            });
        }
        let result = self
            .apply(service, resource.as_deref(), decision.as_ref(), request)
            .await;
        let (result, status) = classify(result).await;
        self.journal.record_attempt(Attempt {
            service: service.name().to_owned(),
            operation,
            event_ids,
            resource,
            status,
            rule: decision.map(|d| d.rule),
            failure_stage,
            at,
        });
        result
    }

    async fn apply(
        &self,
        service: Service,
        resource: Option<&str>,
        decision: Option<&Decision>,
        request: HttpRequest,
    ) -> Result<HttpResponse, ConnectorError> {
        let Some(Decision { rule, action }) = decision else {
            return self.inner.call(request).await;
        };
        match action {
            RequestAction::Throttle { code, message } => {
                let code = code.as_deref().unwrap_or(default_throttle_code(service));
                let message = message
                    .clone()
                    .unwrap_or_else(|| throttle_message(service, code, resource));
                Ok(error_response(service, 400, code, &message))
            }
            RequestAction::Error {
                status,
                code,
                message,
            } => {
                let message = message
                    .clone()
                    .unwrap_or_else(|| format!("{code} (injected by fault rule '{rule}')"));
                Ok(error_response(service, *status, code, &message))
            }
            RequestAction::Latency(delay) => {
                tokio::time::sleep(*delay).await;
                self.inner.call(request).await
            }
            RequestAction::Timeout(after) => {
                tokio::time::sleep(*after).await;
                Err(ConnectorError::timeout(
                    format!("request timed out after {after:?} (fault rule '{rule}')").into(),
                ))
            }
            RequestAction::LoseResponse => {
                // The backend applies the request; whatever it answered never arrives.
                let answered = self.inner.call(request).await;
                drop(answered);
                Err(ConnectorError::io(
                    format!("connection reset before the response arrived (fault rule '{rule}')")
                        .into(),
                ))
            }
        }
    }
}

/// The journal's status for a result, buffering an error response's body to read its code
/// (the body is handed on unchanged).
async fn classify(
    result: Result<HttpResponse, ConnectorError>,
) -> (Result<HttpResponse, ConnectorError>, AttemptStatus) {
    let mut response = match result {
        Ok(response) => response,
        Err(err) => {
            let kind = if err.is_timeout() {
                ConnectorErrorKind::Timeout
            } else if err.is_io() {
                ConnectorErrorKind::Io
            } else {
                ConnectorErrorKind::Other
            };
            return (Err(err), AttemptStatus::ConnectorError { kind });
        }
    };
    let status = response.status().as_u16();
    if response.status().is_success() {
        return (Ok(response), AttemptStatus::Ok { status });
    }
    let code = match response.body().bytes() {
        Some(bytes) => response_error_code(response.headers(), bytes),
        None => {
            let body = response.take_body();
            match ByteStream::new(body).collect().await {
                Ok(bytes) => {
                    let bytes = bytes.into_bytes();
                    let code = response_error_code(response.headers(), &bytes);
                    *response.body_mut() = SdkBody::from(bytes);
                    code
                }
                Err(err) => {
                    let status = AttemptStatus::ConnectorError {
                        kind: ConnectorErrorKind::Io,
                    };
                    return (Err(ConnectorError::io(err.into())), status);
                }
            }
        }
    };
    let code = code.unwrap_or_else(|| format!("HTTP {status}"));
    (Ok(response), AttemptStatus::AwsError { status, code })
}
