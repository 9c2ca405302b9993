//! The forward handler on AWS Lambda (feature `lambda`), behind a Kinesis event source mapping
//! with `ReportBatchItemFailures`. Environment: `QUEUE_URL`, `DLQ_URL`, optionally
//! `MAX_ATTEMPTS`, `BASE_DELAY_MS`, `MAX_DELAY_MS`, `RUST_LOG`.

mod support;

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::{ForwardConfig, Forwarder, TracingObserver};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    support::init_logging();
    let config = ForwardConfig::from_env(&pipeline::config::env::process())?;
    let sqs = aws_sdk_sqs::Client::new(&support::sdk_config().await);
    let forwarder = Arc::new(Forwarder::new(
        sqs,
        config.queue_url,
        config.dlq_url,
        config.retry,
        Arc::new(TracingObserver),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| {
        let forwarder = Arc::clone(&forwarder);
        async move {
            forwarder
                .handle(event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
