//! Tuning with confidence over the in-memory function (tests/tune_fake): each size's 95% intervals,
//! a winner only when its lead is outside them, ties settled, `--metric`, `--num auto`'s rounds and
//! their limit, and the plain lines against the winner in the terminal, JSON and HTML.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::tune_fake::{tune, Fake};
use lab::tune::confidence;
use lab::tune::{Metric, Num, Strategy};
use serde_json::Value;

fn json(r: &lab::tune::TuneResult) -> Value {
    serde_json::to_value(r).unwrap()
}

fn power(doc: &Value, mb: u64) -> &Value {
    doc["powers"].as_array().unwrap().iter().find(|p| p["memory_mb"] == mb).unwrap()
}

#[tokio::test]
async fn each_size_has_intervals_and_a_clear_lead_says_so() {
    let r = tune(&Arc::new(Fake::new(128)), |_| {}).await.unwrap();
    let doc = json(&r);
    // 128 MB: 1150 (cold: 1100 + 50 Init), 1101..=1109. Trimmed (2 per end): 1103..=1108, mean
    // 1105.5. Winsorized: 1103 ×3, 1104..=1107, 1108 ×3: variance 42.5 / 9, SE 1.1453, t(5) 2.5706:
    // ±2.9441 ms.
    let ci = &power(&doc, 128)["stats"]["confidence"];
    let (low, high) = (
        ci["mean_ms"]["low"].as_f64().unwrap(),
        ci["mean_ms"]["high"].as_f64().unwrap(),
    );
    assert!(
        (low - 1102.5559).abs() < 1e-3 && (high - 1108.4441).abs() < 1e-3,
        "{ci}"
    );
    assert_eq!(ci["metric"], "mean");
    assert_eq!(
        ci["metric_ms_ci"], ci["mean_ms"],
        "the mean is the compared metric"
    );
    // The cost's interval is the billed duration's priced: it holds the cost.
    let stats = &power(&doc, 128)["stats"];
    let cost = stats["cost_per_invoke"].as_f64().unwrap();
    assert!(
        ci["cost"]["low"].as_f64().unwrap() < cost && cost < ci["cost"]["high"].as_f64().unwrap()
    );
    let pt = stats["pt_cost_per_invoke"].as_f64().unwrap();
    assert!(
        ci["pt_cost"]["low"].as_f64().unwrap() <= pt
            && pt <= ci["pt_cost"]["high"].as_f64().unwrap()
    );
    let w = &doc["winner"];
    assert_eq!(
        (w["memory_mb"].as_u64(), w["chosen_by"].as_str()),
        (Some(128), Some("clear"))
    );
    assert_eq!(w["tied_mb"], serde_json::json!([128]));
    assert!(doc["confidence_method"].as_str().unwrap().contains("Tukey-McLaughlin"));
    // One plain line for every other size: 1024 MB costs more and takes less time than 128 MB.
    let versus = power(&doc, 1024)["versus"].as_str().unwrap();
    assert!(
        versus.starts_with("1024 MB: ")
            && versus.contains("% more cost, ")
            && versus.ends_with("% less time than 128 MB"),
        "{versus}"
    );
    assert_eq!(power(&doc, 128)["versus"], Value::Null);
}

#[tokio::test]
async fn a_lead_inside_the_noise_is_a_tie_settled_by_the_cheaper() {
    // 512 and 1024 MB take the same time within ±20 ms of wobble; 1024 is 1 ms faster on points,
    // which is all aws-lambda-power-tuning's speed pick looks at. 1024 costs twice as much.
    let fake = Fake::new(128)
        .base(512, 200.0)
        .base(1024, 199.0)
        .wobble(512, 20.0)
        .wobble(1024, 20.0);
    let r = tune(&Arc::new(fake), |a| {
        a.powers = Some(vec![512, 1024]);
        a.strategy = Some(Strategy::Speed);
    })
    .await
    .unwrap();
    let doc = json(&r);
    let w = &doc["winner"];
    assert_eq!(w["point_pick_mb"], 1024, "{w}");
    assert_eq!(w["memory_mb"], 512, "{w}");
    assert_eq!(w["tied_mb"], serde_json::json!([512, 1024]));
    assert_eq!(w["chosen_by"], "cheaper");
    assert_eq!(
        power(&doc, 512)["verdict"],
        "Best (speed), tie within noise"
    );
    assert_eq!(power(&doc, 1024)["verdict"], "Tie within noise");
    let versus = power(&doc, 1024)["versus"].as_str().unwrap();
    assert!(
        versus.contains("more cost, ") && versus.contains("time (within noise) than 512 MB"),
        "{versus}"
    );
    // The tool's own document still says what PT would pick.
    assert_eq!(doc["results"]["power"], 1024);

    // The page says the same, with the intervals beside the figures.
    let path = std::env::temp_dir().join(format!("lab-tune-tie-{}.html", std::process::id()));
    lab::tune::html::render(&r).write(&path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        html.contains("Tie within noise for speed: 512 and 1024 MB"),
        "no decision on the page"
    );
    assert!(html.contains("chose 512 MB, the cheaper"));
    assert!(html.contains(&format!(
        "1024 MB: {}",
        versus.trim_start_matches("1024 MB: ")
    )));
    let s = r.powers[0].stats.as_ref().unwrap();
    let ci = s.confidence.metric_ms_ci.unwrap();
    assert!(html.contains(&format!("data-metric-ci=\"{},{}\"", ci.low, ci.high)));
}

