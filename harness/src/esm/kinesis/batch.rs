//! A lane of a shard's consumer: batches, invocations and what Lambda does with each outcome
//! (AWS-SEMANTICS 2.4, 2.5).
//!
//! One batch is in flight per lane; a failed batch blocks its lane until it succeeds or is
//! discarded. Retries re-send the same records (same sequence numbers, same eventIDs).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::checkpoint::SeqNum;
use super::on_failure::{self, DiscardCondition, Discarded, OnFailureRecord};
use super::poller::{Exit, sleep_or_stop};
use super::window::{self, KinesisWindowEvent, KinesisWindowResponse, OpenWindow, Window};
use super::{Counters, KinesisFunction, Mapping, Shard};
use crate::esm::handler::invoke_guarded;
use crate::esm::{BoxError, DeliveryFault};

/// A record as read from the shard, with what the consumer needs to sort, age and size it.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub event: KinesisEventRecord,
    pub seq: SeqNum,
    pub arrival: DateTime<Utc>,
    /// Bytes the record adds to the event's JSON.
    pub size: usize,
}

impl Rec {
    pub(crate) fn new(event: KinesisEventRecord, seq: SeqNum, arrival: DateTime<Utc>) -> Self {
        // The JSON's size without serialising it (this runs for every record read): the data
        // in base64, the variable fields, and the field names and constants (~330 bytes).
        let text = |o: &Option<String>| o.as_deref().map_or(0, str::len);
        let size = event.kinesis.data.len().div_ceil(3) * 4
            + event.kinesis.partition_key.len()
            + event.kinesis.sequence_number.len()
            + text(&event.event_id)
            + text(&event.event_source_arn)
            + text(&event.invoke_identity_arn)
            + text(&event.aws_region)
            + 330;
        Self {
            event,
            seq,
            arrival,
            size,
        }
    }
}

/// Lambda's payload limit for a synchronous invocation: a batch is cut before it (2.2).
pub(crate) const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// How many records from the front of `buffer` make the next batch: at most `batch_size`, and
/// no more than fit in [`MAX_PAYLOAD`] (but always at least one).
pub(crate) fn next_batch_len(buffer: &VecDeque<Rec>, batch_size: usize) -> usize {
    // `{"Records":[` and `]}`.
    let mut total = 14;
    let mut n = 0;
    for rec in buffer.iter().take(batch_size) {
        if n > 0 && total + rec.size > MAX_PAYLOAD {
            break;
        }
        total += rec.size;
        n += 1;
    }
    n
}

/// The next batch is as big as it can be: by count or by payload.
fn batch_full(buffer: &VecDeque<Rec>, batch_size: usize) -> bool {
    buffer.len() >= batch_size || next_batch_len(buffer, batch_size) < buffer.len()
}

/// What an invocation's outcome means for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every record is done.
    Success,
    /// Records before the index are done; the rest are retried (ReportBatchItemFailures).
    Partial(usize),
    /// The whole batch failed. `function_error` when the function itself failed (an error, a
    /// panic, a timeout: Lambda's `"functionError": "Unhandled"`); `false` when it returned a
    /// partial batch response Lambda cannot use (AWS records `"functionError": null`).
    Failed { function_error: bool },
}

/// Reads a handler's answer as Lambda does (AWS-SEMANTICS 2.5). `seqs` is the batch in order.
pub(crate) fn classify(
    outcome: &Result<KinesisEventResponse, BoxError>,
    seqs: &[SeqNum],
    report_batch_item_failures: bool,
) -> Verdict {
    const MALFORMED: Verdict = Verdict::Failed {
        function_error: false,
    };
    let response = match outcome {
        Err(_) => {
            return Verdict::Failed {
                function_error: true,
            };
        }
        Ok(_) if !report_batch_item_failures => return Verdict::Success,
        Ok(response) => response,
    };
    let mut lowest: Option<usize> = None;
    for failure in &response.batch_item_failures {
        // An empty, missing or unknown identifier fails the whole batch.
        let Some(id) = failure.item_identifier.as_deref().filter(|s| !s.is_empty()) else {
            return MALFORMED;
        };
        let id = SeqNum::new(id);
        let Some(index) = seqs.iter().position(|s| *s == id) else {
            return MALFORMED;
        };
        lowest = Some(lowest.map_or(index, |l| l.min(index)));
    }
    match lowest {
        None => Verdict::Success,
        Some(index) => Verdict::Partial(index),
    }
}

