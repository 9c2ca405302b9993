//! The fluent way to write rules, in wiremock's style: given (service and operation, or a
//! mapping) / respond with (an action) / when (`nth`, `first`, `always`, `probability`) /
//! `times` / `named` / `expect`, then `install()`.
//!
//! ```
//! use harness::fault::FaultPlan;
//! let plan = FaultPlan::new();
//! let throttled = plan.sqs("SendMessage").to_queue().throttle().always().for_event("e-1").install();
//! plan.kinesis("PutRecord").lose_response().nth(1).named("lost-ack").install();
//! plan.kinesis_delivery().crash_before_checkpoint().nth(1).for_event("e-7").install();
//! assert_eq!(throttled.fired(), 0);
//! assert_eq!(plan.rules().len(), 3);
//! ```
//!
//! **A rule is in force once installed.** [`Rule::install`] puts it in the plan and returns
//! a [`RuleGuard`] (`fired()`, `expect(n)`); a rule that is built and never installed is a
//! compiler warning (every builder is `#[must_use]`), never a silent install or a panic.

#![warn(missing_docs)]

use std::time::Duration;

use super::plan::{FaultPlan, RuleId};
use super::rule::{
    DeliveryAction, DeliveryMatcher, Mapping, RequestAction, RequestMatcher, RuleDef, RuleKind,
    Service, When,
};
use crate::template::spec::{EVENTS_DLQ, EVENTS_QUEUE, EVENTS_STREAM, EVENTS_TABLE};

impl FaultPlan {
    /// Faults for Kinesis requests of `operation` (e.g. `PutRecord`).
    pub fn kinesis(&self, operation: &str) -> RequestGiven {
        self.request(Service::Kinesis, operation)
    }

    /// Faults for SQS requests of `operation` (e.g. `SendMessage`).
    pub fn sqs(&self, operation: &str) -> RequestGiven {
        self.request(Service::Sqs, operation)
    }

    /// Faults for DynamoDB requests of `operation` (e.g. `PutItem`).
    pub fn dynamodb(&self, operation: &str) -> RequestGiven {
        self.request(Service::DynamoDb, operation)
    }

    /// Faults for requests of `service` and `operation`.
    pub fn request(&self, service: Service, operation: &str) -> RequestGiven {
        RequestGiven {
            plan: self.clone(),
            matcher: RequestMatcher {
                service,
                operation: operation.to_owned(),
                event: None,
                body_contains: None,
                resource: None,
            },
        }
    }

    /// Faults for the Kinesis event source mapping's batches.
    pub fn kinesis_delivery(&self) -> KinesisDeliveryGiven {
        KinesisDeliveryGiven {
            plan: self.clone(),
            matcher: delivery_matcher(Mapping::Kinesis),
        }
    }

    /// Faults for the SQS event source mapping's batches.
    pub fn sqs_delivery(&self) -> SqsDeliveryGiven {
        SqsDeliveryGiven {
            plan: self.clone(),
            matcher: delivery_matcher(Mapping::Sqs),
        }
    }
}

fn delivery_matcher(mapping: Mapping) -> DeliveryMatcher {
    DeliveryMatcher {
        mapping,
        event: None,
        source: None,
    }
}

/// A request rule being written: which requests; next, an action.
#[derive(Debug)]
#[must_use = "a fault rule needs an action (.throttle(), .error(..), .latency(..), .timeout(..), .lose_response()) and a when"]
pub struct RequestGiven {
    plan: FaultPlan,
    matcher: RequestMatcher,
}

