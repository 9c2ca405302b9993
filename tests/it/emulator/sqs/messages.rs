//! Messages: send, receive, delete, visibility, attributes and their MD5s, limits, and long
//! polling woken by a send.

use std::time::{Duration, Instant};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName as S};

use super::{create_queue, md5_hex, md5_of_attributes, send, string_attribute, visible_count};
use crate::support::Env;

crate::on_both_edges!(
    send_and_receive_return_the_md5_digests_aws_computes,
    message_attributes_round_trip_and_are_selected_by_name_prefix_or_all,
    system_attributes_report_receive_count_and_timestamps,
    oversized_and_invalid_messages_get_aws_errors,
    receive_parameters_are_validated,
    delete_message_removes_it_and_rejects_garbage_handles,
    change_message_visibility_to_zero_makes_a_message_receivable_at_once,
    long_poll_returns_as_soon_as_a_message_is_sent,
);

async fn send_and_receive_return_the_md5_digests_aws_computes(env: &Env) {
    crate::needs!(env, SqsSystemAttributeMd5);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("Test message.")
        .message_attributes("Attr1", string_attribute("hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some("e4e68fb7bd0e697a0ae8f1bb342846b3")
    );
    // The vector from AWS-SEMANTICS 4.3.
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some("0e8de68728d427c5c7d440433dd261c0")
    );
    assert_eq!(sent.md5_of_message_system_attributes(), None);

    let without = sqs
        .send_message()
        .queue_url(&url)
        .message_body("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(without.md5_of_message_attributes(), None);

    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 2);
    for m in messages {
        let body = m.body().unwrap();
        assert_eq!(m.md5_of_body(), Some(md5_hex(body.as_bytes()).as_str()));
        match m.message_attributes() {
            Some(attrs) if !attrs.is_empty() => assert_eq!(
                m.md5_of_message_attributes(),
                Some(md5_of_attributes(attrs).as_str())
            ),
            _ => assert_eq!(m.md5_of_message_attributes(), None),
        }
    }
    let traced = sqs
        .send_message()
        .queue_url(&url)
        .message_body("traced")
        .message_system_attributes(
            aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
            aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value("Root=1-5759e988-bd862e3fe1be46a994272793")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The same encoding as user attributes, over {AWSTraceHeader: String}.
    let trace = std::collections::HashMap::from([(
        "AWSTraceHeader".to_owned(),
        string_attribute("Root=1-5759e988-bd862e3fe1be46a994272793"),
    )]);
    assert_eq!(
        traced.md5_of_message_system_attributes(),
        Some(md5_of_attributes(&trace).as_str())
    );
}

async fn message_attributes_round_trip_and_are_selected_by_name_prefix_or_all(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let binary = MessageAttributeValue::builder()
        .data_type("Binary")
        .binary_value(Blob::new(vec![0u8, 1, 2, 255]))
        .build()
        .unwrap();
    let number = MessageAttributeValue::builder()
        .data_type("Number.int")
        .string_value("42")
        .build()
        .unwrap();
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("with attributes")
        .message_attributes("failure.stage", string_attribute("forward"))
        .message_attributes("failure.attempts", number.clone())
        .message_attributes("blob", binary.clone())
        .send()
        .await
        .unwrap();

    for (names, expected) in [
        (
            vec!["All"],
            vec!["blob", "failure.attempts", "failure.stage"],
        ),
        (
            vec![".*"],
            vec!["blob", "failure.attempts", "failure.stage"],
        ),
        (vec!["failure.*"], vec!["failure.attempts", "failure.stage"]),
        (vec!["blob", "missing"], vec!["blob"]),
        (vec![], vec![]),
    ] {
        let mut request = sqs.receive_message().queue_url(&url).visibility_timeout(0);
        for n in &names {
            request = request.message_attribute_names(*n);
        }
        let out = request.send().await.unwrap();
        let m = &out.messages()[0];
        let attrs = m.message_attributes().cloned().unwrap_or_default();
        let mut got: Vec<&str> = attrs.keys().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, expected, "selection {names:?}");
        if attrs.is_empty() {
            assert_eq!(m.md5_of_message_attributes(), None);
        } else {
            // The digest covers exactly the attributes returned.
            assert_eq!(
                m.md5_of_message_attributes(),
                Some(md5_of_attributes(&attrs).as_str())
            );
        }
        if expected.len() == 3 {
            assert_eq!(
                m.md5_of_message_attributes(),
                sent.md5_of_message_attributes()
            );
            assert_eq!(attrs["blob"], binary);
            assert_eq!(attrs["failure.attempts"], number);
            assert_eq!(attrs["failure.stage"].string_value(), Some("forward"));
        }
    }
}