/// A batch (or a bisected half of one) and its history since the checkpoint last moved.
struct Attempt {
    recs: Vec<Rec>,
    /// Retries used against `MaximumRetryAttempts`.
    retries: u32,
    /// Invocations of these records since the checkpoint last moved (`approximateInvokeCount`).
    invokes: u32,
    /// How the last invocation failed: `Some(true)` a function error, `Some(false)` a
    /// response Lambda could not use or a partial failure, `None` never invoked.
    last_function_error: Option<bool>,
}

impl Attempt {
    fn new(recs: Vec<Rec>, retries: u32) -> Self {
        Self {
            recs,
            retries,
            invokes: 0,
            last_function_error: None,
        }
    }
}

/// How long a consumer waits before the `retry`th retry (1-based) of a failing batch: the
/// delay doubles from `first` up to `max` (1 s, 2 s, 4 s, 8 s, 10 s, 10 s, ... by default).
///
/// Lambda does not document its pacing. The curve is chosen to match a recording on AWS
/// (LocalStack snapshot `test_kinesis_maximum_record_age_exceeded[expire-while-retrying]`,
/// 2025-11-25): MaximumRetryAttempts -1 and MaximumRecordAgeInSeconds 60 gave
/// `approximateInvokeCount: 8`. The mapping there was created after the record was put and
/// first invoked it about 10 s later (the test's recorded duration, 76 s, with its polling
/// schedule); from then on this curve invokes at +0, 1, 3, 7, 15, 25, 35, 45 s and the next
/// retry (+55 s) falls past the record's 60 s: 8 invocations.
pub(crate) fn retry_backoff(retry: u32, first: Duration, max: Duration) -> Duration {
    let doublings = retry.saturating_sub(1).min(31);
    first.saturating_mul(1u32 << doublings).min(max)
}

/// How a batch's processing left the lane.
enum Flow {
    Continue,
    Stop,
    Crash,
}

