//! Scenario files: scripted faults, ingestion and expectations, run against a live pipeline.
//!
//! - [`model`]: the TOML format; [`load`](mod@load): finding and parsing files (errors name
//!   file and line); [`run`](mod@run): the runner; [`report`]: checks, verdict and the
//!   rendered report.
//!
//! A scenario parsed from text and run on the backend `HARNESS_BACKEND` names (the embedded
//! emulator by default), under tokio's paused clock as the suite runs them:
//!
//! ```
//! use harness::backend::BackendSettings;
//! use harness::scenario::{self, RunOptions};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> anyhow::Result<()> {
//! let text = r#"
//! description = "DynamoDB throttles the first two PutItem calls; all three events are stored"
//! [[steps]]
//! [steps.fault]
//! name = "twice"
//! service = "dynamodb"
//! operation = "PutItem"
//! action = "throttle"
//! first = 2
//! [[steps]]
//! ingest = { count = 3 }
//! [[steps]]
//! drain = {}
//! [[steps]]
//! expect = { table = 3, dlq = 0, lost = 0, fired = [{ rule = "twice", count = 2 }] }
//! "#;
//! let scenario = scenario::parse(text, "inline.toml".as_ref())?;
//! // Fixture and template paths are relative to the workspace root.
//! let options = RunOptions::new("..", BackendSettings::from_env()?);
//! let report = scenario::run("inline", &scenario, &options).await?;
//! assert!(report.passed(), "{}", report.render());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod load;
pub mod model;
pub mod report;
pub mod run;

pub use load::{LoadError, load, parse, resolve};
pub use model::{Scenario, Step};
pub use report::{Check, ScenarioReport, Snapshot};
pub use run::{RunError, RunOptions, run};
