//! `lab tune` with confidence on the local stack, real REPORT lines from the real handler: `--num
//! auto` against a fixed `--num 10` on the same function, the decision and its evidence in the
//! terminal and on the page, `--metric`, and bad input refused before anything changes.
//! (The arithmetic and the tie rules over a function in memory: tests/offline/tune_confidence.rs.)

use crate::common::{words, LocalStack};
use serde_json::Value;

/// The winner and, per size, the widest 95% interval (as a share of its value) of one tune.
fn tune(local: &LocalStack, num: &str) -> (u64, Vec<f64>) {
    let mut args = words("--stack cf tune --num");
    args.push(num);
    let r = local.lab_json(&args);
    let winner = r["winner"]["memory_mb"].as_u64().unwrap();
    let width = |p: &Value| {
        let c = &p["stats"]["confidence"];
        let share = |ci: &Value, centre: f64| {
            (ci["high"].as_f64().unwrap() - ci["low"].as_f64().unwrap()) / 2.0 / centre
        };
        let billed = p["stats"]["avg_billed_ms"].as_f64().unwrap();
        share(&c["metric_ms_ci"], c["metric_ms"].as_f64().unwrap())
            .max(share(&c["billed_ms"], billed))
    };
    let widths = r["powers"].as_array().unwrap().iter().map(width).collect();
    if num == "auto" {
        let auto = &r["auto"];
        let sizes = auto["sizes"].as_array().unwrap();
        for s in sizes {
            let n = s["invocations"].as_u64().unwrap();
            let reached = s["widest"].as_f64().is_some_and(|w| w <= 0.05);
            // Every size stops at the first round within ±5%, or at --max-num.
            assert!(reached || n == 100, "{auto}");
            assert!(n >= 10 && n % 10 == 0, "{auto}");
        }
    }
    (winner, widths)
}

/// `--num auto` stops each size at its first round within ±5% (or at `--max-num`), and so narrows
/// the intervals a fixed `--num 10` gives on the same function; the memory is restored after both.
///
/// How often it then picks the same winner run after run is a figure of the machine's noise as
/// much as of lab: `scripts/bench-tune-stability.sh` measures it (ten repeats of each, alternated,
/// in bench/results/tune-stability.json). As a test it needed the whole machine for two minutes
/// (ten repeats, alone: beside the rest of the suite it picked one winner 7 times of 10), half the
/// suite's wall time on two cores; this pair runs beside the rest.
#[tokio::test(flavor = "multi_thread")]
async fn num_auto_stops_each_size_within_its_interval_and_narrows_what_ten_give() {
    let local = LocalStack::start(&[]);
    local.up("cf", &["--memory", "192"]);
    let (fixed_winner, fixed) = tune(&local, "10");
    let (auto_winner, auto) = tune(&local, "auto");
    for winner in [fixed_winner, auto_winner] {
        assert!([128, 256, 512, 1024].contains(&winner), "{winner}");
    }
    // Summed over the sizes: a small size's durations are bimodal (a call fits in its CFS period's
    // quota or is throttled to the next), so ten of them sometimes all land in one mode and give a
    // narrow interval by chance, and a size-by-size comparison failed on that chance (one try in
    // three). Summed, over ten repeats of each, ten invocations gave 1.4-2.2 (140-220% of the
    // values) and auto 0.3-0.45 on this stack; a busier machine widens ten's more than auto's,
    // which stops at ±5%. A `--num auto` that did not narrow would give about the same as ten.
    let (a, f): (f64, f64) = (auto.iter().sum(), fixed.iter().sum());
    eprintln!("intervals summed over the sizes: --num auto ±{a:.3}, --num 10 ±{f:.3}");
    assert!(
        a <= 0.5 * f,
        "auto's intervals summed ±{a:.3} vs ten invocations' ±{f:.3}: {auto:?} vs {fixed:?}"
    );
    assert_eq!(
        crate::common::aws::function_config(
            &aws_sdk_lambda::Client::new(&local.sdk().await),
            "cf-fn"
        )
        .await
        .memory_size(),
        Some(192)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_decision_is_printed_with_its_evidence() {
    let local = LocalStack::start(&[]);
    local.up("ev", &["--memory", "192"]);
    let page = local.home.join("tune.html");
    let mut args = words("--stack ev tune --num 20 --strategy speed --metric p90 --report");
    args.push(page.to_str().unwrap());
    let text = local.lab_ok(&args);
    // The decision line names the sizes with their intervals, whichever way it went.
    let decision = text
        .lines()
        .find(|l| {
            l.starts_with("Best for speed: ") && l.contains("its lead outside")
                || l.starts_with("Tie within noise for speed: ")
        })
        .unwrap_or_else(|| panic!("no decision line:\n{text}"));
    assert!(
        decision.contains(" MB p90 ") && decision.contains(" ms ("),
        "{decision}"
    );
    // One plain line per other size against the winner.
    let plain = regex::Regex::new(r"^  \d+ MB: .* cost.*, .* time.* than \d+ MB$").unwrap();
    let versus: Vec<&str> = text.lines().filter(|l| plain.is_match(l)).collect();
    assert_eq!(versus.len(), 3, "{text}");
    assert!(
        text.contains("p90 95% CI"),
        "the table's interval column: {text}"
    );
    assert!(text.contains("Intervals: "), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(decision.split(" (").next().unwrap()),
        "the page has the decision"
    );
    assert!(html.contains("data-metric-ci=\""));

    // JSON: each size's intervals hold their figures.
    let r = local.lab_json(&words("--stack ev tune --num 10 --metric p50"));
    for p in r["powers"].as_array().unwrap() {
        let s = &p["stats"];
        let c = &s["confidence"];
        let inside = |ci: &Value, v: f64| {
            ci["low"].as_f64().unwrap() <= v && v <= ci["high"].as_f64().unwrap()
        };
        assert!(
            inside(
                &c["metric_ms_ci"],
                s["duration_ms"]["p50"].as_f64().unwrap()
            ),
            "{p}"
        );
        assert!(
            inside(&c["mean_ms"], s["duration_ms"]["mean"].as_f64().unwrap()),
            "{p}"
        );
        assert!(
            inside(&c["cost"], s["cost_per_invoke"].as_f64().unwrap()),
            "{p}"
        );
    }

    // Bad input: one line, non-zero, the function as it was.
    for (flags, says) in [
        (
            "--num auto --only-cold-starts",
            "--num auto cannot measure only cold starts",
        ),
        (
            "--num 10 --max-num 50",
            "--max-num applies to --num auto only",
        ),
        ("--num sometimes", "is not a whole number or auto"),
    ] {
        let mut args = words("--stack ev tune");
        args.extend(words(flags));
        let out = local.lab(&args);
        assert!(!out.status.success(), "{flags}");
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(says),
            "{flags}: {err}"
        );
    }
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    let config = crate::common::aws::function_config(&lambda, "ev-fn").await;
    assert_eq!(config.memory_size(), Some(192));
    let versions = lambda.list_versions_by_function().function_name("ev-fn").send().await.unwrap();
    assert_eq!(versions.versions().len(), 1, "only $LATEST is left");
}
