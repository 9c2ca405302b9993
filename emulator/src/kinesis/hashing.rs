//! Partition key → hash key → shard: MD5 of the key as a 128-bit big-endian integer, and the
//! even split of the hash-key space that new streams get (AWS-SEMANTICS.md 1.2).

use md5::{Digest, Md5};

/// The hash key Kinesis derives from a partition key: MD5 over its UTF-8 bytes, big-endian.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// Why an `ExplicitHashKey` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKeyError {
    /// Not a decimal string of the model's pattern `0|([1-9]\d{0,38})`.
    Pattern,
    /// Matches the pattern but is above 2^128 − 1.
    OutOfRange,
}

/// Parses an `ExplicitHashKey`.
pub fn parse_explicit_hash_key(text: &str) -> Result<u128, HashKeyError> {
    let bytes = text.as_bytes();
    let pattern_ok = !bytes.is_empty()
        && bytes.len() <= 39
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1);
    if !pattern_ok {
        return Err(HashKeyError::Pattern);
    }
    text.parse::<u128>().map_err(|_| HashKeyError::OutOfRange)
}

/// The hash-key ranges of `count` new shards: `size = floor(2^128 / count)`, shard `i` covers
/// `[i·size, (i+1)·size − 1]`, and the last one ends at 2^128 − 1.
pub fn even_ranges(count: u32) -> Vec<(u128, u128)> {
    let n = u128::from(count.max(1));
    if n == 1 {
        return vec![(0, u128::MAX)];
    }
    // floor(2^128 / n) without 2^128: 2^128 = u128::MAX + 1.
    let size = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    (0..n)
        .map(|i| {
            let start = i * size;
            let end = if i == n - 1 {
                u128::MAX
            } else {
                (i + 1) * size - 1
            };
            (start, end)
        })
        .collect()
}

/// The index of the range that holds `hash` (ranges sorted, contiguous, covering the space).
pub fn shard_for_hash(ranges: &[(u128, u128)], hash: u128) -> usize {
    ranges
        .partition_point(|&(_, end)| end < hash)
        .min(ranges.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: u128 = 170_141_183_460_469_231_731_687_303_715_884_105_727;

    #[test]
    fn md5_of_partition_keys_matches_the_reference_vectors() {
        assert_eq!(partition_key_hash("a"), 0x0cc175b9c0f1b6a831c399e269772661);
        assert_eq!(partition_key_hash("1"), 0xc4ca4238a0b923820dcc509a6f75849b);
        assert_eq!(
            partition_key_hash("user-42"),
            0x7631bc07a1cc8fcd56e70fc6b2fb4a43
        );
    }

    #[test]
    fn partition_keys_land_on_the_reference_shards() {
        let two = even_ranges(2);
        let four = even_ranges(4);
        for (key, on_two, on_four) in [("a", 0, 0), ("1", 1, 3), ("user-42", 0, 1)] {
            let hash = partition_key_hash(key);
            assert_eq!(shard_for_hash(&two, hash), on_two, "{key} on 2 shards");
            assert_eq!(shard_for_hash(&four, hash), on_four, "{key} on 4 shards");
        }
    }

    #[test]
    fn ranges_split_the_space_evenly_and_cover_it() {
        assert_eq!(even_ranges(1), vec![(0, u128::MAX)]);
        assert_eq!(even_ranges(2), vec![(0, HALF), (HALF + 1, u128::MAX)]);
        for n in [1, 2, 3, 4, 5, 7, 100] {
            let ranges = even_ranges(n);
            assert_eq!(ranges.len(), n as usize);
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges[ranges.len() - 1].1, u128::MAX);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].1 + 1, pair[1].0, "contiguous for {n}");
            }
        }
        // 3 does not divide 2^128: size = floor(2^128 / 3), the last shard takes the rest.
        let three = even_ranges(3);
        assert_eq!(
            three[1].0,
            113_427_455_640_312_821_154_458_202_477_256_070_485
        );
    }

    #[test]
    fn boundary_hash_keys_belong_to_the_shard_whose_range_holds_them() {
        let two = even_ranges(2);
        assert_eq!(shard_for_hash(&two, 0), 0);
        assert_eq!(shard_for_hash(&two, HALF), 0);
        assert_eq!(shard_for_hash(&two, HALF + 1), 1);
        assert_eq!(shard_for_hash(&two, u128::MAX), 1);
    }

    #[test]
    fn explicit_hash_keys_are_decimal_and_at_most_two_to_the_128_minus_one() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211456"),
            Err(HashKeyError::OutOfRange)
        );
        for bad in ["", "01", "-1", "1.5", "abc", &"9".repeat(40)] {
            assert_eq!(
                parse_explicit_hash_key(bad),
                Err(HashKeyError::Pattern),
                "{bad}"
            );
        }
    }
}
