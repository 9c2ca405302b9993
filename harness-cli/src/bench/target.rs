//! The servers a benchmark runs against, each reached through the official SDK clients:
//! the emulator over HTTP and in process, the null server over HTTP and in process, and any
//! AWS-compatible endpoint (moto server, LocalStack) given by URL.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};

use super::BenchError;
use super::direct::DirectWorkload;
use super::null::{self, NullInProcessClient, NullServer};
use super::workload::{Case, Names, Workload};

/// Where the SDK calls go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    /// The emulator served on an ephemeral loopback port.
    EmulatorHttp,
    /// The null server on an ephemeral loopback port: the ceiling over HTTP.
    NullHttp,
    /// The emulator through its in-process `HttpClient` (no socket).
    EmulatorInProcess,
    /// The null answers through an in-process `HttpClient`: the ceiling with no socket.
    NullInProcess,
    /// Requests handed straight to `Emulator::handle`, no SDK: the emulator's own cost.
    EmulatorCore,
    /// Any AWS-compatible endpoint, e.g. moto server or LocalStack, by name and URL.
    Endpoint { name: String, url: String },
}

impl TargetKind {
    /// The name a report shows.
    pub fn label(&self) -> String {
        match self {
            TargetKind::EmulatorHttp => "emulator (HTTP)".into(),
            TargetKind::NullHttp => "null server (HTTP)".into(),
            TargetKind::EmulatorInProcess => "emulator (in-process)".into(),
            TargetKind::NullInProcess => "null (in-process)".into(),
            TargetKind::EmulatorCore => "emulator core, no SDK".into(),
            TargetKind::Endpoint { name, .. } => format!("{name} (HTTP)"),
        }
    }
}

/// A started target: the SDK workload pointed at it, and what keeps its server running.
pub struct Target {
    pub kind: TargetKind,
    pub calls: Arc<Calls>,
    server: Server,
}

/// How a target's operations are made.
pub enum Calls {
    /// Through the official SDK clients.
    Sdk(Workload),
    /// Straight into the emulator.
    Direct(DirectWorkload),
}

impl Calls {
    pub async fn run_once(&self, case: Case) -> Result<(), String> {
        match self {
            Calls::Sdk(workload) => workload.run_once(case).await,
            Calls::Direct(direct) => direct.run_once(case).await,
        }
    }
}

enum Server {
    Emulator(ServerHandle),
    Null(NullServer),
    None,
}

const REGION: &str = "us-east-1";

/// SDK configuration for `endpoint_url`; `client` replaces the pipeline's HTTPS client.
fn config(endpoint_url: &str, client: Option<SharedHttpClient>) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "bench",
        )))
        .endpoint_url(endpoint_url)
        .http_client(client.unwrap_or_else(pipeline::aws::https_client))
        .build()
}

/// SDK configuration for an HTTP endpoint, with the SDK's default HTTP client (keep-alive,
/// one pool shared by every task).
pub fn http_config(endpoint_url: &str) -> SdkConfig {
    config(endpoint_url, None)
}

/// SDK configuration whose calls go to `client` in process.
pub fn in_process_config(client: SharedHttpClient) -> SdkConfig {
    // The host is never dialled; it only shapes SQS queue URLs.
    config("http://emulator.local", Some(client))
}

impl Target {
    /// Starts the target and creates its resources (named `tag`) before any timing.
    pub async fn start(kind: TargetKind, tag: &str) -> Result<Target, BenchError> {
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let (calls, server) = match &kind {
            TargetKind::EmulatorHttp => {
                let emulator = Emulator::new(EmulatorConfig::default());
                let server = emulator::server::spawn(loopback, emulator)
                    .await
                    .map_err(BenchError::Bind)?;
                let sdk = http_config(&server.endpoint_url());
                (
                    Calls::Sdk(Workload::provision(&sdk, tag).await?),
                    Server::Emulator(server),
                )
            }
            TargetKind::EmulatorInProcess => {
                let emulator = Emulator::new(EmulatorConfig::default());
                let client = emulator::client::InProcessClient::new(emulator);
                let sdk = in_process_config(SharedHttpClient::new(client));
                (
                    Calls::Sdk(Workload::provision(&sdk, tag).await?),
                    Server::None,
                )
            }
            TargetKind::EmulatorCore => {
                // Resources are created through the SDK in process; the timed calls are not.
                let emulator = Emulator::new(EmulatorConfig::default());
                let client = emulator::client::InProcessClient::new(emulator.clone());
                let sdk = in_process_config(SharedHttpClient::new(client));
                let names = Workload::provision(&sdk, tag).await?.names().clone();
                (
                    Calls::Direct(DirectWorkload::new(emulator, names)),
                    Server::None,
                )
            }
            TargetKind::NullHttp => {
                let server = null::spawn(loopback).await.map_err(BenchError::Bind)?;
                let url = server.endpoint_url();
                let sdk = http_config(&url);
                let names = Names::unprovisioned(&url);
                (Calls::Sdk(Workload::new(&sdk, names)), Server::Null(server))
            }
            TargetKind::NullInProcess => {
                let sdk = in_process_config(SharedHttpClient::new(NullInProcessClient));
                let names = Names::unprovisioned("http://emulator.local");
                (Calls::Sdk(Workload::new(&sdk, names)), Server::None)
            }
            TargetKind::Endpoint { url, .. } => {
                let sdk = http_config(url);
                (
                    Calls::Sdk(Workload::provision(&sdk, tag).await?),
                    Server::None,
                )
            }
        };
        Ok(Target {
            kind,
            calls: Arc::new(calls),
            server,
        })
    }

    /// Deletes the resources on endpoints that outlive the run and stops local servers.
    pub async fn finish(self) {
        if let (TargetKind::Endpoint { .. }, Calls::Sdk(workload)) = (&self.kind, &*self.calls) {
            workload.delete_resources().await;
        }
        match self.server {
            Server::Emulator(handle) => {
                let _ = handle.shutdown().await;
            }
            Server::Null(null) => drop(null),
            Server::None => {}
        }
    }
}
