//! How a mapping handle knows its mapping has caught up.
//!
//! Every poll (GetRecords, ReceiveMessage) takes a ticket from a counter before it starts. A
//! waiter notes the counter when it starts waiting and accepts "idle" only on evidence from a
//! poll that *started after* that moment: records put just before `wait_idle` can never be
//! mistaken for caught up by an empty poll that was already under way. State changes are
//! broadcast through a `watch` channel, so waiting costs nothing and works under a paused clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// A mapping did not become idle in time.
#[derive(Debug, thiserror::Error)]
#[error("mapping not idle after {waited:?}: {state}")]
pub struct IdleTimeout {
    /// How long the caller waited (tokio time).
    pub waited: Duration,
    /// What was still going on when the deadline passed.
    pub state: String,
    /// Why an SQS mapping's queue depth is unknown, when reading it failed (boxed: the SDK's
    /// error is large).
    #[source]
    pub depth_error: Option<Box<aws_sdk_sqs::Error>>,
}

#[derive(Debug)]
pub(crate) struct IdleTracker {
    tickets: AtomicU64,
    changed: watch::Sender<u64>,
}

impl Default for IdleTracker {
    fn default() -> Self {
        Self {
            tickets: AtomicU64::new(0),
            changed: watch::Sender::new(0),
        }
    }
}

impl IdleTracker {
    /// A ticket for a poll about to start; always greater than any earlier `current()`.
    pub(crate) fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn current(&self) -> u64 {
        self.tickets.load(Ordering::SeqCst)
    }

    /// Wakes waiters: something they look at may have changed.
    pub(crate) fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Waits until `idle(since)` holds, where `since` is the ticket counter at the start of the
    /// wait; `describe` says what is still busy if the timeout passes first.
    pub(crate) async fn wait(
        &self,
        timeout: Duration,
        idle: impl Fn(u64) -> bool,
        describe: impl Fn() -> String,
    ) -> Result<(), IdleTimeout> {
        let since = self.current();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if idle(since) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as `self`; a closed channel cannot happen here.
                Ok(Err(_)) | Err(_) => {
                    return Err(IdleTimeout {
                        waited: timeout,
                        state: describe(),
                        depth_error: None,
                    });
                }
            }
        }
    }
}
