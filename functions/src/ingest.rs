//! The ingest function: `pipeline::app`, the same router `harness up` serves, behind API
//! Gateway (REST, `IngestApi`) through `lambda_http`.
//!
//! How the path arrives: API Gateway's REST proxy event carries the resource path without the
//! stage (`"path": "/stream"`) and the stage in `requestContext.stage` (`"prod"`);
//! `lambda_http` puts the stage back in front (`/prod/stream`, and leaves a path that already
//! starts with it alone), unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set. The router
//! answers `PUT /{STAGE}/stream` exactly as it does locally, so that variable must stay unset
//! ([`check_path_settings`]) and `STAGE` (default `prod`) must name `IngestApi`'s stage.
//! API Gateway checked `x-api-key` before the event was sent (`ApiKeys::Upstream`).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::request::LambdaRequest;
use lambda_runtime::LambdaEvent;
use pipeline::config::env::{Env, EnvError};
use pipeline::{IngestConfig, IngestState, TracingObserver};
use serde::Serialize;
use tower::Service;

/// `lambda_http`'s switch that drops the stage from the path the router sees.
pub const IGNORE_STAGE_VAR: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

/// The router the function serves: one Kinesis transport per configured stream, events logged.
pub fn router(kinesis: &aws_sdk_kinesis::Client, config: &IngestConfig) -> axum::Router {
    let state = IngestState::from_config(kinesis, config, Arc::new(TracingObserver));
    pipeline::app(state, config)
}

/// What the Lambda runtime calls: an API Gateway proxy event in, the proxy response out (the
/// JSON Lambda hands back to API Gateway). `lambda_http::run(router)` is exactly
/// `lambda_runtime::run(handler(router))`; tests drive this same value in process.
pub fn handler(
    router: axum::Router,
) -> impl Service<
    LambdaEvent<LambdaRequest>,
    Response = impl Serialize + use<>,
    Error = Infallible,
    Future: Send,
> + use<> {
    lambda_http::Adapter::from(router)
}

/// Refuses `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`: with it the router would see `/stream` and
/// answer every request 403 `Missing Authentication Token`.
pub fn check_path_settings(env: &impl Env) -> Result<(), EnvError> {
    match env.var(IGNORE_STAGE_VAR) {
        None => Ok(()),
        Some(value) => Err(EnvError::Invalid {
            name: IGNORE_STAGE_VAR,
            value,
            expected: "unset (the ingest router serves /{STAGE}/stream, stage included)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn ignoring_the_stage_is_refused_by_name() {
        assert_eq!(check_path_settings(&BTreeMap::new()), Ok(()));
        let env = BTreeMap::from([(IGNORE_STAGE_VAR.to_owned(), "true".to_owned())]);
        let err = check_path_settings(&env).unwrap_err();
        assert!(err.to_string().contains(IGNORE_STAGE_VAR), "{err}");
    }
}
