//! The ingest API: each input is up to eight HTTP requests (any method, path, headers and
//! body; the first line is `METHOD /path`, see the crate docs) sent through the axum app
//! `pipeline::ingest::app` builds, with the seed's configuration (stage `prod`, its local API
//! key, stream `default`) and a real `KinesisTransport` whose SDK client talks to an
//! in-process emulator (no socket, no network) holding the Kinesis stream `events`.
//!
//! Checked: no panic, no hang, and every answer is API Gateway shaped: a status the API
//! documents and a JSON body (`{"message"}` for errors, the receipt for a 200).

#![no_main]

use std::cell::RefCell;
use std::sync::Arc;

use aws_credential_types::Credentials;
use axum::Router;
use axum::body::Body;
use emulator::client::InProcessClient;
use emulator::{Emulator, EmulatorConfig};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use pipeline::{IngestConfig, IngestState, NoopObserver};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// A fresh emulator every so many executions: accepted records pile up in its stream.
const EXECUTIONS_PER_EMULATOR: u32 = 10_000;

struct Fixture {
    router: Router,
    executions: u32,
}

thread_local! {
    static RUNTIME: Runtime = kinesis_pipeline_fuzz::runtime();
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let requests = kinesis_pipeline_fuzz::requests(data);
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let router = router().await;
            for text in requests {
                let Some(request) = build(&text) else {
                    continue;
                };
                let response = router.clone().oneshot(request).await.expect("infallible");
                let status = response.status().as_u16();
                assert!(
                    matches!(
                        status,
                        200 | 400 | 403 | 404 | 405 | 413 | 415 | 502 | 503 | 504
                    ),
                    "status {status} for {text:?}"
                );
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("a body")
                    .to_bytes();
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                    panic!("status {status}: body is not JSON ({e}): {body:?}")
                });
                if status != 200 {
                    assert!(json["message"].is_string(), "status {status}: {json}");
                }
            }
        })
    });
});

/// The app over the current emulator, replaced every [`EXECUTIONS_PER_EMULATOR`] runs.
async fn router() -> Router {
    let reuse = FIXTURE.with_borrow_mut(|fixture| {
        let f = fixture.as_mut()?;
        f.executions += 1;
        (f.executions < EXECUTIONS_PER_EMULATOR).then(|| f.router.clone())
    });
    if let Some(router) = reuse {
        return router;
    }
    let emulator = Emulator::new(EmulatorConfig::default());
    let config = aws_sdk_kinesis::Config::builder()
        .http_client(InProcessClient::new(emulator))
        .endpoint_url("http://emulator.local")
        .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::from_keys("fuzz", "fuzz", None))
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_kinesis::Client::from_conf(config);
    client
        .create_stream()
        .stream_name("events")
        .shard_count(2)
        .send()
        .await
        .expect("the emulator creates the stream");
    let ingest = IngestConfig::single("events");
    let state = IngestState::from_config(&client, &ingest, Arc::new(NoopObserver));
    let router = pipeline::app(state, &ingest);
    FIXTURE.with_borrow_mut(|fixture| {
        *fixture = Some(Fixture {
            router: router.clone(),
            executions: 0,
        })
    });
    router
}

/// The request the text describes; `None` when it names a method, path or header `http`
/// cannot carry (no client could send it either).
fn build(text: &kinesis_pipeline_fuzz::TextRequest<'_>) -> Option<http::Request<Body>> {
    let line = std::str::from_utf8(text.first_line).ok()?;
    let (method, path) = line.split_once(' ').unwrap_or((line, "/"));
    let mut builder = http::Request::builder()
        .method(http::Method::from_bytes(method.as_bytes()).ok()?)
        .uri(path);
    for (name, value) in &text.headers {
        let name = http::HeaderName::from_bytes(name).ok()?;
        let value = http::HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(Body::from(text.body.to_vec())).ok()
}
