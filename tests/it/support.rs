//! What every test needs: a backend to talk to and SDK clients for it.
//!
//! The backend is the one `HARNESS_BACKEND` names (embedded by default; see
//! `harness::backend`). `Env::start(Edge::Http)` on the embedded backend serves a fresh emulator
//! on an ephemeral loopback port; on `endpoint` and `localstack` it uses the shared server
//! (moto, LocalStack, ...) through the SDK configuration `harness::backend::Backend` builds.
//! `Edge::InProcess` connects the SDK clients to a fresh emulator with no socket
//! (paused-clock capable) and exists only on the embedded backend.
//!
//! What a backend cannot do is declared in `harness::backend::Capabilities`; a test that needs
//! such a feature starts with `require!(Feature, ...)`, which prints one line
//! `SKIPPED <test>: <reason>` to stderr and returns when the backend lacks it. Tests sharing a
//! backend use [`unique`] resource names.
//!
//! `on_both_edges!(test_fn, ...)` turns `async fn test_fn(env: &Env)` into one test per edge.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use emulator::client::InProcessClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};
use harness::backend::{Backend, BackendKind, BackendSettings, Capabilities};

/// What a test may need that not every backend has (declared per backend in
/// `harness::backend::Capabilities`).
pub use harness::backend::Feature as Need;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The backend behind a real socket (a fresh emulator on a loopback port, or the shared
    /// server of a non-embedded backend).
    Http,
    /// The emulator called in process through the SDK's `HttpClient`.
    InProcess,
}

/// The backend settings this test run uses, read once from the environment.
pub fn settings() -> &'static BackendSettings {
    static SETTINGS: OnceLock<BackendSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        BackendSettings::from_env()
            .unwrap_or_else(|e| panic!("the test suite cannot choose a backend: {e}"))
    })
}

pub fn backend_kind() -> BackendKind {
    settings().kind
}

/// Whether the tests run against the embedded emulator.
pub fn is_embedded() -> bool {
    backend_kind() == BackendKind::Embedded
}

/// `Some(reason)` when the backend lacks one of `needs` or cannot be used at all (LocalStack
/// without Docker). May block while LocalStack starts (once per process).
pub fn skip_reason(needs: &[Need]) -> Option<String> {
    let settings = settings();
    if let Some(reason) = Capabilities::of(settings.kind).missing(settings.kind, needs) {
        return Some(reason);
    }
    harness::backend::check_available(settings)
        .err()
        .map(|e| e.to_string())
}

/// Prints the one line a skipped test leaves (CI counts these).
pub fn skipped(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
}

/// The path of the test function the macro is expanded in (without the crate name).
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        let path = ::std::any::type_name_of_val(&here);
        let path = path.strip_suffix("::here").unwrap_or(path);
        let path = path.strip_prefix("it::").unwrap_or(path);
        path.replace("::{{closure}}", "")
    }};
}

/// `require!(PausedClock, ...)`: returns from the test, printing `SKIPPED <test>: <reason>`,
/// when the backend lacks one of the named features (`support::Need` variants) or cannot be
/// used. `require!()` checks only the latter.
#[macro_export]
macro_rules! require {
    ($($need:ident),* $(,)?) => {
        if let Some(reason) = $crate::support::skip_reason(&[$($crate::support::Need::$need),*]) {
            $crate::support::skipped(&$crate::test_name!(), &reason);
            return;
        }
    };
}

pub struct Env {
    emulator: Option<Emulator>,
    server: Option<ServerHandle>,
    sdk: SdkConfig,
    endpoint_url: Option<String>,
}

impl Env {
    /// A backend to test against. On non-embedded backends only `Edge::Http` exists: call
    /// `require!(InProcessEdge)` (or `PausedClock`) before asking for `Edge::InProcess`.
    pub async fn start(edge: Edge) -> Env {
        if is_embedded() {
            return Self::start_with(edge, EmulatorConfig::default()).await;
        }
        assert_eq!(
            edge,
            Edge::Http,
            "the {} backend has no in-process edge: start the test with require!(InProcessEdge)",
            backend_kind().name()
        );
        let backend = Backend::start(settings())
            .await
            .unwrap_or_else(|e| panic!("the {} backend: {e}", backend_kind().name()));
        Env {
            emulator: None,
            server: None,
            sdk: backend.sdk_config(),
            endpoint_url: backend.endpoint_url().map(str::to_owned),
        }
    }

    /// A fresh embedded emulator with `config` (its settings exist only on the embedded
    /// backend: start the test with `require!(EmulatorInternals)` or `ThroughputLimits`).
    pub async fn start_with(edge: Edge, config: EmulatorConfig) -> Env {
        assert!(
            is_embedded(),
            "emulator settings exist only on the embedded backend: start the test with require!(EmulatorInternals)"
        );
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
                let url = server.endpoint_url();
                let sdk = base.endpoint_url(&url).build();
                Env {
                    emulator: Some(emulator),
                    server: Some(server),
                    sdk,
                    endpoint_url: Some(url),
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
                    endpoint_url: None,
                }
            }
        }
    }

    /// The emulator itself, when the backend is the embedded one.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// The HTTP endpoint, when there is a socket (and one URL for every service).
    pub fn endpoint_url(&self) -> Option<String> {
        self.endpoint_url.clone()
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

/// A resource name no other test uses, so tests can share one server (the process id keeps
/// two runs against one long-lived server apart too).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `on_both_edges!(f, g)`: for each `async fn f(env: &Env)`, a module `f` with the tests
/// `f::over_http` and `f::in_process`. On a non-embedded backend `over_http` runs against it
/// and `in_process` skips (with its line); `on_both_edges!(f; Need1, Need2)` skips both
/// unless the backend has the needs.
#[macro_export]
macro_rules! on_both_edges {
    ($($name:ident),* $(,)?) => {
        $( $crate::on_both_edges!(@one $name;); )*
    };
    ($name:ident; $($need:ident),* $(,)?) => {
        $crate::on_both_edges!(@one $name; $($need),*);
    };
    (@one $name:ident; $($need:ident),*) => {
        mod $name {
            #[tokio::test]
            async fn over_http() {
                $crate::require!($($need),*);
                let env = $crate::support::Env::start($crate::support::Edge::Http).await;
                super::$name(&env).await;
            }
            #[tokio::test]
            async fn in_process() {
                $crate::require!(InProcessEdge $(, $need)*);
                let env = $crate::support::Env::start($crate::support::Edge::InProcess).await;
                super::$name(&env).await;
            }
        }
    };
}
