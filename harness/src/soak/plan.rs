//! The soak's seeded random plan: the events it ingests and the fault rules it installs, a
//! pure function of the [`SoakConfig`] (same seed, same plan).
//!
//! Two kinds of faults:
//! - **random**, on every hop: each of the pipeline's AWS calls (PutRecord, GetRecords,
//!   SendMessage to the queue and to the DLQ, ReceiveMessage, DeleteMessageBatch, PutItem)
//!   gets one `probability` rule per failure kind (throttling, a 5xx, a timeout, a lost
//!   response), each at `fault_rate / kinds`, so about `fault_rate` of that hop's calls fail;
//!   each Kinesis batch may be delivered twice or crash the consumer before its checkpoint or
//!   halfway through, each SQS batch may be delivered twice or kill the poller before it
//!   deletes;
//! - **persistent**, for a few events chosen by the seed (`persistent_rate`): their
//!   SendMessage to the queue fails every time (the forwarder sends them to the DLQ with
//!   `failure.*` attributes), or their PutItem is throttled every time (beyond the store's
//!   retry budget: the queue's redrive policy moves them to the DLQ). A marker in their
//!   payload (`soak_fault`) is what the rules match, so two rules cover any number of events.
//!
//! Every probability rule carries its own seed drawn from the plan's generator, so the rules'
//! random streams do not depend on installation order or on the fault plan's own seed.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::SoakConfig;
use crate::fault::{
    DeliveryAction, DeliveryMatcher, Mapping, RequestAction, RequestMatcher, RuleDef, RuleKind,
    Service, When,
};
use crate::template::spec::{EVENTS_DLQ, EVENTS_QUEUE, EVENTS_STREAM, EVENTS_TABLE};

/// How long an injected timeout waits before the connector gives up (tokio time): short of
/// the store function's 5 s timeout even when all three of its attempts time out.
pub const TIMEOUT_AFTER: Duration = Duration::from_secs(1);

/// The payload marker of an event whose SendMessage to the queue always fails.
pub const QUEUE_DOWN: &str = "soak-persistent-queue-down";
/// The payload marker of an event whose PutItem is always throttled.
pub const STORE_THROTTLED: &str = "soak-persistent-store-throttle";

/// A fault that keeps hitting one event until the faults are cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistent {
    /// Every SendMessage to the queue fails: the forwarder dead-letters it.
    QueueDown,
    /// Every PutItem is throttled: the redrive policy dead-letters it.
    StoreThrottled,
}

impl Persistent {
    /// The marker in the event's payload the rule matches.
    pub fn marker(self) -> &'static str {
        match self {
            Persistent::QueueDown => QUEUE_DOWN,
            Persistent::StoreThrottled => STORE_THROTTLED,
        }
    }
}

/// One event the soak ingests.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakEvent {
    /// Its id (`soak-000001`, ...), sent in the body so retries are true duplicates.
    pub id: String,
    /// Its payload, as the table must end up holding it.
    pub payload: Value,
    /// A persistent fault aimed at it, if any (also marked in the payload).
    pub persistent: Option<Persistent>,
}

impl SoakEvent {
    /// The ingest API's request body.
    pub fn body(&self) -> Value {
        json!({"stream": "default", "id": self.id, "payload": self.payload})
    }
}

/// The events and the rules of one soak.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakPlan {
    /// In ingest order.
    pub events: Vec<SoakEvent>,
    /// To install before ingesting (resources by the template's logical ids).
    pub rules: Vec<RuleDef>,
}

const ENERGY: [&str; 5] = ["nuclear", "solar", "wind", "hydro", "coal"];

