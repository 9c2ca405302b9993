//! Replay and redrive, shared by [`Harness`](super::Harness) and the `harness replay` /
//! `harness redrive` commands (which run them against a running `harness up` or any backend).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::HarnessError;
use super::inspect::POLL;
use crate::backend::Provisioned;
use crate::esm::{
    DeliveryHooks, InMemoryCheckpoints, KinesisHandler, KinesisMapping, KinesisMappingConfig,
    StartingPosition,
};

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayFrom {
    /// The oldest record each shard keeps.
    TrimHorizon,
    /// The first record that arrived at or after this time.
    Timestamp(DateTime<Utc>),
    /// A record's sequence number: replay its shard from that record on.
    SequenceNumber(String),
}

impl std::str::FromStr for ReplayFrom {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trim-horizon" | "TRIM_HORIZON" => Ok(ReplayFrom::TrimHorizon),
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(ReplayFrom::SequenceNumber(digits.to_owned()))
            }
            other => DateTime::parse_from_rfc3339(other)
                .map(|t| ReplayFrom::Timestamp(t.with_timezone(&Utc)))
                .map_err(|_| {
                    format!(
                        "{other:?} is not trim-horizon, an RFC 3339 time \
                         (e.g. 2026-11-25T22:00:00Z) or a sequence number"
                    )
                }),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Invocations of the forward handler.
    pub batches: u64,
    /// Records delivered to it.
    pub records: u64,
}

/// Finds the shard holding `seq` (only that shard answers AT_SEQUENCE_NUMBER for it).
async fn shard_of(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    seq: &str,
) -> Result<String, HarnessError> {
    let shards = kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| HarnessError::aws("ListShards", e))?;
    for shard in shards.shards.unwrap_or_default() {
        let found = kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(&shard.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(seq)
            .send()
            .await;
        if found.is_ok() {
            return Ok(shard.shard_id);
        }
    }
    Err(HarnessError::NoShardHolds {
        stream: stream.to_owned(),
        sequence_number: seq.to_owned(),
    })
}

/// Re-reads `stream` from `from` through `handler` with a consumer of its own (fresh
/// checkpoints), until it has caught up. `on_progress` gets the records delivered so far.
#[allow(clippy::too_many_arguments)]
pub async fn replay_stream(
    kinesis: &aws_sdk_kinesis::Client,
    sqs: &aws_sdk_sqs::Client,
    stream: &str,
    base: KinesisMappingConfig,
    handler: Arc<dyn KinesisHandler>,
    hooks: Arc<dyn DeliveryHooks>,
    from: ReplayFrom,
    timeout: Duration,
    on_progress: impl Fn(u64),
) -> Result<ReplayReport, HarnessError> {
    let checkpoints = Arc::new(InMemoryCheckpoints::new());
    let starting_position = match &from {
        ReplayFrom::TrimHorizon => StartingPosition::TrimHorizon,
        ReplayFrom::Timestamp(t) => StartingPosition::AtTimestamp(*t),
        ReplayFrom::SequenceNumber(seq) => {
            // Fail early, with a clear message, for a number no shard holds.
            shard_of(kinesis, stream, seq).await?;
            StartingPosition::AtSequenceNumber(seq.clone())
        }
    };
    let config = KinesisMappingConfig {
        starting_position,
        ..base
    };
    let mapping = KinesisMapping::spawn(
        kinesis.clone(),
        sqs.clone(),
        stream.to_owned(),
        config,
        handler,
        checkpoints,
        hooks,
    )
    .await?;
    let deadline = Instant::now() + timeout;
    let waited = loop {
        // Short waits so progress can be reported while the consumer catches up.
        match mapping.wait_idle(Duration::from_millis(250)).await {
            Ok(()) => break Ok(()),
            Err(e) if Instant::now() >= deadline => break Err(e),
            Err(_) => on_progress(mapping.stats().records_delivered),
        }
    };
    let stats = mapping.stats();
    on_progress(stats.records_delivered);
    mapping.stop().await;
    waited.map_err(|e| HarnessError::DrainTimeout {
        waited: timeout,
        state: "the replay did not catch up".to_owned(),
        mapping: Some(e),
    })?;
    Ok(ReplayReport {
        batches: stats.batches_invoked,
        records: stats.records_delivered,
    })
}

