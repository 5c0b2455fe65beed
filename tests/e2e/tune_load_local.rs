//! `lab tune` and `lab load` end to end on the local stack: real REPORT lines from the real handler,
//! memory restored (also after Ctrl-C), throttling counted, the memory comparison. (Tuning through
//! versions and aliases, other functions and signals: tests/tune_versions.rs, tests/tune_signals.rs.)

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::html::{data_value, render_in_chromium};
use crate::common::{words, LocalStack};
use serde_json::Value;

async fn memory(local: &LocalStack, function: &str) -> i32 {
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    let config = crate::common::aws::function_config(&lambda, function).await;
    config.memory_size().unwrap()
}

/// One size's statistics from real REPORT lines: `num` invocations, cold and warm, positive figures.
fn assert_measured(p: &Value, num: u64) {
    assert_eq!(p["status"], "ok", "{p}");
    let stats = &p["stats"];
    assert_eq!(stats["invocations"], num, "{p}");
    assert_eq!(
        stats["cold_starts"].as_u64().unwrap() + stats["warm_starts"].as_u64().unwrap(),
        num
    );
    assert!(
        stats["cold_starts"].as_u64().unwrap() >= 1,
        "a new memory size starts new instances: {p}"
    );
    assert!(stats["duration_ms"]["min"].as_f64().unwrap() > 0.0);
    assert!(stats["avg_billed_ms"].as_f64().unwrap() >= 1.0);
    assert!(
        stats["max_memory_used_mb"].as_u64().unwrap() >= 1,
        "Max Memory Used comes from the process: {p}"
    );
    assert!(stats["cost_per_invoke"].as_f64().unwrap() > 0.0);
}

/// speed and balanced pick a winner too; --auto-optimize leaves it set: returns it.
async fn strategies_and_auto_optimize(local: &LocalStack) -> i32 {
    for strategy in ["speed", "balanced"] {
        let mut args = words("--stack tn tune --num 5 --powers 128,1024 --strategy");
        args.push(strategy);
        let r = local.lab_json(&args);
        assert_eq!(r["winner"]["strategy"], strategy, "{r}");
        assert_eq!(memory(local, "tn-fn").await, 192);
    }
    let r = local.lab_json(&words(
        "--stack tn tune --num 5 --powers 256,512 --auto-optimize",
    ));
    let chosen = r["winner"]["memory_mb"].as_i64().unwrap() as i32;
    assert_eq!(memory(local, "tn-fn").await, chosen);
    chosen
}

