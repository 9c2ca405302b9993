//! Finding and parsing scenario files, with errors that name the file, the line and the problem.

use std::path::{Path, PathBuf};

use super::model::Scenario;

/// Why a scenario file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no scenario named {name:?}: looked for {path}")]
    /// No file for the name.
    NotFound {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario (TOML or its model).
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Resolves `NAME` to `<dir>/NAME.toml`, or takes a path as it is.
pub fn resolve(name_or_path: &str, dir: &Path) -> Result<PathBuf, LoadError> {
    let as_path = Path::new(name_or_path);
    if as_path.extension().is_some_and(|e| e == "toml") || name_or_path.contains('/') {
        return Ok(as_path.to_path_buf());
    }
    let path = dir.join(format!("{name_or_path}.toml"));
    if path.exists() {
        Ok(path)
    } else {
        Err(LoadError::NotFound {
            name: name_or_path.to_owned(),
            path,
        })
    }
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses scenario text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, LoadError> {
    toml::from_str(text).map_err(|err| {
        let (line, column) = err
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        LoadError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: err.message().to_owned(),
        }
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Step;

    #[test]
    fn parses_the_design_sketch() {
        let text = r#"
description = "SQS throttles SendMessage twice; everything still lands once"
[[steps]]
fault = { service = "sqs", operation = "SendMessage", action = "throttle", first = 2 }
[[steps]]
ingest = { fixture = "fixtures/energy.jsonl" }
[[steps]]
drain = {}
[[steps]]
expect = { table = 20, dlq = 0, lost = 0 }
"#;
        let scenario = parse(text, Path::new("x.toml")).unwrap();
        let kinds: Vec<_> = scenario.steps.iter().map(Step::kind).collect();
        assert_eq!(kinds, ["fault", "ingest", "drain", "expect"]);
    }

    #[test]
    fn an_unknown_step_names_the_file_and_line() {
        let text =
            "description = \"x\"\n[[steps]]\ningest = { count = 1 }\n[[steps]]\nteleport = {}\n";
        let err = parse(text, Path::new("scenarios/bad.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("scenarios/bad.toml:5:"), "{msg}");
        assert!(msg.contains("teleport"), "{msg}");
    }

    #[test]
    fn a_misspelt_expectation_is_rejected() {
        let text = "description = \"x\"\n[[steps]]\nexpect = { tabel = 1 }\n";
        let err = parse(text, Path::new("s.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("s.toml:3:"), "{msg}");
        assert!(msg.contains("tabel"), "{msg}");
    }
}
