//! The four invariants, checked on what a run left behind. Every violation is collected, and
//! a failure prints them with a per-event ledger, so a shrunk case explains itself.
//!
//! Words used below: a *copy* is a record the stream holds for an event (a producer retry or
//! a lost PutRecord response makes more than one); a *send* is a SendMessage the backend
//! applied (it succeeded, or its response was lost), to the queue or to the DLQ: each made
//! exactly one message, so sends count how often a copy of the event left the forward handler. A DLQ message is *forward-stage* when the forwarder
//! sent it (`failure.stage=forward`) and *redriven* when the queue moved it there after 3
//! receives (SQS moves a message unchanged, so it has no failure attributes). The DLQ is never
//! faulted, so `queue sends = sends - forward-stage messages`.

use std::collections::BTreeMap;
use std::fmt::Write;

use pipeline::Envelope;
use pipeline::item::to_item;

use super::case::Case;
use super::expect::{Expectation, expectation};
use super::observe::{Observed, sequence_key};

/// One event's ledger.
#[derive(Debug)]
struct Ledger {
    accepted: bool,
    copies: usize,
    sends: usize,
    writes: usize,
    in_table: bool,
    /// Forward-stage DLQ messages.
    dlq_forward: usize,
    /// Redriven DLQ messages.
    dlq_redriven: usize,
    redelivered: bool,
    expect: Expectation,
}

pub fn check(case: &Case, o: &Observed) -> anyhow::Result<()> {
    let mut v: Vec<String> = Vec::new();
    replay_changes_nothing_stored(o, &mut v);
    let mut ledgers = BTreeMap::new();
    for id in case.ids() {
        let expect = expectation(case, &id);
        let ledger = Ledger {
            accepted: o.accepted(&id),
            copies: o.copies(&id).len(),
            sends: o.sends(&id),
            writes: o.writes(&id),
            in_table: o.items.contains_key(&id),
            dlq_forward: o.dlq_count(&id, Some("forward")),
            dlq_redriven: o.dlq_count(&id, None),
            redelivered: o.redelivered_by_fault(&id) || case.reforwards() || expect.resent,
            expect,
        };
        nothing_lost_nothing_doubled(&id, &ledger, &mut v);
        dead_letters_only_beyond_a_budget(&id, &ledger, &mut v);
        stored_as_accepted(case, o, &id, &mut v);
        ledgers.insert(id, ledger);
    }
    accepted_means_on_the_stream(o, &mut v);
    no_strangers(case, o, &mut v);
    counts_agree(o, &mut v);
    first_attempts_keep_shard_order(o, &mut v);
    if v.is_empty() {
        return Ok(());
    }
    let mut report = String::from("invariants violated:\n");
    for line in &v {
        let _ = writeln!(report, "  - {line}");
    }
    let _ = writeln!(report, "ledger per event:");
    for (id, l) in &ledgers {
        let _ = writeln!(report, "  {id}: {l:?}");
    }
    let _ = writeln!(report, "ingest answers:");
    for (id, outcome) in &o.outcomes {
        let _ = writeln!(report, "  {id}: {} {}", outcome.status, outcome.body);
    }
    let _ = writeln!(report, "faults fired: {:?}", o.fired);
    let _ = writeln!(report, "counts: {:?}", o.counts);
    anyhow::bail!(report)
}

impl Ledger {
    fn dlq(&self) -> usize {
        self.dlq_forward + self.dlq_redriven
    }

    /// Successful sends to the queue: each made one message there.
    fn queue_sends(&self) -> usize {
        self.sends.saturating_sub(self.dlq_forward)
    }
}

/// Invariant 1: an event the stream holds (every accepted one, and the copies of a 503 whose
/// PutRecord was applied but its response lost) is in the table or on the DLQ. It is written
/// exactly once (one PutItem succeeded; the condition refused every other). Each message on
/// the queue ends stored (or refused as a duplicate) or redriven, never both, so
/// `in table + redriven <= queue sends`; hence an event is in both the table and the DLQ
/// only if more than one copy of it left the forward handler (`sends >= 2`). A copy leaves
/// it more often than the stream holds copies only when the consumer re-delivered a batch
/// holding it (a delivery fault that fired on it, a crash, or a replay), or when the
/// forwarder retried a send whose response was lost.
fn nothing_lost_nothing_doubled(id: &str, l: &Ledger, v: &mut Vec<String>) {
    if l.copies > 0 && !l.in_table && l.dlq() == 0 {
        v.push(format!(
            "[1] {id} lost: the stream holds {} copies, yet it is neither stored nor dead-lettered (accepted: {})",
            l.copies, l.accepted
        ));
    }
    let expected_writes = usize::from(l.in_table);
    if l.writes != expected_writes {
        v.push(format!(
            "[1] {id} written {} times by a successful PutItem (in table: {})",
            l.writes, l.in_table
        ));
    }
    if l.dlq_forward > l.sends || usize::from(l.in_table) + l.dlq_redriven > l.queue_sends() {
        v.push(format!(
            "[1] {id} ends in more places than it was sent to: table {}, redriven {}, forward-stage DLQ {}, sends {}",
            l.in_table, l.dlq_redriven, l.dlq_forward, l.sends
        ));
    }
    if l.in_table && l.dlq() > 0 && l.sends < 2 {
        v.push(format!(
            "[1] {id} is both stored and dead-lettered, from a single send"
        ));
    }
    if l.sends < l.copies {
        v.push(format!(
            "[1] {id}: {} copies on the stream but only {} sends",
            l.copies, l.sends
        ));
    }
    if l.sends > l.copies && !l.redelivered {
        v.push(format!(
            "[1] {id} sent {} times from {} copies without any re-delivery",
            l.sends, l.copies
        ));
    }
}

