//! The in-process edge: an AWS SDK `HttpClient` that hands each request straight to an
//! [`Emulator`], with the same HTTP request and codec as over a socket but no socket.
//!
//! Because nothing leaves the process, SDK clients built on it run under tokio's paused clock
//! (a 30 s visibility timeout or SDK backoff then costs no wall time) and calls are cheaper.
//!
//! ```ignore
//! let conf = aws_sdk_sqs::Config::builder()
//!     .http_client(emulator::client::InProcessClient::new(emulator.clone()))
//!     .endpoint_url("http://emulator.local")
//!     /* region, credentials, behavior version */
//!     .build();
//! ```

use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::Emulator;

/// An SDK `HttpClient` (and connector) that serves requests from an in-process [`Emulator`].
#[derive(Clone)]
pub struct InProcessClient {
    emulator: Emulator,
}

impl InProcessClient {
    pub fn new(emulator: Emulator) -> Self {
        Self { emulator }
    }
}

impl std::fmt::Debug for InProcessClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcessClient")
    }
}

impl HttpClient for InProcessClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for InProcessClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let emulator = self.emulator.clone();
        // The SDK marks a connection for closure after a transient error; there is no
        // connection here, so report one whose closing is a no-op (else the SDK logs an error).
        if let Some(capture) = request.extension::<CaptureSmithyConnection>() {
            capture.set_connection_retriever(|| {
                Some(
                    ConnectionMetadata::builder()
                        .proxied(false)
                        .poison_fn(|| {})
                        .build(),
                )
            });
        }
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            let bytes = body_bytes(body).await.map_err(ConnectorError::io)?;
            let response = emulator
                .handle(http::Request::from_parts(parts, bytes))
                .await;
            HttpResponse::try_from(response.map(SdkBody::from))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Reads the request body to its end. Always polled, even when it is in memory: the SDK's
/// stalled-stream protection watches the upload, and a body never read looks stalled after
/// its grace period (it then re-sends the request, e.g. a 20 s long poll, as a duplicate).
async fn body_bytes(body: SdkBody) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    Ok(body.collect().await?.to_bytes())
}
