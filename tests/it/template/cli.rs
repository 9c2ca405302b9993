//! The command line refuses what the harness cannot run with exit code 2 (an unsupported
//! property, a value AWS refuses, the old `--config`), and runs the same template once the
//! property is accepted.

use std::process::ExitCode;

use super::{TempTemplate, edited};

fn harness(args: &[&str]) -> ExitCode {
    let mut argv = vec!["harness"];
    argv.extend_from_slice(args);
    // The scenario command builds its own runtime: run it off the test's thread.
    let argv: Vec<String> = argv.into_iter().map(str::to_owned).collect();
    std::thread::spawn(move || harness_cli::cli::run(argv))
        .join()
        .expect("the command does not panic")
}

const ENCRYPTED: (&str, &str) = (
    "      RetentionPeriodHours: 24\n",
    "      RetentionPeriodHours: 24\n      StreamEncryption: {EncryptionType: KMS, KeyId: alias/aws/kinesis}\n",
);

#[test]
fn an_unsupported_property_exits_2_unless_accepted() {
    crate::require!(); // Real time on other backends: a few seconds.
    let t = TempTemplate::new("encrypted", &edited(ENCRYPTED.0, ENCRYPTED.1));
    let path = t.0.to_str().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        harness(&[
            "scenario",
            "sqs-failure",
            "--root",
            root,
            "--template",
            path
        ]),
        ExitCode::from(2)
    );
    assert_eq!(
        harness(&[
            "scenario",
            "sqs-failure",
            "--root",
            root,
            "--template",
            path,
            "--accept-unsupported",
            "EventsStream.StreamEncryption"
        ]),
        ExitCode::SUCCESS
    );
}

#[test]
fn an_invalid_value_and_the_old_config_flag_exit_2() {
    crate::require!(); // Real time on other backends: a few seconds.
    let root = env!("CARGO_MANIFEST_DIR");
    let t = TempTemplate::new(
        "batch0",
        &edited("            BatchSize: 100\n", "            BatchSize: 0\n"),
    );
    let path = t.0.to_str().unwrap();
    assert_eq!(
        harness(&[
            "scenario",
            "sqs-failure",
            "--root",
            root,
            "--template",
            path
        ]),
        ExitCode::from(2)
    );
    assert_eq!(
        harness(&[
            "up",
            "--template",
            path,
            "--ingest-addr",
            "127.0.0.1:0",
            "--emulator-addr",
            "127.0.0.1:0"
        ]),
        ExitCode::from(2)
    );
    assert_eq!(
        harness(&[
            "up",
            "--config",
            "pipeline.toml",
            "--ingest-addr",
            "127.0.0.1:0"
        ]),
        ExitCode::from(2)
    );
}
