//! The `harness` command line: `up` (the main job), `emulator`, and the tools around them
//! (`scenario`, `soak`, `replay`, `redrive`, `load`, `bench`).
//!
//! Each subcommand is a module; this file parses arguments, sets up logging and the runtime,
//! and turns errors into exit codes (`anyhow` lives here, at the edge).

mod artifact_args;
mod bench_cmd;
mod emulator_cmd;
mod load_cmd;
mod memory_cmd;
mod redrive_cmd;
mod remote;
mod replay_cmd;
mod scenario_cmd;
mod soak_cmd;
mod template_args;
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
    /// Run a scenario (scenarios/NAME.toml or a path) and print its report.
    Scenario(scenario_cmd::Args),
    /// Re-read the stream of a running pipeline from a point through the forward handler.
    Replay(replay_cmd::Args),
    /// Move a running pipeline's DLQ messages back to its queue.
    Redrive(redrive_cmd::Args),
    /// Drive the whole pipeline with random faults on every hop, then check nothing was lost or doubled.
    Soak(soak_cmd::Args),
    /// Benchmark the emulator's hot operations through the SDK against a null server (and moto).
    Bench(bench_cmd::Args),
    /// Load an ingest API (a running `harness up`, or --embedded) and report events/s and latency.
    Load(load_cmd::Args),
    /// Measure the embedded emulator's resident memory per stored DynamoDB item.
    Memory(memory_cmd::Args),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the command line `args` (the program name first) and returns its exit code: 0 done,
/// 1 a scenario's expectation failed or a soak's invariant broke, 2 the command could not run (an invalid or unsupported
/// template among them). Callable in process, from a thread with no tokio runtime.
pub fn run(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    // A soak's injected faults make the mappings warn thousands of times: errors only.
    init_tracing(match cli.command {
        Command::Soak(_) => "error",
        _ => "info",
    });
    exit_code(match cli.command {
        Command::Up(args) => on_runtime(up_cmd::run(args)),
        Command::Emulator(args) => on_runtime(emulator_cmd::run(args)),
        Command::Load(args) => on_runtime(load_cmd::run(args)),
        Command::Bench(args) => on_runtime(bench_cmd::run(args)),
        Command::Memory(args) => on_runtime(memory_cmd::run(args)),
        Command::Replay(args) => on_runtime(replay_cmd::run(args)),
        Command::Redrive(args) => on_runtime(redrive_cmd::run(args)),
        // Scenarios pick their own runtime (a paused clock on the embedded backend).
        Command::Scenario(args) => scenario_cmd::main(args),
        // A soak runs on a current-thread runtime with a paused clock.
        Command::Soak(args) => soak_cmd::main(args),
    })
}

/// Runs a command on a multi-threaded runtime.
fn on_runtime(
    command: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(command)
}

fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Logging to stdout, filtered by `HARNESS_LOG`, else `default` (`info`, `error`).
fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HARNESS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
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
