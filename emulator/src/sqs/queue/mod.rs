//! One queue's state, standard or FIFO, sans-io: every method takes `now` (epoch ms) and
//! nothing waits. A FIFO queue also keeps its deduplication ids for 5 minutes, numbers what
//! it accepts, and holds back a message group while one of its messages is in flight.
//!
//! Messages live in one map by sequence number; each is in exactly one of three ordered
//! sets, so a receive touches only what it returns and whatever has just changed state:
//! - `visible`: ready to receive, oldest first;
//! - `delayed`: `(visible_at, seq)`, sent with a delay;
//! - `inflight`: `(visible_again_at, seq)`, received and not yet deleted.
//!
//! `by_sent` orders all of them by send time for retention. [`Queue::advance`] moves what
//! `now` has released (and drops what retention expired) before any operation reads them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::attributes::QueueSettings;
use super::message::Content;
use crate::clock::Millis;

mod receipt;
#[cfg(test)]
mod tests;

pub use receipt::HandleError;

/// At most this many received, undeleted messages per standard queue (AWS's quota).
pub const MAX_IN_FLIGHT: usize = 120_000;

/// The longest a message may stay hidden after a receive: 12 hours.
const MAX_VISIBILITY_MS: Millis = 43_200_000;

/// A message in a queue: its content and what SQS tracks about its deliveries.
#[derive(Debug, Clone)]
pub struct Message {
    pub content: Arc<Content>,
    pub receive_count: u32,
    pub first_receive: Option<Millis>,
    /// When the latest receive happened (a visibility change may not hide the message for
    /// more than 12 hours after it).
    pub last_receive: Option<Millis>,
    /// Set when a redrive policy moved the message here: the ARN of the queue it left.
    pub dead_letter_source_arn: Option<String>,
    /// FIFO only: the deduplication id it was accepted under, and its `SequenceNumber`.
    pub fifo: Option<FifoIds>,
}

/// What a FIFO queue assigns a message it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoIds {
    pub deduplication_id: String,
    /// A 20-digit decimal, increasing per queue.
    pub sequence_number: String,
}

/// The answer to a FIFO send: the message's ids, or those of the message its deduplication
/// id already names (a duplicate within 5 minutes is accepted but not enqueued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoAccepted {
    pub message_id: String,
    pub sequence_number: String,
}

/// How long a FIFO queue remembers a deduplication id: 5 minutes.
const DEDUPLICATION_WINDOW_MS: Millis = 300_000;

impl Message {
    pub fn new(content: Arc<Content>) -> Self {
        Self {
            content,
            receive_count: 0,
            first_receive: None,
            last_receive: None,
            dead_letter_source_arn: None,
            fifo: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Visible,
    Delayed(Millis),
    InFlight(Millis),
}

#[derive(Debug)]
struct Stored {
    message: Message,
    state: State,
}

/// A message handed out by a receive: a snapshot of it plus the handle for this receive.
#[derive(Debug, Clone)]
pub struct Received {
    pub message: Message,
    pub receipt_handle: String,
}

/// What one receive produced: deliveries, and messages its redrive policy moved out.
#[derive(Debug, Default)]
pub struct ReceiveOutcome {
    pub received: Vec<Received>,
    /// Messages for the dead-letter queue named in the redrive policy (the caller delivers
    /// them with [`Queue::accept_dead_letter`], so this queue's lock is never held with another).
    pub dead_letters: Vec<Message>,
    /// The queue already holds [`MAX_IN_FLIGHT`] received messages, so nothing more could be
    /// handed out (AWS answers a short poll with `OverLimit`, a long poll with nothing).
    pub over_limit: bool,
}

/// The approximate counts `GetQueueAttributes` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
}

#[derive(Debug)]
pub struct Queue {
    pub name: String,
    pub arn: String,
    pub settings: QueueSettings,
    /// Epoch ms.
    pub created: Millis,
    pub last_modified: Millis,
    pub tags: BTreeMap<String, String>,
    /// [`MAX_IN_FLIGHT`]; a field so that tests can reach it with a few messages.
    in_flight_limit: usize,
    /// Distinguishes this queue's receipt handles from those of any other queue, including
    /// an earlier queue of the same name.
    nonce: u64,
    next_seq: u64,
    messages: HashMap<u64, Stored>,
    visible: BTreeSet<u64>,
    delayed: BTreeSet<(Millis, u64)>,
    inflight: BTreeSet<(Millis, u64)>,
    by_sent: BTreeSet<(Millis, u64)>,
    last_purge: Option<Millis>,
    /// FIFO: the last sequence number handed out.
    sequence: u128,
    /// FIFO: deduplication key -> (accepted at, what the send answered), for 5 minutes;
    /// `dedup_order` expires them oldest first. Kept after the message is deleted.
    dedup: HashMap<String, (Millis, FifoAccepted)>,
    dedup_order: std::collections::VecDeque<(Millis, String)>,
}

impl Queue {
    pub fn new(name: String, arn: String, settings: QueueSettings, now: Millis) -> Self {
        Self {
            name,
            arn,
            settings,
            created: now,
            last_modified: now,
            tags: BTreeMap::new(),
            in_flight_limit: MAX_IN_FLIGHT,
            nonce: rand::random(),
            next_seq: 0,
            messages: HashMap::new(),
            visible: BTreeSet::new(),
            delayed: BTreeSet::new(),
            inflight: BTreeSet::new(),
            by_sent: BTreeSet::new(),
            last_purge: None,
            sequence: 10_000_000_000_000_000_000,
            dedup: HashMap::new(),
            dedup_order: std::collections::VecDeque::new(),
        }
    }

