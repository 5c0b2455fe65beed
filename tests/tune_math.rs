//! Power tuning: the arithmetic on fixed inputs worked out by hand, REPORT parsing, and the sweep
//! against a fake function that answers with synthetic REPORT lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use lab::control::{FunctionControl, Invocation};
use lab::tune::pricing::{Architecture, Pricing};
use lab::tune::report_line;
use lab::tune::stats::{percentile, summarize, trimmed_mean};
use lab::tune::strategy::{pick, Candidate, Strategy};
use lab::tune::{TuneArgs, TuneConfig};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Arithmetic

#[test]
fn trimmed_mean_matches_the_anchor() {
    // 10 values, discard 0.2: floor(10 x 0.2) = 2 dropped from each end of the sorted list
    // [10, 11, 12, 13, 14, 15, 16, 17, 18, 90] -> keep 12..=17: (12+13+14+15+16+17) / 6 = 87 / 6 = 14.5.
    let v = [15.0, 90.0, 10.0, 13.0, 11.0, 17.0, 12.0, 16.0, 14.0, 18.0];
    assert_eq!(trimmed_mean(&v, 0.2), Some(14.5));
    // discard 0.4: floor(4) = 4 per end -> keep 14, 15: 14.5 as well.
    assert_eq!(trimmed_mean(&v, 0.4), Some(14.5));
    // discard 0.1: 1 per end -> keep 11..=18: (11+...+18) = 116, / 8 = 14.5. (A symmetric middle.)
    assert_eq!(trimmed_mean(&v, 0.1), Some(14.5));
    // discard 0: (10+...+18) + 90 = 126 + 90 = 216, / 10 = 21.6.
    assert!((trimmed_mean(&v, 0.0).unwrap() - 21.6).abs() < 1e-12);
    // 6 values, discard 0.2: floor(1.2) = 1 per end -> [2, 3, 4, 5]: 14 / 4 = 3.5.
    assert_eq!(
        trimmed_mean(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0], 0.2),
        Some(3.5)
    );
}

#[test]
fn nearest_rank_percentiles() {
    // 20 values 1..=20: p50 rank ceil(10) = 10 -> 10; p90 rank 18 -> 18; p99 rank ceil(19.8) = 20 -> 20.
    let sorted: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(percentile(&sorted, 50.0), Some(10.0));
    assert_eq!(percentile(&sorted, 90.0), Some(18.0));
    assert_eq!(percentile(&sorted, 99.0), Some(20.0));
    let s = summarize(&[3.0, 1.0, 2.0], 0.2).unwrap();
    // floor(3 x 0.2) = 0 dropped: mean 2; p50 rank ceil(1.5) = 2 -> 2; p90 rank ceil(2.7) = 3 -> 3.
    assert_eq!(
        (s.mean, s.p50, s.p90, s.p99, s.min, s.max),
        (2.0, 2.0, 3.0, 3.0, 1.0, 3.0)
    );
}

#[test]
fn pricing_per_invocation() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-15;
    let x86 = Pricing::for_region("us-east-1", Architecture::X86_64);
    // 55 ms at 1024 MB: 0.055 s x 1 GB x 0.0000166667 = 0.000000916669 compute + 0.0000002 request.
    let c = x86.cost(55.0, 1024);
    assert!(close(c.compute, 0.000_000_916_668_5));
    assert!(close(c.request, 0.000_000_2));
    assert!(close(c.total(), 0.000_001_116_668_5));
    // 1146 ms at 128 MB: 1.146 x 0.125 x 0.0000166667 = 0.00000238750...
    assert!(close(
        x86.cost(1146.0, 128).compute,
        1.146 * 0.125 * 0.000_016_666_7
    ));
    // arm64: 1000 ms at 512 MB = 0.5 GB-s x 0.0000133334 = 0.0000066667.
    let arm = Pricing::for_region("us-east-1", Architecture::Arm64);
    assert!(close(arm.cost(1000.0, 512).compute, 0.000_006_666_7));
    // ap-east-1 x86: 2.9e-9 $/ms at 128 MB -> 100 ms at 256 MB = 100 x 2 x 2.9e-9 = 5.8e-7.
    let hk = Pricing::for_region("ap-east-1", Architecture::X86_64);
    assert!(close(hk.cost(100.0, 256).compute, 5.8e-7));
}

