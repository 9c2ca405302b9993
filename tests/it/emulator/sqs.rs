//! sqs conformance (see emulator/mod.rs).
