//! The ingest API with its real Kinesis transport against scripted Kinesis answers
//! (wiremock), and once over a real TCP socket with the seed's request byte for byte.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use emulator::wire::{JSON_1_1, Service};
use http_body_util::BodyExt;
use pipeline::config::SEED_API_KEY;
use pipeline::envelope::Envelope;
use pipeline::observe::MemoryObserver;
use pipeline::{IngestConfig, IngestState, app};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const SEED_BODY: &str = r#"{"stream": "default", "payload": { "energy_type": "nuclear" }}"#;

/// A Kinesis client whose own retries (standard mode, 3 attempts) wait almost nothing.
fn kinesis_client(server: &MockServer) -> aws_sdk_kinesis::Client {
    let conf = aws_sdk_kinesis::Config::builder()
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .http_client(pipeline::aws::https_client())
        .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(server.uri())
        .retry_config(
            aws_sdk_kinesis::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(2)),
        )
        .build();
    aws_sdk_kinesis::Client::from_conf(conf)
}

fn put_record() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(header("x-amz-target", "Kinesis_20131202.PutRecord"))
}

struct Accepts;

impl Respond for Accepts {
    fn respond(&self, _: &MockRequest) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("content-type", JSON_1_1)
            .set_body_json(json!({
                "ShardId": "shardId-000000000001",
                "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "EncryptionType": "NONE",
            }))
    }
}

fn kinesis_error(status: u16, shape: &str) -> ResponseTemplate {
    super::scripted::aws_error(Service::Kinesis, status, shape, "scripted")
}

fn router(server: &MockServer) -> (axum::Router, Arc<MemoryObserver>) {
    let config = IngestConfig::single("events");
    let observer = Arc::new(MemoryObserver::new());
    let state = IngestState::from_config(&kinesis_client(server), &config, observer.clone());
    (app(state, &config), observer)
}

async fn put_seed(router: &axum::Router) -> (StatusCode, Value, axum::http::HeaderMap) {
    let request = Request::builder()
        .method("PUT")
        .uri("/prod/stream")
        .header("content-type", "application/json")
        .header("x-api-key", SEED_API_KEY)
        .body(Body::from(SEED_BODY))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).expect("JSON body"),
        headers,
    )
}

async fn put_records(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

#[tokio::test]
async fn an_event_becomes_one_put_record_of_its_envelope_keyed_by_its_id() {
    let server = MockServer::start().await;
    put_record().respond_with(Accepts).mount(&server).await;
    let (router, observer) = router(&server);

    let (status, body, _) = put_seed(&router).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["shardId"], "shardId-000000000001");
    assert_eq!(
        body["sequenceNumber"],
        "49590338271490256608559692538361571095921575989136588898"
    );
    let sent = put_records(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["StreamName"], "events");
    assert_eq!(sent[0]["PartitionKey"], body["id"]);
    let data = BASE64
        .decode(sent[0]["Data"].as_str().expect("Data"))
        .expect("base64");
    let envelope = Envelope::from_slice(&data).expect("an envelope");
    assert_eq!(envelope.id, body["id"].as_str().expect("id"));
    assert_eq!(
        (envelope.stream.as_str(), &envelope.payload),
        ("default", &json!({"energy_type": "nuclear"}))
    );
    assert_eq!(observer.count("ingested"), 1);
}

#[tokio::test]
async fn kinesis_throttling_after_the_sdk_retries_answers_503_with_retry_after() {
    let server = MockServer::start().await;
    put_record()
        .respond_with(kinesis_error(400, "ProvisionedThroughputExceededException"))
        .mount(&server)
        .await;
    let (router, observer) = router(&server);

    let (status, body, headers) = put_seed(&router).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert!(body["message"].is_string());
    assert_eq!(
        put_records(&server).await.len(),
        3,
        "the SDK's standard retries ran"
    );
    assert_eq!(observer.count("ingested"), 0);
}

#[tokio::test]
async fn a_missing_kinesis_stream_is_a_bad_gateway_after_one_attempt() {
    let server = MockServer::start().await;
    put_record()
        .respond_with(kinesis_error(400, "ResourceNotFoundException"))
        .mount(&server)
        .await;
    let (router, _) = router(&server);

    let (status, body, _) = put_seed(&router).await;

    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(put_records(&server).await.len(), 1);
}

