//! Backend selection as `HARNESS_BACKEND` drives it: LocalStack's startup through
//! `Backend::start` (skips with the reason where Docker is unavailable), and the endpoint
//! backend's SDK configuration from the SDK's own variables.

use harness::backend::{Backend, BackendError, BackendKind, BackendSettings, provision};
use harness::stack::unique_prefix;
use harness::template::PipelineSpec;

/// `HARNESS_BACKEND=localstack`-style startup: a container through testcontainers, its health
/// endpoint polled, the pipeline's resources provisioned on it and a record round-tripped.
#[tokio::test]
async fn localstack_starts_through_backend_start_and_takes_the_pipelines_resources() {
    let token = std::env::var("LOCALSTACK_AUTH_TOKEN").ok();
    let settings = BackendSettings::from_lookup(|k| match k {
        "HARNESS_BACKEND" => Some("localstack".into()),
        "LOCALSTACK_AUTH_TOKEN" => token.clone(),
        _ => None,
    })
    .unwrap();
    let backend = match Backend::start(&settings).await {
        Ok(backend) => backend,
        Err(BackendError::LocalStackUnavailable(reason)) => {
            crate::support::skipped(
                &crate::test_name!(),
                &format!("LocalStack is unavailable (needs a Docker engine): {reason}"),
            );
            return;
        }
        Err(other) => panic!("{other}"),
    };
    assert_eq!(backend.kind(), BackendKind::LocalStack);
    assert!(
        backend
            .endpoint_url()
            .is_some_and(|u| u.starts_with("http://"))
    );
    let provisioned = provision(
        &backend.sdk_config(),
        &PipelineSpec::of_project(Some(unique_prefix("ls"))).unwrap(),
    )
    .await
    .unwrap();
    let kinesis = aws_sdk_kinesis::Client::new(&backend.sdk_config());
    let put = kinesis
        .put_record()
        .stream_name(&provisioned.resources.stream)
        .partition_key("k")
        .data(aws_sdk_kinesis::primitives::Blob::new("hello"))
        .send()
        .await
        .unwrap();
    assert!(put.shard_id.starts_with("shardId-"));
}

/// The endpoint backend takes its URL from `AWS_ENDPOINT_URL` (or the per-service variables)
/// and never needs real credentials for a local endpoint.
#[tokio::test]
async fn the_endpoint_backend_points_its_clients_at_aws_endpoint_url() {
    let settings = BackendSettings::from_lookup(|k| match k {
        "HARNESS_BACKEND" => Some("endpoint".into()),
        "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9".into()),
        _ => None,
    })
    .unwrap();
    let backend = Backend::start(&settings).await.unwrap();
    assert_eq!(backend.kind(), BackendKind::Endpoint);
    assert_eq!(backend.endpoint_url(), Some("http://127.0.0.1:9"));
    let sdk = backend.sdk_config();
    assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:9"));
    assert!(sdk.credentials_provider().is_some());
    assert!(backend.emulator().is_none());
    assert!(!backend.capabilities().paused_time);
}
