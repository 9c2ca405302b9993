//! The SDK's HTTPS client, one for every `SdkConfig` the pipeline, its Lambda binaries and the
//! harness build: hyper 1 and rustls with ring.
//!
//! The workspace builds the SDK without its default features (Cargo.toml says why), so no
//! client comes with it: a config without this one would fail its first call with the SDK's
//! "no HTTP client" error. Built once per process and shared (its connection pool with it).

use std::sync::OnceLock;

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The process's HTTPS client (plain HTTP too, for local endpoints).
pub fn https_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https()
        })
        .clone()
}
