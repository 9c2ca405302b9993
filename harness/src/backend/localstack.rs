//! LocalStack through testcontainers.

use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};
use testcontainers_modules::localstack::LocalStack;

use super::BackendError;

/// The LocalStack image tag. Pinned so that runs are reproducible; 4.5 is the tag the
/// testcontainers module was released against. Images published after 2026-03 refuse to start
/// without `LOCALSTACK_AUTH_TOKEN`, which is passed through when set.
pub const LOCALSTACK_TAG: &str = "4.5";

pub(super) struct Container {
    pub endpoint_url: String,
    _container: ContainerAsync<LocalStack>,
}

pub(super) async fn start(auth_token: Option<String>) -> Result<Container, BackendError> {
    let mut image = LocalStack::default()
        .with_tag(LOCALSTACK_TAG)
        .with_env_var("SERVICES", "kinesis,sqs,dynamodb");
    if let Some(token) = auth_token {
        image = image.with_env_var("LOCALSTACK_AUTH_TOKEN", token);
    }
    // testcontainers waits for LocalStack's "Ready." line (its health endpoint turning ready).
    let container = image
        .start()
        .await
        .map_err(|e| BackendError::LocalStackUnavailable(e.to_string()))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| BackendError::LocalStackUnavailable(e.to_string()))?;
    let port = container
        .get_host_port_ipv4(4566)
        .await
        .map_err(|e| BackendError::LocalStackUnavailable(e.to_string()))?;
    Ok(Container {
        endpoint_url: format!("http://{host}:{port}"),
        _container: container,
    })
}
