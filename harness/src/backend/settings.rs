//! Backend selection, read once at the edge from the environment (through a lookup function,
//! so tests need no `set_var`): which backend runs (`HARNESS_BACKEND`), what kind of server it
//! talks to (`HARNESS_ENDPOINT_KIND`, or detected from the endpoint; it decides the
//! capabilities), and which LocalStack image to start (`LOCALSTACK_IMAGE`).

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::str::FromStr;

use emulator::EmulatorConfig;

use super::BackendError;
use super::capabilities::Capabilities;
use super::localstack::ImageRef;

/// Where AWS calls go (`HARNESS_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// The emulator in this process (the default; tokio's paused clock drives it).
    #[default]
    Embedded,
    /// A LocalStack container, started through testcontainers.
    LocalStack,
    /// Any endpoint the SDK's variables name (moto, LocalStack already running, AWS).
    Endpoint,
}

impl BackendKind {
    /// As `HARNESS_BACKEND` spells it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Embedded => "embedded",
            BackendKind::LocalStack => "localstack",
            BackendKind::Endpoint => "endpoint",
        }
    }
}

impl FromStr for BackendKind {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "embedded" => Ok(BackendKind::Embedded),
            "localstack" => Ok(BackendKind::LocalStack),
            "endpoint" => Ok(BackendKind::Endpoint),
            other => Err(BackendError::UnknownKind(other.to_owned())),
        }
    }
}

/// The kind of server behind a backend: what decides its capabilities (moto's gaps are not
/// LocalStack's, nor AWS's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointKind {
    /// The in-process emulator.
    #[default]
    Embedded,
    /// LocalStack (a container the harness starts, or one already running).
    LocalStack,
    /// moto server.
    Moto,
    /// Real AWS.
    Aws,
}

impl EndpointKind {
    /// As `HARNESS_ENDPOINT_KIND` spells it.
    pub fn name(self) -> &'static str {
        match self {
            EndpointKind::Embedded => "embedded",
            EndpointKind::LocalStack => "localstack",
            EndpointKind::Moto => "moto",
            EndpointKind::Aws => "aws",
        }
    }

    /// The kind of server `backend` talks to when `HARNESS_ENDPOINT_KIND` does not say.
    ///
    /// An endpoint backend with no endpoint URL is real AWS, and so is an `amazonaws.com`
    /// URL; a URL naming LocalStack or its port 4566 is LocalStack. Any other local endpoint
    /// is taken for moto (what CI runs): its gaps are the widest, so no test assumes more than
    /// such a server has. Set `HARNESS_ENDPOINT_KIND` when that guess is wrong.
    pub fn detect(backend: BackendKind, endpoint_urls: &[String]) -> EndpointKind {
        match backend {
            BackendKind::Embedded => EndpointKind::Embedded,
            BackendKind::LocalStack => EndpointKind::LocalStack,
            BackendKind::Endpoint => {
                let Some(url) = endpoint_urls.first() else {
                    return EndpointKind::Aws;
                };
                let authority = url
                    .split_once("://")
                    .map_or(url.as_str(), |(_, rest)| rest)
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let host = authority
                    .rsplit_once(':')
                    .map_or(authority.as_str(), |(h, _)| h);
                if host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") {
                    EndpointKind::Aws
                } else if host.contains("localstack") || authority.ends_with(":4566") {
                    EndpointKind::LocalStack
                } else {
                    EndpointKind::Moto
                }
            }
        }
    }
}

impl FromStr for EndpointKind {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "embedded" => Ok(EndpointKind::Embedded),
            "localstack" => Ok(EndpointKind::LocalStack),
            "moto" => Ok(EndpointKind::Moto),
            "aws" => Ok(EndpointKind::Aws),
            other => Err(BackendError::UnknownEndpointKind(other.to_owned())),
        }
    }
}

/// The services whose `AWS_ENDPOINT_URL_<SERVICE>` the harness's clients read.
const SERVICES: [&str; 3] = ["KINESIS", "SQS", "DYNAMODB"];

