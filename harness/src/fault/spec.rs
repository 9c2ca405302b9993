//! Fault rules as scenario files write them: a TOML inline table, e.g.
//!
//! ```toml
//! fault = { service = "sqs", operation = "SendMessage", action = "throttle", first = 2 }
//! fault = { service = "sqs", operation = "SendMessage", action = "error", code = "InternalError", status = 500, always = true, event = "e-3" }
//! fault = { service = "kinesis", operation = "PutRecord", action = "lose_response", nth = 1 }
//! fault = { service = "dynamodb", operation = "PutItem", action = "throttle", probability = 0.3, seed = 7 }
//! fault = { service = "sqs", operation = "SendMessage", action = "latency", delay = "50ms", always = true }
//! fault = { delivery = "kinesis", action = "crash_before_checkpoint", event = "e-5", name = "crash" }
//! fault = { delivery = "kinesis", action = "crash_mid_batch", probability = 0.05 }
//! ```
//!
//! Keys: the target (`service` + `operation`, or `delivery` = `kinesis`|`sqs`); `action`;
//! exactly one when (`nth`, `first`, `always = true`, `probability` [+ `seed`]); optional
//! `times`, `name`, matchers (`event`; requests: `body`, `resource`; Kinesis deliveries:
//! `shard`; SQS deliveries: `queue`) and action settings (`code`, `status`, `message`, `delay`: a duration such as `"50ms"`, in
//! the grammar of every duration: `pipeline::config::parse_duration`).
//!
//! Validation happens while deserialising, so a scenario loader gets serde's error with the
//! file position of the offending table (toml reports line and column) and a message naming
//! what is wrong.

#![warn(missing_docs)]

use std::time::Duration;

use serde::Deserialize;

use super::response::throttle_codes;
use super::rule::{
    DeliveryAction, DeliveryMatcher, Mapping, RequestAction, RequestMatcher, RuleDef, RuleKind,
    Service, When,
};

/// A validated fault rule from a scenario file; install it with
/// [`FaultPlan::install`](super::FaultPlan::install).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawSpec")]
pub struct FaultSpec {
    rule: RuleDef,
}

impl FaultSpec {
    /// The rule the table describes.
    pub fn rule(&self) -> &RuleDef {
        &self.rule
    }

    /// The rule, owned.
    pub fn into_rule(self) -> RuleDef {
        self.rule
    }

    /// Validates a fault table a scenario loader kept as TOML (`fault = { ... }`).
    pub fn from_table(table: toml::Table) -> Result<Self, toml::de::Error> {
        toml::Value::Table(table).try_into()
    }
}

/// What is wrong with a fault table (each variant's message, which names the key and the fix,
/// is its documentation).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[allow(
    missing_docs,
    reason = "each variant's #[error] message says what it is"
)]
pub enum SpecError {
    #[error("unknown service '{0}': expected kinesis, sqs or dynamodb")]
    UnknownService(String),
    #[error("unknown delivery '{0}': expected kinesis or sqs")]
    UnknownDelivery(String),
    #[error(
        "a fault needs a target: `service` and `operation` (a request fault) or `delivery` (a delivery fault)"
    )]
    NoTarget,
    #[error("give either `service` (a request fault) or `delivery` (a delivery fault), not both")]
    BothTargets,
    #[error("a request fault on {0} needs `operation` (e.g. \"SendMessage\")")]
    MissingOperation(String),
    #[error("unknown action '{action}' for {target}: expected {expected}")]
    UnknownAction {
        action: String,
        target: String,
        expected: &'static str,
    },
    #[error(
        "a fault needs a when: one of `nth = N`, `first = N`, `always = true` or `probability = P`"
    )]
    MissingWhen,
    #[error("conflicting whens {0}: give exactly one")]
    ConflictingWhens(String),
    #[error("`{0}` counts matching calls from 1; 0 never fires")]
    ZeroCount(&'static str),
    #[error("`always = false` selects nothing: leave it out and give another when")]
    AlwaysFalse,
    #[error("`probability` must be between 0 and 1, got {0}")]
    BadProbability(f64),
    #[error("`seed` applies only with `probability`")]
    SeedWithoutProbability,
    #[error("`{field}`: {message}")]
    Duration {
        field: &'static str,
        message: String,
    },
    #[error("action '{action}' needs `{field}`")]
    MissingField {
        action: &'static str,
        field: &'static str,
    },
    #[error("`{field}` does not apply to {context}")]
    FieldNotAllowed {
        field: &'static str,
        context: String,
    },
    #[error("'{code}' is not a throttling error of {service}: expected one of {expected}")]
    NotAThrottlingCode {
        service: &'static str,
        code: String,
        expected: String,
    },
    #[error("`status` of an error must be 400-599, got {0}")]
    BadStatus(u16),
    #[error("`{0}` must not be empty")]
    Empty(&'static str),
}

/// The table as written; [`FaultSpec`] is what it validates into.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    service: Option<String>,
    operation: Option<String>,
    delivery: Option<String>,
    action: String,
    nth: Option<u64>,
    first: Option<u64>,
    always: Option<bool>,
    probability: Option<f64>,
    seed: Option<u64>,
    times: Option<u64>,
    name: Option<String>,
    event: Option<String>,
    body: Option<String>,
    resource: Option<String>,
    shard: Option<String>,
    queue: Option<String>,
    code: Option<String>,
    status: Option<u16>,
    message: Option<String>,
    delay: Option<String>,
}

