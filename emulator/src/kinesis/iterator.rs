//! Shard iterators: opaque strings that carry where a reader is and when it was issued.
//!
//! Contents: issue time, stream incarnation, shard index, the counter of the next record to
//! read, and the stream name, followed by a checksum so a mangled or invented string is
//! refused as "Invalid ShardIterator." rather than read from a wrong place. Base64, well
//! under the model's 512 characters (stream names are at most 128).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use crate::clock::{Millis, millis_to_datetime};

/// How long an iterator stays valid after it was issued.
pub const ITERATOR_TTL_MS: Millis = 300_000;

const VERSION: &str = "k1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIterator {
    pub stream: String,
    pub incarnation: u64,
    pub shard: u32,
    /// The counter of the next record to return (see `sequence`).
    pub position: u64,
    pub issued: Millis,
}

impl ShardIterator {
    pub fn encode(&self) -> String {
        let payload = format!(
            "{VERSION}/{}/{}/{}/{}/{}",
            self.issued, self.incarnation, self.shard, self.position, self.stream
        );
        let check = checksum(&payload);
        STANDARD.encode(format!("{payload}/{check}"))
    }

    /// Reads an iterator this emulator issued; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 512 {
            return None;
        }
        let raw = String::from_utf8(STANDARD.decode(text).ok()?).ok()?;
        let (payload, check) = raw.rsplit_once('/')?;
        if checksum(payload) != check {
            return None;
        }
        let mut parts = payload.splitn(6, '/');
        if parts.next()? != VERSION {
            return None;
        }
        Some(Self {
            issued: parts.next()?.parse().ok()?,
            incarnation: parts.next()?.parse().ok()?,
            shard: parts.next()?.parse().ok()?,
            position: parts.next()?.parse().ok()?,
            stream: parts.next()?.to_owned(),
        })
    }

    /// `true` when more than five minutes passed since the iterator was issued.
    pub fn is_expired(&self, now: Millis) -> bool {
        now.saturating_sub(self.issued) > ITERATOR_TTL_MS
    }

    /// AWS's `ExpiredIteratorException` message.
    pub fn expired_message(&self, now: Millis) -> String {
        format!(
            "Iterator expired. The iterator was created at time {} while right now it is {} \
             which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
            java_date(self.issued),
            java_date(now)
        )
    }
}

fn checksum(payload: &str) -> String {
    let digest = Md5::digest(payload.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Java's `Date.toString()` in UTC, as AWS's messages print times: `Thu Jan 22 01:22:02 UTC 2015`.
fn java_date(ms: Millis) -> String {
    millis_to_datetime(ms)
        .format("%a %b %d %H:%M:%S UTC %Y")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ShardIterator {
        ShardIterator {
            stream: "a.stream_name-1".repeat(8),
            incarnation: 12,
            shard: 3,
            position: 9_999_999,
            issued: 1_764_115_200_123,
        }
    }

    #[test]
    fn iterators_round_trip_and_fit_the_model_length() {
        let it = sample();
        let text = it.encode();
        assert!(text.len() <= 512, "{}", text.len());
        assert_eq!(ShardIterator::decode(&text), Some(it));
    }

    #[test]
    fn garbage_and_tampered_iterators_are_refused() {
        assert_eq!(ShardIterator::decode(""), None);
        assert_eq!(ShardIterator::decode("not base64 at all!"), None);
        assert_eq!(
            ShardIterator::decode(&STANDARD.encode("k1/1/2/3/4/s")),
            None
        );
        let mut it = sample();
        let text = it.encode();
        let tampered = STANDARD.encode(
            String::from_utf8(STANDARD.decode(&text).unwrap())
                .unwrap()
                .replace("/9999999/", "/1/"),
        );
        assert_eq!(ShardIterator::decode(&tampered), None);
        it.position = 1;
        assert_ne!(it.encode(), text);
    }

    #[test]
    fn iterators_expire_five_minutes_after_issue_with_aws_message() {
        let it = ShardIterator {
            issued: 1_421_889_722_000, // Thu Jan 22 01:22:02 UTC 2015
            ..sample()
        };
        assert!(!it.is_expired(it.issued + ITERATOR_TTL_MS));
        assert!(it.is_expired(it.issued + ITERATOR_TTL_MS + 1));
        assert_eq!(
            it.expired_message(it.issued + 301_000),
            "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02 UTC 2015 \
             while right now it is Thu Jan 22 01:27:03 UTC 2015 which is further in the future \
             than the tolerated delay of 300000 milliseconds."
        );
    }
}
