//! The one integration-test binary: the emulator's conformance suites, the pipeline end to
//! end, and the harness. Every test reaches AWS APIs through the official SDK clients.

mod support;

mod cli;
mod e2e;
mod emulator;
mod functions;
mod harness;
mod pipeline;
mod props;
mod scenarios;
mod template;
