//! The stored item: a pure function of the envelope, so any duplicate delivery writes the very
//! same item and the conditional put can safely drop it.
//!
//! `id`, `stream` and `receivedAt` are strings (`S`); `payload` is the payload converted to
//! DynamoDB's native types by `serde_dynamo`: an object becomes a map (`M`, `{}` included), an
//! array a list (`L`), a string `S`, a number `N`, a boolean `BOOL`, `null` `NULL`. So a payload
//! that is not an object is stored too, as the attribute of its own type: nothing is wrapped
//! or re-encoded, and reading `payload` back with `serde_dynamo` gives the client's JSON.
//!
//! `digest` (`S`, `sha256:<hex>`) fingerprints what the event *says*: its stream and payload
//! (not `receivedAt`, which a client's retry of the same PUT changes). The store handler's
//! conditional put gets the stored item back when the id exists (ALL_OLD), and equal digests
//! mean a duplicate delivery, different ones a conflict.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest as _, Sha256};

use crate::envelope::Envelope;

/// The item attribute holding [`digest`].
pub const DIGEST: &str = "digest";

/// The item for `envelope`.
pub fn to_item(envelope: &Envelope) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("id".to_owned(), AttributeValue::S(envelope.id.clone())),
        (
            "stream".to_owned(),
            AttributeValue::S(envelope.stream.clone()),
        ),
        (
            "receivedAt".to_owned(),
            AttributeValue::S(envelope.received_at_text()),
        ),
        ("payload".to_owned(), payload_value(&envelope.payload)),
        (DIGEST.to_owned(), AttributeValue::S(digest(envelope))),
    ])
}

/// `sha256:<hex>` over the RFC 8785 canonical JSON of `{"payload", "stream"}`: key order and
/// number spelling (`1.0` and `1`) do not change it, any change of value does.
pub fn digest(envelope: &Envelope) -> String {
    let fields = serde_json::json!({"stream": envelope.stream, "payload": envelope.payload});
    // Canonicalising a `Value` cannot fail (its keys are strings, its numbers finite); the
    // plain JSON text would still tell different values apart.
    let canonical = serde_json_canonicalizer::to_vec(&fields)
        .unwrap_or_else(|_| fields.to_string().into_bytes());
    format!("sha256:{}", hex::encode(Sha256::digest(&canonical)))
}

/// The digest a stored item was written with: its `digest` attribute, or for an item
/// written before digests existed, the digest of what it holds (`None` when it is not an
/// item [`to_item`] wrote).
pub fn stored_digest(item: &HashMap<String, AttributeValue>) -> Option<String> {
    match item.get(DIGEST) {
        Some(AttributeValue::S(d)) => Some(d.clone()),
        _ => from_item(item).map(|envelope| digest(&envelope)),
    }
}

/// The payload as a native attribute value. serde_dynamo cannot fail on a `serde_json::Value`
/// (its keys are strings, its numbers finite); if it ever did, the JSON text is kept as `S`
/// rather than losing the event.
fn payload_value(payload: &serde_json::Value) -> AttributeValue {
    serde_dynamo::to_attribute_value(payload)
        .unwrap_or_else(|_| AttributeValue::S(payload.to_string()))
}

/// DynamoDB's nesting limit for documents (maps and lists inside one another).
pub const MAX_NESTING: usize = 32;

/// Why a payload can never be stored, however often it is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unstorable {
    /// Maps and lists nest deeper than DynamoDB allows.
    #[error("payload nests deeper than DynamoDB's {MAX_NESTING} levels")]
    TooDeep,
    /// A number DynamoDB cannot hold (given as written).
    #[error(
        "payload number {0} is outside DynamoDB's number range (1E-130 to 9.9E+125 in magnitude)"
    )]
    NumberOutOfRange(String),
    /// An object has an empty key.
    #[error("payload has an empty object key, which DynamoDB does not allow as a map key")]
    EmptyKey,
}

/// Checks that DynamoDB would accept the payload (nesting, number range, map keys), so the
/// ingest API can refuse at once what the store handler could never write.
pub fn check_storable(payload: &serde_json::Value) -> Result<(), Unstorable> {
    check_value(payload, 0)
}

