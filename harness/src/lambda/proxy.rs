//! The AWS endpoint a child process sees (`AWS_ENDPOINT_URL`): a loopback HTTP proxy that
//! sends each of the child's requests through the harness's request-fault layer
//! ([`faulty_connector`]) to the backend, so the journal counts the child's attempts and
//! fault rules fire on them exactly as on the harness's own clients.
//!
//! The child signs its requests for the proxy's host; the backends the harness runs locally
//! accept SigV4 without verifying it. A fault that loses a response or times out closes the
//! connection without an answer, so the child's SDK sees what it would see on the wire and
//! retries as it would.

use std::net::SocketAddr;

use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as HyperConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::task::{JoinHandle, JoinSet};

use super::LambdaError;
use crate::fault::{FaultPlan, Journal, faulty_connector};

/// A running proxy; dropping it stops it and every connection it serves.
pub struct AwsProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AwsProxy {
    /// Serves on 127.0.0.1:0, relaying to `upstream` (an `http://host:port` endpoint)
    /// through the fault layer of `faults` (none: straight through).
    pub async fn start(
        upstream: &str,
        faults: Option<(FaultPlan, Journal)>,
    ) -> Result<AwsProxy, LambdaError> {
        let base: http::Uri = upstream
            .trim_end_matches('/')
            .parse()
            .map_err(|_| LambdaError::Endpoint(upstream.to_owned()))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() {
            return Err(LambdaError::Endpoint(upstream.to_owned()));
        }
        let upstream = SharedHttpConnector::new(Upstream {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
        });
        let connector = match faults {
            Some((plan, journal)) => faulty_connector(upstream, plan, journal),
            None => upstream,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(LambdaError::Bind)?;
        let addr = listener.local_addr().map_err(LambdaError::Bind)?;
        let task = tokio::spawn(async move {
            // Connections are owned by this set: aborting the accept loop drops them all.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let connector = connector.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |request| {
                                relay(connector.clone(), request)
                            });
                            // A relayed connector error ends the connection unanswered.
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(AwsProxy { addr, task })
    }

    /// The endpoint URL to give a child (`http://127.0.0.1:PORT`).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn relay(
    connector: SharedHttpConnector,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, ConnectorError> {
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| ConnectorError::io(e.into()))?
        .to_bytes();
    let request = HttpRequest::try_from(http::Request::from_parts(parts, SdkBody::from(bytes)))
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let response = connector
        .call(request)
        .await?
        .try_into_http1x()
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let (mut parts, body) = response.into_parts();
    let bytes = collect(body).await?;
    // The body is whole now; hyper frames it with its own Content-Length.
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(http::Response::from_parts(parts, Full::new(bytes)))
}

async fn collect(body: SdkBody) -> Result<Bytes, ConnectorError> {
    match body.bytes() {
        Some(bytes) => Ok(Bytes::copy_from_slice(bytes)),
        None => Ok(ByteStream::new(body)
            .collect()
            .await
            .map_err(|e| ConnectorError::io(e.into()))?
            .into_bytes()),
    }
}

/// The backend's HTTP endpoint as an SDK connector (what the fault layer wraps).
#[derive(Clone)]
struct Upstream {
    client: Client<HyperConnector, Full<Bytes>>,
    base: http::Uri,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upstream({})", self.base)
    }
}

impl HttpConnector for Upstream {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let this = self.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (mut parts, body) = request.into_parts();
            let bytes = collect(body).await?;
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let authority = this
                .base
                .authority()
                .map(|a| a.as_str())
                .unwrap_or_default();
            parts.uri = format!("http://{authority}{path}")
                .parse()
                .map_err(|e: http::uri::InvalidUri| ConnectorError::other(e.into(), None))?;
            // The child's Host header stays: what the backend derives from it (SQS queue
            // URLs) then points at the proxy, which is where the child can reach it.
            parts.headers.remove(http::header::CONTENT_LENGTH);
            parts.headers.remove(http::header::TRANSFER_ENCODING);
            let response = this
                .client
                .request(http::Request::from_parts(parts, Full::new(bytes)))
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .to_bytes();
            HttpResponse::try_from(http::Response::from_parts(parts, SdkBody::from(bytes)))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}