    /// Enqueues a message, visible after `delay_seconds`.
    pub fn send(&mut self, message: Message, delay_seconds: u32, now: Millis) {
        self.advance(now);
        let state = if delay_seconds == 0 {
            State::Visible
        } else {
            State::Delayed(now + Millis::from(delay_seconds) * 1000)
        };
        self.insert(message, state);
    }

    /// Enqueues a message into a FIFO queue under `deduplication_id` (already scoped by
    /// group when the queue deduplicates per group): a duplicate within 5 minutes of the
    /// first is accepted, with the first's answer, and not enqueued again.
    pub fn send_fifo(
        &mut self,
        message: Message,
        deduplication_id: String,
        scope_key: String,
        delay_seconds: u32,
        now: Millis,
    ) -> FifoAccepted {
        self.advance(now);
        while let Some((at, _)) = self.dedup_order.front() {
            if now - at < DEDUPLICATION_WINDOW_MS {
                break;
            }
            if let Some((_, key)) = self.dedup_order.pop_front()
                && self
                    .dedup
                    .get(&key)
                    .is_some_and(|(at, _)| now - at >= DEDUPLICATION_WINDOW_MS)
            {
                self.dedup.remove(&key);
            }
        }
        if let Some((_, accepted)) = self.dedup.get(&scope_key) {
            return accepted.clone();
        }
        let accepted = self.send_sequenced(message, deduplication_id, delay_seconds, now);
        self.dedup
            .insert(scope_key.clone(), (now, accepted.clone()));
        self.dedup_order.push_back((now, scope_key));
        accepted
    }

    /// Enqueues into a FIFO queue with the next sequence number and no deduplication check
    /// (a message move task returning a message to its FIFO source).
    pub fn send_sequenced(
        &mut self,
        mut message: Message,
        deduplication_id: String,
        delay_seconds: u32,
        now: Millis,
    ) -> FifoAccepted {
        self.sequence += 1;
        let accepted = FifoAccepted {
            message_id: message.content.id.clone(),
            sequence_number: format!("{:020}", self.sequence),
        };
        message.fifo = Some(FifoIds {
            deduplication_id,
            sequence_number: accepted.sequence_number.clone(),
        });
        self.send(message, delay_seconds, now);
        accepted
    }

    /// Takes in a message a redrive policy moved here: visible at once, send time kept
    /// (a standard queue's retention counts from the original send).
    pub fn accept_dead_letter(&mut self, message: Message, now: Millis) {
        self.advance(now);
        if self.expired(&message, now) {
            return;
        }
        self.insert(message, State::Visible);
    }

    fn insert(&mut self, message: Message, state: State) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_sent.insert((message.content.sent, seq));
        match state {
            State::Visible => {
                self.visible.insert(seq);
            }
            State::Delayed(at) => {
                self.delayed.insert((at, seq));
            }
            State::InFlight(at) => {
                self.inflight.insert((at, seq));
            }
        }
        self.messages.insert(seq, Stored { message, state });
    }

