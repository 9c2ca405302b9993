//! A message's content and the validation SendMessage applies to it: body characters and
//! size, message attributes (count, names, types, values) and system attributes.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::errors::{invalid_message_contents, invalid_parameter, missing_parameter};
use super::md5;
use super::shapes::{AttributeShapes, AttributeValueShape};
use crate::clock::Millis;
use crate::error::AwsError;

/// At most this many message attributes per message.
const MAX_ATTRIBUTES: usize = 10;
const MAX_NAME_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeData {
    /// `String` and `Number` types (and their custom `.suffix` forms).
    String(String),
    Binary(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeValue {
    pub data_type: String,
    pub data: AttributeData,
}

impl AttributeValue {
    /// Bytes this attribute counts toward the message size: name, type and value.
    fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + match &self.data {
                AttributeData::String(s) => s.len(),
                AttributeData::Binary(b) => b.len(),
            }
    }

    pub fn to_shape(&self) -> AttributeValueShape {
        let (string_value, binary_value) = match &self.data {
            AttributeData::String(s) => (Some(s.clone()), None),
            AttributeData::Binary(b) => (None, Some(B64.encode(b))),
        };
        AttributeValueShape {
            string_value,
            binary_value,
            data_type: Some(self.data_type.clone()),
            ..Default::default()
        }
    }
}

/// Attributes sorted by name, as the MD5 digest needs them.
pub type Attributes = BTreeMap<String, AttributeValue>;

/// What a message carries, shared (never copied) between the receives of one message and
/// kept whole when the message moves to a dead-letter queue.
#[derive(Debug, Clone)]
pub struct Content {
    pub id: String,
    pub body: String,
    pub attributes: Attributes,
    /// `AWSTraceHeader`, the only system attribute a sender may set.
    pub system_attributes: Attributes,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    /// Epoch ms of the original send; retention counts from it, also in a dead-letter queue.
    pub sent: Millis,
    pub sender_id: String,
    pub message_group_id: Option<String>,
}

impl Content {
    /// Builds a new message from validated parts, computing its id and digests.
    pub fn new(
        body: String,
        attributes: Attributes,
        system_attributes: Attributes,
        message_group_id: Option<String>,
        sent: Millis,
        sender_id: String,
    ) -> Arc<Content> {
        Arc::new(Content {
            id: uuid::Uuid::new_v4().to_string(),
            md5_of_body: md5::of_body(&body),
            md5_of_attributes: md5::of_attribute_map(&attributes),
            md5_of_system_attributes: md5::of_attribute_map(&system_attributes),
            body,
            attributes,
            system_attributes,
            sent,
            sender_id,
            message_group_id,
        })
    }

    /// The same payload as a new message (a redrive move): new id, new send time.
    pub fn resent(&self, sent: Millis) -> Arc<Content> {
        Arc::new(Content {
            id: uuid::Uuid::new_v4().to_string(),
            sent,
            ..self.clone()
        })
    }
}

/// The SHA-256 of a body, hex: a FIFO queue's content-based deduplication id.
pub fn sha256_hex(body: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a body: present, not empty, only the characters SQS allows.
pub fn validate_body(body: Option<String>) -> Result<String, AwsError> {
    let body = body.ok_or_else(|| missing_parameter("MessageBody"))?;
    if body.is_empty() {
        return Err(missing_parameter("MessageBody"));
    }
    // Rust strings cannot hold surrogates, so of SQS's ranges only these remain to check.
    if let Some(bad) = body.chars().find(|&c| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(invalid_message_contents(format!(
            "Invalid binary character '#x{:X}' was found in the message body, the set of \
             allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | \
             #x10000 to #x10FFFF",
            bad as u32
        )));
    }
    Ok(body)
}

/// The size SQS checks against `MaximumMessageSize`: body plus attribute names, types, values.
pub fn message_size(body: &str, attributes: &Attributes) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|(name, value)| value.size(name))
            .sum::<usize>()
}

/// AWS words this differently for SendMessage and for a SendMessageBatch entry.
pub fn too_large(limit: u32, in_batch: bool) -> AwsError {
    let problem = if in_batch {
        "cannot be validated"
    } else {
        "are invalid"
    };
    invalid_parameter(format!(
        "One or more parameters {problem}. Reason: Message must be shorter than {limit} bytes."
    ))
}

/// `MessageGroupId` and `MessageDeduplicationId` (`name`): 1 to 128 ASCII letters, digits and
/// punctuation (a group id is checked on standard queues too, where it enables fair queues).
pub fn validate_group_id(group: &str, name: &str) -> Result<(), AwsError> {
    let valid = (1..=128).contains(&group.len())
        && group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if valid {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "Value {group} for parameter {name} is invalid. Reason: {name} can only include \
             alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

/// Validates user message attributes and converts them from the wire shape.
pub fn parse_attributes(shapes: AttributeShapes) -> Result<Attributes, AwsError> {
    if shapes.len() > MAX_ATTRIBUTES {
        return Err(invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            shapes.len()
        )));
    }
    shapes
        .into_iter()
        .map(|(name, shape)| {
            validate_name(&name)?;
            let value = parse_value(&name, shape, "user")?;
            Ok((name, value))
        })
        .collect()
}

