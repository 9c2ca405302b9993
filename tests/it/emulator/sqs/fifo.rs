//! FIFO queues through the official SDK: `.fifo` names, `MessageGroupId` ordering with one
//! in-flight batch per group, `MessageDeduplicationId` and content-based deduplication within
//! the 5-minute window, `SequenceNumber`, `DeduplicationScope` / `FifoThroughputLimit`, FIFO
//! dead-letter queues and redrive.
//!
//! Sources: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html,
//! .../using-messagededuplicationid-property.html, .../using-messagegroupid-property.html,
//! .../high-throughput-fifo.html, .../sqs-dead-letter-queues.html and the SQS API Reference
//! (SendMessage, ReceiveMessage, CreateQueue).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    Message, MessageSystemAttributeName as S, QueueAttributeName as A, SendMessageBatchRequestEntry,
};

use sha2::{Digest, Sha256};

use super::{queue_arn, queue_attribute, visible_count};
use crate::support::{Env, unique};

crate::on_both_edges!(
    fifo_queues_have_fifo_names_and_report_their_attributes,
    fifo_sends_need_a_group_and_a_deduplication_id,
    a_duplicate_within_the_window_is_accepted_and_delivered_once,
    deduplication_per_message_group_keeps_equal_ids_of_other_groups,
    a_group_is_delivered_in_order_one_batch_at_a_time,
    fifo_batches_answer_sequence_numbers,
    a_fifo_queue_dead_letters_to_a_fifo_queue_in_order,
);

async fn fifo_queue(sqs: &Client, attributes: &[(A, &str)]) -> String {
    let mut request = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", unique("f")))
        .attributes(A::FifoQueue, "true");
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    request
        .send()
        .await
        .expect("create FIFO queue")
        .queue_url
        .expect("url")
}

/// Sends `body` to a FIFO queue; returns (MessageId, SequenceNumber).
async fn send(sqs: &Client, url: &str, body: &str, group: &str, dedup: &str) -> (String, String) {
    let out = sqs
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .expect("send to FIFO queue");
    (
        out.message_id.expect("message id"),
        out.sequence_number
            .expect("a FIFO send answers a SequenceNumber"),
    )
}

async fn receive(sqs: &Client, url: &str, visibility: i32) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .message_system_attribute_names(S::All)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter_map(Message::body).collect()
}

async fn fifo_queues_have_fifo_names_and_report_their_attributes(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    assert!(url.ends_with(".fifo"), "{url}");
    for (name, value) in [
        (A::FifoQueue, "true"),
        (A::ContentBasedDeduplication, "false"),
        (A::DeduplicationScope, "queue"),
        (A::FifoThroughputLimit, "perQueue"),
    ] {
        assert_eq!(
            queue_attribute(&sqs, &url, name.clone()).await.as_deref(),
            Some(value),
            "{name:?}"
        );
    }
    // A FIFO queue's name ends with .fifo, and only a FIFO queue's does.
    let e = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", unique("f")))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
    let e = sqs
        .create_queue()
        .queue_name(unique("f"))
        .attributes(A::FifoQueue, "true")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
}

async fn fifo_sends_need_a_group_and_a_deduplication_id(env: &Env) {
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_deduplication_id("d")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("MissingParameter"), "{e:?}");
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_group_id("g")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
    // FIFO queues take the queue's delay only.
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_group_id("g")
        .message_deduplication_id("d")
        .delay_seconds(5)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
}

async fn a_duplicate_within_the_window_is_accepted_and_delivered_once(env: &Env) {
    crate::needs!(env, SqsFifoOrdering);
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    // The duplicate is acknowledged (the emulator answers the first message's ids; AWS's
    // documentation says only "acknowledged but not delivered").
    let (_, first) = send(&sqs, &url, "once", "g", "dedup-1").await;
    send(&sqs, &url, "once", "g", "dedup-1").await;
    let (_, later) = send(&sqs, &url, "other", "g", "dedup-2").await;
    assert!(
        later > first,
        "sequence numbers increase: {later} > {first}"
    );
    assert_eq!(visible_count(&sqs, &url).await, 2);

    // Content-based: the body's SHA-256 is the deduplication id.
    let url = fifo_queue(&sqs, &[(A::ContentBasedDeduplication, "true")]).await;
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&url)
            .message_body("same body")
            .message_group_id("g")
            .send()
            .await
            .unwrap();
    }
    let got = receive(&sqs, &url, 30).await;
    assert_eq!(bodies(&got), ["same body"]);
    let attributes = got[0].attributes().unwrap();
    let sha256: String = Sha256::digest(b"same body")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        attributes.get(&S::MessageDeduplicationId),
        Some(&sha256),
        "the body's SHA-256"
    );
}

