//! The tuning run against a function in memory (tests/tune_fake): versions and aliases per size,
//! `$LATEST` untouched while measuring, the failure policy, rejected REPORT lines, cleanup on every
//! exit (an error, a panic, an interrupt), and the power-tuning output document.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::tune_fake::{assert_tune_fails, tune, Fake, Mode};
use lab::tune::{CostModel, Strategy};

/// Nothing of the run is left and `$LATEST` is as it was at every invocation and now.
fn assert_clean(fake: &Fake, memory_mb: u32) {
    assert_eq!(fake.leftovers(), (0, 0), "versions and aliases left behind");
    let latest = fake.latest();
    assert_eq!(
        (latest.memory_mb, latest.description.as_str()),
        (memory_mb, "the user's own")
    );
    let seen = fake.state.lock().unwrap().latest_at_invoke.clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|m| *m == memory_mb),
        "$LATEST ran at a test size: {seen:?}"
    );
}

#[tokio::test]
async fn sizes_are_measured_through_their_own_versions() {
    let fake = Arc::new(Fake::new(192));
    let r = tune(&fake, |_| {}).await.unwrap();
    // Per size: base+50 (cold), base+1..base+9 with base = 100 + 128000 / memory; dropping 2 per
    // end keeps base+3..base+8: a trimmed mean of base + 5.5.
    let means: Vec<f64> =
        r.powers.iter().map(|p| p.stats.as_ref().unwrap().duration_ms.mean).collect();
    assert_eq!(means, [1105.5, 605.5, 355.5, 230.5]);
    let p128 = r.powers[0].stats.as_ref().unwrap();
    assert_eq!((p128.cold_starts, p128.warm_starts), (1, 9));
    // PT's cost: ceil(1105.5) = 1106 ms x 2.1e-9 x 128/128; lab's: 1.1055 s x 0.125 GB x price + request.
    assert!((p128.pt_cost_per_invoke - 1106.0 * 2.1e-9).abs() < 1e-18);
    assert!((p128.cost_per_invoke - (1.1055 * 0.125 * 0.000_016_666_7 + 2e-7)).abs() < 1e-15);
    let w = r.winner.as_ref().unwrap();
    assert_eq!((w.memory_mb, w.cost_model), (128, CostModel::Pt));
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 40);
    // One update per version, then $LATEST back before the first invocation.
    assert_eq!(
        fake.configures.lock().unwrap().as_slice(),
        &[128, 256, 512, 1024, 192]
    );
    assert_eq!(r.plan.configuration_updates, 5);
    assert_clean(&fake, 192);
    assert_eq!(r.versions.published.len(), 4);
    assert_eq!(
        (
            r.versions.removed_aliases.len(),
            r.versions.removed_versions.len()
        ),
        (4, 4)
    );
    assert_eq!(r.versions.published[2].alias, "lab-tune-512");
}

#[tokio::test]
async fn the_power_tuning_document_is_the_tools() {
    let fake = Arc::new(Fake::new(128));
    let r = tune(&fake, |a| a.include_output_results = true).await.unwrap();
    let doc = serde_json::to_value(&r).unwrap()["results"].clone();
    assert_eq!(doc["power"], 128);
    assert_eq!(doc["duration"].as_f64(), Some(1105.5));
    assert_eq!(doc["stateMachine"]["executionCost"].as_f64(), Some(0.0));
    let lambda_cost: f64 = r.powers.iter().map(|p| p.pt_total_cost).sum();
    assert_eq!(
        doc["stateMachine"]["lambdaCost"].as_f64(),
        Some(lambda_cost)
    );
    // totalCost sums each invocation's own billed ms: at 128 MB, 1150 + 1101 + ... + 1109 ms.
    let billed_128: f64 = 1150.0 + (1..=9).map(|k| 1100.0 + k as f64).sum::<f64>();
    assert!((r.powers[0].pt_total_cost - billed_128 * 2.1e-9).abs() < 1e-15);
    let stats = doc["stats"].as_array().unwrap();
    assert_eq!(stats.len(), 4);
    assert_eq!(stats[3]["value"], 1024);
    assert_eq!(
        stats[3]["averagePrice"].as_f64(),
        Some(231.0 * 2.1e-9 * 8.0)
    );
    assert!(doc["stateMachine"]["visualization"]
        .as_str()
        .unwrap()
        .starts_with("https://lambda-power-tuning.show/#gAAAAQACAAQ=;"));
    let plain = tune(&Arc::new(Fake::new(128)), |_| {}).await.unwrap();
    assert!(serde_json::to_value(&plain).unwrap()["results"].get("stats").is_none());
}

