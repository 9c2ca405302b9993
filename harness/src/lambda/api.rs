//! The Lambda Runtime API (version 2018-06-01) of one execution environment: what a runtime
//! inside the child process polls for its next invocation and answers to.
//!
//! - `GET  /2018-06-01/runtime/invocation/next`: long poll; the event as the body and the
//!   `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn`, `-Trace-Id`
//!   headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response`: `202 {"status":"OK"}`;
//! - `POST /2018-06-01/runtime/invocation/{id}/error`: `202`, a function error;
//! - `POST /2018-06-01/runtime/init/error`: `202`, the environment failed to start.
//!
//! Answers a runtime gets wrong get Lambda's 4xx with its `{"errorMessage","errorType"}` body:
//! an unknown request id `400 InvalidRequestID`, a second answer to one invocation or an init
//! error after the first `next` `403 InvalidStateTransition`, a response over 6 MB
//! `413 RequestEntityTooLarge` (the invocation then fails, as on Lambda). Nothing a child
//! sends can panic the harness.
//!
//! The API only relays: each answer becomes an `Outcome` for the environment's owner
//! ([`super::environment`]), which alone decides what an invocation's result is.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Lambda's limit on a synchronous response (and on an error body): 6 MB as Lambda counts it.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// One invocation handed to the runtime by `/next`.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    /// When the invocation times out, in Unix milliseconds.
    pub deadline_ms: u64,
    pub trace_id: String,
}

/// A function error as the runtime reported it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportedError {
    pub error_type: String,
    pub message: String,
}

/// What the runtime told the API, for the environment's owner.
#[derive(Debug)]
pub(crate) enum Outcome {
    Response {
        request_id: String,
        body: Bytes,
    },
    Error {
        request_id: String,
        error: ReportedError,
    },
    InitError(ReportedError),
}

