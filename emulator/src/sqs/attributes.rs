//! Queue attributes: the settable ones with AWS's defaults and ranges, the redrive policy,
//! and how `GetQueueAttributes` renders them (every value is a string on the wire).

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::{invalid_attribute_name, invalid_attribute_value, invalid_parameter};
use crate::error::AwsError;

/// The settable attributes of a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSettings {
    pub delay_seconds: u32,
    pub maximum_message_size: u32,
    pub message_retention_period: u32,
    pub receive_message_wait_time_seconds: u32,
    pub visibility_timeout: u32,
    pub redrive_policy: Option<RedrivePolicy>,
    /// Stored and returned as given (validated as a JSON object).
    pub redrive_allow_policy: Option<String>,
    /// A FIFO queue (`FifoQueue=true`, a `.fifo` name): fixed when the queue is created.
    pub fifo: bool,
    /// FIFO only: the SHA-256 of the body is the deduplication id when none is sent.
    pub content_based_deduplication: bool,
    /// FIFO only: `queue` or `messageGroup` (deduplication per group).
    pub deduplication_scope: &'static str,
    /// FIFO only: `perQueue` or `perMessageGroupId` (kept and reported; no quota enforced).
    pub fifo_throughput_limit: &'static str,
    /// `Policy`, `KmsMasterKeyId`, `KmsDataKeyReusePeriodSeconds`, `SqsManagedSseEnabled`:
    /// accepted and returned, with no effect on behaviour.
    pub passive: BTreeMap<String, String>,
}

impl QueueSettings {
    /// AWS's defaults; `max_message_size` is the current limit (1 MiB unless configured).
    pub fn defaults(max_message_size: u32) -> Self {
        Self {
            delay_seconds: 0,
            maximum_message_size: max_message_size,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            visibility_timeout: 30,
            redrive_policy: None,
            redrive_allow_policy: None,
            fifo: false,
            content_based_deduplication: false,
            deduplication_scope: "queue",
            fifo_throughput_limit: "perQueue",
            passive: BTreeMap::from([("SqsManagedSseEnabled".into(), "true".into())]),
        }
    }

    /// Applies attributes from CreateQueue or SetQueueAttributes, validating each.
    /// `max_message_size` is the service's upper bound for `MaximumMessageSize`.
    pub fn apply(
        &mut self,
        attributes: &BTreeMap<String, String>,
        max_message_size: u32,
    ) -> Result<(), AwsError> {
        for (name, value) in attributes {
            match name.as_str() {
                "DelaySeconds" => self.delay_seconds = ranged(name, value, 0, 900)?,
                "MaximumMessageSize" => {
                    self.maximum_message_size = ranged(name, value, 1024, max_message_size)?
                }
                "MessageRetentionPeriod" => {
                    self.message_retention_period = ranged(name, value, 60, 1_209_600)?
                }
                "ReceiveMessageWaitTimeSeconds" => {
                    self.receive_message_wait_time_seconds = ranged(name, value, 0, 20)?
                }
                "VisibilityTimeout" => self.visibility_timeout = ranged(name, value, 0, 43_200)?,
                "RedrivePolicy" => {
                    self.redrive_policy = if value.is_empty() {
                        None
                    } else {
                        Some(RedrivePolicy::parse(value)?)
                    }
                }
                "RedriveAllowPolicy" => {
                    self.redrive_allow_policy = if value.is_empty() {
                        None
                    } else {
                        validate_redrive_allow_policy(value)?;
                        Some(value.clone())
                    }
                }
                "SqsManagedSseEnabled" => {
                    if value != "true" && value != "false" {
                        return Err(invalid_value(name));
                    }
                    self.passive.insert(name.clone(), value.clone());
                }
                "KmsDataKeyReusePeriodSeconds" => {
                    ranged(name, value, 60, 86_400)?;
                    self.passive.insert(name.clone(), value.clone());
                }
                // An empty Policy removes it (AWS's recorded answer).
                "Policy" if value.is_empty() => {
                    self.passive.remove(name);
                }
                "Policy" | "KmsMasterKeyId" => {
                    self.passive.insert(name.clone(), value.clone());
                }
                // A queue's type is fixed at creation: restating it is a no-op.
                "FifoQueue" if self.fifo && value == "true" => {}
                "FifoQueue" if !self.fifo && value == "false" => {}
                "ContentBasedDeduplication" if self.fifo => {
                    self.content_based_deduplication = boolean(name, value)?;
                }
                "DeduplicationScope" if self.fifo => {
                    self.deduplication_scope = match value.as_str() {
                        "queue" => "queue",
                        "messageGroup" => "messageGroup",
                        _ => return Err(invalid_value(name)),
                    };
                }
                "FifoThroughputLimit" if self.fifo => {
                    self.fifo_throughput_limit = match value.as_str() {
                        "perQueue" => "perQueue",
                        "perMessageGroupId" => "perMessageGroupId",
                        _ => return Err(invalid_value(name)),
                    };
                }
                // FIFO-only attributes on a standard queue, worded as AWS words them.
                "FifoQueue" | "ContentBasedDeduplication" => {
                    return Err(invalid_attribute_name(name));
                }
                "DeduplicationScope" | "FifoThroughputLimit" => {
                    return Err(AwsError::new(
                        "InvalidAttributeName",
                        format!("You can specify the {name} only when FifoQueue is set to true."),
                    ));
                }
                _ => return Err(invalid_attribute_name(name)),
            }
        }
        Ok(())
    }

