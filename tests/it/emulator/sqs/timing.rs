//! What needs time to pass, in process under tokio's paused clock: the emulator's clock
//! follows tokio's, so `advance` (or an awaited sleep, which auto-advances) moves it.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{MessageSystemAttributeName as S, QueueAttributeName as A};
use tokio::time::{Instant, advance};

use super::redrive::{dead_letters, finished_task, queue_with_dlq};
use super::{create_queue, queue_arn, queue_attribute, send, visible_count};
use crate::support::{Edge, Env};

async fn env() -> Env {
    Env::start(Edge::InProcess).await
}

async fn receive(sqs: &Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(S::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_received_message_returns_when_its_visibility_timeout_expires() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let id = send(&sqs, &url, "m").await;
    assert_eq!(receive(&sqs, &url).await.len(), 1);
    advance(Duration::from_secs(29)).await;
    assert!(
        receive(&sqs, &url).await.is_empty(),
        "hidden for the default 30 s"
    );
    advance(Duration::from_secs(1)).await;
    let again = receive(&sqs, &url).await;
    assert_eq!(again[0].message_id(), Some(id.as_str()));
    assert_eq!(
        again[0].attributes().unwrap()[&S::ApproximateReceiveCount],
        "2"
    );
}

#[tokio::test(start_paused = true)]
async fn change_message_visibility_restarts_the_timeout_from_now() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::VisibilityTimeout, "30")]).await;
    send(&sqs, &url, "m").await;
    let handle = receive(&sqs, &url).await[0]
        .receipt_handle()
        .unwrap()
        .to_owned();
    advance(Duration::from_secs(20)).await;
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(60)
        .send()
        .await
        .unwrap();
    advance(Duration::from_secs(59)).await;
    assert!(
        receive(&sqs, &url).await.is_empty(),
        "hidden until 20 + 60 s"
    );
    advance(Duration::from_secs(1)).await;
    assert_eq!(receive(&sqs, &url).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn delayed_messages_appear_when_their_delay_ends() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::DelaySeconds, "10")]).await;
    send(&sqs, &url, "queue delay").await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("no delay")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    let now = receive(&sqs, &url).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].body(), Some("no delay"));
    assert_eq!(
        queue_attribute(&sqs, &url, A::ApproximateNumberOfMessagesDelayed)
            .await
            .as_deref(),
        Some("1")
    );
    // A long poll wakes when the delay ends, not at the end of its wait.
    let start = Instant::now();
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages()[0].body(), Some("queue delay"));
    assert_eq!(
        start.elapsed().as_secs(),
        10,
        "woke at {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_wakes_when_a_visibility_timeout_expires() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    send(&sqs, &url, "m").await;
    sqs.receive_message()
        .queue_url(&url)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap();
    let start = Instant::now();
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    assert_eq!(
        start.elapsed().as_secs(),
        5,
        "woke at {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_wakes_on_a_send_and_otherwise_waits_its_full_time() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::ReceiveMessageWaitTimeSeconds, "20")]).await;
    let start = Instant::now();
    assert!(receive(&sqs, &url).await.is_empty());
    assert_eq!(
        start.elapsed().as_secs(),
        20,
        "the queue's ReceiveMessageWaitTimeSeconds applies"
    );

    let start = Instant::now();
    let poller = {
        let (sqs, url) = (sqs.clone(), url.clone());
        tokio::spawn(async move { receive(&sqs, &url).await })
    };
    tokio::time::sleep(Duration::from_secs(7)).await;
    send(&sqs, &url, "wake").await;
    let got = poller.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        start.elapsed().as_secs(),
        7,
        "woke at {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn messages_older_than_the_retention_period_are_gone() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::MessageRetentionPeriod, "60")]).await;
    send(&sqs, &url, "old").await;
    advance(Duration::from_secs(30)).await;
    send(&sqs, &url, "young").await;
    advance(Duration::from_secs(30)).await;
    let left = receive(&sqs, &url).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].body(), Some("young"));
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_keeps_its_original_send_time_for_retention() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 1).await;
    sqs.set_queue_attributes()
        .queue_url(&dlq)
        .attributes(A::MessageRetentionPeriod, "60")
        .send()
        .await
        .unwrap();
    send(&sqs, &source, "m").await;
    assert_eq!(receive(&sqs, &source).await.len(), 1);
    advance(Duration::from_secs(40)).await;
    assert!(receive(&sqs, &source).await.is_empty(), "moved to the DLQ");
    assert_eq!(visible_count(&sqs, &dlq).await, 1);
    advance(Duration::from_secs(20)).await;
    assert_eq!(
        visible_count(&sqs, &dlq).await,
        0,
        "60 s after the original send"
    );
}

#[tokio::test(start_paused = true)]
async fn a_paced_move_task_runs_at_its_rate_one_at_a_time_and_can_be_cancelled() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 1).await;
    dead_letters(&sqs, &source, 5).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    sqs.start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(2)
        .send()
        .await
        .unwrap();
    let running = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap()
        .results()[0]
        .clone();
    assert_eq!(running.status(), Some("RUNNING"));
    assert!(running.task_handle().is_some());
    assert_eq!(running.max_number_of_messages_per_second(), Some(2));
    let e = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
    // ("only one active message movement task per queue"); wording from AWS's recorded answer.
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
    assert_eq!(
        e.message(),
        Some(
            "There is already a task running. Only one active task is allowed for a source queue \
             arn at a given time."
        )
    );

    let start = Instant::now();
    let done = finished_task(&sqs, &dlq_arn).await;
    assert_eq!(done.status(), Some("COMPLETED"));
    assert_eq!(done.approximate_number_of_messages_moved(), 5);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "2 per second: 5 take 3 batches"
    );
    assert_eq!(visible_count(&sqs, &source).await, 5);

    // Cancelling: refill the DLQ, start a slow task (its first message moves at once), cancel.
    sqs.purge_queue().queue_url(&source).send().await.unwrap();
    dead_letters(&sqs, &source, 4).await;
    let handle = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap()
        .task_handle
        .unwrap();
    let cancelled = sqs
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.approximate_number_of_messages_moved(), 1);
    advance(Duration::from_secs(10)).await;
    let task = finished_task(&sqs, &dlq_arn).await;
    assert_eq!(task.status(), Some("CANCELLED"));
    assert_eq!(task.approximate_number_of_messages_moved(), 1);
    assert_eq!(
        visible_count(&sqs, &dlq).await,
        3,
        "the rest stay in the DLQ"
    );
    let e = sqs
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_ends_when_its_queue_is_deleted() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = env().await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let start = Instant::now();
    let poller = {
        let (sqs, url) = (sqs.clone(), url.clone());
        tokio::spawn(async move {
            sqs.receive_message()
                .queue_url(url)
                .wait_time_seconds(20)
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let out = poller.await.unwrap().unwrap();
    assert!(out.messages().is_empty());
    assert_eq!(
        start.elapsed().as_secs(),
        3,
        "ended at {:?}",
        start.elapsed()
    );
}