#[test]
fn winners_for_each_strategy_with_ties() {
    let c = |memory_mb, cost, duration_ms| Candidate {
        memory_mb,
        cost,
        duration_ms,
    };
    // Cheapest is 128 (1.0); fastest is 1024 (20 ms).
    let set = [
        c(128, 1.0, 400.0),
        c(256, 1.5, 150.0),
        c(512, 2.0, 60.0),
        c(1024, 3.0, 20.0),
    ];
    assert_eq!(pick(Strategy::Cost, &set, 0.5), Some(0));
    assert_eq!(pick(Strategy::Speed, &set, 0.5), Some(3));
    // Balanced, w = 0.5, maxCost 3, maxDuration 400:
    //   128: 0.5 x 1/3   + 0.5 x 400/400 = 0.1667 + 0.5    = 0.6667
    //   256: 0.5 x 1.5/3 + 0.5 x 150/400 = 0.25   + 0.1875 = 0.4375
    //   512: 0.5 x 2/3   + 0.5 x 60/400  = 0.3333 + 0.075  = 0.4083  <- smallest
    //  1024: 0.5 x 3/3   + 0.5 x 20/400  = 0.5    + 0.025  = 0.525
    assert_eq!(pick(Strategy::Balanced, &set, 0.5), Some(2));
    // Ties: equal cost -> the faster; equal duration -> the cheaper.
    let cost_tie = [c(128, 1.0, 100.0), c(256, 1.0, 80.0)];
    assert_eq!(pick(Strategy::Cost, &cost_tie, 0.5), Some(1));
    let speed_tie = [c(512, 2.0, 50.0), c(1024, 1.9, 50.0)];
    assert_eq!(pick(Strategy::Speed, &speed_tie, 0.5), Some(1));
    // Balanced tie (identical scores): the first listed.
    let balanced_tie = [c(128, 1.0, 100.0), c(256, 1.0, 100.0)];
    assert_eq!(pick(Strategy::Balanced, &balanced_tie, 0.5), Some(0));
}

#[test]
fn report_lines() {
    let warm = "START RequestId: r1 Version: $LATEST\nEND RequestId: r1\n\
                REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\n";
    let r = report_line::parse(warm).unwrap();
    assert_eq!((r.duration_ms, r.billed_ms, r.init_ms), (12.34, 13.0, None));
    assert_eq!(
        (r.memory_size_mb, r.max_memory_used_mb),
        (Some(128), Some(20))
    );
    let cold = "REPORT RequestId: r2\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 45.67 ms";
    let r = report_line::parse(cold).unwrap();
    assert_eq!(r.init_ms, Some(45.67));
    // 12.34 + 45.67 = 58.01 ms waited.
    assert!((r.total_ms() - 58.01).abs() < 1e-9);
    assert!(report_line::parse("no report here").is_none());
}

// ---------------------------------------------------------------------------------------------
// The sweep against a fake function

/// What the fake does for an invocation at a memory size.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    FunctionError(&'static str),
    NoReport,
}

/// A function whose k-th invocation since its memory last changed takes `100 + 128000 / memory + k`
/// ms (plus a 50 ms Init Duration when k = 0, the cold start), billed at the next whole ms.
struct Fake {
    memory: Mutex<u32>,
    sets: Mutex<Vec<u32>>,
    since_change: AtomicU32,
    invocations: AtomicU32,
    modes: HashMap<u32, Mode>,
    fail_set: Option<u32>,
    throttle_first: AtomicU32,
    slow: bool,
}

impl Fake {
    fn new(original: u32) -> Fake {
        Fake {
            memory: Mutex::new(original),
            sets: Mutex::new(Vec::new()),
            since_change: AtomicU32::new(0),
            invocations: AtomicU32::new(0),
            modes: HashMap::new(),
            fail_set: None,
            throttle_first: AtomicU32::new(0),
            slow: false,
        }
    }

    fn memory_now(&self) -> u32 {
        *self.memory.lock().unwrap()
    }
}