impl SoakPlan {
    /// The plan `config` implies: the same config (seed included) gives the same plan.
    pub fn new(config: &SoakConfig) -> SoakPlan {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let rate = config.fault_rate.clamp(0.0, 1.0);
        let persistent_rate = config.persistent_rate.clamp(0.0, 1.0);
        let width = config.events.max(1).to_string().len().max(6);
        let events = (1..=config.events)
            .map(|n| {
                let persistent = rng.random_bool(persistent_rate).then(|| {
                    if rng.random_bool(0.5) {
                        Persistent::QueueDown
                    } else {
                        Persistent::StoreThrottled
                    }
                });
                let mut payload = json!({
                    "n": n,
                    "energy_type": ENERGY[rng.random_range(0..ENERGY.len())],
                    "reading": rng.random_range(0..1_000_000u32),
                });
                if let Some(p) = persistent {
                    payload["soak_fault"] = json!(p.marker());
                }
                SoakEvent {
                    id: format!("soak-{n:0width$}"),
                    payload,
                    persistent,
                }
            })
            .collect();
        let mut rules = Vec::new();
        if rate > 0.0 {
            for hop in HOPS {
                let p = rate / hop.actions.len() as f64;
                for action in hop.actions {
                    rules.push(RuleDef {
                        kind: RuleKind::Request {
                            matcher: RequestMatcher {
                                service: hop.service,
                                operation: hop.operation.to_owned(),
                                event: None,
                                body_contains: None,
                                resource: hop.resource.map(str::to_owned),
                            },
                            action: action.request(hop.service),
                        },
                        when: When::Probability {
                            p,
                            seed: Some(rng.random()),
                        },
                        times: None,
                        name: Some(format!("soak:{}:{}", hop.label, action.name())),
                    });
                }
            }
            for (mapping, actions) in DELIVERIES {
                let p = rate / actions.len() as f64;
                for action in actions.iter() {
                    rules.push(RuleDef {
                        kind: RuleKind::Delivery {
                            matcher: DeliveryMatcher {
                                mapping: *mapping,
                                event: None,
                                source: None,
                            },
                            action: *action,
                        },
                        when: When::Probability {
                            p,
                            seed: Some(rng.random()),
                        },
                        times: None,
                        name: Some(format!(
                            "soak:{}-delivery:{}",
                            mapping.name(),
                            action.name()
                        )),
                    });
                }
            }
        }
        for (persistent, service, operation, resource, action) in [
            (
                Persistent::QueueDown,
                Service::Sqs,
                "SendMessage",
                EVENTS_QUEUE,
                RequestAction::Error {
                    status: 500,
                    code: "InternalError".into(),
                    message: None,
                },
            ),
            (
                Persistent::StoreThrottled,
                Service::DynamoDb,
                "PutItem",
                EVENTS_TABLE,
                RequestAction::Throttle {
                    code: Some("ProvisionedThroughputExceededException".into()),
                    message: None,
                },
            ),
        ] {
            rules.push(RuleDef {
                kind: RuleKind::Request {
                    matcher: RequestMatcher {
                        service,
                        operation: operation.to_owned(),
                        event: None,
                        body_contains: Some(persistent.marker().to_owned()),
                        resource: Some(resource.to_owned()),
                    },
                    action,
                },
                when: When::Always,
                times: None,
                name: Some(format!("soak:persistent:{}", persistent.marker())),
            });
        }
        SoakPlan { events, rules }
    }

    /// How many events a persistent fault is aimed at.
    pub fn persistent(&self, kind: Persistent) -> usize {
        self.events
            .iter()
            .filter(|e| e.persistent == Some(kind))
            .count()
    }
}

/// A request fault the soak draws.
#[derive(Debug, Clone, Copy)]
enum Fail {
    Throttle,
    ServerError,
    Timeout,
    LoseResponse,
}

impl Fail {
    fn name(self) -> &'static str {
        match self {
            Fail::Throttle => "throttle",
            Fail::ServerError => "error",
            Fail::Timeout => "timeout",
            Fail::LoseResponse => "lose_response",
        }
    }

    /// The action, with the 5xx code each service really sends.
    fn request(self, service: Service) -> RequestAction {
        match self {
            Fail::Throttle => RequestAction::Throttle {
                code: None,
                message: None,
            },
            Fail::ServerError => RequestAction::Error {
                status: 500,
                code: match service {
                    Service::Kinesis => "InternalFailure",
                    Service::Sqs => "InternalError",
                    Service::DynamoDb => "InternalServerError",
                }
                .to_owned(),
                message: None,
            },
            Fail::Timeout => RequestAction::Timeout(TIMEOUT_AFTER),
            Fail::LoseResponse => RequestAction::LoseResponse,
        }
    }
}

/// One AWS call site of the pipeline and the faults it gets.
struct Hop {
    label: &'static str,
    service: Service,
    operation: &'static str,
    /// By logical id; `None` where the request names no resource (GetRecords carries an
    /// iterator, and the pipeline has one stream).
    resource: Option<&'static str>,
    actions: &'static [Fail],
}

const ALL: &[Fail] = &[
    Fail::Throttle,
    Fail::ServerError,
    Fail::Timeout,
    Fail::LoseResponse,
];