/// Gathers batches from the reader and processes them one at a time.
pub(crate) async fn run_lane(
    m: Arc<Mapping>,
    shard: Arc<Shard>,
    mut rx: mpsc::Receiver<Vec<Rec>>,
) -> Exit {
    let mut stop = m.stop.subscribe();
    let mut buffer: VecDeque<Rec> = VecDeque::new();
    let batch_size = m.config.batch_size;
    let window = m.config.maximum_batching_window;
    let mut closed = false;
    // The tumbling window open in this lane, with its state (TumblingWindowInSeconds).
    let mut open: Option<OpenWindow> = None;
    loop {
        if m.stopping() {
            return Exit::Stopped;
        }
        if buffer.is_empty() {
            if closed {
                return Exit::Ended;
            }
            // An open window ends when its end passes with nothing more read.
            let window_left = open.as_ref().map(|o| {
                (o.window.end - m.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
            });
            let window_ended = tokio::select! {
                chunk = rx.recv() => match chunk {
                    Some(chunk) => {
                        buffer.extend(chunk);
                        false
                    }
                    None => return Exit::Ended,
                },
                _ = tokio::time::sleep(window_left.unwrap_or_default()), if window_left.is_some() => true,
                _ = stop.wait_for(|s| *s) => return Exit::Stopped,
            };
            if window_ended {
                if let Some(ended) = open.take() {
                    match final_invoke(&m, &shard, ended, false, &mut stop).await {
                        Flow::Continue => {}
                        Flow::Stop => return Exit::Stopped,
                        Flow::Crash => return Exit::Crashed,
                    }
                }
                continue;
            }
        }
        if window.is_zero() {
            while !batch_full(&buffer, batch_size) {
                match rx.try_recv() {
                    Ok(chunk) => buffer.extend(chunk),
                    Err(_) => break,
                }
            }
        } else {
            // The window opens with the first record and closes early when the batch is full.
            let deadline = tokio::time::Instant::now() + window;
            while !batch_full(&buffer, batch_size) && !closed {
                tokio::select! {
                    chunk = rx.recv() => match chunk {
                        Some(chunk) => buffer.extend(chunk),
                        None => closed = true,
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = stop.wait_for(|s| *s) => return Exit::Stopped,
                }
            }
        }
        let mut take = next_batch_len(&buffer, batch_size);
        if let Some(length) = m.config.tumbling_window {
            // A batch holds one window's records; a record of a later window closes the open
            // one first (its final invocation).
            let first = Window::of(buffer[0].arrival, length);
            take = buffer
                .iter()
                .take(take)
                .take_while(|r| Window::of(r.arrival, length) == first)
                .count()
                .max(1);
            if let Some(ended) = open.take_if(|o| o.window != first) {
                match final_invoke(&m, &shard, ended, false, &mut stop).await {
                    Flow::Continue => {}
                    Flow::Stop => return Exit::Stopped,
                    Flow::Crash => return Exit::Crashed,
                }
            }
            open.get_or_insert_with(|| OpenWindow {
                window: first,
                state: serde_json::Map::new(),
                terminated_early: false,
            });
        }
        let batch: Vec<Rec> = buffer.drain(..take).collect();
        match process(&m, &shard, batch, &mut stop, &mut open).await {
            Flow::Continue => {}
            Flow::Stop => return Exit::Stopped,
            Flow::Crash => return Exit::Crashed,
        }
    }
}

/// Delivers one batch until every record is done or discarded (or the consumer stops/crashes).
async fn process(
    m: &Mapping,
    shard: &Shard,
    batch: Vec<Rec>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    open: &mut Option<OpenWindow>,
) -> Flow {
    let c = &m.config;
    let mut pending = VecDeque::from([Attempt::new(batch, 0)]);
    'batches: while let Some(mut att) = pending.pop_front() {
        loop {
            if let Some(max_age) = c.maximum_record_age {
                let now = m.clock.now();
                let too_old = |r: &Rec| {
                    now.signed_duration_since(r.arrival)
                        .to_std()
                        .is_ok_and(|age| age > max_age)
                };
                let (old, young): (Vec<Rec>, Vec<Rec>) = att.recs.drain(..).partition(too_old);
                att.recs = young;
                if !old.is_empty() {
                    discard(m, shard, &old, &att, DiscardCondition::RecordAgeExceeded).await;
                }
                if att.recs.is_empty() {
                    continue 'batches;
                }
            }
            if att.invokes > 0 && m.stopping() {
                // Stopping: no new retry; the checkpoint stays before these records.
                return Flow::Stop;
            }
            let event = {
                let mut event = KinesisEvent::default();
                event.records = att.recs.iter().map(|r| r.event.clone()).collect();
                event
            };
            let faults = m.hooks.on_kinesis_batch(&shard.shard_id, &event.records);
            // Lambda's IteratorAge: "the time between when the stream receives the record
            // and when the event source mapping sends the event to the function", for the
            // batch's last record (docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
            if let Some(last) = att.recs.last() {
                let age = m.clock.now().signed_duration_since(last.arrival);
                m.counters
                    .iterator_age_ms
                    .store(age.num_milliseconds().max(0) as u64, Ordering::Relaxed);
            }
            if faults.contains(&DeliveryFault::CrashMidBatch) {
                // Dead halfway: the first half was handled (and sent on), nothing checkpointed.
                let half = event.records.len() / 2;
                if half > 0 {
                    Counters::add(&m.counters.batches_invoked, 1);
                    Counters::add(&m.counters.records_delivered, half as u64);
                    let _ = invoke(m, shard, event.records[..half].to_vec(), open, false).await;
                }
                return Flow::Crash;
            }
            let deliveries = if faults.contains(&DeliveryFault::Duplicate) {
                2
            } else {
                1
            };
            // A duplicated delivery: the second invocation's answer is the one that counts.
            let mut outcome = Err::<KinesisEventResponse, BoxError>("not invoked".into());
            let mut new_state = None;
            for _ in 0..deliveries {
                Counters::add(&m.counters.batches_invoked, 1);
                Counters::add(&m.counters.records_delivered, event.records.len() as u64);
                (outcome, new_state) = invoke(m, shard, event.records.clone(), open, false).await;
            }
            att.invokes += 1;
            if faults.contains(&DeliveryFault::CrashBeforeCheckpoint) {
                return Flow::Crash;
            }
            let seqs: Vec<SeqNum> = att.recs.iter().map(|r| r.seq.clone()).collect();
            let verdict = classify(&outcome, &seqs, c.report_batch_item_failures);
            // The state of an invocation that did not fail is the window's from now on; one
            // over AWS's 1 MB ends the window early, and the next batch starts a fresh state.
            if !matches!(verdict, Verdict::Failed { .. })
                && let (Some(o), Some(state)) = (open.as_mut(), new_state)
            {
                o.state = state;
                if window::too_big(&o.state) {
                    let ended = o.clone();
                    o.state = serde_json::Map::new();
                    match final_invoke(m, shard, ended, true, stop).await {
                        Flow::Continue => {}
                        other => return other,
                    }
                }
            }
            match verdict {
                Verdict::Success => {
                    finish(m, shard, &seqs).await;
                    continue 'batches;
                }
                Verdict::Partial(index) if index > 0 => {
                    // The checkpoint moved: what is left starts afresh, with a new retry
                    // budget and invoke count (recorded on AWS, AWS-SEMANTICS 2.5), at once.
                    finish(m, shard, &seqs[..index]).await;
                    let rest = att.recs.split_off(index);
                    pending.push_front(Attempt::new(rest, 0));
                    continue 'batches;
                }
                Verdict::Partial(_) => att.last_function_error = Some(false),
                Verdict::Failed { function_error } => {
                    att.last_function_error = Some(function_error);
                    if let Err(err) = &outcome {
                        tracing::debug!(shard = %shard.shard_id, %err, "function error");
                    }
                    // Bisect is for function errors only ("If the function returns an error,
                    // split the batch in two and retry", CreateEventSourceMapping): a response
                    // Lambda cannot use is a failed batch, but not a function error.
                    if function_error && c.bisect_batch_on_function_error && att.recs.len() > 1 {
                        // Bisecting is not a retry: both halves keep the retries used so far.
                        Counters::add(&m.counters.bisects, 1);
                        let second = att.recs.split_off(att.recs.len() / 2);
                        pending.push_front(Attempt::new(second, att.retries));
                        pending.push_front(Attempt::new(att.recs, att.retries));
                        continue 'batches;
                    }
                }
            }
            if c.maximum_retry_attempts
                .is_some_and(|max| att.retries >= max)
            {
                discard(
                    m,
                    shard,
                    &att.recs,
                    &att,
                    DiscardCondition::RetryAttemptsExhausted,
                )
                .await;
                continue 'batches;
            }
            att.retries += 1;
            Counters::add(&m.counters.retries, 1);
            let delay = retry_backoff(att.retries, c.retry_delay, c.max_retry_delay);
            if sleep_or_stop(stop, delay).await {
                return Flow::Stop;
            }
        }
    }
    Flow::Continue
}

/// Invokes the function with records: as a plain Kinesis event, or with the open tumbling
/// window and its state. Answers the outcome as the classifier reads it, and the state the
/// function returned (windows only; a response without one is a failed invocation).
async fn invoke(
    m: &Mapping,
    shard: &Shard,
    records: Vec<KinesisEventRecord>,
    open: &Option<OpenWindow>,
    is_final: bool,
) -> (
    Result<KinesisEventResponse, BoxError>,
    Option<serde_json::Map<String, serde_json::Value>>,
) {
    let timeout = m.config.function_timeout;
    match (&m.function, open) {
        (KinesisFunction::Plain(handler), _) => {
            let mut event = KinesisEvent::default();
            event.records = records;
            (
                invoke_guarded(|| handler.handle(event), timeout).await,
                None,
            )
        }
        (KinesisFunction::Windowed(handler), Some(o)) => {
            let event = KinesisWindowEvent {
                records,
                window: o.window,
                state: o.state.clone(),
                shard_id: shard.shard_id.clone(),
                event_source_arn: m.stream_arn.clone(),
                is_final_invoke_for_window: is_final,
                is_window_terminated_early: is_final && o.terminated_early,
            };
            match invoke_guarded(|| handler.handle(event), timeout).await {
                Ok(KinesisWindowResponse {
                    state: Some(state),
                    batch_item_failures,
                }) => {
                    let mut response = KinesisEventResponse::default();
                    response.batch_item_failures = batch_item_failures;
                    (Ok(response), Some(state))
                }
                Ok(_) => (Err(Box::new(window::MissingState)), None),
                Err(err) => (Err(err), None),
            }
        }
        (KinesisFunction::Windowed(_), None) => (Err("no tumbling window is open".into()), None),
    }
}

/// The final invocation of a window (no records, `isFinalInvokeForWindow`), retried until it
/// succeeds: "If the invocation fails, your Lambda function suspends further processing until
/// a successful invocation" (services-kinesis-windows).
async fn final_invoke(
    m: &Mapping,
    shard: &Shard,
    mut ended: OpenWindow,
    terminated_early: bool,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Flow {
    ended.terminated_early = terminated_early;
    let open = Some(ended);
    let mut retries = 0;
    loop {
        Counters::add(&m.counters.batches_invoked, 1);
        let (outcome, _) = invoke(m, shard, Vec::new(), &open, true).await;
        if outcome.is_ok() {
            return Flow::Continue;
        }
        retries += 1;
        Counters::add(&m.counters.retries, 1);
        let delay = retry_backoff(retries, m.config.retry_delay, m.config.max_retry_delay);
        if sleep_or_stop(stop, delay).await {
            return Flow::Stop;
        }
    }
}

/// Gives up on records: reports them to the on-failure destination and moves past them.
async fn discard(
    m: &Mapping,
    shard: &Shard,
    recs: &[Rec],
    att: &Attempt,
    condition: DiscardCondition,
) {
    let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
        return;
    };
    Counters::add(&m.counters.records_discarded, recs.len() as u64);
    tracing::warn!(
        shard = %shard.shard_id,
        ?condition,
        first = first.seq.as_str(),
        last = last.seq.as_str(),
        records = recs.len(),
        "discarding records"
    );
    if let Some(queue_url) = &m.config.on_failure {
        let record = OnFailureRecord::new(&Discarded {
            condition,
            // A record already too old when read is reported as invoked once (recorded on
            // AWS: `expire-before-ingestion`, `approximateInvokeCount: 1`).
            invoke_count: att.invokes.max(1),
            last_function_error: att.last_function_error,
            shard_id: &shard.shard_id,
            stream_arn: &m.stream_arn,
            function_arn: &m.function_arn,
            first: (first.seq.as_str(), first.arrival),
            last: (last.seq.as_str(), last.arrival),
            batch_size: recs.len(),
            now: m.clock.now(),
        });
        if on_failure::send(&m.sqs, queue_url, &record, m.config.retry_delay).await {
            Counters::add(&m.counters.on_failure_sent, 1);
        }
    }
    let seqs: Vec<SeqNum> = recs.iter().map(|r| r.seq.clone()).collect();
    finish(m, shard, &seqs).await;
}

/// Marks records done and moves the checkpoint as far as every lower record is done too.
pub(crate) async fn finish(m: &Mapping, shard: &Shard, seqs: &[SeqNum]) {
    let _writer = shard.checkpoint_lock.lock().await;
    let checkpoint = {
        let mut st = shard.lock();
        st.tracker.finish(seqs);
        st.tracker.checkpointable()
    };
    if let Some(checkpoint) = checkpoint {
        match m
            .checkpoints
            .set(&m.stream_name, &shard.shard_id, checkpoint.as_str())
            .await
        {
            Ok(()) => {
                shard.lock().tracker.committed(&checkpoint);
                Counters::add(&m.counters.checkpoints, 1);
            }
            Err(err) => {
                tracing::warn!(shard = %shard.shard_id, %err, "checkpoint write failed; kept for the next one")
            }
        }
    }
    m.idle.bump();
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::streams::KinesisBatchItemFailure;

    fn seqs() -> Vec<SeqNum> {
        ["8", "9", "10", "11"]
            .iter()
            .map(|s| SeqNum::new(s))
            .collect()
    }

    fn failures(ids: &[Option<&str>]) -> Result<KinesisEventResponse, BoxError> {
        let mut response = KinesisEventResponse::default();
        response.batch_item_failures = ids
            .iter()
            .map(|id| {
                let mut f = KinesisBatchItemFailure::default();
                f.item_identifier = id.map(str::to_owned);
                f
            })
            .collect();
        Ok(response)
    }

    #[test]
    fn an_error_fails_the_whole_batch() {
        assert_eq!(
            classify(&Err("x".into()), &seqs(), true),
            Verdict::Failed {
                function_error: true
            }
        );
    }

    #[test]
    fn partial_failure_retries_from_the_lowest_failed_sequence_number() {
        let outcome = failures(&[Some("11"), Some("9")]);
        assert_eq!(classify(&outcome, &seqs(), true), Verdict::Partial(1));
    }

    #[test]
    fn partial_failures_are_ignored_unless_enabled() {
        let outcome = failures(&[Some("9")]);
        assert_eq!(classify(&outcome, &seqs(), false), Verdict::Success);
    }

    /// A response Lambda cannot use fails the whole batch but is not a function error: AWS
    /// records `"functionError": null` for `""`, `null`, a number and a wrong key
    /// (LocalStack snapshots `test_kinesis_report_batch_item_failure_scenarios`, 2025-11-25).
    #[test]
    fn empty_null_or_unknown_identifiers_fail_the_whole_batch() {
        for ids in [
            vec![Some("")],
            vec![None],
            vec![Some("12")],
            vec![Some("9"), None],
        ] {
            assert_eq!(
                classify(&failures(&ids), &seqs(), true),
                Verdict::Failed {
                    function_error: false
                },
                "{ids:?}"
            );
        }
    }

    fn rec(seq: &str, data_len: usize) -> Rec {
        let mut event = KinesisEventRecord::default();
        event.kinesis.data.0 = vec![b'x'; data_len];
        Rec::new(event, SeqNum::new(seq), DateTime::<Utc>::default())
    }

    #[test]
    fn a_records_size_estimate_is_close_to_its_json() {
        let source = crate::esm::event::KinesisSource {
            shard_id: "shardId-000000000000".into(),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/events".into(),
            region: "us-east-1".into(),
            invoke_identity_arn: "arn:aws:iam::000000000000:role/lambda-role".into(),
        };
        let record = aws_sdk_kinesis::types::Record::builder()
            .sequence_number("49590338271490256608559692538361571095921575989136588898")
            .partition_key("0193a5c2-7f00-7000-8000-000000000000")
            .data(aws_sdk_kinesis::primitives::Blob::new(vec![b'x'; 300]))
            .approximate_arrival_timestamp(aws_smithy_types::DateTime::from_millis(1545084650987))
            .build()
            .unwrap();
        let event = crate::esm::event::kinesis_record(&source, &record);
        let json = serde_json::to_vec(&event).unwrap().len();
        let rec = Rec::new(event, SeqNum::new("1"), DateTime::<Utc>::default());
        assert!(
            rec.size.abs_diff(json) * 10 < json,
            "estimate {} vs {json}",
            rec.size
        );
    }

    #[test]
    fn a_batch_stops_before_lambdas_payload_limit() {
        let mib = 1024 * 1024;
        let buffer: VecDeque<Rec> = (0..10).map(|i| rec(&i.to_string(), mib)).collect();
        // Base64 makes each 1 MiB record about 1.33 MiB: four fit in 6 MiB, five do not.
        assert_eq!(next_batch_len(&buffer, 100), 4);
        assert_eq!(next_batch_len(&buffer, 2), 2);
        let huge: VecDeque<Rec> = [rec("1", 7 * mib)].into();
        assert_eq!(next_batch_len(&huge, 100), 1, "a record alone always goes");
        let small: VecDeque<Rec> = (0..10).map(|i| rec(&i.to_string(), 10)).collect();
        assert_eq!(next_batch_len(&small, 100), 10);
    }

    #[test]
    fn the_retry_backoff_doubles_up_to_its_cap() {
        let secs =
            |retry| retry_backoff(retry, Duration::from_secs(1), Duration::from_secs(10)).as_secs();
        let curve: Vec<u64> = (1..=8).map(secs).collect();
        assert_eq!(curve, [1, 2, 4, 8, 10, 10, 10, 10]);
        assert_eq!(secs(10_000), 10, "no overflow on long retry runs");
    }

    #[test]
    fn no_failures_is_success() {
        assert_eq!(classify(&failures(&[]), &seqs(), true), Verdict::Success);
    }
}
