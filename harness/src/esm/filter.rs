//! Lambda's event filtering (`FilterCriteria`): which records a mapping hands to its function.
//!
//! A mapping's criteria are a list of patterns (`FilterCriteria: {Filters: [{Pattern:
//! "<json>"}]}`); a record is delivered when **any** pattern matches it (OR across filters) and
//! a pattern matches when **every** field it names matches (AND across fields). A field's rule
//! list matches when any rule in it does. The grammar is AWS's ("Filter rule syntax", Lambda
//! developer guide, invocation-eventfiltering):
//!
//! | rule | syntax |
//! |---|---|
//! | null / empty / equals | `[null]`, `[""]`, `["Alice"]`, `[100]`, `[true]` |
//! | equals (ignore case) | `[{"equals-ignore-case": "alice"}]` |
//! | not | `[{"anything-but": ["Raining"]}]` (also a single value, or `{"prefix"|"suffix"|"equals-ignore-case": s}`) |
//! | numeric | `[{"numeric": ["=", 100]}]`, `[{"numeric": [">", 10, "<=", 20]}]` |
//! | exists / does not exist | `[{"exists": true}]`, `[{"exists": false}]` |
//! | begins with / ends with | `[{"prefix": "us-"}]`, `[{"suffix": ".png"}]` |
//!
//! Strings compare character by character; numbers by value only under `numeric` (an exact
//! `[300]` is not `300.0`, as AWS documents). When the record's value is an array, a rule
//! matches if it matches any element. A pattern that is not a JSON object, a field whose rules
//! are not a non-empty array, or an unknown operator is refused with AWS's message, "Invalid
//! filter pattern definition." (recorded on AWS: LocalStack snapshots
//! `test_sqs_invalid_event_filter[*]`, 2025).
//!
//! What the patterns see ([`kinesis_document`], [`sqs_document`]): the record with its payload
//! decoded, `data` (Kinesis, base64-decoded) or `body` (SQS) parsed as JSON when it is JSON and
//! left a plain string otherwise, so a JSON pattern (a nested object) never matches a body that
//! is not JSON. `$or` and the wildcard/CIDR operators of EventBridge are not part of Lambda's
//! table and are refused.
//!
//! Written by hand: the crates that implement EventBridge patterns follow EventBridge's larger
//! grammar (and its own error messages), not Lambda's subset and its single refusal message.

use std::collections::BTreeMap;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use serde_json::{Map, Value};

/// A mapping's `FilterCriteria`: the patterns, compiled once.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterCriteria {
    patterns: Vec<Pattern>,
}

/// A filter Lambda refuses at mapping creation.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// AWS's `InvalidParameterValueException` message; the reason is the source.
    #[error("Invalid filter pattern definition.")]
    InvalidPattern {
        /// The pattern as the template gives it.
        pattern: String,
        /// What is wrong with it.
        #[source]
        reason: PatternError,
    },
}

/// Why a pattern is invalid (for logs; AWS says only "Invalid filter pattern definition.").
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// The pattern is not JSON.
    #[error("the pattern is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The pattern is JSON, but not an object.
    #[error("the pattern is not a JSON object")]
    NotAnObject,
    /// A field's rules are not a non-empty array (or an object of fields).
    #[error("field `{0}`: rules must be a non-empty array (or an object of fields)")]
    NotARuleList(String),
    /// A field's rule is not one Lambda knows (an unknown operator, a bad argument).
    #[error("field `{field}`: {reason}")]
    BadRule {
        /// The field's path in the pattern (`data.energy_type`).
        field: String,
        /// What is wrong with its rule.
        reason: String,
    },
}

