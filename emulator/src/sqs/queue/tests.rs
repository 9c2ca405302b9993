//! The queue core's rules, with time passed in by hand.

use super::*;
use crate::sqs::attributes::RedrivePolicy;
use crate::sqs::message::Attributes;

const T0: Millis = 1_700_000_000_000;

fn queue() -> Queue {
    Queue::new(
        "q".into(),
        "arn:aws:sqs:us-east-1:000000000000:q".into(),
        QueueSettings::defaults(1_048_576),
        T0,
    )
}

fn message(body: &str, sent: Millis) -> Message {
    Message::new(Content::new(
        body.into(),
        Attributes::new(),
        Attributes::new(),
        None,
        sent,
        "sender".into(),
    ))
}

fn no_dlq(_: &str) -> bool {
    false
}

fn bodies(outcome: &ReceiveOutcome) -> Vec<&str> {
    outcome
        .received
        .iter()
        .map(|r| r.message.content.body.as_str())
        .collect()
}

#[test]
fn received_messages_stay_hidden_until_the_visibility_timeout_ends() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    let first = q.receive(10, 30, T0, no_dlq);
    assert_eq!(bodies(&first), ["a"]);
    assert_eq!(first.received[0].message.receive_count, 1);
    assert!(q.receive(10, 30, T0 + 29_999, no_dlq).received.is_empty());
    assert_eq!(q.next_change(), Some(T0 + 30_000));
    let again = q.receive(10, 30, T0 + 30_000, no_dlq);
    assert_eq!(bodies(&again), ["a"]);
    assert_eq!(again.received[0].message.receive_count, 2);
    assert_eq!(again.received[0].message.first_receive, Some(T0));
}

#[test]
fn a_delayed_message_becomes_visible_when_its_delay_ends() {
    let mut q = queue();
    q.send(message("late", T0), 5, T0);
    assert_eq!(
        q.counts(T0),
        Counts {
            visible: 0,
            in_flight: 0,
            delayed: 1
        }
    );
    assert!(q.receive(1, 30, T0 + 4_999, no_dlq).received.is_empty());
    assert_eq!(q.next_change(), Some(T0 + 5_000));
    assert_eq!(bodies(&q.receive(1, 30, T0 + 5_000, no_dlq)), ["late"]);
}

#[test]
fn messages_older_than_the_retention_period_disappear() {
    let mut q = queue();
    q.settings.message_retention_period = 60;
    q.send(message("old", T0), 0, T0);
    q.send(message("new", T0 + 30_000), 0, T0 + 30_000);
    assert_eq!(q.counts(T0 + 59_999).visible, 2);
    assert_eq!(q.counts(T0 + 60_000).visible, 1);
    // In-flight messages expire too.
    assert_eq!(bodies(&q.receive(1, 600, T0 + 60_000, no_dlq)), ["new"]);
    assert_eq!(q.counts(T0 + 90_000), Counts::default());
}

#[test]
fn redrive_moves_a_message_instead_of_its_receive_beyond_max_receive_count() {
    let mut q = queue();
    q.settings.redrive_policy = Some(RedrivePolicy {
        dead_letter_target_arn: "arn:aws:sqs:us-east-1:000000000000:dlq".into(),
        max_receive_count: 3,
    });
    q.send(message("poison", T0), 0, T0);
    let dlq = |name: &str| name == "dlq";
    let mut now = T0;
    for expected_count in 1..=3 {
        let out = q.receive(10, 1, now, dlq);
        assert_eq!(out.received.len(), 1, "receive {expected_count}");
        assert_eq!(out.received[0].message.receive_count, expected_count);
        assert!(out.dead_letters.is_empty());
        now += 1_000;
    }
    let fourth = q.receive(10, 1, now, dlq);
    assert!(fourth.received.is_empty());
    assert_eq!(fourth.dead_letters.len(), 1);
    let moved = &fourth.dead_letters[0];
    assert_eq!(moved.content.body, "poison");
    assert_eq!(moved.content.sent, T0);
    assert_eq!(
        moved.dead_letter_source_arn.as_deref(),
        Some("arn:aws:sqs:us-east-1:000000000000:q")
    );
    assert_eq!(q.counts(now), Counts::default());
}

#[test]
fn without_its_dead_letter_queue_a_redrive_policy_does_not_drop_messages() {
    let mut q = queue();
    q.settings.redrive_policy = Some(RedrivePolicy {
        dead_letter_target_arn: "arn:aws:sqs:us-east-1:000000000000:gone".into(),
        max_receive_count: 1,
    });
    q.send(message("m", T0), 0, T0);
    assert_eq!(q.receive(1, 0, T0, no_dlq).received.len(), 1);
    let second = q.receive(1, 0, T0, no_dlq);
    assert_eq!(second.received.len(), 1);
    assert!(second.dead_letters.is_empty());
}

