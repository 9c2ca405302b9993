//! The real-time profile: the template values a test run on the wall clock replaces so that
//! SQS's redelivery cycle costs seconds, not minutes.
//!
//! Under the embedded backend's paused clock the template's own timings (a 30 s visibility
//! timeout, three receives before SQS moves a message to the DLQ) cost no wall time. On
//! LocalStack, moto or AWS they would cost 90 s per failing message; the profile keeps every
//! delivery property (three receives, then the DLQ) while shortening the wait, within AWS's
//! rules (a function's timeout must not exceed its queue's visibility timeout). Runs list the
//! values as overrides, so a report says what was replaced.

/// `(template path, value)` pairs for the project's template, applied by
/// [`HarnessOptions::real_time_profile`](super::HarnessOptions::real_time_profile).
pub const REAL_TIME_PROFILE: &[(&str, u64)] = &[
    ("EventsQueue.VisibilityTimeout", 3),
    ("StoreFunction.Timeout", 1),
];

/// The profile as override pairs (for [`RunOptions`](crate::scenario::RunOptions)'s
/// `overrides`).
pub fn real_time_overrides() -> Vec<(String, serde_json::Value)> {
    REAL_TIME_PROFILE
        .iter()
        .map(|(path, value)| ((*path).to_owned(), (*value).into()))
        .collect()
}