impl TryFrom<RawSpec> for FaultSpec {
    type Error = SpecError;

    fn try_from(raw: RawSpec) -> Result<Self, SpecError> {
        let kind = match (&raw.service, &raw.delivery) {
            (Some(_), Some(_)) => return Err(SpecError::BothTargets),
            (None, None) => return Err(SpecError::NoTarget),
            (Some(service), None) => request_kind(&raw, service)?,
            (None, Some(delivery)) => delivery_kind(&raw, delivery)?,
        };
        let when = when(&raw)?;
        if raw.times == Some(0) {
            return Err(SpecError::ZeroCount("times"));
        }
        if raw.name.as_deref() == Some("") {
            return Err(SpecError::Empty("name"));
        }
        Ok(FaultSpec {
            rule: RuleDef {
                kind,
                when,
                times: raw.times,
                name: raw.name,
            },
        })
    }
}

fn when(raw: &RawSpec) -> Result<When, SpecError> {
    let given: Vec<&str> = [
        raw.nth.map(|_| "`nth`"),
        raw.first.map(|_| "`first`"),
        raw.always.map(|_| "`always`"),
        raw.probability.map(|_| "`probability`"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(SpecError::ConflictingWhens(given.join(" and ")));
    }
    if raw.seed.is_some() && raw.probability.is_none() {
        return Err(SpecError::SeedWithoutProbability);
    }
    match (raw.nth, raw.first, raw.always, raw.probability) {
        (Some(0), ..) => Err(SpecError::ZeroCount("nth")),
        (Some(n), ..) => Ok(When::Nth(n)),
        (_, Some(0), ..) => Err(SpecError::ZeroCount("first")),
        (_, Some(n), ..) => Ok(When::First(n)),
        (_, _, Some(true), _) => Ok(When::Always),
        (_, _, Some(false), _) => Err(SpecError::AlwaysFalse),
        (_, _, _, Some(p)) if !(0.0..=1.0).contains(&p) => Err(SpecError::BadProbability(p)),
        (_, _, _, Some(p)) => Ok(When::Probability { p, seed: raw.seed }),
        _ => Err(SpecError::MissingWhen),
    }
}

fn request_kind(raw: &RawSpec, service: &str) -> Result<RuleKind, SpecError> {
    let service =
        Service::from_name(service).ok_or_else(|| SpecError::UnknownService(service.to_owned()))?;
    let operation = match raw.operation.as_deref() {
        None => return Err(SpecError::MissingOperation(service.name().to_owned())),
        Some("") => return Err(SpecError::Empty("operation")),
        Some(op) => op.to_owned(),
    };
    let context = || "a request fault".to_owned();
    forbid(raw.shard.is_some(), "shard", context)?;
    forbid(raw.queue.is_some(), "queue", context)?;
    let action = request_action(raw, service)?;
    Ok(RuleKind::Request {
        matcher: RequestMatcher {
            service,
            operation,
            event: raw.event.clone(),
            body_contains: raw.body.clone(),
            resource: raw.resource.clone(),
        },
        action,
    })
}

fn request_action(raw: &RawSpec, service: Service) -> Result<RequestAction, SpecError> {
    let action = raw.action.as_str();
    let not_for = |field: &'static str, present: bool| {
        forbid(present, field, || format!("action '{action}'"))
    };
    let delay = |name: &'static str| -> Result<Duration, SpecError> {
        let text = raw.delay.as_deref().ok_or(SpecError::MissingField {
            action: name,
            field: "delay",
        })?;
        pipeline::config::parse_duration(text).map_err(|message| SpecError::Duration {
            field: "delay",
            message,
        })
    };
    match action {
        "throttle" => {
            not_for("status", raw.status.is_some())?;
            not_for("delay", raw.delay.is_some())?;
            if let Some(code) = &raw.code {
                let allowed = throttle_codes(service);
                if !allowed.contains(&code.as_str()) {
                    return Err(SpecError::NotAThrottlingCode {
                        service: service.name(),
                        code: code.clone(),
                        expected: allowed.join(", "),
                    });
                }
            }
            Ok(RequestAction::Throttle {
                code: raw.code.clone(),
                message: raw.message.clone(),
            })
        }
        "error" => {
            not_for("delay", raw.delay.is_some())?;
            let code = match raw.code.as_deref() {
                None => {
                    return Err(SpecError::MissingField {
                        action: "error",
                        field: "code",
                    });
                }
                Some("") => return Err(SpecError::Empty("code")),
                Some(code) => code.to_owned(),
            };
            let status = raw.status.ok_or(SpecError::MissingField {
                action: "error",
                field: "status",
            })?;
            if !(400..=599).contains(&status) {
                return Err(SpecError::BadStatus(status));
            }
            Ok(RequestAction::Error {
                status,
                code,
                message: raw.message.clone(),
            })
        }
        "latency" | "timeout" | "lose_response" => {
            not_for("code", raw.code.is_some())?;
            not_for("status", raw.status.is_some())?;
            not_for("message", raw.message.is_some())?;
            match action {
                "latency" => Ok(RequestAction::Latency(delay("latency")?)),
                "timeout" => Ok(RequestAction::Timeout(delay("timeout")?)),
                _ => {
                    not_for("delay", raw.delay.is_some())?;
                    Ok(RequestAction::LoseResponse)
                }
            }
        }
        other => Err(SpecError::UnknownAction {
            action: other.to_owned(),
            target: "a request fault".to_owned(),
            expected: "throttle, error, latency, timeout or lose_response",
        }),
    }
}