impl FilterCriteria {
    /// Compiles the template's patterns (`Filters[].Pattern`, each a JSON string).
    pub fn from_patterns<I, S>(patterns: I) -> Result<Self, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|text| {
                let text = text.as_ref();
                Pattern::parse(text).map_err(|reason| FilterError::InvalidPattern {
                    pattern: text.to_owned(),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are no filters (every record passes).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a record's filter document (see [`kinesis_document`], [`sqs_document`]) passes:
    /// any pattern matches. No patterns: everything passes.
    pub fn matches(&self, document: &Value) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| p.matches(document))
    }

    /// Whether a Kinesis record passes (matched against its [`kinesis_document`]).
    pub fn matches_kinesis(&self, record: &KinesisEventRecord) -> bool {
        self.is_empty() || self.matches(&kinesis_document(record))
    }

    /// Whether an SQS message passes (matched against its [`sqs_document`]).
    pub fn matches_sqs(&self, message: &SqsMessage) -> bool {
        self.is_empty() || self.matches(&sqs_document(message))
    }
}

/// What a Kinesis pattern is matched against: the record's `kinesis` fields
/// (`partitionKey`, `sequenceNumber`, ...), with `data` decoded from base64 and parsed as JSON
/// when it is JSON (else the UTF-8 text, lossily).
pub fn kinesis_document(record: &KinesisEventRecord) -> Value {
    let k = &record.kinesis;
    let mut doc = Map::new();
    if let Some(v) = &k.kinesis_schema_version {
        doc.insert("kinesisSchemaVersion".into(), Value::String(v.clone()));
    }
    doc.insert(
        "partitionKey".into(),
        Value::String(k.partition_key.clone()),
    );
    doc.insert(
        "sequenceNumber".into(),
        Value::String(k.sequence_number.clone()),
    );
    doc.insert("data".into(), payload(&String::from_utf8_lossy(&k.data)));
    Value::Object(doc)
}

/// What an SQS pattern is matched against: the message as Lambda sends it, with `body` parsed
/// as JSON when it is JSON (else the plain string).
pub fn sqs_document(message: &SqsMessage) -> Value {
    let mut doc = serde_json::to_value(message).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        let body = message.body.as_deref().map_or(Value::Null, payload);
        obj.insert("body".into(), body);
    }
    doc
}

