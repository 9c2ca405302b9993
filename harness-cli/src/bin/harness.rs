//! The `harness` command: see `harness --help`.

/// The AWS SDK allocates heavily per call; glibc's allocator spent ~30% of a loaded run in
/// malloc/free and its arena locks (BENCHMARKS.md, "End to end"). mimalloc halves that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    harness_cli::cli::main()
}
