//! `template.yaml` as the single source of truth: what the harness reads from it, what it
//! refuses, and that each property it reads changes what the pipeline does.

mod behaviour;
mod cli;
mod compile;
mod fan_out;

use std::path::{Path, PathBuf};

use harness::HarnessOptions;
use harness::template::Template;

/// The project's own template, the one `sam deploy` ships.
pub fn project_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")
}

pub fn project_text() -> String {
    std::fs::read_to_string(project_path()).expect("template.yaml")
}

/// The project's template with `find` replaced by `replace` (which must occur).
pub fn edited(find: &str, replace: &str) -> String {
    let text = project_text();
    assert!(
        text.contains(find),
        "template.yaml no longer contains {find:?}"
    );
    text.replacen(find, replace, 1)
}

/// The project's template with more resources (YAML indented by two spaces).
pub fn with_resources(extra: &str) -> String {
    edited("Resources:\n", &format!("Resources:\n{extra}\n"))
}

pub fn parse(text: &str) -> Template {
    Template::parse(text, "test-template.yaml").expect("the template parses")
}

/// Test options (unique names, the backend from the environment) running `text`.
pub fn options(text: &str) -> HarnessOptions {
    let mut options = HarnessOptions::for_tests().expect("options");
    options.template = Some(parse(text));
    options
}

/// A file holding `text`, for the command line (removed when the value drops).
pub struct TempTemplate(pub PathBuf);

impl TempTemplate {
    pub fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "{}-{}-{name}.yaml",
            std::process::id(),
            harness::stack::unique_prefix("tpl")
        ));
        std::fs::write(&path, text).expect("write the template");
        TempTemplate(path)
    }
}

impl Drop for TempTemplate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
