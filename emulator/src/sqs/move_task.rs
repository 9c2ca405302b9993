//! Dead-letter redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
//!
//! A task moves the messages visible in a dead-letter queue when it starts, either to
//! `DestinationArn` or (without one) each back to the queue it came from
//! (`DeadLetterQueueSourceArn`). Moved messages are new messages: new id, new send time,
//! receive count 0 (AWS implements redrive as receive + send + delete).
//!
//! Without `MaxNumberOfMessagesPerSecond` the move completes within the call. With it, the
//! first batch moves within the call and the rest in the background at that rate (one batch
//! per second on the emulator's clock), so the task can be listed while RUNNING and cancelled.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::attributes::arn_name;
use super::errors::{invalid_parameter, missing_parameter, out_of_range, resource_not_found};
use super::queue::Message;
use super::shapes::{
    CancelMessageMoveTaskInput, ListMessageMoveTasksInput, MoveTaskShape, StartMessageMoveTaskInput,
};
use super::{QueueHandle, Shared};
use crate::clock::{Clock, Millis};
use crate::error::AwsError;
use crate::wire::{self, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Cancelled => "CANCELLED",
            Status::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone)]
struct MoveTask {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<u32>,
    started: Millis,
    to_move: u64,
    moved: u64,
    status: Status,
    failure_reason: Option<String>,
}

/// Every task ever started, oldest first (AWS lists recent tasks, newest first).
#[derive(Debug, Default)]
pub struct MoveTasks {
    tasks: Vec<MoveTask>,
}

impl MoveTasks {
    fn find(&mut self, handle: &str) -> Option<&mut MoveTask> {
        self.tasks.iter_mut().find(|t| t.handle == handle)
    }
}

