//! The ingest API through `app(..).oneshot(..)` with an in-memory transport: every status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::config::SEED_API_KEY;
use crate::observe::MemoryObserver;
use crate::transport::{Receipt, TransportError};

const SEED_BODY: &str = r#"{"stream": "default", "payload": { "energy_type": "nuclear" }}"#;

/// Records what it is given and answers as told.
struct FakeTransport {
    sent: Mutex<Vec<Envelope>>,
    answer: Answer,
}

enum Answer {
    Accept,
    Fail(TransportError),
    Hang,
}

#[async_trait]
impl Transport for FakeTransport {
    async fn send(&self, envelope: &Envelope) -> Result<Receipt, TransportError> {
        let n = {
            let mut sent = self.sent.lock().expect("not poisoned");
            sent.push(envelope.clone());
            sent.len()
        };
        match &self.answer {
            Answer::Accept => Ok(Receipt {
                shard_id: "shardId-000000000001".into(),
                sequence_number: format!("4959{n:052}"),
            }),
            Answer::Fail(err) => Err(err.clone()),
            Answer::Hang => std::future::pending().await,
        }
    }
}

struct Fixture {
    router: Router,
    transport: Arc<FakeTransport>,
    observer: Arc<MemoryObserver>,
}

fn fixture(answer: Answer) -> Fixture {
    fixture_with(answer, IngestConfig::single("events"))
}

fn fixture_with(answer: Answer, config: IngestConfig) -> Fixture {
    let transport = Arc::new(FakeTransport {
        sent: Mutex::default(),
        answer,
    });
    let observer = Arc::new(MemoryObserver::new());
    let transports: HashMap<String, Arc<dyn Transport>> = HashMap::from([(
        "default".to_owned(),
        transport.clone() as Arc<dyn Transport>,
    )]);
    let clock_at = Utc
        .with_ymd_and_hms(2026, 11, 25, 22, 43, 51)
        .single()
        .expect("valid");
    let state = IngestState::new(transports, config.api_keys.clone(), observer.clone())
        .with_clock(Arc::new(move || clock_at));
    Fixture {
        router: app(state, &config),
        transport,
        observer,
    }
}

fn put() -> axum::http::request::Builder {
    Request::builder()
        .method(Method::PUT)
        .uri("/prod/stream")
        .header("content-type", "application/json")
        .header("x-api-key", SEED_API_KEY)
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{status}: body is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, body)
}

async fn send(f: &Fixture, body: &str) -> (StatusCode, HeaderMap, Value) {
    call(
        &f.router,
        put().body(Body::from(body.to_owned())).expect("request"),
    )
    .await
}

#[tokio::test]
async fn the_seed_request_is_accepted_after_the_stream_acknowledged_it() {
    let f = fixture(Answer::Accept);
    // The seed's curl, header for header (`-e localhost` sets a Referer).
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/prod/stream")
        .header("content-type", "application/json")
        .header("x-api-key", "d41d8cd98f00b204e9800998ecf8427e")
        .header("referer", "localhost")
        .body(Body::from(SEED_BODY))
        .expect("request");
    let (status, _, body) = call(&f.router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_str().expect("id");
    let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 7);
    assert_eq!(body["stream"], "default");
    assert_eq!(body["shardId"], "shardId-000000000001");
    assert_eq!(body["sequenceNumber"], format!("4959{:052}", 1));

    let sent = f.transport.sent.lock().expect("not poisoned").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, id);
    assert_eq!(sent[0].payload, json!({"energy_type": "nuclear"}));
    assert_eq!(sent[0].received_at_text(), "2026-11-25T22:43:51.000Z");
    assert_eq!(f.observer.count("ingested"), 1);
}

#[tokio::test]
async fn each_request_gets_its_own_generated_id() {
    let f = fixture(Answer::Accept);
    let (_, _, a) = send(&f, SEED_BODY).await;
    let (_, _, b) = send(&f, SEED_BODY).await;
    assert_ne!(a["id"], b["id"]);
}

#[tokio::test]
async fn a_missing_api_key_is_forbidden() {
    let f = fixture(Answer::Accept);
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/prod/stream")
        .body(Body::from(SEED_BODY))
        .expect("request");
    let (status, headers, body) = call(&f.router, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, json!({"message": "Forbidden"}));
    assert_eq!(headers["x-amzn-errortype"], "ForbiddenException");
    assert!(f.transport.sent.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_forbidden_even_with_a_valid_prefix() {
    let f = fixture(Answer::Accept);
    for key in ["nope", &SEED_API_KEY[..31], &format!("{SEED_API_KEY}0"), ""] {
        let request = Request::builder()
            .method(Method::PUT)
            .uri("/prod/stream")
            .header("x-api-key", key)
            .body(Body::from(SEED_BODY))
            .expect("request");
        let (status, _, body) = call(&f.router, request).await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, json!({"message": "Forbidden"})),
            "key {key:?}"
        );
    }
}

