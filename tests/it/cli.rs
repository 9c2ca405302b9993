//! The `harness` binary as a user runs it: `harness up` answering the seed's curl with the item
//! stored in the backend's table, and `harness scenario` with its report and exit code, on
//! the backend `HARNESS_BACKEND` names (the child inherits it; on LocalStack it starts its own
//! container through testcontainers).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

/// The seed's key (template parameter `ApiKeyValue`'s default).
const SEED_KEY: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// How long a child may take to be ready: LocalStack's container start included.
const READY_WITHIN: Duration = Duration::from_secs(240);

/// The `harness` binary, built once per test process with `cargo build` (which reuses the
/// test build's crates).
fn harness_bin() -> &'static std::path::Path {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    BIN.get_or_init(build_harness_bin)
}

fn build_harness_bin() -> std::path::PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--package", "harness-cli", "--bin", "harness"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .stderr(Stdio::inherit());
    // The variables cargo sets for a test process (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, OUT_DIR,
    // ...) are ones build scripts declare with rerun-if-env-changed: passed on, they would make
    // this build and the next `cargo test` rebuild every such crate in turn.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                &*name,
                "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
            );
        if set_by_cargo {
            cargo.env_remove(&*name);
        }
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo cannot build the harness binary"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "harness")
        .find_map(|message| message["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo names the harness executable")
}

/// A child process whose stdout and stderr arrive as lines, killed when dropped.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(args: &[&str]) -> Running {
        Self::spawn_with(args, &[])
    }

    /// `args` with the environment changed: `(name, Some(value))` sets, `(name, None)` removes.
    fn spawn_with(args: &[&str], vars: &[(&str, Option<&str>)]) -> Running {
        let mut command = Command::new(harness_bin());
        for (name, value) in vars {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("HARNESS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the harness binary starts");
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for pipe in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line containing `needle`, waiting at most `within`.
    fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line with {needle:?} within {within:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the harness exited ({:?}) before a line with {needle:?}; output:\n{}",
                    self.child.try_wait(),
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ctrl-C, then the exit status and everything it printed.
    fn interrupt(mut self, within: Duration) -> (std::process::ExitStatus, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        let status = self.exit(within);
        (status, self.seen.join("\n"))
    }

    /// Waits for the child to exit on its own, collecting the rest of its output.
    fn exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The readers end with the pipes: take what is left.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                    self.seen.push(line);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the harness did not exit within {within:?}; output:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text after `marker` on `line`, up to the next whitespace.
fn word_after<'a>(line: &'a str, marker: &str) -> &'a str {
    let rest = &line[line.find(marker).expect("marker") + marker.len()..];
    rest.split_whitespace().next().unwrap_or_default()
}

/// A free loopback port (bound, then released for the child).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn harness_up_answers_the_seeds_curl_and_stores_the_item_in_the_backends_table() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    if Command::new("curl").arg("--version").output().is_err() {
        crate::support::skipped(&crate::test_name!(), "curl is not installed");
        return;
    }
    let ingest = format!("127.0.0.1:{}", free_port());
    let emulator = format!("127.0.0.1:{}", free_port());
    let mut up = Running::spawn(&[
        "up",
        "--ingest-addr",
        &ingest,
        "--emulator-addr",
        &emulator,
        "--live-addr",
        "127.0.0.1:0",
        "--poll-interval",
        "100ms",
    ]);
    let apis = up.wait_for("AWS APIs (", READY_WITHIN);
    let endpoint = word_after(&apis, " at ").to_owned();
    let table = word_after(&apis, "--table-name ")
        .trim_end_matches(')')
        .to_owned();
    up.wait_for("ingest API at", Duration::from_secs(30));
    let live = up.wait_for("live view at", Duration::from_secs(30));
    let live = word_after(&live, "live view at ").to_owned();

    // The seed's request verbatim (README, "Writing to the stream"), at the test's port.
    let curl = Command::new("curl")
        .args([
            "-sS",
            "-d",
            r#"{"stream": "default", "payload": { "energy_type": "nuclear" }}"#,
            "-H",
            "Content-Type: application/json",
            "-H",
            &format!("x-api-key: {SEED_KEY}"),
            "-e",
            "localhost",
            "-X",
            "PUT",
            &format!("http://{ingest}/prod/stream"),
            "-w",
            "\n%{http_code}",
        ])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&curl.stdout);
    let (body, status) = text.rsplit_once('\n').expect("body and status");
    assert_eq!(status, "200", "{text}");
    let receipt: serde_json::Value = serde_json::from_str(body).expect("a JSON answer");
    let id = receipt["id"].as_str().expect("an id").to_owned();
    assert!(receipt["shardId"].as_str().unwrap().starts_with("shardId-"));

    // The item, read from the backend's own DynamoDB at the endpoint `up` printed.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let item = runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(pipeline::aws::https_client())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .endpoint_url(&endpoint)
            .load()
            .await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = dynamodb
                .get_item()
                .table_name(&table)
                .key("id", AttributeValue::S(id.clone()))
                .consistent_read(true)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetItem on {table} at {endpoint}: {e:?}"));
            if let Some(item) = got.item {
                break item;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} not stored in {table} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(item["stream"], AttributeValue::S("default".into()));
    let payload = item["payload"].as_m().expect("payload is a map");
    assert_eq!(payload["energy_type"], AttributeValue::S("nuclear".into()));

    // The live view `up` printed shows the item (its page is tested in a browser in
    // live_view.rs; here its state API, from the binary as a user starts it).
    let state = Command::new("curl")
        .args(["-sS", &format!("{live}api/state")])
        .output()
        .expect("curl runs");
    let state: serde_json::Value = serde_json::from_slice(&state.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&state.stdout)));
    assert_eq!(state["table"]["items"], 1, "{state}");
    assert_eq!(state["table"]["latest"][0]["id"], id.as_str(), "{state}");

    let (status, output) = up.interrupt(Duration::from_secs(60));
    assert!(status.success(), "{status}: {output}");
    assert!(output.contains("stopped: 1 ingested, 1 stored"), "{output}");
}

