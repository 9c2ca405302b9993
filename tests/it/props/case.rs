//! What one property case is: a producer's history (ingests, some ids sent again, crashes of
//! the forward consumer between ingests) and a fault plan, with the `arb_*` strategies that
//! generate them.
//!
//! Ids are `e-0`, `e-1`, ... so a shrunk case reads like a scenario. Every request fault is
//! scoped to one event id (`for_event`) or, when global, kept inside the retry budget, so the
//! expectations in `expect.rs` follow from the plan alone.

use std::fmt;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

/// Most distinct events in a case (see the case-count comment in `props.rs`): 8, or 64 in
/// the long mode (`PROPS_LONG=1`), where longer histories let more faults meet.
pub fn max_events() -> usize {
    if long_mode() { 64 } else { 8 }
}

/// Most fault rules in a case: 5, or 12 in the long mode.
pub fn max_faults() -> usize {
    if long_mode() { 12 } else { 5 }
}

/// `PROPS_LONG=1` (any value but empty or `0`): longer histories and more faults per case.
pub fn long_mode() -> bool {
    std::env::var("PROPS_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One step of the producer's history.
#[derive(Clone, PartialEq)]
pub enum Step {
    /// PUT the event through the ingest API. An id seen before is a producer retry of the
    /// same request (same payload): a producer duplicate.
    Ingest { id: String, payload: Value },
    /// Kill the forward consumer without checkpointing and start it again.
    CrashForward,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Ingest { id, payload } => write!(f, "ingest {id} {payload}"),
            Step::CrashForward => f.write_str("crash_forward"),
        }
    }
}

/// Which calls of a rule fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    First(u64),
    Nth(u64),
    Always,
}

impl Times {
    /// How many matching calls the rule can fail at most (`None`: unbounded).
    pub fn failures(self) -> Option<u64> {
        match self {
            Times::First(k) => Some(k),
            Times::Nth(_) => Some(1),
            Times::Always => None,
        }
    }
}

/// What a request fault answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The service's own throttling error (retryable).
    Throttle,
    /// HTTP 500 `InternalError` (retryable).
    ServerError,
    /// HTTP 400 `InvalidParameterValue`: not retryable, so the forwarder dead-letters at once.
    Reject,
    /// The backend applies the request and the response is lost (a connector I/O error,
    /// retryable): a SendMessage that the forwarder retries leaves a message each time.
    LoseResponse,
}

/// One fault rule of the plan.
#[derive(Clone, PartialEq, Eq)]
pub enum Fault {
    /// SendMessage to the queue (never the DLQ), for one event or for any.
    Send {
        event: Option<String>,
        answer: Answer,
        times: Times,
    },
    /// PutItem to the table, for one event or for any.
    Put {
        event: Option<String>,
        answer: Answer,
        times: Times,
    },
    /// PutRecord's response lost after Kinesis stored the record: the SDK retries, so Kinesis
    /// holds the record again (first(3) exhausts the SDK's 3 attempts: a 503 with the
    /// records stored anyway).
    LostAck { event: String, first: u64 },
    /// PutRecord throttled: within the SDK's 3 attempts a 200, beyond them a 503 and nothing
    /// stored.
    IngestThrottle { event: String, first: u64 },
    /// The nth Kinesis batch (containing the event, if given) delivered twice.
    KinesisDuplicate { event: Option<String>, nth: u64 },
    /// The nth Kinesis batch (containing the event, if given) crashes the consumer after the
    /// handler ran and before the checkpoint.
    KinesisCrash { event: Option<String>, nth: u64 },
    /// The nth SQS batch (containing the event, if given) delivered twice.
    SqsDuplicate { event: Option<String>, nth: u64 },
}

impl Fault {
    /// Re-targets `e-i` at `e-(i mod n)`, an event of a case of `n` events.
    fn fold_onto(mut self, n: usize) -> Fault {
        let fold = |id: &mut String| {
            if let Some(i) = id.strip_prefix("e-").and_then(|i| i.parse::<usize>().ok()) {
                *id = format!("e-{}", i % n.max(1));
            }
        };
        match &mut self {
            Fault::Send { event, .. }
            | Fault::Put { event, .. }
            | Fault::KinesisDuplicate { event, .. }
            | Fault::KinesisCrash { event, .. }
            | Fault::SqsDuplicate { event, .. } => event.iter_mut().for_each(fold),
            Fault::LostAck { event, .. } | Fault::IngestThrottle { event, .. } => fold(event),
        }
        self
    }
}

