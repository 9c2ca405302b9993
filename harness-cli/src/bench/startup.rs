//! Start-to-ready: how long a test waits before the emulator is useful.
//!
//! - In process: from `Emulator::new(EmulatorConfig::default())`, through building the SDK
//!   clients and creating a stream, a queue and a table, to the first successful PutRecord.
//! - Over HTTP: from `Emulator::new` and `server::spawn` on an ephemeral port to the first
//!   `200` answer of `GET /_emulator/health` on a fresh connection.

use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::BenchError;
use super::target::in_process_config;
use super::workload::{Case, Workload};

/// Several runs of one start-up, in the order they ran (the first one pays one-time costs).
#[derive(Debug, Clone, PartialEq)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }

    pub fn min(&self) -> Duration {
        self.0.iter().min().copied().unwrap_or_default()
    }

    pub fn max(&self) -> Duration {
        self.0.iter().max().copied().unwrap_or_default()
    }

    /// The first run, which pays the process's one-time costs (lazy statics, first allocations).
    pub fn first(&self) -> Duration {
        self.0.first().copied().unwrap_or_default()
    }
}

/// Both start-up measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupReport {
    pub in_process: Samples,
    pub http_health: Samples,
}

pub async fn measure(runs: usize) -> Result<StartupReport, BenchError> {
    let mut in_process = Vec::with_capacity(runs);
    let mut http_health = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        in_process.push(in_process_once(run).await?);
        http_health.push(http_once().await?);
    }
    Ok(StartupReport {
        in_process: Samples(in_process),
        http_health: Samples(http_health),
    })
}

async fn in_process_once(run: usize) -> Result<Duration, BenchError> {
    let start = Instant::now();
    let emulator = Emulator::new(EmulatorConfig::default());
    let client = SharedHttpClient::new(emulator::client::InProcessClient::new(emulator));
    let sdk = in_process_config(client);
    let workload = Workload::provision(&sdk, &format!("startup-{run}")).await?;
    workload
        .call(Case::PutRecord)
        .await
        .map_err(BenchError::FirstPutRecord)?;
    Ok(start.elapsed())
}

async fn http_once() -> Result<Duration, BenchError> {
    let start = Instant::now();
    let emulator = Emulator::new(EmulatorConfig::default());
    let server = emulator::server::spawn(([127, 0, 0, 1], 0).into(), emulator)
        .await
        .map_err(BenchError::Bind)?;
    let answer = health(server.addr()).await.map_err(BenchError::Health)?;
    let elapsed = start.elapsed();
    if !answer.starts_with("HTTP/1.1 200") {
        let status = answer.lines().next().unwrap_or("no answer").to_owned();
        return Err(BenchError::HealthStatus(status));
    }
    let _ = server.shutdown().await;
    Ok(elapsed)
}

/// One `GET /_emulator/health` on a fresh connection; the raw answer.
async fn health(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request =
        format!("GET /_emulator/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Samples {
        Samples(values.iter().map(|&v| Duration::from_millis(v)).collect())
    }

    #[test]
    fn the_median_of_an_odd_number_of_runs_is_the_middle_one() {
        let samples = ms(&[9, 1, 3, 2, 4]);
        assert_eq!(samples.median(), Duration::from_millis(3));
        assert_eq!(samples.first(), Duration::from_millis(9));
        assert_eq!(
            (samples.min(), samples.max()),
            (ms(&[1]).0[0], ms(&[9]).0[0])
        );
    }

    #[tokio::test]
    async fn both_start_ups_reach_ready() {
        let report = measure(2).await.unwrap();
        assert_eq!(report.in_process.0.len(), 2);
        assert_eq!(report.http_health.0.len(), 2);
    }
}
