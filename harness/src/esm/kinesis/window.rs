//! Tumbling windows (`TumblingWindowInSeconds`): state carried between a shard's invocations.
//!
//! What AWS documents (Lambda developer guide, services-kinesis-windows): each record belongs
//! to one window, fixed by its approximate arrival time; Lambda may deliver a window's records
//! in several invocations, each passing the `state` the previous one returned; a response
//! without `state` is a failed invocation; at the end of the window an invocation with
//! `isFinalInvokeForWindow: true` hands over the final state, after which the state is
//! dropped; state is at most 1 MB per shard, beyond which "Lambda terminates the window
//! early" (`isWindowTerminatedEarly`), and the next invocation continues the same window with
//! a fresh state; a failed final invocation blocks the shard until it succeeds. Event shape:
//! the Kinesis event plus `window: {start, end}`, `state`, `shardId`, `eventSourceARN`,
//! `isFinalInvokeForWindow`, `isWindowTerminatedEarly`.
//!
//! Our choices where AWS gives no rule: windows are aligned on multiples of their length since
//! the epoch (AWS's examples show aligned windows); the final invocation carries no records;
//! it comes as soon as a record of a later window is read, or when the window's end passes
//! with nothing more read (AWS "waits for up to 2 minutes"; we do not wait longer); a missing
//! `state` is a function error (retried like one); window state lives in the consumer, so a
//! crashed consumer's open window starts again with a fresh state.
//!
//! `aws_lambda_events` has these types too, but with `state` as a map of strings (AWS's own
//! example state holds numbers) and no `batchItemFailures` on the response; ours follow AWS.

use std::future::Future;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::streams::KinesisBatchItemFailure;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::esm::BoxError;

/// AWS's limit on a window's state, per shard.
pub const MAX_STATE_BYTES: usize = 1024 * 1024;

/// A window's bounds, as Lambda writes them (`"2020-12-09T07:04:00Z"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The first instant of the window.
    pub start: DateTime<Utc>,
    /// The first instant after it.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of `length` that holds `t`, aligned on the epoch.
    pub fn of(t: DateTime<Utc>, length: std::time::Duration) -> Self {
        let len = i64::try_from(length.as_millis()).unwrap_or(i64::MAX).max(1);
        let start_ms = t.timestamp_millis().div_euclid(len) * len;
        let start = DateTime::<Utc>::from_timestamp_millis(start_ms).unwrap_or(t);
        let end = DateTime::<Utc>::from_timestamp_millis(start_ms.saturating_add(len)).unwrap_or(t);
        Self { start, end }
    }
}

/// What a function behind a mapping with a tumbling window receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisWindowEvent {
    /// The batch's records (all of one window).
    #[serde(rename = "Records")]
    pub records: Vec<KinesisEventRecord>,
    /// The window the records belong to.
    pub window: Window,
    /// The state the previous invocation of this window returned (empty at its start).
    pub state: Map<String, Value>,
    /// The shard the records were read from.
    pub shard_id: String,
    /// The stream's ARN.
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
    /// Whether this is the window's final invocation (no records): it hands over the final
    /// state, which is dropped afterwards.
    pub is_final_invoke_for_window: bool,
    /// Whether the window ended early because its state outgrew [`MAX_STATE_BYTES`].
    pub is_window_terminated_early: bool,
}

/// What it answers (`TimeWindowEventResponse`): the state to carry (required) and, with
/// ReportBatchItemFailures, the failed records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisWindowResponse {
    /// The state to carry into the window's next invocation (`None` fails the batch on Lambda).
    #[serde(default)]
    pub state: Option<Map<String, Value>>,
    /// The records that failed (ReportBatchItemFailures): retried from the first of them.
    #[serde(default)]
    pub batch_item_failures: Vec<KinesisBatchItemFailure>,
}

/// A function behind a Kinesis mapping with a tumbling window.
pub trait KinesisWindowHandler: Send + Sync + 'static {
    /// Handles one batch of a window; an error fails the whole batch.
    fn handle(
        &self,
        event: KinesisWindowEvent,
    ) -> BoxFuture<'static, Result<KinesisWindowResponse, BoxError>>;
}

impl<F, Fut, E> KinesisWindowHandler for F
where
    F: Fn(KinesisWindowEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<KinesisWindowResponse, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn handle(
        &self,
        event: KinesisWindowEvent,
    ) -> BoxFuture<'static, Result<KinesisWindowResponse, BoxError>> {
        let fut = self(event);
        async move { fut.await.map_err(Into::into) }.boxed()
    }
}

/// A response without `state`: Lambda treats the invocation as failed.
#[derive(Debug, thiserror::Error)]
#[error("the response of a tumbling-window invocation has no state")]
pub struct MissingState;

/// A lane's open window and the state carried so far.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenWindow {
    pub window: Window,
    pub state: Map<String, Value>,
    /// Its final invocation ends it early (state over 1 MB).
    pub terminated_early: bool,
}

/// Whether a state is over AWS's limit.
pub(crate) fn too_big(state: &Map<String, Value>) -> bool {
    serde_json::to_vec(state).is_ok_and(|v| v.len() > MAX_STATE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn windows_are_aligned_on_their_length() {
        let t = DateTime::parse_from_rfc3339("2020-12-09T07:05:13.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let w = Window::of(t, Duration::from_secs(120));
        let json = serde_json::to_value(w).unwrap();
        // AWS's example window (services-kinesis-windows).
        assert_eq!(
            json,
            serde_json::json!({"start": "2020-12-09T07:04:00Z", "end": "2020-12-09T07:06:00Z"})
        );
    }

    #[test]
    fn the_event_and_response_have_aws_shape() {
        let event = KinesisWindowEvent {
            records: Vec::new(),
            window: Window::of(DateTime::<Utc>::UNIX_EPOCH, Duration::from_secs(60)),
            state: serde_json::from_value(serde_json::json!({"1": 282, "2": 715})).unwrap(),
            shard_id: "shardId-000000000006".into(),
            event_source_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream".into(),
            is_final_invoke_for_window: false,
            is_window_terminated_early: false,
        };
        let json = serde_json::to_value(&event).unwrap();
        for key in [
            "Records",
            "window",
            "state",
            "shardId",
            "eventSourceARN",
            "isFinalInvokeForWindow",
            "isWindowTerminatedEarly",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        let response: KinesisWindowResponse = serde_json::from_value(
            serde_json::json!({"state": {"1": 282, "2": 715}, "batchItemFailures": []}),
        )
        .unwrap();
        assert_eq!(response.state.unwrap()["1"], 282);
        let stateless: KinesisWindowResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(stateless.state, None);
    }
}
