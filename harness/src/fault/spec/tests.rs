//! Parsing scenario-file fault tables, and the errors a wrong one gets.

use std::time::Duration;

use super::*;

#[derive(Debug, Deserialize)]
struct Step {
    #[allow(dead_code)]
    fault: FaultSpec,
}

fn parse(table: &str) -> Result<RuleDef, String> {
    toml::from_str::<Step>(&format!("fault = {table}"))
        .map(|s| s.fault.into_rule())
        .map_err(|e| e.to_string())
}

fn error_of(table: &str) -> String {
    match parse(table) {
        Ok(rule) => panic!("{table} parsed as {rule:?}"),
        Err(e) => e,
    }
}

fn request(service: Service, op: &str, action: RequestAction, when: When) -> RuleDef {
    RuleDef {
        kind: RuleKind::Request {
            matcher: RequestMatcher {
                service,
                operation: op.into(),
                event: None,
                body_contains: None,
                resource: None,
            },
            action,
        },
        when,
        times: None,
        name: None,
    }
}

#[test]
fn throttle_first_two() {
    let rule =
        parse(r#"{ service = "sqs", operation = "SendMessage", action = "throttle", first = 2 }"#);
    let throttle = RequestAction::Throttle {
        code: None,
        message: None,
    };
    assert_eq!(
        rule,
        Ok(request(
            Service::Sqs,
            "SendMessage",
            throttle,
            When::First(2)
        ))
    );
}

#[test]
fn error_always_for_one_event() {
    let rule = parse(
        r#"{ service = "sqs", operation = "SendMessage", action = "error", code = "InternalError", status = 500, always = true, event = "e-3" }"#,
    );
    let mut expected = request(
        Service::Sqs,
        "SendMessage",
        RequestAction::Error {
            status: 500,
            code: "InternalError".into(),
            message: None,
        },
        When::Always,
    );
    if let RuleKind::Request { matcher, .. } = &mut expected.kind {
        matcher.event = Some("e-3".into());
    }
    assert_eq!(rule, Ok(expected));
}

#[test]
fn lose_response_nth_and_named() {
    let rule = parse(
        r#"{ service = "kinesis", operation = "PutRecord", action = "lose_response", nth = 1, name = "lost-ack" }"#,
    );
    let mut expected = request(
        Service::Kinesis,
        "PutRecord",
        RequestAction::LoseResponse,
        When::Nth(1),
    );
    expected.name = Some("lost-ack".into());
    assert_eq!(rule, Ok(expected));
}

#[test]
fn seeded_probability_throttle_with_code() {
    let rule = parse(
        r#"{ service = "dynamodb", operation = "PutItem", action = "throttle", code = "ProvisionedThroughputExceededException", probability = 0.3, seed = 7, times = 5 }"#,
    );
    let mut expected = request(
        Service::DynamoDb,
        "PutItem",
        RequestAction::Throttle {
            code: Some("ProvisionedThroughputExceededException".into()),
            message: None,
        },
        When::Probability {
            p: 0.3,
            seed: Some(7),
        },
    );
    expected.times = Some(5);
    assert_eq!(rule, Ok(expected));
}

#[test]
fn latency_and_timeout_take_a_delay_in_the_one_duration_grammar() {
    let latency = parse(
        r#"{ service = "sqs", operation = "SendMessage", action = "latency", delay = "50ms", always = true }"#,
    );
    assert_eq!(
        latency.map(|r| r.kind),
        Ok(request(
            Service::Sqs,
            "SendMessage",
            RequestAction::Latency(Duration::from_millis(50)),
            When::Always
        )
        .kind)
    );
    let timeout = parse(
        r#"{ service = "dynamodb", operation = "PutItem", action = "timeout", delay = "3s 100ms", nth = 2 }"#,
    );
    assert!(matches!(
        timeout.map(|r| r.kind),
        Ok(RuleKind::Request { action: RequestAction::Timeout(d), .. }) if d == Duration::from_millis(3100)
    ));
}

#[test]
fn delivery_faults() {
    let dup = parse(r#"{ delivery = "kinesis", action = "duplicate", nth = 1 }"#);
    assert_eq!(
        dup.map(|r| r.kind),
        Ok(RuleKind::Delivery {
            matcher: DeliveryMatcher {
                mapping: Mapping::Kinesis,
                event: None,
                source: None
            },
            action: DeliveryAction::Duplicate,
        })
    );
    let crash = parse(
        r#"{ delivery = "kinesis", action = "crash_before_checkpoint", event = "e-5", shard = "shardId-000000000000", always = true }"#,
    );
    assert_eq!(
        crash.map(|r| r.kind),
        Ok(RuleKind::Delivery {
            matcher: DeliveryMatcher {
                mapping: Mapping::Kinesis,
                event: Some("e-5".into()),
                source: Some("shardId-000000000000".into()),
            },
            action: DeliveryAction::CrashBeforeCheckpoint,
        })
    );
    let mid = parse(r#"{ delivery = "kinesis", action = "crash_mid_batch", probability = 0.1 }"#);
    assert!(
        matches!(
            mid.map(|r| r.kind),
            Ok(RuleKind::Delivery {
                action: DeliveryAction::CrashMidBatch,
                ..
            })
        ),
        "crash_mid_batch is a Kinesis delivery action"
    );
    let sqs = parse(r#"{ delivery = "sqs", action = "duplicate", queue = "events", first = 1 }"#);
    assert!(sqs.is_ok(), "{sqs:?}");
}

#[test]
fn unknown_service_is_named() {
    let e = error_of(
        r#"{ service = "sns", operation = "Publish", action = "throttle", always = true }"#,
    );
    assert!(e.contains("unknown service 'sns'"), "{e}");
}

#[test]
fn unknown_action_is_named_with_the_choices() {
    let e = error_of(
        r#"{ service = "sqs", operation = "SendMessage", action = "explode", always = true }"#,
    );
    assert!(e.contains("unknown action 'explode'"), "{e}");
    assert!(
        e.contains("throttle, error, latency, timeout or lose_response"),
        "{e}"
    );
    let e = error_of(r#"{ delivery = "sqs", action = "crash_before_checkpoint", always = true }"#);
    assert!(
        e.contains("unknown action 'crash_before_checkpoint' for a sqs delivery fault"),
        "{e}"
    );
}

#[test]
fn a_missing_when_is_reported() {
    let e = error_of(r#"{ service = "sqs", operation = "SendMessage", action = "throttle" }"#);
    assert!(e.contains("a fault needs a when"), "{e}");
}

#[test]
fn conflicting_whens_are_named() {
    let e = error_of(
        r#"{ service = "sqs", operation = "SendMessage", action = "throttle", nth = 1, always = true }"#,
    );
    assert!(e.contains("conflicting whens `nth` and `always`"), "{e}");
}

#[test]
fn unknown_fields_are_rejected() {
    let e = error_of(
        r#"{ service = "sqs", operation = "SendMessage", action = "throttle", always = true, evnt = "e-1" }"#,
    );
    assert!(e.contains("unknown field `evnt`"), "{e}");
}

#[test]
fn errors_carry_the_line_of_the_table() {
    let doc = "description = \"x\"\n\n[[steps]]\nfault = { service = \"sqs\", operation = \"SendMessage\", action = \"throttle\", nth = 0 }\n";
    #[derive(Debug, Deserialize)]
    struct Scenario {
        #[allow(dead_code)]
        steps: Vec<Step>,
    }
    let e = match toml::from_str::<Scenario>(doc) {
        Ok(s) => panic!("parsed {s:?}"),
        Err(e) => e,
    };
    assert!(
        e.to_string().contains("`nth` counts matching calls from 1"),
        "{e}"
    );
    let span = e.span().expect("the error has a position");
    let line = doc[..span.start].lines().count();
    assert_eq!(line, 4, "{e}");
}

#[test]
fn each_validation_error_names_the_problem() {
    let cases = [
        (
            r#"{ action = "throttle", always = true }"#,
            "a fault needs a target",
        ),
        (
            r#"{ service = "sqs", delivery = "kinesis", action = "duplicate", always = true }"#,
            "not both",
        ),
        (
            r#"{ service = "sqs", action = "throttle", always = true }"#,
            "needs `operation`",
        ),
        (
            r#"{ delivery = "lambda", action = "duplicate", always = true }"#,
            "unknown delivery 'lambda'",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", always = false }"#,
            "`always = false` selects nothing",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", first = 0 }"#,
            "`first` counts",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", probability = 1.5 }"#,
            "between 0 and 1, got 1.5",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", nth = 1, seed = 3 }"#,
            "`seed` applies only with `probability`",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "latency", always = true }"#,
            "action 'latency' needs `delay`",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "latency", delay = "50", always = true }"#,
            "`delay`: `50` is not a duration",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "error", status = 500, always = true }"#,
            "action 'error' needs `code`",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "error", code = "X", always = true }"#,
            "action 'error' needs `status`",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "error", code = "X", status = 200, always = true }"#,
            "400-599, got 200",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", status = 503, always = true }"#,
            "`status` does not apply to action 'throttle'",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "lose_response", delay = "5ms", always = true }"#,
            "`delay` does not apply to action 'lose_response'",
        ),
        (
            r#"{ service = "dynamodb", operation = "PutItem", action = "throttle", code = "ValidationException", always = true }"#,
            "'ValidationException' is not a throttling error of dynamodb",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", shard = "s", always = true }"#,
            "`shard` does not apply to a request fault",
        ),
        (
            r#"{ delivery = "sqs", action = "duplicate", shard = "s", always = true }"#,
            "`shard` does not apply to a sqs delivery fault",
        ),
        (
            r#"{ delivery = "kinesis", action = "duplicate", operation = "PutRecord", always = true }"#,
            "`operation` does not apply",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", always = true, times = 0 }"#,
            "`times` counts",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", action = "throttle", always = true, name = "" }"#,
            "`name` must not be empty",
        ),
        (
            r#"{ service = "sqs", operation = "SendMessage", always = true }"#,
            "missing field `action`",
        ),
    ];
    for (table, expected) in cases {
        let e = error_of(table);
        assert!(
            e.contains(expected),
            "{table}\n  expected '{expected}' in: {e}"
        );
    }
}

#[test]
fn a_table_kept_by_the_loader_validates_the_same_way() {
    let table: toml::Table = toml::from_str(
        r#"service = "sqs"
operation = "SendMessage"
action = "throttle"
first = 2"#,
    )
    .expect("toml");
    assert!(FaultSpec::from_table(table).is_ok());
    let bad: toml::Table = toml::from_str(
        r#"service = "sns"
action = "throttle""#,
    )
    .expect("toml");
    let e = FaultSpec::from_table(bad).expect_err("unknown service");
    assert!(e.to_string().contains("unknown service 'sns'"), "{e}");
}
