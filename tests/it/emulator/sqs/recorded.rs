//! Answers checked against responses recorded on real AWS (issue 11, "Answers that differ from
//! AWS's recorded ones"): each test is one recorded behaviour, named after it. Where the SDK
//! hides the difference (an absent key, a header), the request is raw JSON.

use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName as S, QueueAttributeName as A, SendMessageBatchRequestEntry,
};
use serde_json::json;

use super::raw;
use super::redrive::{dead_letters, queue_with_dlq};
use super::{create_queue, md5_of_attributes, queue_arn, queue_attribute, send, string_attribute};
use crate::support::{Edge, Env, unique};

crate::on_both_edges!(
    change_message_visibility_of_a_deleted_message_is_invalid_parameter_value,
    change_message_visibility_with_an_earlier_handle_acts_on_the_message,
    create_queue_keeps_its_tags,
    json_errors_carry_the_modelled_shape_and_the_query_code,
    message_attribute_names_select_by_prefix,
    empty_queue_urls_and_failed_lists_are_absent,
    create_queue_within_60_seconds_of_deleting_it_is_queue_deleted_recently,
    message_group_id_is_validated_on_standard_queues,
    attribute_names_allow_any_letters_and_string_values_no_control_characters,
    x_amzn_trace_id_becomes_aws_trace_header,
    an_empty_policy_removes_it_and_a_redrive_policy_needs_max_receive_count,
    batch_size_errors_name_the_sizes,
    fifo_only_attributes_on_a_standard_queue_are_unknown_attributes,
    cancel_message_move_task_checks_its_handle,
);

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html;
/// recorded: InvalidParameterValue naming the handle (not MessageNotInflight).
async fn change_message_visibility_of_a_deleted_message_is_invalid_parameter_value(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    send(&sqs, &url, "m").await;
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap().to_owned();
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap();
    let e = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
    assert_eq!(
        e.message().map(str::to_owned),
        Some(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not \
             exist or is not available for visibility timeout change."
        ))
    );
}

/// Recorded: with the receipt handle of an earlier receive of a message received again,
/// ChangeMessageVisibility succeeds and `VisibilityTimeout=0` makes it receivable at once.
async fn change_message_visibility_with_an_earlier_handle_acts_on_the_message(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let id = send(&sqs, &url, "m").await;
    let first = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let earlier = first.messages()[0].receipt_handle().unwrap().to_owned();
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&earlier)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let second = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(second.messages()[0].message_id(), Some(id.as_str()));
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&earlier)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let third = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(third.messages()[0].message_id(), Some(id.as_str()));
}

/// Recorded: after the visibility timeout expired and before another receive,
/// ChangeMessageVisibility succeeds (and hides the message again).
#[tokio::test(start_paused = true)]
async fn change_message_visibility_after_the_timeout_expired_succeeds() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::VisibilityTimeout, "1")]).await;
    send(&sqs, &url, "m").await;
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap().to_owned();
    tokio::time::advance(Duration::from_secs(2)).await;
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(30)
        .send()
        .await
        .unwrap();
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert!(out.messages().is_empty(), "hidden again for 30 s");
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
/// (`tags`); recorded: ListQueueTags returns them.
async fn create_queue_keeps_its_tags(env: &Env) {
    let sqs = env.sqs();
    let url = sqs
        .create_queue()
        .queue_name(unique("tagged"))
        .tags("team", "ingest")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("ingest")
    );
}

/// Recorded JSON-protocol errors: `__type` is the modelled shape
/// (`InvalidParameterValueException`, `MissingRequiredParameterException`) while
/// `x-amzn-query-error` keeps the query code (`InvalidParameterValue;Sender`).
async fn json_errors_carry_the_modelled_shape_and_the_query_code(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let answer = raw::sqs_json(
        env,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x", "DelaySeconds": 901}),
        &[],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.json()["__type"],
        "com.amazonaws.sqs#InvalidParameterValueException"
    );
    assert_eq!(
        answer.header("x-amzn-query-error"),
        Some("InvalidParameterValue;Sender")
    );
    let answer = raw::sqs_json(env, "SendMessage", json!({"QueueUrl": url}), &[]).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.json()["__type"],
        "com.amazonaws.sqs#MissingRequiredParameterException"
    );
    assert_eq!(
        answer.header("x-amzn-query-error"),
        Some("MissingParameter;Sender")
    );
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
/// ("return all of the attributes starting with the bar prefix by specifying bar.*");
/// recorded: `Hel.*` returns `Hello` and `Help.Me`, with their MD5OfMessageAttributes.
async fn message_attribute_names_select_by_prefix(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .message_attributes("Hello", string_attribute("a"))
        .message_attributes("Help.Me", string_attribute("b"))
        .message_attributes("Other", string_attribute("c"))
        .send()
        .await
        .unwrap();
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("Hel.*")
        .send()
        .await
        .unwrap();
    let message = &out.messages()[0];
    let attributes = message.message_attributes().unwrap();
    let mut names: Vec<_> = attributes.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["Hello", "Help.Me"]);
    assert_eq!(
        message.md5_of_message_attributes(),
        Some(md5_of_attributes(attributes).as_str())
    );
}

