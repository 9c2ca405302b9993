//! The HTML report of a run (`harness::report`): its model and markup checked directly, and
//! the file opened in a real headless Chromium (see `browser`), which runs its JS and keeps
//! a screenshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use harness::report::{self, Hop, JourneyLog, MarkKind, Outcome, RunModel};
use harness::scenario::{self, RunOptions, ScenarioReport};

use crate::browser;
use crate::support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Runs a scenario with its journeys kept, and returns the report and its model.
fn run(name: &str, parsed: &scenario::Scenario) -> (ScenarioReport, RunModel) {
    let mut options = RunOptions::new(root(), support::settings().clone());
    if !support::is_embedded() {
        options.overrides = harness::stack::real_time_overrides();
    }
    let journeys = Arc::new(JourneyLog::new());
    options.journeys = Some(journeys.clone());
    let report = support::on_any_clock(scenario::run(name, parsed, &options))
        .unwrap_or_else(|e| panic!("{name}: {}", harness::backend::error_chain(&e)));
    let model = report::scenario_model(&report, &journeys);
    (report, model)
}

fn run_file(name: &str) -> (ScenarioReport, RunModel) {
    let parsed = scenario::load(&root().join(format!("scenarios/{name}.toml"))).unwrap();
    run(name, &parsed)
}

fn write(model: &RunModel, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(support::unique(name) + ".html");
    report::write_html(&path, model).unwrap();
    path
}

#[test]
fn sqs_failure_report_shows_e3s_three_send_message_attempts_and_the_dlq() {
    crate::require!();
    // scenarios/sqs-failure.toml: e-3's SendMessage to the queue always fails (500; the
    // forwarder sends with SendMessageBatch, so the rule fails e-3's entry, InternalError,
    // each entry one attempt); the forward handler gives up after its 3 attempts and sends
    // the envelope to the DLQ with failure.stage=forward. The template's forwarder is the one Lambda runs (a 500 is
    // retryable for SQS: docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
    let (report, model) = run_file("sqs-failure");
    assert!(report.passed(), "{}", report.render());
    let e3 = model
        .lanes
        .iter()
        .find(|l| l.id == "e-3")
        .expect("e-3's lane");
    assert_eq!(e3.outcome, Outcome::Dlq);
    let sends: Vec<_> = e3.marks_of(Hop::Forward).collect();
    assert_eq!(sends.len(), 3, "{sends:#?}");
    assert!(
        sends.iter().all(|m| m.kind == MarkKind::Fault
            && m.label.starts_with("SendMessage")
            && m.label.contains("InternalError")
            && m.rule.as_deref() == Some("queue-down-for-e-3")),
        "{sends:#?}"
    );
    assert!(
        e3.marks_of(Hop::Dlq)
            .any(|m| m.kind == MarkKind::Dlq && m.label.contains("failure.stage=forward")),
        "{e3:#?}"
    );
    assert_eq!(model.outcomes[&Outcome::Stored], 9);
    assert_eq!(model.latency.count, 9);

    let html = report::render(&model);
    // Self-contained: nothing is fetched.
    for needle in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(
            !html.contains(needle),
            "the report refers outside: {needle}"
        );
    }
    let lane = browser::element(&html, "id=\"ev-e-3\"", "lane");
    assert_eq!(lane.matches("data-hop=\"forward\"").count(), 3);
    assert_eq!(lane.matches("data-kind=\"dlq\"").count(), 1);
    let text = browser::text(lane);
    assert_eq!(
        text.matches("forward SendMessage").count(),
        3,
        "lane text: {text}"
    );
    assert!(text.contains("on the DLQ: failure.stage=forward, 3 attempt(s)"));
    // The check that counts e-3's attempts links to its lane.
    assert!(html.contains("attempts sqs SendMessage e-3 = 4 <span class=\"concerns\">events: <a href=\"#ev-e-3\">e-3</a>"));
    assert!(html.contains("<svg id=\"histogram\""));
}

#[test]
fn a_failing_expectation_is_highlighted_with_the_events_it_concerns() {
    crate::require!();
    let parsed = scenario::parse(
        r#"
description = "expects no DLQ, but e-2's queue is down"
[[steps]]
fault = { name = "down", service = "sqs", operation = "SendMessage", resource = "EventsQueue", action = "error", status = 500, code = "InternalError", always = true, event = "e-2" }
[[steps]]
ingest = { count = 3 }
[[steps]]
drain = {}
[[steps]]
expect = { dlq = 0, table = 2 }
"#,
        Path::new("broken.toml"),
    )
    .unwrap();
    let (report, model) = run("broken", &parsed);
    assert!(!report.passed());
    assert_eq!(model.passed, Some(false));
    let html = report::render(&model);
    assert!(html.contains("class=\"verdict fail\""));
    let row = browser::element(&html, "data-kind=\"expect\"", "step");
    assert!(html.contains("<tr class=\"step failed\" data-kind=\"expect\">"));
    assert!(row.contains(
        "<li class=\"check fail\">✗ dlq = 1, expected 0 <span class=\"concerns\">events: <a href=\"#ev-e-2\">e-2</a>"
    ), "{row}");
    assert!(row.contains("<li class=\"check ok\">✓ table = 2"));
    // The step that installed the rule is a line on the time axis.
    assert!(model.markers.iter().any(|m| m.kind == "fault"));
}

