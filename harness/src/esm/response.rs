//! A function's response body, read as Lambda reads it, into the typed responses the mappings
//! classify.
//!
//! In process, handlers return `KinesisEventResponse` / `SqsBatchResponse` and cannot return
//! what a real function can: a number as `itemIdentifier`, a wrong key, a body that is not
//! JSON. Whatever runs functions out of process (the Lambda Runtime API) reads their bytes
//! with these, so the mappings apply AWS's rules to real JSON:
//!
//! - complete success: a body of `""`, `[]`, `null`, `{}`, or `batchItemFailures` empty or
//!   `null` (recorded on AWS: LocalStack snapshots
//!   `test_kinesis_report_batch_item_success_scenarios[*]`, 2025-11-25; SQS:
//!   `test_report_batch_item_failures_empty_json_batch_succeeds`);
//! - complete failure, not a function error: an `itemIdentifier` that is `""`, `null`, a
//!   number, or missing under a wrong key (recorded: `..._failure_scenarios[*]`, on-failure
//!   records with `"functionError": null`; SQS: `..._invalid_result_json_batch_fails`), and a
//!   body that is not JSON ("invalid JSON", Lambda developer guide, services-sqs-errorhandling).
//!
//! Such a failure becomes one entry with no identifier (Kinesis) or an empty one (SQS), which
//! the mappings' classifiers already read as "the whole batch failed".

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use serde_json::Value;

/// The identifiers of `batchItemFailures`: `Some(id)` for a usable string, `None` for an entry
/// Lambda cannot use. `Err` when the body is not JSON.
fn identifiers(body: &[u8]) -> Result<Vec<Option<String>>, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty body is a null response.
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_slice(body)?;
    let failures = match value.get("batchItemFailures") {
        Some(Value::Array(items)) => items,
        // `{}`, `null`, `""`, `[]`, `{"batchItemFailures": null}`: complete success.
        _ => return Ok(Vec::new()),
    };
    Ok(failures
        .iter()
        .map(|item| {
            item.get("itemIdentifier")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        })
        .collect())
}

/// A Kinesis function's response body as Lambda reads it.
pub fn kinesis_response_from_json(body: &[u8]) -> KinesisEventResponse {
    let ids = identifiers(body).unwrap_or_else(|_| vec![None]);
    let mut response = KinesisEventResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// An SQS function's response body as Lambda reads it.
pub fn sqs_response_from_json(body: &[u8]) -> SqsBatchResponse {
    let ids = identifiers(body).unwrap_or_else(|_| vec![None]);
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.unwrap_or_default();
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esm::kinesis::batch::{Verdict, classify};
    use crate::esm::kinesis::checkpoint::SeqNum;

    fn kinesis_verdict(body: &str) -> Verdict {
        let seqs = [SeqNum::new("1"), SeqNum::new("2")];
        classify(
            &Ok(kinesis_response_from_json(body.as_bytes())),
            &seqs,
            true,
        )
    }

    /// The bodies AWS recorded (LocalStack `test_kinesis_report_batch_item_success_scenarios`
    /// and `..._failure_scenarios`, 2025-11-25), through the mapping's classifier.
    #[test]
    fn recorded_kinesis_bodies_are_read_as_aws_read_them() {
        for success in [
            r#""""#,
            "[]",
            "null",
            "{}",
            "",
            r#"{"batchItemFailures": []}"#,
            r#"{"batchItemFailures": null}"#,
        ] {
            assert_eq!(kinesis_verdict(success), Verdict::Success, "{success}");
        }
        for malformed in [
            r#"{"batchItemFailures": [{"itemIdentifier": 123}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            r#"{"batchItemFailures": [{"foo": 123}]}"#,
            r#"{"batchItemFailures": [{"foo": null}]}"#,
            "not json",
        ] {
            assert_eq!(
                kinesis_verdict(malformed),
                Verdict::Failed {
                    function_error: false
                },
                "{malformed}"
            );
        }
        assert_eq!(
            kinesis_verdict(r#"{"batchItemFailures": [{"itemIdentifier": "2"}]}"#),
            Verdict::Partial(1)
        );
    }

    #[test]
    fn sqs_bodies_are_read_as_aws_reads_them() {
        use crate::esm::sqs::poller::{Verdict as SqsVerdict, classify as sqs_classify};
        let ids = ["a", "b"];
        let verdict =
            |body: &str| sqs_classify(&Ok(sqs_response_from_json(body.as_bytes())), &ids, true);
        assert_eq!(verdict("{}"), SqsVerdict::All);
        assert_eq!(
            verdict(r#"{"batchItemFailures": [{"foo": "notvalid"}]}"#),
            SqsVerdict::None
        );
        assert_eq!(verdict("not json"), SqsVerdict::None);
        assert_eq!(
            verdict(r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#),
            SqsVerdict::AllBut(["b".to_owned()].into())
        );
    }
}