/// Moves every message on the DLQ back to the queue. With `move_tasks` it uses SQS's own
/// StartMessageMoveTask (messages arrive as new messages); otherwise receive, send, delete.
/// `on_progress(moved, total)` reports as it goes. Returns how many were moved.
pub async fn redrive_dlq(
    sqs: &aws_sdk_sqs::Client,
    resources: &Provisioned,
    move_tasks: bool,
    timeout: Duration,
    on_progress: impl Fn(u64, u64),
) -> Result<u64, HarnessError> {
    if move_tasks {
        redrive_with_move_task(sqs, resources, timeout, on_progress).await
    } else {
        redrive_by_hand(sqs, resources, on_progress).await
    }
}

async fn redrive_with_move_task(
    sqs: &aws_sdk_sqs::Client,
    resources: &Provisioned,
    timeout: Duration,
    on_progress: impl Fn(u64, u64),
) -> Result<u64, HarnessError> {
    sqs.start_message_move_task()
        .source_arn(&resources.dlq_arn)
        .destination_arn(&resources.queue_arn)
        .send()
        .await
        .map_err(|e| HarnessError::aws("StartMessageMoveTask", e))?;
    let deadline = Instant::now() + timeout;
    loop {
        let tasks = sqs
            .list_message_move_tasks()
            .source_arn(&resources.dlq_arn)
            .send()
            .await
            .map_err(|e| HarnessError::aws("ListMessageMoveTasks", e))?;
        // Most recent first; AWS reports a TaskHandle only while a task runs.
        if let Some(task) = tasks.results.unwrap_or_default().into_iter().next() {
            let moved = task.approximate_number_of_messages_moved as u64;
            let total = task.approximate_number_of_messages_to_move.unwrap_or(0) as u64;
            on_progress(moved, total.max(moved));
            match task.status.as_deref() {
                Some("COMPLETED") => return Ok(moved),
                Some("FAILED") | Some("CANCELLED") => {
                    return Err(HarnessError::MoveTaskEnded {
                        status: task.status.unwrap_or_default(),
                        reason: task.failure_reason.unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::MoveTaskTimeout { waited: timeout });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn redrive_by_hand(
    sqs: &aws_sdk_sqs::Client,
    resources: &Provisioned,
    on_progress: impl Fn(u64, u64),
) -> Result<u64, HarnessError> {
    let total = super::inspect::queue_depth(sqs, &resources.dlq_url).await?;
    let mut moved = 0;
    let mut pages = super::inspect::QueuePages::new(sqs, &resources.dlq_url, None);
    while let Some(messages) = pages.next().await? {
        for m in messages {
            sqs.send_message()
                .queue_url(&resources.queue_url)
                .message_body(m.body.clone().unwrap_or_default())
                .set_message_attributes(m.message_attributes.clone())
                .send()
                .await
                .map_err(|e| HarnessError::aws("SendMessage", e))?;
            // Deleted only once it is safely on the queue: a failure here duplicates, never loses.
            if let Some(handle) = m.receipt_handle {
                sqs.delete_message()
                    .queue_url(&resources.dlq_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| HarnessError::aws("DeleteMessage", e))?;
            }
            moved += 1;
            on_progress(moved, total.max(moved));
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_positions_parse() {
        assert_eq!("trim-horizon".parse(), Ok(ReplayFrom::TrimHorizon));
        assert_eq!(
            "4900123".parse(),
            Ok(ReplayFrom::SequenceNumber("4900123".into()))
        );
        assert!(matches!(
            "2026-11-25T22:00:00Z".parse(),
            Ok(ReplayFrom::Timestamp(_))
        ));
        assert!(
            "yesterday"
                .parse::<ReplayFrom>()
                .unwrap_err()
                .contains("yesterday")
        );
    }
}
