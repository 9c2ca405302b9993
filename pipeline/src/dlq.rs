//! The app-level DLQ message (queue `events-dlq`): the envelope JSON as body, or a poison
//! record's raw data, with message attributes saying why it is there:
//!
//! - `failure.stage` (String): `decode` (the record was not an envelope), `forward`
//!   (SendMessage to the queue kept failing) or `store` (the id is stored with another
//!   envelope: a conflict, see [`crate::item::digest`]);
//! - `failure.reason` (String): the last error, or `conflict`;
//! - `failure.attempts` (Number): SendMessage attempts made (0 for `decode`; PutItem attempts
//!   for `store`);
//! - `failure.stored_digest` (String, conflicts only): the digest of the envelope the table
//!   keeps (the message body is the one it refused);
//! - `failure.encoding` (String, poison only, when needed): `base64` when the raw data is not
//!   text SQS accepts (SQS bodies must be XML 1.0 characters), `empty` when it was empty
//!   (SQS bodies cannot be). Without it the body is the raw data itself.
//! - `failure.truncated` (Number, poison only, when needed): the record's size in bytes when
//!   only its first part fits a message (a record may hold 1 MiB, a message 256 KiB); a DLQ
//!   send that can never succeed would block the shard.
//!
//! Messages moved by the redrive policy carry no `failure.*` attributes: they are envelopes.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_sqs::types::MessageAttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::envelope::Envelope;

/// The `failure.stage` attribute: `decode` or `forward`.
pub const ATTR_STAGE: &str = "failure.stage";
/// The `failure.reason` attribute: the last error, or [`CONFLICT`].
pub const ATTR_REASON: &str = "failure.reason";
/// The `failure.attempts` attribute: SendMessage attempts made (0 for `decode`; PutItem
/// attempts for `store`).
pub const ATTR_ATTEMPTS: &str = "failure.attempts";
/// The `failure.encoding` attribute: `base64` or `empty` (poison records only, when needed).
pub const ATTR_ENCODING: &str = "failure.encoding";
/// The `failure.truncated` attribute: the record's size in bytes when the body holds only its first
/// part.
pub const ATTR_TRUNCATED: &str = "failure.truncated";
/// The `failure.stored_digest` attribute: the digest of the envelope the table keeps
/// (conflicts only).
pub const ATTR_STORED_DIGEST: &str = "failure.stored_digest";

/// `failure.reason` of a conflict: the id is stored with another stream or payload.
pub const CONFLICT: &str = "conflict";

/// The most of a poison record kept as text (bytes), and as base64 (bytes before encoding):
/// both under 240 KiB of body, leaving room for the attributes in a 256 KiB message.
const MAX_POISON_TEXT: usize = 240 * 1024;
const MAX_POISON_BINARY: usize = 180 * 1024;

/// Body used for an empty poison record (SQS refuses empty bodies).
const EMPTY_BODY: &str = "(empty record)";

/// Where in the pipeline an event failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureStage {
    /// The record was not an envelope.
    Decode,
    /// SendMessage to the queue failed `attempts` times or for good.
    Forward,
    /// The store handler found the id stored with another envelope.
    Store,
}

impl FailureStage {
    /// The stage as the `failure.stage` attribute spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureStage::Decode => "decode",
            FailureStage::Forward => "forward",
            FailureStage::Store => "store",
        }
    }
}

impl fmt::Display for FailureStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message is in the DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where the event failed.
    pub stage: FailureStage,
    /// The last error.
    pub reason: String,
    /// SendMessage attempts made (0 for `decode`).
    pub attempts: u32,
}

/// How the body holds a poison record's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// The body is the data itself (text, or an envelope).
    Raw,
    /// The body is the data in base64 (it is not text SQS accepts).
    Base64,
    /// The data was empty; the body is a placeholder (SQS refuses empty bodies).
    Empty,
}

/// A message for the DLQ, ready for SendMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqMessage {
    /// The message body: the envelope JSON, or the poison record's data.
    pub body: String,
    /// Why it is on the DLQ.
    pub failure: Failure,
    /// How the body holds the data.
    pub encoding: BodyEncoding,
    /// The original size in bytes when the body holds only the first part of the data.
    pub truncated_from: Option<usize>,
    /// A conflict's stored digest (`failure.stored_digest`).
    pub stored_digest: Option<String>,
}