/// Recorded: ListQueues matching nothing has no `QueueUrls` key; SendMessageBatch and
/// DeleteMessageBatch with no failure have no `Failed` key.
async fn empty_queue_urls_and_failed_lists_are_absent(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let listed = raw::sqs_json(
        env,
        "ListQueues",
        json!({"QueueNamePrefix": unique("nothing-here")}),
        &[],
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.json().get("QueueUrls").is_none(), "{}", listed.body);

    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let sent = raw::sqs_json(
        env,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "m"}]}),
        &[],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.json().get("Failed").is_none(), "{}", sent.body);
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap();
    let deleted = raw::sqs_json(
        env,
        "DeleteMessageBatch",
        json!({"QueueUrl": url, "Entries": [{"Id": "a", "ReceiptHandle": handle}]}),
        &[],
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.json().get("Failed").is_none(), "{}", deleted.body);
    assert_eq!(deleted.json()["Successful"][0]["Id"], "a");
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html
/// ("wait at least 60 seconds before creating a queue with the same name"); recorded code
/// and message.
async fn create_queue_within_60_seconds_of_deleting_it_is_queue_deleted_recently(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (name, url) = create_queue(&sqs, &[]).await;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let e = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_queue_deleted_recently(), "{e:?}");
    assert_eq!(
        e.message(),
        Some(
            "You must wait 60 seconds after deleting a queue before you can create another \
             with the same name."
        )
    );
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
/// (`MessageGroupId`: up to 128 alphanumeric and punctuation characters); recorded: checked
/// on standard queues too.
async fn message_group_id_is_validated_on_standard_queues(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    for bad in [String::new(), "g".repeat(129), "group 123".into()] {
        let e = sqs
            .send_message()
            .queue_url(&url)
            .message_body("m")
            .message_group_id(&bad)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(e.code(), Some("InvalidParameterValue"), "{bad:?}: {e:?}");
    }
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .message_group_id("group-1!_~")
        .send()
        .await
        .unwrap();
}

/// Recorded: attribute names may hold non-ASCII letters (`attr.1øßä`); a String value with
/// control characters is InvalidParameterValue (not InvalidMessageContents).
async fn attribute_names_allow_any_letters_and_string_values_no_control_characters(env: &Env) {
    crate::needs!(env, StrictValidation, AwsErrorMessages);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .message_attributes("attr.1øßä", string_attribute("v"))
        .send()
        .await
        .unwrap();
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_attributes("a", string_attribute("bad\u{1}value"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
}

/// https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html (SQS carries the
/// trace header as `AWSTraceHeader`); recorded with the `X-Amzn-Trace-Id` header.
async fn x_amzn_trace_id_becomes_aws_trace_header(env: &Env) {
    crate::needs!(env, UnsignedRequests);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let sent = raw::sqs_json(
        env,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "traced"}),
        &[("x-amzn-trace-id", trace)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(S::AwsTraceHeader)
        .send()
        .await
        .unwrap();
    let attributes = out.messages()[0].attributes().unwrap();
    assert_eq!(
        attributes.get(&S::AwsTraceHeader).map(String::as_str),
        Some(trace)
    );
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html;
/// recorded: `Policy=""` removes the policy; a RedrivePolicy without maxReceiveCount is
/// InvalidParameterValue.
async fn an_empty_policy_removes_it_and_a_redrive_policy_needs_max_receive_count(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let arn = queue_arn(&sqs, &url).await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn}],
    })
    .to_string();
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::Policy, &policy)
        .send()
        .await
        .unwrap();
    assert!(queue_attribute(&sqs, &url, A::Policy).await.is_some());
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::Policy, "")
        .send()
        .await
        .unwrap();
    assert_eq!(queue_attribute(&sqs, &url, A::Policy).await, None);

    let (_, dlq) = create_queue(&sqs, &[]).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    let e = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            A::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn}).to_string(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
/// (the 1 MiB batch limit); recorded messages for a batch too long and an entry too large.
async fn batch_size_errors_name_the_sizes(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let entry = |id: &str, size: usize| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body("x".repeat(size))
            .build()
            .unwrap()
    };
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", 600_000))
        .entries(entry("b", 600_000))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_batch_request_too_long(), "{e:?}");
    assert_eq!(
        e.message(),
        Some("Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes.")
    );

    let (_, small) = create_queue(&sqs, &[(A::MaximumMessageSize, "1024")]).await;
    let out = sqs
        .send_message_batch()
        .queue_url(&small)
        .entries(entry("big", 2000))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.failed()[0].message(),
        Some(
            "One or more parameters cannot be validated. Reason: Message must be shorter than \
             1024 bytes."
        )
    );
}