/// Invariant 2: an event is on the DLQ only if the plan let its faults exceed a budget, on
/// the side that put it there: forward-stage only if its SendMessage faults can fail 3
/// attempts in a row or one non-retryably; redriven only if its PutItem faults can fail 9
/// (3 receives of 3 attempts). If they certainly exceed it, it is there: SendMessage failing
/// always, or on its first 3 attempts (no crash in the case), puts a forward-stage message
/// on the DLQ; PutItem failing always redrives every message of it that reached the queue.
/// Whatever always fails keeps it out of the table.
fn dead_letters_only_beyond_a_budget(id: &str, l: &Ledger, v: &mut Vec<String>) {
    let e = &l.expect;
    if l.dlq_forward > 0 && !e.may_forward_dlq {
        v.push(format!(
            "[2] {id} was dead-lettered by the forwarder ({} messages) though its SendMessage faults stay within 3 retryable failures",
            l.dlq_forward
        ));
    }
    if l.dlq_redriven > 0 && !e.may_redrive {
        v.push(format!(
            "[2] {id} was redriven to the DLQ ({} messages) though its PutItem faults cannot fail 9 attempts",
            l.dlq_redriven
        ));
    }
    if l.copies > 0 && e.must_forward_dlq && l.dlq_forward == 0 {
        v.push(format!(
            "[2] {id} is not on the DLQ though its SendMessage faults exceed the budget"
        ));
    }
    if e.never_queued && l.queue_sends() > 0 {
        v.push(format!(
            "[2] {id} reached the queue {} times though every SendMessage carrying it fails",
            l.queue_sends()
        ));
    }
    if e.always_redriven && l.dlq_redriven != l.queue_sends() {
        v.push(format!(
            "[2] {id}: every PutItem fails, yet {} of its {} queue messages were redriven",
            l.dlq_redriven,
            l.queue_sends()
        ));
    }
    if e.never_stored() && l.in_table {
        v.push(format!(
            "[2] {id} is stored though every attempt to forward or store it fails"
        ));
    }
}

/// Invariant 3: the stored item is `to_item` of an envelope the stream holds for the event,
/// with the payload the producer sent; when all its copies carry one envelope (a lost
/// response's retry re-sends the very record), it is exactly that first accepted envelope.
/// DLQ messages carry such an envelope unchanged.
fn stored_as_accepted(case: &Case, o: &Observed, id: &str, v: &mut Vec<String>) {
    let copies: Vec<&Envelope> = o.copies(id).into_iter().map(|r| &r.envelope).collect();
    let sent = case.payload(id);
    for envelope in &copies {
        if Some(&envelope.payload) != sent {
            v.push(format!(
                "[3] {id}: the stream holds payload {} but the producer sent {:?}",
                envelope.payload, sent
            ));
        }
    }
    if let Some(item) = o.items.get(id) {
        let matches: Vec<&&Envelope> = copies.iter().filter(|e| to_item(e) == *item).collect();
        if matches.is_empty() {
            v.push(format!(
                "[3] {id}: the stored item {item:?} is to_item of none of its {} envelopes",
                copies.len()
            ));
        }
        let one_envelope = copies.windows(2).all(|w| w[0] == w[1]);
        if one_envelope
            && let Some(first) = copies.first()
            && to_item(first) != *item
        {
            v.push(format!(
                "[3] {id}: the stored item differs from its only envelope {first:?}"
            ));
        }
    }
    for message in o.dlq.iter().filter(|m| m.id.as_deref() == Some(id)) {
        let stage = message.attributes.get("failure.stage").map(String::as_str);
        let attempts = message
            .attributes
            .get("failure.attempts")
            .map(String::as_str);
        if stage.is_some_and(|s| s != "forward")
            || (stage == Some("forward") && !matches!(attempts, Some("1" | "2" | "3")))
        {
            v.push(format!(
                "[2] {id}: DLQ message {} has failure attributes {:?}",
                message.message_id, message.attributes
            ));
        }
        match Envelope::from_slice(message.body.as_bytes()) {
            Ok(envelope) if copies.contains(&&envelope) => {}
            _ => v.push(format!(
                "[3] {id}: DLQ message {} is not one of its envelopes: {}",
                message.message_id, message.body
            )),
        }
    }
}

