# Recipes are one line each; the logic lives in Rust (`harness --help`).
# up, emulator, scenario and test share the test build (the dev profile, optimised: Cargo.toml);
# load and bench measure, so they use the release build.

# Run the pipeline locally: emulator on :4566, ingest API on :3000.
up *ARGS:
    cargo run -p harness-cli -- up {{ARGS}}

# Serve the emulator alone on :4566 (for the AWS CLI, boto3, other programs).
emulator *ARGS:
    cargo run -p harness-cli -- emulator {{ARGS}}

# The whole test suite on the embedded backend (what CI runs).
test:
    cargo test --workspace

# Run one scenario from scenarios/NAME.toml and print its report.
scenario NAME:
    cargo run -p harness-cli -- scenario {{NAME}}

# Load the ingest API of a running `just up` and report events/s and latency.
load *ARGS:
    cargo run --release -p harness-cli -- load {{ARGS}}

# Benchmarks (figures go to BENCHMARKS.md).
bench *ARGS:
    cargo run --release -p harness-cli -- bench {{ARGS}}

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Build the token-free LocalStack image from public packages (seconds when it exists).
localstack-image *ARGS:
    bash scripts/localstack-image {{ARGS}}
