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
//! such a feature starts with `crate::require!(Feature, ...)` (`harness::require!`, from
//! `harness::testing`), which prints one line `SKIPPED <test>: <reason>` to stderr (and a
//! JSON line to `HARNESS_SKIP_LOG`) and returns when the backend lacks it. Tests sharing a
//! backend use [`unique`] resource names.
//!
//! `on_both_edges!(test_fn, ...)` turns `async fn test_fn(env: &Env)` into one test per edge;
//! such a test declares what it needs in its first line, `crate::needs!(env, Feature, ...)`
//! (the same skip, under the generated test's name).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use emulator::client::InProcessClient;
use emulator::server::ServerHandle;
use emulator::{Emulator, EmulatorConfig};
use harness::backend::{Backend, BackendKind};

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
pub use harness::testing::settings;

pub fn backend_kind() -> BackendKind {
    settings().kind
}

/// Whether the tests run against the embedded emulator.
pub fn is_embedded() -> bool {
    backend_kind() == BackendKind::Embedded
}

/// `Some(reason)` when the backend lacks one of `needs` or cannot be used at all; and the
/// line (and JSON record) a skipped test leaves: the library's, so a user's suite and this one
/// skip alike.
pub use harness::testing::{skip_reason, skipped};

pub struct Env {
    emulator: Option<Emulator>,
    server: Option<ServerHandle>,
    sdk: SdkConfig,
    endpoint_url: Option<String>,
    /// The test's name for skip lines (`on_both_edges!` sets it; see [`needs!`]).
    test: Option<String>,
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
            test: None,
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
                let sdk = base
                    .endpoint_url(&url)
                    .http_client(pipeline::aws::https_client())
                    .build();
                Env {
                    emulator: Some(emulator),
                    server: Some(server),
                    sdk,
                    endpoint_url: Some(url),
                    test: None,
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
                    test: None,
                }
            }
        }
    }

    /// The same backend, for the test `name` (the name its skip line carries).
    pub fn named(self, name: String) -> Env {
        Env {
            test: Some(name),
            ..self
        }
    }

    /// Whether the backend lacks one of `needs`; if so, reports this test skipped (the
    /// `SKIPPED` line and the `HARNESS_SKIP_LOG` record). [`needs!`] calls it.
    ///
    /// # Panics
    ///
    /// On an `Env` that `on_both_edges!` did not start (it has no test name to report).
    pub fn lacks(&self, needs: &[Need]) -> bool {
        let Some(reason) = skip_reason(needs) else {
            return false;
        };
        let test = self
            .test
            .as_deref()
            .expect("needs!(env, ..) is for on_both_edges! tests; elsewhere use require!(..)");
        skipped(test, &reason);
        true
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

/// `needs!(env, StrictValidation, Pagination)` as the first line of a conformance test
/// (`async fn f(env: &Env)` under [`on_both_edges!`]) declares what the test needs beyond a
/// backend to talk to: when the backend lacks one of them, the test is reported skipped and
/// returns. Declared at each test, these lines read as the fidelity table (README.md,
/// "Fidelity"; the gaps themselves are `harness::backend::Capabilities`).
#[macro_export]
macro_rules! needs {
    ($env:expr, $($need:ident),+ $(,)?) => {
        if $env.lacks(&[$($crate::support::Need::$need),+]) {
            return;
        }
    };
}

/// `on_both_edges!(f, g)`: for each `async fn f(env: &Env)`, a module `f` with the tests
/// `f::over_http` and `f::in_process`. On a non-embedded backend `in_process` skips and
/// `over_http` runs against it, unless the backend lacks what `f` declares with [`needs!`];
/// every skip prints its line.
#[macro_export]
macro_rules! on_both_edges {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn over_http() {
                    // A backend that cannot be used at all (LocalStack without Docker) skips
                    // here, before the test's own needs!.
                    if let Some(reason) = $crate::support::skip_reason(&[]) {
                        $crate::support::skipped(&$crate::test_name!(), &reason);
                        return;
                    }
                    let env = $crate::support::Env::start($crate::support::Edge::Http)
                        .await
                        .named($crate::test_name!());
                    super::$name(&env).await;
                }
                #[tokio::test]
                async fn in_process() {
                    let needs = [$crate::support::Need::InProcessEdge];
                    if let Some(reason) = $crate::support::skip_reason(&needs) {
                        $crate::support::skipped(&$crate::test_name!(), &reason);
                        return;
                    }
                    let env = $crate::support::Env::start($crate::support::Edge::InProcess)
                        .await
                        .named($crate::test_name!());
                    super::$name(&env).await;
                }
            }
        )*
    };
}

/// Runs a pipeline test's body on the backend `HARNESS_BACKEND` names: on a current-thread
/// runtime under tokio's paused clock for the embedded emulator (production timeouts cost no
/// wall time), on a multi-threaded runtime in real time elsewhere (where
/// `Harness::start` applies the real-time profile).
pub fn on_any_clock<F: std::future::Future>(body: F) -> F::Output {
    let mut builder = if is_embedded() {
        let mut b = tokio::runtime::Builder::new_current_thread();
        b.start_paused(true);
        b
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(body)
}
