//! The redrive policy (a message moves to the DLQ instead of its receive number
//! maxReceiveCount + 1) and message move tasks back out of the DLQ.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    ListMessageMoveTasksResultEntry, MessageSystemAttributeName as S, QueueAttributeName as A,
};

use super::{create_queue, queue_arn, queue_attribute, send, string_attribute, visible_count};
use crate::support::Env;

crate::on_both_edges!(
    a_message_moves_to_the_dlq_at_exactly_max_receive_count,
    a_move_task_returns_dead_letters_to_their_source_as_new_messages,
    a_move_task_can_target_another_queue,
    move_task_errors,
    a_dlq_redrive_allow_policy_decides_which_queues_may_use_it,
);

/// A DLQ and a source queue whose redrive policy names it; returns (source url, dlq url).
pub(super) async fn queue_with_dlq(sqs: &Client, max_receive_count: u32) -> (String, String) {
    let (_, dlq) = create_queue(sqs, &[]).await;
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":{max_receive_count}}}"#,
        queue_arn(sqs, &dlq).await
    );
    let (_, source) = create_queue(sqs, &[(A::RedrivePolicy, &policy)]).await;
    (source, dlq)
}

/// Fills a DLQ through its redrive policy (maxReceiveCount 1): `n` messages, each received
/// once and then moved by the next receive. Returns their message ids.
pub(super) async fn dead_letters(sqs: &Client, source: &str, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        ids.insert(send(sqs, source, &format!("dead {i}")).await);
    }
    let first = sqs
        .receive_message()
        .queue_url(source)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(first.messages().len(), n);
    let second = sqs
        .receive_message()
        .queue_url(source)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(
        second.messages().is_empty(),
        "all moved instead of delivered"
    );
    ids
}

async fn a_message_moves_to_the_dlq_at_exactly_max_receive_count(env: &Env) {
    crate::needs!(env, SqsDeadLetterSourceArn);
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 3).await;
    let policy = queue_attribute(&sqs, &source, A::RedrivePolicy)
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(policy["maxReceiveCount"], 3);
    assert_eq!(policy["deadLetterTargetArn"], queue_arn(&sqs, &dlq).await);

    let sent = sqs
        .send_message()
        .queue_url(&source)
        .message_body("poison")
        .message_attributes("kind", string_attribute("poison"))
        .send()
        .await
        .unwrap();
    let id = sent.message_id().unwrap();
    let mut sent_timestamp = None;
    for count in 1..=3 {
        let out = sqs
            .receive_message()
            .queue_url(&source)
            .visibility_timeout(0)
            .message_system_attribute_names(S::All)
            .send()
            .await
            .unwrap();
        assert_eq!(out.messages().len(), 1, "receive {count} delivers");
        let attrs = out.messages()[0].attributes().unwrap();
        assert_eq!(attrs[&S::ApproximateReceiveCount], count.to_string());
        sent_timestamp = Some(attrs[&S::SentTimestamp].clone());
        assert_eq!(
            visible_count(&sqs, &dlq).await,
            0,
            "not moved after {count}"
        );
    }
    let fourth = sqs
        .receive_message()
        .queue_url(&source)
        .send()
        .await
        .unwrap();
    assert!(
        fourth.messages().is_empty(),
        "the 4th receive moves instead of delivering"
    );
    assert_eq!(visible_count(&sqs, &source).await, 0);
    assert_eq!(visible_count(&sqs, &dlq).await, 1);

    let out = sqs
        .receive_message()
        .queue_url(&dlq)
        .message_system_attribute_names(S::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let m = &out.messages()[0];
    assert_eq!(m.message_id(), Some(id));
    assert_eq!(m.body(), Some("poison"));
    assert_eq!(
        m.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    let attrs = m.attributes().unwrap();
    assert_eq!(
        attrs[&S::DeadLetterQueueSourceArn],
        queue_arn(&sqs, &source).await
    );
    assert_eq!(Some(&attrs[&S::SentTimestamp]), sent_timestamp.as_ref());

    let sources = sqs
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), [source]);
}

