//! The ingest API: `PUT /{stage}/stream` puts one event on the transport its `"stream"` names
//! and answers once the backend acknowledged it. Shaped as API Gateway (REST, API key
//! required) in front of the seed's Lambda: the same statuses and `{"message"}` bodies.
//!
//! `app(state, &config)` is a plain `Router`: tests call it with `oneshot`, `harness up`
//! serves it on a socket.

mod error;
mod request;
#[cfg(test)]
mod tests;

pub use error::{IngestError, RETRY_AFTER_SECS};
pub use request::{IngestRequest, MAX_ID_CHARS};

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::put;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::{ApiKeys, IngestConfig};
use crate::envelope::Envelope;
use crate::observe::{Observer, PipelineEvent};
use crate::transport::{KinesisBatchTransport, KinesisTransport, Transport};

/// PutRecords requests a batching stream keeps in flight at once.
const BATCH_REQUESTS_IN_FLIGHT: usize = 4;

/// Where the current time comes from (`Utc::now` unless a test hands in another).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What the ingest API needs: a transport per stream name, the accepted keys, an observer.
pub struct IngestState {
    transports: HashMap<String, Arc<dyn Transport>>,
    api_keys: ApiKeys,
    observer: Arc<dyn Observer>,
    clock: Clock,
    max_event_bytes: usize,
}

impl IngestState {
    /// The API's state: a transport per stream name, the keys it accepts, and the observer of each
    /// event.
    pub fn new(
        transports: HashMap<String, Arc<dyn Transport>>,
        api_keys: ApiKeys,
        observer: Arc<dyn Observer>,
    ) -> Self {
        IngestState {
            transports,
            api_keys,
            observer,
            clock: Arc::new(Utc::now),
            max_event_bytes: crate::config::MAX_EVENT_BYTES,
        }
    }

    /// One [`KinesisTransport`] per configured stream, all through `client`
    /// ([`KinesisBatchTransport`] for streams with `batch = true`: call this inside a tokio
    /// runtime then, as it starts the batching task).
    pub fn from_config(
        client: &aws_sdk_kinesis::Client,
        config: &IngestConfig,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let transports = config
            .streams
            .iter()
            .map(|(name, stream)| {
                let transport: Arc<dyn Transport> = if stream.batch {
                    Arc::new(KinesisBatchTransport::new(
                        client.clone(),
                        stream.kinesis_stream.clone(),
                        stream.partition_key.clone(),
                        BATCH_REQUESTS_IN_FLIGHT,
                    ))
                } else {
                    Arc::new(KinesisTransport::new(
                        client.clone(),
                        stream.kinesis_stream.clone(),
                        stream.partition_key.clone(),
                    ))
                };
                (name.clone(), transport)
            })
            .collect();
        Self::new(transports, config.api_keys.clone(), observer)
            .with_max_event_bytes(config.max_event_bytes)
    }

    /// Replaces the largest envelope accepted ([`IngestConfig::max_event_bytes`]).
    pub fn with_max_event_bytes(mut self, limit: usize) -> Self {
        self.max_event_bytes = limit;
        self
    }

    /// Replaces the clock that stamps `receivedAt`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts one event: what `PUT /{stage}/stream` does after reading the request, callable
    /// without HTTP (a load generator, a test).
    pub async fn ingest(&self, request: IngestRequest) -> Result<IngestResponse, IngestError> {
        let transport = self.transports.get(&request.stream).ok_or_else(|| {
            let mut known: Vec<&str> = self.transports.keys().map(String::as_str).collect();
            known.sort_unstable();
            IngestError::BadRequest(format!(
                "Unknown stream `{}`; configured streams: {}",
                request.stream,
                known.join(", ")
            ))
        })?;
        let id = request
            .id
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        crate::item::check_storable(&request.payload)
            .map_err(|e| IngestError::BadRequest(format!("Invalid payload: {e}")))?;
        let envelope = Envelope::new(id, request.stream, (self.clock)(), request.payload);
        let size = envelope.to_sqs_body().len();
        if size > self.max_event_bytes {
            return Err(IngestError::TooLarge(format!(
                "Request Too Long: the event is {size} bytes, over the limit of {} bytes",
                self.max_event_bytes
            )));
        }
        let receipt = transport.send(&envelope).await.map_err(|err| {
            tracing::warn!(id = %envelope.id, stream = %envelope.stream, error = %err, "ingest refused");
            IngestError::from(err)
        })?;
        self.observer.observe(&PipelineEvent::Ingested {
            id: envelope.id.clone(),
            stream: envelope.stream.clone(),
            shard_id: receipt.shard_id.clone(),
            sequence_number: receipt.sequence_number.clone(),
        });
        Ok(IngestResponse {
            id: envelope.id,
            stream: envelope.stream,
            shard_id: receipt.shard_id,
            sequence_number: receipt.sequence_number,
        })
    }
}

/// The 200 body: `{"id","stream","shardId","sequenceNumber"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    /// The envelope's id (the one given, or one made at ingest).
    pub id: String,
    /// The stream the event was put on.
    pub stream: String,
    /// The shard Kinesis put it on.
    pub shard_id: String,
    /// Its sequence number there.
    pub sequence_number: String,
}

/// The ingest API as a router: `PUT /{config.stage}/stream`, a request body limit of
/// `config.max_body_bytes`, an event limit of `config.max_event_bytes` and a timeout of
/// `config.request_timeout`.
pub fn app(state: IngestState, config: &IngestConfig) -> Router {
    let state = state.with_max_event_bytes(config.max_event_bytes);
    let path = format!("/{}/stream", config.stage);
    Router::new()
        .route(
            &path,
            put(put_stream).fallback(async || IngestError::MethodNotAllowed),
        )
        .fallback(async || IngestError::MissingAuthenticationToken)
        .with_state(Arc::new(state))
        // The limit layer below is the one limit; axum's own 2 MB default would shadow it.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::map_response(gateway_bodies))
}

async fn put_stream(
    State(state): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, IngestError> {
    if let ApiKeys::Local(keys) = &state.api_keys
        && !request::api_key_valid(&headers, keys)
    {
        return Err(IngestError::Forbidden);
    }
    let request = request::parse(&headers, &body)?;
    let response = state.ingest(request).await?;
    Ok(Json(json!(response)))
}

/// Layers and extractors answer some errors with plain text (413 from the body limit, 400
/// from a body that failed to arrive, 504 from the timeout); API Gateway's clients expect
/// `{"message"}` JSON, so those get it here.
async fn gateway_bodies(response: Response<Body>) -> Response<Body> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let message = match response.status() {
        _ if is_json => return response,
        StatusCode::PAYLOAD_TOO_LARGE => "Request Too Long",
        StatusCode::GATEWAY_TIMEOUT => "Endpoint request timed out",
        StatusCode::BAD_REQUEST => "Invalid request body",
        _ => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = json!({ "message": message }).to_string();
    Response::from_parts(parts, Body::from(body))
}
