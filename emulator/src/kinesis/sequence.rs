//! Sequence numbers: fixed-width decimal strings that say where a record is.
//!
//! Layout (56 digits, like AWS's examples): `49` · shard index (10 digits) · per-shard counter
//! (20 digits) · stream incarnation (24 digits). Fixed width makes numeric and lexical order
//! agree; the shard index first keeps numbers unique in the stream; the counter lets a lookup
//! go straight to the record; the incarnation tells a recreated stream's numbers apart.
//! Counter 0 is the shard's `StartingSequenceNumber`; records count from 1.

use std::fmt;

const VERSION: &str = "49";
const LEN: usize = 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SequenceNumber {
    pub shard: u32,
    pub counter: u64,
    pub incarnation: u64,
}

impl SequenceNumber {
    /// Reads a number this emulator issued; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != LEN || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !text.starts_with(VERSION) {
            return None;
        }
        Some(Self {
            shard: text[2..12].parse().ok()?,
            counter: text[12..32].parse().ok()?,
            incarnation: text[32..56].parse().ok()?,
        })
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}{:010}{:020}{:024}",
            self.shard, self.counter, self.incarnation
        )
    }
}

/// The model's pattern for sequence numbers in requests.
pub const MODEL_PATTERN: &str = r"0|([1-9]\d{0,128})";

/// `true` when `text` matches the model's pattern `0|([1-9]\d{0,128})`.
pub fn matches_model_pattern(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 129
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(shard: u32, counter: u64) -> SequenceNumber {
        SequenceNumber {
            shard,
            counter,
            incarnation: 7,
        }
    }

    #[test]
    fn sequence_numbers_are_56_digits_and_round_trip() {
        let n = seq(3, 42);
        let text = n.to_string();
        assert_eq!(text.len(), 56);
        assert!(matches_model_pattern(&text));
        assert_eq!(SequenceNumber::parse(&text), Some(n));
        let max = SequenceNumber {
            shard: u32::MAX,
            counter: u64::MAX,
            incarnation: u64::MAX,
        };
        assert_eq!(SequenceNumber::parse(&max.to_string()), Some(max));
    }

    #[test]
    fn numeric_and_lexical_order_agree_and_increase_with_the_counter() {
        let texts: Vec<String> = [seq(0, 0), seq(0, 1), seq(0, 9), seq(0, 10), seq(1, 0)]
            .iter()
            .map(ToString::to_string)
            .collect();
        for pair in texts.windows(2) {
            assert!(pair[0] < pair[1], "lexical {pair:?}");
            let (a, b) = (
                pair[0].parse::<f64>().unwrap(),
                pair[1].parse::<f64>().unwrap(),
            );
            assert!(a <= b, "numeric {pair:?}");
        }
    }

    #[test]
    fn foreign_or_malformed_numbers_are_not_parsed() {
        assert_eq!(SequenceNumber::parse("1"), None);
        assert_eq!(SequenceNumber::parse(&"1".repeat(56)), None);
        assert_eq!(
            SequenceNumber::parse(&format!("49{}", "x".repeat(54))),
            None
        );
        assert!(!matches_model_pattern("012"));
        assert!(!matches_model_pattern(""));
        assert!(matches_model_pattern("0"));
    }
}
