//! Backend selection, read once at the edge from the environment (through a lookup function,
//! so tests need no `set_var`).

use std::net::SocketAddr;
use std::str::FromStr;

use emulator::EmulatorConfig;

use super::BackendError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    #[default]
    Embedded,
    LocalStack,
    Endpoint,
}

impl BackendKind {
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

/// Everything needed to start a backend.
#[derive(Debug, Clone, Default)]
pub struct BackendSettings {
    pub kind: BackendKind,
    /// Embedded: serve the emulator over HTTP on this address too.
    pub emulator_addr: Option<SocketAddr>,
    pub emulator: EmulatorConfig,
    /// Endpoint: `AWS_ENDPOINT_URL` (per-service variables are read by aws-config itself).
    pub endpoint_url: Option<String>,
    /// Whether any per-service endpoint variable is set.
    pub per_service_endpoints: bool,
    pub region: String,
    /// Passed to LocalStack (images published after 2026-03 refuse to start without one).
    pub localstack_auth_token: Option<String>,
}

impl BackendSettings {
    /// Reads `HARNESS_BACKEND`, `AWS_ENDPOINT_URL[_KINESIS|_SQS|_DYNAMODB]`, `AWS_REGION`,
    /// `LOCALSTACK_AUTH_TOKEN` through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, BackendError> {
        let kind = lookup("HARNESS_BACKEND")
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or_default();
        let per_service_endpoints = ["KINESIS", "SQS", "DYNAMODB"]
            .iter()
            .any(|s| lookup(&format!("AWS_ENDPOINT_URL_{s}")).is_some());
        Ok(BackendSettings {
            kind,
            emulator_addr: None,
            emulator: EmulatorConfig::default(),
            endpoint_url: lookup("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()),
            per_service_endpoints,
            region: lookup("AWS_REGION")
                .or_else(|| lookup("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            localstack_auth_token: lookup("LOCALSTACK_AUTH_TOKEN").filter(|v| !v.is_empty()),
        })
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
            || self.per_service_endpoints
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
        assert!(s.per_service_endpoints);
        assert!(s.is_local_endpoint());
    }

    #[test]
    fn an_unknown_backend_is_named_in_the_error() {
        let err = BackendSettings::from_lookup(lookup(&[("HARNESS_BACKEND", "mars")])).unwrap_err();
        assert!(err.to_string().contains("mars"), "{err}");
    }
}