#[tokio::test]
async fn a_percentile_metric_ranks_by_it_and_says_when_its_interval_is_open() {
    let r = tune(&Arc::new(Fake::new(128)), |a| {
        a.strategy = Some(Strategy::Speed);
        a.metric = Some(Metric::P95);
    })
    .await
    .unwrap();
    let w = r.winner.as_ref().unwrap();
    assert_eq!(w.memory_mb, 1024);
    for p in &r.powers {
        let s = p.stats.as_ref().unwrap();
        assert_eq!(s.confidence.metric_ms, s.duration_ms.p95);
        // Ten values cannot bound a p95 from above (that takes 72): the largest seen, marked open.
        let ci = s.confidence.metric_ms_ci.unwrap();
        assert!(ci.open && ci.high == s.duration_ms.max, "{ci:?}");
    }
    let doc = json(&r);
    assert_eq!(doc["plan"]["metric"], "p95");
    assert_eq!(doc["winner"]["metric"], "p95");
}

#[tokio::test]
async fn num_auto_adds_rounds_to_the_noisy_size_only() {
    // 1024 MB wobbles ±30 ms around about 250 ms; the others are steady.
    let fake = Arc::new(Fake::new(128).wobble(1024, 30.0));
    let r = tune(&fake, |a| a.num = Some(Num::Auto)).await.unwrap();
    let auto = r.auto.as_ref().unwrap();
    assert!(auto.reached, "{auto:?}");
    let calls = |mb| auto.sizes.iter().find(|s| s.memory_mb == mb).unwrap().invocations;
    assert_eq!(
        (calls(128), calls(256), calls(512)),
        (10, 10, 10),
        "{auto:?}"
    );
    let n = calls(1024);
    assert!(n > 10 && n <= 100 && n % 10 == 0, "{auto:?}");
    assert_eq!(auto.rounds as usize, n / 10);
    assert_eq!(fake.invocations.load(Ordering::SeqCst) as usize, 30 + n);
    // It stopped at the first round whose interval was within ±5%, and not before: the durations
    // it saw are the fake's (with the cold start's Init on the first).
    let seen = |count: u32| -> Vec<f64> {
        (0..count)
            .map(|k| fake.duration(1024, k) + if k == 0 { 50.0 } else { 0.0 })
            .collect()
    };
    let share = |values: &[f64]| {
        let ci = confidence::trimmed_mean(values, 0.2).unwrap();
        let mean = lab::tune::stats::trimmed_mean(values, 0.2).unwrap();
        ci.relative_half_width(mean)
    };
    assert!(share(&seen(n as u32)) <= 0.05);
    assert!(share(&seen(n as u32 - 10)) > 0.05);
    let widest = auto.sizes.iter().find(|s| s.memory_mb == 1024).unwrap().widest.unwrap();
    assert!(widest <= 0.05, "{widest}");
    assert_eq!(r.plan.total_invocations, 400, "at most --max-num per size");
}

#[tokio::test]
async fn num_auto_stops_at_max_num_and_says_so() {
    let fake = Arc::new(Fake::new(128).wobble(1024, 200.0));
    let r = tune(&fake, |a| {
        a.num = Some(Num::Auto);
        a.max_num = Some(30);
    })
    .await
    .unwrap();
    let auto = r.auto.as_ref().unwrap();
    assert!(!auto.reached);
    assert_eq!(auto.rounds, 3);
    let at_1024 = auto.sizes.iter().find(|s| s.memory_mb == 1024).unwrap();
    assert_eq!(at_1024.invocations, 30);
    assert!(at_1024.widest.unwrap() > 0.05);
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 60);
    // Still judged, on what was measured.
    assert!(r.winner.is_some());
    let doc = json(&r);
    assert_eq!(doc["auto"]["reached"], false);
}