    /// The value of one settable attribute as `GetQueueAttributes` returns it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "DelaySeconds" => self.delay_seconds.to_string(),
            "MaximumMessageSize" => self.maximum_message_size.to_string(),
            "MessageRetentionPeriod" => self.message_retention_period.to_string(),
            "ReceiveMessageWaitTimeSeconds" => self.receive_message_wait_time_seconds.to_string(),
            "VisibilityTimeout" => self.visibility_timeout.to_string(),
            "RedrivePolicy" => self.redrive_policy.as_ref()?.to_json(),
            "RedriveAllowPolicy" => self.redrive_allow_policy.clone()?,
            "FifoQueue" if self.fifo => "true".into(),
            "ContentBasedDeduplication" if self.fifo => {
                self.content_based_deduplication.to_string()
            }
            "DeduplicationScope" if self.fifo => self.deduplication_scope.into(),
            "FifoThroughputLimit" if self.fifo => self.fifo_throughput_limit.into(),
            "FifoQueue"
            | "ContentBasedDeduplication"
            | "DeduplicationScope"
            | "FifoThroughputLimit" => return None,
            other => self.passive.get(other)?.clone(),
        })
    }

    /// The name of the first attribute in `attributes` whose value differs from these
    /// settings (CreateQueue on an existing name is idempotent only when none differs).
    pub fn first_difference(
        &self,
        attributes: &BTreeMap<String, String>,
        max_message_size: u32,
    ) -> Result<Option<String>, AwsError> {
        let mut wanted = self.clone();
        wanted.apply(attributes, max_message_size)?;
        Ok(attributes
            .keys()
            .find(|name| wanted.get(name) != self.get(name))
            .cloned())
    }
}

/// The names `GetQueueAttributes` knows, in the order `All` lists them.
pub const READABLE: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// `{"deadLetterTargetArn": ..., "maxReceiveCount": n}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

impl RedrivePolicy {
    pub fn parse(text: &str) -> Result<Self, AwsError> {
        let invalid = |reason: &str| {
            invalid_attribute_value(format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}"
            ))
        };
        let map = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(invalid("Redrive policy is not a valid JSON map.")),
        };
        let arn = match map.get("deadLetterTargetArn") {
            Some(Value::String(arn)) if arn_name(arn).is_some() => arn.clone(),
            Some(_) => return Err(invalid("Invalid value for deadLetterTargetArn.")),
            None => {
                return Err(invalid(
                    "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
                ));
            }
        };
        // Clients send the count as a number or as a string of digits; AWS takes both.
        let count = match map.get("maxReceiveCount") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            Some(_) => None,
            // AWS answers InvalidParameterValue here (InvalidAttributeValue for the rest).
            None => {
                return Err(invalid_parameter(format!(
                    "Value {text} for parameter RedrivePolicy is invalid. Reason: Redrive policy \
                     does not contain mandatory attribute: maxReceiveCount."
                )));
            }
        };
        let count = match count {
            Some(n @ 1..=1000) => n as u32,
            _ => {
                return Err(invalid(&format!(
                    "Invalid value for maxReceiveCount: {}, valid values are from 1 to 1000 both inclusive.",
                    map.get("maxReceiveCount")
                        .map(Value::to_string)
                        .unwrap_or_default()
                )));
            }
        };
        Ok(Self {
            dead_letter_target_arn: arn,
            max_receive_count: count,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dead_letter_target_arn,
            "maxReceiveCount": self.max_receive_count,
        })
        .to_string()
    }

    /// The dead-letter queue's name (the ARN's last part).
    pub fn target_name(&self) -> &str {
        arn_name(&self.dead_letter_target_arn).unwrap_or_default()
    }
}

/// The queue name in `arn:aws:sqs:{region}:{account}:{name}`.
pub fn arn_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, _, name] if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// Whether a dead-letter queue's RedriveAllowPolicy (already validated) lets `source_arn`
/// name it in a redrive policy.
pub fn redrive_allowed(allow_policy: &str, source_arn: &str) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(allow_policy) else {
        return true;
    };
    match map.get("redrivePermission").and_then(Value::as_str) {
        Some("denyAll") => false,
        Some("byQueue") => map
            .get("sourceQueueArns")
            .and_then(Value::as_array)
            .is_some_and(|arns| arns.iter().any(|a| a.as_str() == Some(source_arn))),
        _ => true,
    }
}

