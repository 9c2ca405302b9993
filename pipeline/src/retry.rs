//! Attempts counted on the wire: the handlers disable the SDK's own retry loop for their calls
//! and run this one instead, so `max_attempts` is the number of HTTP requests (AWS-SEMANTICS
//! 4.5: an app loop around the SDK's loop would multiply them). Which errors are worth another
//! attempt follows the AWS SDKs' standard retry mode.

use std::future::Future;

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::config::RetryPolicy;

/// `client` with the SDK's retry loop off, built once per handler: its calls are one HTTP
/// request each, counted by [`run`]. (A per-call `config_override` would say the same, at the
/// price of a config layer and runtime components merged on every request.)
pub(crate) fn sqs_without_sdk_retries(client: aws_sdk_sqs::Client) -> aws_sdk_sqs::Client {
    let config = client
        .config()
        .to_builder()
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// [`sqs_without_sdk_retries`] for DynamoDB.
pub(crate) fn dynamodb_without_sdk_retries(
    client: aws_sdk_dynamodb::Client,
) -> aws_sdk_dynamodb::Client {
    let config = client
        .config()
        .to_builder()
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Error codes the AWS SDKs treat as throttling or transient (the Rust runtime's list).
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
];

/// One failed attempt: whether another may succeed, and what to tell people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    /// Whether another attempt may succeed (throttling, 5xx, timeouts, I/O).
    pub retryable: bool,
    /// What failed, for logs and the DLQ's `failure.reason` (`Code: message (HTTP status)`).
    pub reason: String,
}

impl AttemptError {
    /// A failure no retry can fix.
    pub fn permanent(reason: impl Into<String>) -> Self {
        AttemptError {
            retryable: false,
            reason: reason.into(),
        }
    }
}

/// Classifies an SDK error (any of the three services: they share the runtime's type).
pub fn classify<E>(err: &SdkError<E>) -> AttemptError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let service_error = ctx.err();
            let code = service_error.code().unwrap_or("Unknown");
            let message = service_error.message().unwrap_or("");
            AttemptError {
                retryable: status >= 500 || RETRYABLE_CODES.contains(&code),
                reason: format!("{code}: {message} (HTTP {status})"),
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => AttemptError {
            retryable: true,
            reason: DisplayErrorContext(err).to_string(),
        },
        SdkError::DispatchFailure(failure) => AttemptError {
            // A connector error caused by the caller (bad config) will not heal by itself.
            retryable: !failure.is_user(),
            reason: DisplayErrorContext(err).to_string(),
        },
        _ => AttemptError::permanent(DisplayErrorContext(err).to_string()),
    }
}

/// Classifies one entry a batch call (SendMessageBatch) reports in `Failed`: retryable unless
/// it is the sender's fault and not a throttle, as for a whole call. An entry has no HTTP
/// status of its own: the reason names the one the same error carries on a single call
/// (`SenderFault`: 400, else 500), so a record's DLQ `failure.reason` reads the same whether
/// it failed as an entry or as a SendMessage.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_BatchResultErrorEntry.html>
pub fn classify_batch_entry(code: &str, message: Option<&str>, sender_fault: bool) -> AttemptError {
    let status = if sender_fault { 400 } else { 500 };
    AttemptError {
        retryable: !sender_fault || RETRYABLE_CODES.contains(&code),
        reason: format!("{code}: {} (HTTP {status})", message.unwrap_or("")),
    }
}

/// How an operation with retries ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// An attempt succeeded.
    Done {
        /// What it returned.
        value: T,
        /// Attempts made, the successful one included.
        attempts: u32,
    },
    /// The last attempt failed, or one failed for good.
    Failed {
        /// The last attempt's error.
        error: AttemptError,
        /// Attempts made.
        attempts: u32,
    },
}

/// Runs `op(attempt)` up to `policy.attempts()` times, retrying only retryable errors, with
/// full-jitter exponential backoff on tokio's clock (so a paused clock skips the waits).
/// `on_failure(attempt, error)` sees every failed attempt.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    mut op: F,
    mut on_failure: impl FnMut(u32, &AttemptError),
) -> Outcome<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let max = policy.attempts();
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(value) => {
                return Outcome::Done {
                    value,
                    attempts: attempt,
                };
            }
            Err(error) => {
                on_failure(attempt, &error);
                if !error.retryable || attempt >= max {
                    return Outcome::Failed {
                        error,
                        attempts: attempt,
                    };
                }
                let delay = policy.backoff(attempt, &mut rand::rng());
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    fn fail(retryable: bool) -> AttemptError {
        AttemptError {
            retryable,
            reason: "boom".into(),
        }
    }

    #[test]
    fn a_batch_entry_is_retryable_unless_the_sender_caused_it() {
        let server = classify_batch_entry("InternalError", Some("oops"), false);
        assert!(server.retryable);
        assert_eq!(server.reason, "InternalError: oops (HTTP 500)");
        assert!(classify_batch_entry("RequestThrottled", None, true).retryable);
        let bad = classify_batch_entry("InvalidParameterValue", Some("too long"), true);
        assert!(!bad.retryable);
        assert_eq!(bad.reason, "InvalidParameterValue: too long (HTTP 400)");
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_errors_get_exactly_max_attempts() {
        let calls = Cell::new(0);
        let mut seen = Vec::new();
        let out: Outcome<()> = run(
            &RetryPolicy::default(),
            |_| {
                calls.set(calls.get() + 1);
                async { Err(fail(true)) }
            },
            |a, _| seen.push(a),
        )
        .await;
        assert!(matches!(out, Outcome::Failed { attempts: 3, .. }));
        assert_eq!(calls.get(), 3);
        assert_eq!(seen, [1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_stops_after_one_attempt() {
        let calls = Cell::new(0);
        let out: Outcome<()> = run(
            &RetryPolicy::default(),
            |_| {
                calls.set(calls.get() + 1);
                async { Err(fail(false)) }
            },
            |_, _| {},
        )
        .await;
        assert!(matches!(out, Outcome::Failed { attempts: 1, .. }));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn success_after_failures_reports_its_attempt_and_waited_at_most_the_caps() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let start = tokio::time::Instant::now();
        let out = run(
            &policy,
            |attempt| async move {
                if attempt < 3 {
                    Err(fail(true))
                } else {
                    Ok(attempt)
                }
            },
            |_, _| {},
        )
        .await;
        assert!(matches!(
            out,
            Outcome::Done {
                value: 3,
                attempts: 3
            }
        ));
        assert!(
            start.elapsed() <= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
    }
}
