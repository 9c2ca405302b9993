//! The harness: event source mappings and fault injection.

mod esm;
mod fault;
