//! Backend selection as `HARNESS_BACKEND` drives it: LocalStack's startup through
//! `Backend::start` (skips with the reason where Docker is unavailable), and the endpoint
//! backend's SDK configuration from the SDK's own variables.

use harness::backend::{
    Backend, BackendError, BackendKind, BackendSettings, EndpointKind, error_chain, provision,
};
use harness::stack::unique_prefix;
use harness::template::PipelineSpec;

/// `HARNESS_BACKEND=localstack`-style startup: a container through testcontainers (the image
/// `LOCALSTACK_IMAGE` names, or the official one), ready by its health endpoint, the
/// pipeline's resources provisioned on it and a record round-tripped.
#[tokio::test]
async fn localstack_starts_through_backend_start_and_takes_the_pipelines_resources() {
    let settings = BackendSettings::from_lookup(|k| match k {
        "HARNESS_BACKEND" => Some("localstack".into()),
        "LOCALSTACK_AUTH_TOKEN" | "LOCALSTACK_IMAGE" => std::env::var(k).ok(),
        _ => None,
    })
    .unwrap();
    let started = std::time::Instant::now();
    let backend = match Backend::start(&settings).await {
        Ok(backend) => {
            // The same start `harness bench --localstack` times (BENCHMARKS.md's one-run table).
            eprintln!(
                "localstack start-to-ready through testcontainers: {:.1} s",
                started.elapsed().as_secs_f64()
            );
            backend
        }
        Err(e @ BackendError::LocalStackUnavailable(_)) => {
            crate::support::skipped(
                &crate::test_name!(),
                &format!("{} (needs a Docker engine and the image)", error_chain(&e)),
            );
            return;
        }
        Err(other) => panic!("{}", error_chain(&other)),
    };
    assert_eq!(backend.kind(), BackendKind::LocalStack);
    assert_eq!(backend.endpoint_kind(), EndpointKind::LocalStack);
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

/// Real AWS is never reached by accident: the endpoint backend with no endpoint variable (the
/// SDK would go to AWS) or an `amazonaws.com` endpoint is refused, naming the way to mean it.
#[tokio::test]
async fn the_endpoint_backend_refuses_real_aws_unless_allowed() {
    for vars in [
        &[("HARNESS_BACKEND", "endpoint")][..],
        &[
            ("HARNESS_BACKEND", "endpoint"),
            (
                "AWS_ENDPOINT_URL",
                "https://kinesis.us-east-1.amazonaws.com",
            ),
        ][..],
    ] {
        let settings = BackendSettings::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let err = Backend::start(&settings).await.err().expect("refused");
        let message = err.to_string();
        assert!(
            matches!(err, BackendError::RealAwsRefused { .. }),
            "{message}"
        );
        assert!(message.contains("HARNESS_ALLOW_REAL_AWS=1"), "{message}");
        assert!(message.contains("--allow-real-aws"), "{message}");
    }
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
    // Not the default chain (which would look for a profile or fail): the harness's static
    // test credentials, whose access key id is the emulator's account (see test_credentials).
    use aws_credential_types::provider::ProvideCredentials;
    let credentials = sdk
        .credentials_provider()
        .expect("a credentials provider")
        .provide_credentials()
        .await
        .expect("static credentials resolve without any AWS configuration");
    assert_eq!(credentials.access_key_id(), "000000000000");
    assert_eq!(credentials.secret_access_key(), "test");
    assert!(backend.emulator().is_none());
    assert!(!backend.capabilities().paused_time);
}
