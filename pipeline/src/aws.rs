//! The SDK's HTTPS client, for every `SdkConfig` the pipeline, its Lambda binaries and the
//! harness build: hyper 1 and rustls with ring.
//!
//! The workspace builds the SDK without its default features (Cargo.toml says why), so no
//! client comes with it: a config without this one would fail its first call with the SDK's
//! "no HTTP client" error.

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// A new HTTPS client (plain HTTP too, for local endpoints), for one `SdkConfig`.
///
/// Not one per process: a client's pooled connections are driven by tasks on the tokio
/// runtime that opened them, so a client shared by several runtimes (a test each) fails on
/// the others once that runtime ends ("runtime dropped the dispatch task").
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}
