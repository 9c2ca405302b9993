//! The request-fault layer: an SDK `HttpClient` that wraps another one (the in-process
//! emulator, a real HTTP client, a canned one) and applies the plan's request rules.
//!
//! Each request's service and operation come from its `X-Amz-Target` header; requests without
//! a recognised target pass through untouched and unjournaled. Every other request is one
//! attempt in the journal (an SDK retry is a new request, so a new attempt). Delays use
//! tokio's clock, so faults cost no wall time under a paused clock.
//!
//! **SendMessageBatch** is both a call and up to ten messages. Rules on `SendMessageBatch`
//! apply to the whole call, as to any request. Rules on `SendMessage` apply to each entry, as
//! they would to a SendMessage of that entry (its event, its body, the call's queue), so a
//! rule written for single sends keeps its meaning when the sender batches:
//! - `throttle` / `error`: the entry alone fails: it is not passed on, and the answer lists
//!   it in `Failed` with the code (`SenderFault` for a status below 500), the other entries
//!   go through (the backend gets the call without it);
//! - `latency`: the call waits (the longest of its entries' delays);
//! - `timeout`: the call waits, and the entry fails with `InternalError` (not passed on);
//! - `lose_response`: the entry is passed on (the backend applies it) and the answer lists it
//!   in `Failed` with `InternalError`: the sender retries a message that is on the queue.
//!
//! The journal records the call once, with each entry's outcome and rule
//! ([`Attempt::entries`]).
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

use std::time::Duration;

use serde_json::{Value, json};