/// The API's state. Shared by its handlers; the owner keeps the other ends of the channels.
struct Inner {
    function_arn: String,
    /// Invocations the owner hands over (capacity 1: one at a time, as in an environment).
    /// A tokio mutex because `/next` holds it across the wait for the next invocation; a
    /// second concurrent `/next` waits behind the first.
    inbox: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// Request ids: the one the runtime holds, and those answered. A std mutex: held for a
    /// few instructions, never across an await.
    ids: Mutex<Ids>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

#[derive(Default)]
struct Ids {
    /// A `/next` has returned (an init error is too late after that).
    initialized: bool,
    current: Option<String>,
    answered: HashSet<String>,
}

/// The Runtime API of one environment, with the channels its owner uses.
pub(crate) fn router(
    function_arn: String,
    inbox: mpsc::Receiver<Invocation>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) -> Router {
    let state = Arc::new(Inner {
        function_arn,
        inbox: tokio::sync::Mutex::new(inbox),
        ids: Mutex::new(Ids::default()),
        outcomes,
    });
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(not_found)
        // Bodies are read with Lambda's own limit below, to answer with Lambda's 413.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A call the API refuses: Lambda's status and `errorType`, derived here once.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("Invalid request ID")]
    InvalidRequestId,
    #[error("invocation {0} was already answered")]
    AlreadyAnswered(String),
    #[error("init/error after the runtime asked for an invocation")]
    InitAfterNext,
    #[error("could not read the request body: {0}")]
    Body(#[source] axum::Error),
    #[error(
        "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
    )]
    TooLarge,
    #[error("the execution environment is shutting down")]
    ShuttingDown,
    #[error("not a path of the Lambda Runtime API 2018-06-01")]
    NotFound,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = match &self {
            ApiError::InvalidRequestId => (StatusCode::BAD_REQUEST, "InvalidRequestID"),
            ApiError::AlreadyAnswered(_) | ApiError::InitAfterNext => {
                (StatusCode::FORBIDDEN, "InvalidStateTransition")
            }
            ApiError::Body(_) => (StatusCode::BAD_REQUEST, "InvalidRequestBody"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            // Lambda's "container error": the runtime should exit.
            ApiError::ShuttingDown => (StatusCode::INTERNAL_SERVER_ERROR, "Runtime.ContainerError"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "NotFound"),
        };
        let body = json!({ "errorMessage": self.to_string(), "errorType": error_type });
        (status, axum::Json(body)).into_response()
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn next(State(s): State<Arc<Inner>>) -> Result<Response, ApiError> {
    let invocation = s.inbox.lock().await.recv().await;
    // No sender: the environment is being torn down.
    let invocation = invocation.ok_or(ApiError::ShuttingDown)?;
    {
        let mut ids = s.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.initialized = true;
        ids.current = Some(invocation.request_id.clone());
    }
    let mut response = Response::new(Body::from(invocation.payload));
    let headers = response.headers_mut();
    let pairs = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", invocation.request_id),
        (
            "lambda-runtime-deadline-ms",
            invocation.deadline_ms.to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            s.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", invocation.trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

/// Whether `request_id` is the invocation the runtime holds; marks it answered if so.
fn take_current(s: &Inner, request_id: &str) -> Result<(), ApiError> {
    let mut ids = s.ids.lock().unwrap_or_else(|e| e.into_inner());
    if ids.current.as_deref() == Some(request_id) {
        ids.current = None;
        ids.answered.insert(request_id.to_owned());
        return Ok(());
    }
    if ids.answered.contains(request_id) {
        return Err(ApiError::AlreadyAnswered(request_id.to_owned()));
    }
    Err(ApiError::InvalidRequestId)
}

/// Reads a body up to Lambda's limit; `None` when it is larger.
async fn read_limited(body: Body) -> Result<Option<Bytes>, ApiError> {
    match axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) => {
            // A length-limit error is the runtime's oversized answer; anything else is a body
            // that broke off mid-way.
            let too_large = std::error::Error::source(&err)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                Ok(None)
            } else {
                Err(ApiError::Body(err))
            }
        }
    }
}

async fn response(
    State(s): State<Arc<Inner>>,
    Path(request_id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_limited(body).await?;
    take_current(&s, &request_id)?;
    match body {
        Some(body) => {
            let _ = s.outcomes.send(Outcome::Response { request_id, body });
            Ok(accepted())
        }
        None => {
            // Lambda fails the invocation, and tells the runtime why.
            let error = ReportedError {
                error_type: "Function.ResponseSizeTooLarge".into(),
                message: ApiError::TooLarge.to_string(),
            };
            let _ = s.outcomes.send(Outcome::Error { request_id, error });
            Err(ApiError::TooLarge)
        }
    }
}

/// The error a runtime reports: the body's `errorType`/`errorMessage` when it is the JSON
/// Lambda documents, else the `Lambda-Runtime-Function-Error-Type` header and the raw text
/// (Lambda relays what the runtime sent; a malformed error is still an error).
fn reported_error(headers: &HeaderMap, body: &[u8]) -> ReportedError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ReportedError {
        error_type: field("errorType")
            .or(header_type)
            .unwrap_or_else(|| "Unhandled".into()),
        message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

async fn error(
    State(s): State<Arc<Inner>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_limited(body).await?;
    take_current(&s, &request_id)?;
    let error = match &body {
        Some(body) => reported_error(&headers, body),
        None => ReportedError {
            error_type: "Function.ResponseSizeTooLarge".into(),
            message: format!("error body over {MAX_RESPONSE_BYTES} bytes"),
        },
    };
    let _ = s.outcomes.send(Outcome::Error { request_id, error });
    Ok(accepted())
}

async fn init_error(
    State(s): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_limited(body).await?.unwrap_or_default();
    if s.ids.lock().unwrap_or_else(|e| e.into_inner()).initialized {
        return Err(ApiError::InitAfterNext);
    }
    let _ = s
        .outcomes
        .send(Outcome::InitError(reported_error(&headers, &body)));
    Ok(accepted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    struct Api {
        app: Router,
        invocations: mpsc::Sender<Invocation>,
        outcomes: mpsc::UnboundedReceiver<Outcome>,
    }

    fn api() -> Api {
        let (invocations, inbox) = mpsc::channel(1);
        let (tx, outcomes) = mpsc::unbounded_channel();
        Api {
            app: router(
                "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                inbox,
                tx,
            ),
            invocations,
            outcomes,
        }
    }

    async fn call(app: &Router, method: &str, uri: &str, body: Vec<u8>) -> (u16, HeaderMap, Value) {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn hand_over(api: &Api, id: &str) {
        api.invocations
            .send(Invocation {
                request_id: id.into(),
                payload: Bytes::from_static(br#"{"Records":[]}"#),
                deadline_ms: 1_700_000_000_000,
                trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn next_carries_the_event_and_lambdas_headers_and_a_response_is_accepted() {
        let mut api = api();
        hand_over(&api, "req-1").await;
        let (status, headers, body) = call(
            &api.app,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            vec![],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"Records": []}));
        assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
        assert_eq!(headers["lambda-runtime-deadline-ms"], "1700000000000");
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert!(headers.contains_key("lambda-runtime-trace-id"));

        let uri = "/2018-06-01/runtime/invocation/req-1/response";
        let (status, _, body) = call(&api.app, "POST", uri, b"{\"ok\":1}".to_vec()).await;
        assert_eq!((status, body), (202, json!({"status": "OK"})));
        match api.outcomes.recv().await.unwrap() {
            Outcome::Response { request_id, body } => {
                assert_eq!(request_id, "req-1");
                assert_eq!(&body[..], b"{\"ok\":1}");
            }
            other => panic!("{other:?}"),
        }

        // A second answer to the same invocation, and an answer to one never handed out.
        let (status, _, body) = call(&api.app, "POST", uri, b"{}".to_vec()).await;
        assert_eq!(
            (status, &body["errorType"]),
            (403, &json!("InvalidStateTransition"))
        );
        let uri = "/2018-06-01/runtime/invocation/nope/error";
        let (status, _, body) = call(&api.app, "POST", uri, b"garbage".to_vec()).await;
        assert_eq!(
            (status, &body["errorType"]),
            (400, &json!("InvalidRequestID"))
        );
        assert_eq!(body["errorMessage"], "Invalid request ID");
        // An init error after the first next is too late.
        let uri = "/2018-06-01/runtime/init/error";
        let (status, _, _) = call(&api.app, "POST", uri, b"{}".to_vec()).await;
        assert_eq!(status, 403);
        assert!(
            api.outcomes.try_recv().is_err(),
            "refused calls change nothing"
        );
    }

    #[tokio::test]
    async fn an_error_post_is_relayed_with_its_type_even_when_its_body_is_not_json() {
        let mut api = api();
        hand_over(&api, "req-2").await;
        call(
            &api.app,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            vec![],
        )
        .await;
        let uri = "/2018-06-01/runtime/invocation/req-2/error";
        let (status, _, _) = call(&api.app, "POST", uri, b"not json at all".to_vec()).await;
        assert_eq!(status, 202);
        match api.outcomes.recv().await.unwrap() {
            Outcome::Error { request_id, error } => {
                assert_eq!(request_id, "req-2");
                assert_eq!(error.error_type, "Unhandled");
                assert_eq!(error.message, "not json at all");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_response_over_six_megabytes_gets_413_and_fails_the_invocation() {
        let mut api = api();
        hand_over(&api, "req-3").await;
        call(
            &api.app,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            vec![],
        )
        .await;
        let uri = "/2018-06-01/runtime/invocation/req-3/response";
        let (status, _, body) =
            call(&api.app, "POST", uri, vec![b'x'; MAX_RESPONSE_BYTES + 1]).await;
        assert_eq!(
            (status, &body["errorType"]),
            (413, &json!("RequestEntityTooLarge"))
        );
        match api.outcomes.recv().await.unwrap() {
            Outcome::Error { error, .. } => {
                assert_eq!(error.error_type, "Function.ResponseSizeTooLarge")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_init_error_before_next_is_relayed_and_unknown_paths_are_404() {
        let mut api = api();
        let body = br#"{"errorMessage":"no config","errorType":"Runtime.InitError"}"#.to_vec();
        let (status, _, _) = call(&api.app, "POST", "/2018-06-01/runtime/init/error", body).await;
        assert_eq!(status, 202);
        match api.outcomes.recv().await.unwrap() {
            Outcome::InitError(e) => assert_eq!(e.message, "no config"),
            other => panic!("{other:?}"),
        }
        let (status, _, body) = call(&api.app, "GET", "/2018-06-01/runtime/nothing", vec![]).await;
        assert_eq!((status, &body["errorType"]), (404, &json!("NotFound")));
        let (status, _, _) = call(
            &api.app,
            "POST",
            "/2018-06-01/runtime/invocation/next",
            vec![],
        )
        .await;
        assert_eq!(status, 405);
    }

    #[tokio::test]
    async fn next_answers_500_when_the_environment_is_torn_down() {
        let api = api();
        drop(api.invocations);
        let (status, _, body) = call(
            &api.app,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            vec![],
        )
        .await;
        assert_eq!(
            (status, &body["errorType"]),
            (500, &json!("Runtime.ContainerError"))
        );
    }
}