#[tokio::test]
async fn the_seed_request_works_over_a_real_socket() {
    let server = MockServer::start().await;
    put_record().respond_with(Accepts).mount(&server).await;
    let (router, _) = router(&server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serving = tokio::spawn(async move { axum::serve(listener, router).await });

    // What `curl -v -d '...' -H 'Content-Type: application/json' -H "x-api-key: ..."
    // -e localhost -X PUT 'http://localhost:3000/prod/stream'` writes on the wire.
    let request = format!(
        "PUT /prod/stream HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
         Referer: localhost\r\nContent-Type: application/json\r\n\
         x-api-key: d41d8cd98f00b204e9800998ecf8427e\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{SEED_BODY}",
        SEED_BODY.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    serving.abort();
    let _ = serving.await;

    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{response}"
    );
    let body: Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).expect("a body")).expect("JSON");
    assert_eq!(body["stream"], "default");
    assert!(
        body["id"].is_string() && body["shardId"].is_string() && body["sequenceNumber"].is_string()
    );
}

/// PutRecords: one result per record, in order; records whose partition key starts with
/// `hot` are refused with ProvisionedThroughputExceededException.
struct PutRecordsAnswers;

impl Respond for PutRecordsAnswers {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let records = body["Records"].as_array().cloned().unwrap_or_default();
        let mut failed = 0;
        let results: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if r["PartitionKey"].as_str().unwrap_or_default().starts_with("hot") {
                    failed += 1;
                    json!({
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": "Rate exceeded for shard shardId-000000000000"
                    })
                } else {
                    json!({"ShardId": "shardId-000000000000", "SequenceNumber": format!("{}", 1000 + i)})
                }
            })
            .collect();
        ResponseTemplate::new(200)
            .insert_header("content-type", JSON_1_1)
            .set_body_json(json!({"FailedRecordCount": failed, "Records": results}))
    }
}

fn batching(server: &MockServer) -> pipeline::transport::KinesisBatchTransport {
    pipeline::transport::KinesisBatchTransport::new(
        kinesis_client(server),
        "events",
        pipeline::PartitionKeySource::Id,
        4,
    )
}

fn event(id: &str) -> Envelope {
    Envelope::new(id, "default", chrono::Utc::now(), json!({"n": id}))
}

#[tokio::test]
async fn concurrent_events_share_one_put_records_request_and_each_gets_its_receipt() {
    use pipeline::Transport as _;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "Kinesis_20131202.PutRecords"))
        .respond_with(PutRecordsAnswers)
        .mount(&server)
        .await;
    let transport = batching(&server);
    let events: Vec<Envelope> = (0..20).map(|i| event(&format!("e-{i}"))).collect();

    // On this single-threaded runtime all 20 sends queue before the batching task runs.
    let receipts = futures::future::join_all(events.iter().map(|e| transport.send(e))).await;

    let sequence_numbers: Vec<String> = receipts
        .into_iter()
        .map(|r| r.expect("accepted").sequence_number)
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("{}", 1000 + i)).collect();
    assert_eq!(
        sequence_numbers, expected,
        "each caller gets its own record's answer"
    );
    let requests = put_records(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["Records"].as_array().map(Vec::len), Some(20));
    assert_eq!(requests[0]["StreamName"], "events");
    transport.close().await;
}

#[tokio::test]
async fn a_record_refused_inside_put_records_is_unavailable_for_its_caller_only() {
    use pipeline::Transport as _;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "Kinesis_20131202.PutRecords"))
        .respond_with(PutRecordsAnswers)
        .mount(&server)
        .await;
    let transport = batching(&server);
    let (cold, hot) = (event("cold-1"), event("hot-1"));

    let (cold_answer, hot_answer) = tokio::join!(transport.send(&cold), transport.send(&hot));

    assert!(cold_answer.is_ok(), "{cold_answer:?}");
    assert!(
        matches!(&hot_answer, Err(pipeline::TransportError::Unavailable { reason }) if reason.contains("ProvisionedThroughputExceeded")),
        "{hot_answer:?}"
    );
    transport.close().await;
}

#[tokio::test]
async fn a_batching_stream_serves_the_ingest_api() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "Kinesis_20131202.PutRecords"))
        .respond_with(PutRecordsAnswers)
        .mount(&server)
        .await;
    let mut config = IngestConfig::single("events");
    if let Some(stream) = config.streams.get_mut("default") {
        stream.batch = true;
    }
    let state = IngestState::from_config(
        &kinesis_client(&server),
        &config,
        Arc::new(MemoryObserver::new()),
    );
    let router = app(state, &config);

    let (status, body, _) = put_seed(&router).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sequenceNumber"], "1000");
}
