//! SQS over its awsQuery protocol, as raw HTTP: `Action=<Op>&Version=2012-11-05` form
//! parameters over POST or GET (the queue URL may be the path), XML answers and XML errors;
//! and a third-party client speaking it (boto3 with a botocore whose SQS model is still
//! `"protocol": "query"`).
//!
//! Sources: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html
//! (request and response structure), https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
//! and the last awsQuery service model (botocore 1.30, `botocore/data/sqs/2012-11-05/service-2.json`:
//! flattened members, result wrappers, error codes).

use super::raw::{self, Answer};
use crate::support::{Env, unique};

crate::on_both_edges!(
    query_create_queue_answers_xml_with_the_queue_url_and_request_id,
    query_errors_are_xml_with_type_and_query_code,
    query_get_addresses_the_queue_by_its_url_path,
    query_batches_and_message_attributes_use_flattened_members,
    query_queue_attributes_and_tags_round_trip,
);

fn form(params: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    out.append_pair("Version", "2012-11-05");
    for (k, v) in params {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A query request: `POST path` with a form body, or `GET path?query`.
async fn call(env: &Env, method: &str, path: &str, params: &[(&str, &str)]) -> Answer {
    let params = form(params);
    let (uri, body) = match method {
        "GET" => (format!("{path}?{params}"), String::new()),
        _ => (path.to_owned(), params),
    };
    raw::request(
        env,
        method,
        &uri,
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
    .await
}

async fn create(env: &Env, extra: &[(&str, &str)]) -> (String, String) {
    let name = unique("query");
    let mut params = vec![("Action", "CreateQueue"), ("QueueName", name.as_str())];
    params.extend_from_slice(extra);
    let answer = call(env, "POST", "/", &params).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    (name, answer.one("QueueUrl"))
}

/// The path of a queue URL (`/<account>/<name>`).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
}

async fn query_create_queue_answers_xml_with_the_queue_url_and_request_id(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let name = unique("query");
    let answer = call(
        env,
        "POST",
        "/",
        &[("Action", "CreateQueue"), ("QueueName", &name)],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .body
            .contains("<CreateQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("<CreateQueueResult><QueueUrl>"),
        "{}",
        answer.body
    );
    assert!(answer.one("QueueUrl").ends_with(&format!("/{name}")));
    assert!(!answer.one("RequestId").is_empty());
    assert!(answer.body.contains("<ResponseMetadata><RequestId>"));

    // An operation without output has no Result element.
    let deleted = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "DeleteQueue"),
            ("QueueUrl", &answer.one("QueueUrl")),
        ],
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(
        deleted.body.contains("<DeleteQueueResponse"),
        "{}",
        deleted.body
    );
    assert!(
        !deleted.body.contains("DeleteQueueResult"),
        "{}",
        deleted.body
    );
}

async fn query_errors_are_xml_with_type_and_query_code(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let answer = call(
        env,
        "POST",
        "/",
        &[("Action", "GetQueueUrl"), ("QueueName", &unique("missing"))],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("<ErrorResponse"), "{}", answer.body);
    assert_eq!(answer.one("Type"), "Sender");
    assert_eq!(
        answer.one("Code"),
        "AWS.SimpleQueueService.NonExistentQueue"
    );
    assert!(
        answer.one("Message").contains("does not exist"),
        "{}",
        answer.body
    );
    assert!(!answer.one("RequestId").is_empty());

    let (_, url) = create(env, &[]).await;
    let answer = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
            ("DelaySeconds", "901"),
        ],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.one("Code"), "InvalidParameterValue");
}