fn delivery_kind(raw: &RawSpec, delivery: &str) -> Result<RuleKind, SpecError> {
    let mapping = match delivery.to_ascii_lowercase().as_str() {
        "kinesis" => Mapping::Kinesis,
        "sqs" => Mapping::Sqs,
        _ => return Err(SpecError::UnknownDelivery(delivery.to_owned())),
    };
    let context = || format!("a {} delivery fault", mapping.name());
    for (field, present) in [
        ("operation", raw.operation.is_some()),
        ("body", raw.body.is_some()),
        ("resource", raw.resource.is_some()),
        ("code", raw.code.is_some()),
        ("status", raw.status.is_some()),
        ("message", raw.message.is_some()),
        ("delay", raw.delay.is_some()),
        ("shard", raw.shard.is_some() && mapping == Mapping::Sqs),
        ("queue", raw.queue.is_some() && mapping == Mapping::Kinesis),
    ] {
        forbid(present, field, context)?;
    }
    let action = match (mapping, raw.action.as_str()) {
        (_, "duplicate") => DeliveryAction::Duplicate,
        (Mapping::Kinesis, "crash_before_checkpoint") => DeliveryAction::CrashBeforeCheckpoint,
        (Mapping::Kinesis, "crash_mid_batch") => DeliveryAction::CrashMidBatch,
        (Mapping::Kinesis, other) => {
            return Err(SpecError::UnknownAction {
                action: other.to_owned(),
                target: context(),
                expected: "duplicate, crash_before_checkpoint or crash_mid_batch",
            });
        }
        (Mapping::Sqs, other) => {
            return Err(SpecError::UnknownAction {
                action: other.to_owned(),
                target: context(),
                expected: "duplicate",
            });
        }
    };
    Ok(RuleKind::Delivery {
        matcher: DeliveryMatcher {
            mapping,
            event: raw.event.clone(),
            source: raw.shard.clone().or_else(|| raw.queue.clone()),
        },
        action,
    })
}

fn forbid(
    present: bool,
    field: &'static str,
    context: impl FnOnce() -> String,
) -> Result<(), SpecError> {
    if present {
        return Err(SpecError::FieldNotAllowed {
            field,
            context: context(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
