//! The emulator's one notion of time.
//!
//! Wall-clock epoch milliseconds derived from tokio's clock: the epoch time at start plus the
//! tokio `Instant` elapsed since. Under `tokio::time::pause()` the emulator's time (visibility
//! timeouts, retention, arrival timestamps, iterator expiry) therefore advances exactly as the
//! paused clock does, so a test can cover a 30 s visibility timeout in microseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};
use tokio::time::Instant;

/// Epoch milliseconds, the unit every service core takes its `now` in.
pub type Millis = i64;

#[derive(Debug, Clone)]
pub struct Clock {
    origin_ms: Millis,
    origin: Instant,
}

impl Clock {
    /// A clock that starts at the system time and then follows tokio's clock.
    pub fn new() -> Self {
        let origin_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as Millis;
        Self::starting_at(origin_ms)
    }

    /// A clock that starts at a given epoch time (reproducible runs) and then follows tokio's clock.
    pub fn starting_at(origin_ms: Millis) -> Self {
        Self {
            origin_ms,
            origin: Instant::now(),
        }
    }

    pub fn now_ms(&self) -> Millis {
        self.origin_ms + self.origin.elapsed().as_millis() as Millis
    }

    pub fn now(&self) -> DateTime<Utc> {
        millis_to_datetime(self.now_ms())
    }

    /// The tokio `Instant` that corresponds to an epoch time (for timers such as long polls).
    pub fn instant_at(&self, at_ms: Millis) -> Instant {
        let offset = (at_ms - self.origin_ms).max(0) as u64;
        self.origin + Duration::from_millis(offset)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

pub fn millis_to_datetime(ms: Millis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
