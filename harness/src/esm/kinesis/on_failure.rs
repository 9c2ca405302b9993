//! The on-failure destination: the record Lambda sends when it discards a batch
//! (AWS-SEMANTICS 2.6). It holds the batch's metadata, never its data.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Why a batch was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscardCondition {
    /// `MaximumRetryAttempts` used up (AWS's documented value).
    RetryAttemptsExhausted,
    /// `MaximumRecordAgeInSeconds` passed. Not in AWS's documentation; recorded on AWS
    /// (LocalStack snapshots `test_kinesis_maximum_record_age_exceeded[*]`, 2025-11-25).
    RecordAgeExceeded,
}

/// The JSON record Lambda sends to an on-failure destination when it discards a batch (AWS's
/// "Invocation record" for stream sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnFailureRecord {
    /// The invocation: its request id, function, condition and attempts.
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
    /// Absent for an age-based discard (recorded on AWS: `RecordAgeExceeded` records have no
    /// `responseContext` at all).
    #[serde(
        rename = "responseContext",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub response_context: Option<ResponseContext>,
    /// The record's format version (`1.0`).
    pub version: String,
    /// When the batch was discarded (ISO 8601 with milliseconds).
    pub timestamp: String,
    /// Where the discarded batch is in the stream (its shard and sequence numbers).
    #[serde(rename = "KinesisBatchInfo")]
    pub kinesis_batch_info: KinesisBatchInfo,
}

/// `requestContext`: which invocation the record is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// A fresh request id (UUID).
    pub request_id: String,
    /// The function's ARN.
    pub function_arn: String,
    /// Why the batch was discarded.
    pub condition: DiscardCondition,
    /// How often the batch was invoked.
    pub approximate_invoke_count: u32,
}

/// `responseContext`: how the last invocation answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    /// The invocation's HTTP status (200 even for a function error, as Lambda's invoke API
    /// answers).
    pub status_code: u16,
    /// The version invoked (`$LATEST`).
    pub executed_version: String,
    /// `Unhandled` when the last invocation was a function error; `null` (present) when it
    /// returned normally: a partial failure or a response Lambda could not use (recorded on
    /// AWS, `test_kinesis_report_batch_item_failures`).
    pub function_error: Option<String>,
}

/// `KinesisBatchInfo`: the discarded batch's place in the stream (never its data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisBatchInfo {
    /// The shard the batch came from.
    pub shard_id: String,
    /// The first record's sequence number.
    pub start_sequence_number: String,
    /// The last record's sequence number.
    pub end_sequence_number: String,
    /// The first record's arrival time (ISO 8601).
    pub approximate_arrival_of_first_record: String,
    /// The last record's arrival time (ISO 8601).
    pub approximate_arrival_of_last_record: String,
    /// Records in the batch.
    pub batch_size: usize,
    /// The stream's ARN.
    pub stream_arn: String,
}

/// What the consumer knows about a discarded batch.
pub struct Discarded<'a> {
    /// Why it was discarded.
    pub condition: DiscardCondition,
    /// How often it was invoked.
    pub invoke_count: u32,
    /// How the last invocation failed (`Some(true)`: a function error), `None` if never invoked.
    pub last_function_error: Option<bool>,
    /// The shard it came from.
    pub shard_id: &'a str,
    /// The stream's ARN.
    pub stream_arn: &'a str,
    /// The function's ARN.
    pub function_arn: &'a str,
    /// (sequence number, arrival) of the first and last records.
    pub first: (&'a str, DateTime<Utc>),
    /// (sequence number, arrival) of the last record.
    pub last: (&'a str, DateTime<Utc>),
    /// Records in the batch.
    pub batch_size: usize,
    /// When it was discarded.
    pub now: DateTime<Utc>,
}

/// ISO-8601 UTC with milliseconds and `Z`, as in AWS's examples.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl OnFailureRecord {
    /// The record Lambda would send for `d` (with a fresh request id).
    pub fn new(d: &Discarded<'_>) -> Self {
        Self {
            request_context: RequestContext {
                request_id: uuid::Uuid::new_v4().to_string(),
                function_arn: d.function_arn.to_owned(),
                condition: d.condition,
                approximate_invoke_count: d.invoke_count,
            },
            response_context: match d.condition {
                DiscardCondition::RecordAgeExceeded => None,
                DiscardCondition::RetryAttemptsExhausted => Some(ResponseContext {
                    status_code: 200,
                    executed_version: "$LATEST".to_owned(),
                    function_error: (d.last_function_error == Some(true))
                        .then(|| "Unhandled".to_owned()),
                }),
            },
            version: "1.0".to_owned(),
            timestamp: iso_millis(d.now),
            kinesis_batch_info: KinesisBatchInfo {
                shard_id: d.shard_id.to_owned(),
                start_sequence_number: d.first.0.to_owned(),
                end_sequence_number: d.last.0.to_owned(),
                approximate_arrival_of_first_record: iso_millis(d.first.1),
                approximate_arrival_of_last_record: iso_millis(d.last.1),
                batch_size: d.batch_size,
                stream_arn: d.stream_arn.to_owned(),
            },
        }
    }
}

