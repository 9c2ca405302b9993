//! The AWS JSON wire protocols: which service and operation a request is for, how its body
//! is parsed, and how results and errors are encoded.
//!
//! All three services use `POST /` with `X-Amz-Target: <prefix>.<Operation>`:
//! Kinesis awsJson1_1 (`Kinesis_20131202`), SQS awsJson1_0 (`AmazonSQS`, awsQueryCompatible)
//! and DynamoDB awsJson1_0 (`DynamoDB_20120810`).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::clock::{Clock, Millis};
use crate::error::AwsError;

/// The emulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Kinesis,
    Sqs,
    DynamoDb,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Kinesis, Service::Sqs, Service::DynamoDb];

    pub fn name(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::Sqs => "sqs",
            Service::DynamoDb => "dynamodb",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Service::Kinesis => "application/x-amz-json-1.1",
            Service::Sqs | Service::DynamoDb => "application/x-amz-json-1.0",
        }
    }

    /// What AWS puts before the shape name in `__type`.
    fn type_prefix(self) -> &'static str {
        match self {
            Service::Kinesis => "",
            Service::Sqs => "com.amazonaws.sqs#",
            Service::DynamoDb => "com.amazonaws.dynamodb.v20120810#",
        }
    }
}

/// Splits an `X-Amz-Target` header into the service and the operation name.
pub fn parse_target(target: &str) -> Result<(Service, &str), AwsError> {
    let (prefix, op) = target
        .split_once('.')
        .ok_or_else(|| unknown_target(target))?;
    let service = match prefix {
        "Kinesis_20131202" => Service::Kinesis,
        "AmazonSQS" => Service::Sqs,
        "DynamoDB_20120810" => Service::DynamoDb,
        _ => return Err(unknown_target(target)),
    };
    if op.is_empty() {
        return Err(unknown_target(target));
    }
    Ok((service, op))
}

fn unknown_target(target: &str) -> AwsError {
    AwsError::new(
        400,
        "UnknownOperationException",
        format!(
            "X-Amz-Target '{target}' names no operation this emulator serves \
             (expected Kinesis_20131202.<Op>, AmazonSQS.<Op> or DynamoDB_20120810.<Op>)"
        ),
    )
}

/// The answer for an operation a service does not implement; names it.
pub fn unknown_operation(service: Service, op: &str) -> AwsError {
    let err = AwsError::new(
        400,
        "UnknownOperationException",
        format!(
            "The emulator's {} service does not implement the operation {op}",
            service.name()
        ),
    );
    match service {
        Service::Sqs => err.with_query_code("AWS.SimpleQueueService.UnsupportedOperation"),
        _ => err,
    }
}

/// What a service core needs to know about the request besides its body.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The emulator's clock, for operations that wait (SQS long polling).
    pub clock: Clock,
    /// Epoch milliseconds when the request arrived.
    pub now: Millis,
    pub region: String,
    pub account: String,
    /// `host[:port]` the client addressed (for SQS queue URLs).
    pub host: String,
}

impl Ctx {
    /// A context for tests of a core.
    pub fn for_test(clock: Clock) -> Self {
        Self {
            now: clock.now_ms(),
            clock,
            region: "us-east-1".into(),
            account: "000000000000".into(),
            host: "localhost:4566".into(),
        }
    }
}

/// Parses a request body into an operation's input shape.
///
/// An empty body counts as `{}` (AWS JSON protocols allow it for operations without input).
/// Missing required members and wrong types become AWS's `SerializationException`
/// (malformed JSON) or `ValidationException` (shape mismatch), naming the problem.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => AwsError::new(
                400,
                "ValidationException",
                format!("1 validation error detected: {e}"),
            ),
            _ => AwsError::new(
                400,
                "SerializationException",
                format!("Malformed request body: {e}"),
            ),
        }
    })
}

/// Serialises an operation's output shape.
pub fn to_value<T: serde::Serialize>(output: &T) -> Value {
    serde_json::to_value(output).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Encodes a service's result (or error) as the HTTP response AWS would send.
pub fn encode(
    service: Service,
    result: Result<Value, AwsError>,
    request_id: &str,
) -> Response<Bytes> {
    let (status, body, query_error) = match result {
        Ok(value) => (
            StatusCode::OK,
            serde_json::to_vec(&value).unwrap_or_default(),
            None,
        ),
        Err(err) => encode_error(service, err),
    };
    // DynamoDB sends a CRC32 of the body; botocore verifies it when present.
    let crc = (service == Service::DynamoDb).then(|| crc32fast::hash(&body));
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(service.content_type()),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(q) = query_error.and_then(|q| HeaderValue::from_str(&q).ok()) {
        headers.insert("x-amzn-query-error", q);
    }
    if let Some(crc) = crc {
        headers.insert("x-amz-crc32", HeaderValue::from(crc));
    }
    response
}

fn encode_error(service: Service, err: AwsError) -> (StatusCode, Vec<u8>, Option<String>) {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = err.extra.unwrap_or_default();
    body.insert(
        "__type".into(),
        Value::String(format!("{}{}", service.type_prefix(), err.code)),
    );
    // A body that carries its own `Message` (DynamoDB's failed condition with the old item)
    // has no lowercase `message` beside it, as AWS sends it.
    if !body.contains_key("Message") {
        body.insert("message".into(), Value::String(err.message));
    }
    let query_error = (service == Service::Sqs).then(|| {
        let fault = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        format!("{};{fault}", err.query_code.as_deref().unwrap_or(&err.code))
    });
    (
        status,
        serde_json::to_vec(&body).unwrap_or_default(),
        query_error,
    )
}