impl DlqMessage {
    /// An envelope the forward handler could not send.
    pub fn forward(envelope: &Envelope, reason: impl Into<String>, attempts: u32) -> Self {
        DlqMessage {
            body: envelope.to_sqs_body(),
            failure: Failure {
                stage: FailureStage::Forward,
                reason: reason.into(),
                attempts,
            },
            encoding: BodyEncoding::Raw,
            truncated_from: None,
            stored_digest: None,
        }
    }

    /// An envelope the store handler refused because its id is stored with another
    /// envelope (`stored_digest`); `attempts` PutItem attempts were made.
    pub fn conflict(envelope: &Envelope, stored_digest: impl Into<String>, attempts: u32) -> Self {
        DlqMessage {
            body: envelope.to_sqs_body(),
            failure: Failure {
                stage: FailureStage::Store,
                reason: CONFLICT.to_owned(),
                attempts,
            },
            encoding: BodyEncoding::Raw,
            truncated_from: None,
            stored_digest: Some(stored_digest.into()),
        }
    }

    /// A record whose data is not an envelope: its raw data, as text when SQS can carry it,
    /// cut to what fits a message.
    pub fn poison(data: &[u8], reason: impl Into<String>) -> Self {
        let (body, encoding, kept) = match std::str::from_utf8(data) {
            Ok("") => (EMPTY_BODY.to_owned(), BodyEncoding::Empty, 0),
            Ok(text) if text.chars().all(is_sqs_char) => {
                let text = &text[..text.floor_char_boundary(MAX_POISON_TEXT)];
                (text.to_owned(), BodyEncoding::Raw, text.len())
            }
            _ => {
                let bytes = &data[..data.len().min(MAX_POISON_BINARY)];
                (BASE64.encode(bytes), BodyEncoding::Base64, bytes.len())
            }
        };
        DlqMessage {
            body,
            failure: Failure {
                stage: FailureStage::Decode,
                reason: reason.into(),
                attempts: 0,
            },
            encoding,
            truncated_from: (kept < data.len()).then_some(data.len()),
            stored_digest: None,
        }
    }

    /// The SendMessage message attributes.
    pub fn attributes(&self) -> HashMap<String, MessageAttributeValue> {
        let mut attrs = HashMap::from([
            (
                ATTR_STAGE.to_owned(),
                string_attr(self.failure.stage.as_str()),
            ),
            (
                ATTR_REASON.to_owned(),
                string_attr(&reason_text(&self.failure.reason)),
            ),
            (ATTR_ATTEMPTS.to_owned(), number_attr(self.failure.attempts)),
        ]);
        let encoding = match self.encoding {
            BodyEncoding::Raw => None,
            BodyEncoding::Base64 => Some("base64"),
            BodyEncoding::Empty => Some("empty"),
        };
        if let Some(encoding) = encoding {
            attrs.insert(ATTR_ENCODING.to_owned(), string_attr(encoding));
        }
        if let Some(size) = self.truncated_from {
            attrs.insert(ATTR_TRUNCATED.to_owned(), number_attr(size));
        }
        if let Some(digest) = &self.stored_digest {
            attrs.insert(ATTR_STORED_DIGEST.to_owned(), string_attr(digest));
        }
        attrs
    }
}