    /// Receives up to `max` visible messages, hiding each for `visibility_timeout` seconds.
    ///
    /// A message whose receive count already reached the redrive policy's `maxReceiveCount`
    /// is not delivered again: it goes to `dead_letters` instead (if `dlq_exists` says the
    /// policy's target is there; otherwise it is delivered as if there were no policy).
    pub fn receive(
        &mut self,
        max: usize,
        visibility_timeout: u32,
        now: Millis,
        dlq_exists: impl Fn(&str) -> bool,
    ) -> ReceiveOutcome {
        self.advance(now);
        let mut outcome = ReceiveOutcome::default();
        let redrive = self
            .settings
            .redrive_policy
            .as_ref()
            .filter(|p| p.target_name() != self.name && dlq_exists(p.target_name()))
            .map(|p| p.max_receive_count);
        let hidden_until = now + Millis::from(visibility_timeout) * 1000;
        // FIFO: a group with a message in flight is held back until that message is deleted
        // or visible again, so a group's messages are processed in order, one batch at a time.
        let blocked: std::collections::HashSet<String> = if self.settings.fifo {
            self.inflight
                .iter()
                .filter_map(|(_, seq)| {
                    self.messages
                        .get(seq)?
                        .message
                        .content
                        .message_group_id
                        .clone()
                })
                .collect()
        } else {
            Default::default()
        };
        while outcome.received.len() < max {
            if self.inflight.len() >= self.in_flight_limit {
                outcome.over_limit = !self.visible.is_empty();
                break;
            }
            let next = if blocked.is_empty() {
                self.visible.first().copied()
            } else {
                self.visible.iter().copied().find(|seq| {
                    self.messages
                        .get(seq)
                        .and_then(|s| s.message.content.message_group_id.as_ref())
                        .is_none_or(|group| !blocked.contains(group))
                })
            };
            let Some(seq) = next else {
                break;
            };
            self.visible.remove(&seq);
            let Some(stored) = self.messages.get_mut(&seq) else {
                continue;
            };
            if redrive.is_some_and(|limit| stored.message.receive_count >= limit) {
                if let Some(mut stored) = self.messages.remove(&seq) {
                    self.release_capacity();
                    self.by_sent.remove(&(stored.message.content.sent, seq));
                    stored.message.dead_letter_source_arn = Some(self.arn.clone());
                    outcome.dead_letters.push(stored.message);
                }
                continue;
            }
            stored.message.receive_count += 1;
            stored.message.first_receive.get_or_insert(now);
            stored.message.last_receive = Some(now);
            stored.state = State::InFlight(hidden_until);
            self.inflight.insert((hidden_until, seq));
            outcome.received.push(Received {
                receipt_handle: receipt::encode(self.nonce, seq, stored.message.receive_count),
                message: stored.message.clone(),
            });
        }
        outcome
    }

    /// Deletes the message a receipt handle names. A well-formed handle for a message that is
    /// gone, or from an earlier receive of a message received again since, changes nothing
    /// (AWS answers success; the newer receiver still owns the message).
    pub fn delete(&mut self, handle: &str, now: Millis) -> Result<(), HandleError> {
        self.advance(now);
        let (seq, count) = receipt::decode(handle, self.nonce)?;
        let current = self
            .messages
            .get(&seq)
            .is_some_and(|s| s.message.receive_count == count);
        if current {
            self.remove(seq);
        }
        Ok(())
    }

    /// Sets when a received message becomes visible again: `now + timeout`, at most 12 hours
    /// after its latest receive. As on AWS, any handle of the message will do (also one from
    /// an earlier receive) and the message need not be in flight any more (its visibility
    /// timeout expired and nobody received it since); only a deleted message is an error.
    pub fn change_visibility(
        &mut self,
        handle: &str,
        timeout: u32,
        now: Millis,
    ) -> Result<(), HandleError> {
        self.advance(now);
        let (seq, _) = receipt::decode(handle, self.nonce)?;
        let Some(stored) = self.messages.get_mut(&seq) else {
            return Err(HandleError::Gone);
        };
        let received = stored.message.last_receive.unwrap_or(now);
        if now + Millis::from(timeout) * 1000 - received > MAX_VISIBILITY_MS {
            return Err(HandleError::BeyondVisibilityLimit);
        }
        match stored.state {
            State::InFlight(until) => {
                self.inflight.remove(&(until, seq));
            }
            State::Visible => {
                self.visible.remove(&seq);
            }
            // A received message is never delayed again.
            State::Delayed(_) => return Err(HandleError::Gone),
        }
        if timeout == 0 {
            stored.state = State::Visible;
            self.visible.insert(seq);
        } else {
            let at = now + Millis::from(timeout) * 1000;
            stored.state = State::InFlight(at);
            self.inflight.insert((at, seq));
        }
        Ok(())
    }

