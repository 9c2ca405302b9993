//! Scenario files: scripted faults, ingestion and expectations, run against a live pipeline.

pub mod load;
pub mod model;

pub use load::{LoadError, load, parse, resolve};
pub use model::{Scenario, Step};
