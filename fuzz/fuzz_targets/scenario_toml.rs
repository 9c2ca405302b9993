//! The scenario and fault loader: any text through `harness::scenario::parse` (the TOML that
//! `harness scenario` reads, fault tables validated while deserialising), and every fault it
//! accepts installed in a `FaultPlan` and listed, as a scenario run does.
//!
//! Checked: no panic, no hang; an error names a line and column inside the text.

#![no_main]

use std::path::Path;

use harness::fault::FaultPlan;
use harness::scenario::load::{LoadError, parse};
use harness::scenario::model::Step;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, Path::new("fuzz.toml")) {
        Ok(scenario) => {
            let plan = FaultPlan::with_seed(scenario.settings.seed.unwrap_or(0));
            for step in &scenario.steps {
                if let Step::Fault(spec) = step {
                    plan.install(spec);
                }
            }
            let _ = plan.rules();
        }
        Err(LoadError::Invalid { line, column, .. }) => {
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            assert!(column >= 1, "column {column}");
        }
        Err(other) => panic!("parse gave a non-parse error: {other}"),
    }
});