impl RequestGiven {
    /// Only requests carrying this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        self.matcher.event = Some(event_id.into());
        self
    }

    /// Only requests whose body contains `needle`.
    pub fn body_contains(mut self, needle: impl Into<String>) -> Self {
        self.matcher.body_contains = Some(needle.into());
        self
    }

    /// Only requests to this stream, queue or table: its name, or its logical id in the
    /// template (`EventsQueue`), which the harness resolves to the provisioned name.
    pub fn resource(mut self, name: impl Into<String>) -> Self {
        self.matcher.resource = Some(name.into());
        self
    }

    /// Only requests to the pipeline's queue (the one the forward function sends to), as
    /// provisioned: a rule on `SendMessage` then leaves the forwarder's DLQ sends alone.
    pub fn to_queue(self) -> Self {
        self.resource(EVENTS_QUEUE)
    }

    /// Only requests to the pipeline's dead-letter queue, as provisioned.
    pub fn to_dlq(self) -> Self {
        self.resource(EVENTS_DLQ)
    }

    /// Only requests to the pipeline's stream, as provisioned.
    pub fn to_stream(self) -> Self {
        self.resource(EVENTS_STREAM)
    }

    /// Only requests to the pipeline's table, as provisioned.
    pub fn to_table(self) -> Self {
        self.resource(EVENTS_TABLE)
    }

    /// Answer with the service's own throttling error.
    pub fn throttle(self) -> PendingRule {
        self.respond(RequestAction::Throttle {
            code: None,
            message: None,
        })
    }

    /// Answer with a throttling error of another shape (e.g. DynamoDB's
    /// `ProvisionedThroughputExceededException`).
    pub fn throttle_as(self, code: impl Into<String>) -> PendingRule {
        self.respond(RequestAction::Throttle {
            code: Some(code.into()),
            message: None,
        })
    }

    /// Answer with the AWS error `code` and HTTP `status` (message: see [`PendingRule::message`]).
    pub fn error(self, status: u16, code: impl Into<String>) -> PendingRule {
        self.respond(RequestAction::Error {
            status,
            code: code.into(),
            message: None,
        })
    }

    /// Wait `delay` (on tokio's clock), then pass the request through.
    pub fn latency(self, delay: Duration) -> PendingRule {
        self.respond(RequestAction::Latency(delay))
    }

    /// Wait `after`, then fail with a connector timeout without reaching the backend.
    pub fn timeout(self, after: Duration) -> PendingRule {
        self.respond(RequestAction::Timeout(after))
    }

    /// Let the backend apply the request, then lose its response (a connector I/O error).
    pub fn lose_response(self) -> PendingRule {
        self.respond(RequestAction::LoseResponse)
    }

    fn respond(self, action: RequestAction) -> PendingRule {
        PendingRule::new(
            self.plan,
            RuleKind::Request {
                matcher: self.matcher,
                action,
            },
        )
    }
}

/// A Kinesis delivery rule being written: which batches; next, an action.
#[derive(Debug)]
#[must_use = "a fault rule needs an action (.duplicate(), .crash_before_checkpoint(), .crash_mid_batch()) and a when"]
pub struct KinesisDeliveryGiven {
    plan: FaultPlan,
    matcher: DeliveryMatcher,
}

impl KinesisDeliveryGiven {
    /// Only batches containing this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        self.matcher.event = Some(event_id.into());
        self
    }

    /// Only batches from this shard.
    pub fn shard(mut self, shard_id: impl Into<String>) -> Self {
        self.matcher.source = Some(shard_id.into());
        self
    }

    /// Deliver the batch twice.
    pub fn duplicate(self) -> PendingRule {
        self.respond(DeliveryAction::Duplicate)
    }

    /// Invoke the handler, then crash before checkpointing (after the SQS send).
    pub fn crash_before_checkpoint(self) -> PendingRule {
        self.respond(DeliveryAction::CrashBeforeCheckpoint)
    }

    /// Invoke the handler with the first half of the batch, then crash before checkpointing:
    /// a consumer that died mid-batch (the restart delivers the whole batch again).
    pub fn crash_mid_batch(self) -> PendingRule {
        self.respond(DeliveryAction::CrashMidBatch)
    }

    fn respond(self, action: DeliveryAction) -> PendingRule {
        PendingRule::new(
            self.plan,
            RuleKind::Delivery {
                matcher: self.matcher,
                action,
            },
        )
    }
}

/// An SQS delivery rule being written: which batches; next, an action.
#[derive(Debug)]
#[must_use = "a fault rule needs an action (.duplicate()) and a when"]
pub struct SqsDeliveryGiven {
    plan: FaultPlan,
    matcher: DeliveryMatcher,
}

impl SqsDeliveryGiven {
    /// Only batches containing this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        self.matcher.event = Some(event_id.into());
        self
    }

    /// Only batches from this queue (name, URL or ARN).
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.matcher.source = Some(queue.into());
        self
    }

    /// Deliver the batch twice.
    pub fn duplicate(self) -> PendingRule {
        PendingRule::new(
            self.plan,
            RuleKind::Delivery {
                matcher: self.matcher,
                action: DeliveryAction::Duplicate,
            },
        )
    }
}

/// A rule with an action but no `when` yet: finish it with `.nth(n)`, `.first(n)`,
/// `.always()` or `.probability(p)`, then [`Rule::install`] it.
#[derive(Debug)]
#[must_use = "a fault rule needs a when (.nth(n), .first(n), .always() or .probability(p)) and .install()"]
pub struct PendingRule {
    plan: FaultPlan,
    kind: RuleKind,
    times: Option<u64>,
    name: Option<String>,
    expect: Option<u64>,
}

impl PendingRule {
    fn new(plan: FaultPlan, kind: RuleKind) -> Self {
        Self {
            plan,
            kind,
            times: None,
            name: None,
            expect: None,
        }
    }

    /// Only the nth matching call (1-based).
    pub fn nth(self, n: u64) -> Rule {
        self.when(When::Nth(n))
    }

    /// The first `n` matching calls.
    pub fn first(self, n: u64) -> Rule {
        self.when(When::First(n))
    }

