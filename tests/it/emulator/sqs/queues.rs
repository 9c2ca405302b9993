//! Queue operations: create (idempotent), URL, attributes, list, delete, purge, tags.

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName as A;

use super::{create_queue, queue_arn, queue_attribute, send, visible_count};
use crate::support::{Env, unique};

crate::on_both_edges!(
    create_queue_is_idempotent_only_with_the_same_attributes,
    queue_url_and_arn_name_the_queue,
    a_missing_queue_is_queue_does_not_exist_for_every_operation,
    queue_attributes_report_defaults_settings_and_counts,
    invalid_queue_attributes_are_rejected,
    list_queues_filters_by_prefix_and_paginates,
    delete_queue_removes_it,
    purge_queue_deletes_all_messages_once_a_minute,
    tags_round_trip,
);

async fn create_queue_is_idempotent_only_with_the_same_attributes(env: &Env) {
    crate::needs!(env, AwsErrorMessages);
    let sqs = env.sqs();
    let (name, url) = create_queue(&sqs, &[(A::VisibilityTimeout, "60")]).await;
    let again = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(A::VisibilityTimeout, "60")
        .send()
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(url.as_str()));
    // Attributes not given are not compared.
    sqs.create_queue().queue_name(&name).send().await.unwrap();
    let err = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(A::VisibilityTimeout, "61")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_queue_name_exists(), "{err:?}");
    assert!(err.message().unwrap().contains("VisibilityTimeout"));

    let err = sqs
        .create_queue()
        .queue_name("bad name!")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
}

async fn queue_url_and_arn_name_the_queue(env: &Env) {
    let sqs = env.sqs();
    let (name, url) = create_queue(&sqs, &[]).await;
    assert!(url.ends_with(&format!("/000000000000/{name}")), "{url}");
    let got = sqs.get_queue_url().queue_name(&name).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));
    assert_eq!(
        queue_arn(&sqs, &url).await,
        format!("arn:aws:sqs:us-east-1:000000000000:{name}")
    );
    // Any host works: the queue is found by the URL's last path segment.
    let elsewhere = format!("https://sqs.us-east-1.amazonaws.com/000000000000/{name}");
    send(&sqs, &elsewhere, "hi").await;
    assert_eq!(visible_count(&sqs, &url).await, 1);
}

async fn a_missing_queue_is_queue_does_not_exist_for_every_operation(env: &Env) {
    let sqs = env.sqs();
    let name = unique("missing");
    let url = format!("http://localhost:4566/000000000000/{name}");
    let e = sqs
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
    let e = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
    let e = sqs.delete_queue().queue_url(&url).send().await.unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
    let e = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_queue_does_not_exist());
    assert_eq!(e.message(), Some("The specified queue does not exist."));
    let e = sqs.purge_queue().queue_url(&url).send().await.unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
}

async fn queue_attributes_report_defaults_settings_and_counts(env: &Env) {
    crate::needs!(env, SqsQueueAttributes);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[(A::DelaySeconds, "0")]).await;
    let all = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let get = |k: A| all.get(&k).cloned().unwrap_or_default();
    assert_eq!(get(A::VisibilityTimeout), "30");
    assert_eq!(get(A::MessageRetentionPeriod), "345600");
    assert_eq!(get(A::MaximumMessageSize), "1048576");
    assert_eq!(get(A::ReceiveMessageWaitTimeSeconds), "0");
    assert_eq!(get(A::ApproximateNumberOfMessages), "0");
    let created: i64 = get(A::CreatedTimestamp).parse().unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (created - now_s).abs() < 60,
        "CreatedTimestamp is epoch seconds"
    );
    assert!(get(A::LastModifiedTimestamp).parse::<i64>().is_ok());

    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::VisibilityTimeout, "45")
        .attributes(A::DelaySeconds, "0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        queue_attribute(&sqs, &url, A::VisibilityTimeout)
            .await
            .as_deref(),
        Some("45")
    );

    send(&sqs, &url, "a").await;
    send(&sqs, &url, "b").await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("later")
        .delay_seconds(600)
        .send()
        .await
        .unwrap();
    sqs.receive_message().queue_url(&url).send().await.unwrap();
    let counts = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(counts[&A::ApproximateNumberOfMessages], "1");
    assert_eq!(counts[&A::ApproximateNumberOfMessagesNotVisible], "1");
    assert_eq!(counts[&A::ApproximateNumberOfMessagesDelayed], "1");
    assert_eq!(counts.len(), 3, "only the attributes asked for: {counts:?}");
}

async fn invalid_queue_attributes_are_rejected(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let e = sqs
        .create_queue()
        .queue_name(unique("q"))
        .attributes(A::VisibilityTimeout, "43201")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_value(), "{e:?}");
    assert!(e.message().unwrap().contains("VisibilityTimeout"));
    let e = sqs
        .create_queue()
        .queue_name(unique("q"))
        .attributes(A::RedrivePolicy, r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}"#)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_value(), "{e:?}");
    assert!(
        e.message()
            .unwrap()
            .contains("Dead letter target does not exist")
    );

    let (_, url) = create_queue(&sqs, &[]).await;
    let e = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(A::MessageRetentionPeriod, "10")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_value(), "{e:?}");
    let e = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(A::QueueArn, "arn:aws:sqs:us-east-1:000000000000:other")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_name(), "{e:?}");
    let e = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::from("Bogus"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_attribute_name(), "{e:?}");
}

async fn list_queues_filters_by_prefix_and_paginates(env: &Env) {
    crate::needs!(env, Pagination);
    let sqs = env.sqs();
    let prefix = unique("list");
    let mut urls = Vec::new();
    for i in 0..5 {
        let url = sqs
            .create_queue()
            .queue_name(format!("{prefix}-{i}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        urls.push(url);
    }
    create_queue(&sqs, &[]).await;
    let all = sqs
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    assert_eq!(all.queue_urls(), urls.as_slice());
    assert!(all.next_token().is_none());

    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = sqs
            .list_queues()
            .queue_name_prefix(&prefix)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.queue_urls().len() <= 2);
        paged.extend(page.queue_urls().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, urls);
    let e = sqs.list_queues().max_results(0).send().await.unwrap_err();
    assert_eq!(e.into_service_error().code(), Some("InvalidParameterValue"));
}

async fn delete_queue_removes_it(env: &Env) {
    let sqs = env.sqs();
    let (name, url) = create_queue(&sqs, &[]).await;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let e = sqs
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_queue_does_not_exist());
    let listed = sqs
        .list_queues()
        .queue_name_prefix(&name)
        .send()
        .await
        .unwrap();
    assert!(listed.queue_urls().is_empty());
}

async fn purge_queue_deletes_all_messages_once_a_minute(env: &Env) {
    crate::needs!(env, SqsPurgeLimit);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    for body in ["a", "b", "c"] {
        send(&sqs, &url, body).await;
    }
    sqs.receive_message().queue_url(&url).send().await.unwrap();
    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    assert_eq!(visible_count(&sqs, &url).await, 0);
    let e = sqs.purge_queue().queue_url(&url).send().await.unwrap_err();
    assert!(e.into_service_error().is_purge_queue_in_progress());
}

async fn tags_round_trip(env: &Env) {
    let sqs = env.sqs();
    let name = unique("tagged");
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .tags("team", "data")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.tag_queue()
        .queue_url(&url)
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    sqs.untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags["env"], "test");
}