#[async_trait]
impl FunctionControl for Fake {
    fn name(&self) -> &str {
        "FakeFunction"
    }
    async fn architecture(&self) -> Result<String> {
        Ok("x86_64".into())
    }
    async fn memory(&self) -> Result<u32> {
        Ok(self.memory_now())
    }
    async fn set_memory(&self, mb: u32) -> Result<()> {
        if self.fail_set == Some(mb) {
            return Err(anyhow!("InvalidParameterValueException: no {mb} MB today"));
        }
        self.sets.lock().unwrap().push(mb);
        *self.memory.lock().unwrap() = mb;
        self.since_change.store(0, Ordering::SeqCst);
        Ok(())
    }
    async fn invoke(&self, _payload: &[u8]) -> Result<Invocation> {
        if self.slow {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if self
            .throttle_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(anyhow!("TooManyRequestsException: Rate exceeded"));
        }
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let memory = self.memory_now();
        let k = self.since_change.fetch_add(1, Ordering::SeqCst);
        let duration = 100.0 + 128_000.0 / memory as f64 + k as f64;
        let init = if k == 0 {
            "\tInit Duration: 50.00 ms"
        } else {
            ""
        };
        let billed = (duration + if k == 0 { 50.0 } else { 0.0 }).ceil();
        let report = format!(
            "START RequestId: {k}\nEND RequestId: {k}\nREPORT RequestId: {k}\tDuration: {duration:.2} ms\t\
             Billed Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {} MB{init}\n",
            30 + k
        );
        let mode = self.modes.get(&memory).copied().unwrap_or(Mode::Normal);
        Ok(match mode {
            Mode::Normal => Invocation {
                body: br#"{"Items":[]}"#.to_vec(),
                function_error: None,
                log_tail: report,
            },
            Mode::FunctionError(kind) => Invocation {
                body: format!(r#"{{"errorType":"{kind}","errorMessage":"{kind}: synthetic"}}"#)
                    .into_bytes(),
                function_error: Some("Unhandled".into()),
                log_tail: report,
            },
            Mode::NoReport => Invocation {
                body: b"{}".to_vec(),
                function_error: None,
                log_tail: String::new(),
            },
        })
    }
}

fn args(extra: impl FnOnce(&mut TuneArgs)) -> TuneArgs {
    let mut a = TuneArgs::default();
    extra(&mut a);
    a
}

fn list_event() -> serde_json::Value {
    json!({"operation": "list", "tableName": "lambda-apigateway", "payload": {}})
}

#[tokio::test]
async fn sweep_picks_the_cheapest_and_restores_memory() {
    let fake = Arc::new(Fake::new(192));
    let result = lab::tune::run(&args(|_| {}), fake.clone(), "us-east-1", list_event(), true)
        .await
        .unwrap();

    // Per size, durations are base+50 (cold: 0 + 50 init), base+1, ..., base+9 with
    // base = 100 + 128000 / memory (1100, 600, 350, 225). Sorted: base+1..base+9, base+50;
    // dropping 2 per end keeps base+3..base+8: trimmed mean base + 5.5.
    let p128 = result.powers[0].stats.as_ref().unwrap();
    assert_eq!(p128.duration_ms.mean, 1105.5);
    assert_eq!(
        (
            p128.duration_ms.p50,
            p128.duration_ms.p90,
            p128.duration_ms.p99
        ),
        (1105.0, 1109.0, 1150.0)
    );
    assert_eq!(
        (p128.cold_starts, p128.warm_starts, p128.invocations),
        (1, 9, 10)
    );
    assert_eq!(p128.max_memory_used_mb, Some(39));
    // Billed follows the same pattern, so the trimmed billed mean is 1105.5 ms:
    // 1.1055 s x 0.125 GB x 0.0000166667 + 0.0000002.
    let expected_cost = 1.1055 * 0.125 * 0.000_016_666_7 + 0.000_000_2;
    assert!((p128.cost_per_invoke - expected_cost).abs() < 1e-15);
    // GB-seconds per call: 128 -> 1.1055 x 0.125 = 0.138; 256 -> 0.6055 x 0.25 = 0.151;
    // 512 -> 0.3555 x 0.5 = 0.178; 1024 -> 0.2305 x 1 = 0.2305. Cheapest: 128 MB.
    let winner = result.winner.as_ref().unwrap();
    assert_eq!(winner.memory_mb, 128);
    assert_eq!(result.powers[0].verdict, "Best (cost)");
    assert_eq!(result.invocations, 40);
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 40);
    // The original 192 MB is back, and it was the last change made.
    assert_eq!(fake.memory_now(), 192);
    assert_eq!(
        fake.sets.lock().unwrap().as_slice(),
        &[128, 256, 512, 1024, 192]
    );
    assert_eq!(result.restored_memory_mb, Some(192));
    // The tuning cost is the sum of every invocation's cost, all sizes.
    let sum: f64 = result.powers.iter().map(|p| p.total_cost).sum();
    assert!((result.tuning_cost - sum).abs() < 1e-18 && result.tuning_cost > 0.0);
    // The JSON form carries every statistic.
    let v = serde_json::to_value(&result).unwrap();
    assert_eq!(v["winner"]["memory_mb"], json!(128));
    assert_eq!(
        v["powers"][3]["stats"]["duration_ms"]["mean"].as_f64(),
        Some(230.5)
    );
}