/// Sends a record to the destination queue, retrying a few times (Lambda keeps trying; a
/// destination that stays down loses the record, which is logged).
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    record: &OnFailureRecord,
    retry_delay: std::time::Duration,
) -> bool {
    let body = match serde_json::to_string(record) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(%err, "on-failure record does not serialise");
            return false;
        }
    };
    for attempt in 1..=3 {
        match sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(&body)
            .send()
            .await
        {
            Ok(_) => return true,
            Err(err) => {
                tracing::warn!(attempt, queue_url, err = %aws_sdk_sqs::error::DisplayErrorContext(&err), "on-failure send failed");
                tokio::time::sleep(retry_delay).await;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_has_the_documented_shape() {
        let t = DateTime::<Utc>::from_timestamp_millis(1573691886021).unwrap();
        let record = OnFailureRecord::new(&Discarded {
            condition: DiscardCondition::RetryAttemptsExhausted,
            invoke_count: 4,
            last_function_error: Some(true),
            shard_id: "shardId-000000000001",
            stream_arn: "arn:aws:kinesis:us-east-2:123456789012:stream/mystream",
            function_arn: "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
            first: ("1", t),
            last: ("2", t),
            batch_size: 2,
            now: t,
        });
        let mut json = serde_json::to_value(&record).unwrap();
        json["requestContext"]["requestId"] = "id".into();
        assert_eq!(
            json,
            serde_json::json!({
                "requestContext": {
                    "requestId": "id",
                    "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": 4
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled"
                },
                "version": "1.0",
                "timestamp": "2019-11-14T00:38:06.021Z",
                "KinesisBatchInfo": {
                    "shardId": "shardId-000000000001",
                    "startSequenceNumber": "1",
                    "endSequenceNumber": "2",
                    "approximateArrivalOfFirstRecord": "2019-11-14T00:38:06.021Z",
                    "approximateArrivalOfLastRecord": "2019-11-14T00:38:06.021Z",
                    "batchSize": 2,
                    "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
                }
            })
        );
    }

    fn discarded(
        condition: DiscardCondition,
        last_function_error: Option<bool>,
    ) -> Discarded<'static> {
        let t = DateTime::<Utc>::from_timestamp_millis(1573691886021).unwrap();
        Discarded {
            condition,
            invoke_count: 1,
            last_function_error,
            shard_id: "shardId-000000000000",
            stream_arn: "arn:aws:kinesis:us-east-1:111111111111:stream/s",
            function_arn: "arn:aws:lambda:us-east-1:111111111111:function:f",
            first: ("6", t),
            last: ("6", t),
            batch_size: 1,
            now: t,
        }
    }

    /// Recorded on AWS (LocalStack snapshot `test_kinesis_maximum_record_age_exceeded`,
    /// 2025-11-25): `condition: "RecordAgeExceeded"` and no `responseContext` key.
    #[test]
    fn an_age_discard_has_no_response_context() {
        let record = OnFailureRecord::new(&discarded(DiscardCondition::RecordAgeExceeded, None));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["requestContext"]["condition"], "RecordAgeExceeded");
        assert!(json.get("responseContext").is_none(), "{json}");
    }

    /// Recorded on AWS (`test_kinesis_report_batch_item_failures`): after a normal return the
    /// key is present with `null`.
    #[test]
    fn function_error_is_null_after_a_normal_return() {
        let record = OnFailureRecord::new(&discarded(
            DiscardCondition::RetryAttemptsExhausted,
            Some(false),
        ));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json["responseContext"],
            serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": null})
        );
    }
}
