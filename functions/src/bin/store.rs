//! `StoreFunction`: the store handler on AWS Lambda, behind an SQS event source mapping with
//! `ReportBatchItemFailures`. Environment: `TABLE_NAME`, `DLQ_URL` (where conflicts go),
//! optionally `MAX_ATTEMPTS`,
//! `BASE_DELAY`, `MAX_DELAY` (durations such as `50ms`; `pipeline::config::env`), `RUST_LOG`.

use std::sync::Arc;

use anyhow::Context as _;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::{Store, StoreConfig, TracingObserver};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    functions::runtime::init_logging();
    let env = pipeline::config::env::process();
    let config = StoreConfig::from_env(&env).context("StoreFunction's environment")?;
    let runtime_api =
        functions::runtime::check_lambda_environment(&env).context("not on Lambda")?;
    let sdk_config = functions::runtime::sdk_config().await;
    let store = Arc::new(Store::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        config.table,
        aws_sdk_sqs::Client::new(&sdk_config),
        config.dlq_url,
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
    .map_err(anyhow::Error::from_boxed)
    .with_context(|| format!("the Lambda Runtime API at {runtime_api}"))
}