fn check_value(value: &serde_json::Value, depth: usize) -> Result<(), Unstorable> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if depth >= MAX_NESTING {
                return Err(Unstorable::TooDeep);
            }
            map.iter().try_for_each(|(key, v)| {
                if key.is_empty() {
                    return Err(Unstorable::EmptyKey);
                }
                check_value(v, depth + 1)
            })
        }
        Value::Array(items) => {
            if depth >= MAX_NESTING {
                return Err(Unstorable::TooDeep);
            }
            items.iter().try_for_each(|v| check_value(v, depth + 1))
        }
        Value::Number(n) => match n.as_f64() {
            // Integers (i64/u64) are always in range; only floats can leave it.
            Some(f) if n.is_f64() && f != 0.0 && !(1e-130..1e126).contains(&f.abs()) => {
                Err(Unstorable::NumberOutOfRange(n.to_string()))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Reads an item written by [`to_item`] back into its envelope (for tests and tools).
pub fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Envelope> {
    let text = |key: &str| item.get(key).and_then(|v| v.as_s().ok()).cloned();
    let received_at = chrono::DateTime::parse_from_rfc3339(&text("receivedAt")?).ok()?;
    let payload: serde_json::Value =
        serde_dynamo::from_attribute_value(item.get("payload")?.clone()).ok()?;
    Some(Envelope::new(
        text("id")?,
        text("stream")?,
        received_at.with_timezone(&chrono::Utc),
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn envelope(payload: serde_json::Value) -> Envelope {
        let t = Utc
            .timestamp_millis_opt(1_795_000_000_123)
            .single()
            .expect("valid");
        Envelope::new("e-1", "default", t, payload)
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    #[test]
    fn the_digest_ignores_key_order_number_spelling_and_arrival_but_not_values() {
        let a = envelope(json!({"a": 1, "b": [1.0, "x"]}));
        let mut reordered = envelope(serde_json::from_str(r#"{"b": [1, "x"], "a": 1.0}"#).unwrap());
        reordered.received_at += chrono::Duration::seconds(5);
        assert_eq!(digest(&a), digest(&reordered));
        assert!(digest(&a).starts_with("sha256:") && digest(&a).len() == 7 + 64);
        assert_ne!(
            digest(&a),
            digest(&envelope(json!({"a": 2, "b": [1.0, "x"]})))
        );
        let mut other_stream = a.clone();
        other_stream.stream = "audit".into();
        assert_ne!(digest(&a), digest(&other_stream));
    }

    #[test]
    fn the_stored_digest_is_read_back_or_recomputed_for_older_items() {
        let e = envelope(json!({"v": 1}));
        let mut item = to_item(&e);
        assert_eq!(item[DIGEST], s(&digest(&e)));
        assert_eq!(stored_digest(&item), Some(digest(&e)));
        item.remove(DIGEST);
        assert_eq!(stored_digest(&item), Some(digest(&e)));
        assert_eq!(stored_digest(&HashMap::new()), None);
    }

    #[test]
    fn item_has_string_keys_and_a_native_payload_map() {
        let item = to_item(&envelope(json!({"energy_type": "nuclear", "mw": 1200})));
        assert_eq!(item["id"], s("e-1"));
        assert_eq!(item["stream"], s("default"));
        assert_eq!(item["receivedAt"], s("2026-11-18T11:06:40.123Z"));
        assert_eq!(
            item["payload"],
            AttributeValue::M(HashMap::from([
                ("energy_type".to_owned(), s("nuclear")),
                ("mw".to_owned(), AttributeValue::N("1200".to_owned())),
            ]))
        );
    }

    #[test]
    fn nested_payloads_with_nulls_empty_maps_and_arrays_convert_natively() {
        let item = to_item(&envelope(json!({
            "empty": {},
            "none": null,
            "list": [[1, 2], [], [{"deep": true}]],
            "text": "",
            "neg": -1.5
        })));
        let AttributeValue::M(map) = &item["payload"] else {
            panic!("payload is not a map: {:?}", item["payload"]);
        };
        assert_eq!(map["empty"], AttributeValue::M(HashMap::new()));
        assert_eq!(map["none"], AttributeValue::Null(true));
        assert_eq!(map["text"], s(""));
        assert_eq!(map["neg"], AttributeValue::N("-1.5".to_owned()));
        assert_eq!(
            map["list"],
            AttributeValue::L(vec![
                AttributeValue::L(vec![
                    AttributeValue::N("1".to_owned()),
                    AttributeValue::N("2".to_owned())
                ]),
                AttributeValue::L(vec![]),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                    "deep".to_owned(),
                    AttributeValue::Bool(true)
                )]))]),
            ])
        );
    }

    #[test]
    fn non_object_payloads_are_stored_as_their_own_type() {
        assert_eq!(to_item(&envelope(json!("hi")))["payload"], s("hi"));
        assert_eq!(
            to_item(&envelope(json!(42)))["payload"],
            AttributeValue::N("42".into())
        );
        assert_eq!(
            to_item(&envelope(json!(false)))["payload"],
            AttributeValue::Bool(false)
        );
        assert_eq!(
            to_item(&envelope(json!(null)))["payload"],
            AttributeValue::Null(true)
        );
        assert_eq!(
            to_item(&envelope(json!([])))["payload"],
            AttributeValue::L(vec![])
        );
    }

    #[test]
    fn payloads_dynamodb_cannot_hold_are_named() {
        assert_eq!(
            check_storable(&json!({"a": [1, {"b": null}], "c": {}, "d": 1e125})),
            Ok(())
        );
        assert_eq!(check_storable(&json!("text")), Ok(()));
        assert_eq!(check_storable(&json!({"": 1})), Err(Unstorable::EmptyKey));
        assert_eq!(
            check_storable(&json!({"big": 1e200})),
            Err(Unstorable::NumberOutOfRange("1e+200".into()))
        );
        assert!(check_storable(&json!([1e-200])).is_err());
        assert_eq!(check_storable(&json!(0.0)), Ok(()));
        let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!({ "k": inner }));
        assert_eq!(check_storable(&nested(MAX_NESTING)), Ok(()));
        assert_eq!(
            check_storable(&nested(MAX_NESTING + 1)),
            Err(Unstorable::TooDeep)
        );
    }

    #[test]
    fn item_is_a_pure_function_of_the_envelope_and_reads_back() {
        let e = envelope(json!({"a": [1, {"b": null}], "c": {}}));
        assert_eq!(to_item(&e), to_item(&e.clone()));
        assert_eq!(from_item(&to_item(&e)), Some(e));
    }
}
