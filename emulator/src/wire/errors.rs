//! Error codes and their HTTP statuses: the one place that knows, for every service, which
//! status an error code answers with and, for SQS, which awsQuery code a shape travels as.
//!
//! The status is derived from the code (as the `s3s` crate does for S3) so that no call site
//! repeats it: the emulator's cores, the harness's injected faults and the test fakes all
//! encode through [`json_error`] / [`super::query::xml_error`] and so cannot drift apart.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::Service;
use crate::error::AwsError;

/// One SQS error: the modelled shape name (JSON `__type`), the awsQuery code (XML `<Code>`,
/// `x-amzn-query-error`) and the HTTP status.
struct SqsCode {
    shape: &'static str,
    query: &'static str,
    status: u16,
}

const fn sqs(shape: &'static str, query: &'static str, status: u16) -> SqsCode {
    SqsCode {
        shape,
        query,
        status,
    }
}

/// SQS's error table. The modelled errors and their codes and statuses come from the last
/// awsQuery service model (botocore 1.30, `botocore/data/sqs/2012-11-05/service-2.json`,
/// `"error": {"code", "httpStatusCode"}`); the KMS codes from the Rust SDK's error parser;
/// the common errors (`InvalidParameterValueException` <-> `InvalidParameterValue`,
/// `MissingRequiredParameterException` <-> `MissingParameter`) from AWS's recorded JSON
/// answers and https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html.
const SQS_CODES: &[SqsCode] = &[
    sqs(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
    ),
    sqs(
        "QueueDeletedRecently",
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
    ),
    sqs(
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        400,
    ),
    sqs(
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
    ),
    sqs(
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
    ),
    sqs(
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
    ),
    sqs(
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
    ),
    sqs(
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
    ),
    sqs(
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
    ),
    sqs(
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        400,
    ),
    sqs("QueueNameExists", "QueueAlreadyExists", 400),
    // An operation SQS does not have: the query protocol's common error.
    sqs("UnknownOperationException", "InvalidAction", 400),
    sqs("OverLimit", "OverLimit", 403),
    sqs(
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        404,
    ),
    sqs(
        "InvalidParameterValueException",
        "InvalidParameterValue",
        400,
    ),
    sqs("MissingRequiredParameterException", "MissingParameter", 400),
    sqs("KmsThrottled", "KMS.ThrottlingException", 400),
    sqs("KmsAccessDenied", "KMS.AccessDeniedException", 400),
    sqs("KmsDisabled", "KMS.DisabledException", 400),
    sqs("KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException", 400),
    sqs("KmsInvalidState", "KMS.InvalidStateException", 400),
    sqs("KmsNotFound", "KMS.NotFoundException", 400),
    sqs("KmsOptInRequired", "KMS.OptInRequired", 400),
];

fn sqs_entry(code: &str) -> Option<&'static SqsCode> {
    SQS_CODES
        .iter()
        .find(|c| c.shape == code || c.query == code)
}

/// The SQS shape name for an error named by its shape or its awsQuery code.
pub fn sqs_shape(code: &str) -> &str {
    sqs_entry(code).map_or(code, |c| c.shape)
}

/// The SQS awsQuery code for an error named by its shape or its awsQuery code.
pub fn sqs_query_code(code: &str) -> &str {
    sqs_entry(code).map_or(code, |c| c.query)
}

/// The HTTP status AWS answers `code` with on `service`.
pub fn status_of(service: Service, code: &str) -> u16 {
    if service == Service::Sqs
        && let Some(entry) = sqs_entry(code)
    {
        return entry.status;
    }
    match code {
        "InternalFailure" | "InternalServerError" | "InternalError" => 500,
        "ServiceUnavailable" => 503,
        _ => 400,
    }
}

/// The status `err` is sent with: its override, else the one its code implies.
pub fn status(service: Service, err: &AwsError) -> StatusCode {
    let status = err.status.unwrap_or_else(|| status_of(service, &err.code));
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)
}

/// `Sender` for client faults, `Receiver` for server faults (awsQuery's `<Type>`).
pub fn fault(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    }
}

