//! AWS error responses as each service sends them, so the SDK classifies an injected fault
//! exactly as it would the real one; and the error code of a response from the backend.
//!
//! Kinesis (awsJson1_1): bare `__type`. SQS (awsJson1_0, awsQueryCompatible):
//! `com.amazonaws.sqs#<Shape>` plus `x-amzn-query-error: <QueryCode>;Sender|Receiver`, which
//! the Rust SDK reads the code from. DynamoDB (awsJson1_0): `com.amazonaws.dynamodb.v20120810#`.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::{Headers, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use super::rule::Service;

/// The throttling error each service answers by default.
pub fn default_throttle_code(service: Service) -> &'static str {
    match service {
        Service::Kinesis => "ProvisionedThroughputExceededException",
        Service::Sqs => "RequestThrottled",
        Service::DynamoDb => "ThrottlingException",
    }
}

/// The throttling errors a service sends (all in the SDK's list of throttling codes).
pub fn throttle_codes(service: Service) -> &'static [&'static str] {
    match service {
        Service::Kinesis => &[
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
        ],
        Service::Sqs => &["RequestThrottled", "ThrottlingException"],
        Service::DynamoDb => &[
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
        ],
    }
}

/// AWS's own message for a throttling error.
pub fn throttle_message(service: Service, code: &str, resource: Option<&str>) -> String {
    let name = resource.unwrap_or("unknown");
    match (service, code) {
        (Service::Kinesis, "ProvisionedThroughputExceededException") => {
            format!("Rate exceeded for stream {name} under account 000000000000.")
        }
        (Service::Sqs, _) => "Request is throttled.".to_owned(),
        (Service::DynamoDb, "ProvisionedThroughputExceededException") => {
            "The level of configured provisioned throughput for the table was exceeded. \
             Consider increasing your provisioning level with the UpdateTable API."
                .to_owned()
        }
        (Service::DynamoDb, "RequestLimitExceeded") => {
            "Throughput exceeds the current throughput limit for your account. \
             Please contact AWS Support at https://aws.amazon.com/support request a limit increase"
                .to_owned()
        }
        _ => "Rate of requests exceeds the allowed throughput.".to_owned(),
    }
}

/// SQS shapes whose awsQuery code differs from the shape name (AWS-SEMANTICS.md 4.4).
const SQS_QUERY_CODES: &[(&str, &str)] = &[
    (
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    ),
    (
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
    ),
    (
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    ),
    (
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
    ),
    (
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    ),
    (
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
    ),
    (
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
    ),
    (
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
    ),
    (
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
    ),
    ("QueueNameExists", "QueueAlreadyExists"),
    ("KmsThrottled", "KMS.ThrottlingException"),
    ("KmsAccessDenied", "KMS.AccessDeniedException"),
    ("KmsDisabled", "KMS.DisabledException"),
    ("KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException"),
    ("KmsInvalidState", "KMS.InvalidStateException"),
    ("KmsNotFound", "KMS.NotFoundException"),
    ("KmsOptInRequired", "KMS.OptInRequired"),
];

/// `(shape, query code)` for an SQS error named by either.
fn sqs_codes(code: &str) -> (&str, &str) {
    SQS_QUERY_CODES
        .iter()
        .find(|(shape, query)| *shape == code || *query == code)
        .map_or((code, code), |(shape, query)| (shape, query))
}

/// An AWS error response as `service` sends it.
pub fn error_response(service: Service, status: u16, code: &str, message: &str) -> HttpResponse {
    let (type_name, query_error) = match service {
        Service::Kinesis => (code.to_owned(), None),
        Service::Sqs => {
            let (shape, query) = sqs_codes(code);
            let fault = if status >= 500 { "Receiver" } else { "Sender" };
            (
                format!("com.amazonaws.sqs#{shape}"),
                Some(format!("{query};{fault}")),
            )
        }
        Service::DynamoDb => (format!("com.amazonaws.dynamodb.v20120810#{code}"), None),
    };
    let body = json!({"__type": type_name, "message": message}).to_string();
    let status = StatusCode::try_from(status).unwrap_or_else(|_| {
        StatusCode::try_from(500).unwrap_or_else(|_| unreachable!("500 is a status code"))
    });
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    let headers = response.headers_mut();
    let content_type = match service {
        Service::Kinesis => "application/x-amz-json-1.1",
        Service::Sqs | Service::DynamoDb => "application/x-amz-json-1.0",
    };
    headers.insert("content-type", content_type);
    headers.insert("x-amzn-requestid", request_id());
    if let Some(q) = query_error {
        // Codes and shapes are ASCII names; a header value that is not is left out.
        let _ = headers.try_insert("x-amzn-query-error", q);
    }
    response
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("fa017000-0000-4000-8000-{n:012x}")
}

