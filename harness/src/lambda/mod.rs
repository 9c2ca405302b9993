//! Artifact mode: the functions behind the event source mappings run as child processes
//! that speak the Lambda Runtime API, the shipped binaries (`cargo lambda build`, `sam build`)
//! or any executable, instead of the handler code in process.
//!
//! - [`api`]: the Runtime API (2018-06-01) of one execution environment;
//! - [`environment`]: one execution environment, a child process and its API;
//! - [`function`]: a function's pool of environments (cold starts, timeouts, exits) and the
//!   `KinesisHandler`/`SqsHandler` a mapping invokes;
//! - [`response`]: a response body read as Lambda reads a partial batch response;
//! - [`proxy`]: the loopback AWS endpoint of the children, through the fault layer.
//!
//! A process function is just another handler behind the mappings, registered by logical id
//! like a test's (`Harness::start_with`), so the mappings cannot tell it from code in process.

pub mod api;
pub mod environment;
pub mod function;
pub mod proxy;
pub mod response;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use environment::ProcessSpec;
pub use function::{FunctionError, FunctionStats, ProcessFunction, ProcessHandler};
pub use proxy::AwsProxy;
pub use response::BatchResponse;

use crate::backend::Backend;
use crate::fault::{FaultPlan, Journal};
use crate::stack::FunctionHandler;
use crate::template::spec::{Binary, EventSource, FunctionSpec};
use crate::template::{Facts, PipelineSpec, TemplateError};

/// Lambda's `PATH` for a function (`provided.al2023`).
const LAMBDA_PATH: &str = "/usr/local/bin:/usr/bin/:/bin:/opt/bin";