/// An error in a JSON protocol: `{"__type", "message"}` with the service's `__type` prefix,
/// and for SQS (awsQueryCompatible) `x-amzn-query-error: <QueryCode>;Sender|Receiver`, which
/// the SDKs read the error code from.
pub fn json_error(service: Service, err: AwsError, request_id: &str) -> Response<Bytes> {
    let status = status(service, &err);
    let shape = match service {
        Service::Sqs => sqs_shape(&err.code),
        _ => &err.code,
    };
    let mut body = err.extra.clone().unwrap_or_default();
    body.insert(
        "__type".into(),
        Value::String(format!("{}{shape}", service.type_prefix())),
    );
    // A body that carries its own `Message` (DynamoDB's failed condition with the old item)
    // has no lowercase `message` beside it, as AWS sends it.
    if !body.contains_key("Message") {
        body.insert("message".into(), Value::String(err.message.clone()));
    }
    let mut response = super::json_response(
        service,
        status,
        serde_json::to_vec(&body).unwrap_or_default(),
        request_id,
    );
    if service == Service::Sqs {
        let header = format!("{};{}", sqs_query_code(&err.code), fault(status));
        if let Ok(value) = HeaderValue::from_str(&header) {
            response.headers_mut().insert("x-amzn-query-error", value);
        }
    }
    response
}

/// The AWS error code of an error response, as the SDKs read it: the SQS query code from
/// `x-amzn-query-error`, else the body's `__type` (or `code`) without its namespace, else
/// `x-amzn-ErrorType`, else an awsQuery XML body's `<Code>`.
pub fn error_code(
    query_error: Option<&str>,
    error_type: Option<&str>,
    body: &[u8],
) -> Option<String> {
    if let Some(q) = query_error {
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
        .or(error_type)
        .map(sanitize_code)
        .or_else(|| super::query::xml_error_code(body))
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

    #[test]
    fn statuses_follow_the_code() {
        assert_eq!(status_of(Service::Sqs, "ResourceNotFoundException"), 404);
        assert_eq!(
            status_of(Service::Kinesis, "ResourceNotFoundException"),
            400
        );
        assert_eq!(status_of(Service::Sqs, "PurgeQueueInProgress"), 403);
        assert_eq!(
            status_of(Service::Sqs, "AWS.SimpleQueueService.PurgeQueueInProgress"),
            403
        );
        assert_eq!(status_of(Service::DynamoDb, "InternalServerError"), 500);
        assert_eq!(status_of(Service::Kinesis, "InternalFailure"), 500);
        assert_eq!(status_of(Service::Sqs, "ServiceUnavailable"), 503);
    }

    #[test]
    fn sqs_codes_translate_both_ways() {
        assert_eq!(
            sqs_query_code("QueueDoesNotExist"),
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(
            sqs_shape("AWS.SimpleQueueService.NonExistentQueue"),
            "QueueDoesNotExist"
        );
        assert_eq!(
            sqs_shape("InvalidParameterValue"),
            "InvalidParameterValueException"
        );
        assert_eq!(sqs_query_code("RequestThrottled"), "RequestThrottled");
    }

    fn json(r: &Response<Bytes>) -> Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    #[test]
    fn sqs_json_errors_carry_the_modelled_shape_and_the_query_code() {
        let r = json_error(
            Service::Sqs,
            AwsError::new("InvalidParameterValue", "bad"),
            "id",
        );
        assert_eq!(r.status(), 400);
        assert_eq!(
            json(&r)["__type"],
            "com.amazonaws.sqs#InvalidParameterValueException"
        );
        assert_eq!(
            r.headers()["x-amzn-query-error"],
            "InvalidParameterValue;Sender"
        );
        assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.0");

        let r = json_error(Service::Sqs, AwsError::new("InternalError", "x"), "id");
        assert_eq!(r.status(), 500);
        assert_eq!(r.headers()["x-amzn-query-error"], "InternalError;Receiver");
    }

    #[test]
    fn kinesis_and_dynamodb_errors_use_their_namespaces() {
        let r = json_error(
            Service::Kinesis,
            AwsError::new("LimitExceededException", "m"),
            "i",
        );
        assert_eq!(json(&r)["__type"], "LimitExceededException");
        assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.1");
        assert!(r.headers().get("x-amzn-query-error").is_none());
        let r = json_error(
            Service::DynamoDb,
            AwsError::new("ThrottlingException", "m"),
            "i",
        );
        assert_eq!(
            json(&r)["__type"],
            "com.amazonaws.dynamodb.v20120810#ThrottlingException"
        );
        assert!(r.headers().get("x-amz-crc32").is_some());
    }

    #[test]
    fn error_codes_are_read_as_the_sdks_read_them() {
        let r = json_error(
            Service::DynamoDb,
            AwsError::new("ThrottlingException", "m"),
            "i",
        );
        assert_eq!(
            error_code(None, None, r.body()).as_deref(),
            Some("ThrottlingException")
        );
        assert_eq!(
            error_code(
                Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
                None,
                b"{}"
            )
            .as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        assert_eq!(
            error_code(None, None, br#"{"__type":"ValidationException:http://x/"}"#).as_deref(),
            Some("ValidationException")
        );
        assert_eq!(error_code(None, None, b"<html>"), None);
    }
}
