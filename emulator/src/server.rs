//! The HTTP edge: serves an [`Emulator`] on a TCP listener.
//!
//! The server never binds its own socket (`serve` takes a listener), so tests bind port 0.
//! Besides the AWS APIs (any `POST` with `X-Amz-Target`), it answers
//! `GET /_emulator/health` with the services it serves, once it is ready.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Emulator, Service};

/// Largest request body accepted: above PutRecords' 10 MiB so that AWS's own limits answer.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The emulator as an axum app (no socket), for `oneshot` tests and embedding.
pub fn app(emulator: Emulator) -> Router {
    Router::new()
        .route("/_emulator/health", get(health))
        .fallback(aws_api)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(emulator)
}

/// Serves the emulator on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    emulator: Emulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(emulator))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server running in the background; dropping it stops the server.
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the endpoint URL for SDK clients.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` (port 0 for an ephemeral port) and serves the emulator in a background task.
pub async fn spawn(addr: SocketAddr, emulator: Emulator) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(serve(listener, emulator, async {
        let _ = rx.await;
    }));
    Ok(ServerHandle {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

async fn health() -> impl IntoResponse {
    let services: serde_json::Map<_, _> = Service::ALL
        .iter()
        .map(|s| (s.name().to_owned(), json!("running")))
        .collect();
    axum::Json(json!({ "status": "ready", "services": services }))
}

async fn aws_api(State(emulator): State<Emulator>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body could not be read: {err}"),
            )
                .into_response();
        }
    };
    let response = emulator.handle(Request::from_parts(parts, bytes)).await;
    response.map(Body::from)
}
