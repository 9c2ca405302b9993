//! Backends: where the pipeline's AWS calls go.
//!
//! A backend only produces SDK configuration (plus, for the embedded one, the emulator
//! itself): pipeline code cannot tell the emulator from LocalStack or AWS. Which backend runs
//! is chosen at run time (`HARNESS_BACKEND`), never with `cfg`.
//!
//! - `embedded` (default): the in-process emulator. The harness's own clients reach it through
//!   the in-process `HttpClient` (no socket, paused-clock capable); an HTTP port can be served
//!   for everyone else (the AWS CLI, boto3).
//! - `localstack`: LocalStack in a container through testcontainers (needs Docker; the image
//!   from `LOCALSTACK_IMAGE`, default the official one).
//! - `endpoint`: any AWS-compatible endpoint from `AWS_ENDPOINT_URL` and the per-service
//!   `AWS_ENDPOINT_URL_KINESIS` / `_SQS` / `_DYNAMODB` (the SDK's own convention), or real AWS
//!   when none is set and credentials exist.
//!
//! What a backend can do follows the kind of server behind it (`EndpointKind`: embedded,
//! localstack, moto, aws; `HARNESS_ENDPOINT_KIND` or detected), declared in `capabilities`.

mod capabilities;
mod localstack;
mod provision;
mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};

pub use capabilities::Gap;
pub use capabilities::{Capabilities, Feature};
pub use localstack::{ImageRef, LOCALSTACK_IMAGE_NAME, LOCALSTACK_TAG, LocalStackError};
pub use provision::{Provisioned, Resources, lookup, provision};
pub use settings::{BackendKind, BackendSettings, EndpointKind};

