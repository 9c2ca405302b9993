//! The artifact-mode options of `up` and `scenario`: which functions run as child processes
//! through the Lambda Runtime API.

use std::path::PathBuf;

use harness::lambda::Artifacts;

#[derive(Debug, Clone, clap::Args)]
pub struct ArtifactArgs {
    /// Run the functions behind the mappings from built artifacts: DIR/<LogicalId>/bootstrap
    /// (sam build: .aws-sam/build), DIR/<binary>/bootstrap (cargo lambda build: target/lambda)
    /// or DIR/<binary> (cargo build: target/debug). Real time, no paused clock.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Run one function from any executable that speaks the Lambda Runtime API
    /// (LogicalId=PATH, repeatable).
    #[arg(long = "function", value_name = "LogicalId=PATH", value_parser = parse_function)]
    functions: Vec<(String, PathBuf)>,
}

fn parse_function(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((id, path)) if !id.is_empty() && !path.is_empty() => {
            Ok((id.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("`{text}` is not LogicalId=PATH")),
    }
}

impl ArtifactArgs {
    pub fn artifacts(&self) -> Artifacts {
        Artifacts {
            dir: self.artifacts.clone(),
            functions: self.functions.iter().cloned().collect(),
        }
    }
}