#[test]
fn the_report_in_a_browser_lists_every_event_and_e3_on_the_dlq() {
    crate::require!();
    let Some(chromium) = browser::chromium_or_skip(&crate::test_name!()) else {
        return;
    };
    let (_, model) = run_file("sqs-failure");
    let path = write(&model, "sqs-failure");
    let url = format!("file://{}", path.display());
    let dom = browser::dump_dom(&chromium, &url, Duration::from_secs(2));
    // The complete table is built by the page's JS from the embedded JSON.
    assert!(
        dom.contains("<tr class=\"row o-dlq\"><td><a href=\"#ev-e-3\">e-3</a></td><td>dlq</td>"),
        "no JS-built row for e-3"
    );
    assert_eq!(dom.matches("<tr class=\"row o-").count(), 10);
    assert!(dom.contains("<span id=\"shown\">1–10 of 10</span>"));
    let lane = browser::element(&dom, "id=\"ev-e-3\"", "lane");
    assert_eq!(lane.matches("data-hop=\"forward\"").count(), 3);
    let png = browser::screenshot(
        &chromium,
        &url,
        "report-sqs-failure.png",
        (1280, 2000),
        Duration::from_secs(2),
    );
    eprintln!("screenshot: {}", png.display());
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_throttle_report_samples_its_lanes_and_stays_small() {
    crate::require!();
    // throttle: 2,520 events under the emulator's real per-shard write limit (the scenario
    // is skipped on a backend without throughput limits).
    let (report, model) = run_file("throttle");
    if let Some(reason) = &report.skipped {
        harness::testing::skipped(&crate::test_name!(), reason);
        return;
    }
    assert!(report.passed(), "{}", report.render());
    assert_eq!(model.events.len(), 2520);
    assert!(model.lanes.len() < 2 * report::LANES_PER_GROUP + 10);
    assert!(
        model
            .notes
            .iter()
            .any(|n| n.contains("events drawn as lanes"))
    );
    let html = report::render(&model);
    eprintln!(
        "throttle report: {} bytes, {} lanes of {} events",
        html.len(),
        model.lanes.len(),
        model.events.len()
    );
    // A file to mail or attach: well under a megabyte for 2,520 events (BENCHMARKS.md).
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    let Some(chromium) = browser::chromium_or_skip(&crate::test_name!()) else {
        return;
    };
    let path = write(&model, "throttle");
    let url = format!("file://{}", path.display());
    let dom = browser::dump_dom(&chromium, &url, Duration::from_secs(2));
    assert!(dom.contains("<span id=\"shown\">1–100 of 2520</span>"));
    browser::screenshot(
        &chromium,
        &url,
        "report-throttle.png",
        (1280, 1600),
        Duration::from_secs(2),
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_lane_not_written_out_lists_its_steps_when_opened_in_a_browser() {
    let Some(chromium) = browser::chromium_or_skip(&crate::test_name!()) else {
        return;
    };
    // 60 events, half stored and half dead-lettered: 50 lanes drawn, more than the file
    // writes step lists for, so the page's JS fills a lane's list from its marks when opened.
    use pipeline::observe::{Observer, PipelineEvent};
    let log = JourneyLog::new();
    for n in 1..=60 {
        let id = format!("big-{n}");
        log.observe(&PipelineEvent::Ingested {
            id: id.clone(),
            stream: "default".into(),
            shard_id: "shardId-000000000000".into(),
            sequence_number: n.to_string(),
        });
        log.observe(&if n % 2 == 0 {
            PipelineEvent::Stored { id }
        } else {
            PipelineEvent::SentToDlq {
                id: Some(id),
                stage: pipeline::dlq::FailureStage::Forward,
                reason: "InternalError".into(),
                attempts: 3,
            }
        });
    }
    let journal = harness::fault::Journal::new();
    let src = report::Sources::new(&log, &journal, &[], &[], "dlq", &[]);
    let mut model = RunModel::new("sixty", "load", "wall time");
    model.add_journeys(&src, &Default::default());
    assert_eq!(model.lanes.len(), 50);
    let html = report::render(&model).replace(
        "</body>",
        // What a reader's click does: open the first lane.
        "<script>document.querySelector('.lane details').open = true;</script></body>",
    );
    assert!(html.contains("<summary>2 steps</summary><ol class=\"marks\"></ol>"));
    let path = std::env::temp_dir().join(support::unique("sixty") + ".html");
    std::fs::write(&path, html).unwrap();
    let dom = browser::dump_dom(
        &chromium,
        &format!("file://{}", path.display()),
        Duration::from_secs(2),
    );
    let lane = browser::element(&dom, "id=\"ev-big-1\"", "lane");
    assert!(lane.contains("<li class=\"mark k-dlq\">"), "{lane}");
    assert!(
        lane.contains(" dlq: on the DLQ: failure.stage=forward, 3 attempt(s)"),
        "{lane}"
    );
    let _ = std::fs::remove_file(path);
}
