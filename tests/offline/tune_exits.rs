//! How a tuning run ends, against the function in memory (tests/tune_fake): interrupted, panicking,
//! keeping its versions, applying the winner (to `$LATEST` or to an alias), a dry run, cold starts
//! only, and the HTML report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::common::html::assert_self_contained;
use crate::tune_fake::{assert_tune_fails, tune, tune_until, Fake, Mode};
use lab::exit::Interrupted;
use lab::tune::Strategy;

#[tokio::test]
async fn an_interrupt_cleans_up_and_says_so() {
    let fake = Arc::new(Fake::new(640).slow());
    let watcher = fake.clone();
    // "SIGTERM" once a few invocations have happened.
    let interrupt = async move {
        while watcher.invocations.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        ("SIGTERM", 15)
    };
    let err = tune_until(&fake, |_| {}, interrupt).await.unwrap_err();
    let stopped = err.downcast_ref::<Interrupted>().expect("an Interrupted error");
    assert_eq!((stopped.signal, stopped.number), ("SIGTERM", 15));
    assert_eq!(
        stopped.to_string(),
        "interrupted by SIGTERM; $LATEST at 640 MB; removed 4 aliases and 4 versions"
    );
    assert!(fake.invocations.load(Ordering::SeqCst) < 40);
    assert_eq!(fake.leftovers(), (0, 0));
    assert_eq!(fake.latest().memory_mb, 640);
}

#[tokio::test]
async fn an_interrupt_while_publishing_restores_latest() {
    let fake = Arc::new(Fake::new(320).slow());
    let watcher = fake.clone();
    // Stopped after the second version's update, before anything was measured.
    let interrupt = async move {
        while watcher.configures.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        ("SIGHUP", 1)
    };
    let err = tune_until(&fake, |_| {}, interrupt).await.unwrap_err();
    assert!(err.downcast_ref::<Interrupted>().is_some(), "{err:#}");
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 0);
    assert_eq!(fake.leftovers(), (0, 0));
    let latest = fake.latest();
    assert_eq!(
        (latest.memory_mb, latest.description.as_str()),
        (320, "the user's own")
    );
}

#[tokio::test]
async fn a_panic_in_the_sweep_still_cleans_up() {
    let fake = Arc::new(Fake::new(512).with(256, Mode::Panic));
    let says = [
        "tuning panicked: the fake panics at 256 MB",
        "removed 4 aliases and 4 versions",
    ];
    assert_tune_fails(&fake, &says).await;
    assert_eq!(fake.leftovers(), (0, 0));
    assert_eq!(fake.latest().memory_mb, 512);
}

#[tokio::test]
async fn keep_versions_keeps_them_and_restores_latest() {
    let fake = Arc::new(Fake::new(128));
    let r = tune(&fake, |a| {
        a.keep_versions = true;
        a.powers = Some(vec![256, 512]);
    })
    .await
    .unwrap();
    assert!(r.versions.kept);
    assert_eq!(fake.leftovers(), (2, 2));
    let s = fake.state.lock().unwrap();
    let v = &s.aliases["lab-tune-512"];
    assert_eq!(
        s.versions.iter().find(|x| &x.version == v).unwrap().memory_mb,
        512
    );
    assert_eq!(s.latest.memory_mb, 128);
}

#[tokio::test]
async fn auto_optimize_sets_latest_or_an_alias() {
    let fake = Arc::new(Fake::new(512));
    let r = tune(&fake, |a| {
        a.auto_optimize = true;
        a.strategy = Some(Strategy::Speed);
    })
    .await
    .unwrap();
    assert_eq!(fake.latest().memory_mb, 1024);
    assert_eq!(
        (r.original_memory_mb, r.restored_memory_mb),
        (Some(512), Some(1024))
    );
    assert_eq!(fake.leftovers(), (0, 0));

    // With an alias: a version at the winner behind it, $LATEST as it was.
    let fake = Arc::new(Fake::new(512));
    let r = tune(&fake, |a| {
        a.auto_optimize = true;
        a.auto_optimize_alias = Some("live".into());
        a.strategy = Some(Strategy::Speed);
    })
    .await
    .unwrap();
    let (alias, version) = r.optimized_alias.clone().unwrap();
    assert_eq!(alias, "live");
    assert_eq!(
        fake.leftovers(),
        (1, 1),
        "only the alias asked for and its version"
    );
    let s = fake.state.lock().unwrap();
    assert_eq!(s.aliases["live"], version);
    let published = s.versions.iter().find(|v| v.version == version).unwrap();
    assert_eq!(
        (published.memory_mb, published.description.as_str()),
        (1024, "lab tune: 1024 MB, best for speed")
    );
    assert_eq!((s.latest.memory_mb, r.restored_memory_mb), (512, Some(512)));
}