/// Everything needed to start a backend.
#[derive(Debug, Clone, Default)]
pub struct BackendSettings {
    /// Which backend.
    pub kind: BackendKind,
    /// Embedded: serve the emulator over HTTP on this address too.
    pub emulator_addr: Option<SocketAddr>,
    /// Embedded: the emulator's settings (region, account, throughput limits).
    pub emulator: EmulatorConfig,
    /// Endpoint: `AWS_ENDPOINT_URL` (per-service variables are read by aws-config itself).
    pub endpoint_url: Option<String>,
    /// Endpoint: the per-service variables set, as (`KINESIS`|`SQS`|`DYNAMODB`, URL)
    /// (`AWS_ENDPOINT_URL_<SERVICE>`; aws-config reads them itself).
    pub service_endpoints: Vec<(&'static str, String)>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`; `us-east-1` by default).
    pub region: String,
    /// Passed to LocalStack (images published after 2026-03 refuse to start without one).
    pub localstack_auth_token: Option<String>,
    /// `LOCALSTACK_IMAGE`: the image the localstack backend starts (default: the official
    /// image at [`super::LOCALSTACK_TAG`]; `just localstack-image` builds a token-free one).
    pub localstack_image: Option<ImageRef>,
    /// The kind of server behind the backend (`HARNESS_ENDPOINT_KIND`, or detected).
    pub endpoint_kind: EndpointKind,
    /// `HARNESS_ALLOW_REAL_AWS=1` (or the CLI's `--allow-real-aws`): the endpoint backend may
    /// reach real AWS. Without it, [`super::Backend::start`] refuses to.
    pub allow_real_aws: bool,
}

impl BackendSettings {
    /// Reads `HARNESS_BACKEND`, `HARNESS_ENDPOINT_KIND`,
    /// `AWS_ENDPOINT_URL[_KINESIS|_SQS|_DYNAMODB]`, `AWS_REGION`, `LOCALSTACK_AUTH_TOKEN` and
    /// `LOCALSTACK_IMAGE` through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, BackendError> {
        let kind = lookup("HARNESS_BACKEND")
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or_default();
        let endpoint_url = lookup("AWS_ENDPOINT_URL").filter(|v| !v.is_empty());
        let service_endpoints: Vec<(&'static str, String)> = SERVICES
            .into_iter()
            .filter_map(|s| {
                let url = lookup(&format!("AWS_ENDPOINT_URL_{s}")).filter(|v| !v.is_empty())?;
                Some((s, url))
            })
            .collect();
        let urls: Vec<String> = endpoint_url
            .iter()
            .cloned()
            .chain(service_endpoints.iter().map(|(_, url)| url.clone()))
            .collect();
        let endpoint_kind = match lookup("HARNESS_ENDPOINT_KIND").filter(|v| !v.trim().is_empty()) {
            Some(v) => v.parse()?,
            None => EndpointKind::detect(kind, &urls),
        };
        Ok(BackendSettings {
            kind,
            emulator_addr: None,
            emulator: EmulatorConfig::default(),
            endpoint_url,
            service_endpoints,
            region: lookup("AWS_REGION")
                .or_else(|| lookup("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            localstack_auth_token: lookup("LOCALSTACK_AUTH_TOKEN").filter(|v| !v.is_empty()),
            localstack_image: lookup("LOCALSTACK_IMAGE")
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.parse())
                .transpose()?,
            endpoint_kind,
            allow_real_aws: lookup("HARNESS_ALLOW_REAL_AWS")
                .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
        })
    }

    /// Why the endpoint backend would reach real AWS (a service that neither
    /// `AWS_ENDPOINT_URL` nor its own `AWS_ENDPOINT_URL_<SERVICE>` covers, or an
    /// `amazonaws.com` endpoint), whatever `HARNESS_ENDPOINT_KIND` says; `None` otherwise.
    pub fn real_aws_reason(&self) -> Option<String> {
        if self.kind != BackendKind::Endpoint {
            return None;
        }
        if self.endpoint_url.is_none() {
            let uncovered: Vec<&str> = SERVICES
                .into_iter()
                .filter(|s| self.service_endpoints.iter().all(|(set, _)| set != s))
                .collect();
            if !uncovered.is_empty() {
                return Some(format!(
                    "no AWS_ENDPOINT_URL, and no AWS_ENDPOINT_URL_{} either",
                    uncovered.join(" / AWS_ENDPOINT_URL_")
                ));
            }
        }
        self.endpoint_url
            .iter()
            .chain(self.service_endpoints.iter().map(|(_, url)| url))
            .find(|url| {
                EndpointKind::detect(BackendKind::Endpoint, std::slice::from_ref(*url))
                    == EndpointKind::Aws
            })
            .map(|url| format!("{url} is an AWS endpoint"))
    }

    /// What the backend these settings name can do.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::of(self.endpoint_kind)
    }

