//! LocalStack through testcontainers.
//!
//! testcontainers-modules' `LocalStack` image waits for the "Ready." log line and then sleeps a
//! fixed 3 s (`WaitFor::millis(3000)` in its `ready_conditions`), which the API cannot remove.
//! We wrap it in a small image of our own that reuses the module's image name, waits for the
//! same log line and then polls `GET /_localstack/health` until Kinesis, SQS and DynamoDB say
//! "available" or "running": ready as soon as LocalStack is, and never too early.
//!
//! One container per process: tests share it (each uses unique resource names), and
//! testcontainers' reaper removes it when the process exits.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt};
use testcontainers_modules::localstack::LocalStack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::BackendError;

/// The LocalStack image tag. Pinned so that runs are reproducible; 4.5 is the tag
/// testcontainers-modules 0.15 was released against, and Community images of that age still
/// start without an auth token (images published after 2026-03 refuse to start without
/// `LOCALSTACK_AUTH_TOKEN`, which is passed through when set).
pub const LOCALSTACK_TAG: &str = "4.5";

/// The services the pipeline uses; LocalStack starts only these.
const SERVICES: [&str; 3] = ["kinesis", "sqs", "dynamodb"];

/// How long LocalStack may take to pull nothing and start (first pulls are not counted: the
/// image is pulled before the container starts).
const HEALTH_DEADLINE: Duration = Duration::from_secs(120);

/// The module's LocalStack image, ready on its log line alone (the health poll follows).
#[derive(Debug, Clone, Default)]
struct HealthyLocalStack {
    module: LocalStack,
}

impl Image for HealthyLocalStack {
    fn name(&self) -> &str {
        // The module's own image name ("localstack/localstack").
        self.module.name()
    }

    fn tag(&self) -> &str {
        LOCALSTACK_TAG
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("Ready.")]
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        const PORTS: [ContainerPort; 1] = [ContainerPort::Tcp(4566)];
        &PORTS
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        [("SERVICES", SERVICES.join(","))]
    }
}

/// A running LocalStack container.
pub(super) struct Container {
    pub endpoint_url: String,
    _container: ContainerAsync<HealthyLocalStack>,
}

/// Starts a container and waits until its health endpoint reports our services ready.
pub(super) async fn start(auth_token: Option<String>) -> Result<Container, BackendError> {
    let unavailable =
        |e: &dyn std::fmt::Display| BackendError::LocalStackUnavailable(e.to_string());
    let mut request = HealthyLocalStack::default().with_tag(LOCALSTACK_TAG);
    if let Some(token) = auth_token {
        request = request.with_env_var("LOCALSTACK_AUTH_TOKEN", token);
    }
    let container = request.start().await.map_err(|e| unavailable(&e))?;
    let host = container.get_host().await.map_err(|e| unavailable(&e))?;
    let port = container
        .get_host_port_ipv4(4566)
        .await
        .map_err(|e| unavailable(&e))?;
    let host = host.to_string();
    wait_healthy(&host, port).await?;
    Ok(Container {
        endpoint_url: format!("http://{host}:{port}"),
        _container: container,
    })
}

/// The endpoint of the process-wide LocalStack container, started on first use.
pub(super) async fn shared(auth_token: Option<String>) -> Result<String, BackendError> {
    tokio::task::spawn_blocking(move || shared_blocking(auth_token))
        .await
        .map_err(|e| BackendError::LocalStackUnavailable(e.to_string()))?
}

/// [`shared`] for callers outside a runtime, or that may block (a test deciding to skip).
///
/// The container lives on a thread of its own with its own runtime, so it outlives the
/// (per-test) runtimes that ask for it. A failure is remembered: every later caller gets the
/// same reason at once instead of trying Docker again.
pub(super) fn shared_blocking(auth_token: Option<String>) -> Result<String, BackendError> {
    static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| start_on_own_thread(auth_token))
        .clone()
        .map_err(BackendError::LocalStackUnavailable)
}

fn start_on_own_thread(auth_token: Option<String>) -> Result<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("localstack".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(auth_token).await {
                    Ok(container) => {
                        let _ = tx.send(Ok(container.endpoint_url.clone()));
                        // Keep the container (and the runtime serving it) until the process
                        // exits; the reaper removes it then.
                        std::future::pending::<()>().await;
                        drop(container);
                    }
                    Err(BackendError::LocalStackUnavailable(reason)) => {
                        let _ = tx.send(Err(reason));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        })
        .map_err(|e| e.to_string())?;
    rx.recv()
        .unwrap_or_else(|_| Err("the LocalStack thread ended".into()))
}

/// Polls `GET /_localstack/health` until every service in [`SERVICES`] is available.
async fn wait_healthy(host: &str, port: u16) -> Result<(), BackendError> {
    let deadline = tokio::time::Instant::now() + HEALTH_DEADLINE;
    loop {
        let last = match health(host, port).await {
            Ok(body) if services_ready(&body) => return Ok(()),
            Ok(body) => body,
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(BackendError::LocalStackUnavailable(format!(
                "its health endpoint did not report {} ready within {} s (last: {last})",
                SERVICES.join(", "),
                HEALTH_DEADLINE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One health request over a plain socket (HTTP/1.0: the body ends with the connection).
async fn health(host: &str, port: u16) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
    let request = format!("GET /_localstack/health HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}

/// Whether a health answer (`{"services": {"sqs": "running", ...}}`) has all our services up.
fn services_ready(body: &str) -> bool {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    SERVICES
        .iter()
        .all(|s| matches!(json["services"][*s].as_str(), Some("available" | "running")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_ready_only_when_every_service_is_up() {
        let ready = r#"{"services": {"kinesis": "running", "sqs": "available", "dynamodb": "running", "s3": "disabled"}}"#;
        assert!(services_ready(ready));
        let starting =
            r#"{"services": {"kinesis": "starting", "sqs": "available", "dynamodb": "running"}}"#;
        assert!(!services_ready(starting));
        assert!(!services_ready(r#"{"services": {"sqs": "running"}}"#));
        assert!(!services_ready("not json"));
    }

    #[test]
    fn our_image_is_the_modules_image_at_the_pinned_tag_without_a_fixed_sleep() {
        let image = HealthyLocalStack::default();
        assert_eq!(image.name(), "localstack/localstack");
        assert_eq!(image.tag(), LOCALSTACK_TAG);
        assert!(
            image
                .ready_conditions()
                .iter()
                .all(|w| !matches!(w, WaitFor::Duration { .. }))
        );
    }
}
