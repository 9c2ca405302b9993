//! The envelope: one event as it travels, made once at ingest and never changed. It is the
//! Kinesis record's data and the SQS message body, as JSON:
//! `{"id","stream","receivedAt","payload"}` with `receivedAt` in RFC 3339 UTC with
//! milliseconds and `Z` (`2026-11-25T22:43:51.123Z`).

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The event id: the client's (`id` or `Idempotency-Key`) or a UUIDv7.
    pub id: String,
    /// The stream name the client used.
    pub stream: String,
    /// When the ingest API accepted it.
    #[serde(serialize_with = "rfc3339_millis", deserialize_with = "rfc3339")]
    pub received_at: DateTime<Utc>,
    /// The client's JSON, untouched.
    pub payload: serde_json::Value,
}

/// Why bytes are not an envelope.
#[derive(Debug, thiserror::Error)]
#[error("not an envelope: {0}")]
pub struct DecodeError(#[from] serde_json::Error);

impl Envelope {
    /// An envelope received at `received_at`, kept to the millisecond its JSON carries, so an
    /// envelope survives a round trip through JSON unchanged.
    pub fn new(
        id: impl Into<String>,
        stream: impl Into<String>,
        received_at: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Self {
        Envelope {
            id: id.into(),
            stream: stream.into(),
            received_at: received_at.trunc_subsecs(3),
            payload,
        }
    }

    /// The JSON text (record data, message body).
    pub fn to_json(&self) -> String {
        // Serialising a String, a timestamp and a `Value` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON text as an SQS message body. SQS accepts only XML 1.0 characters, which JSON
    /// strings may hold raw (U+FFFE, U+FFFF); those are written as `\u` escapes, so the body
    /// still decodes to this very envelope.
    pub fn to_sqs_body(&self) -> String {
        let json = self.to_json();
        if !json.contains(['\u{FFFE}', '\u{FFFF}']) {
            return json;
        }
        json.replace('\u{FFFE}', "\\ufffe")
            .replace('\u{FFFF}', "\\uffff")
    }

    /// Reads an envelope from record data or a message body. All four fields are required;
    /// `id` and `stream` must be non-empty strings.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope: Envelope = serde_json::from_slice(bytes)?;
        if envelope.id.is_empty() {
            return Err(DecodeError(serde::de::Error::custom("`id` is empty")));
        }
        if envelope.stream.is_empty() {
            return Err(DecodeError(serde::de::Error::custom("`stream` is empty")));
        }
        Ok(envelope)
    }

    /// `receivedAt` as it appears in JSON and in the stored item.
    pub fn received_at_text(&self) -> String {
        format_received_at(&self.received_at)
    }
}

/// `2026-11-25T22:43:51.123Z`.
pub fn format_received_at(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn rfc3339_millis<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_received_at(t))
}

/// Reads `receivedAt`, kept to the millisecond as [`Envelope::new`] keeps it: an envelope read
/// from JSON with finer digits (no envelope we write has them) is then the very envelope its
/// own JSON reads back as (fuzz finding 2, RELIABILITY.md).
fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
        .map_err(|e| serde::de::Error::custom(format!("`receivedAt` `{text}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    /// Regression (fuzz target `handler_events`, CI 2026-12-01): a `receivedAt` with 27
    /// fraction digits decoded to nanoseconds, so the SQS body the forwarder wrote (in
    /// milliseconds) read back as another envelope.
    #[test]
    fn finer_than_millisecond_arrival_times_read_back_as_the_same_envelope() {
        let body = br#"{"id": "e-1", "stream": "default", "receivedAt": "2026-11-25T22:43:51.333333333333333333333333000Z", "payload": {"energy_type": "nuclear"}}"#;
        let envelope = Envelope::from_slice(body).expect("an envelope");
        assert_eq!(envelope.received_at_text(), "2026-11-25T22:43:51.333Z");
        let again = Envelope::from_slice(envelope.to_sqs_body().as_bytes()).expect("decodes");
        assert_eq!(again, envelope);
    }

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("valid")
    }

    #[test]
    fn envelope_serialises_with_camel_case_keys_and_millisecond_z_time() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 25, 22, 43, 51)
            .single()
            .expect("valid")
            + chrono::Duration::microseconds(123_456);
        let e = Envelope::new("e-1", "default", t, json!({"energy_type": "nuclear"}));
        assert_eq!(
            e.to_json(),
            r#"{"id":"e-1","stream":"default","receivedAt":"2026-11-25T22:43:51.123Z","payload":{"energy_type":"nuclear"}}"#
        );
    }

    #[test]
    fn whole_seconds_still_carry_three_fraction_digits() {
        let e = Envelope::new("e", "s", at(1_700_000_000_000), json!(null));
        assert_eq!(e.received_at_text(), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn envelope_round_trips_through_json_unchanged() {
        let e = Envelope::new(
            "e-2",
            "default",
            Utc::now(),
            json!({"a": [1, {"b": null}], "c": {}}),
        );
        let back = Envelope::from_slice(e.to_json().as_bytes()).expect("decodes");
        assert_eq!(back, e);
    }

    #[test]
    fn sqs_bodies_escape_noncharacters_and_still_decode() {
        let e = Envelope::new("e", "s", Utc::now(), json!({"k": "a\u{FFFF}b\u{FFFE}"}));
        let body = e.to_sqs_body();
        assert!(
            !body.contains('\u{FFFF}') && !body.contains('\u{FFFE}'),
            "{body}"
        );
        assert!(body.contains("\\uffff"));
        assert_eq!(Envelope::from_slice(body.as_bytes()).expect("decodes"), e);
        let plain = Envelope::new("e", "s", Utc::now(), json!({"k": "ü"}));
        assert_eq!(plain.to_sqs_body(), plain.to_json());
    }

    #[test]
    fn anything_but_a_full_envelope_is_rejected() {
        for bad in [
            &b"not json"[..],
            br#"{"id":"x","stream":"s","receivedAt":"2026-01-01T00:00:00.000Z"}"#,
            br#"{"id":"x","stream":"s","payload":1}"#,
            br#"{"id":"","stream":"s","receivedAt":"2026-01-01T00:00:00.000Z","payload":1}"#,
            br#"{"id":"x","stream":"","receivedAt":"2026-01-01T00:00:00.000Z","payload":1}"#,
            br#"{"id":"x","stream":"s","receivedAt":"yesterday","payload":1}"#,
            br#"{"id":7,"stream":"s","receivedAt":"2026-01-01T00:00:00.000Z","payload":1}"#,
            b"[1,2]",
            b"",
        ] {
            assert!(
                Envelope::from_slice(bad).is_err(),
                "accepted {}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
