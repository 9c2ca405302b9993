//! What a fault rule is made of: a matcher (which requests or deliveries it looks at), a
//! [`When`] (which of those it fires on) and an action (what happens when it fires).
//!
//! These are plain data: the fluent builders ([`super::builder`]) and scenario files
//! ([`super::spec`]) both produce a [`RuleDef`]; the plan ([`super::plan`]) keeps one
//! [`Trigger`] per installed rule to count the calls it matched and decide when it fires.

use std::fmt;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An AWS service whose requests the fault layer recognises (by `X-Amz-Target`): the
/// emulator's own, so that rules, the journal and the emulator name services alike.
pub use emulator::wire::Service;

/// Which event source mapping a delivery rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mapping {
    /// Batches of a Kinesis stream's shards.
    Kinesis,
    /// Batches received from an SQS queue.
    Sqs,
}

impl Mapping {
    /// The mapping's name as scenario files and the journal spell it (`kinesis`, `sqs`).
    pub fn name(self) -> &'static str {
        match self {
            Mapping::Kinesis => "kinesis",
            Mapping::Sqs => "sqs",
        }
    }
}

/// Which of the calls a rule matches it fires on. Counting is per rule, 1-based, over the
/// calls (requests or batches) that rule matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Only the nth matching call.
    Nth(u64),
    /// The first n matching calls.
    First(u64),
    /// Every matching call.
    Always,
    /// Each matching call with probability `p`, drawn from a generator seeded with `seed`
    /// (`None`: derived from the plan's seed and the rule's id), so a run is reproducible.
    Probability {
        /// The chance of firing, from 0 to 1.
        p: f64,
        /// The generator's seed (`None`: derived from the plan's seed and the rule's id).
        seed: Option<u64>,
    },
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Nth(n) => write!(f, "nth({n})"),
            When::First(n) => write!(f, "first({n})"),
            When::Always => f.write_str("always"),
            When::Probability { p, seed: Some(s) } => write!(f, "probability({p}, seed {s})"),
            When::Probability { p, seed: None } => write!(f, "probability({p})"),
        }
    }
}

/// What a request rule does to a request it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestAction {
    /// Answer with the service's throttling error, as AWS sends it. `code` overrides the
    /// default shape (DynamoDB: `ProvisionedThroughputExceededException` or
    /// `RequestLimitExceeded` instead of `ThrottlingException`).
    Throttle {
        /// The error code to answer with (`None`: the service's usual throttling code).
        code: Option<String>,
        /// The error message (`None`: the message AWS sends with that code).
        message: Option<String>,
    },
    /// Answer with any AWS error.
    Error {
        /// The HTTP status (AWS's is 400 for most client errors, 500/503 for server ones).
        status: u16,
        /// The error code (`ResourceNotFoundException`, `InternalFailure`, ...).
        code: String,
        /// The error message (`None`: none is sent).
        message: Option<String>,
    },
    /// Wait, then pass the request through.
    Latency(Duration),
    /// Wait, then fail with a connector timeout; the backend never sees the request.
    Timeout(Duration),
    /// Pass the request to the backend (so it is applied), drop the response and fail with a
    /// connector I/O error: the SDK retries and the backend applies the request again.
    LoseResponse,
}

impl RequestAction {
    /// The action's name as scenario files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            RequestAction::Throttle { .. } => "throttle",
            RequestAction::Error { .. } => "error",
            RequestAction::Latency(_) => "latency",
            RequestAction::Timeout(_) => "timeout",
            RequestAction::LoseResponse => "lose_response",
        }
    }
}

/// What a delivery rule does to a batch it fires on (see [`crate::esm::hooks::DeliveryFault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryAction {
    /// Deliver the batch twice.
    Duplicate,
    /// Kinesis only: invoke the handler, then crash before the checkpoint (so after the SQS
    /// send): the restarted consumer re-delivers the batch.
    CrashBeforeCheckpoint,
    /// Kinesis only: invoke the handler with the first half of the batch, then crash before
    /// the checkpoint: the restarted consumer re-delivers the whole batch.
    CrashMidBatch,
}

impl DeliveryAction {
    /// The action's name as scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryAction::Duplicate => "duplicate",
            DeliveryAction::CrashBeforeCheckpoint => "crash_before_checkpoint",
            DeliveryAction::CrashMidBatch => "crash_mid_batch",
        }
    }
}