    /// Deletes every message. AWS allows one purge per queue every 60 seconds.
    pub fn purge(&mut self, now: Millis) -> Result<(), PurgeInProgress> {
        if self.last_purge.is_some_and(|at| now - at < 60_000) {
            return Err(PurgeInProgress);
        }
        self.last_purge = Some(now);
        self.messages.clear();
        self.visible.clear();
        self.delayed.clear();
        self.inflight.clear();
        self.by_sent.clear();
        Ok(())
    }

    /// Removes up to `max` visible messages (a message move task takes them).
    pub fn take_visible(&mut self, max: usize, now: Millis) -> Vec<Message> {
        self.advance(now);
        let mut taken = Vec::new();
        while taken.len() < max {
            let Some(&seq) = self.visible.first() else {
                break;
            };
            match self.remove(seq) {
                Some(message) => taken.push(message),
                None => {
                    self.visible.remove(&seq);
                }
            }
        }
        taken
    }

    pub fn counts(&mut self, now: Millis) -> Counts {
        self.advance(now);
        Counts {
            visible: self.visible.len(),
            in_flight: self.inflight.len(),
            delayed: self.delayed.len(),
        }
    }

    /// The next time a message becomes visible by itself (delay or visibility timeout
    /// ending), so a long poll knows when to look again.
    pub fn next_change(&self) -> Option<Millis> {
        let delayed = self.delayed.first().map(|&(at, _)| at);
        let inflight = self.inflight.first().map(|&(at, _)| at);
        delayed.into_iter().chain(inflight).min()
    }

    /// Applies the passage of time: retention, delays ending, visibility timeouts ending.
    pub fn advance(&mut self, now: Millis) {
        let retention = Millis::from(self.settings.message_retention_period) * 1000;
        while let Some(&(sent, seq)) = self.by_sent.first() {
            if sent + retention > now {
                break;
            }
            self.remove(seq);
        }
        while let Some(&(at, seq)) = self.delayed.first() {
            if at > now {
                break;
            }
            self.delayed.pop_first();
            self.make_visible(seq);
        }
        while let Some(&(at, seq)) = self.inflight.first() {
            if at > now {
                break;
            }
            self.inflight.pop_first();
            self.make_visible(seq);
        }
    }

    fn make_visible(&mut self, seq: u64) {
        if let Some(stored) = self.messages.get_mut(&seq) {
            stored.state = State::Visible;
            self.visible.insert(seq);
        }
    }

    fn expired(&self, message: &Message, now: Millis) -> bool {
        message.content.sent + Millis::from(self.settings.message_retention_period) * 1000 <= now
    }

    /// Gives back the message map's room once a backlog has drained (a hash map keeps its
    /// peak capacity otherwise): memory follows what the queue holds. Amortised O(1): it
    /// rehashes only when three quarters of the room is empty.
    fn release_capacity(&mut self) {
        let (len, capacity) = (self.messages.len(), self.messages.capacity());
        if capacity > 64 && len < capacity / 4 {
            self.messages.shrink_to(len * 2);
        }
    }

    /// Removes a message from the map and whichever set holds it.
    fn remove(&mut self, seq: u64) -> Option<Message> {
        let stored = self.messages.remove(&seq)?;
        self.release_capacity();
        self.by_sent.remove(&(stored.message.content.sent, seq));
        match stored.state {
            State::Visible => self.visible.remove(&seq),
            State::Delayed(at) => self.delayed.remove(&(at, seq)),
            State::InFlight(at) => self.inflight.remove(&(at, seq)),
        };
        Some(stored.message)
    }
}

/// A purge within 60 seconds of the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeInProgress;
