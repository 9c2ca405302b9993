//! The `harness` command, on the [`harness`] library: what a developer runs (`up`,
//! `emulator`, `scenario`, `replay`, `redrive`), and the tools that measure the emulator and
//! the pipeline (`load`, `bench`). Kept out of the library so a test author's build compiles
//! no CLI, progress-bar or allocator crates.
//!
//! Layout:
//! - [`cli`]: one module per subcommand; the only place with `anyhow`;
//! - [`bench`]: the emulator's benchmark (`harness bench`);
//! - [`load`]: the load generator for the ingest API (`harness load`, the end-to-end bench).

pub mod bench;
pub mod cli;
pub mod load;
