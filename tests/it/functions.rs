//! The deployed ingest function in process: API Gateway's REST proxy event for `PUT /stream`
//! on stage `prod` (`fixtures/lambda/apigw-rest-put-stream.json`, the shape API Gateway sends
//! a Lambda proxy integration) through `functions::ingest::handler`, the value the `ingest`
//! binary hands the Lambda runtime, against the embedded emulator. Every answer is compared
//! with the local router's (`harness up`) to the same HTTP request: the deployed app answers
//! with exactly the local statuses and bodies.

use std::collections::BTreeMap;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use pipeline::config::SEED_API_KEY;
use pipeline::{ApiKeys, IngestConfig};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

use crate::support::{Edge, Env, unique};

const EVENT: &str = include_str!("../../fixtures/lambda/apigw-rest-put-stream.json");

/// One answer, reduced to what a client sees: status, content type, JSON body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Value,
}

struct Ingest {
    _env: Env,
    /// `IngestFunction`: configured by `IngestConfig::from_env` (API Gateway checks the key).
    deployed: axum::Router,
    /// `harness up`'s app: the same settings, the key checked by the app.
    local: axum::Router,
}

impl Ingest {
    async fn start() -> Ingest {
        let env = Env::start(Edge::InProcess).await;
        let stream = unique("ingest-fn");
        env.kinesis()
            .create_stream()
            .stream_name(&stream)
            .shard_count(2)
            .send()
            .await
            .unwrap();
        let function_env = BTreeMap::from([("STREAMS".to_owned(), format!("default={stream}"))]);
        let config = IngestConfig::from_env(&function_env).unwrap();
        assert_eq!(config.api_keys, ApiKeys::Upstream);
        let mut local_config = config.clone();
        local_config.api_keys = ApiKeys::Local(vec![SEED_API_KEY.to_owned()]);
        Ingest {
            deployed: functions::ingest::router(&env.kinesis(), &config),
            local: functions::ingest::router(&env.kinesis(), &local_config),
            _env: env,
        }
    }

    /// The event through lambda_http and the router, answered as the proxy response JSON
    /// Lambda returns to API Gateway.
    async fn deployed(&self, event: &Value) -> Answer {
        let request: LambdaRequest = serde_json::from_value(event.clone()).unwrap();
        let mut handler = functions::ingest::handler(self.deployed.clone());
        let response = handler
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
        let response = serde_json::to_value(response).unwrap();
        assert_eq!(response["isBase64Encoded"], json!(false), "{response}");
        let header = |name: &str| {
            response["multiValueHeaders"][name][0]
                .as_str()
                .map(str::to_owned)
        };
        Answer {
            status: u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap(),
            content_type: header("content-type"),
            body: serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap(),
        }
    }

