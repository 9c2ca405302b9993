//! What `harness replay` and `harness redrive` share: connecting to a running pipeline (a
//! `harness up` on this machine by default, or any backend) and finding the resources its
//! template names.

use anyhow::Context;

use super::template_args::TemplateArgs;
use harness::backend::{Backend, BackendKind, BackendSettings, Provisioned};
use harness::template::spec::CompileOptions;
use harness::template::{Facts, PipelineSpec};

#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The AWS endpoint of the running pipeline (default: a `harness up` on this machine;
    /// set HARNESS_BACKEND / AWS_ENDPOINT_URL to point elsewhere).
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    endpoint_url: String,
    #[command(flatten)]
    template: TemplateArgs,
}

pub struct Connected {
    pub backend: Backend,
    pub resources: Provisioned,
    pub spec: PipelineSpec,
    pub facts: Facts,
}

pub async fn connect(target: &Target) -> anyhow::Result<Connected> {
    let mut settings = BackendSettings::from_env()?;
    if settings.kind == BackendKind::Embedded {
        // A fresh embedded emulator would be empty: talk to the running one.
        settings.kind = BackendKind::Endpoint;
    }
    settings.endpoint_url = Some(target.endpoint_url.clone());
    let template = target.template.load(None)?;
    let spec = PipelineSpec::compile(
        &template,
        &CompileOptions {
            parameters: target.template.parameters(),
            accept: target.template.acceptance(),
            region: settings.region.clone(),
            account: settings.emulator.account.clone(),
            ..CompileOptions::default()
        },
    )?;
    let backend = Backend::start(&settings).await?;
    let resources = harness::backend::lookup(&backend.sdk_config(), &spec)
        .await
        .with_context(|| {
            format!(
                "cannot find the resources of {} at {} (is `harness up` running?)",
                spec.origin, target.endpoint_url
            )
        })?;
    let spec = spec.located_by(&resources.stream_arn);
    let facts = spec.facts(&resources.queue_urls);
    Ok(Connected {
        backend,
        resources,
        spec,
        facts,
    })
}
