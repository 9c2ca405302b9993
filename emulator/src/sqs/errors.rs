//! SQS's errors, one constructor each: the shape name (sent in `__type`), the awsQuery code
//! (sent in `x-amzn-query-error`, which the Rust SDK matches on), the HTTP status and AWS's
//! wording. Codes come from the SDK's error parsers and the last awsQuery service model.

use crate::error::AwsError;

fn err(status: u16, shape: &'static str, query: &'static str, msg: String) -> AwsError {
    AwsError::new(status, shape, msg).with_query_code(query)
}

pub fn queue_does_not_exist() -> AwsError {
    err(
        400,
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.".into(),
    )
}

pub fn queue_name_exists(attribute: &str) -> AwsError {
    err(
        400,
        "QueueNameExists",
        "QueueAlreadyExists",
        format!(
            "A queue already exists with the same name and a different value for attribute {attribute}"
        ),
    )
}

pub fn invalid_parameter(msg: impl Into<String>) -> AwsError {
    err(
        400,
        "InvalidParameterValue",
        "InvalidParameterValue",
        msg.into(),
    )
}

/// AWS's wording for a numeric parameter out of its range.
pub fn out_of_range(name: &str, value: i64, reason: &str) -> AwsError {
    invalid_parameter(format!(
        "Value {value} for parameter {name} is invalid. Reason: {reason}"
    ))
}

pub fn missing_parameter(name: &str) -> AwsError {
    err(
        400,
        "MissingParameter",
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

pub fn invalid_attribute_name(name: &str) -> AwsError {
    err(
        400,
        "InvalidAttributeName",
        "InvalidAttributeName",
        format!("Unknown Attribute {name}."),
    )
}

pub fn invalid_attribute_value(msg: impl Into<String>) -> AwsError {
    err(
        400,
        "InvalidAttributeValue",
        "InvalidAttributeValue",
        msg.into(),
    )
}

pub fn invalid_message_contents(msg: impl Into<String>) -> AwsError {
    err(
        400,
        "InvalidMessageContents",
        "InvalidMessageContents",
        msg.into(),
    )
}

pub fn receipt_handle_is_invalid(handle: &str) -> AwsError {
    err(
        400,
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub fn message_not_inflight() -> AwsError {
    err(
        400,
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        "Message does not exist or is not available for visibility timeout change.".into(),
    )
}

pub fn purge_queue_in_progress(name: &str) -> AwsError {
    err(
        403,
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
    )
}

pub fn empty_batch_request(entry_shape: &str) -> AwsError {
    err(
        400,
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        format!("There should be at least one {entry_shape} in the request."),
    )
}

pub fn too_many_entries(sent: usize) -> AwsError {
    err(
        400,
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        format!("Maximum number of entries per request are 10. You have sent {sent}."),
    )
}

pub fn batch_ids_not_distinct(id: &str) -> AwsError {
    err(
        400,
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        format!("Id {id} repeated."),
    )
}

pub fn invalid_batch_entry_id() -> AwsError {
    err(
        400,
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. \
         It can be at most 80 letters long."
            .into(),
    )
}

pub fn batch_request_too_long(limit: usize) -> AwsError {
    err(
        400,
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        format!(
            "Batch requested message too long. Total size of all messages in the batch \
             must be shorter than {limit} bytes."
        ),
    )
}

pub fn unsupported_operation(msg: impl Into<String>) -> AwsError {
    err(
        400,
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        msg.into(),
    )
}

pub fn resource_not_found(msg: impl Into<String>) -> AwsError {
    err(
        404,
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        msg.into(),
    )
}

pub fn over_limit() -> AwsError {
    err(
        403,
        "OverLimit",
        "OverLimit",
        "The maximum number of in flight messages is reached".into(),
    )
}