    /// The same request as plain HTTP to the local router: the client's method, the full path
    /// (`requestContext.path`: stage included), headers and body.
    async fn local(&self, event: &Value) -> Answer {
        let mut request = http::Request::builder()
            .method(event["httpMethod"].as_str().unwrap())
            .uri(event["requestContext"]["path"].as_str().unwrap());
        for (name, value) in event["headers"].as_object().unwrap() {
            request = request.header(name, value.as_str().unwrap());
        }
        let body = match (&event["body"], &event["isBase64Encoded"]) {
            (Value::String(b), Value::Bool(true)) => BASE64.decode(b).unwrap(),
            (Value::String(b), _) => b.clone().into_bytes(),
            _ => Vec::new(),
        };
        let response = self
            .local
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            content_type,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// Both answers to `event`, asserted equal (the 200's shard and sequence number aside).
    async fn both(&self, event: &Value) -> Answer {
        let deployed = self.deployed(event).await;
        let local = self.local(event).await;
        let comparable = |a: &Answer| {
            let mut body = a.body.clone();
            if a.status == 200 {
                body["sequenceNumber"] = json!("[seq]");
                body["shardId"] = json!("[shard]");
                if event["body"]
                    .as_str()
                    .is_some_and(|b| !b.contains("\"id\""))
                    && event["headers"].get("Idempotency-Key").is_none()
                {
                    body["id"] = json!("[generated]");
                }
            }
            (a.status, a.content_type.clone(), body)
        };
        assert_eq!(comparable(&deployed), comparable(&local), "{event}");
        deployed
    }
}

fn event() -> Value {
    serde_json::from_str(EVENT).unwrap()
}

fn with_body(body: &str) -> Value {
    let mut e = event();
    e["body"] = json!(body);
    e
}

#[tokio::test]
async fn the_seeds_request_through_api_gateway_is_accepted_as_locally() {
    crate::require!(InProcessEdge); // The deployed app against the emulator, in process.
    let ingest = Ingest::start().await;
    let answer = ingest.both(&event()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.body["stream"], "default");
    assert!(
        answer.body["shardId"]
            .as_str()
            .unwrap()
            .starts_with("shardId-")
    );
    assert!(answer.body["sequenceNumber"].as_str().unwrap().len() > 20);
    assert_eq!(
        uuid::Uuid::parse_str(answer.body["id"].as_str().unwrap())
            .unwrap()
            .get_version_num(),
        7
    );
}

#[tokio::test]
async fn lambda_http_puts_the_stage_in_front_of_api_gateways_resource_path() {
    crate::require!(InProcessEdge); // The deployed app against the emulator, in process.
    let ingest = Ingest::start().await;
    // As API Gateway sends it: `path` without the stage, the stage in the request context.
    assert_eq!(event()["path"], "/stream");
    assert_eq!(ingest.deployed(&event()).await.status, 200);
    // A path that already carries the stage (a custom domain's mapping) is not doubled.
    let mut e = event();
    e["path"] = json!("/prod/stream");
    assert_eq!(ingest.deployed(&e).await.status, 200);
    // Another stage is another path: API Gateway's own 403, locally as deployed.
    let mut e = event();
    e["requestContext"]["stage"] = json!("dev");
    e["requestContext"]["path"] = json!("/dev/stream");
    let answer = ingest.both(&e).await;
    assert_eq!(
        (answer.status, answer.body),
        (403, json!({"message": "Missing Authentication Token"}))
    );
}

#[tokio::test]
async fn bad_requests_get_the_local_statuses_and_bodies() {
    crate::require!(InProcessEdge); // The deployed app against the emulator, in process.
    let ingest = Ingest::start().await;
    let cases = [
        (with_body("{"), 400),
        (with_body(r#"{"stream": "default"}"#), 400),
        (with_body(r#"{"payload": {}}"#), 400),
        (with_body(r#"{"stream": "clicks", "payload": {}}"#), 400),
        (
            with_body(&json!({"stream": "default", "payload": "x".repeat(300 * 1024)}).to_string()),
            413,
        ),
    ];
    for (event, status) in cases {
        let answer = ingest.both(&event).await;
        assert_eq!(answer.status, status, "{answer:?}");
        assert!(answer.body["message"].is_string(), "{answer:?}");
    }
    let mut get = event();
    get["httpMethod"] = json!("GET");
    assert_eq!(ingest.both(&get).await.status, 405);
}

#[tokio::test]
async fn client_ids_base64_bodies_and_idempotency_keys_arrive_as_locally() {
    crate::require!(InProcessEdge); // The deployed app against the emulator, in process.
    let ingest = Ingest::start().await;
    let answer = ingest
        .both(&with_body(
            r#"{"stream": "default", "id": "e-1", "payload": {"energy_type": "nuclear"}}"#,
        ))
        .await;
    assert_eq!(
        (answer.status, answer.body["id"].as_str()),
        (200, Some("e-1"))
    );

    let mut e = event();
    e["body"] = json!(BASE64.encode(e["body"].as_str().unwrap()));
    e["isBase64Encoded"] = json!(true);
    assert_eq!(ingest.both(&e).await.status, 200);

    let mut e = event();
    e["headers"]["Idempotency-Key"] = json!("key-7");
    e["multiValueHeaders"]["Idempotency-Key"] = json!(["key-7"]);
    let answer = ingest.both(&e).await;
    assert_eq!(
        (answer.status, answer.body["id"].as_str()),
        (200, Some("key-7"))
    );
}