fn validate_redrive_allow_policy(text: &str) -> Result<(), AwsError> {
    let invalid = |reason: &str| {
        invalid_attribute_value(format!(
            "Value {text} for parameter RedriveAllowPolicy is invalid. Reason: {reason}"
        ))
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid("Redrive allow policy is not a valid JSON map."));
    };
    match map.get("redrivePermission").and_then(Value::as_str) {
        Some("allowAll" | "denyAll") => Ok(()),
        Some("byQueue") => match map.get("sourceQueueArns") {
            Some(Value::Array(arns)) if (1..=10).contains(&arns.len()) => Ok(()),
            _ => Err(invalid(
                "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.",
            )),
        },
        _ => Err(invalid(
            "redrivePermission must be one of allowAll, denyAll, byQueue.",
        )),
    }
}

fn invalid_value(name: &str) -> AwsError {
    invalid_attribute_value(format!("Invalid value for the parameter {name}."))
}

fn boolean(name: &str, value: &str) -> Result<bool, AwsError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_value(name)),
    }
}

fn ranged(name: &str, value: &str, min: u32, max: u32) -> Result<u32, AwsError> {
    match value.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid_value(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_outside_aws_ranges_are_invalid_attribute_values() {
        let mut s = QueueSettings::defaults(1_048_576);
        for (name, value) in [
            ("VisibilityTimeout", "43201"),
            ("DelaySeconds", "901"),
            ("MessageRetentionPeriod", "59"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("MaximumMessageSize", "1023"),
            ("MaximumMessageSize", "1048577"),
            ("VisibilityTimeout", "abc"),
        ] {
            let err = s.apply(&attrs(&[(name, value)]), 1_048_576).unwrap_err();
            assert_eq!(err.code, "InvalidAttributeValue", "{name}={value}");
            assert!(err.message.contains(name));
        }
        assert_eq!(
            s.apply(&attrs(&[("Bogus", "1")]), 1_048_576)
                .unwrap_err()
                .code,
            "InvalidAttributeName"
        );
    }

    #[test]
    fn redrive_policy_takes_string_or_number_counts_and_checks_the_range() {
        let arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
        let p = RedrivePolicy::parse(&format!(
            r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"3"}}"#
        ))
        .unwrap();
        assert_eq!(p.max_receive_count, 3);
        assert_eq!(p.target_name(), "dlq");
        assert_eq!(RedrivePolicy::parse(&p.to_json()).unwrap(), p);
        for bad in [
            "not json".to_owned(),
            r#"{"maxReceiveCount":3}"#.to_owned(),
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":0}}"#),
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":1001}}"#),
            r#"{"deadLetterTargetArn":"nope","maxReceiveCount":3}"#.to_owned(),
        ] {
            assert_eq!(
                RedrivePolicy::parse(&bad).unwrap_err().code,
                "InvalidAttributeValue",
                "{bad}"
            );
        }
    }

    #[test]
    fn redrive_allow_policies_allow_all_none_or_listed_queues() {
        let a = "arn:aws:sqs:us-east-1:000000000000:a";
        assert!(redrive_allowed(r#"{"redrivePermission":"allowAll"}"#, a));
        assert!(!redrive_allowed(r#"{"redrivePermission":"denyAll"}"#, a));
        let by_queue = format!(r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{a}"]}}"#);
        assert!(redrive_allowed(&by_queue, a));
        assert!(!redrive_allowed(
            &by_queue,
            "arn:aws:sqs:us-east-1:000000000000:b"
        ));
        let mut s = QueueSettings::defaults(1_048_576);
        let bad = attrs(&[("RedriveAllowPolicy", r#"{"redrivePermission":"some"}"#)]);
        assert_eq!(
            s.apply(&bad, 1_048_576).unwrap_err().code,
            "InvalidAttributeValue"
        );
    }

    #[test]
    fn create_queue_compares_only_the_attributes_given() {
        let mut s = QueueSettings::defaults(1_048_576);
        s.apply(&attrs(&[("VisibilityTimeout", "60")]), 1_048_576)
            .unwrap();
        assert_eq!(s.first_difference(&attrs(&[]), 1_048_576).unwrap(), None);
        assert_eq!(
            s.first_difference(&attrs(&[("VisibilityTimeout", "60")]), 1_048_576)
                .unwrap(),
            None
        );
        assert_eq!(
            s.first_difference(&attrs(&[("VisibilityTimeout", "61")]), 1_048_576)
                .unwrap()
                .as_deref(),
            Some("VisibilityTimeout")
        );
    }
}
