//! What both Lambda binaries share: configuration from the function's environment (read here,
//! at the edge, never in the library), logging, and the SDK configuration.

/// Plain-text logs without timestamps (CloudWatch adds them), filtered by `RUST_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .with_target(true)
        .init();
}

/// The function's AWS configuration (region and credentials from the Lambda environment).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