#[test]
fn a_dead_letter_keeps_its_send_time_for_retention() {
    let mut dlq = queue();
    dlq.settings.message_retention_period = 60;
    dlq.accept_dead_letter(message("m", T0), T0 + 10_000);
    assert_eq!(dlq.counts(T0 + 59_999).visible, 1);
    assert_eq!(dlq.counts(T0 + 60_000).visible, 0);
    // Already past retention on arrival: never stored.
    dlq.accept_dead_letter(message("m", T0), T0 + 61_000);
    assert_eq!(dlq.counts(T0 + 61_000).visible, 0);
}

#[test]
fn receipt_handles_are_validated() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    let handle = q.receive(1, 30, T0, no_dlq).received[0]
        .receipt_handle
        .clone();
    assert_eq!(q.delete("garbage", T0), Err(HandleError::Invalid));
    assert_eq!(q.change_visibility("", 5, T0), Err(HandleError::Invalid));
    let mut other = queue();
    assert_eq!(other.delete(&handle, T0), Err(HandleError::Invalid));
    assert_eq!(q.delete(&handle, T0), Ok(()));
    assert_eq!(q.counts(T0), Counts::default());
    // Deleting twice is fine; changing the visibility of a deleted message is not.
    assert_eq!(q.delete(&handle, T0), Ok(()));
    assert_eq!(q.change_visibility(&handle, 5, T0), Err(HandleError::Gone));
}

#[test]
fn change_visibility_resets_the_deadline_and_zero_releases_at_once() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    let handle = q.receive(1, 30, T0, no_dlq).received[0]
        .receipt_handle
        .clone();
    q.change_visibility(&handle, 100, T0 + 10_000).unwrap();
    assert!(q.receive(1, 30, T0 + 100_000, no_dlq).received.is_empty());
    assert_eq!(q.receive(1, 30, T0 + 110_000, no_dlq).received.len(), 1);

    let mut q = queue();
    q.send(message("b", T0), 0, T0);
    let handle = q.receive(1, 30, T0, no_dlq).received[0]
        .receipt_handle
        .clone();
    q.change_visibility(&handle, 0, T0).unwrap();
    let again = q.receive(1, 30, T0, no_dlq);
    assert_eq!(bodies(&again), ["b"]);
    // Deleting with the first (stale) handle does not take the message from its new
    // receiver, but changing its visibility does act on it (as on AWS).
    q.delete(&handle, T0).unwrap();
    assert_eq!(q.counts(T0).in_flight, 1);
    q.change_visibility(&handle, 0, T0).unwrap();
    assert_eq!(bodies(&q.receive(1, 30, T0, no_dlq)), ["b"]);
}

#[test]
fn a_message_visible_again_can_have_its_visibility_changed() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    let handle = q.receive(1, 1, T0, no_dlq).received[0]
        .receipt_handle
        .clone();
    q.change_visibility(&handle, 5, T0 + 1_000).unwrap();
    assert!(q.receive(1, 1, T0 + 1_000, no_dlq).received.is_empty());
    assert_eq!(bodies(&q.receive(1, 1, T0 + 7_000, no_dlq)), ["a"]);
    let handle = q.receive(1, 1, T0 + 10_000, no_dlq).received[0]
        .receipt_handle
        .clone();
    // Its latest receive, so a late delete does delete it.
    q.delete(&handle, T0 + 12_000).unwrap();
    assert_eq!(q.counts(T0 + 12_000), Counts::default());
}

#[test]
fn purge_empties_the_queue_once_a_minute() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    q.send(message("b", T0), 10, T0);
    q.receive(1, 30, T0, no_dlq);
    assert_eq!(q.purge(T0), Ok(()));
    assert_eq!(q.counts(T0), Counts::default());
    assert_eq!(q.purge(T0 + 59_999), Err(PurgeInProgress));
    assert_eq!(q.purge(T0 + 60_000), Ok(()));
}

#[test]
fn receive_returns_at_most_max_in_send_order() {
    let mut q = queue();
    for i in 0..5 {
        q.send(message(&i.to_string(), T0), 0, T0);
    }
    assert_eq!(bodies(&q.receive(3, 30, T0, no_dlq)), ["0", "1", "2"]);
    assert_eq!(bodies(&q.receive(3, 30, T0, no_dlq)), ["3", "4"]);
    let taken = q.take_visible(10, T0 + 30_000);
    assert_eq!(taken.len(), 5);
    assert_eq!(q.counts(T0 + 30_000), Counts::default());
}

