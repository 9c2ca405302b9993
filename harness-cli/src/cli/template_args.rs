//! The template options every pipeline subcommand takes (`up`, `scenario`, `replay`,
//! `redrive`): which template, its parameters, and what the user accepts being ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use harness::stack::HarnessOptions;
use harness::template::{Acceptance, DEFAULT_TEMPLATE, Template};

#[derive(Debug, Clone, clap::Args)]
pub struct TemplateArgs {
    /// The SAM template the pipeline is built from (default: the project's template.yaml).
    #[arg(long, env = "HARNESS_TEMPLATE")]
    template: Option<PathBuf>,
    /// A template parameter value, NAME=VALUE (repeatable), as `sam deploy --parameter-overrides`.
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_parameter)]
    parameters: Vec<(String, String)>,
    /// Run although the template has this property the harness does not simulate
    /// (LogicalId.Property, a LogicalId for the whole resource, or `all`; repeatable).
    #[arg(long = "accept-unsupported", value_name = "LogicalId.Property")]
    accept: Vec<String>,
    /// Gone: resource names and settings come from the template (template.yaml).
    #[arg(long, hide = true)]
    config: Option<PathBuf>,
}

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

impl TemplateArgs {
    /// The template: `--template`, else `template.yaml` under `root` when given, else the
    /// project's.
    pub fn load(&self, root: Option<&Path>) -> anyhow::Result<Template> {
        if let Some(config) = &self.config {
            anyhow::bail!(
                "--config {} is gone: the pipeline's resource names, retry policies and mapping \
                 settings now come from the SAM template (template.yaml, or --template PATH); \
                 edit the template instead",
                config.display()
            );
        }
        let template = match (&self.template, root) {
            (Some(path), _) => Template::load(path)?,
            (None, Some(root)) if root.join(DEFAULT_TEMPLATE).is_file() => {
                Template::load(&root.join(DEFAULT_TEMPLATE))?
            }
            (None, _) => Template::project().context("no --template given")?,
        };
        Ok(template)
    }

    pub fn acceptance(&self) -> Acceptance {
        Acceptance::new(self.accept.clone())
    }

    pub fn parameters(&self) -> BTreeMap<String, String> {
        self.parameters.iter().cloned().collect()
    }

    /// Puts the template, its parameters and the acceptance into `options`.
    pub fn apply(&self, options: &mut HarnessOptions, root: Option<&Path>) -> anyhow::Result<()> {
        options.template = Some(self.load(root)?);
        options.parameters = self.parameters();
        options.accept = self.acceptance();
        Ok(())
    }
}
