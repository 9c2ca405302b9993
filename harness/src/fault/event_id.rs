//! Which pipeline events a request or a delivered batch carries, and which resource a
//! request addresses.
//!
//! The pipeline's envelope is JSON `{"id", "stream", "receivedAt", "payload"}`. It travels
//! base64 in Kinesis `Data` (PutRecord, PutRecords `Records[].Data`), as the SQS
//! `MessageBody` (SendMessage, SendMessageBatch `Entries[].MessageBody`), and its id is the
//! DynamoDB key (`Item.id.S`, `Key.id.S`, and inside BatchWriteItem requests). Everything here
//! is tolerant: a body or record of another shape simply carries no ids.

#![warn(missing_docs)]

use base64::Engine;
use serde_json::Value;

use super::rule::{Service, last_segment};

/// The envelope id in a record's or message's raw data, if it is an envelope.
pub fn envelope_id(data: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        id: String,
    }
    serde_json::from_slice::<Envelope>(data).ok().map(|e| e.id)
}

/// What the fault layer reads from a request body: its event ids and its resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The event ids, in body order.
    pub event_ids: Vec<String>,
    /// The stream, queue or table name.
    pub resource: Option<String>,
    /// A SendMessage's `failure.stage` message attribute (`pipeline::dlq`): which hop
    /// dead-lettered the message, for a DLQ send.
    pub failure_stage: Option<String>,
}

/// Reads a request body once for both its event ids and its resource.
pub fn inspect_request(service: Service, operation: &str, body: &[u8]) -> RequestInfo {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return RequestInfo::default();
    };
    let failure_stage = match (service, operation) {
        (Service::Sqs, "SendMessage") => {
            json["MessageAttributes"][pipeline::dlq::ATTR_STAGE]["StringValue"]
                .as_str()
                .map(str::to_owned)
        }
        _ => None,
    };
    RequestInfo {
        event_ids: event_ids(service, operation, &json),
        resource: resource(service, &json),
        failure_stage,
    }
}

/// The event ids a request body carries, in body order.
pub fn request_event_ids(service: Service, operation: &str, body: &[u8]) -> Vec<String> {
    inspect_request(service, operation, body).event_ids
}

/// The stream, queue or table a request addresses, by name.
pub fn request_resource(service: Service, body: &[u8]) -> Option<String> {
    inspect_request(service, "", body).resource
}

fn event_ids(service: Service, operation: &str, json: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    match (service, operation) {
        (Service::Kinesis, "PutRecord") => ids.extend(kinesis_data_id(&json["Data"])),
        (Service::Kinesis, "PutRecords") => {
            for record in array(&json["Records"]) {
                ids.extend(kinesis_data_id(&record["Data"]));
            }
        }
        (Service::Sqs, "SendMessage") => ids.extend(sqs_body_id(&json["MessageBody"])),
        (Service::Sqs, "SendMessageBatch") => {
            for entry in array(&json["Entries"]) {
                ids.extend(sqs_body_id(&entry["MessageBody"]));
            }
        }
        (Service::DynamoDb, "BatchWriteItem") => {
            for requests in json["RequestItems"].as_object().into_iter().flatten() {
                for request in array(requests.1) {
                    ids.extend(dynamodb_id(&request["PutRequest"]["Item"]));
                    ids.extend(dynamodb_id(&request["DeleteRequest"]["Key"]));
                }
            }
        }
        (Service::DynamoDb, _) => {
            ids.extend(dynamodb_id(&json["Item"]));
            ids.extend(dynamodb_id(&json["Key"]));
        }
        _ => {}
    }
    ids
}

fn resource(service: Service, json: &Value) -> Option<String> {
    let field = |name: &str| json[name].as_str().map(|s| last_segment(s).to_owned());
    match service {
        Service::Kinesis => field("StreamName").or_else(|| field("StreamARN")),
        Service::Sqs => field("QueueUrl"),
        Service::DynamoDb => field("TableName"),
    }
}

fn array(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn kinesis_data_id(data: &Value) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_str()?)
        .ok()?;
    envelope_id(&bytes)
}

fn sqs_body_id(body: &Value) -> Option<String> {
    envelope_id(body.as_str()?.as_bytes())
}