/// Characters SQS accepts in bodies and attribute values (XML 1.0).
fn is_sqs_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A reason SQS will accept: non-empty, valid characters, bounded (attribute values count
/// towards the message size).
fn reason_text(reason: &str) -> String {
    const MAX_CHARS: usize = 1024;
    let cleaned: String = reason
        .chars()
        .map(|c| if is_sqs_char(c) { c } else { '\u{FFFD}' })
        .take(MAX_CHARS)
        .collect();
    if cleaned.is_empty() {
        "unknown".to_owned()
    } else {
        cleaned
    }
}

fn string_attr(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data_type is set")
}

fn number_attr(value: impl ToString) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(value.to_string())
        .build()
        .expect("data_type is set")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    /// What a poison message's body holds, decoded as a DLQ reader would.
    fn decoded(m: &DlqMessage) -> Vec<u8> {
        match m.encoding {
            BodyEncoding::Raw => m.body.clone().into_bytes(),
            BodyEncoding::Base64 => BASE64.decode(&m.body).expect("base64 body"),
            BodyEncoding::Empty => Vec::new(),
        }
    }

    #[test]
    fn a_forward_failure_carries_the_envelope_and_its_attempts() {
        let e = Envelope::new("e-1", "default", Utc::now(), json!({"k": 1}));
        let m = DlqMessage::forward(&e, "RequestThrottled: slow down", 3);
        let attrs = m.attributes();
        assert_eq!(attrs[ATTR_STAGE].string_value(), Some("forward"));
        assert_eq!(attrs[ATTR_ATTEMPTS].data_type(), "Number");
        assert_eq!(attrs[ATTR_ATTEMPTS].string_value(), Some("3"));
        assert_eq!(
            attrs[ATTR_REASON].string_value(),
            Some("RequestThrottled: slow down")
        );
        assert!(!attrs.contains_key(ATTR_ENCODING));
        assert_eq!(Envelope::from_slice(m.body.as_bytes()).ok(), Some(e));
    }

    #[test]
    fn a_conflict_carries_the_refused_envelope_and_the_stored_digest() {
        let e = Envelope::new("e-1", "default", Utc::now(), json!({"v": 2}));
        let m = DlqMessage::conflict(&e, "sha256:00", 1);
        let attrs = m.attributes();
        assert_eq!(attrs[ATTR_STAGE].string_value(), Some("store"));
        assert_eq!(attrs[ATTR_REASON].string_value(), Some("conflict"));
        assert_eq!(attrs[ATTR_ATTEMPTS].string_value(), Some("1"));
        assert_eq!(attrs[ATTR_STORED_DIGEST].string_value(), Some("sha256:00"));
        assert_eq!(Envelope::from_slice(m.body.as_bytes()).ok(), Some(e));
    }

    #[test]
    fn poison_text_is_kept_verbatim_and_binary_as_base64() {
        let text = DlqMessage::poison(b"hello, not json", "expected value");
        assert_eq!(
            (text.body.as_str(), text.encoding),
            ("hello, not json", BodyEncoding::Raw)
        );
        assert_eq!(text.failure.stage, FailureStage::Decode);
        assert_eq!(text.failure.attempts, 0);

        let bytes = [0xff, 0x00, 0x01];
        let binary = DlqMessage::poison(&bytes, "not utf-8");
        assert_eq!(binary.encoding, BodyEncoding::Base64);
        assert_eq!(
            binary.attributes()[ATTR_ENCODING].string_value(),
            Some("base64")
        );
        assert_eq!(decoded(&binary), bytes);

        let control = DlqMessage::poison(b"a\x00b", "nul");
        assert_eq!(
            control.encoding,
            BodyEncoding::Base64,
            "NUL is not an SQS character"
        );

        let empty = DlqMessage::poison(b"", "empty");
        assert!(!empty.body.is_empty());
        assert_eq!(
            empty.attributes()[ATTR_ENCODING].string_value(),
            Some("empty")
        );
    }

    #[test]
    fn oversized_poison_is_cut_to_fit_a_message_and_says_so() {
        let text = "é".repeat(200 * 1024); // 400 KiB of two-byte characters
        let m = DlqMessage::poison(text.as_bytes(), "too big");
        assert_eq!(m.encoding, BodyEncoding::Raw);
        assert!(m.body.len() <= MAX_POISON_TEXT && m.body.len() > MAX_POISON_TEXT - 2);
        assert_eq!(m.truncated_from, Some(text.len()));
        let attrs = m.attributes();
        assert_eq!(
            attrs[ATTR_TRUNCATED].string_value(),
            Some(text.len().to_string().as_str())
        );

        let binary = vec![0xffu8; 1024 * 1024];
        let m = DlqMessage::poison(&binary, "too big");
        assert_eq!(m.encoding, BodyEncoding::Base64);
        assert!(m.body.len() <= 240 * 1024, "{}", m.body.len());
        assert_eq!(decoded(&m), binary[..MAX_POISON_BINARY]);
        assert_eq!(m.truncated_from, Some(binary.len()));

        assert_eq!(DlqMessage::poison(b"small", "r").truncated_from, None);
    }

    #[test]
    fn reasons_are_cleaned_for_sqs() {
        assert_eq!(reason_text(""), "unknown");
        assert_eq!(reason_text("a\u{0}b"), "a\u{FFFD}b");
        assert_eq!(reason_text(&"x".repeat(5000)).len(), 1024);
    }
}
