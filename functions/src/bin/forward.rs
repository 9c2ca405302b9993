//! `ForwardFunction`: the forward handler on AWS Lambda, behind a Kinesis event source mapping
//! with `ReportBatchItemFailures`. Environment: `QUEUE_URL`, `DLQ_URL`, optionally
//! `MAX_ATTEMPTS`, `BASE_DELAY`, `MAX_DELAY` (durations such as `50ms`; `pipeline::config::env`),
//! `RUST_LOG`.

use std::sync::Arc;

use anyhow::Context as _;
use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::{ForwardConfig, Forwarder, TracingObserver};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    functions::runtime::init_logging();
    let env = pipeline::config::env::process();
    let config = ForwardConfig::from_env(&env).context("ForwardFunction's environment")?;
    let runtime_api =
        functions::runtime::check_lambda_environment(&env).context("not on Lambda")?;
    let sqs = aws_sdk_sqs::Client::new(&functions::runtime::sdk_config().await);
    let forwarder = Arc::new(Forwarder::new(
        sqs,
        config.queue_url,
        config.dlq_url,
        config.retry,
        Arc::new(TracingObserver),
    ));
    // The event arrives as JSON and is read by `decode_event` (see there why not directly).
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let forwarder = Arc::clone(&forwarder);
        async move {
            let event = pipeline::handlers::decode_event(event.payload)?;
            forwarder
                .handle(event)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
    .map_err(anyhow::Error::from_boxed)
    .with_context(|| format!("the Lambda Runtime API at {runtime_api}"))
}
