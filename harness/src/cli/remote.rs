//! What `harness replay` and `harness redrive` share: connecting to a running pipeline (a
//! `harness up` on this machine by default, or any backend) and finding its resources.

use anyhow::Context;

use crate::backend::{Backend, BackendKind, BackendSettings, Provisioned, Resources};

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
    /// The stream name.
    #[arg(long, default_value = "events")]
    stream: String,
    /// The queue name.
    #[arg(long, default_value = "events")]
    queue: String,
    /// The DLQ name.
    #[arg(long, default_value = "events-dlq")]
    dlq: String,
}

pub struct Connected {
    pub backend: Backend,
    pub resources: Provisioned,
}

pub async fn connect(target: &Target) -> anyhow::Result<Connected> {
    let mut settings = BackendSettings::from_env()?;
    if settings.kind == BackendKind::Embedded {
        // A fresh embedded emulator would be empty: talk to the running one.
        settings.kind = BackendKind::Endpoint;
    }
    settings.endpoint_url = Some(target.endpoint_url.clone());
    let backend = Backend::start(&settings).await?;
    let wanted = Resources {
        stream: target.stream.clone(),
        queue: target.queue.clone(),
        dlq: target.dlq.clone(),
        ..Resources::default()
    };
    let resources = crate::backend::lookup(&backend.sdk_config(), &wanted)
        .await
        .with_context(|| {
            format!(
                "cannot find the pipeline's resources at {} (is `harness up` running?)",
                target.endpoint_url
            )
        })?;
    Ok(Connected { backend, resources })
}
