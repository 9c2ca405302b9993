//! Protocol-level behaviour shared by all services: dispatch, unknown operations, health.

use crate::support::{Edge, Env};

#[tokio::test]
async fn health_endpoint_lists_the_services_once_ready() {
    // Routed through support: /_emulator/health is the emulator's own (skips elsewhere).
    crate::require!(EmulatorInternals);
    let env = Env::start(Edge::Http).await;
    let url = env
        .endpoint_url()
        .expect("the embedded emulator over HTTP has a URL");
    let body = reqwest_get(&format!("{url}/_emulator/health")).await;
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ready");
    for service in ["kinesis", "sqs", "dynamodb"] {
        assert_eq!(health["services"][service], "running", "{health}");
    }
}

/// A bare HTTP/1.1 GET over a TCP socket, so the test needs no extra HTTP client crate.
async fn reqwest_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

#[tokio::test]
async fn an_unknown_operation_is_named_in_the_error() {
    // Routed through support: calls the emulator's router directly (skips elsewhere).
    crate::require!(EmulatorInternals);
    let env = Env::start(Edge::InProcess).await;
    let emulator = env
        .emulator()
        .expect("the embedded backend has an emulator");
    let request = http::Request::post("/")
        .header("x-amz-target", "Kinesis_20131202.FlyToTheMoon")
        .header("content-type", "application/x-amz-json-1.1")
        .body(bytes::Bytes::from_static(b"{}"))
        .unwrap();
    let response = emulator.handle(request).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
    assert!(
        body["message"].as_str().unwrap().contains("FlyToTheMoon"),
        "{body}"
    );
}