use super::event_id::{RequestInfo, envelope_id, inspect_request};
use super::journal::{
    Attempt, AttemptStatus, ConnectorErrorKind, EntryAttempt, FiredFault, Journal, entry_operation,
};
use super::plan::{Decision, FaultPlan};
use super::response::{
    default_throttle_code, error_response, json_response, response_error_code, set_body,
    throttle_message,
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
        if service == Service::Sqs && entry_operation(&operation).is_some() {
            return self.handle_batch(service, operation, request).await;
        }
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
            entries: Vec::new(),
        });
        result
    }

    /// A SendMessageBatch (see the module docs): the call's rules, else each entry's.
    async fn handle_batch(
        self,
        service: Service,
        operation: String,
        mut request: HttpRequest,
    ) -> Result<HttpResponse, ConnectorError> {
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let RequestInfo {
            event_ids,
            resource,
            failure_stage,
        } = inspect_request(service, &operation, &body);
        let at = self.journal.elapsed();
        let mut json: Value = serde_json::from_slice(&body).unwrap_or_default();
        let entries: Vec<Value> = json["Entries"].as_array().cloned().unwrap_or_default();
        let entry_ids: Vec<String> = entries
            .iter()
            .map(|e| e["Id"].as_str().unwrap_or_default().to_owned())
            .collect();
        let entry_events: Vec<Option<String>> = entries
            .iter()
            .map(|e| envelope_id(e["MessageBody"].as_str()?.as_bytes()))
            .collect();
        let call = self.plan.decide_request(&RequestView {
            service,
            operation: &operation,
            event_ids: &event_ids,
            resource: resource.as_deref(),
            body: &body,
        });
        let entry_op = entry_operation(&operation).unwrap_or("SendMessage");
        let mut entry_rules: Vec<Option<Decision>> = vec![None; entries.len()];
        if call.is_none() {
            for (i, entry) in entries.iter().enumerate() {
                let ids: Vec<String> = entry_events[i].iter().cloned().collect();
                let entry_body = entry.to_string();
                entry_rules[i] = self.plan.decide_request(&RequestView {
                    service,
                    operation: entry_op,
                    event_ids: &ids,
                    resource: resource.as_deref(),
                    body: entry_body.as_bytes(),
                });
            }
        }
        let fired = call
            .iter()
            .map(|d| (d, &operation, event_ids.clone()))
            .chain(entry_rules.iter().zip(&entry_events).filter_map(|(d, id)| {
                let d = d.as_ref()?;
                Some((d, &operation, id.iter().cloned().collect()))
            }));
        for (i, (d, op, ids)) in fired.enumerate() {
            // The call's rule names the batch operation; an entry's rule the entry's.
            let operation = if i == 0 && call.is_some() {
                op.clone()
            } else {
                entry_op.to_owned()
            };
            self.journal.record_fired(FiredFault {
                rule: d.rule.clone(),
                service: service.name().to_owned(),
                operation,
                action: d.action.name().to_owned(),
                event_ids: ids,
                at,
            });
        }

        let (result, status) = if call.is_some() {
            let result = self
                .apply(service, resource.as_deref(), call.as_ref(), request)
                .await;
            classify(result).await
        } else {
            // Entry faults: what fails is left out of the call and added to its answer.
            let mut injected: Vec<Value> = Vec::new();
            let mut lost: Vec<(String, String)> = Vec::new();
            let mut keep = vec![true; entries.len()];
            let mut delay = Duration::ZERO;
            for (i, decision) in entry_rules.iter().enumerate() {
                let Some(Decision { rule, action }) = decision else {
                    continue;
                };
                let id = &entry_ids[i];
                match action {
                    RequestAction::Throttle { code, message } => {
                        let code = code.as_deref().unwrap_or(default_throttle_code(service));
                        let message = message.clone().unwrap_or_else(|| {
                            throttle_message(service, code, resource.as_deref())
                        });
                        injected.push(failed_entry(id, code, &message, true));
                        keep[i] = false;
                    }
                    RequestAction::Error {
                        status,
                        code,
                        message,
                    } => {
                        let message = injected_message(code, message.as_deref(), rule);
                        injected.push(failed_entry(id, code, &message, *status < 500));
                        keep[i] = false;
                    }
                    RequestAction::Latency(d) => delay = delay.max(*d),
                    RequestAction::Timeout(after) => {
                        delay = delay.max(*after);
                        let message =
                            format!("request timed out after {after:?} (fault rule '{rule}')");
                        injected.push(failed_entry(id, "InternalError", &message, false));
                        keep[i] = false;
                    }
                    RequestAction::LoseResponse => lost.push((id.clone(), rule.clone())),
                }
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let result = if keep.iter().all(|k| *k) {
                self.inner.call(request).await
            } else if keep.iter().any(|k| *k) {
                let kept: Vec<Value> = entries
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(e, _)| e.clone())
                    .collect();
                json["Entries"] = Value::Array(kept);
                let bytes = json.to_string().into_bytes();
                request
                    .headers_mut()
                    .insert("content-length", bytes.len().to_string());
                *request.body_mut() = SdkBody::from(bytes);
                self.inner.call(request).await
            } else {
                let empty = json!({"Successful": [], "Failed": []});
                Ok(json_response(service, empty.to_string().into_bytes()))
            };
            let (result, status) = classify(result).await;
            match result {
                Ok(mut response)
                    if matches!(status, AttemptStatus::Ok { .. })
                        && (!injected.is_empty() || !lost.is_empty()) =>
                {
                    match merge_entry_failures(&mut response, service, injected, &lost).await {
                        Ok(()) => (Ok(response), status),
                        Err(err) => (
                            Err(err),
                            AttemptStatus::ConnectorError {
                                kind: ConnectorErrorKind::Io,
                            },
                        ),
                    }
                }
                other => (other, status),
            }
        };

        // Each entry's outcome, read from the answer the sender gets.
        let answer: Option<Value> = match (&result, &status) {
            (Ok(response), AttemptStatus::Ok { .. }) => response
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice(b).ok()),
            _ => None,
        };
        let entries = entry_ids
            .iter()
            .zip(entry_events)
            .zip(entry_rules)
            .map(|((id, event_id), decision)| {
                let (status, sender_fault) = entry_status(answer.as_ref(), id, &status);
                EntryAttempt {
                    entry_id: id.clone(),
                    event_id,
                    status,
                    sender_fault,
                    rule: decision.map(|d| d.rule),
                }
            })
            .collect();
        self.journal.record_attempt(Attempt {
            service: service.name().to_owned(),
            operation,
            event_ids,
            resource,
            status,
            rule: call.map(|d| d.rule),
            failure_stage,
            at,
            entries,
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
                let message = injected_message(code, message.as_deref(), rule);
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

/// A `Failed` entry of a batch answer, as SQS writes it (`Code`: the awsQuery code).
fn failed_entry(id: &str, code: &str, message: &str, sender_fault: bool) -> Value {
    json!({
        "Id": id,
        "Code": emulator::wire::errors::sqs_query_code(code),
        "Message": message,
        "SenderFault": sender_fault,
    })
}

/// Adds the injected entry failures to a batch answer, and moves the entries whose answer a
/// rule lost from `Successful` to `Failed`.
async fn merge_entry_failures(
    response: &mut HttpResponse,
    service: Service,
    mut failed: Vec<Value>,
    lost: &[(String, String)],
) -> Result<(), ConnectorError> {
    let bytes = match response.body().bytes() {
        Some(bytes) => bytes.to_vec(),
        None => ByteStream::new(response.take_body())
            .collect()
            .await
            .map_err(|err| ConnectorError::io(err.into()))?
            .into_bytes()
            .to_vec(),
    };
    let mut answer: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
    let successful = answer["Successful"].as_array().cloned().unwrap_or_default();
    let (gone, kept): (Vec<Value>, Vec<Value>) = successful.into_iter().partition(|s| {
        lost.iter()
            .any(|(id, _)| s["Id"].as_str() == Some(id.as_str()))
    });
    for entry in gone {
        let id = entry["Id"].as_str().unwrap_or_default();
        let rule = lost
            .iter()
            .find(|(lost_id, _)| lost_id == id)
            .map_or("", |(_, rule)| rule.as_str());
        let message = format!("the answer for this entry was lost (fault rule '{rule}')");
        failed.push(failed_entry(id, "InternalError", &message, false));
    }
    let mut all_failed = answer["Failed"].as_array().cloned().unwrap_or_default();
    all_failed.extend(failed);
    answer["Successful"] = Value::Array(kept);
    answer["Failed"] = Value::Array(all_failed);
    set_body(response, service, answer.to_string().into_bytes());
    Ok(())
}

/// One entry's outcome in a batch answer (`None`: the call failed, or the answer is not
/// JSON): the call's own status then.
fn entry_status(
    answer: Option<&Value>,
    id: &str,
    call: &AttemptStatus,
) -> (AttemptStatus, Option<bool>) {
    let Some(answer) = answer else {
        return (call.clone(), None);
    };
    let status = match call {
        AttemptStatus::Ok { status } => *status,
        _ => 200,
    };
    let listed = |key: &str| {
        answer[key]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["Id"].as_str() == Some(id))
            .cloned()
    };
    if let Some(failed) = listed("Failed") {
        let code = failed["Code"].as_str().unwrap_or("Unknown").to_owned();
        return (
            AttemptStatus::AwsError { status, code },
            failed["SenderFault"].as_bool(),
        );
    }
    if listed("Successful").is_some() {
        return (AttemptStatus::Ok { status }, None);
    }
    // Neither: the sender cannot count it as sent.
    (
        AttemptStatus::AwsError {
            status,
            code: "MissingFromAnswer".to_owned(),
        },
        None,
    )
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

/// An injected error's message: the rule's own, or one naming the code and the rule (a whole
/// call's error and a batch entry's say the same).
fn injected_message(code: &str, message: Option<&str>, rule: &str) -> String {
    message.map_or_else(
        || format!("{code} (injected by fault rule '{rule}')"),
        str::to_owned,
    )
}
