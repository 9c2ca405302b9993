//! `harness bench --localstack`: LocalStack as one more endpoint target, started through the
//! harness library's LocalStack backend (`harness::backend::Backend::start` with
//! `HARNESS_BACKEND=localstack`: the same testcontainers path the test suite and
//! `harness scenario` take, the image from `LOCALSTACK_IMAGE`), with the time that start took.

use std::time::{Duration, Instant};

use harness::backend::{Backend, BackendError, BackendSettings, ImageRef};

/// The endpoint's name in the report (`LocalStack (HTTP)`, `emulator / LocalStack (HTTP)`).
pub const NAME: &str = "LocalStack";

/// Why `--localstack` could not give the benchmark an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum LocalStackError {
    /// `LOCALSTACK_IMAGE` (or another variable the backend reads) is invalid.
    #[error("--localstack: the LocalStack settings are invalid")]
    Settings(#[source] BackendError),
    /// Docker is missing, the image is missing, or the container never became healthy.
    #[error(
        "--localstack: could not start LocalStack from the image {image} (it needs a running \
         Docker engine and that image: `scripts/localstack-image` builds the token-free \
         kinesis-pipeline/localstack:2026.3.0, and LOCALSTACK_IMAGE=NAME:TAG selects an image)"
    )]
    Start {
        /// The image asked for (`NAME:TAG`).
        image: String,
        /// The backend's error, with testcontainers' (or Docker's) beneath it.
        #[source]
        source: BackendError,
    },
    /// The backend started but gave no endpoint URL (it always does for LocalStack).
    #[error("--localstack: the LocalStack backend started but reported no endpoint URL")]
    NoEndpoint,
}

/// A LocalStack container ready for the benchmark.
pub struct Started {
    /// The image it runs (`NAME:TAG`).
    pub image: String,
    /// Its gateway, e.g. `http://127.0.0.1:32768`.
    pub url: String,
    /// From `Backend::start` to its return: the container created through testcontainers and
    /// its health endpoint reporting Kinesis, SQS and DynamoDB up.
    pub start_to_ready: Duration,
    // Held for the benchmark's duration; the container itself lives until the process exits.
    _backend: Backend,
}

/// The settings `Backend::start` gets: the LocalStack backend whatever `HARNESS_BACKEND`
/// says, with `LOCALSTACK_IMAGE`, `LOCALSTACK_AUTH_TOKEN` and `AWS_REGION` from `lookup`.
pub fn settings(lookup: impl Fn(&str) -> Option<String>) -> Result<BackendSettings, BackendError> {
    BackendSettings::from_lookup(|key| match key {
        "HARNESS_BACKEND" => Some("localstack".into()),
        "LOCALSTACK_IMAGE" | "LOCALSTACK_AUTH_TOKEN" | "AWS_REGION" | "AWS_DEFAULT_REGION" => {
            lookup(key)
        }
        // Endpoint variables would not change where LocalStack runs; leave them out.
        _ => None,
    })
}

/// Starts LocalStack (once per process) and times it.
pub async fn start(lookup: impl Fn(&str) -> Option<String>) -> Result<Started, LocalStackError> {
    let settings = settings(lookup).map_err(LocalStackError::Settings)?;
    let image = settings
        .localstack_image
        .clone()
        .unwrap_or_else(ImageRef::official)
        .to_string();
    let began = Instant::now();
    let backend = Backend::start(&settings)
        .await
        .map_err(|source| LocalStackError::Start {
            image: image.clone(),
            source,
        })?;
    let start_to_ready = began.elapsed();
    let url = backend
        .endpoint_url()
        .ok_or(LocalStackError::NoEndpoint)?
        .trim_end_matches('/')
        .to_owned();
    Ok(Started {
        image,
        url,
        start_to_ready,
        _backend: backend,
    })
}

#[cfg(test)]
mod tests {
    use harness::backend::{BackendKind, EndpointKind, LOCALSTACK_IMAGE_NAME};

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_localstack_backend_is_asked_for_whatever_harness_backend_says() {
        let s = settings(env(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("LOCALSTACK_IMAGE", "kinesis-pipeline/localstack:2026.3.0"),
        ]))
        .unwrap();
        assert_eq!(s.kind, BackendKind::LocalStack);
        assert_eq!(s.endpoint_kind, EndpointKind::LocalStack);
        assert_eq!(s.endpoint_url, None);
        assert_eq!(
            s.localstack_image.map(|i| i.to_string()).as_deref(),
            Some("kinesis-pipeline/localstack:2026.3.0")
        );
        // Without LOCALSTACK_IMAGE the backend starts the official image.
        let s = settings(env(&[])).unwrap();
        assert_eq!(s.localstack_image, None);
        assert_eq!(ImageRef::official().name, LOCALSTACK_IMAGE_NAME);
    }

    #[test]
    fn a_bad_image_is_refused_naming_the_variable() {
        let error = settings(env(&[("LOCALSTACK_IMAGE", "no-tag")])).unwrap_err();
        assert!(error.to_string().contains("LOCALSTACK_IMAGE"), "{error}");
    }

    #[test]
    fn a_failed_start_names_the_image_and_what_it_needs() {
        let error = LocalStackError::Start {
            image: "kinesis-pipeline/localstack:2026.3.0".into(),
            source: BackendError::UnknownKind("x".into()),
        };
        let text = error.to_string();
        assert!(
            text.contains("kinesis-pipeline/localstack:2026.3.0"),
            "{text}"
        );
        assert!(text.contains("Docker engine"), "{text}");
        assert!(text.contains("scripts/localstack-image"), "{text}");
        assert!(std::error::Error::source(&error).is_some());
    }
}
