//! The one integration-test binary: the emulator's conformance suites, the pipeline end to
//! end, and the harness. Every test reaches AWS APIs through the official SDK clients.

mod browser;
mod support;

// The skip API of `harness::testing`, as `crate::require!` (the `harness` module below shadows
// the crate's name here).
use ::harness::{require, test_name};

mod cli;
mod e2e;
mod emulator;
mod functions;
mod harness;
mod live_view;
mod pipeline;
mod props;
mod report;
mod scenarios;
mod soak;
mod template;