#[tokio::test]
async fn speed_and_balanced_strategies() {
    let fake = Arc::new(Fake::new(128));
    let r = lab::tune::run(
        &args(|a| a.strategy = Some(Strategy::Speed)),
        fake.clone(),
        "us-east-1",
        list_event(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.winner.unwrap().memory_mb, 1024);

    // Balanced, w = 0.5. Costs ($/call, compute + 2e-7): 128 2.5031e-6, 256 2.7229e-6, 512 3.1625e-6,
    // 1024 4.0417e-6; durations 1105.5, 605.5, 355.5, 230.5 ms.
    //   128: 0.5 x 2.5031/4.0417 + 0.5 x 1      = 0.3097 + 0.5    = 0.8097
    //   256: 0.5 x 2.7229/4.0417 + 0.5 x 0.5477 = 0.3369 + 0.2739 = 0.6107
    //   512: 0.5 x 3.1625/4.0417 + 0.5 x 0.3216 = 0.3912 + 0.1608 = 0.5520  <- smallest
    //  1024: 0.5 x 1        + 0.5 x 0.2085 = 0.5    + 0.1043 = 0.6043
    let fake = Arc::new(Fake::new(128));
    let r = lab::tune::run(
        &args(|a| a.strategy = Some(Strategy::Balanced)),
        fake,
        "us-east-1",
        list_event(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.winner.unwrap().memory_mb, 512);
}

#[tokio::test]
async fn a_failing_power_is_skipped() {
    let mut fake = Fake::new(1024);
    fake.modes.insert(128, Mode::FunctionError("Internal"));
    fake.fail_set = Some(512);
    let fake = Arc::new(fake);
    let r = lab::tune::run(
        &args(|_| {}),
        fake.clone(),
        "us-east-1",
        list_event(),
        false,
    )
    .await
    .unwrap();
    let status: Vec<&str> = r.powers.iter().map(|p| p.status).collect();
    assert_eq!(status, ["failed", "ok", "failed", "ok"]);
    assert!(
        r.powers[0].error.as_deref().unwrap().contains("Internal"),
        "{:?}",
        r.powers[0].error
    );
    assert!(r.powers[2]
        .error
        .as_deref()
        .unwrap()
        .contains("setting the memory to 512 MB failed"));
    // Of 256 and 1024, 256 is cheaper (0.151 vs 0.2305 GB-s per call).
    assert_eq!(r.winner.unwrap().memory_mb, 256);
    assert_eq!(fake.memory_now(), 1024);
    // Sequential: the failing size stopped at its first error; the others ran 10 each.
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 1 + 10 + 10);
    // The failed call was billed and is part of the tuning cost.
    assert!(r.powers[0].total_cost > 0.0);
}

#[tokio::test]
async fn every_power_failing_is_an_error_and_memory_is_restored() {
    let mut fake = Fake::new(256);
    for m in [128, 256, 512, 1024] {
        fake.modes.insert(m, Mode::NoReport);
    }
    let fake = Arc::new(fake);
    let err = lab::tune::run(
        &args(|a| a.parallel = true),
        fake.clone(),
        "us-east-1",
        list_event(),
        true,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("every memory size failed"), "{err}");
    assert!(err.contains("no REPORT line"), "{err}");
    assert_eq!(fake.memory_now(), 256);
}

#[tokio::test]
async fn allowed_exceptions_count_as_measurements() {
    let mut fake = Fake::new(128);
    fake.modes.insert(256, Mode::FunctionError("NotFound"));
    let fake = Arc::new(fake);
    let a = args(|a| {
        a.powers = Some(vec![256]);
        a.allowed_exceptions = Some(vec!["NotFound".into()]);
    });
    let r = lab::tune::run(&a, fake, "us-east-1", list_event(), true)
        .await
        .unwrap();
    assert_eq!(r.powers[0].stats.as_ref().unwrap().allowed_errors, 10);
}

#[tokio::test]
async fn throttling_is_retried_and_counted() {
    let fake = Fake::new(128);
    fake.throttle_first.store(2, Ordering::SeqCst);
    let fake = Arc::new(fake);
    let r = lab::tune::run(
        &args(|a| a.powers = Some(vec![128])),
        fake.clone(),
        "us-east-1",
        list_event(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.powers[0].retries, 2);
    assert_eq!(r.powers[0].stats.as_ref().unwrap().invocations, 10);
}

#[tokio::test]
async fn auto_optimize_leaves_the_winner() {
    let fake = Arc::new(Fake::new(512));
    let a = args(|a| {
        a.auto_optimize = true;
        a.strategy = Some(Strategy::Speed);
    });
    let r = lab::tune::run(&a, fake.clone(), "us-east-1", list_event(), true)
        .await
        .unwrap();
    assert_eq!(fake.memory_now(), 1024);
    assert_eq!(
        (r.original_memory_mb, r.restored_memory_mb),
        (Some(512), Some(1024))
    );
}

#[tokio::test]
async fn dry_run_touches_nothing() {
    let fake = Arc::new(Fake::new(128));
    let r = lab::tune::run(
        &args(|a| a.dry_run = true),
        fake.clone(),
        "us-east-1",
        list_event(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.invocations.load(Ordering::SeqCst), 0);
    assert!(fake.sets.lock().unwrap().is_empty());
    assert_eq!(r.plan.total_invocations, 40);
    assert!(r.powers.is_empty());
}

#[tokio::test]
async fn only_cold_starts_toggles_memory_before_each_invocation() {
    let fake = Arc::new(Fake::new(128));
    let a = args(|a| {
        a.powers = Some(vec![256]);
        a.num = Some(5);
        a.only_cold_starts = true;
    });
    let r = lab::tune::run(&a, fake.clone(), "us-east-1", list_event(), true)
        .await
        .unwrap();
    let stats = r.powers[0].stats.as_ref().unwrap();
    assert_eq!((stats.cold_starts, stats.invocations), (5, 5));
    // Set 256, then (257, 256) before each of the 5 calls, then restore 128.
    let sets = fake.sets.lock().unwrap().clone();
    assert_eq!(sets.len(), 1 + 2 * 5 + 1);
    assert_eq!(&sets[..3], &[256, 257, 256]);
    assert_eq!(*sets.last().unwrap(), 128);
}

#[tokio::test]
async fn an_interrupt_restores_memory() {
    let mut fake = Fake::new(640);
    fake.slow = true;
    let fake = Arc::new(fake);
    let cfg = TuneConfig::resolve(&TuneArgs::default(), list_event()).unwrap();
    let watcher = fake.clone();
    // "Ctrl-C" once a few invocations have happened.
    let interrupt = async move {
        while watcher.invocations.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let options = lab::tune::run::RunOptions::default();
    let err = lab::tune::run::execute(&cfg, fake.clone(), "us-east-1", &options, interrupt)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "interrupted; memory restored to 640 MB");
    assert_eq!(fake.memory_now(), 640);
    assert!(fake.invocations.load(Ordering::SeqCst) < 40);
}

#[tokio::test]
async fn html_report_is_self_contained_and_holds_the_values() {
    let path = std::env::temp_dir().join(format!("lab-tune-report-{}.html", std::process::id()));
    let mut fake = Fake::new(128);
    fake.modes.insert(512, Mode::FunctionError("Internal"));
    let fake = Arc::new(fake);
    let a = args(|a| a.report = Some(path.clone()));
    let r = lab::tune::run(&a, fake, "us-east-1", list_event(), true)
        .await
        .unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let external = regex::Regex::new(r#"(?i-u)(src|href)\s*=\s*["']?\s*(https?:)?//"#).unwrap();
    assert!(
        !external.is_match(&html),
        "the report loads something from the network"
    );
    assert!(!html.contains("<script"), "the report has a script");
    assert!(!html.contains("<link"), "the report links a stylesheet");
    assert!(html.contains("<style>") && html.contains("<svg"));
    for p in &r.powers {
        assert!(html.contains(&format!("data-memory=\"{}\"", p.memory_mb)));
        if let Some(s) = &p.stats {
            assert!(html.contains(&format!("data-avg-ms=\"{}\"", s.duration_ms.mean)));
            assert!(html.contains(&format!("data-cost=\"{}\"", s.cost_per_invoke)));
        }
    }
    assert!(html.contains("data-avg-ms=\"1105.5\""));
    assert!(html.contains("data-status=\"failed\""));
    assert!(html.contains("data-verdict=\"Best (cost)\""));
}
