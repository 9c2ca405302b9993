//! Scenario files: scripted faults, ingestion and expectations, run against a live pipeline.
//!
//! - [`model`]: the TOML format; [`load`](mod@load): finding and parsing files (errors name
//!   file and line); [`run`](mod@run): the runner; [`report`]: checks, verdict and the
//!   rendered report.

#![warn(missing_docs)]

pub mod load;
pub mod model;
pub mod report;
pub mod run;

pub use load::{LoadError, load, parse, resolve};
pub use model::{Scenario, Step};
pub use report::{Check, ScenarioReport, Snapshot};
pub use run::{RunError, RunOptions, run};
