//! Scripted AWS answers for the handler tests: SDK clients pointed at a wiremock server, and
//! SQS / DynamoDB (awsJson1_0) success and error bodies as the services send them.

use aws_credential_types::Credentials;
use emulator::AwsError;
use emulator::wire::{self, JSON_1_0, Service};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{MockBuilder, MockServer, Request, Respond, ResponseTemplate};

pub const QUEUE_URL: &str = "http://sqs.local/000000000000/events";
pub const DLQ_URL: &str = "http://sqs.local/000000000000/events-dlq";

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "static")
}

pub fn sqs_client(server: &MockServer) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .http_client(pipeline::aws::https_client())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(server.uri())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

pub fn dynamodb_client(server: &MockServer) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(pipeline::aws::https_client())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(server.uri())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// SendMessage or SendMessageBatch to one queue (the forwarder batches its sends to the
/// queue; DLQ sends are single).
pub fn send_message_to(queue_url: &str) -> MockBuilder {
    wiremock::Mock::given(method("POST"))
        .and(|request: &Request| {
            request
                .headers
                .get("x-amz-target")
                .is_some_and(|v| v == "AmazonSQS.SendMessage" || v == "AmazonSQS.SendMessageBatch")
        })
        .and(body_partial_json(json!({ "QueueUrl": queue_url })))
}

/// PutItem.
pub fn put_item() -> MockBuilder {
    wiremock::Mock::given(method("POST")).and(header("x-amz-target", "DynamoDB_20120810.PutItem"))
}

/// A SendMessage success with the body's real MD5 (the SDK may verify it); for a
/// SendMessageBatch, every entry in `Successful`.
pub struct SqsAccepts;

impl Respond for SqsAccepts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        SqsBatchAnswer::failing(|_| None).respond(request)
    }
}

fn sent(message: &Value) -> Value {
    let body = message["MessageBody"].as_str().unwrap_or_default();
    json!({
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "MD5OfMessageBody": format!("{:x}", Md5::digest(body.as_bytes())),
    })
}

/// What a scripted batch answer says of one entry: `Some((code, sender_fault))` fails it.
type EntryVerdict = Box<dyn Fn(&Value) -> Option<(&'static str, bool)> + Send + Sync>;

/// A SendMessage or SendMessageBatch answer (HTTP 200) that fails the entries `verdict`
/// names, in `Failed` with their code and `SenderFault`, and accepts the rest, as SQS answers
/// a batch whose entries fail one by one.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>
pub struct SqsBatchAnswer(EntryVerdict);

impl SqsBatchAnswer {
    pub fn failing(
        verdict: impl Fn(&Value) -> Option<(&'static str, bool)> + Send + Sync + 'static,
    ) -> Self {
        SqsBatchAnswer(Box::new(verdict))
    }
}

impl Respond for SqsBatchAnswer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let ok = ResponseTemplate::new(200).insert_header("content-type", JSON_1_0);
        let Some(entries) = body["Entries"].as_array() else {
            return ok.set_body_json(sent(&body));
        };
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for entry in entries {
            match (self.0)(entry) {
                Some((code, sender_fault)) => failed.push(json!({
                    "Id": entry["Id"], "Code": code, "SenderFault": sender_fault,
                    "Message": format!("{code} (scripted)"),
                })),
                None => {
                    let mut answer = sent(entry);
                    answer["Id"] = entry["Id"].clone();
                    successful.push(answer);
                }
            }
        }
        ok.set_body_json(json!({"Successful": successful, "Failed": failed}))
    }
}

/// An AWS error response for wiremock, encoded by the emulator's wire module (so a scripted
/// error reads exactly like the emulator's and AWS's).
pub fn aws_error(service: Service, status: u16, code: &str, message: &str) -> ResponseTemplate {
    let err = AwsError::new(code.to_owned(), message).with_status(status);
    let response = wire::errors::json_error(service, err, "scripted-request");
    let mut template = ResponseTemplate::new(response.status().as_u16());
    for (name, value) in response.headers() {
        template = template.insert_header(name.as_str(), value.to_str().unwrap_or_default());
    }
    template.set_body_raw(response.body().to_vec(), service.content_type())
}

