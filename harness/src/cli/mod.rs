//! The `harness` command line: `up` (the main job), `emulator`, and the tools around them.
//!
//! Each subcommand is a module; this file parses arguments, sets up logging and the runtime,
//! and turns errors into exit codes (`anyhow` lives here, at the edge).

mod emulator_cmd;
mod load_cmd;
mod up_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Run the Kinesis -> SQS -> DynamoDB pipeline locally and prove it correct"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipeline locally: emulator, resources, ingest API, both event source mappings.
    Up(up_cmd::Args),
    /// Serve the embedded Kinesis/SQS/DynamoDB emulator alone, for the AWS CLI, boto3 or SDKs.
    Emulator(emulator_cmd::Args),
    /// Load a running ingest API (`harness up`) and report events/s and latency percentiles.
    Load(load_cmd::Args),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up_cmd::run(args).await,
            Command::Emulator(args) => emulator_cmd::run(args).await,
            Command::Load(args) => load_cmd::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HARNESS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .try_init();
}

/// Resolves when the user presses Ctrl-C (or the process gets SIGTERM).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
