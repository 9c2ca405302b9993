//! The harness: backends, event source mappings and fault injection.

mod backends;
mod esm;
mod fault;
