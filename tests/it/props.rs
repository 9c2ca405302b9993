//! Property tests of the whole pipeline: random histories of events (producer retries,
//! lost PutRecord responses, crashes of the forward consumer) under random fault plans
//! (SendMessage and PutItem failing inside and beyond their retry budgets, duplicated and
//! crashed deliveries), each run end to end on a fresh embedded harness under tokio's paused
//! clock, then checked against the delivery contract:
//!
//! 1. every event the stream holds is in the table exactly once or on the DLQ, never lost;
//!    in both only when more than one copy of it left the forward handler;
//! 2. it is on the DLQ only if its faults exceeded a retry budget (and must be when they
//!    certainly did);
//! 3. the stored item is `to_item` of an envelope accepted for it, written once;
//! 4. on each shard, first forward attempts follow the shard's order.
//!
//! Layout: `case` (the case and its `arb_*` strategies), `expect` (what the plan implies per
//! event), `run` (one case on a harness), `observe` (reading the results back),
//! `invariants` (the checks, with the exact statements).

mod case;
mod expect;
mod invariants;
mod observe;
mod run;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// 1,000 cases unless `PROPTEST_CASES` says otherwise. A case is a fresh harness (emulator,
/// resources, both mappings) and up to 12 events with up to 5 fault rules: small enough that
/// 1,000 of them run in well under a minute in a debug build on 2 cores, large enough that
/// producer retries, several faults on one event, both shards and re-deliveries meet in one
/// case. Bugs in delivery show up in small histories; many varied small cases find more than
/// a few large ones. (`ProptestConfig::default()` reads `PROPTEST_CASES` but defaults to 256,
/// so the variable is read here with our own default.)
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn accepted_events_are_stored_once_or_dead_lettered_in_shard_order(case in case::arb_case()) {
        if let Err(err) = run::run(&case) {
            return Err(TestCaseError::fail(format!("{err:#}")));
        }
    }
}
