//! What both Lambda binaries share: configuration from the function's environment (read here,
//! at the edge, never in the library), logging, and the SDK configuration.

use std::time::Duration;

use pipeline::RetryPolicy;

/// A required environment variable.
pub fn required(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} must be set").into())
}

/// The retry policy: `MAX_ATTEMPTS`, `BASE_DELAY_MS`, `MAX_DELAY_MS`, each optional.
pub fn retry_policy() -> Result<RetryPolicy, lambda_runtime::Error> {
    let default = RetryPolicy::default();
    Ok(RetryPolicy {
        max_attempts: optional("MAX_ATTEMPTS")?
            .unwrap_or(u64::from(default.max_attempts))
            .try_into()?,
        base_delay: optional("BASE_DELAY_MS")?.map_or(default.base_delay, Duration::from_millis),
        max_delay: optional("MAX_DELAY_MS")?.map_or(default.max_delay, Duration::from_millis),
    })
}

fn optional(name: &str) -> Result<Option<u64>, lambda_runtime::Error> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text.parse().map(Some).map_err(|_| {
            format!("environment variable {name} must be a whole number, not `{text}`").into()
        }),
    }
}

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