/// Validates `MessageSystemAttributes`: only `AWSTraceHeader`, of type String.
pub fn parse_system_attributes(shapes: AttributeShapes) -> Result<Attributes, AwsError> {
    shapes
        .into_iter()
        .map(|(name, shape)| {
            if name != "AWSTraceHeader" {
                return Err(invalid_parameter(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
            let value = parse_value(&name, shape, "system")?;
            if value.data_type != "String" {
                return Err(invalid_parameter(format!(
                    "Message system attribute '{name}' must be of type String."
                )));
            }
            Ok((name, value))
        })
        .collect()
}

fn validate_name(name: &str) -> Result<(), AwsError> {
    let lower = name.to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            // Letters and digits of any script (AWS accepts `attr.1øßä`).
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if valid {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "Message (user) attribute name '{name}' is invalid: names are 1 to 256 characters \
             of A-Z, a-z, 0-9, underscore, hyphen and period, must not start or end with a \
             period nor contain two in a row, and must not start with AWS. or Amazon."
        )))
    }
}

fn parse_value(
    name: &str,
    shape: AttributeValueShape,
    kind: &str,
) -> Result<AttributeValue, AwsError> {
    if !shape.string_list_values.is_empty() || !shape.binary_list_values.is_empty() {
        return Err(invalid_parameter(
            "Message attribute list values in SendMessage operation are not supported.",
        ));
    }
    let data_type = shape.data_type.unwrap_or_default();
    if data_type.is_empty() {
        return Err(invalid_parameter(format!(
            "The message ({kind}) attribute '{name}' must contain a non-empty attribute type."
        )));
    }
    if data_type.len() > MAX_NAME_LEN {
        return Err(invalid_parameter(format!(
            "Message ({kind}) attribute '{name}' type must be at most {MAX_NAME_LEN} characters."
        )));
    }
    // Custom types extend a base type after a period: `Number.float`, `Binary.gif`.
    let base = data_type.split('.').next().unwrap_or_default();
    let data = match base {
        "String" | "Number" => {
            let value = shape.string_value.unwrap_or_default();
            if value.is_empty() {
                return Err(empty_value(kind, name, base));
            }
            if base == "Number" && !is_number(&value) {
                return Err(invalid_parameter(format!(
                    "Can't cast the value of message ({kind}) attribute '{name}' to a number."
                )));
            }
            // AWS answers InvalidParameterValue here (InvalidMessageContents is for bodies).
            if validate_body(Some(value.clone())).is_err() {
                return Err(invalid_parameter(format!(
                    "Message ({kind}) attribute '{name}' contains invalid characters."
                )));
            }
            AttributeData::String(value)
        }
        "Binary" => {
            let encoded = shape.binary_value.unwrap_or_default();
            let bytes = B64.decode(encoded.as_bytes()).map_err(|_| {
                invalid_parameter(format!(
                    "Message ({kind}) attribute '{name}' has a BinaryValue that is not valid base64."
                ))
            })?;
            if bytes.is_empty() {
                return Err(empty_value(kind, name, base));
            }
            AttributeData::Binary(bytes)
        }
        _ => {
            return Err(invalid_parameter(format!(
                "The type of message ({kind}) attribute '{name}' is invalid. You must use only \
                 the following supported type prefixes: Binary, Number, String."
            )));
        }
    };
    Ok(AttributeValue { data_type, data })
}

fn empty_value(kind: &str, name: &str, base: &str) -> AwsError {
    invalid_parameter(format!(
        "Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
    ))
}

/// SQS numbers: an optional sign, digits with an optional fraction, an optional exponent.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(data_type: &str, value: &str) -> AttributeValueShape {
        AttributeValueShape {
            string_value: Some(value.into()),
            data_type: Some(data_type.into()),
            ..Default::default()
        }
    }

    #[test]
    fn bodies_with_control_characters_are_rejected_and_tabs_are_not() {
        assert!(validate_body(Some("a\tb\nc\r".into())).is_ok());
        let err = validate_body(Some("a\u{1}b".into())).unwrap_err();
        assert_eq!(err.code, "InvalidMessageContents");
        assert!(err.message.contains("#x1"), "{}", err.message);
        assert_eq!(
            validate_body(Some(String::new())).unwrap_err().code,
            "MissingRequiredParameterException"
        );
    }

    #[test]
    fn more_than_ten_attributes_are_rejected() {
        let shapes: AttributeShapes = (0..11)
            .map(|i| (format!("a{i}"), shape("String", "v")))
            .collect();
        let err = parse_attributes(shapes).unwrap_err();
        assert!(err.message.contains("[11]"), "{}", err.message);
    }

    #[test]
    fn attribute_names_follow_aws_rules() {
        for bad in ["AWS.x", "amazon.y", ".a", "a.", "a..b", "a b", ""] {
            let shapes = AttributeShapes::from([(bad.to_owned(), shape("String", "v"))]);
            assert!(parse_attributes(shapes).is_err(), "{bad:?} accepted");
        }
        let shapes =
            AttributeShapes::from([("trace.id-1_x".to_owned(), shape("String.custom", "v"))]);
        assert!(parse_attributes(shapes).is_ok());
    }

    #[test]
    fn number_attributes_must_parse_as_numbers() {
        for good in ["1", "-2.5", "1e10", ".5", "3.", "+7E-3"] {
            assert!(is_number(good), "{good}");
        }
        for bad in ["", "abc", "1e", "--1", "1.2.3", "."] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn message_size_counts_body_and_attributes() {
        let attrs = parse_attributes(AttributeShapes::from([(
            "ab".to_owned(),
            shape("String", "xyz"),
        )]))
        .unwrap();
        assert_eq!(message_size("body", &attrs), 4 + 2 + 6 + 3);
    }
}
