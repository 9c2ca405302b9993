//! Rules in a plan: the fluent builders, ordering between rules, and the delivery hooks.

use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use serde_json::json;

use super::*;
use crate::fault::rule::Service;

fn envelope(id: &str) -> String {
    json!({"id": id, "stream": "default", "receivedAt": "2026-11-25T22:43:51.123Z", "payload": {}})
        .to_string()
}

fn send(plan: &FaultPlan, ids: &[&str]) -> Option<Decision> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    plan.decide_request(&RequestView {
        service: Service::Sqs,
        operation: "SendMessage",
        event_ids: &ids,
        resource: Some("events"),
        body: b"{}",
    })
}

fn kinesis_record(id: &str) -> KinesisEventRecord {
    let mut record = KinesisEventRecord::default();
    *record.kinesis.data = envelope(id).into_bytes();
    record
}

fn sqs_message(body: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.body = Some(body.to_owned());
    message
}

#[test]
fn rules_are_named_automatically_or_by_name() {
    let plan = FaultPlan::new();
    plan.sqs("SendMessage").throttle().always().install();
    plan.kinesis("PutRecord")
        .lose_response()
        .nth(1)
        .named("lost-ack")
        .install();
    plan.kinesis_delivery().duplicate().first(1).install();
    let names: Vec<String> = plan.rules().into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "sqs:SendMessage:throttle#1",
            "lost-ack",
            "kinesis-delivery:duplicate#3"
        ]
    );
}

#[test]
fn for_event_after_the_when_still_scopes_the_rule() {
    let plan = FaultPlan::new();
    plan.sqs("SendMessage")
        .throttle()
        .always()
        .for_event("e-1")
        .install();
    assert_eq!(send(&plan, &["e-2"]), None);
    let hit = send(&plan, &["e-1"]).expect("fires for e-1");
    assert_eq!(hit.rule, "sqs:SendMessage:throttle#1");
    assert_eq!(
        hit.action,
        RequestAction::Throttle {
            code: None,
            message: None
        }
    );
}

#[test]
fn the_first_due_rule_wins_and_every_matching_rule_counts() {
    let plan = FaultPlan::new();
    plan.sqs("SendMessage")
        .throttle()
        .first(1)
        .named("a")
        .install();
    plan.sqs("SendMessage")
        .error(500, "InternalError")
        .nth(1)
        .named("b")
        .install();
    plan.sqs("SendMessage")
        .latency(Duration::from_millis(5))
        .nth(2)
        .named("c")
        .install();
    let fired: Vec<Option<String>> = (0..3).map(|_| send(&plan, &[]).map(|d| d.rule)).collect();
    assert_eq!(fired, [Some("a".into()), Some("c".into()), None]);
    let counts: Vec<(u64, u64)> = plan.rules().iter().map(|r| (r.seen, r.fired)).collect();
    assert_eq!(counts, [(3, 1), (3, 0), (3, 1)]);
}

#[test]
fn times_caps_an_always_rule() {
    let plan = FaultPlan::new();
    plan.sqs("SendMessage")
        .throttle()
        .always()
        .times(2)
        .install();
    let fired = (0..4).filter(|_| send(&plan, &[]).is_some()).count();
    assert_eq!(fired, 2);
}

#[test]
fn install_returns_an_id_that_remove_takes() {
    let plan = FaultPlan::new();
    let id = plan.sqs("SendMessage").throttle().always().install().id();
    assert!(send(&plan, &[]).is_some());
    assert!(plan.remove(id));
    assert!(!plan.remove(id));
    assert_eq!(send(&plan, &[]), None);
}

#[test]
fn a_rule_is_in_force_only_once_installed() {
    let plan = FaultPlan::new();
    let rule = plan.sqs("SendMessage").throttle().always();
    assert_eq!(send(&plan, &[]), None, "not installed yet");
    let _ = plan.sqs("SendMessage").throttle().always();
    assert_eq!(send(&plan, &[]), None, "a dropped rule is never installed");
    let guard = rule.install();
    assert!(send(&plan, &[]).is_some());
    assert_eq!((guard.fired(), guard.seen()), (1, 1));
    drop(guard);
    assert!(
        send(&plan, &[]).is_some(),
        "dropping the guard leaves the rule in force"
    );
}

