//! What the three Lambda binaries share at their edge: the Lambda environment checked before
//! the runtime starts, logging, and the SDK configuration.
//!
//! `lambda_runtime` panics when the variables Lambda sets for every function are missing or
//! malformed; [`check_lambda_environment`] finds that first, so a binary started outside Lambda
//! (by hand, or by a harness that does not speak the Runtime API) exits with a message naming
//! the variable instead of a panic.

use pipeline::config::env::{Env, EnvError};

/// The variables `lambda_runtime` reads at start-up and panics without.
pub const LAMBDA_VARS: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Checks what `lambda_runtime::run` would otherwise panic on, and returns the Runtime API's
/// address (`host:port`) for error messages.
pub fn check_lambda_environment(env: &impl Env) -> Result<String, EnvError> {
    let present = |name: &'static str| {
        env.var(name)
            .filter(|v| !v.is_empty())
            .ok_or(EnvError::Missing { name })
    };
    let api = present("AWS_LAMBDA_RUNTIME_API")?;
    if http::Uri::try_from(api.as_str()).is_err() {
        return Err(EnvError::Invalid {
            name: "AWS_LAMBDA_RUNTIME_API",
            value: api,
            expected: "the Runtime API's `host:port`",
        });
    }
    present("AWS_LAMBDA_FUNCTION_NAME")?;
    let memory = present("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?;
    if memory.parse::<i32>().is_err() {
        return Err(EnvError::Invalid {
            name: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            value: memory,
            expected: "a whole number of MB",
        });
    }
    present("AWS_LAMBDA_FUNCTION_VERSION")?;
    Ok(api)
}

/// Plain-text logs without timestamps (CloudWatch adds them) and without terminal colours
/// (CloudWatch would show the escape codes), filtered by `RUST_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_ansi(false)
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
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(pipeline::aws::https_client())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn lambda_env() -> BTreeMap<String, String> {
        [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_LAMBDA_FUNCTION_NAME", "ingest"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn a_full_lambda_environment_passes_and_names_the_runtime_api() {
        assert_eq!(
            check_lambda_environment(&lambda_env()).unwrap(),
            "127.0.0.1:9001"
        );
    }

    #[test]
    fn each_missing_variable_is_named() {
        for name in LAMBDA_VARS {
            let mut env = lambda_env();
            env.remove(*name);
            assert_eq!(
                check_lambda_environment(&env).unwrap_err(),
                EnvError::Missing { name },
                "{name}"
            );
        }
    }

    #[test]
    fn malformed_values_are_refused_not_panicked_on() {
        let mut env = lambda_env();
        env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "256MB".into());
        let err = check_lambda_environment(&env).unwrap_err();
        assert!(
            err.to_string().contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            "{err}"
        );
        let mut env = lambda_env();
        env.insert("AWS_LAMBDA_RUNTIME_API".into(), "not a uri".into());
        let err = check_lambda_environment(&env).unwrap_err();
        assert!(err.to_string().contains("AWS_LAMBDA_RUNTIME_API"), "{err}");
    }
}