/// A started task: its handle, and the background run when it is paced.
pub struct Started {
    pub task_handle: String,
    pub run: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

pub fn start(
    shared: &Arc<Shared>,
    input: StartMessageMoveTaskInput,
    ctx: &Ctx,
) -> Result<Started, AwsError> {
    let source_arn = input
        .source_arn
        .ok_or_else(|| missing_parameter("SourceArn"))?;
    let source = arn_name(&source_arn)
        .and_then(|name| shared.get(name))
        .ok_or_else(|| {
            resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
    let source_name = source.lock().name.clone();
    let is_dead_letter_queue = shared.all().iter().any(|h| {
        h.lock()
            .settings
            .redrive_policy
            .as_ref()
            .is_some_and(|p| p.target_name() == source_name)
    });
    if !is_dead_letter_queue {
        return Err(invalid_parameter(
            "Source queue must be configured as a Dead Letter Queue.",
        ));
    }
    let destination = match &input.destination_arn {
        None => None,
        Some(arn) => {
            let name = arn_name(arn).filter(|n| shared.exists(n)).ok_or_else(|| {
                resource_not_found(
                    "The resource that you specified for the DestinationArn parameter doesn't exist.",
                )
            })?;
            if name == source_name {
                return Err(invalid_parameter(
                    "The source queue and the destination queue must be different.",
                ));
            }
            Some(name.to_owned())
        }
    };
    let rate = match input.max_number_of_messages_per_second {
        None => None,
        Some(n @ 1..=500) => Some(n as u32),
        Some(n) => {
            return Err(out_of_range(
                "MaxNumberOfMessagesPerSecond",
                n,
                "Must be between 1 and 500, if provided.",
            ));
        }
    };
    let to_move = source.lock().counts(ctx.now).visible as u64;
    let task_handle = B64.encode(
        json!({ "taskId": uuid::Uuid::new_v4().to_string(), "sourceArn": source_arn }).to_string(),
    );
    {
        let mut moves = shared.moves();
        if moves
            .tasks
            .iter()
            .any(|t| t.source_arn == source_arn && t.status == Status::Running)
        {
            return Err(invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source \
                 queue arn at a given time.",
            ));
        }
        moves.tasks.push(MoveTask {
            handle: task_handle.clone(),
            source_arn,
            destination_arn: input.destination_arn,
            rate,
            started: ctx.now,
            to_move,
            moved: 0,
            status: Status::Running,
            failure_reason: None,
        });
    }
    let mover = Mover {
        shared: shared.clone(),
        task: task_handle.clone(),
        source,
        destination,
    };
    // The first batch moves within the call; a paced task continues once a second.
    let running = mover.step(rate.map_or(usize::MAX, |r| r as usize), ctx.now);
    let run = match rate {
        Some(rate) if running => {
            let run: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                Box::pin(mover.run_paced(rate, ctx.clock.clone(), ctx.now));
            Some(run)
        }
        _ => None,
    };
    Ok(Started { task_handle, run })
}

/// Moves one task's messages.
struct Mover {
    shared: Arc<Shared>,
    task: String,
    source: Arc<QueueHandle>,
    /// The explicit destination; `None` sends each message back to its source queue.
    destination: Option<String>,
}

impl Mover {
    async fn run_paced(self, rate: u32, clock: Clock, started: Millis) {
        let mut next = started;
        loop {
            next += 1000;
            tokio::time::sleep_until(clock.instant_at(next)).await;
            if !self.step(rate as usize, clock.now_ms()) {
                return;
            }
        }
    }

    /// Moves up to `limit` messages (no more than the task still has to move); returns
    /// whether the task is still running afterwards.
    fn step(&self, limit: usize, now: Millis) -> bool {
        let remaining = {
            let mut moves = self.shared.moves();
            match moves.find(&self.task) {
                Some(t) if t.status == Status::Running => t.to_move.saturating_sub(t.moved),
                _ => return false,
            }
        };
        let limit = limit.min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let messages = self.source.lock().take_visible(limit, now);
        let exhausted = messages.len() < limit;

        // Group by destination; a message whose destination is unknown (or gone) stays.
        let mut by_destination: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        let mut unmovable = Vec::new();
        for message in messages {
            let destination = self.destination.clone().or_else(|| {
                message
                    .dead_letter_source_arn
                    .as_deref()
                    .and_then(arn_name)
                    .map(str::to_owned)
            });
            match destination {
                Some(name) => by_destination.entry(name).or_default().push(message),
                None => unmovable.push(message),
            }
        }
        let mut moved = 0u64;
        // A destination deleted since: AWS fails the task with the queue's error code.
        let mut destination_gone = false;
        for (name, messages) in by_destination {
            let Some(destination) = self.shared.get(&name) else {
                destination_gone = true;
                unmovable.extend(messages);
                continue;
            };
            let mut queue = destination.lock();
            let delay = queue.settings.delay_seconds;
            for message in messages {
                let resent = Message::new(message.content.resent(now));
                match (&message.fifo, queue.settings.fifo) {
                    (Some(ids), true) => {
                        queue.send_sequenced(resent, ids.deduplication_id.clone(), delay, now);
                    }
                    _ => queue.send(resent, delay, now),
                }
                moved += 1;
            }
            drop(queue);
            destination.wake_receivers();
        }
        let failed = !unmovable.is_empty();
        if failed {
            let mut source = self.source.lock();
            for message in unmovable {
                source.accept_dead_letter(message, now);
            }
        }

        let mut moves = self.shared.moves();
        let Some(task) = moves.find(&self.task) else {
            return false;
        };
        task.moved += moved;
        if task.status != Status::Running {
            return false;
        }
        if failed {
            task.status = Status::Failed;
            task.failure_reason = Some(if destination_gone {
                "AWS.SimpleQueueService.NonExistentQueue".into()
            } else {
                "CouldNotDetermineMessageSource".into()
            });
        } else if exhausted || task.moved >= task.to_move {
            task.status = Status::Completed;
        }
        task.status == Status::Running
    }
}

pub fn list(s: &Shared, input: ListMessageMoveTasksInput) -> Result<Value, AwsError> {
    let source_arn = input
        .source_arn
        .ok_or_else(|| missing_parameter("SourceArn"))?;
    if !arn_name(&source_arn).is_some_and(|name| s.exists(name)) {
        return Err(resource_not_found(
            "The resource that you specified for the SourceArn parameter doesn't exist.",
        ));
    }
    let max = match input.max_results {
        None => 1,
        Some(n @ 1..=10) => n as usize,
        Some(n) => {
            return Err(out_of_range(
                "MaxResults",
                n,
                "Must be between 1 and 10, if provided.",
            ));
        }
    };
    let results: Vec<MoveTaskShape> = s
        .moves()
        .tasks
        .iter()
        .rev()
        .filter(|t| t.source_arn == source_arn)
        .take(max)
        .map(|t| MoveTaskShape {
            // AWS returns the handle only while the task can still be cancelled.
            task_handle: (t.status == Status::Running).then(|| t.handle.clone()),
            status: t.status.name().into(),
            source_arn: t.source_arn.clone(),
            destination_arn: t.destination_arn.clone(),
            max_number_of_messages_per_second: t.rate,
            approximate_number_of_messages_moved: t.moved,
            approximate_number_of_messages_to_move: t.to_move,
            failure_reason: t.failure_reason.clone(),
            started_timestamp: t.started,
        })
        .collect();
    Ok(json!({ "Results": wire::to_value(&results) }))
}

pub fn cancel(s: &Shared, input: CancelMessageMoveTaskInput) -> Result<Value, AwsError> {
    let handle = input
        .task_handle
        .ok_or_else(|| missing_parameter("TaskHandle"))?;
    // A handle is base64 JSON naming the task's source queue (as AWS's handles are).
    let source_arn = B64
        .decode(handle.as_bytes())
        .ok()
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .and_then(|v| v.get("sourceArn")?.as_str().map(str::to_owned))
        .ok_or_else(|| invalid_parameter("Value for parameter TaskHandle is invalid."))?;
    if !arn_name(&source_arn).is_some_and(|name| s.exists(name)) {
        return Err(resource_not_found(
            "The resource that you specified for the SourceArn parameter doesn't exist.",
        ));
    }
    let mut moves = s.moves();
    let task = moves
        .find(&handle)
        .ok_or_else(|| resource_not_found("Task does not exist."))?;
    if task.status != Status::Running {
        return Err(resource_not_found(format!(
            "Task is {} and can no longer be cancelled.",
            task.status.name()
        )));
    }
    task.status = Status::Cancelled;
    Ok(json!({ "ApproximateNumberOfMessagesMoved": task.moved }))
}
