//! SDK records and messages turned into the exact events Lambda sends (AWS-SEMANTICS 2.3, 3.2),
//! and those events as the JSON Lambda writes on the wire ([`kinesis_event_json`],
//! [`sqs_event_json`]): `aws_lambda_events` reads Lambda's JSON but writes some fields in
//! another shape, so whatever serialises an event for a function (the Runtime API) goes
//! through these.

use std::collections::HashMap;

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::kinesis::{
    KinesisEncryptionType, KinesisEvent, KinesisEventRecord, KinesisRecord,
};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use chrono::{DateTime, Utc};

/// Where a Kinesis batch comes from, for the fields every record repeats.
#[derive(Debug, Clone)]
pub struct KinesisSource {
    /// The shard the records were read from (`eventID` is `<shard id>:<sequence number>`).
    pub shard_id: String,
    /// The stream's ARN (`eventSourceARN`).
    pub stream_arn: String,
    /// The stream's region (`awsRegion`).
    pub region: String,
    /// The execution role Lambda would invoke with.
    pub invoke_identity_arn: String,
}

/// One SDK record as Lambda delivers it: `eventID` is `<shardId>:<sequenceNumber>`.
pub fn kinesis_record(
    source: &KinesisSource,
    record: &aws_sdk_kinesis::types::Record,
) -> KinesisEventRecord {
    let arrival = record
        .approximate_arrival_timestamp()
        .and_then(|t| t.to_millis().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_default();
    let mut kinesis = KinesisRecord::default();
    kinesis.approximate_arrival_timestamp.0 = arrival;
    kinesis.data = base64_data(record.data().as_ref());
    kinesis.encryption_type = match record.encryption_type() {
        Some(aws_sdk_kinesis::types::EncryptionType::Kms) => KinesisEncryptionType::Kms,
        _ => KinesisEncryptionType::None,
    };
    kinesis.partition_key = record.partition_key().unwrap_or_default().to_owned();
    kinesis.sequence_number = record.sequence_number().to_owned();
    kinesis.kinesis_schema_version = Some("1.0".to_owned());

    let mut event = KinesisEventRecord::default();
    event.aws_region = Some(source.region.clone());
    event.event_id = Some(format!("{}:{}", source.shard_id, record.sequence_number()));
    event.event_name = Some("aws:kinesis:record".to_owned());
    event.event_source = Some("aws:kinesis".to_owned());
    event.event_source_arn = Some(source.stream_arn.clone());
    event.event_version = Some("1.0".to_owned());
    event.invoke_identity_arn = Some(source.invoke_identity_arn.clone());
    event.kinesis = kinesis;
    event
}

/// Where an SQS batch comes from.
#[derive(Debug, Clone)]
pub struct SqsSource {
    /// The queue's ARN (`eventSourceARN`).
    pub queue_arn: String,
    /// The queue's region (`awsRegion`).
    pub region: String,
}

/// One received message as Lambda delivers it (camelCase, attribute values as strings).
pub fn sqs_message(source: &SqsSource, message: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut out = SqsMessage::default();
    out.message_id = message.message_id().map(str::to_owned);
    out.receipt_handle = message.receipt_handle().map(str::to_owned);
    out.body = message.body().map(str::to_owned);
    out.md5_of_body = message.md5_of_body().map(str::to_owned);
    out.md5_of_message_attributes = message.md5_of_message_attributes().map(str::to_owned);
    out.attributes = message
        .attributes()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    out.message_attributes = message
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(k, v)| (k.clone(), message_attribute(v)))
                .collect::<HashMap<_, _>>()
        })
        .unwrap_or_default();
    out.event_source = Some("aws:sqs".to_owned());
    out.event_source_arn = Some(source.queue_arn.clone());
    out.aws_region = Some(source.region.clone());
    out
}

