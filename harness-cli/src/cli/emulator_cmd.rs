//! `harness emulator`: the emulator alone on an HTTP port.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use emulator::{Emulator, EmulatorConfig};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to serve on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4566")]
    addr: SocketAddr,
    /// Enforce AWS's throughput limits (per-shard writes, on-demand table throttling).
    #[arg(long)]
    throughput_limits: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = EmulatorConfig::default();
    if args.throughput_limits {
        config = config.with_throughput_limits();
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // The address on stdout, alone on its line, so scripts can read it.
    println!("emulator listening on http://{addr}");
    tracing::info!(
        "Kinesis, SQS and DynamoDB at http://{addr}; health: GET http://{addr}/_emulator/health"
    );
    emulator::server::serve(listener, Emulator::new(config), super::shutdown_signal()).await?;
    tracing::info!("emulator stopped");
    Ok(ExitCode::SUCCESS)
}
