//! The AWS wire formats, in one place: which service and operation a request is for, how its
//! body is parsed, and how results and errors are encoded. The emulator, the harness's fault
//! layer and the test fakes all use this module, so what they send cannot drift apart.
//!
//! Kinesis (awsJson1_1, `Kinesis_20131202`), SQS (awsJson1_0, `AmazonSQS`, awsQueryCompatible)
//! and DynamoDB (awsJson1_0, `DynamoDB_20120810`) are `POST /` with `X-Amz-Target:
//! <prefix>.<Operation>`. SQS also speaks the older awsQuery protocol ([`query`]):
//! `Action=<Operation>` form parameters over POST or GET, XML answers.
//!
//! - here: [`Service`], target parsing, content types, request ids, [`Ctx`], JSON bodies;
//! - [`errors`]: error codes, the HTTP status each implies, SQS's query-code table, the JSON
//!   error encoder, and reading an error code back out of a response;
//! - [`query`]: SQS's awsQuery protocol (form decoding into the JSON shapes, XML encoding).

pub mod errors;
pub mod query;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::clock::{Clock, Millis};
use crate::error::AwsError;

/// The emulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Kinesis,
    Sqs,
    #[serde(rename = "dynamodb")]
    DynamoDb,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Kinesis, Service::Sqs, Service::DynamoDb];

    /// The lower-case name (`kinesis`, `sqs`, `dynamodb`) used in logs, rules and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::Sqs => "sqs",
            Service::DynamoDb => "dynamodb",
        }
    }

    /// `"kinesis"`, `"sqs"` or `"dynamodb"` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The `X-Amz-Target` prefix before `.<Operation>`.
    pub fn target_prefix(self) -> &'static str {
        match self {
            Service::Kinesis => "Kinesis_20131202",
            Service::Sqs => "AmazonSQS",
            Service::DynamoDb => "DynamoDB_20120810",
        }
    }

    /// `Kinesis_20131202.PutRecord`: the `X-Amz-Target` naming `op`.
    pub fn target(self, op: &str) -> String {
        format!("{}.{op}", self.target_prefix())
    }

    /// Splits an `X-Amz-Target` value (`Kinesis_20131202.PutRecord`, `AmazonSQS.SendMessage`,
    /// `DynamoDB_20120810.PutItem`) into the service and the operation.
    pub fn from_target(target: &str) -> Option<(Service, &str)> {
        let (prefix, op) = target.split_once('.')?;
        let service = Service::ALL
            .into_iter()
            .find(|s| s.target_prefix() == prefix)?;
        (!op.is_empty()).then_some((service, op))
    }

    /// The content type of the service's JSON protocol.
    pub fn content_type(self) -> &'static str {
        match self {
            Service::Kinesis => JSON_1_1,
            Service::Sqs | Service::DynamoDb => JSON_1_0,
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

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// awsJson 1.1 (Kinesis).
pub const JSON_1_1: &str = "application/x-amz-json-1.1";
/// awsJson 1.0 (SQS, DynamoDB).
pub const JSON_1_0: &str = "application/x-amz-json-1.0";
/// Kinesis's CBOR protocol (the Java SDK's and the KCL's default), in requests and answers;
/// translated to and from JSON by `kinesis::cbor`.
pub const CBOR_1_1: &str = "application/x-amz-cbor-1.1";

/// Splits an `X-Amz-Target` header into the service and the operation name.
pub fn parse_target(target: &str) -> Result<(Service, &str), AwsError> {
    Service::from_target(target).ok_or_else(|| unknown_target(target))
}

fn unknown_target(target: &str) -> AwsError {
    AwsError::new(
        "UnknownOperationException",
        format!(
            "X-Amz-Target '{target}' names no operation this emulator serves \
             (expected Kinesis_20131202.<Op>, AmazonSQS.<Op> or DynamoDB_20120810.<Op>, \
             or an SQS Action=<Op> query request)"
        ),
    )
}

/// The answer for an operation a service does not implement; names it.
pub fn unknown_operation(service: Service, op: &str) -> AwsError {
    AwsError::new(
        "UnknownOperationException",
        format!(
            "The emulator's {} service does not implement the operation {op}",
            service.name()
        ),
    )
}

/// Request ids as AWS formats them (a UUID): a fixed first group, then a counter.
#[derive(Debug)]
pub struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    /// Ids `{prefix:08x}-0000-4000-8000-{n:012x}`, n counting from 1.
    pub const fn new(prefix: u32) -> Self {
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    pub fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{n:012x}", self.prefix)
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
    /// The request's `X-Amzn-Trace-Id` header (SQS keeps it as `AWSTraceHeader`).
    pub trace_header: Option<String>,
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
            trace_header: None,
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
                "ValidationException",
                format!("1 validation error detected: {e}"),
            ),
            _ => AwsError::new(
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

/// Encodes a service's result (or error) as the JSON-protocol response AWS would send.
pub fn encode(
    service: Service,
    result: Result<Value, AwsError>,
    request_id: &str,
) -> Response<Bytes> {
    match result {
        Ok(value) => json_response(
            service,
            StatusCode::OK,
            serde_json::to_vec(&value).unwrap_or_default(),
            request_id,
        ),
        Err(err) => errors::json_error(service, err, request_id),
    }
}

/// A JSON-protocol response: the service's content type, the request id, and for DynamoDB the
/// CRC32 of the body (botocore verifies it when present).
pub fn json_response(
    service: Service,
    status: StatusCode,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Bytes> {
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
    if let Some(crc) = crc {
        headers.insert("x-amz-crc32", HeaderValue::from(crc));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_their_service_and_operation() {
        assert_eq!(
            Service::from_target("Kinesis_20131202.PutRecords"),
            Some((Service::Kinesis, "PutRecords"))
        );
        assert_eq!(
            Service::from_target(&Service::Sqs.target("SendMessage")),
            Some((Service::Sqs, "SendMessage"))
        );
        assert_eq!(Service::from_target("AmazonSNS.Publish"), None);
        assert_eq!(Service::from_target("AmazonSQS."), None);
        assert_eq!(Service::from_target(""), None);
        assert_eq!(Service::from_name("DynamoDB"), Some(Service::DynamoDb));
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let ids = RequestIds::new(0xfa01_7000);
        let (a, b) = (ids.next_id(), ids.next_id());
        assert_eq!(a, "fa017000-0000-4000-8000-000000000001");
        assert_ne!(a, b);
    }
}