/// Lists the source's most recent move task until it is no longer RUNNING.
pub(super) async fn finished_task(
    sqs: &Client,
    source_arn: &str,
) -> ListMessageMoveTasksResultEntry {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = sqs
            .list_message_move_tasks()
            .source_arn(source_arn)
            .max_results(10)
            .send()
            .await
            .unwrap();
        let task = out.results().first().expect("a task").clone();
        if task.status() != Some("RUNNING") {
            return task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task still running: {task:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_move_task_returns_dead_letters_to_their_source_as_new_messages(env: &Env) {
    crate::needs!(env, MessageMoveTasks, SqsMovedMessageIds);
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 1).await;
    let old_ids = dead_letters(&sqs, &source, 3).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    let started = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert!(started.task_handle().is_some());

    let task = finished_task(&sqs, &dlq_arn).await;
    assert_eq!(task.status(), Some("COMPLETED"));
    assert_eq!(task.approximate_number_of_messages_moved(), 3);
    assert_eq!(task.approximate_number_of_messages_to_move(), Some(3));
    assert_eq!(task.source_arn(), Some(dlq_arn.as_str()));
    assert_eq!(task.destination_arn(), None);
    assert!(task.started_timestamp() > 0);
    assert_eq!(visible_count(&sqs, &dlq).await, 0);

    let out = sqs
        .receive_message()
        .queue_url(&source)
        .max_number_of_messages(10)
        .message_system_attribute_names(S::All)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 3);
    for m in out.messages() {
        assert!(
            !old_ids.contains(m.message_id().unwrap()),
            "a new message id"
        );
        let attrs = m.attributes().unwrap();
        assert_eq!(
            attrs[&S::ApproximateReceiveCount],
            "1",
            "receive count starts over"
        );
        assert!(!attrs.contains_key(&S::DeadLetterQueueSourceArn));
        assert!(m.body().unwrap().starts_with("dead "));
    }
}

async fn a_move_task_can_target_another_queue(env: &Env) {
    crate::needs!(env, MessageMoveTasks);
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 1).await;
    dead_letters(&sqs, &source, 2).await;
    let (_, other) = create_queue(&sqs, &[]).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    let other_arn = queue_arn(&sqs, &other).await;
    sqs.start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(&other_arn)
        .send()
        .await
        .unwrap();
    let task = finished_task(&sqs, &dlq_arn).await;
    assert_eq!(task.status(), Some("COMPLETED"));
    assert_eq!(task.destination_arn(), Some(other_arn.as_str()));
    assert_eq!(visible_count(&sqs, &other).await, 2);
    assert_eq!(visible_count(&sqs, &source).await, 0);
}

async fn move_task_errors(env: &Env) {
    crate::needs!(env, MessageMoveTasks, AwsErrorMessages);
    let sqs = env.sqs();
    let (plain, _) = create_queue(&sqs, &[]).await;
    let plain_arn = queue_arn(&sqs, &plain).await;
    let e = sqs
        .start_message_move_task()
        .source_arn(&plain_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "not a DLQ: {e:?}");
    let e = sqs
        .start_message_move_task()
        .source_arn("arn:aws:sqs:us-east-1:000000000000:no-such-queue")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = sqs
        .list_message_move_tasks()
        .source_arn("arn:aws:sqs:us-east-1:000000000000:no-such-queue")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    // A malformed handle is InvalidParameterValue (recorded answer).
    let e = sqs
        .cancel_message_move_task()
        .task_handle("bm90IGEgdGFzaw==")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");

    let (_, dlq) = queue_with_dlq(&sqs, 1).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    let e = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(501)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let e = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(&dlq_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    // An empty DLQ: the task completes with nothing to move.
    sqs.start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    let task = finished_task(&sqs, &dlq_arn).await;
    assert_eq!(task.status(), Some("COMPLETED"));
    assert_eq!(task.approximate_number_of_messages_moved(), 0);
    // Listing without tasks is an empty list.
    let (_, fresh_dlq) = queue_with_dlq(&sqs, 1).await;
    let out = sqs
        .list_message_move_tasks()
        .source_arn(queue_arn(&sqs, &fresh_dlq).await)
        .send()
        .await
        .unwrap();
    assert!(out.results().is_empty());
}

async fn a_dlq_redrive_allow_policy_decides_which_queues_may_use_it(env: &Env) {
    crate::needs!(env, SqsQueueAttributes);
    let sqs = env.sqs();
    let allowed = crate::support::unique("allowed");
    let allowed_arn = format!("arn:aws:sqs:us-east-1:000000000000:{allowed}");
    let allow = format!(r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{allowed_arn}"]}}"#);
    let (_, dlq) = create_queue(&sqs, &[(A::RedriveAllowPolicy, &allow)]).await;
    assert_eq!(
        queue_attribute(&sqs, &dlq, A::RedriveAllowPolicy)
            .await
            .as_deref(),
        Some(allow.as_str())
    );
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":5}}"#,
        queue_arn(&sqs, &dlq).await
    );
    sqs.create_queue()
        .queue_name(&allowed)
        .attributes(A::RedrivePolicy, &policy)
        .send()
        .await
        .unwrap();
    let (_, other) = create_queue(&sqs, &[]).await;
    let e = sqs
        .set_queue_attributes()
        .queue_url(&other)
        .attributes(A::RedrivePolicy, &policy)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_value(), "{e:?}");
    assert!(e.message().unwrap().contains("RedriveAllowPolicy"), "{e:?}");
    // An empty RedrivePolicy removes the policy.
    let allowed_url = sqs
        .get_queue_url()
        .queue_name(&allowed)
        .send()
        .await
        .unwrap();
    let allowed_url = allowed_url.queue_url().unwrap();
    sqs.set_queue_attributes()
        .queue_url(allowed_url)
        .attributes(A::RedrivePolicy, "")
        .send()
        .await
        .unwrap();
    assert_eq!(
        queue_attribute(&sqs, allowed_url, A::RedrivePolicy).await,
        None
    );
}