/// Which requests a request rule looks at. `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMatcher {
    /// The service the request goes to.
    pub service: Service,
    /// The API operation (`SendMessage`, `PutRecord`, ...), as `X-Amz-Target` names it.
    pub operation: String,
    /// An event id the request must carry (any of its records or entries).
    pub event: Option<String>,
    /// A substring the request body must contain.
    pub body_contains: Option<String>,
    /// The stream, queue or table name the request addresses (e.g. `events`, so the DLQ
    /// send to `events-dlq` is left alone). Also matches the name with a uniqueness prefix
    /// (`<prefix>-events`), as tests and scenarios sharing a backend name their resources.
    pub resource: Option<String>,
}

/// What the fault layer knows about one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The service the request goes to.
    pub service: Service,
    /// The API operation, from `X-Amz-Target`.
    pub operation: &'a str,
    /// The envelope ids the request carries (its records, entries or item).
    pub event_ids: &'a [String],
    /// The stream, queue or table the request addresses, when it names one.
    pub resource: Option<&'a str>,
    /// The request's body, as sent.
    pub body: &'a [u8],
}

/// `name` is the resource `logical` itself or `logical` under a `<prefix>-` for uniqueness.
fn resource_is(name: &str, logical: &str) -> bool {
    name == logical
        || name
            .strip_suffix(logical)
            .is_some_and(|prefix| prefix.ends_with('-'))
}

impl RequestMatcher {
    /// Whether a rule with this matcher looks at `req`.
    pub fn matches(&self, req: &RequestView<'_>) -> bool {
        self.service == req.service
            && self.operation == req.operation
            && self
                .event
                .as_ref()
                .is_none_or(|e| req.event_ids.iter().any(|id| id == e))
            && self
                .resource
                .as_ref()
                .is_none_or(|r| req.resource.is_some_and(|name| resource_is(name, r)))
            && self
                .body_contains
                .as_ref()
                .is_none_or(|s| contains(req.body, s.as_bytes()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Which batches a delivery rule looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryMatcher {
    /// The mapping whose deliveries the rule looks at.
    pub mapping: Mapping,
    /// An event id the batch must contain.
    pub event: Option<String>,
    /// Kinesis: the shard id; SQS: the queue (name, URL or ARN; compared by name).
    pub source: Option<String>,
}

/// What the fault layer knows about one batch delivery.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    /// The mapping delivering the batch.
    pub mapping: Mapping,
    /// The shard id (Kinesis) or the queue as the mapping names it (SQS).
    pub source: &'a str,
    /// The envelope ids of the batch's records or messages.
    pub event_ids: &'a [String],
}

impl DeliveryMatcher {
    /// Whether a rule with this matcher looks at `batch`.
    pub fn matches(&self, batch: &BatchView<'_>) -> bool {
        self.mapping == batch.mapping
            && self
                .event
                .as_ref()
                .is_none_or(|e| batch.event_ids.iter().any(|id| id == e))
            && self
                .source
                .as_ref()
                .is_none_or(|s| last_segment(s) == last_segment(batch.source))
    }
}

/// `https://host/acct/events` -> `events`, `arn:aws:sqs:r:a:events` -> `events`.
pub(crate) fn last_segment(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

/// The matcher and the action of a rule, for requests or for deliveries.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A rule on AWS requests, applied by the fault layer's HTTP client.
    Request {
        /// Which requests it looks at.
        matcher: RequestMatcher,
        /// What it does to those it fires on.
        action: RequestAction,
    },
    /// A rule on batch deliveries, applied by the event source mappings.
    Delivery {
        /// Which batches it looks at.
        matcher: DeliveryMatcher,
        /// What it does to those it fires on.
        action: DeliveryAction,
    },
}

/// A complete rule, ready to install.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// Its matcher and action.
    pub kind: RuleKind,
    /// Which of the matched calls it fires on.
    pub when: When,
    /// The most times the rule fires, whatever `when` says.
    pub times: Option<u64>,
    /// The name the journal and reports use; `None`: one is made from the rule.
    pub name: Option<String>,
}

impl RuleDef {
    /// The automatic name: `sqs:SendMessage:throttle#3`, `kinesis-delivery:duplicate#4`.
    pub fn default_name(&self, id: u64) -> String {
        match &self.kind {
            RuleKind::Request { matcher, action } => format!(
                "{}:{}:{}#{id}",
                matcher.service,
                matcher.operation,
                action.name()
            ),
            RuleKind::Delivery { matcher, action } => {
                format!("{}-delivery:{}#{id}", matcher.mapping.name(), action.name())
            }
        }
    }
}

impl fmt::Display for RuleDef {
    /// `sqs SendMessage throttle first(2) [event e-1, resource events] times 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut scope = Vec::new();
        match &self.kind {
            RuleKind::Request { matcher, action } => {
                write!(
                    f,
                    "{} {} {}",
                    matcher.service,
                    matcher.operation,
                    action.name()
                )?;
                match action {
                    RequestAction::Throttle {
                        code: Some(code), ..
                    } => write!(f, " {code}")?,
                    RequestAction::Error { status, code, .. } => write!(f, " {status} {code}")?,
                    RequestAction::Latency(d) | RequestAction::Timeout(d) => write!(f, " {d:?}")?,
                    _ => {}
                }
                scope.extend(matcher.event.as_ref().map(|e| format!("event {e}")));
                scope.extend(matcher.resource.as_ref().map(|r| format!("resource {r}")));
                scope.extend(
                    matcher
                        .body_contains
                        .as_ref()
                        .map(|b| format!("body contains {b:?}")),
                );
            }
            RuleKind::Delivery { matcher, action } => {
                write!(f, "{} delivery {}", matcher.mapping.name(), action.name())?;
                scope.extend(matcher.event.as_ref().map(|e| format!("event {e}")));
                let source = match matcher.mapping {
                    Mapping::Kinesis => "shard",
                    Mapping::Sqs => "queue",
                };
                scope.extend(matcher.source.as_ref().map(|s| format!("{source} {s}")));
            }
        }
        write!(f, " {}", self.when)?;
        if !scope.is_empty() {
            write!(f, " [{}]", scope.join(", "))?;
        }
        if let Some(times) = self.times {
            write!(f, " times {times}")?;
        }
        Ok(())
    }
}

/// Per-rule state: how many calls the rule matched and fired on, and its random stream.
#[derive(Debug, Clone)]
pub struct Trigger {
    when: When,
    times: Option<u64>,
    seen: u64,
    fired: u64,
    rng: Option<ChaCha8Rng>,
}

impl Trigger {
    /// `default_seed` is used for a probability rule without its own seed.
    pub fn new(when: When, times: Option<u64>, default_seed: u64) -> Self {
        let rng = match when {
            When::Probability { seed, .. } => {
                Some(ChaCha8Rng::seed_from_u64(seed.unwrap_or(default_seed)))
            }
            _ => None,
        };
        Self {
            when,
            times,
            seen: 0,
            fired: 0,
            rng,
        }
    }

