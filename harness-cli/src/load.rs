//! A load generator for the ingest API: PUTs events over keep-alive HTTP connections at a
//! given concurrency (or a fixed rate) and reports events/s and latency percentiles.
//!
//! Used by `harness load` against a running `harness up`, and by the end-to-end benchmark.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Mutex;
use tokio::time::Instant;

use harness::stats::{Percentiles, new_histogram};

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// e.g. `http://127.0.0.1:3000/prod/stream`.
    pub url: String,
    pub api_key: String,
    pub stream: String,
    pub events: u64,
    pub concurrency: usize,
    /// Events per second in total; `None` sends as fast as the concurrency allows.
    pub rate: Option<f64>,
    /// Prefix of the event ids (`{prefix}-{n}`), so a run's items can be found again.
    pub id_prefix: String,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// PUT latency percentiles.
    pub latency: Percentiles,
}

impl LoadReport {
    pub fn events_per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid URL {0:?}")]
    Url(String),
    #[error("concurrency must be at least 1")]
    Concurrency,
}

/// Runs the load; `on_progress` is called with the number of events completed so far.
pub async fn run(
    options: LoadOptions,
    on_progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<LoadReport, LoadError> {
    let uri: http::Uri = options
        .url
        .parse()
        .map_err(|_| LoadError::Url(options.url.clone()))?;
    if options.concurrency == 0 {
        return Err(LoadError::Concurrency);
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(options.concurrency)
        .build(connector);

    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let histogram = Arc::new(Mutex::new(new_histogram()));
    let on_progress = Arc::new(on_progress);
    let options = Arc::new(options);
    let start = Instant::now();

    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (client, uri, options) = (client.clone(), uri.clone(), options.clone());
        let (next, done, counts) = (next.clone(), done.clone(), counts.clone());
        let (histogram, on_progress) = (histogram.clone(), on_progress.clone());
        workers.spawn(async move {
            let mut local = new_histogram();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= options.events {
                    break;
                }
                if let Some(rate) = options.rate {
                    // Open-loop pacing: event n is due at n / rate after the start.
                    tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate))
                        .await;
                }
                let body = serde_json::json!({
                    "stream": options.stream,
                    "id": format!("{}-{n}", options.id_prefix),
                    "payload": { "n": n, "energy_type": "nuclear" },
                });
                let request = http::Request::put(uri.clone())
                    .header("content-type", "application/json")
                    .header("x-api-key", &options.api_key)
                    .body(Full::new(Bytes::from(body.to_string())))
                    .expect("a request built from a parsed URI is valid");
                let sent_at = Instant::now();
                let outcome = match client.request(request).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.into_body().collect().await;
                        if ok { 0 } else { 1 }
                    }
                    Err(_) => 2,
                };
                let _ = local.record(sent_at.elapsed().as_micros().max(1) as u64);
                counts[outcome].fetch_add(1, Ordering::Relaxed);
                on_progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
            let _ = histogram.lock().await.add(&local);
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    let histogram = histogram.lock().await;
    Ok(LoadReport {
        sent: done.load(Ordering::Relaxed),
        accepted: counts[0].load(Ordering::Relaxed),
        rejected: counts[1].load(Ordering::Relaxed),
        errors: counts[2].load(Ordering::Relaxed),
        elapsed,
        latency: Percentiles::of(&histogram),
    })
}