fn message_attribute(value: &aws_sdk_sqs::types::MessageAttributeValue) -> SqsMessageAttribute {
    let mut out = SqsMessageAttribute::default();
    out.string_value = value.string_value().map(str::to_owned);
    out.binary_value = value.binary_value().map(|b| base64_data(b.as_ref()));
    out.string_list_values = value.string_list_values().to_vec();
    out.binary_list_values = value
        .binary_list_values()
        .iter()
        .map(|b| base64_data(b.as_ref()))
        .collect();
    out.data_type = Some(value.data_type().to_owned());
    out
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.0 = bytes.to_vec();
    data
}

/// A Kinesis event as Lambda's JSON. `aws_lambda_events` writes `approximateArrivalTimestamp`
/// as a string and `"encryptionType": "NONE"`; Lambda sends a number (epoch seconds with
/// milliseconds) and no `encryptionType` at all on an unencrypted stream (AWS-SEMANTICS 2.3;
/// recorded events in LocalStack's `test_lambda_integration_kinesis.snapshot.json`).
pub fn kinesis_event_json(event: &KinesisEvent) -> serde_json::Value {
    let mut json = serde_json::to_value(event).unwrap_or_default();
    let records = json
        .get_mut("Records")
        .and_then(serde_json::Value::as_array_mut);
    for (record, typed) in records.into_iter().flatten().zip(&event.records) {
        let Some(kinesis) = record
            .get_mut("kinesis")
            .and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        let millis = typed
            .kinesis
            .approximate_arrival_timestamp
            .timestamp_millis();
        // Milliseconds over 1000 as a double: serde_json writes the shortest decimal that
        // reads back the same, e.g. 1545084650.987.
        if let Some(seconds) = serde_json::Number::from_f64(millis as f64 / 1000.0) {
            kinesis.insert(
                "approximateArrivalTimestamp".into(),
                serde_json::Value::Number(seconds),
            );
        }
        if matches!(typed.kinesis.encryption_type, KinesisEncryptionType::None) {
            kinesis.remove("encryptionType");
        }
    }
    json
}

/// An SQS event as Lambda's JSON: a String attribute has no `"binaryValue": null` (nor a
/// Binary one `"stringValue": null`), and `md5OfMessageAttributes` is left out when the message
/// has no attributes (AWS-SEMANTICS 3.2; recorded events in LocalStack's
/// `test_lambda_integration_sqs.snapshot.json`).
pub fn sqs_event_json(event: &SqsEvent) -> serde_json::Value {
    let mut json = serde_json::to_value(event).unwrap_or_default();
    let records = json
        .get_mut("Records")
        .and_then(serde_json::Value::as_array_mut);
    for record in records.into_iter().flatten() {
        let Some(record) = record.as_object_mut() else {
            continue;
        };
        if record
            .get("md5OfMessageAttributes")
            .is_some_and(serde_json::Value::is_null)
        {
            record.remove("md5OfMessageAttributes");
        }
        let attributes = record
            .get_mut("messageAttributes")
            .and_then(serde_json::Value::as_object_mut);
        for attribute in attributes.into_iter().flat_map(|a| a.values_mut()) {
            if let Some(attribute) = attribute.as_object_mut() {
                attribute.retain(|_, v| !v.is_null());
            }
        }
    }
    json
}

