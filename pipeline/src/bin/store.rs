//! The store handler on AWS Lambda (feature `lambda`), behind an SQS event source mapping with
//! `ReportBatchItemFailures`. Environment: `TABLE_NAME`, optionally `MAX_ATTEMPTS`,
//! `BASE_DELAY_MS`, `MAX_DELAY_MS`, `RUST_LOG`.

mod support;

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::{Store, StoreConfig, TracingObserver};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    support::init_logging();
    let config = StoreConfig::from_env(&pipeline::config::env::process())?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&support::sdk_config().await);
    let store = Arc::new(Store::new(
        dynamodb,
        config.table,
        config.retry,
        Arc::new(TracingObserver),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let store = Arc::clone(&store);
        async move {
            store
                .handle(event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
