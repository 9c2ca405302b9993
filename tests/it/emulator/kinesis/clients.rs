//! Third-party Kinesis clients as users run them, against a fresh emulator on a loopback port
//! (or the backend's endpoint): the scripts under `tests/clients/`.
//!
//! - `kinesis_cbor.py`: CBOR (`application/x-amz-cbor-1.1`, the Java SDK's and the KCL's
//!   protocol) with the `cbor2` package, signed by botocore's `SigV4Auth`;
//! - `kinesis_boto3.py`: boto3 (awsJson1_1);
//! - `kinesis_awscli.sh`: the AWS CLI.
//!
//! `CLIENT_PYTHON` names the Python interpreter (default `python3`), `CLIENT_AWS` the AWS CLI
//! (default `aws`); `pip install -r tests/clients/requirements.txt` installs what they need. A
//! test whose tool is missing skips with a `SKIPPED` line saying what to install.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::{Edge, Env, Need, skip_reason, skipped};

#[tokio::test]
async fn a_python_cbor_client_speaks_kinesis() {
    let test = crate::test_name!();
    let python = python();
    if let Some(reason) = skip_reason(&[Need::KinesisCbor]) {
        return skipped(&test, &reason);
    }
    if let Err(why) = probe(&python, &["-c", "import cbor2, botocore"]).await {
        return skipped(&test, &missing_python(&python, &why));
    }
    run(&python, &[script("kinesis_cbor.py")]).await;
}

#[tokio::test]
async fn boto3_speaks_kinesis() {
    let test = crate::test_name!();
    if let Some(reason) = skip_reason(&[]) {
        return skipped(&test, &reason);
    }
    let python = python();
    if let Err(why) = probe(&python, &["-c", "import boto3"]).await {
        return skipped(&test, &missing_python(&python, &why));
    }
    run(&python, &[script("kinesis_boto3.py")]).await;
}

#[tokio::test]
async fn the_aws_cli_speaks_kinesis() {
    let test = crate::test_name!();
    if let Some(reason) = skip_reason(&[]) {
        return skipped(&test, &reason);
    }
    let aws = std::env::var("CLIENT_AWS").unwrap_or_else(|_| "aws".into());
    if let Err(why) = probe(&aws, &["--version"]).await {
        return skipped(
            &test,
            &format!(
                "CLIENT_AWS={aws} cannot run ({why}); \
                 pip install -r tests/clients/requirements.txt and set CLIENT_AWS"
            ),
        );
    }
    let script = script("kinesis_awscli.sh");
    run_with("bash", &[script], &[("AWS", aws.as_str())]).await;
}

fn python() -> String {
    std::env::var("CLIENT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn missing_python(python: &str, why: &str) -> String {
    format!(
        "CLIENT_PYTHON={python} lacks the client's packages ({why}); \
         pip install -r tests/clients/requirements.txt into it and set CLIENT_PYTHON"
    )
}

fn script(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "clients", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

/// Runs `program args` once to see that it exists and works; the reason when it does not.
async fn probe(program: &str, args: &[&str]) -> Result<(), String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(stderr.lines().last().unwrap_or("failed").to_owned())
    }
}

async fn run(program: &str, args: &[String]) {
    run_with(program, args, &[]).await;
}

/// Runs a client against a fresh emulator over HTTP (120 s at most) and fails with its output
/// unless it succeeds.
async fn run_with(program: &str, args: &[String], vars: &[(&str, &str)]) {
    let env = Env::start(Edge::Http).await;
    let url = env.endpoint_url().expect("an HTTP endpoint");
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .kill_on_drop(true);
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} ran for over 120 s"))
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} against {url}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
