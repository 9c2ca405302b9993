//! Unsigned requests for the embedded emulator's in-process edge.
//!
//! SigV4 was ~10% of the CPU of an end-to-end load (`perf`, BENCHMARKS.md "Issue 14"): a
//! canonical request, a SHA-256 of the body and an HMAC chain per call, for an emulator that
//! checks no signature. The harness's clients for that edge select the SDK's own `noAuth`
//! scheme (which every SDK client registers) through the documented `auth_scheme_resolver`
//! hook; everything else about a call (serialisation, retries, the fault layer, the answer's
//! parsing) is unchanged. Every backend reached over HTTP gets signed requests, and so do the
//! AWS CLI, boto3 and the Lambda binaries talking to `harness up`.

use aws_smithy_runtime::client::auth::no_auth::NO_AUTH_SCHEME_ID;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOption, AuthSchemeOptionsFuture};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Resolves every operation to the `noAuth` scheme.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsigned;

fn no_auth<'a>() -> AuthSchemeOptionsFuture<'a> {
    AuthSchemeOptionsFuture::ready(Ok(vec![AuthSchemeOption::from(NO_AUTH_SCHEME_ID)]))
}

/// The same resolver for each service's own trait (each SDK crate generates one).
macro_rules! resolve_unsigned {
    ($($service:ident),+) => {$(
        impl $service::config::auth::ResolveAuthScheme for Unsigned {
            fn resolve_auth_scheme<'a>(
                &'a self,
                _params: &'a $service::config::auth::Params,
                _cfg: &'a ConfigBag,
                _runtime_components: &'a RuntimeComponents,
            ) -> AuthSchemeOptionsFuture<'a> {
                no_auth()
            }
        }
    )+};
}

resolve_unsigned!(aws_sdk_kinesis, aws_sdk_sqs, aws_sdk_dynamodb);

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_credential_types::Credentials;
    use aws_smithy_runtime_api::client::http::{
        HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// Answers `{}` to everything and keeps each request's `Authorization` header.
    #[derive(Debug, Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Option<String>>>>);

    impl HttpConnector for Recorder {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let authorization = request.headers().get("authorization").map(str::to_owned);
            self.0.lock().unwrap().push(authorization);
            let response = HttpResponse::new(200.try_into().unwrap(), SdkBody::from("{}"));
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    fn sqs(recorder: &Recorder, unsigned: bool) -> aws_sdk_sqs::Client {
        let mut config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url("http://emulator.local")
            .http_client(http_client_fn({
                let recorder = recorder.clone();
                move |_, _| SharedHttpConnector::new(recorder.clone())
            }));
        if unsigned {
            config.set_auth_scheme_resolver(Unsigned);
        }
        aws_sdk_sqs::Client::from_conf(config.build())
    }

    #[tokio::test]
    async fn the_in_process_edge_sends_no_signature_and_every_other_client_signs() {
        let recorder = Recorder::default();
        for unsigned in [true, false] {
            sqs(&recorder, unsigned)
                .get_queue_url()
                .queue_name("events")
                .send()
                .await
                .expect("the recorder answers {}");
        }
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0], None, "the unsigned client sent a signature");
        assert!(
            seen[1]
                .as_deref()
                .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=")),
            "the default client did not sign: {seen:?}"
        );
    }
}
