//! `IngestFunction`: the ingest API on AWS Lambda behind API Gateway (REST). Environment:
//! `STREAMS` (`default=<stream name>`), optionally `STAGE`, `PARTITION_KEY`, `BATCH_PUTS`,
//! `MAX_EVENT_BYTES`, `MAX_BODY_BYTES` (`pipeline::config::env`), `RUST_LOG`.

use anyhow::Context as _;
use pipeline::IngestConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    functions::runtime::init_logging();
    let env = pipeline::config::env::process();
    let config = IngestConfig::from_env(&env).context("IngestFunction's environment")?;
    functions::ingest::check_path_settings(&env).context("IngestFunction's environment")?;
    let runtime_api =
        functions::runtime::check_lambda_environment(&env).context("not on Lambda")?;
    let kinesis = aws_sdk_kinesis::Client::new(&functions::runtime::sdk_config().await);
    let handler = functions::ingest::handler(functions::ingest::router(&kinesis, &config));
    lambda_runtime::run(handler)
        .await
        .map_err(anyhow::Error::from_boxed)
        .with_context(|| format!("the Lambda Runtime API at {runtime_api}"))
}