/// `arn:aws:<service>:<region>:<account>:...` split into region and account.
pub fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, _service) = (parts.next()?, parts.next()?, parts.next()?);
    Some((parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::primitives::{Blob, DateTime as SmithyTime};

    fn source() -> KinesisSource {
        KinesisSource {
            shard_id: "shardId-000000000006".into(),
            stream_arn: "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream".into(),
            region: "us-east-2".into(),
            invoke_identity_arn: "arn:aws:iam::123456789012:role/lambda-role".into(),
        }
    }

    #[test]
    fn kinesis_record_has_lambdas_shape() {
        let seq = "49590338271490256608559692538361571095921575989136588898";
        let record = aws_sdk_kinesis::types::Record::builder()
            .sequence_number(seq)
            .partition_key("1")
            .data(Blob::new("Hello, this is a test."))
            .approximate_arrival_timestamp(SmithyTime::from_millis(1545084650987))
            .build()
            .unwrap();
        let event = kinesis_record(&source(), &record);
        assert_eq!(
            event
                .kinesis
                .approximate_arrival_timestamp
                .timestamp_millis(),
            1545084650987
        );
        let mut typed = KinesisEvent::default();
        typed.records = vec![event];
        let json = kinesis_event_json(&typed);
        // A record as AWS documents it (AWS-SEMANTICS 2.3, without `encryptionType`: the
        // example is of a KMS stream) and as recorded on AWS for an unencrypted stream
        // (LocalStack snapshot `test_kinesis_maximum_record_age_exceeded_discard_records`,
        // 2025-11-25: the same keys, no `encryptionType`).
        assert_eq!(
            json["Records"][0],
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "1",
                    "sequenceNumber": seq,
                    "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
                    "approximateArrivalTimestamp": 1545084650.987
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000006:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-2",
                "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
            })
        );
    }

    #[test]
    fn sqs_message_has_lambdas_shape() {
        use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
        let message = Message::builder()
            .message_id("059f36b4-87a3-44ab-83d2-661975830a7d")
            .receipt_handle("AQEB")
            .body("Test message.")
            .md5_of_body("e4e68fb7bd0e697a0ae8f1bb342846b3")
            .md5_of_message_attributes("d25a6aea97eb8f585bfa92d314504a92")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1545082649183")
            .message_attributes(
                "Attr1",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("v")
                    .build()
                    .unwrap(),
            )
            .build();
        let src = SqsSource {
            queue_arn: "arn:aws:sqs:us-east-2:123456789012:my-queue".into(),
            region: "us-east-2".into(),
        };
        let mut event = SqsEvent::default();
        event.records = vec![sqs_message(&src, &message)];
        let json = sqs_event_json(&event);
        // As recorded on AWS (LocalStack snapshot `test_message_body_and_attributes_passed_
        // correctly`, 2025: String attributes carry `stringValue`, empty lists and
        // `dataType`, and no `binaryValue`) and documented (AWS-SEMANTICS 3.2).
        assert_eq!(
            json,
            serde_json::json!({"Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEB",
                "body": "Test message.",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183"
                },
                "messageAttributes": {
                    "Attr1": {
                        "stringValue": "v",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String"
                    }
                },
                "md5OfMessageAttributes": "d25a6aea97eb8f585bfa92d314504a92",
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
                "awsRegion": "us-east-2"
            }]})
        );
    }

    #[test]
    fn a_kms_record_keeps_its_encryption_type_and_a_message_without_attributes_has_no_md5() {
        let record = aws_sdk_kinesis::types::Record::builder()
            .sequence_number("1")
            .partition_key("1")
            .data(Blob::new("x"))
            .approximate_arrival_timestamp(SmithyTime::from_millis(1545084650000))
            .encryption_type(aws_sdk_kinesis::types::EncryptionType::Kms)
            .build()
            .unwrap();
        let mut event = KinesisEvent::default();
        event.records = vec![kinesis_record(&source(), &record)];
        let json = kinesis_event_json(&event);
        assert_eq!(json["Records"][0]["kinesis"]["encryptionType"], "KMS");
        assert_eq!(
            json["Records"][0]["kinesis"]["approximateArrivalTimestamp"],
            serde_json::json!(1545084650.0)
        );

        let message = aws_sdk_sqs::types::Message::builder()
            .message_id("m")
            .body("b")
            .build();
        let src = SqsSource {
            queue_arn: "arn:aws:sqs:us-east-2:123456789012:my-queue".into(),
            region: "us-east-2".into(),
        };
        let mut event = SqsEvent::default();
        event.records = vec![sqs_message(&src, &message)];
        let json = sqs_event_json(&event);
        assert!(
            !json["Records"][0]
                .as_object()
                .unwrap()
                .contains_key("md5OfMessageAttributes"),
            "{json}"
        );
    }

    #[test]
    fn arn_parts() {
        assert_eq!(
            arn_region_account("arn:aws:sqs:us-east-2:123456789012:my-queue"),
            Some(("us-east-2", "123456789012"))
        );
        assert_eq!(arn_region_account("nonsense"), None);
    }
}
