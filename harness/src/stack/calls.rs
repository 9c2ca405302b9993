//! SDK calls counted per service and operation, for load runs: a thin `HttpClient` layer that
//! reads each request's `X-Amz-Target` and counts it, without the fault layer's body
//! inspection and journal (which would cost a load run time it is measuring). It also counts
//! the requests that carry a SigV4 `Authorization` header, so a test can check that the
//! in-process edge goes unsigned and every socket backend signed (`stack/unsigned.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

use crate::fault::Service;

/// Calls per `(service, operation)`, shared by every client of one harness.
#[derive(Debug, Clone, Default)]
pub struct CallCounts(Arc<Counted>);

#[derive(Debug, Default)]
struct Counted {
    /// Service -> operation -> requests: looked up by `&str`, so counting a call allocates
    /// only the first time an operation is seen.
    calls: Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>,
    signed: AtomicU64,
}

impl CallCounts {
    /// The counts so far: `(service, operation)` -> HTTP requests (SDK retries included).
    pub fn snapshot(&self) -> BTreeMap<(String, String), u64> {
        let calls = self.0.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls
            .iter()
            .flat_map(|(service, operations)| {
                operations
                    .iter()
                    .map(|(operation, n)| (((*service).to_owned(), operation.clone()), *n))
            })
            .collect()
    }

    /// How many of the requests counted carried an `Authorization` header (SigV4).
    pub fn signed(&self) -> u64 {
        self.0.signed.load(Ordering::Relaxed)
    }

    fn count(&self, request: &HttpRequest) {
        let Some((service, operation)) = request
            .headers()
            .get("x-amz-target")
            .and_then(Service::from_target)
        else {
            return;
        };
        if request.headers().get("authorization").is_some() {
            self.0.signed.fetch_add(1, Ordering::Relaxed);
        }
        let mut calls = self.0.calls.lock().unwrap_or_else(|e| e.into_inner());
        let operations = calls.entry(service.name()).or_default();
        match operations.get_mut(operation) {
            Some(n) => *n += 1,
            None => {
                operations.insert(operation.to_owned(), 1);
            }
        }
    }
}

/// The counting layer over `inner`.
#[derive(Debug, Clone)]
pub(crate) struct CountingHttpClient {
    inner: SharedHttpClient,
    counts: CallCounts,
}

impl CountingHttpClient {
    pub(crate) fn new(inner: impl HttpClient + 'static, counts: CallCounts) -> Self {
        Self {
            inner: inner.into_shared(),
            counts,
        }
    }
}

impl HttpClient for CountingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counts: self.counts.clone(),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    counts: CallCounts,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.counts.count(&request);
        self.inner.call(request)
    }
}
