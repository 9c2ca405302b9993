//! A user's crate: its tests (`tests/`) drive the pipeline through `harness`.
