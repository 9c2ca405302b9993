//! What every test needs: a backend to talk to and SDK clients for it.
//!
//! `Env::start(Edge::Http)` serves a fresh embedded emulator on an ephemeral loopback port;
//! `Edge::InProcess` connects the SDK clients to it with no socket (paused-clock capable).
//! `on_both_edges!(test_fn, ...)` turns `async fn test_fn(env: &Env)` into one test per edge.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use emulator::client::InProcessClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The emulator behind a real loopback socket.
    Http,
    /// The emulator called in process through the SDK's `HttpClient`.
    InProcess,
}

pub struct Env {
    emulator: Option<Emulator>,
    server: Option<ServerHandle>,
    sdk: SdkConfig,
}

impl Env {
    pub async fn start(edge: Edge) -> Env {
        Self::start_with(edge, EmulatorConfig::default()).await
    }

    pub async fn start_with(edge: Edge, config: EmulatorConfig) -> Env {
        let emulator = Emulator::new(config);
        let base = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "static",
            )))
            .behavior_version(BehaviorVersion::latest());
        match edge {
            Edge::Http => {
                let server = emulator::server::spawn(([127, 0, 0, 1], 0).into(), emulator.clone())
                    .await
                    .expect("bind an ephemeral port");
                let sdk = base.endpoint_url(server.endpoint_url()).build();
                Env {
                    emulator: Some(emulator),
                    server: Some(server),
                    sdk,
                }
            }
            Edge::InProcess => {
                let sdk = base
                    .endpoint_url("http://emulator.local")
                    .http_client(InProcessClient::new(emulator.clone()))
                    .build();
                Env {
                    emulator: Some(emulator),
                    server: None,
                    sdk,
                }
            }
        }
    }

    /// The emulator itself, when the backend is the embedded one.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// The HTTP endpoint, when there is a socket.
    pub fn endpoint_url(&self) -> Option<String> {
        self.server.as_ref().map(|s| s.endpoint_url())
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }
}

/// A resource name no other test uses, so tests can share one server.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `on_both_edges!(f, g)`: for each `async fn f(env: &Env)`, a module `f` with the tests
/// `f::over_http` and `f::in_process`.
#[macro_export]
macro_rules! on_both_edges {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn over_http() {
                    let env = $crate::support::Env::start($crate::support::Edge::Http).await;
                    super::$name(&env).await;
                }
                #[tokio::test]
                async fn in_process() {
                    let env = $crate::support::Env::start($crate::support::Edge::InProcess).await;
                    super::$name(&env).await;
                }
            }
        )*
    };
}
