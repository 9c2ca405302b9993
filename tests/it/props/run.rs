//! Runs one case against a fresh harness under tokio's paused clock, then checks the
//! invariants on what it left behind.

use anyhow::Context;

use futures::future::join_all;
use harness::stack::ReplayFrom;
use harness::{Harness, HarnessOptions};
use serde_json::{Value, json};

use super::case::{Answer, Case, Fault, Step, Times};
use super::invariants;
use super::observe::{self, Observed};

/// Runs `case` in a runtime of its own: current-thread with a paused clock, so 30 s
/// visibility timeouts and SDK backoff cost no wall time and the run is reproducible.
pub fn run(case: &Case) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .context("a tokio runtime")?;
    runtime.block_on(async {
        let h = Harness::start_with(options()?)
            .await
            .context("the harness starts")?;
        install(&h, &case.faults);
        let mut outcomes = Vec::new();
        for group in groups(&case.steps, case.burst) {
            match group {
                Group::Ingest(events) => {
                    let puts = events.iter().map(|(id, payload)| {
                        h.ingest_json(json!({"stream": "default", "id": id, "payload": payload}))
                    });
                    for ((id, _), outcome) in events.iter().zip(join_all(puts).await) {
                        outcomes.push((id.to_string(), outcome.context("ingest")?));
                    }
                }
                Group::CrashForward => h.crash_forward().await.context("crash_forward")?,
            }
        }
        h.drain().await.context("drain")?;
        let mut before_replay = None;
        if case.replay {
            before_replay = Some(observe::table(&h).await?);
            h.replay(ReplayFrom::TrimHorizon).await.context("replay")?;
            h.drain().await.context("drain after the replay")?;
        }
        let observed = Observed::read(&h, outcomes, before_replay).await?;
        h.shutdown().await;
        invariants::check(case, &observed)
    })
}

/// Ingests sent together, or a crash.
enum Group<'a> {
    Ingest(Vec<(&'a str, &'a Value)>),
    CrashForward,
}

/// Splits the history into runs of at most `burst` consecutive ingests, and crashes.
fn groups(steps: &[Step], burst: usize) -> Vec<Group<'_>> {
    let mut groups = Vec::new();
    let mut current: Vec<(&str, &Value)> = Vec::new();
    for step in steps {
        match step {
            Step::Ingest { id, payload } => {
                current.push((id, payload));
                if current.len() >= burst.max(1) {
                    groups.push(Group::Ingest(std::mem::take(&mut current)));
                }
            }
            Step::CrashForward => {
                if !current.is_empty() {
                    groups.push(Group::Ingest(std::mem::take(&mut current)));
                }
                groups.push(Group::CrashForward);
            }
        }
    }
    if !current.is_empty() {
        groups.push(Group::Ingest(current));
    }
    groups
}

/// The test backend with production settings except the queue's visibility timeout: 2 s
/// instead of 30 s. Under the paused clock waiting costs no wall time, but the drain and the
/// pollers still check in every 100 ms-1 s of tokio time, so each 30 s a failed message waits
/// cost ~100 ms of CPU in a debug build: a third of the budget of a case. 2 s is still far
/// above the store's backoff (at most 150 ms in all), so a message is never received again
/// while it is being handled; what the invariants depend on (3 attempts per receive, 3
/// receives before the DLQ) is unchanged.
fn options() -> anyhow::Result<HarnessOptions> {
    // The store function's timeout must stay within the queue's visibility timeout (AWS
    // refuses the mapping otherwise): 1 s, still far above the store's backoff.
    Ok(HarnessOptions::for_tests()?
        .set("EventsQueue.VisibilityTimeout", 2)
        .set("StoreFunction.Timeout", 1))
}

/// Installs the case's rules, request faults scoped to the pipeline's own resources: the
/// queue (so the forwarder's DLQ send is spared), the table and the stream.
fn install(h: &Harness, faults: &[Fault]) {
    let resources = &h.provisioned().resources;
    let plan = h.faults();
    for fault in faults {
        match fault {
            Fault::Send {
                event,
                answer,
                times,
            } => {
                let given = plan.sqs("SendMessage").resource(&resources.queue);
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                let pending = match answer {
                    Answer::Throttle => given.throttle(),
                    Answer::ServerError => given.error(500, "InternalError"),
                    Answer::Reject => given.error(400, "InvalidParameterValue"),
                    Answer::LoseResponse => given.lose_response(),
                };
                when(pending, *times);
            }
            Fault::Put {
                event,
                answer,
                times,
            } => {
                let given = plan.dynamodb("PutItem").resource(&resources.table);
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                let pending = match answer {
                    Answer::Throttle => given.throttle(),
                    Answer::ServerError => given.error(500, "InternalServerError"),
                    Answer::Reject => given.error(400, "ValidationException"),
                    Answer::LoseResponse => given.lose_response(),
                };
                when(pending, *times);
            }
            Fault::LostAck { event, first } => {
                plan.kinesis("PutRecord")
                    .resource(&resources.stream)
                    .for_event(event)
                    .lose_response()
                    .first(*first)
                    .install();
            }
            Fault::IngestThrottle { event, first } => {
                plan.kinesis("PutRecord")
                    .resource(&resources.stream)
                    .for_event(event)
                    .throttle()
                    .first(*first)
                    .install();
            }
            Fault::KinesisDuplicate { event, nth } => {
                let given = plan.kinesis_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.duplicate().nth(*nth).install();
            }
            Fault::KinesisCrash { event, nth } => {
                let given = plan.kinesis_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.crash_before_checkpoint().nth(*nth).install();
            }
            Fault::SqsDuplicate { event, nth } => {
                let given = plan.sqs_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.duplicate().nth(*nth).install();
            }
        }
    }
}

fn when(pending: harness::fault::PendingRule, times: Times) {
    match times {
        Times::First(k) => pending.first(k).install(),
        Times::Nth(n) => pending.nth(n).install(),
        Times::Always => pending.always().install(),
    };
}
