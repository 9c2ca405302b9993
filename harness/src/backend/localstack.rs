//! LocalStack through testcontainers.
//!
//! The image is the official one at [`LOCALSTACK_TAG`] (Docker Hub and, for images published
//! after 2026-03, `LOCALSTACK_AUTH_TOKEN`), or the one `LOCALSTACK_IMAGE=name:tag` names: the
//! token-free image `just localstack-image` builds from public packages
//! (`scripts/localstack-image`).
//!
//! Readiness is testcontainers' own HTTP wait strategy on `GET /_localstack/health`: ready when
//! Kinesis, SQS and DynamoDB all report "running" (LocalStack starts them eagerly here, so the
//! first request does not pay for starting kinesis-mock or DynamoDB Local) or "available". No
//! log line and no fixed sleep (testcontainers-modules' `LocalStack` adds a fixed 3 s, which is
//! why it is not used as is). The container's output goes to a log file from the start, so a
//! failed start-up can say where to look.
//!
//! One container per process: tests share it (each uses unique resource names). It is not
//! removed when the process exits: testcontainers-rs has no reaper, and a static is never
//! dropped (README, "Backends", has the clean-up; CI removes them after its phase).

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use testcontainers::core::logs::LogFrame;
use testcontainers::core::wait::HttpWaitStrategy;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt, TestcontainersError};

use super::BackendSettings;

/// The official LocalStack image tag. Pinned so that runs are reproducible; 4.5 is the tag
/// testcontainers-modules 0.15 was released against, and Community images of that age still
/// start without an auth token (images published after 2026-03 refuse to start without
/// `LOCALSTACK_AUTH_TOKEN`, which is passed through when set).
pub const LOCALSTACK_TAG: &str = "4.5";

/// The official image's name (testcontainers-modules' LocalStack module uses the same).
pub const LOCALSTACK_IMAGE_NAME: &str = "localstack/localstack";

/// The services the pipeline uses; LocalStack starts only these.
const SERVICES: [&str; 3] = ["kinesis", "sqs", "dynamodb"];

/// LocalStack's port for every service.
const GATEWAY_PORT: ContainerPort = ContainerPort::Tcp(4566);

/// How long a container may take from creation to healthy (the image is local or pulled
/// before this starts counting). Measured: about 8 s for the token-free image with eager
/// service loading on 2 cores.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Why LocalStack could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalStackError {
    /// The container did not start, or its services never reported healthy.
    #[error(
        "could not start a healthy container from {image} (kinesis, sqs and dynamodb up on /_localstack/health within {timeout} s); the container's logs, if it ran, are in {}",
        logs.display()
    )]
    Start {
        /// The image it was started from (`NAME:TAG`).
        image: String,
        /// How long the health check waited, in seconds.
        timeout: u64,
        /// Where the container's logs were written.
        logs: PathBuf,
        // Boxed: testcontainers' error is large, and this one travels through channels.
        /// Testcontainers' error.
        #[source]
        source: Box<TestcontainersError>,
    },
    /// The container runs, but its host or mapped port could not be read.
    #[error("could not read the address of the container from {image}")]
    Address {
        /// The image it was started from.
        image: String,
        /// Testcontainers' error.
        #[source]
        source: Box<TestcontainersError>,
    },
    /// The file for the container's logs could not be created.
    #[error("could not create the log file {}", path.display())]
    LogFile {
        /// The file's path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The thread owning the container could not be spawned.
    #[error("could not start the thread that owns the LocalStack container")]
    Thread(#[source] std::io::Error),
    /// The owning thread exited before reporting whether the container started.
    #[error("the thread that owns the LocalStack container ended before it answered")]
    ThreadEnded,
}

/// An image reference, `NAME:TAG` (as `LOCALSTACK_IMAGE` gives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository (`localstack/localstack`).
    pub name: String,
    /// The tag (`4.5`).
    pub tag: String,
}

impl ImageRef {
    /// The official image at the pinned tag.
    pub fn official() -> ImageRef {
        ImageRef {
            name: LOCALSTACK_IMAGE_NAME.into(),
            tag: LOCALSTACK_TAG.into(),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

impl FromStr for ImageRef {
    type Err = super::BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // The tag follows the last ':' after the last '/' (a registry may carry a port).
        let last_slash = s.rfind('/').map_or(0, |i| i + 1);
        match s[last_slash..].rfind(':') {
            Some(i) if i > 0 && last_slash + i + 1 < s.len() => Ok(ImageRef {
                name: s[..last_slash + i].to_owned(),
                tag: s[last_slash + i + 1..].to_owned(),
            }),
            _ => Err(super::BackendError::LocalStackImage(s.to_owned())),
        }
    }
}

/// A LocalStack image, ready when its health endpoint says so.
#[derive(Debug, Clone)]
struct LocalStackImage {
    image: ImageRef,
}

impl Image for LocalStackImage {
    fn name(&self) -> &str {
        &self.image.name
    }

    fn tag(&self) -> &str {
        &self.image.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::http(health_wait())]
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        const PORTS: [ContainerPort; 1] = [GATEWAY_PORT];
        &PORTS
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        [
            ("SERVICES", SERVICES.join(",")),
            // Start the services with the container, so "ready" means ready: lazily loaded,
            // the first Kinesis call waits seconds for kinesis-mock to start.
            ("EAGER_SERVICE_LOADING", "1".into()),
            // kinesis-mock's default is 100 open shards; AWS's account quota in us-east-1 (the
            // harness's region) is 500 (docs.aws.amazon.com/streams/latest/dev/
            // service-sizes-and-limits.html). A test suite shares one container and leaves its
            // streams behind, so 100 ran out once the suite passed ~150 tests on LocalStack.
            ("KINESIS_SHARD_LIMIT", "500".into()),
        ]
    }
}

/// testcontainers' HTTP wait strategy on `/_localstack/health`, matching when every service
/// in [`SERVICES`] is up. The overall deadline is the request's startup timeout.
fn health_wait() -> HttpWaitStrategy {
    HttpWaitStrategy::new("/_localstack/health")
        .with_port(GATEWAY_PORT)
        .with_poll_interval(Duration::from_millis(200))
        .with_response_matcher_async(|response| async move {
            response.status().is_success()
                && response
                    .text()
                    .await
                    .is_ok_and(|body| services_ready(&body))
        })
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

/// What starting a container needs, taken from the backend settings.
#[derive(Debug, Clone)]
pub(super) struct LocalStackOptions {
    image: ImageRef,
    auth_token: Option<String>,
}

impl LocalStackOptions {
    pub(super) fn from_settings(settings: &BackendSettings) -> LocalStackOptions {
        LocalStackOptions {
            image: settings
                .localstack_image
                .clone()
                .unwrap_or_else(ImageRef::official),
            auth_token: settings.localstack_auth_token.clone(),
        }
    }
}

/// A running LocalStack container.
struct Container {
    endpoint_url: String,
    _container: ContainerAsync<LocalStackImage>,
}

/// Where the container's output goes: one file per process, in the temporary directory.
fn log_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "kinesis-pipeline-localstack-{}.log",
        std::process::id()
    ))
}

