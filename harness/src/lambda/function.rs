//! A function run as child processes behind its event source mapping: a pool of execution
//! environments, started on demand (a cold start, counted and logged), kept warm between
//! invocations, replaced after a timeout or an exit. Concurrent invocations (SQS pollers,
//! Kinesis shards) each take an environment of their own, as Lambda scales out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::api::ReportedError;
use super::environment::{Environment, Invoked, ProcessSpec};
use super::response::BatchResponse;
use crate::esm::{BoxError, KinesisHandler, SqsHandler};

/// An invocation that failed as a function error, in Lambda's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    /// `Runtime.ExitError`, `Sandbox.Timedout`, or what the runtime reported.
    pub error_type: String,
    /// The error message (`errorMessage`).
    pub message: String,
}

/// What a function's processes did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionStats {
    /// Invocations so far (each batch, retries included).
    pub invocations: u64,
    /// Environments started (the first invocation's included).
    pub cold_starts: u64,
    /// Every function error, in order.
    pub errors: Vec<FunctionError>,
}

/// One function of the template as child processes.
pub struct ProcessFunction {
    spec: ProcessSpec,
    /// Warm environments. A std mutex: only pushed and popped, never held across an await.
    idle: Mutex<Vec<Environment>>,
    started: AtomicU64,
    invocations: AtomicU64,
    errors: Mutex<Vec<FunctionError>>,
}

impl ProcessFunction {
    /// A function whose environments start from `spec` on demand (none is started yet).
    pub fn new(spec: ProcessSpec) -> Arc<ProcessFunction> {
        Arc::new(ProcessFunction {
            spec,
            idle: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
            invocations: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// What its environments start from.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// What it did so far.
    pub fn stats(&self) -> FunctionStats {
        FunctionStats {
            invocations: self.invocations.load(Ordering::Relaxed),
            cold_starts: self.started.load(Ordering::Relaxed),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Runs one invocation in a warm environment, or a new one. If this future is dropped
    /// (the mapping gave up), the environment it holds is dropped too: its process is
    /// killed, never put back with an invocation outstanding.
    pub async fn invoke(&self, payload: Bytes) -> Result<Bytes, FunctionError> {
        self.invoke_since(payload, tokio::time::Instant::now())
            .await
    }

    /// [`invoke`](Self::invoke) for an invocation that began at `started` (when the mapping
    /// called the handler, before its own timer started).
    async fn invoke_since(
        &self,
        payload: Bytes,
        started: tokio::time::Instant,
    ) -> Result<Bytes, FunctionError> {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let warm = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut environment = match warm {
            Some(environment) => environment,
            None => {
                let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    "{}: cold start #{number} ({})",
                    self.spec.logical_id,
                    self.spec.executable.display()
                );
                Environment::start(&self.spec, number)
                    .await
                    .map_err(|e| self.failed("Runtime.StartError".into(), e.to_string()))?
            }
        };
        // The mapping applies the function's Timeout around this call too; when its timer
        // wins the race with the environment's, this future is dropped, and the guard still
        // records the timeout (the environment, dropped with it, kills the process).
        let mut guard = Unfinished {
            function: self,
            started,
            armed: true,
        };
        let invoked = environment.invoke(payload, self.spec.timeout).await;
        guard.armed = false;
        match invoked {
            Invoked::Response(body) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(environment);
                Ok(body)
            }
            Invoked::FunctionError { error, keep } => {
                let ReportedError {
                    error_type,
                    message,
                } = error;
                if keep {
                    self.idle
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(environment);
                } else {
                    tracing::info!(
                        "{}: environment #{} ended ({error_type}: {message}); the next \
                         invocation starts a new one",
                        self.spec.logical_id,
                        environment.number
                    );
                }
                Err(self.failed(error_type, message))
            }
        }
    }

    fn failed(&self, error_type: String, message: String) -> FunctionError {
        let error = FunctionError {
            error_type,
            message,
        };
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error.clone());
        error
    }
}

/// Records how an invocation ended when its future is dropped before the environment
/// answered: past the timeout it is Lambda's timeout, else the mapping stopped (a crash).
struct Unfinished<'a> {
    function: &'a ProcessFunction,
    started: tokio::time::Instant,
    armed: bool,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let timeout = self.function.spec.timeout;
        let (error_type, message) = if self.started.elapsed() >= timeout {
            (
                "Sandbox.Timedout",
                crate::esm::handler::FunctionTimedOut(timeout).to_string(),
            )
        } else {
            (
                "Harness.Cancelled",
                "the event source mapping stopped during the invocation".to_owned(),
            )
        };
        tracing::info!(
            "{}: invocation ended ({message}); its environment is replaced",
            self.function.spec.logical_id
        );
        self.function.failed(error_type.into(), message);
    }
}

/// A [`ProcessFunction`] behind a Kinesis or SQS mapping: the event as Lambda's JSON in, the
/// response read as Lambda reads it ([`BatchResponse`]).
#[derive(Clone)]
pub struct ProcessHandler(pub Arc<ProcessFunction>);

impl ProcessHandler {
    async fn call(
        function: Arc<ProcessFunction>,
        event: Result<Vec<u8>, serde_json::Error>,
        started: tokio::time::Instant,
    ) -> Result<BatchResponse, BoxError> {
        let payload = event?;
        let body = function.invoke_since(Bytes::from(payload), started).await?;
        Ok(BatchResponse::parse(&body))
    }
}

impl KinesisHandler for ProcessHandler {
    fn handle(
        &self,
        event: KinesisEvent,
    ) -> BoxFuture<'static, Result<KinesisEventResponse, BoxError>> {
        // Now, before the mapping starts its timer on the returned future.
        let started = tokio::time::Instant::now();
        let call = Self::call(self.0.clone(), serde_json::to_vec(&event), started);
        async move { call.await.map(BatchResponse::into_kinesis) }.boxed()
    }
}

impl SqsHandler for ProcessHandler {
    fn handle(&self, event: SqsEvent) -> BoxFuture<'static, Result<SqsBatchResponse, BoxError>> {
        // Now, before the mapping starts its timer on the returned future.
        let started = tokio::time::Instant::now();
        let call = Self::call(self.0.clone(), serde_json::to_vec(&event), started);
        async move { call.await.map(BatchResponse::into_sqs) }.boxed()
    }
}