/// An SQS error named by its shape or its query code (the JSON protocol sends both).
pub fn sqs_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    aws_error(Service::Sqs, status, code, message)
}

pub fn sqs_throttled() -> ResponseTemplate {
    sqs_error(400, "RequestThrottled", "Rate exceeded")
}

pub fn sqs_no_such_queue() -> ResponseTemplate {
    sqs_error(
        400,
        "QueueDoesNotExist",
        "The specified queue does not exist.",
    )
}

pub fn ddb_error(status: u16, shape: &str, message: &str) -> ResponseTemplate {
    aws_error(Service::DynamoDb, status, shape, message)
}

/// ConditionalCheckFailedException as DynamoDB answers it with
/// `ReturnValuesOnConditionCheckFailure=ALL_OLD`: the stored item in `Item` (wire JSON).
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
pub fn ddb_condition_failed_with(item: Value) -> ResponseTemplate {
    let err = AwsError::new(
        "ConditionalCheckFailedException".to_owned(),
        "The conditional request failed",
    )
    .with_field("Item", item);
    let response = wire::errors::json_error(Service::DynamoDb, err, "scripted-request");
    ResponseTemplate::new(response.status().as_u16())
        .set_body_raw(response.body().to_vec(), Service::DynamoDb.content_type())
}

pub fn ddb_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", JSON_1_0)
        .set_body_json(json!({}))
}

/// The JSON bodies of the requests with this `X-Amz-Target` (and this `QueueUrl`, if given),
/// in arrival order.
pub async fn requests(server: &MockServer, target: &str, queue_url: Option<&str>) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.headers.get("x-amz-target").is_some_and(|v| v == target))
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|body| queue_url.is_none_or(|url| body["QueueUrl"] == url))
        .collect()
}

/// A SendMessage request's message attribute (its string value; "" when absent).
pub fn attribute<'a>(send: &'a Value, name: &str) -> &'a str {
    send["MessageAttributes"][name]["StringValue"]
        .as_str()
        .unwrap_or_default()
}

/// The envelope a SendMessage request carries, if its body is one.
pub fn sent_envelope(send: &Value) -> Option<pipeline::Envelope> {
    pipeline::Envelope::from_slice(send["MessageBody"].as_str()?.as_bytes()).ok()
}

/// Every message sent to `queue_url`, in order: a SendMessage's body, or each entry of a
/// SendMessageBatch as if sent alone (`QueueUrl`, `MessageBody`, `MessageAttributes`, and the
/// entry's `Id`), so a record's attempts count the same either way.
pub async fn sends_to(server: &MockServer, queue_url: &str) -> Vec<Value> {
    let mut sends = Vec::new();
    for (target, body) in sqs_sends(server, queue_url).await {
        if target == "AmazonSQS.SendMessageBatch" {
            for entry in body["Entries"].as_array().into_iter().flatten() {
                let mut one = entry.clone();
                one["QueueUrl"] = body["QueueUrl"].clone();
                sends.push(one);
            }
        } else {
            sends.push(body);
        }
    }
    sends
}

/// The SendMessageBatch calls to `queue_url`, in order: each call's `Entries`.
pub async fn batches_to(server: &MockServer, queue_url: &str) -> Vec<Vec<Value>> {
    sqs_sends(server, queue_url)
        .await
        .into_iter()
        .filter(|(target, _)| target == "AmazonSQS.SendMessageBatch")
        .map(|(_, body)| body["Entries"].as_array().cloned().unwrap_or_default())
        .collect()
}

async fn sqs_sends(server: &MockServer, queue_url: &str) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let target = r.headers.get("x-amz-target")?.to_str().ok()?.to_owned();
            let body = serde_json::from_slice::<Value>(&r.body).ok()?;
            (target.starts_with("AmazonSQS.SendMessage") && body["QueueUrl"] == queue_url)
                .then_some((target, body))
        })
        .collect()
}