/// Starts a container and waits (testcontainers' HTTP wait) until it reports our services.
async fn start(options: LocalStackOptions) -> Result<Container, LocalStackError> {
    let image = options.image.to_string();
    let logs = log_path();
    let file = std::fs::File::create(&logs).map_err(|source| LocalStackError::LogFile {
        path: logs.clone(),
        source,
    })?;
    let file = Mutex::new(file);
    let mut request = LocalStackImage {
        image: options.image,
    }
    .with_startup_timeout(STARTUP_TIMEOUT)
    // A blocking write per log frame: small, and only while LocalStack logs.
    .with_log_consumer(move |frame: &LogFrame| {
        let bytes = match frame {
            LogFrame::StdOut(b) | LogFrame::StdErr(b) => b,
        };
        if let Ok(mut file) = file.lock() {
            let _ = file.write_all(bytes);
        }
    });
    if let Some(token) = options.auth_token {
        request = request.with_env_var("LOCALSTACK_AUTH_TOKEN", token);
    }
    let container = request
        .start()
        .await
        .map_err(|source| LocalStackError::Start {
            image: image.clone(),
            timeout: STARTUP_TIMEOUT.as_secs(),
            logs: logs.clone(),
            source: Box::new(source),
        })?;
    let address = |source| LocalStackError::Address {
        image: image.clone(),
        source: Box::new(source),
    };
    let host = container.get_host().await.map_err(address)?;
    let port = container
        .get_host_port_ipv4(GATEWAY_PORT)
        .await
        .map_err(address)?;
    Ok(Container {
        endpoint_url: format!("http://{host}:{port}"),
        _container: container,
    })
}

/// The endpoint of the process-wide LocalStack container, started on first use.
pub(super) async fn shared(options: LocalStackOptions) -> Result<String, Arc<LocalStackError>> {
    match tokio::task::spawn_blocking(move || shared_blocking(options)).await {
        Ok(result) => result,
        Err(_) => Err(Arc::new(LocalStackError::ThreadEnded)),
    }
}

/// [`shared`] for callers outside a runtime, or that may block (a test deciding to skip).
///
/// The container lives on a thread of its own with its own runtime, so it outlives the
/// (per-test) runtimes that ask for it. The first caller's options decide the image. A
/// failure is remembered: every later caller gets the same error at once instead of trying
/// Docker again.
pub(super) fn shared_blocking(options: LocalStackOptions) -> Result<String, Arc<LocalStackError>> {
    static SHARED: OnceLock<Result<String, Arc<LocalStackError>>> = OnceLock::new();
    SHARED
        .get_or_init(|| start_on_own_thread(options).map_err(Arc::new))
        .clone()
}

fn start_on_own_thread(options: LocalStackOptions) -> Result<String, LocalStackError> {
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
                    let _ = tx.send(Err(LocalStackError::Thread(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(options).await {
                    Ok(container) => {
                        let _ = tx.send(Ok(container.endpoint_url.clone()));
                        // Keep the container (and the runtime serving it) until the process
                        // exits; nothing removes it then (module doc).
                        std::future::pending::<()>().await;
                        drop(container);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(LocalStackError::Thread)?;
    rx.recv().unwrap_or(Err(LocalStackError::ThreadEnded))
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
    fn the_image_waits_on_its_health_endpoint_without_a_fixed_sleep() {
        let image = LocalStackImage {
            image: ImageRef::official(),
        };
        assert_eq!(image.name(), "localstack/localstack");
        assert_eq!(image.tag(), LOCALSTACK_TAG);
        let conditions = image.ready_conditions();
        assert_eq!(conditions.len(), 1);
        assert!(matches!(conditions[0], WaitFor::Http(_)), "{conditions:?}");
    }

    #[test]
    fn image_references_split_at_the_tag() {
        let parse = |s: &str| s.parse::<ImageRef>().map(|i| (i.name, i.tag));
        assert_eq!(
            parse("kinesis-pipeline/localstack:2026.3.0").unwrap(),
            ("kinesis-pipeline/localstack".into(), "2026.3.0".into())
        );
        assert_eq!(
            parse("registry.local:5000/ls/localstack:4.5").unwrap(),
            ("registry.local:5000/ls/localstack".into(), "4.5".into())
        );
        for bad in ["localstack", "registry.local:5000/localstack", "x:", ":tag"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