async fn system_attributes_report_receive_count_and_timestamps(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let id = send(&sqs, &url, "counted").await;
    let mut first_receive = None;
    for count in 1..=3 {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .message_system_attribute_names(S::All)
            .send()
            .await
            .unwrap();
        let m = &out.messages()[0];
        assert_eq!(m.message_id(), Some(id.as_str()));
        let attrs = m.attributes().unwrap();
        assert_eq!(attrs[&S::ApproximateReceiveCount], count.to_string());
        let sent: i64 = attrs[&S::SentTimestamp].parse().unwrap();
        assert!((sent - before).abs() < 60_000, "SentTimestamp is epoch ms");
        assert!(attrs.contains_key(&S::SenderId));
        let first = attrs[&S::ApproximateFirstReceiveTimestamp].clone();
        assert_eq!(first_receive.get_or_insert(first.clone()), &first);
        assert!(!attrs.contains_key(&S::DeadLetterQueueSourceArn));
    }
    // Only what was asked for, also through the older AttributeNames member.
    #[allow(deprecated)]
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::from(
            "ApproximateReceiveCount",
        ))
        .send()
        .await
        .unwrap();
    let attrs = out.messages()[0].attributes().unwrap();
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs[&S::ApproximateReceiveCount], "4");
}

async fn oversized_and_invalid_messages_get_aws_errors(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    // Exactly 1 MiB is allowed; one byte more is not.
    sqs.send_message()
        .queue_url(&url)
        .message_body("x".repeat(1_048_576))
        .send()
        .await
        .unwrap();
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1_048_577))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    assert_eq!(
        e.message(),
        Some(
            "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
        )
    );
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("bell \u{7}")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_message_contents(), "{e:?}");
    let mut eleven = sqs.send_message().queue_url(&url).message_body("many");
    for i in 0..11 {
        eleven = eleven.message_attributes(format!("a{i}"), string_attribute("v"));
    }
    let e = eleven.send().await.unwrap_err().into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_attributes("AWS.reserved", string_attribute("v"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .delay_seconds(901)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    // A queue's own MaximumMessageSize applies too.
    let (_, small) = create_queue(
        &sqs,
        &[(
            aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
            "1024",
        )],
    )
    .await;
    let e = sqs
        .send_message()
        .queue_url(&small)
        .message_body("x".repeat(1025))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        e.message().unwrap().contains("shorter than 1024 bytes"),
        "{e:?}"
    );
    assert_eq!(visible_count(&sqs, &url).await, 1);
}

async fn receive_parameters_are_validated(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    for (max, wait, vis) in [(11, 0, 30), (0, 0, 30), (1, 21, 30), (1, 0, 43_201)] {
        let e = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait)
            .visibility_timeout(vis)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(
            e.code(),
            Some("InvalidParameterValue"),
            "{max} {wait} {vis}"
        );
    }
    for i in 0..12 {
        send(&sqs, &url, &i.to_string()).await;
    }
    let out = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 10);
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(out.messages().len(), 1, "MaxNumberOfMessages defaults to 1");
}

async fn delete_message_removes_it_and_rejects_garbage_handles(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    send(&sqs, &url, "to delete").await;
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap().to_owned();
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap();
    // Deleting again with the same handle is not an error, as on AWS.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap();
    let counts = super::queue_attribute(
        &sqs,
        &url,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    )
    .await;
    assert_eq!(counts.as_deref(), Some("0"));
    let e = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle("garbage")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_receipt_handle_is_invalid(), "{e:?}");
    // A handle from another queue is not valid here either.
    let (_, other) = create_queue(&sqs, &[]).await;
    let e = sqs
        .delete_message()
        .queue_url(&other)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_receipt_handle_is_invalid(), "{e:?}");
}

async fn change_message_visibility_to_zero_makes_a_message_receivable_at_once(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let id = send(&sqs, &url, "again").await;
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap().to_owned();
    assert!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let out = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(out.messages()[0].message_id(), Some(id.as_str()));
    // An earlier receive's handle, and a deleted message's: recorded.rs
    // (change_message_visibility_with_an_earlier_handle_acts_on_the_message,
    // change_message_visibility_of_a_deleted_message_is_invalid_parameter_value).
    let e = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle("garbage")
        .visibility_timeout(10)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_receipt_handle_is_invalid(), "{e:?}");
}

async fn long_poll_returns_as_soon_as_a_message_is_sent(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let started = Instant::now();
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
    // Let the poll reach the queue and start waiting before the message exists.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = send(&sqs, &url, "wake up").await;
    let out = poller.await.unwrap().unwrap();
    assert_eq!(out.messages()[0].message_id(), Some(id.as_str()));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the poll waited {:?} instead of returning on the send",
        started.elapsed()
    );
}