/// Errors starting or using a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `HARNESS_BACKEND` names no backend.
    #[error("HARNESS_BACKEND={0:?} is not a backend (expected embedded, localstack or endpoint)")]
    UnknownKind(String),
    /// The embedded emulator's HTTP edge could not bind its address.
    #[error("could not serve the emulator on {addr}")]
    Bind {
        /// The address asked for (`HARNESS_EMULATOR_ADDR`, `harness up --port`).
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `HARNESS_ENDPOINT_KIND` names no kind of server.
    #[error(
        "HARNESS_ENDPOINT_KIND={0:?} is not a kind of server (expected embedded, localstack, moto or aws)"
    )]
    UnknownEndpointKind(String),
    /// `LOCALSTACK_IMAGE` is not `NAME:TAG`.
    #[error("LOCALSTACK_IMAGE={0:?} is not an image name with a tag (expected NAME:TAG)")]
    LocalStackImage(String),
    /// Docker is missing, the image is missing, or the container never became healthy.
    #[error("LocalStack is unavailable")]
    LocalStackUnavailable(#[source] Arc<LocalStackError>),
    /// The endpoint backend would reach real AWS and nobody said so.
    #[error(
        "the endpoint backend would reach real AWS ({reason}), where what the harness creates is \
         billed to your account; set HARNESS_ALLOW_REAL_AWS=1 (or pass --allow-real-aws) to mean it, \
         or point AWS_ENDPOINT_URL at a local server"
    )]
    RealAwsRefused {
        /// What makes the endpoint AWS (no `AWS_ENDPOINT_URL` for some service, an AWS host).
        reason: String,
    },
    /// Creating one of the pipeline's resources failed.
    #[error("provisioning {resource} failed")]
    Provision {
        /// The stream, queue or table, by name.
        resource: String,
        /// The SDK's error, or why the resource never became active.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Static credentials for local backends (any value works; real AWS uses the default chain).
fn test_credentials() -> SharedCredentialsProvider {
    // A 12-digit access key id is the account id to LocalStack: the emulator's account
    // (000000000000), so ARNs, queue URLs and messages agree across backends (moto takes the
    // account from MOTO_ACCOUNT_ID=000000000000 where it is started).
    SharedCredentialsProvider::new(Credentials::new(
        "000000000000",
        "test",
        None,
        None,
        "harness",
    ))
}

/// A running backend. Dropping it stops the emulator server it started; a LocalStack
/// container outlives the process (nothing reaps it: `localstack`'s module doc).
pub struct Backend {
    kind: BackendKind,
    endpoint_kind: EndpointKind,
    sdk: SdkConfig,
    http_client: SharedHttpClient,
    emulator: Option<Emulator>,
    server: Option<ServerHandle>,
    endpoint_url: Option<String>,
}

impl Backend {
    /// Starts the backend the settings name.
    pub async fn start(settings: &BackendSettings) -> Result<Backend, BackendError> {
        match settings.kind {
            BackendKind::Embedded => {
                Self::embedded(settings.emulator.clone(), settings.emulator_addr).await
            }
            BackendKind::LocalStack => Self::localstack(settings).await,
            BackendKind::Endpoint => {
                if let Some(reason) = settings
                    .real_aws_reason()
                    .filter(|_| !settings.allow_real_aws)
                {
                    return Err(BackendError::RealAwsRefused { reason });
                }
                Ok(Self::endpoint(settings).await)
            }
        }
    }

    /// The embedded emulator; `addr` serves it over HTTP too (port 0 for an ephemeral one).
    pub async fn embedded(
        config: EmulatorConfig,
        addr: Option<SocketAddr>,
    ) -> Result<Backend, BackendError> {
        let region = config.region.clone();
        let emulator = Emulator::new(config);
        let server = match addr {
            Some(addr) => Some(
                emulator::server::spawn(addr, emulator.clone())
                    .await
                    .map_err(|source| BackendError::Bind { addr, source })?,
            ),
            None => None,
        };
        let http_client =
            SharedHttpClient::new(emulator::client::InProcessClient::new(emulator.clone()));
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(test_credentials())
            // The in-process client ignores the host; it only shapes SQS queue URLs.
            .endpoint_url("http://emulator.local")
            .http_client(http_client.clone())
            // Nothing can stall in process; the SDK's guard would arm a timer on every body
            // poll (BENCHMARKS.md "Issue 14": its timer wake-ups were ~15% of a call's CPU).
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        Ok(Backend {
            kind: BackendKind::Embedded,
            endpoint_kind: EndpointKind::Embedded,
            endpoint_url: server.as_ref().map(|s| s.endpoint_url()),
            sdk,
            http_client,
            emulator: Some(emulator),
            server,
        })
    }

    /// LocalStack in a container (one per process, shared by every backend that asks; see
    /// `localstack::shared`). Fails with the reason when Docker or the image is unavailable.
    async fn localstack(settings: &BackendSettings) -> Result<Backend, BackendError> {
        let url = localstack::shared(localstack::LocalStackOptions::from_settings(settings))
            .await
            .map_err(BackendError::LocalStackUnavailable)?;
        Ok(Self::with_endpoint(BackendKind::LocalStack, Some(url), settings).await)
    }

    async fn endpoint(settings: &BackendSettings) -> Backend {
        Self::with_endpoint(
            BackendKind::Endpoint,
            settings.endpoint_url.clone(),
            settings,
        )
        .await
    }

    async fn with_endpoint(
        kind: BackendKind,
        endpoint_url: Option<String>,
        settings: &BackendSettings,
    ) -> Backend {
        // Built explicitly (not left to aws-config) so the fault layer can wrap it.
        let http_client = pipeline::aws::https_client();
        // aws-config reads AWS_ENDPOINT_URL_<SERVICE> itself; the general URL is explicit so a
        // LocalStack container's ephemeral port wins over the environment.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .http_client(http_client.clone());
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if settings.is_local_endpoint() {
            loader = loader.credentials_provider(test_credentials());
        }
        let sdk = loader.load().await;
        Backend {
            kind,
            endpoint_kind: settings.endpoint_kind,
            sdk,
            http_client,
            emulator: None,
            server: None,
            endpoint_url,
        }
    }

    /// Which backend this is (embedded, LocalStack or an endpoint).
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The kind of server behind this backend.
    pub fn endpoint_kind(&self) -> EndpointKind {
        self.endpoint_kind
    }

    /// What this backend can do; tests skip (loudly) what it cannot.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::of(self.endpoint_kind)
    }

    /// SDK configuration for clients of this backend.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk.clone()
    }

    /// SDK configuration whose HTTP client is `wrap(inner)`: how fault injection gets under
    /// every client the harness builds, on every backend.
    pub fn sdk_config_with(
        &self,
        wrap: impl FnOnce(SharedHttpClient) -> SharedHttpClient,
    ) -> SdkConfig {
        self.sdk
            .to_builder()
            .http_client(wrap(self.http_client.clone()))
            .build()
    }

    /// The embedded emulator, when this backend is the embedded one.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// The HTTP endpoint other programs (AWS CLI, boto3) can use, if there is one.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Stops the emulator's HTTP server (if any), letting in-flight requests finish.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.shutdown().await;
        }
    }
}

/// Whether the backend `settings` name can be used, blocking while it starts (LocalStack's
/// container is started here, once per process). `Err` carries the reason to print when a test
/// skips. Call it off the async runtime's hot path: it may block for as long as LocalStack
/// takes to start.
pub fn check_available(settings: &BackendSettings) -> Result<(), BackendError> {
    match settings.kind {
        BackendKind::Embedded | BackendKind::Endpoint => Ok(()),
        BackendKind::LocalStack => {
            localstack::shared_blocking(localstack::LocalStackOptions::from_settings(settings))
                .map(|_| ())
                .map_err(BackendError::LocalStackUnavailable)
        }
    }
}

/// `error` and its sources on one line (`a: b: c`), for skip lines and reports.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        line.push_str(": ");
        line.push_str(&e.to_string());
        source = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_in_process_edge_has_no_stalled_stream_guard_and_http_backends_keep_it() {
        let embedded = Backend::embedded(EmulatorConfig::default(), None)
            .await
            .expect("embedded backend");
        let guard = embedded.sdk_config().stalled_stream_protection();
        assert!(
            guard.as_ref().is_some_and(|g| !g.is_enabled()),
            "in process the guard is off: {guard:?}"
        );
        // Reached over HTTP, the SDK's default (on) stays: nothing sets it.
        let settings = BackendSettings {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..BackendSettings::default()
        };
        let endpoint = Backend::endpoint(&settings).await;
        assert!(
            endpoint
                .sdk_config()
                .stalled_stream_protection()
                .is_none_or(|g| g.is_enabled()),
            "an HTTP backend keeps the SDK's stalled-stream protection"
        );
    }
}