async fn deduplication_per_message_group_keeps_equal_ids_of_other_groups(env: &Env) {
    crate::needs!(env, SqsDeduplicationScope);
    let sqs = env.sqs();
    let url = fifo_queue(
        &sqs,
        &[
            (A::DeduplicationScope, "messageGroup"),
            (A::FifoThroughputLimit, "perMessageGroupId"),
        ],
    )
    .await;
    assert_eq!(
        queue_attribute(&sqs, &url, A::FifoThroughputLimit)
            .await
            .as_deref(),
        Some("perMessageGroupId")
    );
    send(&sqs, &url, "a", "group-a", "same").await;
    send(&sqs, &url, "b", "group-b", "same").await;
    send(&sqs, &url, "a again", "group-a", "same").await;
    assert_eq!(visible_count(&sqs, &url).await, 2);
}

async fn a_group_is_delivered_in_order_one_batch_at_a_time(env: &Env) {
    crate::needs!(env, SqsFifoOrdering);
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    for (i, (body, group)) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")]
        .into_iter()
        .enumerate()
    {
        send(&sqs, &url, body, group, &i.to_string()).await;
    }
    let batch = receive(&sqs, &url, 30).await;
    assert_eq!(bodies(&batch), ["a1", "a2", "b1", "a3"]);
    let a1 = batch[0].attributes().unwrap();
    assert_eq!(a1.get(&S::MessageGroupId).map(String::as_str), Some("a"));
    assert_eq!(
        a1.get(&S::MessageDeduplicationId).map(String::as_str),
        Some("0")
    );
    assert!(a1.get(&S::SequenceNumber).is_some_and(|n| n.len() == 20));

    // Both groups are in flight: nothing more, even a new message of group a.
    send(&sqs, &url, "a4", "a", "4").await;
    assert!(receive(&sqs, &url, 30).await.is_empty());
    // Group b is done; group a is still held back.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(batch[2].receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    send(&sqs, &url, "b2", "b", "5").await;
    assert_eq!(bodies(&receive(&sqs, &url, 30).await), ["b2"]);
    // Group a's messages return (visibility 0), in order, before a4.
    for m in &batch[..2] {
        sqs.change_message_visibility()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    assert!(
        receive(&sqs, &url, 30).await.is_empty(),
        "a3 is still in flight, so group a stays held back"
    );
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(batch[3].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bodies(&receive(&sqs, &url, 30).await),
        ["a1", "a2", "a3", "a4"]
    );
}

async fn fifo_batches_answer_sequence_numbers(env: &Env) {
    crate::needs!(env, SqsFifoOrdering);
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    let entry = |id: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(format!("body {id}"))
            .message_group_id("g")
            .message_deduplication_id(id)
            .build()
            .unwrap()
    };
    let out = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("one"))
        .entries(entry("two"))
        .send()
        .await
        .unwrap();
    assert!(out.failed().is_empty(), "{out:?}");
    let numbers: Vec<&str> = out
        .successful()
        .iter()
        .map(|e| e.sequence_number().expect("SequenceNumber"))
        .collect();
    assert_eq!(numbers.len(), 2);
    assert!(numbers[0] < numbers[1], "{numbers:?}");
    assert_eq!(
        bodies(&receive(&sqs, &url, 30).await),
        ["body one", "body two"]
    );
}

async fn a_fifo_queue_dead_letters_to_a_fifo_queue_in_order(env: &Env) {
    crate::needs!(env, SqsFifoOrdering);
    let sqs = env.sqs();
    let url = fifo_queue(&sqs, &[]).await;
    let standard = sqs
        .create_queue()
        .queue_name(unique("std-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let policy = |arn: &str| format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":1}}"#);
    // The dead-letter queue of a FIFO queue must also be a FIFO queue (moto's code and wording).
    let e = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(A::RedrivePolicy, policy(&queue_arn(&sqs, &standard).await))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterCombination"), "{e:?}");

    let dlq = fifo_queue(&sqs, &[]).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::RedrivePolicy, policy(&dlq_arn))
        .send()
        .await
        .unwrap();
    send(&sqs, &url, "first", "g", "1").await;
    send(&sqs, &url, "second", "g", "2").await;
    assert_eq!(bodies(&receive(&sqs, &url, 0).await), ["first", "second"]);
    // Received once already (maxReceiveCount 1): the next receive moves both to the DLQ.
    assert!(receive(&sqs, &url, 0).await.is_empty());
    let dead = receive(&sqs, &dlq, 0).await;
    assert_eq!(bodies(&dead), ["first", "second"]);
    let attributes = dead[0].attributes().unwrap();
    assert_eq!(
        attributes.get(&S::MessageGroupId).map(String::as_str),
        Some("g")
    );
    assert!(attributes.get(&S::SequenceNumber).is_some());

    // Redrive back to the FIFO source, in order, with new sequence numbers.
    crate::require!(MessageMoveTasks);
    sqs.start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    let back = receive(&sqs, &url, 30).await;
    assert_eq!(bodies(&back), ["first", "second"]);
    let numbers: Vec<&String> = back
        .iter()
        .filter_map(|m| m.attributes()?.get(&S::SequenceNumber))
        .collect();
    assert_eq!(numbers.len(), 2);
    assert!(numbers[0] < numbers[1]);
}
