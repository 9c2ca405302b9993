//! Every scenario file in scenarios/ runs and passes, and its table and DLQ match the
//! snapshot. On the embedded backend each runs in process under a paused clock.

use std::path::{Path, PathBuf};

use harness::scenario::{self, RunOptions, ScenarioReport};

use crate::support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Runs a parsed scenario on the backend `HARNESS_BACKEND` names.
fn run(name: &str, parsed: &scenario::Scenario) -> ScenarioReport {
    let backend = support::settings().clone();
    let mut options = RunOptions::new(root(), backend);
    if !support::is_embedded() {
        // On the wall clock: short SQS redelivery (see harness::stack::REAL_TIME_PROFILE).
        options.overrides = harness::stack::real_time_overrides();
    }
    support::on_any_clock(scenario::run(name, parsed, &options)).unwrap_or_else(|e| {
        panic!(
            "scenario {name} could not run: {}",
            harness::backend::error_chain(&e)
        )
    })
}

#[test]
fn every_scenario_passes_and_matches_its_snapshot() {
    crate::require!(); // Routed through support: skips when the backend is unavailable.
    insta::glob!("../../scenarios", "*.toml", |path| {
        let parsed = scenario::load(path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let report = run(&name, &parsed);
        if let Some(reason) = &report.skipped {
            harness::testing::skipped_scenario(&name, reason);
            return;
        }
        assert!(report.passed(), "{}", report.render());
        insta::assert_json_snapshot!(report.snapshots, {
            "[].table[].receivedAt" => "[time]",
            "[].dlq[].body.receivedAt" => "[time]",
        });
    });
}

#[test]
fn a_broken_expectation_says_which_count_was_wrong_and_by_how_much() {
    crate::require!(); // Routed through support: skips when the backend is unavailable.
    let text = r#"
description = "expects one item too few"
[[steps]]
ingest = { count = 3 }
[[steps]]
drain = {}
[[steps]]
expect = { table = 2, dlq = 0 }
"#;
    let parsed = scenario::parse(text, Path::new("broken.toml")).unwrap();
    let report = run("broken", &parsed);
    assert!(!report.passed());
    assert_eq!(
        report.failures(),
        ["step 3 (expect): table = 3, expected 2 (1 more)"]
    );
    assert!(report.render().contains("verdict: FAIL"));
}

#[test]
fn an_invalid_scenario_file_is_named_with_its_line() {
    let text = "description = \"x\"\n[[steps]]\ningest = { count = 1 }\n[[steps]]\nfault = { service = \"sqs\", operation = \"SendMessage\", action = \"explode\", always = true }\n";
    let err = scenario::parse(text, Path::new("scenarios/bad.toml")).unwrap_err();
    let message = err.to_string();
    // The line of the step whose fault table is wrong.
    assert!(message.starts_with("scenarios/bad.toml:4:"), "{message}");
    assert!(message.contains("explode"), "{message}");
}

#[test]
fn a_scenario_override_of_a_template_value_is_listed_in_its_report() {
    crate::require!(); // Routed through support: skips when the backend is unavailable.
    let text = r#"
description = "overrides the queue's visibility timeout"
[settings.overrides]
"EventsQueue.VisibilityTimeout" = 20
[[steps]]
ingest = { count = 1 }
[[steps]]
drain = {}
[[steps]]
expect = { table = 1 }
"#;
    let parsed = scenario::parse(text, Path::new("override.toml")).unwrap();
    let report = run("override", &parsed);
    assert!(report.passed(), "{}", report.render());
    assert_eq!(
        report.overrides[0],
        "EventsQueue.VisibilityTimeout = 20 (template: 30)"
    );
    assert!(
        report
            .render()
            .contains("template override: EventsQueue.VisibilityTimeout = 20 (template: 30)")
    );
}
