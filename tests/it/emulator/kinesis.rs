//! kinesis conformance (see emulator/mod.rs).