/// The AWS error code of an error response, as the SDK would read it: the SQS query code
/// from `x-amzn-query-error`, else the body's `__type` (or `code`) without its namespace,
/// else `x-amzn-ErrorType`.
pub fn response_error_code(headers: &Headers, body: &[u8]) -> Option<String> {
    if let Some(q) = headers.get("x-amzn-query-error") {
        let code = q.split(';').next().unwrap_or(q);
        if !code.is_empty() {
            return Some(code.to_owned());
        }
    }
    let json = serde_json::from_slice::<Value>(body).ok();
    let from_body = json
        .as_ref()
        .and_then(|j| j.get("__type").or_else(|| j.get("code")))
        .and_then(Value::as_str);
    from_body
        .or_else(|| headers.get("x-amzn-errortype"))
        .map(sanitize_code)
        .filter(|c| !c.is_empty())
}

/// `com.amazonaws.dynamodb.v20120810#ThrottlingException` -> `ThrottlingException`;
/// `ValidationException:http://...` -> `ValidationException` (the JSON protocols' rule).
fn sanitize_code(raw: &str) -> String {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash
        .split(':')
        .next()
        .unwrap_or(after_hash)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(r: &HttpResponse) -> (u16, Value, Option<String>, Option<String>) {
        let body =
            serde_json::from_slice(r.body().bytes().unwrap_or_default()).unwrap_or(Value::Null);
        (
            r.status().as_u16(),
            body,
            r.headers().get("content-type").map(str::to_owned),
            r.headers().get("x-amzn-query-error").map(str::to_owned),
        )
    }

    #[test]
    fn kinesis_errors_use_the_bare_shape_and_json_1_1() {
        let r = error_response(
            Service::Kinesis,
            400,
            "ProvisionedThroughputExceededException",
            "m",
        );
        let (status, body, ct, query) = parts(&r);
        assert_eq!(status, 400);
        assert_eq!(body["__type"], "ProvisionedThroughputExceededException");
        assert_eq!(ct.as_deref(), Some("application/x-amz-json-1.1"));
        assert_eq!(query, None);
    }

    #[test]
    fn sqs_errors_carry_the_query_code_header() {
        let r = error_response(
            Service::Sqs,
            400,
            "RequestThrottled",
            "Request is throttled.",
        );
        let (_, body, ct, query) = parts(&r);
        assert_eq!(body["__type"], "com.amazonaws.sqs#RequestThrottled");
        assert_eq!(body["message"], "Request is throttled.");
        assert_eq!(ct.as_deref(), Some("application/x-amz-json-1.0"));
        assert_eq!(query.as_deref(), Some("RequestThrottled;Sender"));

        let r = error_response(Service::Sqs, 400, "QueueDoesNotExist", "gone");
        let (_, body, _, query) = parts(&r);
        assert_eq!(body["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(
            query.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
        );

        let r = error_response(Service::Sqs, 500, "InternalError", "x");
        assert_eq!(parts(&r).3.as_deref(), Some("InternalError;Receiver"));
    }

    #[test]
    fn dynamodb_errors_use_the_versioned_namespace() {
        let r = error_response(Service::DynamoDb, 400, "ThrottlingException", "m");
        assert_eq!(
            parts(&r).1["__type"],
            "com.amazonaws.dynamodb.v20120810#ThrottlingException"
        );
    }

    #[test]
    fn error_codes_are_read_as_the_sdk_reads_them() {
        let r = error_response(Service::DynamoDb, 400, "ThrottlingException", "m");
        let code = response_error_code(r.headers(), r.body().bytes().unwrap_or_default());
        assert_eq!(code.as_deref(), Some("ThrottlingException"));
        let r = error_response(Service::Sqs, 400, "QueueDoesNotExist", "m");
        let code = response_error_code(r.headers(), r.body().bytes().unwrap_or_default());
        assert_eq!(
            code.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        let headers = Headers::new();
        assert_eq!(
            response_error_code(&headers, br#"{"__type":"ValidationException:http://x/"}"#)
                .as_deref(),
            Some("ValidationException")
        );
        assert_eq!(response_error_code(&headers, b"<html>"), None);
    }

    #[test]
    fn default_throttle_codes_are_throttling_codes_of_their_service() {
        for s in [Service::Kinesis, Service::Sqs, Service::DynamoDb] {
            assert!(throttle_codes(s).contains(&default_throttle_code(s)));
        }
    }
}
