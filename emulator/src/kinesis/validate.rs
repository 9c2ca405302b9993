//! Model-constraint checks, answered as AWS does: `ValidationException` with
//! "N validation error(s) detected: Value '…' at '…' failed to satisfy constraint: …", and
//! blob decoding failures as `SerializationException`.

use crate::aws_error;
use crate::error::AwsError;

pub const STREAM_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

/// Collects constraint violations of one request; `finish` turns them into one error.
#[derive(Debug, Default)]
pub struct Violations {
    errors: Vec<String>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let value = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_owned(),
        };
        self.errors.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member: returns it, or records "must not be null".
    pub fn required<'a, T>(&mut self, path: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.push(None, path, "Member must not be null");
        }
        value.as_ref()
    }

    /// Length bounds in characters (strings) or items (lists); `shown` is how the value prints.
    pub fn length(&mut self, path: &str, shown: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        let shown = value.to_string();
        if value < min {
            self.push(
                Some(&shown),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if value > max {
            self.push(
                Some(&shown),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn pattern(&mut self, path: &str, value: &str, pattern: &str, ok: bool) {
        if !ok {
            self.push(
                Some(value),
                path,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.push(
                Some(value),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// A stream name: 1..128 characters of `[a-zA-Z0-9_.-]`.
    pub fn stream_name(&mut self, path: &str, name: &str) {
        let ok = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        self.pattern(path, name, STREAM_NAME_PATTERN, ok && !name.is_empty());
        self.length(path, name, name.chars().count(), 1, 128);
    }

    /// A partition key: 1..256 Unicode characters.
    pub fn partition_key(&mut self, path: &str, key: &str) {
        self.length(path, key, key.chars().count(), 1, 256);
    }

    pub fn finish(self) -> Result<(), AwsError> {
        let n = self.errors.len();
        if n == 0 {
            return Ok(());
        }
        let plural = if n > 1 { "s" } else { "" };
        Err(aws_error!(
            ValidationException,
            "{n} validation error{plural} detected: {}",
            self.errors.join("; ")
        ))
    }
}

/// How AWS prints a blob in validation messages.
pub fn blob_shown(len: usize) -> String {
    format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]")
}

/// Checks that `text` is canonical padded base64 (what the SDKs send) and returns the decoded
/// length, without decoding: records keep the text as received and GetRecords returns it as is.
pub fn base64_len(text: &str) -> Result<usize, AwsError> {
    let bytes = text.as_bytes();
    let refuse = |why: String| {
        let shown: String = text.chars().take(64).collect();
        let more = if text.len() > 64 { "..." } else { "" };
        aws_error!(
            SerializationException,
            "'{shown}{more}' can not be converted to a Blob: {why}"
        )
    };
    if !bytes.len().is_multiple_of(4) {
        return Err(refuse(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            bytes.len()
        )));
    }
    let pad = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err(refuse("Invalid Base64 character: '='".into()));
    }
    let body = &bytes[..bytes.len() - pad];
    if let Some(&bad) = body.iter().find(|&&b| sextet(b).is_none()) {
        return Err(refuse(format!(
            "Invalid Base64 character: '{}'",
            char::from(bad)
        )));
    }
    // The bits a padded group leaves unused must be zero, or the text is not canonical.
    if let Some(&last) = body.last() {
        let value = sextet(last).unwrap_or(0);
        let unused_mask = match pad {
            1 => 0b11,
            2 => 0b1111,
            _ => 0,
        };
        if value & unused_mask != 0 {
            return Err(refuse(
                "Invalid last non-pad Base64 character dectected".into(),
            ));
        }
    }
    Ok(bytes.len() / 4 * 3 - pad)
}

fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn base64_length_matches_the_decoded_length_for_canonical_text() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(base64_len(&STANDARD.encode(&data)), Ok(n), "{n}");
        }
    }

    #[test]
    fn non_canonical_base64_is_a_serialization_exception() {
        for bad in ["abc", "ab=c", "a===", "ab$d", "QR=="] {
            let err = base64_len(bad).unwrap_err();
            assert_eq!(err.code, "SerializationException", "{bad}");
        }
    }

    #[test]
    fn violations_read_like_aws_messages() {
        let mut v = Violations::new();
        v.partition_key("partitionKey", "");
        v.stream_name("streamName", "a/b");
        let err = v.finish().unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert_eq!(
            err.message,
            "2 validation errors detected: Value '' at 'partitionKey' failed to satisfy \
             constraint: Member must have length greater than or equal to 1; Value 'a/b' at \
             'streamName' failed to satisfy constraint: Member must satisfy regular expression \
             pattern: [a-zA-Z0-9_.-]+"
        );
    }
}
