//! The harness: backends, event source mappings and fault injection.

mod artifact;
mod backends;
mod esm;
mod fault;