/// Recorded: FIFO-only attributes on a standard queue are InvalidAttributeName, worded
/// "Unknown Attribute FifoQueue." / "You can specify the DeduplicationScope only when FifoQueue
/// is set to true.".
async fn fifo_only_attributes_on_a_standard_queue_are_unknown_attributes(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let cases = [
        (A::FifoQueue, "true", "Unknown Attribute FifoQueue."),
        (
            A::ContentBasedDeduplication,
            "true",
            "Unknown Attribute ContentBasedDeduplication.",
        ),
        (
            A::DeduplicationScope,
            "messageGroup",
            "You can specify the DeduplicationScope only when FifoQueue is set to true.",
        ),
        (
            A::FifoThroughputLimit,
            "perMessageGroupId",
            "You can specify the FifoThroughputLimit only when FifoQueue is set to true.",
        ),
    ];
    for (name, value, message) in cases {
        let e = sqs
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(name.clone(), value)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(e.code(), Some("InvalidAttributeName"), "{name:?}: {e:?}");
        assert_eq!(e.message(), Some(message), "{name:?}");
    }
}

/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html;
/// recorded: a malformed handle is 400 InvalidParameterValue "Value for parameter TaskHandle is
/// invalid."; a handle naming a missing source queue is 404 ResourceNotFoundException.
async fn cancel_message_move_task_checks_its_handle(env: &Env) {
    crate::needs!(env, MessageMoveTasks, AwsErrorMessages);
    let sqs = env.sqs();
    let e = sqs
        .cancel_message_move_task()
        .task_handle("not a handle")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"), "{e:?}");
    assert_eq!(
        e.message(),
        Some("Value for parameter TaskHandle is invalid.")
    );

    let (_, dlq) = queue_with_dlq(&sqs, 1).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    // A paced task stays running; its handle outlives the source queue.
    let handle = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap()
        .task_handle
        .unwrap();
    sqs.delete_queue().queue_url(&dlq).send().await.unwrap();
    let e = sqs
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap_err();
    let status = e.raw_response().map(|r| r.status().as_u16());
    let e = e.into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(status, Some(404));
    assert_eq!(
        e.message(),
        Some("The resource that you specified for the SourceArn parameter doesn't exist.")
    );
}

/// Recorded: a move task whose destination queue is deleted ends FAILED with FailureReason
/// `AWS.SimpleQueueService.NonExistentQueue`.
#[tokio::test(start_paused = true)]
async fn a_move_task_whose_destination_is_deleted_fails_with_non_existent_queue() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let env = Env::start(Edge::InProcess).await;
    let sqs = env.sqs();
    let (source, dlq) = queue_with_dlq(&sqs, 1).await;
    dead_letters(&sqs, &source, 3).await;
    let (_, destination) = create_queue(&sqs, &[]).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    sqs.start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(queue_arn(&sqs, &destination).await)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    sqs.delete_queue()
        .queue_url(&destination)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let task = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap()
        .results()[0]
        .clone();
    assert_eq!(task.status(), Some("FAILED"));
    assert_eq!(
        task.failure_reason(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
}