/// Every call the pipeline and its mappings make per event or batch.
const HOPS: &[Hop] = &[
    Hop {
        label: "ingest-PutRecord",
        service: Service::Kinesis,
        operation: "PutRecord",
        resource: Some(EVENTS_STREAM),
        actions: ALL,
    },
    Hop {
        label: "mapping-GetRecords",
        service: Service::Kinesis,
        operation: "GetRecords",
        resource: None,
        actions: ALL,
    },
    Hop {
        label: "forward-SendMessage-queue",
        service: Service::Sqs,
        operation: "SendMessage",
        resource: Some(EVENTS_QUEUE),
        actions: ALL,
    },
    Hop {
        label: "forward-SendMessage-dlq",
        service: Service::Sqs,
        operation: "SendMessage",
        resource: Some(EVENTS_DLQ),
        actions: ALL,
    },
    Hop {
        label: "mapping-ReceiveMessage",
        service: Service::Sqs,
        operation: "ReceiveMessage",
        resource: Some(EVENTS_QUEUE),
        actions: ALL,
    },
    Hop {
        label: "mapping-DeleteMessageBatch",
        service: Service::Sqs,
        operation: "DeleteMessageBatch",
        resource: Some(EVENTS_QUEUE),
        actions: ALL,
    },
    Hop {
        label: "store-PutItem",
        service: Service::DynamoDb,
        operation: "PutItem",
        resource: Some(EVENTS_TABLE),
        actions: ALL,
    },
];

const DELIVERIES: &[(Mapping, &[DeliveryAction])] = &[
    (
        Mapping::Kinesis,
        &[
            DeliveryAction::Duplicate,
            DeliveryAction::CrashBeforeCheckpoint,
            DeliveryAction::CrashMidBatch,
        ],
    ),
    (
        Mapping::Sqs,
        &[
            DeliveryAction::Duplicate,
            DeliveryAction::CrashBeforeCheckpoint,
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> SoakConfig {
        SoakConfig {
            events: 500,
            fault_rate: 0.1,
            seed,
            persistent_rate: 0.02,
            ..SoakConfig::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        assert_eq!(SoakPlan::new(&config(7)), SoakPlan::new(&config(7)));
        let (a, b) = (SoakPlan::new(&config(7)), SoakPlan::new(&config(8)));
        assert_ne!(a.events, b.events);
        assert_ne!(a.rules, b.rules);
    }

    #[test]
    fn every_hop_gets_every_kind_at_its_share_of_the_rate() {
        let plan = SoakPlan::new(&config(1));
        let hop_rules: Vec<&RuleDef> = plan
            .rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Request { .. }))
            .filter(|r| matches!(r.when, When::Probability { .. }))
            .collect();
        assert_eq!(hop_rules.len(), HOPS.len() * ALL.len());
        for rule in &hop_rules {
            assert!(
                matches!(rule.when, When::Probability { p, seed: Some(_) } if (p - 0.025).abs() < 1e-12)
            );
        }
        let deliveries = plan
            .rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Delivery { .. }))
            .count();
        assert_eq!(deliveries, 5);
        let names: Vec<&str> = plan
            .rules
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert!(
            names.contains(&"soak:kinesis-delivery:crash_mid_batch"),
            "{names:?}"
        );
        assert!(
            names.contains(&"soak:store-PutItem:lose_response"),
            "{names:?}"
        );
    }

    #[test]
    fn persistent_faults_are_marked_in_the_payload_the_rules_match() {
        let plan = SoakPlan::new(&config(3));
        let queue_down = plan.persistent(Persistent::QueueDown);
        let throttled = plan.persistent(Persistent::StoreThrottled);
        // 2% of 500: a handful of each, not none, not most.
        assert!((1..=25).contains(&queue_down), "{queue_down}");
        assert!((1..=25).contains(&throttled), "{throttled}");
        for event in &plan.events {
            let marker = event.payload.get("soak_fault").and_then(Value::as_str);
            assert_eq!(marker, event.persistent.map(Persistent::marker));
        }
        let persistent: Vec<&RuleDef> = plan
            .rules
            .iter()
            .filter(|r| r.when == When::Always)
            .collect();
        assert_eq!(persistent.len(), 2);
    }

    #[test]
    fn a_zero_rate_installs_only_the_persistent_rules() {
        let plan = SoakPlan::new(&SoakConfig {
            fault_rate: 0.0,
            ..config(1)
        });
        assert_eq!(plan.rules.len(), 2);
        assert_eq!(plan.events.len(), 500);
        assert_eq!(plan.events[0].id, "soak-000001");
    }
}
