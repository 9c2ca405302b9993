//! AWS error responses as each service sends them, so the SDK classifies an injected fault
//! exactly as it would the real one; and the error code of a response from the backend.
//!
//! The encoding itself is the emulator's ([`emulator::wire::errors`]): Kinesis (awsJson1_1)
//! bare `__type`; SQS (awsJson1_0, awsQueryCompatible) `com.amazonaws.sqs#<Shape>` plus
//! `x-amzn-query-error: <QueryCode>;Sender|Receiver`; DynamoDB `com.amazonaws.dynamodb.v20120810#`.
//! What stays here is which throttling errors each service sends, and their wording.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::{Headers, StatusCode};
use aws_smithy_types::body::SdkBody;
use emulator::AwsError;
use emulator::wire::{RequestIds, errors};
#[cfg(test)]
use serde_json::Value;

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

/// A 200 answer with a JSON body in `service`'s protocol (an answer the layer makes up, such
/// as a SendMessageBatch whose every entry a rule failed).
pub fn json_response(service: Service, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(200).unwrap_or_else(|_| unreachable!("200 is a status code")),
        SdkBody::empty(),
    );
    set_body(&mut response, service, body);
    response
}

/// Replaces a response's body (and its length and type headers).
pub fn set_body(response: &mut HttpResponse, service: Service, body: Vec<u8>) {
    response
        .headers_mut()
        .insert("content-type", service.content_type());
    response
        .headers_mut()
        .insert("content-length", body.len().to_string());
    *response.body_mut() = SdkBody::from(body);
}

/// An AWS error response as `service` sends it (encoded by the emulator's wire module, so an
/// injected fault reads exactly like the emulator's own answer). `code` may be an SQS shape
/// name or its awsQuery code.
pub fn error_response(service: Service, status: u16, code: &str, message: &str) -> HttpResponse {
    static REQUEST_IDS: RequestIds = RequestIds::new(0xfa01_7000);
    let err = AwsError::new(code.to_owned(), message).with_status(status);
    let response = errors::json_error(service, err, &REQUEST_IDS.next_id());
    HttpResponse::try_from(response.map(SdkBody::from)).unwrap_or_else(|_| {
        // The wire module builds valid responses; a conversion failure leaves a bare 500.
        HttpResponse::new(
            StatusCode::try_from(500).unwrap_or_else(|_| unreachable!("500 is a status code")),
            SdkBody::empty(),
        )
    })
}

/// The AWS error code of an error response, as the SDK would read it
/// ([`emulator::wire::errors::error_code`]).
pub fn response_error_code(headers: &Headers, body: &[u8]) -> Option<String> {
    errors::error_code(
        headers.get("x-amzn-query-error"),
        headers.get("x-amzn-errortype"),
        body,
    )
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