    /// Counts one matching call and says whether the rule fires on it. `taken` is `true`
    /// when an earlier rule already fired on this call: the call still counts (and a
    /// probability rule still draws, so its stream does not depend on other rules) but this
    /// rule does not fire.
    pub fn on_match(&mut self, taken: bool) -> bool {
        self.seen += 1;
        let due = match self.when {
            When::Nth(n) => self.seen == n,
            When::First(n) => self.seen <= n,
            When::Always => true,
            When::Probability { p, .. } => match &mut self.rng {
                Some(rng) => rng.random::<f64>() < p,
                None => false,
            },
        };
        let capped = self.times.is_some_and(|t| self.fired >= t);
        let fire = due && !capped && !taken;
        if fire {
            self.fired += 1;
        }
        fire
    }

    /// Calls matched so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Times fired so far.
    pub fn fired(&self) -> u64 {
        self.fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(when: When, times: Option<u64>, calls: usize) -> Vec<bool> {
        let mut t = Trigger::new(when, times, 0);
        (0..calls).map(|_| t.on_match(false)).collect()
    }

    #[test]
    fn nth_fires_only_on_the_nth_matching_call() {
        assert_eq!(fires(When::Nth(2), None, 4), [false, true, false, false]);
    }

    #[test]
    fn first_fires_on_the_first_n_calls() {
        assert_eq!(fires(When::First(2), None, 4), [true, true, false, false]);
    }

    #[test]
    fn always_fires_until_times_caps_it() {
        assert_eq!(fires(When::Always, None, 3), [true, true, true]);
        assert_eq!(fires(When::Always, Some(2), 4), [true, true, false, false]);
    }

    #[test]
    fn seeded_probability_is_reproducible_and_near_p() {
        let when = When::Probability {
            p: 0.3,
            seed: Some(7),
        };
        let a = fires(when, None, 1000);
        let b = fires(when, None, 1000);
        assert_eq!(a, b);
        let hits = a.iter().filter(|f| **f).count();
        assert!((240..=360).contains(&hits), "{hits} of 1000 at p = 0.3");
        let other = fires(
            When::Probability {
                p: 0.3,
                seed: Some(8),
            },
            None,
            1000,
        );
        assert_ne!(a, other, "another seed gives another sequence");
    }

    #[test]
    fn probability_zero_and_one_are_exact() {
        let never = When::Probability { p: 0.0, seed: None };
        let ever = When::Probability { p: 1.0, seed: None };
        assert!(fires(never, None, 100).iter().all(|f| !f));
        assert!(fires(ever, None, 100).iter().all(|f| *f));
    }

    #[test]
    fn a_call_taken_by_an_earlier_rule_still_counts() {
        let mut t = Trigger::new(When::Nth(2), None, 0);
        assert!(!t.on_match(true));
        assert!(t.on_match(false));
        assert_eq!((t.seen(), t.fired()), (2, 1));
    }

    #[test]
    fn a_resource_matches_its_uniquely_prefixed_name_but_not_a_longer_one() {
        assert!(resource_is("events", "events"));
        assert!(resource_is("t-42-0-events", "events"));
        assert!(!resource_is("t-42-0-events-dlq", "events"));
        assert!(!resource_is("myevents", "events"));
    }

    #[test]
    fn request_matcher_checks_event_resource_and_body() {
        let m = RequestMatcher {
            service: Service::Sqs,
            operation: "SendMessage".into(),
            event: Some("e-1".into()),
            body_contains: Some("nuclear".into()),
            resource: Some("events".into()),
        };
        let ids = vec!["e-0".to_owned(), "e-1".to_owned()];
        let view = RequestView {
            service: Service::Sqs,
            operation: "SendMessage",
            event_ids: &ids,
            resource: Some("events"),
            body: b"{\"energy\":\"nuclear\"}",
        };
        assert!(m.matches(&view));
        assert!(!m.matches(&RequestView {
            resource: Some("events-dlq"),
            ..view
        }));
        assert!(!m.matches(&RequestView {
            event_ids: &ids[..1],
            ..view
        }));
        assert!(!m.matches(&RequestView {
            body: b"{}",
            ..view
        }));
        assert!(!m.matches(&RequestView {
            operation: "SendMessageBatch",
            ..view
        }));
        assert!(!m.matches(&RequestView {
            service: Service::Kinesis,
            ..view
        }));
    }

    #[test]
    fn delivery_matcher_compares_queues_by_name() {
        let m = DeliveryMatcher {
            mapping: Mapping::Sqs,
            event: None,
            source: Some("events".into()),
        };
        let ids = Vec::new();
        let view = |source| BatchView {
            mapping: Mapping::Sqs,
            source,
            event_ids: &ids,
        };
        assert!(m.matches(&view("arn:aws:sqs:us-east-1:000000000000:events")));
        assert!(m.matches(&view("http://localhost:4566/000000000000/events")));
        assert!(!m.matches(&view("arn:aws:sqs:us-east-1:000000000000:events-dlq")));
    }

    #[test]
    fn rules_display_as_one_readable_line() {
        let rule = RuleDef {
            kind: RuleKind::Request {
                matcher: RequestMatcher {
                    service: Service::Sqs,
                    operation: "SendMessage".into(),
                    event: Some("e-1".into()),
                    body_contains: None,
                    resource: Some("events".into()),
                },
                action: RequestAction::Error {
                    status: 500,
                    code: "InternalError".into(),
                    message: None,
                },
            },
            when: When::First(2),
            times: Some(1),
            name: None,
        };
        assert_eq!(
            rule.to_string(),
            "sqs SendMessage error 500 InternalError first(2) [event e-1, resource events] times 1"
        );
        let delivery = RuleDef {
            kind: RuleKind::Delivery {
                matcher: DeliveryMatcher {
                    mapping: Mapping::Kinesis,
                    event: None,
                    source: Some("shardId-000000000000".into()),
                },
                action: DeliveryAction::CrashBeforeCheckpoint,
            },
            when: When::Nth(1),
            times: None,
            name: None,
        };
        assert_eq!(
            delivery.to_string(),
            "kinesis delivery crash_before_checkpoint nth(1) [shard shardId-000000000000]"
        );
    }
}
