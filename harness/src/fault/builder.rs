//! The fluent way to write rules, in wiremock's style: given (service and operation, or a
//! mapping) / respond with (an action) / when (`nth`, `first`, `always`, `probability`) /
//! `times` / `named`.
//!
//! ```ignore
//! plan.sqs("SendMessage").throttle().always().for_event("e-1");
//! plan.kinesis("PutRecord").lose_response().nth(1).named("lost-ack");
//! plan.kinesis_delivery().crash_before_checkpoint().for_event("e-7");
//! ```
//!
//! **When a rule is installed.** A rule is complete once it has a `when`; the [`Rule`] that
//! `nth`/`first`/`always`/`probability` return installs it **when it is dropped**, i.e. at the
//! end of the statement, so modifiers may follow the `when`. [`Rule::install`] installs it at
//! once and returns its [`RuleId`]; keep a `Rule` in a variable only with that in mind (it is
//! not installed until the variable goes out of scope or `install` is called).
//!
//! An unfinished rule cannot be forgotten silently: the builders before the `when` are
//! `#[must_use]` (a compiler warning), and dropping a rule that has an action but no `when`
//! panics with the rule's description.

use std::time::Duration;

use super::plan::{FaultPlan, RuleId};
use super::rule::{
    DeliveryAction, DeliveryMatcher, Mapping, RequestAction, RequestMatcher, RuleDef, RuleKind,
    Service, When,
};

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

    /// Only requests to this stream, queue or table (by name).
    pub fn resource(mut self, name: impl Into<String>) -> Self {
        self.matcher.resource = Some(name.into());
        self
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
#[must_use = "a fault rule needs an action (.duplicate(), .crash_before_checkpoint()) and a when"]
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

/// A rule with an action but no `when` yet. Dropping it panics: finish it with
/// `.nth(n)`, `.first(n)`, `.always()` or `.probability(p)`.
#[derive(Debug)]
#[must_use = "a fault rule needs a when: .nth(n), .first(n), .always() or .probability(p)"]
pub struct PendingRule {
    plan: FaultPlan,
    draft: Option<Draft>,
}

#[derive(Debug)]
struct Draft {
    kind: RuleKind,
    times: Option<u64>,
    name: Option<String>,
}

impl PendingRule {
    fn new(plan: FaultPlan, kind: RuleKind) -> Self {
        Self {
            plan,
            draft: Some(Draft {
                kind,
                times: None,
                name: None,
            }),
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
        if let Some(draft) = &mut self.draft {
            set_event(&mut draft.kind, event_id.into());
        }
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        if let Some(draft) = &mut self.draft {
            draft.times = Some(n);
        }
        self
    }

    /// The name the journal and reports use.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        if let Some(draft) = &mut self.draft {
            draft.name = Some(name.into());
        }
        self
    }

    /// The error message of a `throttle` or `error` action (other actions have none).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        if let Some(draft) = &mut self.draft {
            set_message(&mut draft.kind, message.into());
        }
        self
    }

    fn when(mut self, when: When) -> Rule {
        let draft = self.draft.take();
        Rule {
            plan: self.plan.clone(),
            def: draft.map(|d| RuleDef {
                kind: d.kind,
                when,
                times: d.times,
                name: d.name,
            }),
        }
    }
}

impl Drop for PendingRule {
    fn drop(&mut self) {
        if let Some(draft) = &self.draft
            && !std::thread::panicking()
        {
            panic!(
                "fault rule {:?} was dropped without a when: finish it with .nth(n), .first(n), \
                 .always() or .probability(p)",
                draft.kind
            );
        }
    }
}

/// A complete rule. Installed when dropped (the end of the statement) or by
/// [`Rule::install`].
#[derive(Debug)]
pub struct Rule {
    plan: FaultPlan,
    def: Option<RuleDef>,
}

impl Rule {
    /// Only calls carrying this event id.
    pub fn for_event(mut self, event_id: impl Into<String>) -> Self {
        if let Some(def) = &mut self.def {
            set_event(&mut def.kind, event_id.into());
        }
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        if let Some(def) = &mut self.def {
            def.times = Some(n);
        }
        self
    }

    /// The name the journal and reports use (default: e.g. `sqs:SendMessage:throttle#1`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        if let Some(def) = &mut self.def {
            def.name = Some(name.into());
        }
        self
    }

    /// The seed of a `probability` rule (ignored by other whens).
    pub fn seed(mut self, seed: u64) -> Self {
        if let Some(RuleDef {
            when: When::Probability { seed: s, .. },
            ..
        }) = &mut self.def
        {
            *s = Some(seed);
        }
        self
    }

    /// The error message of a `throttle` or `error` action (other actions have none).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        if let Some(def) = &mut self.def {
            set_message(&mut def.kind, message.into());
        }
        self
    }

    /// Installs the rule now and returns its id (for [`FaultPlan::remove`]).
    pub fn install(mut self) -> RuleId {
        let def = self.def.take();
        match def {
            Some(def) => self.plan.install_rule(def),
            // `def` is only taken here and in `drop`, both of which consume the rule.
            None => unreachable!("a Rule is installed once"),
        }
    }
}

impl Drop for Rule {
    fn drop(&mut self) {
        if let Some(def) = self.def.take() {
            self.plan.install_rule(def);
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