/// One line per rule: `SendMessage e-1 Throttle First(3)`, `KinesisCrash any nth(2)`.
impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |event: &Option<String>| event.clone().unwrap_or_else(|| "any".to_owned());
        match self {
            Fault::Send {
                event,
                answer,
                times,
            } => {
                write!(f, "SendMessage {} {answer:?} {times:?}", on(event))
            }
            Fault::Put {
                event,
                answer,
                times,
            } => {
                write!(f, "PutItem {} {answer:?} {times:?}", on(event))
            }
            Fault::LostAck { event, first } => {
                write!(f, "PutRecord {event} LostAck First({first})")
            }
            Fault::IngestThrottle { event, first } => {
                write!(f, "PutRecord {event} Throttle First({first})")
            }
            Fault::KinesisDuplicate { event, nth } => {
                write!(f, "KinesisDuplicate {} Nth({nth})", on(event))
            }
            Fault::KinesisCrash { event, nth } => {
                write!(f, "KinesisCrash {} Nth({nth})", on(event))
            }
            Fault::SqsDuplicate { event, nth } => {
                write!(f, "SqsDuplicate {} Nth({nth})", on(event))
            }
        }
    }
}

/// One generated case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub steps: Vec<Step>,
    pub faults: Vec<Fault>,
    /// Consecutive ingests sent concurrently, up to this many at once (1: one by one).
    pub burst: usize,
    /// After the drain, replay the stream from TRIM_HORIZON and drain again.
    pub replay: bool,
}