    /// Every matching call.
    pub fn always(self) -> Rule {
        self.when(When::Always)
    }

    /// Each matching call with probability `p` (clamped to 0..=1), from the plan's seed;
    /// [`Rule::seed`] gives the rule a seed of its own.
    pub fn probability(self, p: f64) -> Rule {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.when(When::Probability { p, seed: None })
    }

    /// Only calls carrying this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        set_event(&mut self.kind, event_id.into());
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// The name the journal and reports use.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The error message of a `throttle` or `error` action (other actions have none).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        set_message(&mut self.kind, message.into());
        self
    }

    fn when(self, when: When) -> Rule {
        Rule {
            plan: self.plan,
            def: RuleDef {
                kind: self.kind,
                when,
                times: self.times,
                name: self.name,
            },
            expect: self.expect,
        }
    }
}

/// A complete rule, not yet in force: [`Rule::install`] puts it in the plan. Building a rule
/// and never installing it is a compiler warning (`#[must_use]`), nothing more.
#[derive(Debug)]
#[must_use = "a fault rule does nothing until .install() puts it in the plan"]
pub struct Rule {
    plan: FaultPlan,
    def: RuleDef,
    expect: Option<u64>,
}

impl Rule {
    /// Only calls carrying this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        set_event(&mut self.def.kind, event_id.into());
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.def.times = Some(n);
        self
    }

    /// The name the journal and reports use (default: e.g. `sqs:SendMessage:throttle#1`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.def.name = Some(name.into());
        self
    }

    /// The seed of a `probability` rule (ignored by other whens).
    pub fn seed(mut self, seed: u64) -> Self {
        if let When::Probability { seed: s, .. } = &mut self.def.when {
            *s = Some(seed);
        }
        self
    }

    /// The error message of a `throttle` or `error` action (other actions have none).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        set_message(&mut self.def.kind, message.into());
        self
    }

    /// Expects the rule to fire exactly `n` times, checked when its [`RuleGuard`] or the
    /// plan's harness is dropped (wiremock's `expect`); see [`RuleGuard::expect`].
    pub fn expect(mut self, n: u64) -> Self {
        self.expect = Some(n);
        self
    }

    /// Puts the rule in the plan: it applies from the next call. The guard reads how often
    /// it fired; dropping the guard leaves the rule installed (it only checks an
    /// [`expect`](Rule::expect)ation).
    pub fn install(self) -> RuleGuard {
        let id = self.plan.install_rule(self.def);
        if let Some(n) = self.expect {
            self.plan.set_expectation(id, n);
        }
        RuleGuard {
            plan: self.plan,
            id,
        }
    }
}

/// An installed rule: how often it fired, and an optional expectation on that count,
/// verified when the guard is dropped (or, for a guard that outlives its harness or is
/// forgotten, when the harness is).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use harness::fault::FaultPlan;
/// let plan = FaultPlan::new();
/// let rule = plan.sqs("SendMessage").throttle().first(2).install();
/// assert_eq!(rule.fired(), 0);
/// assert!(rule.remove());
/// # }
/// ```
#[derive(Debug)]
pub struct RuleGuard {
    plan: FaultPlan,
    id: RuleId,
}

impl RuleGuard {
    /// The rule's id (for [`FaultPlan::remove`]).
    pub fn id(&self) -> RuleId {
        self.id
    }

    /// The rule's name, as the journal and reports show it.
    pub fn name(&self) -> String {
        self.plan.rule_name(self.id).unwrap_or_default()
    }

    /// How many times the rule fired so far.
    pub fn fired(&self) -> u64 {
        self.plan.rule_fired(self.id)
    }

    /// How many calls the rule matched so far (fired or not).
    pub fn seen(&self) -> u64 {
        self.plan.rule_seen(self.id)
    }

    /// Expects the rule to fire exactly `n` times by the time this guard is dropped (keep
    /// it in a variable to the end of the test); a mismatch panics naming the rule.
    pub fn expect(self, n: u64) -> Self {
        self.plan.set_expectation(self.id, n);
        self
    }

    /// Takes the rule out of the plan now; `false` if it was already removed. Its
    /// expectation, if any, is checked first.
    pub fn remove(self) -> bool {
        self.plan.verify_expectation(self.id);
        self.plan.remove(self.id)
    }
}

impl Drop for RuleGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.plan.verify_expectation(self.id);
        }
    }
}

fn set_event(kind: &mut RuleKind, event_id: String) {
    match kind {
        RuleKind::Request { matcher, .. } => matcher.event = Some(event_id),
        RuleKind::Delivery { matcher, .. } => matcher.event = Some(event_id),
    }
}

fn set_message(kind: &mut RuleKind, text: String) {
    if let RuleKind::Request {
        action: RequestAction::Error { message, .. } | RequestAction::Throttle { message, .. },
        ..
    } = kind
    {
        *message = Some(text);
    }
}
