//! The batch operations: per-entry results, and the request-level errors with their own codes.

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    SendMessageBatchRequestEntry,
};

use super::{create_queue, md5_hex, string_attribute, visible_count};
use crate::support::Env;

crate::on_both_edges!(
    batches_report_each_entry,
    batch_request_errors_have_their_own_codes,
);

fn entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

async fn batches_report_each_entry(env: &Env) {
    crate::needs!(env, StrictValidation);
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let out = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("ok-1", "one"))
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("ok_2")
                .message_body("two")
                .message_attributes("Attr1", string_attribute("hello"))
                .build()
                .unwrap(),
        )
        .entries(entry("bad", "nul \u{0}"))
        .send()
        .await
        .unwrap();
    let ok: Vec<_> = out.successful().iter().map(|e| e.id()).collect();
    assert_eq!(ok, ["ok-1", "ok_2"]);
    assert_eq!(out.successful()[0].md5_of_message_body(), md5_hex(b"one"));
    assert_eq!(
        out.successful()[1].md5_of_message_attributes(),
        Some("0e8de68728d427c5c7d440433dd261c0")
    );
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert!(out.failed()[0].sender_fault());
    assert_eq!(out.failed()[0].code(), "InvalidMessageContents");

    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 2);
    let mut delete = sqs.delete_message_batch().queue_url(&url);
    let mut change = sqs.change_message_visibility_batch().queue_url(&url);
    for (i, m) in received.messages().iter().enumerate() {
        let handle = m.receipt_handle().unwrap();
        change = change.entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("c{i}"))
                .receipt_handle(handle)
                .visibility_timeout(100)
                .build()
                .unwrap(),
        );
        delete = delete.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(handle)
                .build()
                .unwrap(),
        );
    }
    let changed = change
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .visibility_timeout(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(changed.successful().len(), 2);
    assert_eq!(changed.failed()[0].code(), "ReceiptHandleIsInvalid");
    let deleted = delete
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), 2);
    assert_eq!(deleted.failed().len(), 1);
    assert_eq!(deleted.failed()[0].id(), "bad");
    assert_eq!(visible_count(&sqs, &url).await, 0);
}

async fn batch_request_errors_have_their_own_codes(env: &Env) {
    let sqs = env.sqs();
    let (_, url) = create_queue(&sqs, &[]).await;
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_empty_batch_request());
    let mut eleven = sqs.send_message_batch().queue_url(&url);
    for i in 0..11 {
        eleven = eleven.entries(entry(&format!("e{i}"), "x"));
    }
    let e = eleven.send().await.unwrap_err().into_service_error();
    assert!(e.is_too_many_entries_in_batch_request(), "{e:?}");
    assert_eq!(
        e.message(),
        Some("Maximum number of entries per request are 10. You have sent 11.")
    );
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("same", "a"))
        .entries(entry("same", "b"))
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_batch_entry_ids_not_distinct());
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("not valid!", "a"))
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_invalid_batch_entry_id());
    let big = "x".repeat(600_000);
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", &big))
        .entries(entry("b", &big))
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_batch_request_too_long());
    let e = sqs
        .delete_message_batch()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_empty_batch_request());
    assert_eq!(
        visible_count(&sqs, &url).await,
        0,
        "a rejected batch sends nothing"
    );
}