/// Why artifact mode could not start or run a function.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// `--function` names a function the template does not have.
    #[error("--function {0}: the template has no function {0}")]
    UnknownFunction(String),
    /// The function has no event source mapping to invoke it.
    #[error(
        "{0}: only functions behind a Kinesis or SQS event source run as processes (the \
         ingest API runs in process)"
    )]
    NotBehindMapping(String),
    /// No executable for the function was found.
    #[error("{function}: no executable found; looked for {}", list(tried))]
    NotFound {
        /// The function's logical id.
        function: String,
        /// Every path looked at, in order.
        tried: Vec<PathBuf>,
    },
    /// The executable found for the function is not an executable file.
    #[error("{function}: {} is not an executable file", path.display())]
    NotExecutable {
        /// The function's logical id.
        function: String,
        /// The file found.
        path: PathBuf,
    },
    /// The backend has no HTTP endpoint the child processes could call.
    #[error(
        "artifact mode needs an HTTP endpoint of the backend for the functions' SDK clients; \
         the {0} backend has none (set AWS_ENDPOINT_URL)"
    )]
    NoEndpoint(&'static str),
    /// The backend's endpoint is not a plain `http://host:port` URL.
    #[error("the backend endpoint {0} is not an http://host:port URL the proxy can relay to")]
    Endpoint(String),
    /// The Runtime API or the proxy could not listen on loopback.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// A function's process could not be started.
    #[error("{function}: cannot start {}: {source}", executable.display())]
    Spawn {
        /// The function's logical id.
        function: String,
        /// The executable.
        executable: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The template does not say what the functions need.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which functions run as processes, and from which executables (`HarnessOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifacts {
    /// Built artifacts: `<dir>/<LogicalId>/bootstrap` (`sam build`'s `.aws-sam/build`),
    /// `<dir>/<binary>/bootstrap` (`cargo lambda build`'s `target/lambda`), or
    /// `<dir>/<binary>` (`cargo build`'s `target/debug`). Every function built from a project
    /// binary and behind a mapping runs from here.
    pub dir: Option<PathBuf>,
    /// Any executable for one function, by logical id (over `dir`).
    pub functions: BTreeMap<String, PathBuf>,
}

impl Artifacts {
    /// Whether any function runs as a process.
    pub fn is_active(&self) -> bool {
        self.dir.is_some() || !self.functions.is_empty()
    }

    /// The executable of `id`, if it runs as a process.
    fn executable(&self, id: &str, binary: Option<Binary>) -> Result<Option<PathBuf>, LambdaError> {
        if let Some(path) = self.functions.get(id) {
            return checked(id, path).map(Some);
        }
        let (Some(dir), Some(binary)) = (&self.dir, binary) else {
            return Ok(None);
        };
        let name = binary.name();
        let tried = vec![
            dir.join(id).join("bootstrap"),
            dir.join(name).join("bootstrap"),
            dir.join(name),
        ];
        match tried.iter().find(|p| p.is_file()) {
            Some(path) => checked(id, path).map(Some),
            None => Err(LambdaError::NotFound {
                function: id.to_owned(),
                tried,
            }),
        }
    }
}

/// An absolute path to an executable file (the child runs in its own directory).
fn checked(function: &str, path: &Path) -> Result<PathBuf, LambdaError> {
    let path = path.canonicalize().map_err(|_| LambdaError::NotFound {
        function: function.to_owned(),
        tried: vec![path.to_owned()],
    })?;
    let executable = std::fs::metadata(&path).is_ok_and(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.is_file() && m.permissions().mode() & 0o111 != 0
    });
    if !executable {
        return Err(LambdaError::NotExecutable {
            function: function.to_owned(),
            path,
        });
    }
    Ok(path)
}

/// Where the processes of a harness run: what they need from it.
pub struct ProcessContext<'a> {
    /// The pipeline the functions belong to.
    pub spec: &'a PipelineSpec,
    /// What the template's resources resolved to (names, ARNs, URLs).
    pub facts: &'a Facts,
    /// The backend the functions' SDK clients reach (through the proxy).
    pub backend: &'a Backend,
    /// The fault plan and journal the children's requests go through (none: straight to the
    /// backend).
    pub faults: Option<(FaultPlan, Journal)>,
    /// The region the functions run in (`AWS_REGION`).
    pub region: String,
    /// The account id for ARNs.
    pub account: String,
}

/// The functions of one harness that run as processes, and their AWS proxy. Dropping it
/// (after the mappings that invoke them) kills every process.
#[derive(Default)]
pub struct Processes {
    functions: BTreeMap<String, Arc<ProcessFunction>>,
    proxy: Option<AwsProxy>,
}

impl Processes {
    /// The process functions `artifacts` asks for; functions in `skip` (a test registered
    /// their handler) stay as they are.
    pub async fn start(
        artifacts: &Artifacts,
        cx: ProcessContext<'_>,
        skip: impl Fn(&str) -> bool,
    ) -> Result<Processes, LambdaError> {
        if let Some(id) = artifacts
            .functions
            .keys()
            .find(|id| !cx.spec.functions.contains_key(*id))
        {
            return Err(LambdaError::UnknownFunction(id.clone()));
        }
        let mut chosen = Vec::new();
        for (id, function) in &cx.spec.functions {
            let behind_mapping = function
                .events
                .iter()
                .any(|e| !matches!(e.source, EventSource::Api(_)));
            if !behind_mapping {
                if artifacts.functions.contains_key(id) {
                    return Err(LambdaError::NotBehindMapping(id.clone()));
                }
                continue;
            }
            if skip(id) {
                continue;
            }
            if let Some(executable) = artifacts.executable(id, function.binary)? {
                chosen.push((id, function, executable));
            }
        }
        if chosen.is_empty() {
            return Ok(Processes::default());
        }
        let endpoint = cx
            .backend
            .endpoint_url()
            .ok_or(LambdaError::NoEndpoint(cx.backend.kind().name()))?;
        let proxy = AwsProxy::start(endpoint, cx.faults.clone()).await?;
        let mut functions = BTreeMap::new();
        for (id, function, executable) in chosen {
            let env = lambda_environment(&cx, id, function, &executable, &proxy)?;
            let spec = ProcessSpec {
                logical_id: id.clone(),
                function_arn: format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    cx.region, cx.account, function.name
                ),
                executable,
                env,
                timeout: function.timeout,
            };
            tracing::info!(
                "{id} runs as a process: {} (Runtime API; AWS through {})",
                spec.executable.display(),
                proxy.endpoint_url()
            );
            functions.insert(id.clone(), ProcessFunction::new(spec));
        }
        Ok(Processes {
            functions,
            proxy: Some(proxy),
        })
    }

    /// The handler of a function that runs as a process, shaped for its event source.
    pub fn handler(&self, id: &str, function: &FunctionSpec) -> Option<FunctionHandler> {
        let process = ProcessHandler(self.functions.get(id)?.clone());
        let kinesis = function
            .events
            .iter()
            .any(|e| matches!(e.source, EventSource::Kinesis(_)));
        Some(if kinesis {
            FunctionHandler::Kinesis(Arc::new(process))
        } else {
            FunctionHandler::Sqs(Arc::new(process))
        })
    }

    /// Whether no function runs as a process.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// Whether `id` runs as a process.
    pub fn runs(&self, id: &str) -> bool {
        self.functions.contains_key(id)
    }

    /// What each process function did, by logical id.
    pub fn stats(&self) -> BTreeMap<String, FunctionStats> {
        self.functions
            .iter()
            .map(|(id, f)| (id.clone(), f.stats()))
            .collect()
    }

    /// The AWS endpoint the children use.
    pub fn endpoint_url(&self) -> Option<String> {
        self.proxy.as_ref().map(AwsProxy::endpoint_url)
    }
}

/// The template's environment of the function, then Lambda's own variables (which, as on
/// Lambda, a template cannot override).
fn lambda_environment(
    cx: &ProcessContext<'_>,
    id: &str,
    function: &FunctionSpec,
    executable: &Path,
    proxy: &AwsProxy,
) -> Result<BTreeMap<String, String>, LambdaError> {
    let mut env = cx.spec.environment(id, cx.facts)?;
    let task_root = executable
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let handler = executable
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let day = chrono::Utc::now().format("%Y/%m/%d");
    let stream = uuid::Uuid::new_v4().simple();
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("{day}/[$LATEST]{stream}"),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", cx.region.clone()),
        ("AWS_DEFAULT_REGION", cx.region.clone()),
        ("_HANDLER", handler),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        // The harness's test credentials (a local backend accepts any).
        ("AWS_ACCESS_KEY_ID", "000000000000".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ENDPOINT_URL", proxy.endpoint_url()),
        ("PATH", LAMBDA_PATH.into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
    ];
    for (name, value) in lambda {
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, rel: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(crate::stack::unique_prefix(tag));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn artifacts_are_found_in_sam_and_cargo_lambda_layouts() {
        let sam = scratch("sam");
        let store = executable(&sam, "StoreFunction/bootstrap");
        let a = Artifacts {
            dir: Some(sam.clone()),
            ..Default::default()
        };
        assert_eq!(
            a.executable("StoreFunction", Some(Binary::Store)).unwrap(),
            Some(store.canonicalize().unwrap())
        );
        let lambda = scratch("cargo-lambda");
        let forward = executable(&lambda, "forward/bootstrap");
        let a = Artifacts {
            dir: Some(lambda.clone()),
            ..Default::default()
        };
        assert_eq!(
            a.executable("ForwardFunction", Some(Binary::Forward))
                .unwrap(),
            Some(forward.canonicalize().unwrap())
        );
        // Missing: every path tried is named.
        let err = a
            .executable("StoreFunction", Some(Binary::Store))
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("StoreFunction/bootstrap"), "{message}");
        assert!(message.contains("store/bootstrap"), "{message}");
        // A function without a binary runs in process unless named.
        assert_eq!(a.executable("AuditFunction", None).unwrap(), None);
        std::fs::remove_dir_all(sam).unwrap();
        std::fs::remove_dir_all(lambda).unwrap();
    }

    #[test]
    fn a_named_executable_wins_and_must_be_executable() {
        let dir = scratch("named");
        let script = executable(&dir, "fn.py");
        let plain = dir.join("plain.txt");
        std::fs::write(&plain, "x").unwrap();
        let mut a = Artifacts::default();
        a.functions.insert("AuditFunction".into(), script.clone());
        a.functions.insert("Other".into(), plain);
        assert_eq!(
            a.executable("AuditFunction", None).unwrap(),
            Some(script.canonicalize().unwrap())
        );
        assert!(matches!(
            a.executable("Other", None),
            Err(LambdaError::NotExecutable { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
