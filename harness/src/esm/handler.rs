//! The handler traits the mappings invoke.
//!
//! A handler is any `Fn(Event) -> impl Future<Output = Result<Response, E>>`, so the harness can
//! wrap an `Arc<Forwarder>` in a closure and the same handler code runs under `lambda_runtime`.
//! An `Err` or a panic is a *function error*, as Lambda sees an unhandled exception.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use futures::FutureExt;
use futures::future::BoxFuture;

/// A handler's error: it failed the whole batch (as a Lambda function error does).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A function behind a Kinesis event source mapping.
pub trait KinesisHandler: Send + Sync + 'static {
    /// Handles one batch; an error fails the whole batch, a response may report partial failures
    /// (`batchItemFailures`).
    fn handle(
        &self,
        event: KinesisEvent,
    ) -> BoxFuture<'static, Result<KinesisEventResponse, BoxError>>;
}

/// A function behind an SQS event source mapping.
pub trait SqsHandler: Send + Sync + 'static {
    /// Handles one batch; an error fails the whole batch, a response may report partial failures
    /// (`batchItemFailures`).
    fn handle(&self, event: SqsEvent) -> BoxFuture<'static, Result<SqsBatchResponse, BoxError>>;
}

impl<F, Fut, E> KinesisHandler for F
where
    F: Fn(KinesisEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<KinesisEventResponse, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn handle(
        &self,
        event: KinesisEvent,
    ) -> BoxFuture<'static, Result<KinesisEventResponse, BoxError>> {
        let fut = self(event);
        async move { fut.await.map_err(Into::into) }.boxed()
    }
}

impl<F, Fut, E> SqsHandler for F
where
    F: Fn(SqsEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SqsBatchResponse, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn handle(&self, event: SqsEvent) -> BoxFuture<'static, Result<SqsBatchResponse, BoxError>> {
        let fut = self(event);
        async move { fut.await.map_err(Into::into) }.boxed()
    }
}

/// A handler that panicked: reported as a function error, like an unhandled exception.
#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
pub struct HandlerPanicked(pub String);

/// A handler that ran past the function timeout, as Lambda reports it.
#[derive(Debug, thiserror::Error)]
#[error("Task timed out after {:.2} seconds", .0.as_secs_f64())]
pub struct FunctionTimedOut(pub Duration);

/// Runs one invocation, turning a panic (in the call or in the future) or running past
/// `timeout` into a function error.
pub(crate) async fn invoke_guarded<T>(
    call: impl FnOnce() -> BoxFuture<'static, Result<T, BoxError>>,
    timeout: Option<Duration>,
) -> Result<T, BoxError> {
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(fut) => fut,
        Err(panic) => return Err(Box::new(HandlerPanicked(panic_message(&panic)))),
    };
    let guarded = AssertUnwindSafe(fut).catch_unwind();
    let outcome = match timeout {
        None => guarded.await,
        Some(limit) => match tokio::time::timeout(limit, guarded).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(Box::new(FunctionTimedOut(limit))),
        },
    };
    match outcome {
        Ok(result) => result,
        Err(panic) => Err(Box::new(HandlerPanicked(panic_message(&panic)))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closure_is_a_handler_and_its_error_is_a_function_error() {
        let handler = |_event: KinesisEvent| async { Err::<KinesisEventResponse, _>("boom") };
        let result = invoke_guarded(
            || KinesisHandler::handle(&handler, KinesisEvent::default()),
            None,
        )
        .await;
        assert_eq!(result.unwrap_err().to_string(), "boom");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_function_error() {
        let handler = |_event: SqsEvent| async {
            if true {
                panic!("kaboom");
            }
            Ok::<_, BoxError>(SqsBatchResponse::default())
        };
        let result =
            invoke_guarded(|| SqsHandler::handle(&handler, SqsEvent::default()), None).await;
        assert!(result.unwrap_err().to_string().contains("kaboom"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_past_the_function_timeout_is_a_function_error() {
        let handler = |_event: SqsEvent| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, BoxError>(SqsBatchResponse::default())
        };
        let result = invoke_guarded(
            || SqsHandler::handle(&handler, SqsEvent::default()),
            Some(Duration::from_secs(3)),
        )
        .await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "Task timed out after 3.00 seconds"
        );
    }
}