#[tokio::test]
async fn a_dry_run_invokes_each_size_once_and_analyses_nothing() {
    let fake = Arc::new(Fake::new(128));
    let r = tune(&fake, |a| a.dry_run = true).await.unwrap();
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 4);
    assert!(r.winner.is_none() && r.results.is_none());
    assert_eq!(r.powers.len(), 4);
    assert_eq!(r.plan.total_invocations, 4);
    assert_eq!(fake.leftovers(), (0, 0));
    // A size that cannot be invoked fails the dry run, as the tool's.
    let mut broken = Fake::new(128);
    broken.modes.insert(512, Mode::FunctionError("AccessDenied"));
    let err = format!(
        "{:#}",
        tune(&Arc::new(broken), |a| a.dry_run = true).await.unwrap_err()
    );
    assert!(
        err.contains("512 MB failed") && err.contains("AccessDenied"),
        "{err}"
    );
}

#[tokio::test]
async fn only_cold_starts_publishes_a_version_per_invocation() {
    let fake = Arc::new(Fake::new(128));
    let r = tune(&fake, |a| {
        a.powers = Some(vec![256]);
        a.num = Some(lab::tune::Num::Fixed(5));
        a.only_cold_starts = true;
    })
    .await
    .unwrap();
    let stats = r.powers[0].stats.as_ref().unwrap();
    assert_eq!((stats.cold_starts, stats.invocations), (5, 5));
    assert_eq!(r.plan.discard_top_bottom, 0.0);
    assert_eq!(r.plan.configuration_updates, 6);
    let aliases: Vec<&str> = r.versions.published.iter().map(|p| p.alias.as_str()).collect();
    assert_eq!(
        aliases,
        [
            "lab-tune-256-0",
            "lab-tune-256-1",
            "lab-tune-256-2",
            "lab-tune-256-3",
            "lab-tune-256-4"
        ]
    );
    // Five updates (one per version), then the restore.
    assert_eq!(
        fake.configures.lock().unwrap().as_slice(),
        &[256, 256, 256, 256, 256, 128]
    );
    assert_eq!(fake.leftovers(), (0, 0));
}

#[tokio::test]
async fn html_report_is_self_contained_and_holds_the_values() {
    let path = std::env::temp_dir().join(format!("lab-tune-report-{}.html", std::process::id()));
    let fake = Arc::new(Fake::new(128).with(512, Mode::FunctionError("Internal")));
    let r = tune(&fake, |a| a.skip_failing = true).await.unwrap();
    lab::tune::html::render(&r).write(&path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("<style>") && html.contains("<svg"));
    assert_eq!(r.powers.len(), 4);
    let measured = r.powers.iter().filter(|p| p.stats.is_some()).count();
    assert_eq!(measured, 3, "every size but the failing 512 MB");
    for p in &r.powers {
        assert!(html.contains(&format!("data-memory=\"{}\"", p.memory_mb)));
        if let Some(s) = &p.stats {
            assert!(html.contains(&format!("data-avg-ms=\"{}\"", s.duration_ms.mean)));
            assert!(html.contains(&format!("data-pt-cost=\"{}\"", s.pt_cost_per_invoke)));
            assert!(html.contains(&format!("data-cost=\"{}\"", s.cost_per_invoke)));
        }
    }
    assert!(html.contains("data-avg-ms=\"1105.5\"") && html.contains("data-status=\"failed\""));
    assert!(html.contains("data-verdict=\"Best (cost)\""));
}
