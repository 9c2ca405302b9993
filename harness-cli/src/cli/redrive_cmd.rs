//! `harness redrive`: move every DLQ message back to the queue, where the store handler
//! picks it up again.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::remote::{self, Target};
use harness::stack::replay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Give up if the move has not finished after this long.
    #[arg(long, default_value = "10m", value_parser = pipeline::config::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let remote::Connected {
        backend, resources, ..
    } = remote::connect(&args.target).await?;
    let sqs = aws_sdk_sqs::Client::new(&backend.sdk_config());
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages moved")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let started = std::time::Instant::now();
    let moved = replay::redrive_dlq(
        &sqs,
        &resources,
        backend.capabilities().message_move_tasks,
        args.timeout,
        move |moved, total| {
            progress.set_length(total);
            progress.set_position(moved);
        },
    )
    .await?;
    bar.finish_and_clear();
    println!(
        "moved {moved} message(s) from {} to {} in {:.2} s",
        resources.resources.dlq,
        resources.resources.queue,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