impl Case {
    /// The distinct ids, in the order of their first ingest.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for step in &self.steps {
            if let Step::Ingest { id, .. } = step
                && !ids.contains(id)
            {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// What the producer sent for `id` (all its ingests carry the same payload).
    pub fn payload(&self, id: &str) -> Option<&Value> {
        self.steps.iter().find_map(|step| match step {
            Step::Ingest { id: i, payload } if i == id => Some(payload),
            _ => None,
        })
    }

    pub fn has_crash_steps(&self) -> bool {
        self.steps.contains(&Step::CrashForward)
    }

    /// Whether the forward handler may see a record again without a delivery fault: after a
    /// crash of its consumer, or in a replay.
    pub fn reforwards(&self) -> bool {
        self.replay || self.has_crash_steps()
    }
}

/// A JSON value of any type: nested maps and arrays, integers, binary fractions (they print
/// and parse back exactly), strings of any printable characters.
pub fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(|n| json!(n as f64 / 8.0)),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,6}|\\PC{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

prop_compose! {
    /// A payload: usually an object, as clients send; any non-null JSON otherwise.
    pub fn arb_payload()(
        object in btree_map("[a-z_]{1,8}", arb_json(), 0..5),
        other in arb_json(),
        use_object in prop::bool::weighted(0.8),
    ) -> Value {
        match other {
            _ if use_object => Value::Object(object.into_iter().collect()),
            Value::Null => json!({}),
            other => other,
        }
    }
}

prop_compose! {
    /// 1..=max distinct events `e-0`, `e-1`, ... with their payloads.
    pub fn arb_events(max: usize)(payloads in vec(arb_payload(), 1..=max)) -> Vec<(String, Value)> {
        payloads.into_iter().enumerate().map(|(i, p)| (format!("e-{i}"), p)).collect()
    }
}

fn arb_id(n: usize) -> impl Strategy<Value = String> + Clone {
    (0..n).prop_map(|i| format!("e-{i}"))
}

fn arb_retryable() -> impl Strategy<Value = Answer> {
    prop_oneof![Just(Answer::Throttle), Just(Answer::ServerError)]
}

prop_compose! {
    /// A SendMessage fault for one event: retryable errors on the first k attempts (inside the
    /// budget of 3 when k < 3, beyond it when k >= 3), on the nth, or always; a
    /// non-retryable error; or a lost response (the message is on the queue, the forwarder
    /// sees a failure).
    pub fn arb_send_fault(n: usize)(
        event in arb_id(n),
        answer in prop_oneof![
            6 => arb_retryable(),
            1 => Just(Answer::Reject),
            2 => Just(Answer::LoseResponse),
        ],
        times in prop_oneof![
            4 => (1u64..=5).prop_map(Times::First),
            2 => (1u64..=4).prop_map(Times::Nth),
            1 => Just(Times::Always),
        ],
    ) -> Fault {
        Fault::Send { event: Some(event), answer, times }
    }
}

prop_compose! {
    /// A PutItem fault for one event: within the budget (fewer than 3 x 3 failures), beyond
    /// it (always, or first(k >= 9): every attempt of 3 receives), or on the nth attempt.
    pub fn arb_put_fault(n: usize)(
        event in arb_id(n),
        answer in arb_retryable(),
        times in prop_oneof![
            4 => (1u64..=11).prop_map(Times::First),
            2 => (1u64..=6).prop_map(Times::Nth),
            1 => Just(Times::Always),
        ],
    ) -> Fault {
        Fault::Put { event: Some(event), answer, times }
    }
}

prop_compose! {
    /// A fault for any event, inside every budget: at most 2 failed calls in all.
    pub fn arb_global_fault()(
        answer in arb_retryable(),
        times in prop_oneof![(1u64..=2).prop_map(Times::First), (1u64..=12).prop_map(Times::Nth)],
        send in any::<bool>(),
    ) -> Fault {
        if send {
            Fault::Send { event: None, answer, times }
        } else {
            Fault::Put { event: None, answer, times }
        }
    }
}

/// Any fault of the plan, for a case of `n` events.
pub fn arb_fault(n: usize) -> impl Strategy<Value = Fault> {
    let event = proptest::option::weighted(0.6, arb_id(n));
    prop_oneof![
        3 => arb_send_fault(n),
        3 => arb_put_fault(n),
        1 => arb_global_fault(),
        2 => (arb_id(n), 1u64..=3).prop_map(|(event, first)| Fault::LostAck { event, first }),
        1 => (arb_id(n), 1u64..=3)
            .prop_map(|(event, first)| Fault::IngestThrottle { event, first }),
        1 => (event.clone(), 1u64..=3)
            .prop_map(|(event, nth)| Fault::KinesisDuplicate { event, nth }),
        1 => (event.clone(), 1u64..=3).prop_map(|(event, nth)| Fault::KinesisCrash { event, nth }),
        1 => (event, 1u64..=3).prop_map(|(event, nth)| Fault::SqsDuplicate { event, nth }),
    ]
}

prop_compose! {
    /// A whole case: events, producer retries of some of them later in the history, a crash
    /// of the forward consumer between ingests, ingests sent one by one or in concurrent
    /// bursts (several records in one batch), a fault plan, and sometimes a replay.
    ///
    /// One stage, not a flat map: fault and retry targets are drawn from `e-0..e-max_events()`
    /// and folded onto the events there are, so every part shrinks on its own. The faults come
    /// first: proptest shrinks a tuple in order, and deleting events re-targets folded
    /// faults, so events are deleted once the plan is down to the rules that matter.
    pub fn arb_case()(
        faults in vec(arb_fault(max_events()), 0..=max_faults()),
        repeats in vec((0..max_events(), any::<Index>()), 0..=2),
        crash in proptest::option::weighted(0.25, any::<Index>()),
        burst in prop_oneof![3 => Just(1usize), 1 => 2usize..=4],
        replay in prop::bool::weighted(0.1),
        events in arb_events(max_events()),
    ) -> Case {
        let n = events.len();
        let mut steps: Vec<Step> = events
            .iter()
            .map(|(id, payload)| Step::Ingest { id: id.clone(), payload: payload.clone() })
            .collect();
        for (event, at) in repeats {
            let (id, payload) = events[event % n].clone();
            // A retry comes after the original: anywhere from just after it to the end.
            let first = steps
                .iter()
                .position(|s| matches!(s, Step::Ingest { id: i, .. } if *i == id))
                .unwrap_or(0);
            let position = first + 1 + at.index(steps.len() - first);
            steps.insert(position, Step::Ingest { id, payload });
        }
        if let Some(at) = crash {
            steps.insert(at.index(steps.len() + 1), Step::CrashForward);
        }
        let faults = faults.into_iter().map(|f| f.fold_onto(n)).collect();
        Case { steps, faults, burst, replay }
    }
}
