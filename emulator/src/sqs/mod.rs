//! Amazon SQS (standard and FIFO queues) over its JSON protocol (`AmazonSQS.<Op>`, awsJson1_0)
//! and its awsQuery protocol ([`crate::wire::query`], decoded into the same inputs).
//!
//! Layout:
//! - `mod.rs` (here): [`Sqs`], the queue registry and operation dispatch;
//! - [`queue`]: one queue's state, sans-io (visibility, delays, receive counts, redrive, retention);
//! - `admin`: queue operations (create, attributes, list, delete, purge, tags);
//! - `messaging`: send, receive (with long polling), delete, change visibility;
//! - `batch`: the batch forms of those;
//! - `move_task`: dead-letter redrive (StartMessageMoveTask and friends);
//! - `message`, `attributes`, `md5`, `shapes`, `errors`: validation, digests, wire shapes.
//!
//! Locks: the registry is an `RwLock<HashMap>` taken only to look a queue up; each queue has
//! its own `Mutex`, so SendMessage and ReceiveMessage take one map read and one queue lock.
//! **Lock order:** a queue lock may be held while reading the registry (a receive checks that
//! its dead-letter queue exists), never the other way round, and never two queue locks at once.

mod admin;
mod attributes;
mod batch;
mod errors;
mod md5;
mod message;
mod messaging;
mod move_task;
mod queue;
mod shapes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::clock::Millis;
use crate::error::AwsError;
use crate::wire::{self, Ctx, Service};
use queue::Queue;

/// SQS settings. `Default` follows AWS today.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// The largest message (and batch) in bytes, and the upper bound and default of a queue's
    /// `MaximumMessageSize`: 1 MiB (1,048,576) since 2025, 256 KiB (262,144) before.
    pub max_message_size: u32,
}

impl Default for SqsConfig {
    fn default() -> Self {
        Self {
            max_message_size: 1_048_576,
        }
    }
}

/// The SQS service: a registry of queues and the message move tasks.
pub struct Sqs {
    shared: Arc<Shared>,
    /// Paced message move tasks; dropping the service aborts them.
    tasks: Mutex<JoinSet<()>>,
}

/// State shared with spawned move tasks.
struct Shared {
    config: SqsConfig,
    queues: RwLock<HashMap<String, Arc<QueueHandle>>>,
    /// When each queue name was last deleted: AWS refuses to recreate it for 60 seconds.
    deleted_at: Mutex<HashMap<String, Millis>>,
    moves: Mutex<move_task::MoveTasks>,
}

/// One queue: its state behind its own lock, and the wake-up for long polls waiting on it.
struct QueueHandle {
    state: Mutex<Queue>,
    /// Signalled whenever a message may have become receivable (send, visibility change,
    /// dead letter or redrive arrival, queue deletion); long polls re-check on it.
    notify: Notify,
    deleted: AtomicBool,
    /// A FIFO queue (fixed at creation, so read without the lock).
    fifo: bool,
}

impl QueueHandle {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake_receivers(&self) {
        self.notify.notify_waiters();
    }

    fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }
}

impl Shared {
    fn get(&self, name: &str) -> Option<Arc<QueueHandle>> {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn exists(&self, name: &str) -> bool {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(name)
    }

    /// The queue a `QueueUrl` names: by its last path segment, whatever the host.
    fn by_url(&self, url: Option<&str>) -> Result<Arc<QueueHandle>, AwsError> {
        let url = url.ok_or_else(|| errors::missing_parameter("QueueUrl"))?;
        let name = url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        self.get(name).ok_or_else(errors::queue_does_not_exist)
    }

    /// All queues, taken out of the registry so that they can be locked one by one.
    fn all(&self) -> Vec<Arc<QueueHandle>> {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn moves(&self) -> MutexGuard<'_, move_task::MoveTasks> {
        self.moves.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `http://{host}/{account}/{name}`, the URL clients address a queue by.
fn queue_url(ctx: &Ctx, name: &str) -> String {
    format!("http://{}/{}/{}", ctx.host, ctx.account, name)
}

fn queue_arn(ctx: &Ctx, name: &str) -> String {
    format!("arn:aws:sqs:{}:{}:{}", ctx.region, ctx.account, name)
}

impl Sqs {
    pub fn new(config: SqsConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                queues: RwLock::new(HashMap::new()),
                deleted_at: Mutex::new(HashMap::new()),
                moves: Mutex::new(move_task::MoveTasks::default()),
            }),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Answers one SQS operation.
    pub async fn call(&self, op: &str, body: &[u8], ctx: &Ctx) -> Result<Value, AwsError> {
        let s = &*self.shared;
        match op {
            "CreateQueue" => admin::create_queue(s, wire::parse(body)?, ctx),
            "GetQueueUrl" => admin::get_queue_url(s, wire::parse(body)?, ctx),
            "GetQueueAttributes" => admin::get_queue_attributes(s, wire::parse(body)?, ctx),
            "SetQueueAttributes" => admin::set_queue_attributes(s, wire::parse(body)?, ctx),
            "ListQueues" => admin::list_queues(s, wire::parse(body)?, ctx),
            "DeleteQueue" => admin::delete_queue(s, wire::parse(body)?, ctx),
            "PurgeQueue" => admin::purge_queue(s, wire::parse(body)?, ctx),
            "ListDeadLetterSourceQueues" => {
                admin::list_dead_letter_source_queues(s, wire::parse(body)?, ctx)
            }
            "TagQueue" => admin::tag_queue(s, wire::parse(body)?),
            "UntagQueue" => admin::untag_queue(s, wire::parse(body)?),
            "ListQueueTags" => admin::list_queue_tags(s, wire::parse(body)?),
            "SendMessage" => messaging::send_message(s, wire::parse(body)?, ctx),
            "ReceiveMessage" => messaging::receive_message(s, wire::parse(body)?, ctx).await,
            "DeleteMessage" => messaging::delete_message(s, wire::parse(body)?, ctx),
            "ChangeMessageVisibility" => {
                messaging::change_message_visibility(s, wire::parse(body)?, ctx)
            }
            "SendMessageBatch" => batch::send_message_batch(s, wire::parse(body)?, ctx),
            "DeleteMessageBatch" => batch::delete_message_batch(s, wire::parse(body)?, ctx),
            "ChangeMessageVisibilityBatch" => {
                batch::change_message_visibility_batch(s, wire::parse(body)?, ctx)
            }
            "StartMessageMoveTask" => {
                let paced = move_task::start(&self.shared, wire::parse(body)?, ctx)?;
                let handle = paced.task_handle.clone();
                if let Some(run) = paced.run {
                    let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
                    while tasks.try_join_next().is_some() {}
                    tasks.spawn(run);
                }
                Ok(serde_json::json!({ "TaskHandle": handle }))
            }
            "ListMessageMoveTasks" => move_task::list(s, wire::parse(body)?),
            "CancelMessageMoveTask" => move_task::cancel(s, wire::parse(body)?),
            _ => Err(wire::unknown_operation(Service::Sqs, op)),
        }
    }
}