#[tokio::test(flavor = "multi_thread")]
async fn tune_sweeps_every_power_with_real_reports_and_restores_memory() {
    let local = LocalStack::start(&[]);
    local.up("tn", &["--memory", "192"]);
    for id in 0..5 {
        local.lab_ok(&["--stack", "tn", "call", "create", "--id", &id.to_string()]);
    }
    let report = local.home.join("tune.html");
    let mut args = words("--stack tn tune --num 10 --parallel --report");
    args.push(report.to_str().unwrap());
    let result = local.lab_json(&args);
    // The stack runs the dev build the tests deploy: the result says its figures are not AWS's.
    let note = result["build_note"]
        .as_str()
        .unwrap_or_else(|| panic!("no build note: {result}"));
    assert!(note.starts_with("tn-fn runs an unoptimised"), "{note}");
    assert!(note.contains("--profile lambda"), "{note}");
    let powers = result["powers"].as_array().unwrap();
    assert_eq!(
        powers.iter().map(|p| p["memory_mb"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![128, 256, 512, 1024]
    );
    for p in powers {
        assert_measured(p, 10);
    }
    let winner = result["winner"]["memory_mb"].as_u64().unwrap();
    // PT's cost model by default; among equal costs the faster wins.
    let key = |p: &Value| {
        (
            p["stats"]["pt_cost_per_invoke"].as_f64().unwrap(),
            p["stats"]["duration_ms"]["mean"].as_f64().unwrap(),
        )
    };
    let cheapest = powers.iter().min_by(|a, b| key(a).partial_cmp(&key(b)).unwrap()).unwrap()
        ["memory_mb"]
        .as_u64()
        .unwrap();
    // On points the cheapest; lab's winner is it when its lead is outside the intervals, else a size
    // within noise of it (tests/e2e/tune_confidence_local.rs).
    let w = &result["winner"];
    assert_eq!(
        w["point_pick_mb"].as_u64(),
        Some(cheapest),
        "strategy cost picks the cheapest"
    );
    assert_eq!(result["results"]["power"].as_u64(), Some(cheapest));
    let tied: Vec<u64> =
        w["tied_mb"].as_array().unwrap().iter().map(|m| m.as_u64().unwrap()).collect();
    assert!(tied.contains(&winner) && tied.contains(&cheapest), "{w}");
    assert_eq!(result["original_memory_mb"], 192);
    assert_eq!(result["restored_memory_mb"], 192);
    assert_eq!(memory(&local, "tn-fn").await, 192);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("src=\"http"),
        "self-contained report with a chart"
    );

    let chosen = strategies_and_auto_optimize(&local).await;

    // Bad input: one line, non-zero, nothing changed.
    let bad = local.lab(&["--stack", "tn", "tune", "--num", "2"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.lines().next().unwrap().contains("--num") && err.contains("at least 5"),
        "{err}"
    );
    assert_eq!(memory(&local, "tn-fn").await, chosen);
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_load_restores_memory() {
    let local = LocalStack::start(&[]);
    local.up("ctrl", &["--memory", "320"]);
    // Tuning never changes $LATEST's memory while it measures (it measures versions): its
    // interrupts are in tests/tune_signals.rs.
    let args = words("load --vus 2 --duration 60s --memory 128,1024");
    let child = Command::new(crate::common::lab_bin())
        .args(["--local", "--local-port", &local.port.to_string()])
        .args(["--stack", "ctrl"])
        .args(&args)
        .env("LAB_HOME", &local.home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it change the memory and run for a while, then Ctrl-C. On a busy machine the change (an
    // update, then waiting for it to take effect) can take a while: up to 30 s.
    let mut changed = false;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if memory(&local, "ctrl-fn").await != 320 {
            changed = true;
            break;
        }
    }
    assert!(changed, "{args:?} never changed the memory");
    // Then until the function has answered at the test size (a REPORT line at 128 MB): the load
    // is under way, so the signal stops a run, not its set-up.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local.sdk().await);
    let mut running = false;
    for _ in 0..300 {
        let events = logs.filter_log_events().log_group_name("/aws/lambda/ctrl-fn").send().await;
        let lines = events.ok().map(|e| e.events.unwrap_or_default()).unwrap_or_default();
        if lines
            .iter()
            .any(|e| e.message().is_some_and(|m| m.contains("Memory Size: 128 MB")))
        {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(running, "{args:?} never invoked the function at 128 MB");
    // SAFETY: SIGINT to our own child, as Ctrl-C in a terminal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = memory(&local, "ctrl-fn").await;
    assert_eq!(restored, 320, "{args:?} did not restore memory: {said}");
    assert!(
        said.contains("320"),
        "{args:?} should say what it restored: {said}"
    );
}

/// `lab -o json --stack ld load ARGS...` (the words of `args`).
fn load(local: &LocalStack, args: &str) -> Value {
    let mut all = words("--stack ld load");
    all.extend(words(args));
    local.lab_json(&all)
}

#[tokio::test(flavor = "multi_thread")]
async fn load_closed_open_throttled_and_compared() {
    let local = LocalStack::start(&["--concurrency", "3"]);
    local.up("ld", &[]);
    assert_closed_model_with_ramp_up(&local);

    // 8 VUs against a concurrency limit of 3: Lambda throttles, and API Gateway answers a throttle
    // behind a non-proxy integration with 500 (not the 429 the tutorial mentions): counted as 500s.
    let over = load(&local, "--vus 8 --duration 3s --load-profile fixed");
    let errors = &over["runs"][0]["errors"];
    let status = &errors["http_status"];
    assert!(status["500"].as_u64().unwrap_or(0) > 0, "{errors}");
    assert_eq!(status["429"], Value::Null, "{errors}");
    // Lambda Invoke directly, with no SDK retries: each throttle is counted as one, not retried
    // into extra latency.
    let direct = load(
        &local,
        "--vus 8 --duration 2s --load-profile fixed --via lambda",
    );
    let errors = &direct["runs"][0]["errors"];
    assert!(errors["throttles"].as_u64().unwrap() > 0, "{errors}");

    // Function errors in the body are counted by kind (the API maps BadRequest to 400).
    let mut nope = words("--stack ld load --vus 1 --duration 1s --payload");
    nope.push(r#"{"operation":"nope"}"#);
    let bad = local.lab_json(&nope);
    let run = &bad["runs"][0];
    assert_eq!(run["summary"]["ok"], 0);
    assert!(run["errors"]["http_status"]["400"].as_u64().unwrap() > 0);

    // Open model: constant arrival rate.
    let open = load(&local, "--rate 20 --vus 3 --duration 3s");
    assert_eq!(open["model"], "open");
    let summary = &open["runs"][0]["summary"];
    let sent =
        summary["requests"].as_u64().unwrap() + summary["dropped_iterations"].as_u64().unwrap();
    assert!(
        (45..=75).contains(&sent),
        "about 60 arrivals expected, got {sent}"
    );

    assert_memory_comparison(&local).await;
}

/// Closed model with ramp-up, 3 VUs (the concurrency limit): no throttling, a per-second series.
fn assert_closed_model_with_ramp_up(local: &LocalStack) {
    let closed = load(local, "--vus 3 --duration 4s --ramp-up 2s");
    assert_eq!(closed["model"], "closed");
    let run = &closed["runs"][0];
    let requests = run["summary"]["requests"].as_u64().unwrap();
    assert!(requests > 10, "{run}");
    assert_eq!(run["summary"]["errors"], 0, "{}", run["errors"]);
    let series = run["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    let total: u64 = series.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    assert_eq!(total, requests, "the series adds up to the total");
    for p in ["p50_ms", "p90_ms", "p95_ms", "p99_ms"] {
        assert!(run["summary"][p].as_f64().unwrap() > 0.0);
    }
    assert!(run["summary"]["p50_ms"].as_f64() <= run["summary"]["p99_ms"].as_f64());
    assert_emulator_share(local, run);
}

/// The local stack's own share of the latency: for `list` (a Scan the gateway answers inside the
/// function) the data plane counts; for `ping`, which makes no AWS call, it is zero.
fn assert_emulator_share(local: &LocalStack, list_run: &Value) {
    let share = &list_run["emulator"];
    let f = |k: &str| share[k].as_f64().unwrap_or_else(|| panic!("{k} in {share}"));
    assert!(share["requests"].as_u64().unwrap() > 10, "{share}");
    assert!(
        f("dataplane_ms") > 0.0,
        "the Scans' time in the gateway: {share}"
    );
    assert!(
        f("function_ms") > f("dataplane_ms"),
        "the data plane is inside the function: {share}"
    );
    assert!(
        f("emulator_ms") >= f("dataplane_ms") && f("emulator_ms") <= f("latency_ms"),
        "{share}"
    );
    assert!(f("share") > 0.0 && f("share") <= 1.0, "{share}");
    let ping = load(local, "--vus 1 --duration 1s --payload ping");
    let share = &ping["runs"][0]["emulator"];
    assert_eq!(
        share["dataplane_ms"].as_f64(),
        Some(0.0),
        "ping makes no AWS call: {share}"
    );
}

/// The tutorial's comparison: one run per memory size, memory restored, and the report's page
/// showing the figures of the JSON.
async fn assert_memory_comparison(local: &LocalStack) {
    let cmp = load(local, "--vus 2 --duration 2s --memory 128,1024");
    let sizes = |report: &Value| -> Vec<u64> {
        let runs = report["runs"].as_array().unwrap();
        runs.iter().map(|r| r["memory_mb"].as_u64().unwrap()).collect()
    };
    assert_eq!(sizes(&cmp), [128, 1024]);
    assert_eq!(cmp["restored_memory_mb"], 128);
    assert_eq!(memory(local, "ld-fn").await, 128);
    let page = local.home.join("load.html");
    let mut args = words("--stack ld load --vus 2 --duration 2s --memory 128,1024 --report");
    args.push(page.to_str().unwrap());
    let cmp_report = local.lab_json(&args);
    assert_eq!(sizes(&cmp_report), [128, 1024]);
    let (dom, screenshot) = render_in_chromium(&page);
    let blank = screenshot <= 10_000;
    assert!(!blank, "the screenshot is blank ({screenshot} bytes)");
    for run in cmp_report["runs"].as_array().unwrap() {
        let mb = run["memory_mb"].as_u64().unwrap();
        let shown: f64 = data_value(&dom, mb, "data-p95-ms")
            .unwrap_or_else(|| panic!("no p95 for {mb} MB on the page"))
            .parse()
            .unwrap();
        let json = run["summary"]["p95_ms"].as_f64().unwrap();
        let same = (shown - json).abs() < 1e-6;
        assert!(same, "{mb} MB: page {shown} vs JSON {json}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tutorial_runs_end_to_end_and_tears_down() {
    let local = LocalStack::start(&[]);
    let report = local.home.join("tutorial.html");
    let bootstrap = crate::common::bootstrap_bin();
    let mut args = words("tutorial --duration 2s --num 5 --vus 2 --bootstrap");
    args.extend([
        bootstrap.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let out = local.lab(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::common::assert_contains_all(
        &stdout,
        &[
            "Invoke URL",
            "somevalue1",
            "Performance & Cost Observations",
            "Stack lab is gone.",
        ],
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.matches("<svg").count() >= 2,
        "one report with the tune and load charts"
    );
    // The tutorial ends with down.
    local.assert_status("lab", &[], 2);
}
