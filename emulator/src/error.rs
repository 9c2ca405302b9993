//! The one AWS-shaped error every service core returns.
//!
//! A service builds it with [`aws_error!`](crate::aws_error); the wire layer turns it into the body
//! `{"__type", "message"}` with the service's `__type` prefix, the HTTP status, and for SQS
//! the `x-amzn-query-error` header (the Rust SDK reads SQS error codes from that header).

use std::borrow::Cow;

use serde_json::{Map, Value};

/// An error as AWS answers it: a shape name, a message and an HTTP status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    /// HTTP status code (400 for client faults, 500 for `InternalFailure`, ...).
    pub status: u16,
    /// The bare shape name, e.g. `ResourceNotFoundException` or `QueueDoesNotExist`.
    pub code: Cow<'static, str>,
    pub message: String,
    /// SQS only: the awsQuery error code sent in `x-amzn-query-error`
    /// (e.g. `AWS.SimpleQueueService.NonExistentQueue`).
    pub query_code: Option<Cow<'static, str>>,
    /// Extra top-level body fields (DynamoDB's `Item` on a failed condition check).
    pub extra: Option<Map<String, Value>>,
}

impl AwsError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            query_code: None,
            extra: None,
        }
    }

    /// Sets the SQS awsQuery code sent in `x-amzn-query-error`.
    pub fn with_query_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.query_code = Some(code.into());
        self
    }

    /// Adds a top-level field to the error body.
    pub fn with_field(mut self, name: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), value);
        self
    }

    /// `true` for errors AWS counts as the server's fault (5xx).
    pub fn is_server_fault(&self) -> bool {
        self.status >= 500
    }
}

/// Builds an [`AwsError`]: `aws_error!(400, ResourceNotFoundException, "Stream {} not found", name)`.
#[macro_export]
macro_rules! aws_error {
    ($status:expr, $code:ident, $($fmt:tt)+) => {
        $crate::error::AwsError::new($status, stringify!($code), format!($($fmt)+))
    };
}
