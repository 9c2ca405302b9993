//! One execution environment: a child process running a function's executable, and the
//! Runtime API it polls. The environment is owned by the invocation using it (or the idle
//! list of its [`ProcessFunction`](super::ProcessFunction)); dropping it kills the process
//! (`kill_on_drop`) and aborts its API server and log readers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::LambdaError;
use super::api::{self, Invocation, Outcome, ReportedError};

/// What every environment of one function starts from.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The function's logical id (log lines are tagged with it).
    pub logical_id: String,
    /// The function's executable (`bootstrap`, as `sam build` makes it, or a cargo binary).
    pub executable: PathBuf,
    /// The full environment but `AWS_LAMBDA_RUNTIME_API`, which is per environment.
    pub env: BTreeMap<String, String>,
    /// The function's ARN (`AWS_LAMBDA_FUNCTION_ARN`-style, in invocation contexts).
    pub function_arn: String,
    /// The function's `Timeout`: an invocation running longer is killed (`Sandbox.Timedout`).
    pub timeout: Duration,
}

/// How one invocation ended.
#[derive(Debug)]
pub(crate) enum Invoked {
    /// The runtime posted a response; the environment stays warm.
    Response(Bytes),
    /// A function error. `keep`: whether the environment survives it (a reported error) or
    /// is gone (exit, timeout, init error).
    FunctionError { error: ReportedError, keep: bool },
}

/// Aborts a task when dropped: the owner of the environment's helper tasks.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) struct Environment {
    /// 1, 2, ... per function, in start order (log lines name it).
    pub number: u64,
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    _server: AbortOnDrop,
    _logs: [AbortOnDrop; 2],
}

impl Environment {
    /// Serves a Runtime API on 127.0.0.1:0 and starts the executable against it.
    pub async fn start(spec: &ProcessSpec, number: u64) -> Result<Environment, LambdaError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(LambdaError::Bind)?;
        let addr: SocketAddr = listener.local_addr().map_err(LambdaError::Bind)?;
        let (invocations, inbox) = mpsc::channel(1);
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
        let app = api::router(spec.function_arn.clone(), inbox, outcomes_tx);
        let server = AbortOnDrop(tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!("Runtime API server failed: {err}");
            }
        }));

        let task_root = spec
            .executable
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut command = Command::new(&spec.executable);
        command
            // Only what Lambda gives a function: nothing of the harness's own environment
            // (its AWS_ENDPOINT_URL_* or credentials) leaks into the child.
            .env_clear()
            .envs(&spec.env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| LambdaError::Spawn {
            function: spec.logical_id.clone(),
            executable: spec.executable.clone(),
            source,
        })?;
        let stdout = child
            .stdout
            .take()
            .map(|s| log_lines(&spec.logical_id, number, s));
        let stderr = child
            .stderr
            .take()
            .map(|s| log_lines(&spec.logical_id, number, s));
        let noop = || AbortOnDrop(tokio::spawn(async {}));
        Ok(Environment {
            number,
            child,
            invocations,
            outcomes,
            _server: server,
            _logs: [stdout.unwrap_or_else(noop), stderr.unwrap_or_else(noop)],
        })
    }

    /// Hands `payload` to the runtime and waits for its answer, the process's exit, or the
    /// function's timeout (the process is then killed, as Lambda ends the environment).
    pub async fn invoke(&mut self, payload: Bytes, timeout: Duration) -> Invoked {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
            trace_id: trace_id(),
        };
        let sleep = tokio::time::sleep(timeout);
        tokio::pin!(sleep);
        // Capacity 1 and one invocation at a time: the send waits only if the runtime never
        // took the previous one, and the timeout covers that too.
        tokio::select! {
            sent = self.invocations.send(invocation) => {
                if sent.is_err() {
                    return self.gone("the Runtime API stopped").await;
                }
            }
            _ = &mut sleep => return self.timed_out(timeout).await,
        }
        loop {
            tokio::select! {
                // An answer posted just before the process exits still counts.
                biased;
                outcome = self.outcomes.recv() => match outcome {
                    Some(Outcome::Response { request_id: id, body }) if id == request_id => {
                        return Invoked::Response(body);
                    }
                    Some(Outcome::Error { request_id: id, error }) if id == request_id => {
                        return Invoked::FunctionError { error, keep: true };
                    }
                    Some(Outcome::InitError(error)) => {
                        self.kill().await;
                        return Invoked::FunctionError {
                            error: ReportedError {
                                error_type: "Runtime.InitError".into(),
                                message: format!("{}: {}", error.error_type, error.message),
                            },
                            keep: false,
                        };
                    }
                    // The API only relays answers to the invocation the runtime holds.
                    Some(_) => continue,
                    None => return self.gone("the Runtime API stopped").await,
                },
                status = self.child.wait() => {
                    let message = match status {
                        Ok(status) => format!("Runtime exited with error: {status}"),
                        Err(err) => format!("Runtime exited: {err}"),
                    };
                    return Invoked::FunctionError {
                        error: ReportedError { error_type: "Runtime.ExitError".into(), message },
                        keep: false,
                    };
                }
                _ = &mut sleep => return self.timed_out(timeout).await,
            }
        }
    }

    async fn timed_out(&mut self, timeout: Duration) -> Invoked {
        self.kill().await;
        Invoked::FunctionError {
            error: ReportedError {
                error_type: "Sandbox.Timedout".into(),
                // Lambda's own words, the same as the in-process handler's timeout.
                message: crate::esm::handler::FunctionTimedOut(timeout).to_string(),
            },
            keep: false,
        }
    }

    async fn gone(&mut self, why: &str) -> Invoked {
        self.kill().await;
        Invoked::FunctionError {
            error: ReportedError {
                error_type: "Runtime.ExitError".into(),
                message: why.into(),
            },
            keep: false,
        }
    }

    /// Kills the process and reaps it.
    async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// An X-Ray trace header as Lambda passes it (`Root=1-<epoch hex>-<24 hex>;...`).
fn trace_id() -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &random[16..32]
    )
}

/// Copies a child's output to the harness log, one line at a time, under the function's name.
fn log_lines(
    function: &str,
    number: u64,
    stream: impl AsyncRead + Unpin + Send + 'static,
) -> AbortOnDrop {
    let function = function.to_owned();
    AbortOnDrop(tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = strip_ansi(&line);
            tracing::info!(target: "harness::lambda::function", "[{function} #{number}] {line}");
        }
    }))
}

/// A log line without ANSI escape sequences (`ESC [ ... letter`): a runtime's coloured output
/// would otherwise reach the harness log as escaped control characters.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped_from_a_childs_log_lines() {
        assert_eq!(
            strip_ansi("\u{1b}[32m INFO\u{1b}[0m \u{1b}[1mstored\u{1b}[0m id=e-1"),
            " INFO stored id=e-1"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }
}