fn dynamodb_id(item: &Value) -> Option<String> {
    item["id"]["S"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(id: &str) -> String {
        json!({"id": id, "stream": "default", "receivedAt": "2026-11-25T22:43:51.123Z",
               "payload": {"energy_type": "nuclear"}})
        .to_string()
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn ids(service: Service, op: &str, body: Value) -> Vec<String> {
        request_event_ids(service, op, body.to_string().as_bytes())
    }

    #[test]
    fn kinesis_put_record_carries_the_envelope_id_in_base64_data() {
        let body =
            json!({"StreamName": "events", "Data": b64(&envelope("e-1")), "PartitionKey": "e-1"});
        assert_eq!(ids(Service::Kinesis, "PutRecord", body), ["e-1"]);
    }

    #[test]
    fn kinesis_put_records_carries_every_record_id_in_order() {
        let body = json!({"StreamName": "events", "Records": [
            {"Data": b64(&envelope("e-2")), "PartitionKey": "a"},
            {"Data": b64("not json"), "PartitionKey": "b"},
            {"Data": b64(&envelope("e-3")), "PartitionKey": "c"},
        ]});
        assert_eq!(ids(Service::Kinesis, "PutRecords", body), ["e-2", "e-3"]);
    }

    #[test]
    fn sqs_sends_carry_the_envelope_as_message_body() {
        let one = json!({"QueueUrl": "http://q/0/events", "MessageBody": envelope("e-4")});
        assert_eq!(ids(Service::Sqs, "SendMessage", one), ["e-4"]);
        let batch = json!({"QueueUrl": "http://q/0/events", "Entries": [
            {"Id": "0", "MessageBody": envelope("e-5")},
            {"Id": "1", "MessageBody": envelope("e-6")},
        ]});
        assert_eq!(ids(Service::Sqs, "SendMessageBatch", batch), ["e-5", "e-6"]);
    }

    #[test]
    fn a_dlq_send_names_the_stage_that_dead_lettered_it() {
        let send = |attributes: Value| {
            let body = json!({"QueueUrl": "http://q/0/events-dlq", "MessageBody": envelope("e-5"),
                "MessageAttributes": attributes});
            inspect_request(Service::Sqs, "SendMessage", body.to_string().as_bytes()).failure_stage
        };
        let stage = json!({"failure.stage": {"DataType": "String", "StringValue": "store"}});
        assert_eq!(send(stage).as_deref(), Some("store"));
        assert_eq!(send(json!({})), None);
    }

    #[test]
    fn dynamodb_requests_carry_the_id_attribute() {
        let put = json!({"TableName": "events", "Item": {"id": {"S": "e-7"}, "stream": {"S": "default"}}});
        assert_eq!(ids(Service::DynamoDb, "PutItem", put), ["e-7"]);
        let get = json!({"TableName": "events", "Key": {"id": {"S": "e-8"}}});
        assert_eq!(ids(Service::DynamoDb, "GetItem", get), ["e-8"]);
        let batch = json!({"RequestItems": {"events": [
            {"PutRequest": {"Item": {"id": {"S": "e-9"}}}},
            {"DeleteRequest": {"Key": {"id": {"S": "e-10"}}}},
        ]}});
        assert_eq!(
            ids(Service::DynamoDb, "BatchWriteItem", batch),
            ["e-9", "e-10"]
        );
    }

    #[test]
    fn unknown_shapes_carry_no_ids() {
        assert!(request_event_ids(Service::Sqs, "SendMessage", b"not json").is_empty());
        assert!(
            ids(
                Service::Sqs,
                "SendMessage",
                json!({"MessageBody": "plain text"})
            )
            .is_empty()
        );
        assert!(ids(Service::Sqs, "SendMessage", json!({"MessageBody": 42})).is_empty());
        assert!(ids(Service::Kinesis, "PutRecord", json!({"Data": "%%%"})).is_empty());
        assert!(ids(Service::Kinesis, "PutRecords", json!({"Records": "x"})).is_empty());
        assert!(
            ids(
                Service::DynamoDb,
                "PutItem",
                json!({"Item": {"id": {"N": "1"}}})
            )
            .is_empty()
        );
        assert!(ids(Service::Sqs, "ReceiveMessage", json!({"QueueUrl": "u"})).is_empty());
        assert!(envelope_id(br#"{"id": 5}"#).is_none());
    }

    #[test]
    fn resource_is_the_stream_queue_or_table_name() {
        let res = |s, v: Value| request_resource(s, v.to_string().as_bytes());
        assert_eq!(
            res(
                Service::Sqs,
                json!({"QueueUrl": "http://localhost:4566/000000000000/events-dlq"})
            ),
            Some("events-dlq".into())
        );
        assert_eq!(
            res(
                Service::Kinesis,
                json!({"StreamARN": "arn:aws:kinesis:us-east-1:0:stream/events"})
            ),
            Some("events".into())
        );
        assert_eq!(
            res(Service::Kinesis, json!({"StreamName": "events"})),
            Some("events".into())
        );
        assert_eq!(
            res(Service::DynamoDb, json!({"TableName": "events"})),
            Some("events".into())
        );
        assert_eq!(res(Service::DynamoDb, json!({})), None);
    }
}