#[test]
fn harness_scenario_prints_its_report_and_exits_zero_when_every_expectation_holds() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    let mut run = Running::spawn(&["scenario", "sqs-failure"]);
    let status = run.exit(READY_WITHIN + Duration::from_secs(120));
    let output = run.seen.join("\n");
    assert!(status.success(), "{status}: {output}");
    assert!(output.contains("verdict: PASS"), "{output}");
}

#[test]
fn harness_scenario_exits_one_naming_the_expectation_that_failed() {
    crate::require!(); // Skips (loudly) when the backend is unavailable.
    let dir = std::env::temp_dir().join(format!("harness-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.toml");
    std::fs::write(
        &path,
        "description = \"expects one item too few\"\n[[steps]]\ningest = { count = 2 }\n\
         [[steps]]\ndrain = {}\n[[steps]]\nexpect = { table = 1 }\n",
    )
    .unwrap();
    let mut run = Running::spawn(&["scenario", path.to_str().unwrap()]);
    let status = run.exit(READY_WITHIN + Duration::from_secs(60));
    let output = run.seen.join("\n");
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("table = 2, expected 1"), "{output}");
}

/// Real AWS is never reached by accident: the endpoint backend with no endpoint variable would
/// send the SDK to AWS, so `harness scenario` refuses before any call (exit 2), naming how to
/// mean it. Needs no backend: nothing starts.
#[test]
fn harness_refuses_to_reach_real_aws_without_being_told_to() {
    let mut vars = vec![
        ("HARNESS_BACKEND", Some("endpoint")),
        ("HARNESS_ALLOW_REAL_AWS", None),
    ];
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KINESIS",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "HARNESS_ENDPOINT_KIND",
    ] {
        vars.push((name, None));
    }
    let mut run = Running::spawn_with(&["scenario", "sqs-failure"], &vars);
    let status = run.exit(Duration::from_secs(60));
    let output = run.seen.join("\n");
    assert_eq!(status.code(), Some(2), "{output}");
    assert!(output.contains("would reach real AWS"), "{output}");
    assert!(output.contains("--allow-real-aws"), "{output}");
}

/// `harness soak` through the binary: a small soak with faults on every hop ends with the
/// verdict line and exit 0; on another backend than the embedded one it refuses (exit 2)
/// before starting anything.
#[test]
fn harness_soak_prints_its_verdict_and_refuses_other_backends() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let mut run = Running::spawn(&[
        "soak",
        "--events",
        "300",
        "--fault-rate",
        "0.1",
        "--seed",
        "5",
    ]);
    let status = run.exit(Duration::from_secs(300));
    let output = run.seen.join("\n");
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(
        output.contains("soak: lost 0, double effects 0, conflicts 0, dlq "),
        "{output}"
    );
    assert!(output.contains("seed 5, events 300"), "{output}");

    let mut refused = Running::spawn_with(
        &["soak", "--events", "10"],
        &[("HARNESS_BACKEND", Some("localstack"))],
    );
    let status = refused.exit(Duration::from_secs(60));
    let output = refused.seen.join("\n");
    assert_eq!(status.code(), Some(2), "{output}");
    assert!(output.contains("embedded backend only"), "{output}");
}

#[test]
fn harness_up_refuses_a_live_view_off_loopback() {
    // The live view can redrive the DLQ: like every other port of `up` it stays on loopback,
    // and an address off it is refused before anything starts.
    let mut up = Running::spawn(&[
        "up",
        "--live-addr",
        "0.0.0.0:0",
        "--ingest-addr",
        "127.0.0.1:0",
        "--emulator-addr",
        "127.0.0.1:0",
    ]);
    let status = up.exit(Duration::from_secs(60));
    let output = up.seen.join("\n");
    assert!(!status.success(), "{output}");
    assert!(
        output.contains("--live-addr 0.0.0.0:0 is not a loopback address"),
        "{output}"
    );
}