    /// From the process environment.
    pub fn from_env() -> Result<Self, BackendError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// An endpoint backend pointing somewhere local (not real AWS) gets static test
    /// credentials, so no AWS account is ever needed.
    pub fn is_local_endpoint(&self) -> bool {
        self.kind == BackendKind::LocalStack
            || self.endpoint_url.is_some()
            || !self.service_endpoints.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_endpoint_backend_names_what_would_reach_real_aws() {
        let none =
            BackendSettings::from_lookup(lookup(&[("HARNESS_BACKEND", "endpoint")])).unwrap();
        assert!(
            none.real_aws_reason()
                .unwrap()
                .contains("no AWS_ENDPOINT_URL")
        );
        let partial = BackendSettings::from_lookup(lookup(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        let reason = partial.real_aws_reason().unwrap();
        assert!(reason.contains("AWS_ENDPOINT_URL_KINESIS"), "{reason}");
        assert!(!reason.contains("AWS_ENDPOINT_URL_SQS"), "{reason}");
        let aws = BackendSettings::from_lookup(lookup(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("AWS_ENDPOINT_URL", "https://sqs.eu-west-1.amazonaws.com"),
            ("HARNESS_ENDPOINT_KIND", "moto"),
        ]))
        .unwrap();
        assert!(
            aws.real_aws_reason()
                .unwrap()
                .contains("is an AWS endpoint")
        );
        let local = BackendSettings::from_lookup(lookup(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(local.real_aws_reason(), None);
        assert!(!local.allow_real_aws);
        let allowed = BackendSettings::from_lookup(lookup(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("HARNESS_ALLOW_REAL_AWS", "1"),
        ]))
        .unwrap();
        assert!(allowed.allow_real_aws);
        let embedded = BackendSettings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(embedded.real_aws_reason(), None);
    }

    #[test]
    fn embedded_is_the_default() {
        let s = BackendSettings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(s.kind, BackendKind::Embedded);
        assert_eq!(s.region, "us-east-1");
    }

    #[test]
    fn endpoint_backend_reads_the_sdk_variables() {
        let s = BackendSettings::from_lookup(lookup(&[
            ("HARNESS_BACKEND", "endpoint"),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(s.kind, BackendKind::Endpoint);
        assert_eq!(
            s.service_endpoints,
            [("SQS", "http://127.0.0.1:5000".to_owned())]
        );
        assert!(s.is_local_endpoint());
    }

    #[test]
    fn the_endpoint_kind_is_detected_from_the_endpoint_unless_named() {
        let kind = |pairs: &'static [(&'static str, &'static str)]| {
            BackendSettings::from_lookup(lookup(pairs))
                .unwrap()
                .endpoint_kind
        };
        assert_eq!(kind(&[]), EndpointKind::Embedded);
        assert_eq!(
            kind(&[("HARNESS_BACKEND", "localstack")]),
            EndpointKind::LocalStack
        );
        assert_eq!(kind(&[("HARNESS_BACKEND", "endpoint")]), EndpointKind::Aws);
        assert_eq!(
            kind(&[
                ("HARNESS_BACKEND", "endpoint"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
            ]),
            EndpointKind::Moto
        );
        assert_eq!(
            kind(&[
                ("HARNESS_BACKEND", "endpoint"),
                ("AWS_ENDPOINT_URL_SQS", "http://localhost:4566")
            ]),
            EndpointKind::LocalStack
        );
        assert_eq!(
            kind(&[
                ("HARNESS_BACKEND", "endpoint"),
                (
                    "AWS_ENDPOINT_URL",
                    "https://kinesis.eu-west-1.amazonaws.com"
                )
            ]),
            EndpointKind::Aws
        );
        assert_eq!(
            kind(&[
                ("HARNESS_BACKEND", "endpoint"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
                ("HARNESS_ENDPOINT_KIND", "LocalStack")
            ]),
            EndpointKind::LocalStack
        );
        let err = BackendSettings::from_lookup(lookup(&[("HARNESS_ENDPOINT_KIND", "azure")]))
            .unwrap_err();
        assert!(err.to_string().contains("azure"), "{err}");
    }

    #[test]
    fn localstack_image_names_an_image_and_its_tag() {
        let s = BackendSettings::from_lookup(lookup(&[(
            "LOCALSTACK_IMAGE",
            "kinesis-pipeline/localstack:2026.3.0",
        )]))
        .unwrap();
        let image = s.localstack_image.unwrap();
        assert_eq!(image.name, "kinesis-pipeline/localstack");
        assert_eq!(image.tag, "2026.3.0");
        assert!(BackendSettings::from_lookup(lookup(&[("LOCALSTACK_IMAGE", "no-tag")])).is_err());
    }

    #[test]
    fn an_unknown_backend_is_named_in_the_error() {
        let err = BackendSettings::from_lookup(lookup(&[("HARNESS_BACKEND", "mars")])).unwrap_err();
        assert!(err.to_string().contains("mars"), "{err}");
    }
}
