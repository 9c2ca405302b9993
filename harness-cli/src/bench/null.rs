//! The null server: answers each benchmarked operation with the smallest response the official
//! SDK accepts, doing no other work, so the benchmark can report the emulator's rate as a
//! fraction of what the SDK client itself can reach on this machine.
//!
//! One pure function ([`respond`]) serves both edges: an axum server on a loopback socket (the
//! same HTTP stack as the emulator's, so the ratio isolates the emulator's own work) and an
//! in-process SDK `HttpClient` ([`NullInProcessClient`]) for the no-socket ceiling.

use std::net::SocketAddr;
use std::sync::LazyLock;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The body of the one message every `ReceiveMessage` answer carries.
const RECEIVED_BODY: &str = "null-server message";

use emulator::AwsError;
use emulator::wire::{JSON_1_0, JSON_1_1, Service, errors};

static PUT_RECORD: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from_static(
        br#"{"ShardId":"shardId-000000000000","SequenceNumber":"49590338271490256608559692538361571095921575989136588898"}"#,
    )
});

static RECEIVE_MESSAGE: LazyLock<Bytes> = LazyLock::new(|| {
    let body = serde_json::json!({
        "Messages": [{
            "MessageId": "00000000-0000-4000-8000-000000000000",
            "ReceiptHandle": "null-receipt-handle",
            "MD5OfBody": md5_hex(RECEIVED_BODY.as_bytes()),
            "Body": RECEIVED_BODY,
        }]
    });
    Bytes::from(body.to_string())
});

/// The null answer to one AWS API request, from its `X-Amz-Target` and body.
pub fn respond(headers: &HeaderMap, body: &[u8]) -> Response<Bytes> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match target {
        "Kinesis_20131202.PutRecord" => ok(JSON_1_1, PUT_RECORD.clone()),
        "AmazonSQS.SendMessage" => send_message(body),
        "AmazonSQS.ReceiveMessage" => ok(JSON_1_0, RECEIVE_MESSAGE.clone()),
        "AmazonSQS.DeleteMessage" | "DynamoDB_20120810.PutItem" => {
            ok(JSON_1_0, Bytes::from_static(b"{}"))
        }
        other => error(
            Service::from_target(other).map_or(Service::Sqs, |(service, _)| service),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("the null server does not answer X-Amz-Target {other:?}"),
        ),
    }
}

/// SendMessage must echo the MD5 of the body it was sent: the SDK may check it.
fn send_message(body: &[u8]) -> Response<Bytes> {
    #[derive(serde::Deserialize)]
    struct SendMessage<'a> {
        #[serde(rename = "MessageBody", borrow)]
        message_body: std::borrow::Cow<'a, str>,
    }
    match serde_json::from_slice::<SendMessage>(body) {
        Ok(input) => {
            let answer = format!(
                r#"{{"MessageId":"00000000-0000-4000-8000-000000000001","MD5OfMessageBody":"{}"}}"#,
                md5_hex(input.message_body.as_bytes())
            );
            ok(JSON_1_0, Bytes::from(answer))
        }
        Err(err) => error(
            Service::Sqs,
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            &format!("SendMessage needs a MessageBody: {err}"),
        ),
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Md5::digest(bytes)
        .iter()
        .fold(String::with_capacity(32), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn ok(content_type: &'static str, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        content_type.parse().expect("static"),
    );
    response
}

/// An error as the emulator encodes it for `service`.
fn error(
    service: Service,
    status: StatusCode,
    code: &'static str,
    message: &str,
) -> Response<Bytes> {
    let err = AwsError::new(code, message).with_status(status.as_u16());
    errors::json_error(service, err, "00000000-0000-4000-8000-000000000000")
}

/// The null server running on a socket; dropping it stops the server.
pub struct NullServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    _task: JoinHandle<std::io::Result<()>>,
}

impl NullServer {
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for NullServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` (port 0 for an ephemeral port) and serves the null answers in the background.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<NullServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(|request: axum::extract::Request| async move {
        let (parts, body) = request.into_parts();
        match body.collect().await {
            Ok(body) => respond(&parts.headers, &body.to_bytes()).map(Body::from),
            Err(err) => error(
                Service::Sqs,
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &err.to_string(),
            )
            .map(Body::from),
        }
    });
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(NullServer {
        addr,
        shutdown: Some(tx),
        _task: task,
    })
}

/// An SDK `HttpClient` that answers with [`respond`], with no socket.
#[derive(Debug, Clone, Default)]
pub struct NullInProcessClient;

impl HttpClient for NullInProcessClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for NullInProcessClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // Read to its end, as every server does (the null HTTP server too, and the
            // emulator's in-process client): the SDK's stalled-stream protection watches the
            // upload, so skipping the read would leave out work a correct server causes.
            let bytes = body.collect().await.map_err(ConnectorError::io)?.to_bytes();
            let response = respond(&parts.headers, &bytes);
            HttpResponse::try_from(response.map(SdkBody::from))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(target: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", target.parse().unwrap());
        headers
    }

    fn json(response: &Response<Bytes>) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn send_message_echoes_the_md5_of_the_body_it_was_sent() {
        let response = respond(
            &headers("AmazonSQS.SendMessage"),
            br#"{"QueueUrl":"q","MessageBody":"hello"}"#,
        );
        assert_eq!(response.status(), StatusCode::OK);
        // md5("hello"), as `echo -n hello | md5sum` prints it.
        assert_eq!(
            json(&response)["MD5OfMessageBody"],
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    #[test]
    fn receive_message_carries_one_message_with_the_md5_of_its_body() {
        let response = respond(&headers("AmazonSQS.ReceiveMessage"), b"{}");
        let value = json(&response);
        let message = &value["Messages"][0];
        assert_eq!(message["Body"], RECEIVED_BODY);
        assert_eq!(message["MD5OfBody"], md5_hex(RECEIVED_BODY.as_bytes()));
        assert_eq!(value["Messages"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn kinesis_answers_in_json_1_1_with_shard_and_sequence_number() {
        let response = respond(&headers("Kinesis_20131202.PutRecord"), b"{}");
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], JSON_1_1);
        let value = json(&response);
        assert_eq!(value["ShardId"], "shardId-000000000000");
        assert!(value["SequenceNumber"].is_string());
    }

    #[test]
    fn an_operation_it_does_not_know_is_a_named_client_error() {
        let response = respond(&headers("DynamoDB_20120810.Scan"), b"{}");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let value = json(&response);
        assert_eq!(
            errors::error_code(None, None, response.body()).as_deref(),
            Some("UnknownOperationException")
        );
        assert!(value["message"].as_str().unwrap().contains("Scan"));
    }

    #[test]
    fn send_message_without_a_body_is_a_client_error_not_a_panic() {
        let response = respond(&headers("AmazonSQS.SendMessage"), b"not json");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
