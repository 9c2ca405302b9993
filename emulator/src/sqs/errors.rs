//! SQS's errors, one constructor each: the modelled shape name and AWS's wording. The
//! awsQuery code and the HTTP status follow from the shape ([`crate::wire::errors`]).

use crate::error::AwsError;

fn err(shape: &'static str, msg: String) -> AwsError {
    AwsError::new(shape, msg)
}

pub fn queue_does_not_exist() -> AwsError {
    err(
        "QueueDoesNotExist",
        "The specified queue does not exist.".into(),
    )
}

pub fn queue_deleted_recently() -> AwsError {
    err(
        "QueueDeletedRecently",
        "You must wait 60 seconds after deleting a queue before you can create another with \
         the same name."
            .into(),
    )
}

pub fn queue_name_exists(attribute: &str) -> AwsError {
    err(
        "QueueNameExists",
        format!(
            "A queue already exists with the same name and a different value for attribute {attribute}"
        ),
    )
}

pub fn invalid_parameter(msg: impl Into<String>) -> AwsError {
    err("InvalidParameterValueException", msg.into())
}

/// AWS's wording for a numeric parameter out of its range.
pub fn out_of_range(name: &str, value: i64, reason: &str) -> AwsError {
    invalid_parameter(format!(
        "Value {value} for parameter {name} is invalid. Reason: {reason}"
    ))
}

pub fn missing_parameter(name: &str) -> AwsError {
    err(
        "MissingRequiredParameterException",
        format!("The request must contain the parameter {name}."),
    )
}

pub fn invalid_attribute_name(name: &str) -> AwsError {
    err("InvalidAttributeName", format!("Unknown Attribute {name}."))
}

pub fn invalid_attribute_value(msg: impl Into<String>) -> AwsError {
    err("InvalidAttributeValue", msg.into())
}

pub fn invalid_message_contents(msg: impl Into<String>) -> AwsError {
    err("InvalidMessageContents", msg.into())
}

pub fn receipt_handle_is_invalid(handle: &str) -> AwsError {
    err(
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub fn purge_queue_in_progress(name: &str) -> AwsError {
    err(
        "PurgeQueueInProgress",
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
    )
}

pub fn empty_batch_request(entry_shape: &str) -> AwsError {
    err(
        "EmptyBatchRequest",
        format!("There should be at least one {entry_shape} in the request."),
    )
}

pub fn too_many_entries(sent: usize) -> AwsError {
    err(
        "TooManyEntriesInBatchRequest",
        format!("Maximum number of entries per request are 10. You have sent {sent}."),
    )
}

pub fn batch_ids_not_distinct(id: &str) -> AwsError {
    err("BatchEntryIdsNotDistinct", format!("Id {id} repeated."))
}

pub fn invalid_batch_entry_id() -> AwsError {
    err(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. \
         It can be at most 80 letters long."
            .into(),
    )
}

pub fn batch_request_too_long(limit: usize, sent: usize) -> AwsError {
    err(
        "BatchRequestTooLong",
        format!("Batch requests cannot be longer than {limit} bytes. You have sent {sent} bytes."),
    )
}

pub fn resource_not_found(msg: impl Into<String>) -> AwsError {
    err("ResourceNotFoundException", msg.into())
}

pub fn over_limit() -> AwsError {
    err(
        "OverLimit",
        "The maximum number of in flight messages is reached".into(),
    )
}