/// A replay adds only events that never landed: every item stored before it is unchanged.
fn replay_changes_nothing_stored(o: &Observed, v: &mut Vec<String>) {
    let Some(before) = &o.before_replay else {
        return;
    };
    for (id, item) in before {
        if o.items.get(id) != Some(item) {
            v.push(format!(
                "[3] the replay changed {id}: {item:?} became {:?}",
                o.items.get(id)
            ));
        }
    }
}

/// A 200 names the shard and sequence number of a record holding that very event.
fn accepted_means_on_the_stream(o: &Observed, v: &mut Vec<String>) {
    for (id, outcome) in &o.outcomes {
        match outcome.status {
            200 => {
                let shard = outcome.body["shardId"].as_str();
                let seq = outcome.body["sequenceNumber"].as_str();
                let found = o.stream.iter().any(|r| {
                    Some(r.shard_id.as_str()) == shard
                        && Some(r.sequence_number.as_str()) == seq
                        && r.envelope.id == *id
                });
                if !found {
                    v.push(format!(
                        "[1] {id} accepted as {} but the stream has no such record",
                        outcome.body
                    ));
                }
            }
            // Kinesis refused after the SDK's retries: the client owns the retry.
            503 => {}
            other => v.push(format!(
                "[1] {id}: the ingest API answered {other} {}",
                outcome.body
            )),
        }
    }
    if !o.lost.is_empty() {
        v.push(format!("[1] the harness reports lost ids {:?}", o.lost));
    }
}

/// Nothing is stored, dead-lettered or streamed that the producer did not send.
fn no_strangers(case: &Case, o: &Observed, v: &mut Vec<String>) {
    let ids = case.ids();
    let known = |id: &str| ids.iter().any(|i| i == id);
    for id in o.items.keys().filter(|id| !known(id)) {
        v.push(format!("[1] the table holds {id}, which was never sent"));
    }
    for m in o
        .dlq
        .iter()
        .filter(|m| m.id.as_deref().is_none_or(|id| !known(id)))
    {
        v.push(format!("[1] the DLQ holds a stranger: {}", m.body));
    }
    for r in o.stream.iter().filter(|r| !known(&r.envelope.id)) {
        v.push(format!(
            "[1] the stream holds {}, which was never sent",
            r.envelope.id
        ));
    }
}

/// The recorder's counts agree with the journal and the table.
fn counts_agree(o: &Observed, v: &mut Vec<String>) {
    if o.counts.stored != o.items.len() as u64 {
        v.push(format!(
            "[3] {} items stored by count, {} in the table",
            o.counts.stored,
            o.items.len()
        ));
    }
    if o.counts.duplicates != o.suppressed() as u64 {
        v.push(format!(
            "[3] {} duplicates counted, {} PutItems refused by the condition",
            o.counts.duplicates,
            o.suppressed()
        ));
    }
}

/// Invariant 4: on each shard, the first SendMessage attempt of each event comes in the order
/// of the event's first record on that shard. Re-deliveries (duplicates, crashes, retried
/// batches) only repeat records whose first attempt was already made, and a producer retry or
/// a lost response adds a later copy of an event whose first copy already fixed its place,
/// so the order of *first* attempts is exactly the shard's order of first copies.
fn first_attempts_keep_shard_order(o: &Observed, v: &mut Vec<String>) {
    let mut shards: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    for record in &o.stream {
        let shard = record.shard_id.as_str();
        if let Some(prev) = previous.insert(shard, &record.sequence_number)
            && sequence_key(prev) >= sequence_key(&record.sequence_number)
        {
            v.push(format!(
                "[4] {shard}: sequence number {} read after {prev}",
                record.sequence_number
            ));
        }
        let order = shards.entry(shard).or_default();
        if !order.contains(&record.envelope.id.as_str()) {
            order.push(&record.envelope.id);
        }
    }
    for (shard, order) in shards {
        let mut last: Option<(usize, &str)> = None;
        for id in order {
            let Some((first, _)) = o.attempts_of("sqs", "SendMessage", id).next() else {
                v.push(format!(
                    "[4] {shard}: {id} is on the stream but was never sent"
                ));
                continue;
            };
            if let Some((before, prev)) = last
                && first < before
            {
                v.push(format!(
                    "[4] {shard}: first SendMessage of {id} (attempt #{first}) precedes that of {prev} (#{before}), which comes before it on the shard"
                ));
            }
            last = Some((first, id));
        }
    }
}