fn payload(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// One compiled pattern: fields to rule lists or to nested patterns.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    fields: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Nested(Pattern),
    Rules(Vec<Rule>),
}

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// `null`, a string, a number or a boolean: the value is exactly this.
    Equals(Value),
    EqualsIgnoreCase(String),
    Prefix(String),
    Suffix(String),
    AnythingBut(Vec<Rule>),
    Numeric(Vec<(Cmp, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Pattern {
    fn parse(text: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(PatternError::NotJson)?;
        match value {
            Value::Object(obj) => Self::from_object(obj),
            _ => Err(PatternError::NotAnObject),
        }
    }

    fn from_object(obj: Map<String, Value>) -> Result<Self, PatternError> {
        let mut fields = BTreeMap::new();
        for (field, value) in obj {
            let node = match value {
                Value::Object(nested) => Node::Nested(Self::from_object(nested)?),
                Value::Array(rules) if !rules.is_empty() => Node::Rules(
                    rules
                        .into_iter()
                        .map(|r| Rule::parse(r).map_err(|reason| bad(&field, reason)))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(PatternError::NotARuleList(field)),
            };
            fields.insert(field, node);
        }
        Ok(Self { fields })
    }

    fn matches(&self, doc: &Value) -> bool {
        let obj = doc.as_object();
        self.fields.iter().all(|(field, node)| {
            let value = obj.and_then(|o| o.get(field));
            match node {
                Node::Nested(pattern) => value.is_some_and(|v| pattern.matches(v)),
                Node::Rules(rules) => rules.iter().any(|r| r.matches_field(value)),
            }
        })
    }
}

fn bad(field: &str, reason: String) -> PatternError {
    PatternError::BadRule {
        field: field.to_owned(),
        reason,
    }
}

impl Rule {
    fn parse(value: Value) -> Result<Self, String> {
        match value {
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                Ok(Rule::Equals(value))
            }
            Value::Array(_) => Err("a rule cannot be an array".into()),
            Value::Object(obj) => {
                let mut entries = obj.into_iter();
                let (Some((op, arg)), None) = (entries.next(), entries.next()) else {
                    return Err("an operator object has exactly one key".into());
                };
                Self::operator(&op, arg)
            }
        }
    }

    fn operator(op: &str, arg: Value) -> Result<Self, String> {
        let string = |arg: Value| match arg {
            Value::String(s) => Ok(s),
            other => Err(format!("`{op}` takes a string, not {other}")),
        };
        match op {
            "prefix" => string(arg).map(Rule::Prefix),
            "suffix" => string(arg).map(Rule::Suffix),
            "equals-ignore-case" => string(arg).map(Rule::EqualsIgnoreCase),
            "exists" => match arg {
                Value::Bool(b) => Ok(Rule::Exists(b)),
                other => Err(format!("`exists` takes true or false, not {other}")),
            },
            "numeric" => Self::numeric(arg),
            "anything-but" => {
                let inner = match arg {
                    Value::Array(values) if !values.is_empty() => values
                        .into_iter()
                        .map(|v| match v {
                            Value::String(_) | Value::Number(_) => Ok(Rule::Equals(v)),
                            other => Err(format!(
                                "`anything-but` lists strings or numbers, not {other}"
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    v @ (Value::String(_) | Value::Number(_)) => vec![Rule::Equals(v)],
                    Value::Object(obj) if obj.len() == 1 => {
                        let (op, arg) = obj.into_iter().next().unwrap_or_default();
                        match op.as_str() {
                            "prefix" | "suffix" | "equals-ignore-case" => {
                                vec![Self::operator(&op, arg)?]
                            }
                            _ => return Err(format!("`anything-but` does not take `{op}`")),
                        }
                    }
                    other => return Err(format!("`anything-but` does not take {other}")),
                };
                Ok(Rule::AnythingBut(inner))
            }
            _ => Err(format!("unknown operator `{op}`")),
        }
    }

    /// `["=", n]`, or one or two comparisons: a lower bound (`>`, `>=`) then an upper bound.
    fn numeric(arg: Value) -> Result<Self, String> {
        let Value::Array(items) = arg else {
            return Err("`numeric` takes an array".into());
        };
        if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
            return Err("`numeric` takes one or two (operator, number) pairs".into());
        }
        let mut comparisons = Vec::new();
        for pair in items.chunks(2) {
            let cmp = match pair[0].as_str() {
                Some("=") => Cmp::Eq,
                Some("<") => Cmp::Lt,
                Some("<=") => Cmp::Le,
                Some(">") => Cmp::Gt,
                Some(">=") => Cmp::Ge,
                _ => return Err(format!("unknown numeric operator {}", pair[0])),
            };
            let n = pair[1]
                .as_f64()
                .ok_or_else(|| format!("`numeric` compares with numbers, not {}", pair[1]))?;
            comparisons.push((cmp, n));
        }
        if let [(first, _), (second, _)] = comparisons.as_slice() {
            let lower = matches!(first, Cmp::Gt | Cmp::Ge);
            let upper = matches!(second, Cmp::Lt | Cmp::Le);
            if !(lower && upper) {
                return Err("a numeric range is a lower bound then an upper bound".into());
            }
        }
        Ok(Rule::Numeric(comparisons))
    }

    /// Whether the rule holds for a field's value (`None`: the field is absent).
    fn matches_field(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Rule::Exists(exists), v) => *exists == v.is_some(),
            (_, None) => false,
            // An array matches when one of its elements does.
            (_, Some(Value::Array(items))) => items.iter().any(|v| self.matches_value(v)),
            (_, Some(v)) => self.matches_value(v),
        }
    }

    fn matches_value(&self, value: &Value) -> bool {
        match self {
            Rule::Equals(expected) => expected == value,
            Rule::EqualsIgnoreCase(s) => value
                .as_str()
                .is_some_and(|v| v.to_lowercase() == s.to_lowercase()),
            Rule::Prefix(p) => value.as_str().is_some_and(|v| v.starts_with(p.as_str())),
            Rule::Suffix(p) => value.as_str().is_some_and(|v| v.ends_with(p.as_str())),
            // A value of another type than the excluded ones is "anything but" them; anything-but
            // matches only values it can compare (strings and numbers), as in EventBridge.
            Rule::AnythingBut(excluded) => {
                (value.is_string() || value.is_number())
                    && !excluded.iter().any(|r| r.matches_value(value))
            }
            Rule::Numeric(comparisons) => value.as_f64().is_some_and(|v| {
                comparisons.iter().all(|(cmp, n)| match cmp {
                    Cmp::Eq => v == *n,
                    Cmp::Lt => v < *n,
                    Cmp::Le => v <= *n,
                    Cmp::Gt => v > *n,
                    Cmp::Ge => v >= *n,
                })
            }),
            Rule::Exists(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn criteria(patterns: &[Value]) -> FilterCriteria {
        FilterCriteria::from_patterns(patterns.iter().map(Value::to_string)).unwrap()
    }

    /// One row per operator of AWS's table (invocation-eventfiltering, "Filter rule syntax"),
    /// with a document that matches and one that does not.
    #[test]
    fn every_operator_matches_as_aws_documents() {
        let rows: Vec<(Value, Value, Value)> = vec![
            (
                json!({"UserID": [null]}),
                json!({"UserID": null}),
                json!({"UserID": "x"}),
            ),
            (
                json!({"LastName": [""]}),
                json!({"LastName": ""}),
                json!({"LastName": "x"}),
            ),
            (
                json!({"Name": ["Alice"]}),
                json!({"Name": "Alice"}),
                json!({"Name": "alice"}),
            ),
            (
                json!({"Name": [{"equals-ignore-case": "alice"}]}),
                json!({"Name": "ALICE"}),
                json!({"Name": "Bob"}),
            ),
            (
                json!({"Location": ["New York"], "Day": ["Monday"]}),
                json!({"Location": "New York", "Day": "Monday"}),
                json!({"Location": "New York", "Day": "Tuesday"}),
            ),
            (
                json!({"PaymentType": ["Credit", "Debit"]}),
                json!({"PaymentType": "Debit"}),
                json!({"PaymentType": "Cash"}),
            ),
            (
                json!({"Weather": [{"anything-but": ["Raining"]}]}),
                json!({"Weather": "Sunny"}),
                json!({"Weather": "Raining"}),
            ),
            (
                json!({"Price": [{"numeric": ["=", 100]}]}),
                json!({"Price": 100.0}),
                json!({"Price": 101}),
            ),
            (
                json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
                json!({"Price": 20}),
                json!({"Price": 10}),
            ),
            (
                json!({"ProductName": [{"exists": true}]}),
                json!({"ProductName": "x"}),
                json!({"Other": "x"}),
            ),
            (
                json!({"ProductName": [{"exists": false}]}),
                json!({"Other": "x"}),
                json!({"ProductName": "x"}),
            ),
            (
                json!({"Region": [{"prefix": "us-"}]}),
                json!({"Region": "us-east-1"}),
                json!({"Region": "eu-west-1"}),
            ),
            (
                json!({"FileName": [{"suffix": ".png"}]}),
                json!({"FileName": "a.png"}),
                json!({"FileName": "a.jpg"}),
            ),
            (
                json!({"body": {"RequestCode": ["BBBB"]}}),
                json!({"body": {"RequestCode": "BBBB"}}),
                json!({"body": "RequestCode BBBB"}),
            ),
        ];
        for (pattern, yes, no) in rows {
            let c = criteria(std::slice::from_ref(&pattern));
            assert!(c.matches(&yes), "{pattern} should match {yes}");
            assert!(!c.matches(&no), "{pattern} should not match {no}");
        }
    }

    #[test]
    fn filters_are_ored_and_arrays_match_any_element() {
        let c = criteria(&[json!({"a": ["1"]}), json!({"b": ["2"]})]);
        assert!(c.matches(&json!({"b": "2"})));
        assert!(!c.matches(&json!({"a": "2", "b": "1"})));
        let tags = criteria(&[json!({"tags": ["red"]})]);
        assert!(tags.matches(&json!({"tags": ["blue", "red"]})));
        assert!(criteria(&[]).matches(&json!("anything")));
    }

    #[test]
    fn exact_numbers_are_not_numeric_comparisons() {
        // AWS: "300, 300.0, and 3.0e2 are not considered equal" without `numeric`.
        let c = criteria(&[json!({"n": [300]})]);
        assert!(c.matches(&json!({"n": 300})));
        assert!(!c.matches(&json!({"n": 300.0})));
    }

    /// Recorded on AWS (LocalStack snapshots `test_sqs_invalid_event_filter[*]`, 2025):
    /// `null`, a plain string, a scalar where the rule list belongs, and an empty rule list
    /// are all refused with "Invalid filter pattern definition.".
    #[test]
    fn invalid_patterns_are_refused_with_aws_message() {
        for pattern in [
            "null",
            "simple string",
            r#"{"eventSource": "aws:sqs"}"#,
            r#"{"eventSource": []}"#,
            r#"{"a": [{"unknown-op": 1}]}"#,
            r#"{"a": [{"numeric": ["<", 1, ">", 2]}]}"#,
            r#"{"a": [{"prefix": 1}]}"#,
            r#"{"a": [{"exists": "yes"}]}"#,
            r#"{"a": [["nested"]]}"#,
        ] {
            let err = FilterCriteria::from_patterns([pattern]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "Invalid filter pattern definition.",
                "{pattern}"
            );
            assert!(std::error::Error::source(&err).is_some());
        }
    }

    #[test]
    fn a_body_that_is_not_json_never_matches_a_json_pattern() {
        let mut message = SqsMessage::default();
        message.body = Some("plain-string".into());
        let json_pattern = criteria(&[json!({"body": {"my-key": ["my-value"]}})]);
        assert!(!json_pattern.matches_sqs(&message));
        let plain = criteria(&[json!({"body": [{"prefix": "plain"}]})]);
        assert!(plain.matches_sqs(&message));
        message.body = Some(r#"{"my-key": "my-value"}"#.into());
        assert!(json_pattern.matches_sqs(&message));
    }

    #[test]
    fn kinesis_patterns_see_the_decoded_data_and_the_metadata() {
        let mut record = KinesisEventRecord::default();
        record.kinesis.data.0 = br#"{"kind": "order", "total": 12.5}"#.to_vec();
        record.kinesis.partition_key = "p-1".into();
        let c = criteria(&[
            json!({"data": {"total": [{"numeric": [">", 10]}]}, "partitionKey": ["p-1"]}),
        ]);
        assert!(c.matches_kinesis(&record));
        record.kinesis.data.0 = b"not json".to_vec();
        assert!(!c.matches_kinesis(&record));
    }
}
