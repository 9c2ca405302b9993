//! A function's response body, read as Lambda reads it behind an event source mapping with
//! `ReportBatchItemFailures` (Lambda developer guide, "Reporting batch item failures"):
//!
//! - success of the whole batch: an empty or `null` `batchItemFailures`, an empty object, a
//!   `null` (or empty) body;
//! - these records failed: `batchItemFailures` of objects with a string `itemIdentifier`;
//! - the whole batch failed, *without* a function error: a body that is not JSON or not an
//!   object, an `itemIdentifier` that is missing (a wrong key), `null`, `""` or not a string.
//!
//! Whether the response is looked at at all (`FunctionResponseTypes`) and whether an
//! identifier belongs to the batch is the mapping's business (`harness/src/esm`).

use aws_lambda_events::event::sqs::{BatchItemFailure as SqsItemFailure, SqsBatchResponse};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use serde_json::Value;

/// What a response body says about its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResponse {
    /// Every record succeeded.
    Success,
    /// These item identifiers failed.
    Failed(Vec<String>),
    /// Not a valid partial batch response: the whole batch failed.
    Malformed(String),
}

impl BatchResponse {
    /// Reads a function's answer as Lambda does: empty, `null` or no `batchItemFailures` is
    /// success, `batchItemFailures` lists failures, anything else is malformed (the whole batch
    /// failed).
    pub fn parse(body: &[u8]) -> BatchResponse {
        if body.iter().all(u8::is_ascii_whitespace) {
            return BatchResponse::Success;
        }
        let json: Value = match serde_json::from_slice(body) {
            Ok(json) => json,
            Err(e) => return BatchResponse::Malformed(format!("not JSON: {e}")),
        };
        let object = match json {
            Value::Null => return BatchResponse::Success,
            Value::Object(object) => object,
            other => {
                return BatchResponse::Malformed(format!("not an object: {other}"));
            }
        };
        let failures = match object.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchResponse::Success,
            Some(Value::Array(failures)) => failures,
            Some(other) => {
                return BatchResponse::Malformed(format!("batchItemFailures is {other}"));
            }
        };
        let mut ids = Vec::with_capacity(failures.len());
        for failure in failures {
            match failure.get("itemIdentifier") {
                Some(Value::String(id)) if !id.is_empty() => ids.push(id.clone()),
                _ => {
                    return BatchResponse::Malformed(format!(
                        "batch item failure without a usable itemIdentifier: {failure}"
                    ));
                }
            }
        }
        if ids.is_empty() {
            BatchResponse::Success
        } else {
            BatchResponse::Failed(ids)
        }
    }

    /// The response as the Kinesis mapping takes it. A malformed response becomes one
    /// failure with an empty identifier, which the mapping reads as "the whole batch failed"
    /// (not a function error): the one shape the mapping's own classification already gives
    /// that meaning, so this layer needs no change to `esm`.
    pub fn into_kinesis(self) -> KinesisEventResponse {
        let ids = match self {
            BatchResponse::Success => Vec::new(),
            BatchResponse::Failed(ids) => ids,
            BatchResponse::Malformed(_) => vec![String::new()],
        };
        let mut response = KinesisEventResponse::default();
        response.batch_item_failures = ids
            .into_iter()
            .map(|id| {
                let mut f = KinesisBatchItemFailure::default();
                f.item_identifier = Some(id);
                f
            })
            .collect();
        response
    }

    /// The response as the SQS mapping takes it (a malformed one as for Kinesis).
    pub fn into_sqs(self) -> SqsBatchResponse {
        let ids = match self {
            BatchResponse::Success => Vec::new(),
            BatchResponse::Failed(ids) => ids,
            BatchResponse::Malformed(_) => vec![String::new()],
        };
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = ids
            .into_iter()
            .map(|id| {
                let mut f = SqsItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> BatchResponse {
        BatchResponse::parse(body.as_bytes())
    }

    #[test]
    fn lambdas_success_shapes_are_success() {
        for body in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
        ] {
            assert_eq!(parse(body), BatchResponse::Success, "{body}");
        }
    }

    #[test]
    fn item_identifiers_are_the_failed_records() {
        assert_eq!(
            parse(r#"{"batchItemFailures":[{"itemIdentifier":"49"},{"itemIdentifier":"50"}]}"#),
            BatchResponse::Failed(vec!["49".into(), "50".into()])
        );
    }

    #[test]
    fn malformed_responses_fail_the_whole_batch_through_an_empty_identifier() {
        for body in [
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":49}]}"#,
            r#"{"batchItemFailures":[{"itemId":"49"}]}"#,
            r#"{"batchItemFailures":["49"]}"#,
            r#"{"batchItemFailures":"49"}"#,
            r#""done""#,
            "not json",
        ] {
            let parsed = parse(body);
            assert!(
                matches!(parsed, BatchResponse::Malformed(_)),
                "{body}: {parsed:?}"
            );
            let kinesis = parsed.clone().into_kinesis();
            assert_eq!(kinesis.batch_item_failures.len(), 1);
            assert_eq!(
                kinesis.batch_item_failures[0].item_identifier.as_deref(),
                Some("")
            );
            assert_eq!(parsed.into_sqs().batch_item_failures[0].item_identifier, "");
        }
    }
}