#[test]
fn visibility_cannot_reach_beyond_twelve_hours_after_the_receive() {
    let mut q = queue();
    q.send(message("a", T0), 0, T0);
    let handle = q.receive(1, 7_200, T0, no_dlq).received[0]
        .receipt_handle
        .clone();
    let hour = 3_600_000;
    q.change_visibility(&handle, 43_200 - 3_600, T0 + hour)
        .unwrap();
    assert_eq!(
        q.change_visibility(&handle, 43_200 - 3_599, T0 + hour),
        Err(HandleError::BeyondVisibilityLimit)
    );
}

#[test]
fn no_more_than_the_in_flight_quota_is_handed_out() {
    assert_eq!(MAX_IN_FLIGHT, 120_000);
    let mut q = queue();
    q.in_flight_limit = 3;
    for _ in 0..5 {
        q.send(message("m", T0), 0, T0);
    }
    assert_eq!(q.receive(10, 600, T0, no_dlq).received.len(), 3);
    let blocked = q.receive(10, 600, T0, no_dlq);
    assert!(blocked.received.is_empty());
    assert!(blocked.over_limit);
    // Once in-flight messages return, receiving works again.
    assert_eq!(q.receive(2, 600, T0 + 600_000, no_dlq).received.len(), 2);
}

fn fifo_queue() -> Queue {
    let mut settings = QueueSettings::defaults(1_048_576);
    settings.fifo = true;
    Queue::new(
        "q.fifo".into(),
        "arn:aws:sqs:us-east-1:000000000000:q.fifo".into(),
        settings,
        T0,
    )
}

fn grouped(body: &str, group: &str, sent: Millis) -> Message {
    Message::new(Content::new(
        body.into(),
        Attributes::new(),
        Attributes::new(),
        Some(group.into()),
        sent,
        "sender".into(),
    ))
}

#[test]
fn a_fifo_duplicate_within_five_minutes_is_accepted_but_not_enqueued() {
    let mut q = fifo_queue();
    let first = q.send_fifo(grouped("a", "g", T0), "d".into(), "d".into(), 0, T0);
    let again = q.send_fifo(
        grouped("a", "g", T0),
        "d".into(),
        "d".into(),
        0,
        T0 + 299_000,
    );
    assert_eq!(first, again);
    assert_eq!(q.counts(T0 + 299_000).visible, 1);
    let later = q.send_fifo(
        grouped("a", "g", T0),
        "d".into(),
        "d".into(),
        0,
        T0 + 300_000,
    );
    assert_ne!(later.message_id, first.message_id);
    assert!(later.sequence_number > first.sequence_number);
    assert_eq!(later.sequence_number.len(), 20);
    assert_eq!(q.counts(T0 + 300_000).visible, 2);
}

#[test]
fn a_fifo_group_in_flight_is_held_back_and_order_is_kept() {
    let mut q = fifo_queue();
    for (i, (body, group)) in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")]
        .into_iter()
        .enumerate()
    {
        let id = i.to_string();
        q.send_fifo(grouped(body, group, T0), id.clone(), id, 0, T0);
    }
    // One receive may take several messages of a group, in order.
    let first = q.receive(2, 30, T0, no_dlq);
    assert_eq!(bodies(&first), ["a1", "b1"]);
    // Both groups have a message in flight: nothing more until one is deleted or expires.
    assert!(q.receive(10, 30, T0, no_dlq).received.is_empty());
    q.delete(&first.received[0].receipt_handle, T0).unwrap();
    assert_eq!(bodies(&q.receive(10, 30, T0, no_dlq)), ["a2"]);
    // b1's (and a2's) visibility expires: b1 comes back before b2, each group in order.
    assert_eq!(
        bodies(&q.receive(10, 30, T0 + 30_000, no_dlq)),
        ["b1", "a2", "b2"]
    );
}

#[test]
fn a_drained_queue_gives_its_room_back() {
    // Memory follows what the queue holds (issue 13): deleted messages are freed, and so is
    // the room a backlog took.
    let mut q = queue();
    for n in 0..10_000 {
        q.send(message(&n.to_string(), T0), 0, T0);
    }
    let peak = q.messages.capacity();
    loop {
        let batch = q.receive(10, 30, T0, no_dlq);
        if batch.received.is_empty() {
            break;
        }
        for received in &batch.received {
            assert_eq!(q.delete(&received.receipt_handle, T0), Ok(()));
        }
    }
    assert_eq!(q.counts(T0), Counts::default());
    assert!(q.messages.capacity() < peak / 100, "{peak}");
}
