//! The live view of `harness up` (`harness::report::live`): its state API and redrive action
//! through the router, and the page in a real headless Chromium against a running pipeline.
//! In real time (the browser polls a real socket), on the backend `HARNESS_BACKEND` names.

use std::sync::Arc;
use std::time::Duration;

use harness::report::{JourneyLog, live};
use harness::{Harness, HarnessOptions};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::browser;

async fn start() -> (Arc<Harness>, Arc<JourneyLog>) {
    let journeys = Arc::new(JourneyLog::bounded(100));
    let mut options = HarnessOptions::for_tests()
        .unwrap()
        .observe(journeys.clone());
    options.kinesis_poll_interval = Duration::from_millis(50);
    (
        Arc::new(Harness::start_with(options).await.unwrap()),
        journeys,
    )
}

async fn call(app: &axum::Router, method: &str, uri: &str) -> (u16, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn stop(h: Arc<Harness>) {
    Arc::try_unwrap(h)
        .unwrap_or_else(|_| panic!("the router still holds the harness"))
        .shutdown()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_state_lists_the_dlq_with_its_failure_attributes_and_redrive_stores_it() {
    crate::require!(MessageMoveTasks);
    let (h, journeys) = start().await;
    // The forwarder's 3 attempts fail, so it dead-letters the envelope with
    // failure.stage=forward (pipeline::dlq); StartMessageMoveTask moves it back
    // (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
    h.faults()
        .sqs("SendMessage")
        .to_queue()
        .error(500, "InternalError")
        .always()
        .for_event("bad-1")
        .install();
    h.ingest_ok(json!({"stream": "default", "id": "bad-1", "payload": {"n": 1}}))
        .await
        .unwrap();
    h.drain().await.unwrap();
    let app = live::router(h.clone(), journeys);
    let (status, state) = call(&app, "GET", "/api/state").await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["queues"][1]["role"], "dlq");
    assert_eq!(state["queues"][1]["visible"], 1, "{state}");
    let message = &state["dlq_messages"][0];
    assert_eq!(message["id"], "bad-1");
    assert_eq!(
        message["attributes"]["failure.stage"], "forward",
        "{message}"
    );
    assert_eq!(state["journeys"][0]["id"], "bad-1");
    assert_eq!(state["journeys"][0]["outcome"], "dlq");
    assert_eq!(state["table"]["items"], 0);

    h.faults().clear();
    let (status, moved) = call(&app, "POST", "/api/redrive").await;
    assert_eq!((status, &moved["moved"]), (200, &json!(1)), "{moved}");
    h.drain().await.unwrap();
    let (_, state) = call(&app, "GET", "/api/state").await;
    assert_eq!(state["table"]["items"], 1, "{state}");
    assert_eq!(state["table"]["latest"][0]["id"], "bad-1");
    assert_eq!(state["journeys"][0]["outcome"], "redriven");
    assert_eq!(call(&app, "GET", "/").await.0, 200);
    drop(app);
    stop(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_view_in_a_browser_shows_an_ingested_event_reaching_the_table() {
    crate::require!();
    let Some(chromium) = browser::chromium_or_skip(&crate::test_name!()) else {
        return;
    };
    let (h, journeys) = start().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, live::router(h.clone(), journeys))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    h.ingest_ok(json!({"stream": "default", "id": "live-1", "payload": {"energy_type": "wind"}}))
        .await
        .unwrap();
    h.drain().await.unwrap();

    let dom = {
        let (chromium, url) = (chromium.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            browser::dump_dom(&chromium, &url, Duration::from_secs(3))
        })
        .await
        .unwrap()
    };
    assert!(dom.contains("<b id=\"item-count\">1</b>"), "{dom}");
    assert!(
        dom.contains("<td class=\"mono\" data-id=\"live-1\">"),
        "no latest item"
    );
    let journey = browser::element(&dom, "data-id=\"live-1\" data-outcome=", "journey");
    assert!(journey.contains("data-outcome=\"stored\""), "{journey}");
    let text = browser::text(journey);
    assert!(text.contains("kinesis: PUT accepted"), "{text}");
    assert!(text.contains("store: stored: item written"), "{text}");
    let png = tokio::task::spawn_blocking(move || {
        browser::screenshot(
            &chromium,
            &url,
            "live-view.png",
            (1280, 1000),
            Duration::from_secs(3),
        )
    })
    .await
    .unwrap();
    eprintln!("screenshot: {}", png.display());
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    stop(h).await;
}
