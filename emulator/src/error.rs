//! The one AWS-shaped error every service core returns.
//!
//! A service builds it with [`aws_error!`](crate::aws_error) from the modelled shape name and a
//! message; the wire layer ([`crate::wire::errors`]) derives the HTTP status and, for SQS, the
//! awsQuery code from the shape name, and encodes the body for the request's protocol.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// An error as AWS answers it: a shape name and a message (the status follows from the name).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    /// The modelled shape name, e.g. `ResourceNotFoundException` or `QueueDoesNotExist`.
    pub code: Cow<'static, str>,
    pub message: String,
    /// An HTTP status other than the one the code implies (fault injection sets it).
    pub status: Option<u16>,
    /// Extra top-level body fields (DynamoDB's `Item` on a failed condition check).
    pub extra: Option<Map<String, Value>>,
}

impl AwsError {
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: None,
            extra: None,
        }
    }

    /// Overrides the HTTP status the code implies.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds a top-level field to the error body.
    pub fn with_field(mut self, name: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), value);
        self
    }
}

/// Builds an [`AwsError`]: `aws_error!(ResourceNotFoundException, "Stream {} not found", name)`.
///
/// The HTTP status follows from the code ([`crate::wire::errors::status_of`]); the form
/// `aws_error!(503, Code, ...)` sets another one.
#[macro_export]
macro_rules! aws_error {
    ($status:literal, $code:ident, $($fmt:tt)+) => {
        $crate::error::AwsError::new(stringify!($code), format!($($fmt)+)).with_status($status)
    };
    ($code:ident, $($fmt:tt)+) => {
        $crate::error::AwsError::new(stringify!($code), format!($($fmt)+))
    };
}
