//! What a test suite needs to run on several backends: skip, loudly, what a backend cannot do.
//!
//! The backend is the one `HARNESS_BACKEND` names (embedded by default; see
//! [`crate::backend`]). What each kind of backend lacks is declared once, in
//! [`Capabilities`](crate::backend::Capabilities); a test that needs such a [`Feature`] starts
//! with [`require!`](crate::require), which returns from the test after printing one line
//! to stderr:
//!
//! ```text
//! SKIPPED my_tests::a_paused_clock_test: moto lacks tokio's paused clock (it runs on the wall clock)
//! ```
//!
//! When `HARNESS_SKIP_LOG` names a file, each skip also appends one JSON line to it
//! (`{"test": "...", "reason": "..."}`), so CI counts skips from a structured source rather
//! than from interleaved test output.
//!
//! A test under tokio's paused clock that forgets `require!(PausedClock)` does not hang or
//! flake on a wall-clock backend: [`Harness::start`](crate::Harness::start) refuses it with
//! [`HarnessError::PausedClock`](crate::HarnessError::PausedClock).
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! // What `#[tokio::test(start_paused = true)]` builds around a test.
//! let runtime = tokio::runtime::Builder::new_current_thread()
//!     .enable_all()
//!     .start_paused(true)
//!     .build()?;
//! runtime.block_on(async {
//!     // On moto or LocalStack: prints the SKIPPED line and returns Ok(()).
//!     harness::require!(PausedClock);
//!     let h = harness::Harness::start().await?;
//!     h.drain().await?;
//!     h.shutdown().await;
//!     Ok(())
//! })
//! # }
//! ```

#![warn(missing_docs)]

use std::io::Write;
use std::sync::OnceLock;

use crate::backend::{BackendSettings, Feature};

/// The environment variable naming the file skips are appended to, one JSON line each.
pub const SKIP_LOG_VAR: &str = "HARNESS_SKIP_LOG";

/// The backend settings of this test process, read once from the environment.
///
/// # Panics
///
/// When the environment names no usable backend (a bad `HARNESS_BACKEND`): no test of the
/// suite could run.
pub fn settings() -> &'static BackendSettings {
    static SETTINGS: OnceLock<BackendSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        BackendSettings::from_env()
            .unwrap_or_else(|e| panic!("the test suite cannot choose a backend: {e}"))
    })
}

/// `Some(reason)` when the backend lacks one of `needs` or cannot be used at all (LocalStack
/// without Docker). May block while LocalStack starts (once per process).
pub fn skip_reason(needs: &[Feature]) -> Option<String> {
    let settings = settings();
    if let Some(reason) = settings.capabilities().missing(needs) {
        return Some(reason);
    }
    crate::backend::check_available(settings)
        .err()
        .map(|e| crate::backend::error_chain(&e))
}

/// Reports a skipped test: the `SKIPPED <test>: <reason>` line on stderr and, when
/// [`SKIP_LOG_VAR`] names a file, a JSON line appended to it.
pub fn skipped(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
    log_skip(serde_json::json!({"test": test, "reason": reason}));
}

/// Reports a scenario skipped inside a test that runs many (`SKIPPED scenario <name>: ...`);
/// its JSON line carries `"scenario"` instead of `"test"`.
pub fn skipped_scenario(name: &str, reason: &str) {
    eprintln!("SKIPPED scenario {name}: {reason}");
    log_skip(serde_json::json!({"scenario": name, "reason": reason}));
}

fn log_skip(line: serde_json::Value) {
    let Some(path) = std::env::var_os(SKIP_LOG_VAR).filter(|p| !p.is_empty()) else {
        return;
    };
    // One write of a whole line in append mode: concurrent tests' lines do not interleave.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "cannot append to {SKIP_LOG_VAR}={}: {e}",
            path.to_string_lossy()
        );
    }
}

/// Whether the current tokio runtime's clock is paused (`start_paused = true`,
/// `tokio::time::pause`). Outside a runtime: `false`.
pub fn clock_is_paused() -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return false;
    }
    // A paused clock does not move while the thread waits in real time; a running one does.
    let before = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    while real.elapsed() < std::time::Duration::from_micros(50) {
        std::hint::spin_loop();
    }
    tokio::time::Instant::now() == before
}

/// What a test returns when it is skipped: `()` or `Ok(())`, so [`require!`](crate::require)
/// works in tests returning either.
pub trait SkipReturn {
    /// The value a skipped test returns.
    fn skipped() -> Self;
}

impl SkipReturn for () {
    fn skipped() -> Self {}
}

impl<E> SkipReturn for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// The path of the function the macro is expanded in, without the crate name (for skip
/// lines: `module::test_name`).
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        $crate::testing::strip_test_path(::std::any::type_name_of_val(&here))
    }};
}

/// `type_name_of_val` of a function inside a test, made into `module::test_name`.
#[doc(hidden)]
pub fn strip_test_path(path: &str) -> String {
    let path = path.strip_suffix("::here").unwrap_or(path);
    let path = path.split_once("::").map_or(path, |(_crate, rest)| rest);
    path.replace("::{{closure}}", "")
}

/// `require!(PausedClock, MessageMoveTasks)`: returns from the test (with `()` or `Ok(())`),
/// printing `SKIPPED <test>: <reason>`, when the backend lacks one of the named
/// [`Feature`](crate::backend::Feature)s or cannot be used. `require!()` checks only the
/// latter.
///
/// ```
/// use harness::backend::Feature;
///
/// // In a suite: #[tokio::test] async fn redrive_uses_a_move_task() -> anyhow::Result<()>
/// async fn redrive_uses_a_move_task() -> anyhow::Result<()> {
///     // moto has no message move tasks: there this prints
///     // `SKIPPED redrive_uses_a_move_task: moto lacks SQS message move tasks (...)`.
///     harness::require!(MessageMoveTasks);
///     assert!(harness::testing::skip_reason(&[Feature::MessageMoveTasks]).is_none());
///     Ok(())
/// }
/// # fn main() -> anyhow::Result<()> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?
/// #     .block_on(redrive_uses_a_move_task())
/// # }
/// ```
#[macro_export]
macro_rules! require {
    ($($need:ident),* $(,)?) => {
        if let Some(reason) =
            $crate::testing::skip_reason(&[$($crate::backend::Feature::$need),*])
        {
            $crate::testing::skipped(&$crate::test_name!(), &reason);
            return $crate::testing::SkipReturn::skipped();
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_path_loses_its_crate_and_closures() {
        assert_eq!(
            strip_test_path("it::emulator::sqs::a_test::{{closure}}::here"),
            "emulator::sqs::a_test"
        );
        assert_eq!(strip_test_path("user_crate::t::here"), "t");
    }

    #[test]
    fn the_macro_names_the_enclosing_function() {
        assert_eq!(
            test_name!(),
            "testing::tests::the_macro_names_the_enclosing_function"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_detected() {
        assert!(clock_is_paused());
    }

    #[tokio::test]
    async fn a_running_clock_is_not_paused() {
        assert!(!clock_is_paused());
    }

    #[test]
    fn outside_a_runtime_nothing_is_paused() {
        assert!(!clock_is_paused());
    }
}
