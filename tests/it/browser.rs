//! A real browser for the report and live view tests: Debian's `chromium`, headless, driven
//! by its own `--dump-dom` (the DOM after the page's JS ran) and `--screenshot`.
//!
//! `CHROMIUM` names the executable (default: `chromium` or `chromium-browser` on `PATH`);
//! without one, the browser tests print `SKIPPED <test>: chromium not installed ...` and pass.
//! Screenshots go to `$REPORT_SCREENSHOTS` (CI keeps that directory as artifacts), else to
//! `$TMPDIR/kinesis-pipeline-screenshots`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one Chromium run may take before the test fails.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

/// The Chromium executable, if there is one.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("chromium"), dir.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// The browser, or the loud skip line for `test` and `None`.
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        harness::testing::skipped(
            test,
            "chromium not installed (apt-get install chromium, or CHROMIUM=/path/to/chromium)",
        );
    }
    found
}

/// Where screenshots are kept.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("REPORT_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kinesis-pipeline-screenshots"));
    std::fs::create_dir_all(&dir).expect("the screenshot directory can be made");
    dir
}

/// Runs headless Chromium on `url` with `extra` arguments and returns its stdout. A fresh
/// profile each run; the networking flags keep it from reaching the internet (these machines
/// refuse it). `--virtual-time-budget` lets the page's timers and fetches run first.
fn run(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = std::env::temp_dir().join(crate::support::unique("chromium-profile"));
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let pid = child.id();
    // Read its output on a thread (a full pipe would block it) and wait with a deadline.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(BROWSER_DEADLINE) {
        Ok(output) => output.expect("chromium's output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("chromium did not finish within {BROWSER_DEADLINE:?} on {url}");
        }
    };
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The DOM of `url` after its scripts ran for `budget` of virtual time.
pub fn dump_dom(browser: &Path, url: &str, budget: Duration) -> String {
    run(
        browser,
        url,
        &[
            format!("--virtual-time-budget={}", budget.as_millis()),
            "--dump-dom".into(),
        ],
    )
}

/// A PNG of `url` (`width` x `height`) in [`screenshot_dir`] as `name`; returns its path.
pub fn screenshot(
    browser: &Path,
    url: &str,
    name: &str,
    (width, height): (u32, u32),
    budget: Duration,
) -> PathBuf {
    let path = screenshot_dir().join(name);
    run(
        browser,
        url,
        &[
            format!("--virtual-time-budget={}", budget.as_millis()),
            format!("--window-size={width},{height}"),
            format!("--screenshot={}", path.display()),
        ],
    );
    let png = std::fs::read(&path).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        path.display()
    );
    path
}

/// The text of an HTML fragment: tags dropped, entities of the renderer decoded, spaces
/// collapsed (enough to read what a person sees in the report's own markup).
pub fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The markup of the element that starts at `id="..."` up to the next element of the same
/// `class` (the lanes and journeys are siblings), or the end.
pub fn element<'a>(html: &'a str, attr: &str, class: &str) -> &'a str {
    let start = html
        .find(attr)
        .unwrap_or_else(|| panic!("no element with {attr} in the page"));
    let rest = &html[start..];
    let end = rest[1..]
        .find(&format!("class=\"{class}\""))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}