#[tokio::test]
async fn strategies_and_cost_models() {
    let speed = tune(&Arc::new(Fake::new(128)), |a| {
        a.strategy = Some(Strategy::Speed)
    })
    .await
    .unwrap();
    assert_eq!(speed.winner.unwrap().memory_mb, 1024);
    // Balanced, w = 0.5, PT's costs 2.3226, 2.5452, 2.9904, 3.8808 (e-6) and durations 1105.5,
    // 605.5, 355.5, 230.5 ms: 128 0.7992, 256 0.6018, 512 0.5461, 1024 0.6043 -> 512.
    for model in [CostModel::Pt, CostModel::Full] {
        let r = tune(&Arc::new(Fake::new(128)), |a| {
            a.strategy = Some(Strategy::Balanced);
            a.cost_model = Some(model);
        })
        .await
        .unwrap();
        let w = r.winner.unwrap();
        assert_eq!((w.memory_mb, w.cost_model), (512, model));
    }
}

#[tokio::test]
async fn a_size_that_keeps_failing_fails_the_run_after_two_retries() {
    let fake = Arc::new(Fake::new(1024).with(256, Mode::FunctionError("Internal")));
    let says = [
        "256 MB failed",
        "Internal: synthetic (3 tries",
        "removed 4 aliases and 4 versions",
    ];
    assert_tune_fails(&fake, &says).await;
    // Sequential: 128 MB ran its 10, then 256 MB's first invocation three times; 512 never ran.
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 10 + 3);
    assert_clean(&fake, 1024);
}

#[tokio::test]
async fn skip_failing_records_the_size_and_goes_on() {
    let mut fake = Fake::new(1024).with(128, Mode::FunctionError("Internal"));
    fake.fail_configure = Some(512);
    let fake = Arc::new(fake);
    let r = tune(&fake, |a| a.skip_failing = true).await.unwrap();
    let status: Vec<&str> = r.powers.iter().map(|p| p.status).collect();
    assert_eq!(status, ["failed", "ok", "failed", "ok"]);
    assert!(r.powers[2].error.as_deref().unwrap().contains("publishing a version at 512 MB"));
    assert_eq!(r.powers[0].error_retries, 2);
    assert!(r.powers[0].total_cost > 0.0, "the failed calls were billed");
    assert_eq!(r.winner.unwrap().memory_mb, 256);
    assert_clean(&fake, 1024);
}

#[tokio::test]
async fn a_retry_that_succeeds_is_a_measurement_and_allowed_errors_count() {
    let fake = Fake::new(128)
        .with(256, Mode::FailFirst(2))
        .with(512, Mode::FunctionError("NotFound"));
    let fake = Arc::new(fake);
    let r = tune(&fake, |a| {
        a.powers = Some(vec![256, 512]);
        a.allowed_exceptions = Some(vec!["NotFound".into()]);
    })
    .await
    .unwrap();
    let (s256, s512) = (
        r.powers[0].stats.as_ref().unwrap(),
        r.powers[1].stats.as_ref().unwrap(),
    );
    assert_eq!((s256.invocations, r.powers[0].error_retries), (10, 2));
    assert_eq!((s512.invocations, s512.allowed_errors), (10, 10));
}

#[tokio::test]
async fn a_report_at_another_memory_size_is_rejected_not_averaged() {
    let fake = Arc::new(Fake::new(128).with(512, Mode::WrongMemory));
    let says = "rejected a REPORT line with Memory Size 1024 MB while measuring 512 MB";
    assert_tune_fails(&fake, &[says]).await;
    assert_clean(&fake, 128);
    let r = tune(&fake, |a| a.skip_failing = true).await.unwrap();
    assert!(
        r.powers[2].stats.is_none(),
        "nothing of 512 MB was averaged"
    );
    assert_eq!(r.powers.iter().filter(|p| p.stats.is_some()).count(), 3);
}

