//! Runs one case against a fresh harness under tokio's paused clock, then checks the
//! invariants on what it left behind.

use anyhow::Context;
use harness::Harness;
use serde_json::json;

use super::case::{Answer, Case, Fault, Step, Times};
use super::invariants;
use super::observe::Observed;

/// Runs `case` in a runtime of its own: current-thread with a paused clock, so 30 s
/// visibility timeouts and SDK backoff cost no wall time and the run is reproducible.
pub fn run(case: &Case) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .context("a tokio runtime")?;
    runtime.block_on(async {
        let h = Harness::start().await.context("the harness starts")?;
        install(&h, &case.faults);
        let mut outcomes = Vec::new();
        for step in &case.steps {
            match step {
                Step::Ingest { id, payload } => {
                    let body = json!({"stream": "default", "id": id, "payload": payload});
                    let outcome = h.ingest_json(body).await.context("ingest")?;
                    outcomes.push((id.clone(), outcome));
                }
                Step::CrashForward => h.crash_forward().await.context("crash_forward")?,
            }
        }
        h.drain().await.context("drain")?;
        let observed = Observed::read(&h, outcomes).await?;
        h.shutdown().await;
        invariants::check(case, &observed)
    })
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
                };
                when(pending, *times);
            }
            Fault::LostAck { event, first } => {
                plan.kinesis("PutRecord")
                    .resource(&resources.stream)
                    .for_event(event)
                    .lose_response()
                    .first(*first);
            }
            Fault::IngestThrottle { event, first } => {
                plan.kinesis("PutRecord")
                    .resource(&resources.stream)
                    .for_event(event)
                    .throttle()
                    .first(*first);
            }
            Fault::KinesisDuplicate { event, nth } => {
                let given = plan.kinesis_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.duplicate().nth(*nth);
            }
            Fault::KinesisCrash { event, nth } => {
                let given = plan.kinesis_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.crash_before_checkpoint().nth(*nth);
            }
            Fault::SqsDuplicate { event, nth } => {
                let given = plan.sqs_delivery();
                let given = match event {
                    Some(id) => given.for_event(id),
                    None => given,
                };
                given.duplicate().nth(*nth);
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
