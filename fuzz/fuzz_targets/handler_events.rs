//! The handlers' decoding: what the Lambda runtime hands the forward handler (a Kinesis event)
//! and the store handler (an SQS event), read as the functions read them
//! (`pipeline::handlers::decode_event` for Kinesis, serde_json into `aws_lambda_events` for
//! SQS), then each record decoded as the handlers decode it
//! (`Envelope::from_slice`, a poison record's DLQ message) and an envelope turned into what
//! the next hop gets (`to_sqs_body`, `to_item`, its `digest`).
//!
//! The first line of an input picks the event (`kinesis`, `sqs`, or anything else: the bytes
//! are one record's data). Checked beyond "no panic": a decoded envelope survives the hop it
//! makes (its SQS body decodes to the same envelope) and a poison record's DLQ message
//! carries its bytes (a prefix when cut to fit).

#![no_main]

use aws_lambda_events::event::sqs::SqsEvent;
use libfuzzer_sys::fuzz_target;
use pipeline::Envelope;
use base64::Engine as _;
use pipeline::dlq::{BodyEncoding, DlqMessage};
use pipeline::item::{digest, from_item, stored_digest, to_item};

fuzz_target!(|data: &[u8]| {
    let (kind, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    match kind {
        b"kinesis" => {
            let event = serde_json::from_slice(rest).map(pipeline::handlers::decode_event);
            if let Ok(Ok(event)) = event {
                for record in &event.records {
                    record_data(&record.kinesis.data);
                }
            }
        }
        b"sqs" => {
            if let Ok(event) = serde_json::from_slice::<SqsEvent>(rest) {
                for message in &event.records {
                    let body = message.body.as_deref().unwrap_or_default();
                    if let Ok(envelope) = Envelope::from_slice(body.as_bytes()) {
                        next_hops(&envelope);
                    }
                }
            }
        }
        _ => record_data(data),
    }
});

/// The forward handler's decode: an envelope, or a poison record for the DLQ.
fn record_data(data: &[u8]) {
    match Envelope::from_slice(data) {
        Ok(envelope) => next_hops(&envelope),
        Err(err) => {
            let poison = DlqMessage::poison(data, err.to_string());
            // What a DLQ reader gets back from the body, as `failure.encoding` says.
            let kept = match poison.encoding {
                BodyEncoding::Raw => poison.body.clone().into_bytes(),
                BodyEncoding::Base64 => base64::engine::general_purpose::STANDARD
                    .decode(&poison.body)
                    .expect("a base64 body decodes"),
                BodyEncoding::Empty => Vec::new(),
            };
            assert!(
                data.starts_with(&kept) && !kept.is_empty() || data.is_empty(),
                "a poison record's DLQ message keeps its bytes (cut to what fits a message)"
            );
        }
    }
}

fn next_hops(envelope: &Envelope) {
    let body = envelope.to_sqs_body();
    let again = Envelope::from_slice(body.as_bytes()).expect("an SQS body decodes");
    assert_eq!(
        &again, envelope,
        "the SQS body carries the envelope unchanged"
    );
    // The item is what the store handler writes; reading it back is for tools (it keeps
    // `receivedAt` to the millisecond), so only its construction is exercised here.
    let item = to_item(envelope);
    assert!(from_item(&item).is_some(), "a stored item reads back");
    // The store handler tells a duplicate from a conflict by this: it must be the item's own.
    assert_eq!(stored_digest(&item), Some(digest(envelope)));
}