#[tokio::test]
async fn every_size_failing_is_an_error() {
    let mut fake = Fake::new(256);
    for m in [128, 256, 512, 1024] {
        fake.modes.insert(m, Mode::NoReport);
    }
    let fake = Arc::new(fake);
    let err = format!(
        "{:#}",
        tune(&fake, |a| {
            a.parallel = true;
            a.skip_failing = true
        })
        .await
        .unwrap_err()
    );
    assert!(
        err.contains("every memory size failed") && err.contains("no REPORT line"),
        "{err}"
    );
    assert_eq!(fake.leftovers(), (0, 0));
}

#[tokio::test]
async fn parallel_measures_the_sizes_side_by_side() {
    let mut fake = Fake::new(128);
    fake.slow = true;
    let fake = Arc::new(fake);
    let r = tune(&fake, |a| a.parallel = true).await.unwrap();
    assert_eq!(r.powers.len(), 4);
    // 4 sizes x 10 invocations at once: more than one size's batch was in flight.
    assert!(fake.max_in_flight.load(Ordering::SeqCst) > 10);
    assert_clean(&fake, 128);
}

#[tokio::test]
async fn throttling_is_retried_and_counted() {
    let fake = Arc::new(Fake::new(128));
    fake.throttle_first.store(2, Ordering::SeqCst);
    let r = tune(&fake, |a| a.powers = Some(vec![128])).await.unwrap();
    assert_eq!((r.powers[0].retries, r.powers[0].error_retries), (2, 0));
    assert_eq!(r.powers[0].stats.as_ref().unwrap().invocations, 10);
}

#[tokio::test]
async fn latest_at_a_tested_size_is_published_last_and_needs_no_restore() {
    let fake = Arc::new(Fake::new(512));
    let r = tune(&fake, |_| {}).await.unwrap();
    // 512 MB last: publishing it leaves $LATEST as it was, so no fifth update; its description is
    // never touched (each version carries the mark in its own).
    assert_eq!(
        fake.configures.lock().unwrap().as_slice(),
        &[128, 256, 1024, 512]
    );
    assert_eq!(
        r.plan.configuration_updates, 4,
        "the plan counts them as made"
    );
    assert_eq!(r.powers.len(), 4);
    assert_eq!(
        r.versions.published.len(),
        r.powers.len(),
        "{:?}",
        r.versions
    );
    assert!(r.versions.published.iter().all(|p| p.ours));
    assert!(!r.versions.latest_restored);
    assert_clean(&fake, 512);
}

#[tokio::test]
async fn an_unchanged_latest_is_measured_through_the_owners_version_which_stays() {
    use lab::control::VersionControl;
    let fake = Arc::new(Fake::new(256));
    let owners = fake.publish("the owner's release").await.unwrap();
    let r = tune(&fake, |a| a.powers = Some(vec![256])).await.unwrap();
    // Nothing changed since the owner's version: Lambda answers with it; the alias used it.
    assert!(fake.configures.lock().unwrap().is_empty());
    let used = &r.versions.published[0];
    assert_eq!(
        (used.version.as_str(), used.ours),
        (owners.version.as_str(), false)
    );
    assert_eq!(r.powers[0].stats.as_ref().unwrap().invocations, 10);
    assert_eq!(
        fake.leftovers(),
        (1, 0),
        "the owner's version stays, lab's alias goes"
    );
    assert!(r.versions.removed_versions.is_empty());
}

#[tokio::test]
async fn invocations_are_paced_by_the_accounts_concurrency() {
    let mut fake = Fake::new(128);
    fake.slow = true;
    fake.concurrency = Some(3);
    let fake = Arc::new(fake);
    let r = tune(&fake, |a| a.parallel = true).await.unwrap();
    assert_eq!(r.concurrency_limit, Some(3));
    assert_eq!(
        r.powers.iter().map(|p| p.retries).sum::<u32>(),
        0,
        "never throttled"
    );
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 40);
}
