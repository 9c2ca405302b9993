//! The soak (`harness::soak`) as a library: a small one with faults on every hop holds every
//! invariant, and the check fails, naming the id, when an accepted event is missing.

use harness::HarnessOptions;
use harness::soak::{Soak, SoakConfig};

/// 1,000 events, 10% of every hop's calls failing, 1% of the events with a persistent fault
/// (so the DLQ and the redrive have work): nothing lost, nothing doubled, every DLQ entry
/// explained, and everything the redrive moved stored.
#[tokio::test(start_paused = true)]
async fn a_soak_with_faults_on_every_hop_loses_and_doubles_nothing() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let config = SoakConfig {
        persistent_rate: 0.01,
        ..SoakConfig::new(1_000, 0.1, 11)
    };
    let report = Soak::run(config, HarnessOptions::for_tests().unwrap())
        .await
        .unwrap();
    let verdict = &report.verdict;
    assert!(
        verdict.holds(),
        "{}\n{}\n{:?}",
        verdict.line(),
        report.summary(),
        verdict.failures()
    );
    assert_eq!(report.accepted, 1_000, "{}", report.summary());
    // The persistent faults dead-letter at least their events; the redrive moves them all.
    let persistent = (report.persistent.0 + report.persistent.1) as u64;
    assert!(persistent > 0, "{}", report.summary());
    assert!(verdict.dlq >= persistent, "{}", verdict.line());
    assert_eq!(verdict.redriven, verdict.dlq, "{}", verdict.line());
    assert!(verdict.still_dead.is_empty(), "{:?}", verdict.still_dead);
    // Faults of every kind fired.
    for kind in [
        "throttle",
        "error",
        "timeout",
        "lose_response",
        "duplicate",
        "crash_before_checkpoint",
        "crash_mid_batch",
        "persistent",
    ] {
        assert!(
            report.faults.get(kind).is_some_and(|n| *n > 0),
            "no {kind} fired: {}",
            report.summary()
        );
    }
    assert!(
        report.counts.duplicates > 0,
        "retries and re-deliveries were suppressed"
    );
}

/// The check can fail: an item deleted behind the pipeline's back after the recovery is lost,
/// by name, and the verdict says so.
#[tokio::test(start_paused = true)]
async fn the_check_names_an_accepted_event_that_is_missing_from_the_table() {
    crate::require!(PausedClock); // Routed through support: skips (loudly) off the embedded emulator.
    let mut soak = Soak::start(
        SoakConfig::new(200, 0.05, 3),
        HarnessOptions::for_tests().unwrap(),
    )
    .await
    .unwrap();
    soak.load().await.unwrap();
    soak.recover().await.unwrap();
    let victim = soak.plan().events[41].id.clone();
    let h = soak.harness();
    let dynamodb = aws_sdk_dynamodb::Client::new(&h.backend().sdk_config());
    dynamodb
        .delete_item()
        .table_name(h.table())
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(victim.clone()),
        )
        .send()
        .await
        .unwrap();
    let report = soak.check().await.unwrap();
    soak.shutdown().await;
    assert!(!report.verdict.holds());
    assert_eq!(report.verdict.lost, std::slice::from_ref(&victim));
    assert!(
        report
            .verdict
            .line()
            .starts_with("soak: lost 1, double effects 0"),
        "{}",
        report.verdict.line()
    );
    assert_eq!(report.verdict.failures(), [format!("lost (1): {victim}")]);
}