async fn query_get_addresses_the_queue_by_its_url_path(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let (_, url) = create(env, &[]).await;
    let path = path_of(&url);
    let body = "hello <query> & \"get\"";
    let sent = call(
        env,
        "GET",
        &path,
        &[("Action", "SendMessage"), ("MessageBody", body)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(
        sent.one("MD5OfMessageBody"),
        super::md5_hex(body.as_bytes())
    );
    let received = call(
        env,
        "GET",
        &path,
        &[("Action", "ReceiveMessage"), ("WaitTimeSeconds", "1")],
    )
    .await;
    assert_eq!(received.status, 200, "{}", received.body);
    assert_eq!(received.one("Body"), body);
    assert_eq!(received.one("MessageId"), sent.one("MessageId"));
    assert!(
        received.body.contains("<ReceiveMessageResult><Message>"),
        "{}",
        received.body
    );
}

async fn query_batches_and_message_attributes_use_flattened_members(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let (_, url) = create(env, &[]).await;
    let sent = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "first"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "colour",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                "blue",
            ),
            ("SendMessageBatchRequestEntry.2.Id", "late"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "x"),
            ("SendMessageBatchRequestEntry.2.DelaySeconds", "901"),
        ],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains("<SendMessageBatchResultEntry>"),
        "{}",
        sent.body
    );
    assert!(
        sent.body.contains("<BatchResultErrorEntry>"),
        "{}",
        sent.body
    );
    let mut ids = sent.all("Id");
    ids.sort();
    assert_eq!(ids, ["a", "late"]);
    assert_eq!(sent.one("SenderFault"), "true");
    assert_eq!(sent.one("Code"), "InvalidParameterValue");

    let received = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("AttributeName.1", "All"),
            ("MessageAttributeName.1", "All"),
            ("WaitTimeSeconds", "1"),
        ],
    )
    .await;
    assert_eq!(received.status, 200, "{}", received.body);
    assert!(
        received.body.contains(
            "<MessageAttribute><Name>colour</Name><Value><DataType>String</DataType>\
             <StringValue>blue</StringValue></Value></MessageAttribute>"
        ),
        "{}",
        received.body
    );
    assert!(
        received.body.contains(
            "<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"
        ),
        "{}",
        received.body
    );
    let handle = received.one("ReceiptHandle");
    let deleted = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "d1"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", &handle),
        ],
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.all("DeleteMessageBatchResultEntry"),
        ["<Id>d1</Id>"]
    );
    assert!(
        !deleted.body.contains("BatchResultErrorEntry"),
        "{}",
        deleted.body
    );
}

async fn query_queue_attributes_and_tags_round_trip(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let (_, url) = create(
        env,
        &[
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "45"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "ingest"),
        ],
    )
    .await;
    let attributes = call(
        env,
        "POST",
        "/",
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &url),
            ("AttributeName.1", "VisibilityTimeout"),
        ],
    )
    .await;
    assert_eq!(attributes.status, 200, "{}", attributes.body);
    assert!(
        attributes.body.contains(
            "<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name>\
             <Value>45</Value></Attribute></GetQueueAttributesResult>"
        ),
        "{}",
        attributes.body
    );
    let tags = call(
        env,
        "POST",
        "/",
        &[("Action", "ListQueueTags"), ("QueueUrl", &url)],
    )
    .await;
    assert_eq!(tags.status, 200, "{}", tags.body);
    assert!(
        tags.body
            .contains("<Tag><Key>team</Key><Value>ingest</Value></Tag>"),
        "{}",
        tags.body
    );
}

/// boto3 with botocore < 1.31 (the last releases whose SQS model is awsQuery) runs
/// `tests/clients/sqs_query.py` against a fresh emulator on a loopback port. The interpreter
/// is `SQS_QUERY_PYTHON` (a venv with `pip install "boto3<1.28" "botocore<1.31"`).
#[tokio::test]
async fn sqs_query_client() {
    crate::require!(EmulatorInternals);
    let Some(python) = std::env::var_os("SQS_QUERY_PYTHON") else {
        crate::support::skipped(
            &crate::test_name!(),
            "SQS_QUERY_PYTHON is not set (a Python with boto3<1.28, botocore<1.31)",
        );
        return;
    };
    let env = Env::start(crate::support::Edge::Http).await;
    let url = env.endpoint_url().expect("an HTTP endpoint");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/sqs_query.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&url)
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {python:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the query client failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("OK: every SQS operation over query"),
        "{stdout}"
    );
}
