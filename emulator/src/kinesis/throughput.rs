//! The per-shard write limit: 1 MiB/s or 1,000 records/s (AWS-SEMANTICS.md 1.1), counted in
//! one-second windows of the emulator's clock.

use crate::clock::Millis;

pub const MAX_BYTES_PER_SECOND: u64 = 1024 * 1024;
pub const MAX_RECORDS_PER_SECOND: u32 = 1000;

/// Writes admitted to one shard in the current second.
#[derive(Debug, Clone, Default)]
pub struct WriteWindow {
    second: i64,
    bytes: u64,
    records: u32,
}

impl WriteWindow {
    /// Counts a write of `size` bytes (data + partition key) at `now` if the shard has room
    /// for it in this second; `false` (and nothing counted) when it would exceed a limit.
    pub fn admit(&mut self, now: Millis, size: u64) -> bool {
        let second = now.div_euclid(1000);
        if second != self.second {
            *self = Self {
                second,
                bytes: 0,
                records: 0,
            };
        }
        if self.records + 1 > MAX_RECORDS_PER_SECOND || self.bytes + size > MAX_BYTES_PER_SECOND {
            return false;
        }
        self.records += 1;
        self.bytes += size;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_takes_a_thousand_records_a_second_then_refuses_until_the_next_second() {
        let mut window = WriteWindow::default();
        let t = 1_700_000_000_000;
        for i in 0..1000 {
            assert!(window.admit(t + i % 1000, 10), "record {i}");
        }
        assert!(!window.admit(t + 999, 10));
        assert!(window.admit(t + 1000, 10), "a new second starts afresh");
    }

    #[test]
    fn a_shard_takes_one_mebibyte_a_second() {
        let mut window = WriteWindow::default();
        let t = 5_000;
        assert!(window.admit(t, MAX_BYTES_PER_SECOND - 1));
        assert!(window.admit(t, 1));
        assert!(!window.admit(t, 1));
        assert!(window.admit(t + 1000, MAX_BYTES_PER_SECOND));
        assert!(!window.admit(t + 1999, 1));
    }
}
