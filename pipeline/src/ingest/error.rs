//! The ingest API's errors, answered as API Gateway does: a status and `{"message": ...}`.
//! User faults are 4xx naming the problem; backend trouble is 503 (retry later) or 502.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::transport::TransportError;

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Why the ingest API refused an event; each becomes the status and JSON body API Gateway would
/// answer.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// `x-api-key` missing or not one of the configured keys.
    #[error("Forbidden")]
    Forbidden,
    /// No such resource (API Gateway's answer to unknown paths).
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// Not `PUT` (the only method the route has).
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// The request is malformed; the message names the problem.
    #[error("{0}")]
    BadRequest(String),
    /// The body or the event is over its limit; the message names which.
    #[error("{0}")]
    TooLarge(String),
    /// The stream is throttling or down; the event was not accepted.
    #[error("{0}")]
    Unavailable(String),
    /// The stream refused the record for a reason on our side (configuration).
    #[error("{0}")]
    BadGateway(String),
}

impl IngestError {
    /// The HTTP status this answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Forbidden | IngestError::MissingAuthenticationToken => {
                StatusCode::FORBIDDEN
            }
            IngestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::BadGateway(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// API Gateway's `x-amzn-ErrorType` for the two gateway responses we mimic.
    fn error_type(&self) -> Option<&'static str> {
        match self {
            IngestError::Forbidden => Some("ForbiddenException"),
            IngestError::MissingAuthenticationToken => Some("MissingAuthenticationTokenException"),
            _ => None,
        }
    }
}

impl From<TransportError> for IngestError {
    fn from(err: TransportError) -> Self {
        match err {
            TransportError::TooLarge { size, limit } => IngestError::TooLarge(format!(
                "Request Too Long: the record is {size} bytes, over the stream's limit of {limit} bytes"
            )),
            TransportError::Unavailable { .. } => IngestError::Unavailable(
                "Service Unavailable: the stream did not accept the event; retry later with the same id"
                    .to_owned(),
            ),
            TransportError::Failed { .. } => IngestError::BadGateway("Internal server error".to_owned()),
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(json!({ "message": self.to_string() }))).into_response();
        let headers = response.headers_mut();
        if let Some(error_type) = self.error_type() {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        }
        match self {
            IngestError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            IngestError::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("PUT"));
            }
            _ => {}
        }
        response
    }
}