fn panic_message(result: std::thread::Result<()>) -> String {
    match result {
        Ok(()) => panic!("an unmet expectation must panic"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    }
}

#[test]
fn an_unmet_expectation_panics_naming_the_rule_when_the_guard_drops() {
    let plan = FaultPlan::new();
    let guard = plan
        .sqs("SendMessage")
        .throttle()
        .always()
        .named("throttle-sends")
        .install()
        .expect(2);
    assert!(send(&plan, &[]).is_some());
    let message = panic_message(std::panic::catch_unwind(move || drop(guard)));
    assert!(
        message.contains("throttle-sends")
            && message.contains("expected to fire 2 times but fired 1"),
        "{message}"
    );
    assert!(plan.unmet_expectations().is_empty(), "checked once");
}

#[test]
fn a_met_expectation_is_silent_and_one_on_the_rule_is_kept() {
    let plan = FaultPlan::new();
    let guard = plan
        .sqs("SendMessage")
        .throttle()
        .first(1)
        .expect(1)
        .install();
    assert!(send(&plan, &[]).is_some());
    assert_eq!(send(&plan, &[]), None, "first(1) fired once");
    drop(guard);
    // A guard that never drops (here: forgotten) leaves its rule to the harness's check.
    let forgotten = plan
        .sqs("SendMessage")
        .throttle()
        .nth(5)
        .expect(1)
        .install();
    let name = forgotten.name();
    std::mem::forget(forgotten);
    let unmet = plan.unmet_expectations();
    assert_eq!(unmet.len(), 1, "{unmet:?}");
    assert!(unmet[0].contains(&name), "{unmet:?}");
}

#[test]
fn to_queue_and_to_dlq_scope_a_rule_to_the_pipeline_queues_as_provisioned() {
    let plan = FaultPlan::new();
    plan.set_resource_aliases([
        ("EventsQueue".to_owned(), "t-1-events".to_owned()),
        ("EventsDlq".to_owned(), "t-1-events-dlq".to_owned()),
    ]);
    let queue = plan
        .sqs("SendMessage")
        .to_queue()
        .throttle()
        .always()
        .install();
    let to = |resource: &str| {
        plan.decide_request(&RequestView {
            service: Service::Sqs,
            operation: "SendMessage",
            event_ids: &[],
            resource: Some(resource),
            body: b"{}",
        })
    };
    assert!(to("t-1-events").is_some());
    assert_eq!(to("t-1-events-dlq"), None, "the DLQ send is left alone");
    assert!(queue.remove());
    let dlq = plan
        .sqs("SendMessage")
        .to_dlq()
        .throttle()
        .always()
        .install();
    assert_eq!(to("t-1-events"), None);
    assert!(to("t-1-events-dlq").is_some());
    assert_eq!(dlq.fired(), 1);
}

#[test]
fn clear_removes_every_rule_and_clones_share_them() {
    let plan = FaultPlan::new();
    let clone = plan.clone();
    clone.sqs("SendMessage").throttle().always().install();
    assert!(send(&plan, &[]).is_some());
    plan.clear();
    assert!(clone.rules().is_empty());
    assert_eq!(send(&clone, &[]), None);
}

#[test]
fn seeded_probability_rules_fire_the_same_way_in_every_plan() {
    let run = |seed| {
        let plan = FaultPlan::new();
        plan.sqs("SendMessage")
            .throttle()
            .probability(0.5)
            .seed(seed)
            .install();
        (0..64)
            .map(|_| send(&plan, &[]).is_some())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let unseeded = |plan_seed| {
        let plan = FaultPlan::with_seed(plan_seed);
        plan.sqs("SendMessage")
            .throttle()
            .probability(0.5)
            .install();
        (0..64)
            .map(|_| send(&plan, &[]).is_some())
            .collect::<Vec<_>>()
    };
    assert_eq!(unseeded(1), unseeded(1));
    assert_ne!(unseeded(1), unseeded(2));
}

#[test]
fn a_spec_installs_like_the_fluent_rule() {
    #[derive(serde::Deserialize)]
    struct Step {
        fault: FaultSpec,
    }
    let step: Step = toml::from_str(
        r#"fault = { service = "sqs", operation = "SendMessage", action = "throttle", first = 2, name = "t" }"#,
    )
    .expect("valid");
    let plan = FaultPlan::new();
    plan.install(&step.fault);
    let fired: Vec<bool> = (0..3).map(|_| send(&plan, &[]).is_some()).collect();
    assert_eq!(fired, [true, true, false]);
}

#[test]
fn kinesis_delivery_faults_match_by_event_and_shard_and_are_journaled() {
    let plan = FaultPlan::new();
    plan.kinesis_delivery()
        .crash_before_checkpoint()
        .always()
        .for_event("e-7")
        .named("crash")
        .install();
    plan.kinesis_delivery()
        .shard("shardId-000000000001")
        .duplicate()
        .nth(1)
        .install();
    let batch = [kinesis_record("e-6"), kinesis_record("e-7")];
    assert_eq!(
        plan.on_kinesis_batch("shardId-000000000000", &batch),
        [DeliveryFault::CrashBeforeCheckpoint]
    );
    assert_eq!(
        plan.on_kinesis_batch("shardId-000000000000", &batch[..1]),
        []
    );
    assert_eq!(
        plan.on_kinesis_batch("shardId-000000000001", &batch),
        [
            DeliveryFault::CrashBeforeCheckpoint,
            DeliveryFault::Duplicate
        ]
    );
    assert_eq!(
        plan.on_kinesis_batch("shardId-000000000001", &batch[..1]),
        [],
        "nth(1) fired already"
    );
    let journal = plan.journal();
    assert_eq!(journal.fired("crash"), 2);
    let fired = journal.faults_fired();
    assert_eq!(fired.len(), 3);
    assert_eq!(fired[0].service, "kinesis");
    assert_eq!(fired[0].operation, "delivery");
    assert_eq!(fired[0].action, "crash_before_checkpoint");
    assert_eq!(fired[0].event_ids, ["e-6", "e-7"]);
}

#[test]
fn sqs_delivery_faults_read_event_ids_from_message_bodies() {
    let plan = FaultPlan::new();
    plan.sqs_delivery()
        .queue("events")
        .duplicate()
        .first(1)
        .for_event("e-2")
        .install();
    let arn = "arn:aws:sqs:us-east-1:000000000000:events";
    let other = [sqs_message(&envelope("e-1")), sqs_message("poison")];
    assert_eq!(plan.on_sqs_batch(arn, &other), []);
    let hit = [sqs_message(&envelope("e-2"))];
    assert_eq!(
        plan.on_sqs_batch("arn:aws:sqs:us-east-1:000000000000:events-dlq", &hit),
        []
    );
    assert_eq!(plan.on_sqs_batch(arn, &hit), [DeliveryFault::Duplicate]);
    assert_eq!(plan.on_sqs_batch(arn, &hit), []);
    // Request rules never fire on deliveries, nor delivery rules on requests.
    plan.sqs("SendMessage").throttle().always().install();
    assert_eq!(plan.on_sqs_batch(arn, &other), []);
    assert_eq!(
        send(&plan, &["e-2"]).map(|d| d.rule),
        Some("sqs:SendMessage:throttle#2".into())
    );
}
