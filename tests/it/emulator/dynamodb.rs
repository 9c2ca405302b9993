//! dynamodb conformance (see emulator/mod.rs).
