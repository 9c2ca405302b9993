//! Fault injection: rules that make AWS calls and event deliveries fail the way they fail in
//! production, and a journal of what fired, so tests can prove the pipeline survives it.
//!
//! Faults enter at two places only (an architecture invariant):
//! - **requests**: [`FaultyHttpClient`], an SDK `HttpClient` layer under every SDK client the
//!   harness builds, so it works on every backend: throttling with the service's own error,
//!   other AWS errors, latency, timeouts, and lost responses (the backend applied the request,
//!   the client retries: the real source of producer duplicates);
//! - **deliveries**: [`FaultPlan`] implements the event source mappings'
//!   [`DeliveryHooks`](crate::esm::hooks::DeliveryHooks): deliver a batch twice, crash a
//!   Kinesis consumer before it checkpoints.
//!
//! ```
//! use harness::fault::FaultPlan;
//! let plan = FaultPlan::new();
//! let throttled = plan.sqs("SendMessage").to_queue().throttle().always().for_event("e-1").install();
//! plan.kinesis("PutRecord").lose_response().nth(1).named("lost-ack").install();
//! plan.dynamodb("PutItem").throttle().first(2).install();
//! plan.kinesis_delivery().duplicate().nth(1).install();
//! // The layer goes under the SDK clients: FaultyHttpClient::new(inner, plan.clone(), plan.journal()).
//! // ... run ...
//! assert_eq!(throttled.fired(), 0);
//! assert_eq!(plan.journal().attempts("sqs", "SendMessage", "e-1"), 0);
//! ```
//!
//! Layout:
//! - [`rule`]: matchers, whens, actions, and the per-rule trigger;
//! - [`builder`]: the fluent API (`plan.sqs(..).throttle().first(2)`), and when a rule is
//!   installed (by `install()`, which returns a [`RuleGuard`]);
//! - [`plan`]: the shared, run-time mutable plan and its delivery hooks;
//! - [`client`]: the `HttpClient` layer; [`response`]: AWS error responses per service;
//! - [`event_id`]: which events a request or batch carries;
//! - [`journal`]: attempts and fired faults; [`spec`]: rules as scenario files write them.

pub mod builder;
pub mod client;
pub mod event_id;
pub mod journal;
pub mod plan;
pub mod response;
pub mod rule;
pub mod spec;

pub use builder::{
    KinesisDeliveryGiven, PendingRule, RequestGiven, Rule, RuleGuard, SqsDeliveryGiven,
};
pub use client::{FaultyHttpClient, faulty_connector};
pub use journal::{
    Attempt, AttemptStatus, ConnectorErrorKind, EntryAttempt, FiredFault, Journal, entry_operation,
};
pub use plan::{FaultPlan, RuleId, RuleSummary};
pub use rule::{
    DeliveryAction, DeliveryMatcher, Mapping, RequestAction, RequestMatcher, RuleDef, RuleKind,
    Service, When,
};
pub use spec::{FaultSpec, SpecError};