#[tokio::test]
async fn any_configured_key_is_accepted() {
    let config = IngestConfig {
        api_keys: ApiKeys::Local(vec![
            "first-key-0123456789".into(),
            "second-key-0123456789".into(),
        ]),
        ..IngestConfig::single("events")
    };
    let f = fixture_with(Answer::Accept, config);
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/prod/stream")
        .header("x-api-key", "second-key-0123456789")
        .body(Body::from(SEED_BODY))
        .expect("request");
    assert_eq!(call(&f.router, request).await.0, StatusCode::OK);
}

async fn assert_bad_request(body: &str, needle: &str) {
    let f = fixture(Answer::Accept);
    let (status, _, answer) = send(&f, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    let message = answer["message"].as_str().expect("message");
    assert!(
        message.contains(needle),
        "{body}: `{message}` does not name `{needle}`"
    );
    assert!(f.transport.sent.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn invalid_json_is_a_bad_request() {
    assert_bad_request(r#"{"stream": "default", "payload": "#, "not valid JSON").await;
    assert_bad_request("", "not valid JSON").await;
    assert_bad_request(r#"["default"]"#, "JSON object").await;
}

#[tokio::test]
async fn a_missing_stream_is_a_bad_request() {
    assert_bad_request(r#"{"payload": {}}"#, "`stream`").await;
    assert_bad_request(
        r#"{"stream": 7, "payload": {}}"#,
        "`stream` must be a string",
    )
    .await;
}

#[tokio::test]
async fn a_missing_payload_is_a_bad_request() {
    assert_bad_request(r#"{"stream": "default"}"#, "`payload`").await;
    assert_bad_request(r#"{"stream": "default", "payload": null}"#, "`payload`").await;
}

#[tokio::test]
async fn an_unknown_stream_is_a_bad_request_naming_it() {
    assert_bad_request(
        r#"{"stream": "clicks", "payload": {}}"#,
        "Unknown stream `clicks`",
    )
    .await;
}

#[tokio::test]
async fn a_body_id_becomes_the_event_id() {
    let f = fixture(Answer::Accept);
    let (status, _, body) = send(&f, r#"{"stream": "default", "id": "e-1", "payload": 1}"#).await;
    assert_eq!((status, body["id"].clone()), (StatusCode::OK, json!("e-1")));
    assert_eq!(f.transport.sent.lock().expect("not poisoned")[0].id, "e-1");
}

fn with_key_header(id: &str, body: &str) -> Request<Body> {
    put()
        .header("idempotency-key", id)
        .body(Body::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn an_idempotency_key_header_becomes_the_event_id() {
    let f = fixture(Answer::Accept);
    let (status, _, body) = call(&f.router, with_key_header("k-9", SEED_BODY)).await;
    assert_eq!((status, body["id"].clone()), (StatusCode::OK, json!("k-9")));
}

#[tokio::test]
async fn a_body_id_and_header_may_agree_but_not_differ() {
    let f = fixture(Answer::Accept);
    let same = r#"{"stream": "default", "id": "k-1", "payload": {}}"#;
    let (status, _, body) = call(&f.router, with_key_header("k-1", same)).await;
    assert_eq!((status, body["id"].clone()), (StatusCode::OK, json!("k-1")));

    let (status, _, body) = call(&f.router, with_key_header("k-2", same)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("Idempotency-Key"),
        "{body}"
    );
}

#[tokio::test]
async fn ids_must_be_non_empty_bounded_strings() {
    assert_bad_request(
        r#"{"stream": "default", "id": "", "payload": {}}"#,
        "`id` must not be empty",
    )
    .await;
    assert_bad_request(
        r#"{"stream": "default", "id": 5, "payload": {}}"#,
        "`id` must be a string",
    )
    .await;
    let long = format!(
        r#"{{"stream": "default", "id": "{}", "payload": {{}}}}"#,
        "x".repeat(257)
    );
    assert_bad_request(&long, "over the limit of 256").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_too_large() {
    let config = IngestConfig {
        max_body_bytes: 64,
        ..IngestConfig::single("events")
    };
    let f = fixture_with(Answer::Accept, config);
    let big = format!(
        r#"{{"stream": "default", "payload": "{}"}}"#,
        "x".repeat(100)
    );
    let request = put()
        .header("content-length", big.len())
        .body(Body::from(big.clone()))
        .expect("request");
    let (status, _, body) = call(&f.router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"message": "Request Too Long"}));

    // Without a Content-Length the limit still holds while the body streams in.
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from(big))]);
    let request = put().body(Body::from_stream(stream)).expect("request");
    let (status, _, body) = call(&f.router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(f.transport.sent.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn an_event_over_the_pipeline_limit_is_too_large() {
    let f = fixture(Answer::Accept);
    let limit = crate::config::MAX_EVENT_BYTES;
    let body = |n: usize| {
        format!(
            r#"{{"stream": "default", "id": "e", "payload": "{}"}}"#,
            "x".repeat(n)
        )
    };
    // The envelope adds its id, stream and time to the payload: find the largest that fits.
    let overhead = Envelope::new("e", "default", Utc::now(), json!(""))
        .to_sqs_body()
        .len();
    let (status, _, answer) = send(&f, &body(limit - overhead)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _, answer) = send(&f, &body(limit - overhead + 1)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains(&limit.to_string()),
        "{answer}"
    );
    assert_eq!(f.transport.sent.lock().expect("not poisoned").len(), 1);
}

#[tokio::test]
async fn a_payload_dynamodb_cannot_store_is_a_bad_request() {
    assert_bad_request(
        r#"{"stream": "default", "payload": {"x": 1e300}}"#,
        "number range",
    )
    .await;
    assert_bad_request(
        r#"{"stream": "default", "payload": {"": 1}}"#,
        "empty object key",
    )
    .await;
}

#[tokio::test]
async fn a_record_the_stream_cannot_hold_is_too_large() {
    let f = fixture(Answer::Fail(TransportError::TooLarge {
        size: 2_000_000,
        limit: 1_048_576,
    }));
    let (status, _, body) = send(&f, SEED_BODY).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("1048576"),
        "{body}"
    );
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let f = fixture(Answer::Accept);
    for method in [Method::GET, Method::POST, Method::DELETE, Method::PATCH] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/prod/stream")
            .header("x-api-key", SEED_API_KEY)
            .body(Body::from(SEED_BODY))
            .expect("request");
        let (status, headers, _) = call(&f.router, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers["allow"], "PUT");
    }
}

#[tokio::test]
async fn other_paths_answer_missing_authentication_token() {
    let f = fixture(Answer::Accept);
    for path in [
        "/stream",
        "/dev/stream",
        "/prod/streams",
        "/prod/stream/x",
        "/",
    ] {
        let request = Request::builder()
            .method(Method::PUT)
            .uri(path)
            .header("x-api-key", SEED_API_KEY)
            .body(Body::from(SEED_BODY))
            .expect("request");
        let (status, headers, body) = call(&f.router, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body, json!({"message": "Missing Authentication Token"}));
        assert_eq!(
            headers["x-amzn-errortype"],
            "MissingAuthenticationTokenException"
        );
    }
}

#[tokio::test]
async fn an_unavailable_stream_answers_503_with_retry_after() {
    let f = fixture(Answer::Fail(TransportError::Unavailable {
        reason: "ProvisionedThroughputExceededException".into(),
    }));
    let (status, headers, body) = send(&f, SEED_BODY).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        headers["retry-after"],
        RETRY_AFTER_SECS.to_string().as_str()
    );
    assert!(
        body["message"].as_str().expect("message").contains("retry"),
        "{body}"
    );
    assert_eq!(f.observer.count("ingested"), 0);
}

#[tokio::test]
async fn a_stream_refusing_for_good_is_a_bad_gateway_not_a_500() {
    let f = fixture(Answer::Fail(TransportError::Failed {
        reason: "ResourceNotFoundException".into(),
    }));
    let (status, _, body) = send(&f, SEED_BODY).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["message"].is_string());
}

#[tokio::test(start_paused = true)]
async fn a_request_over_the_timeout_gets_504() {
    let config = IngestConfig {
        request_timeout: Duration::from_secs(2),
        ..IngestConfig::single("events")
    };
    let f = fixture_with(Answer::Hang, config);
    let (status, _, body) = send(&f, SEED_BODY).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, json!({"message": "Endpoint request timed out"}));
}

#[tokio::test]
async fn a_configured_stage_moves_the_route() {
    let config = IngestConfig {
        stage: "dev".into(),
        ..IngestConfig::single("events")
    };
    let f = fixture_with(Answer::Accept, config);
    let request = put()
        .uri("/dev/stream")
        .body(Body::from(SEED_BODY))
        .expect("request");
    assert_eq!(call(&f.router, request).await.0, StatusCode::OK);
    assert_eq!(
        send(&f, SEED_BODY).await.0,
        StatusCode::FORBIDDEN,
        "/prod is gone"
    );
}
