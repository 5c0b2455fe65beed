//! `lab load --baseline` on the local stack, the real handler behind the stage URL: an unchanged
//! rerun passes, a regression made by lowering the function's memory (128 MB against 1769, more
//! than 20% slower) is caught (exit 1, the line
//! with its interval), and bad input is refused in one line before a request is sent.

use crate::common::aws::{function_config, wait_ready};
use crate::common::{explain, words, LocalStack};
use serde_json::Value;

/// The same short test each time: 2 VUs for 6 s, fixed.
const TEST: &str = "--stack bl load --vus 2 --duration 6s --load-profile fixed";

/// `lab -o json load TEST ARGS...`: its exit code and JSON.
fn load(local: &LocalStack, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["-o", "json"];
    all.extend(words(TEST));
    all.extend_from_slice(args);
    let out = local.lab(&all);
    let doc =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", explain(&out)));
    (out.status.code().unwrap(), doc)
}

async fn set_memory(local: &LocalStack, mb: i32) {
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    lambda
        .update_function_configuration()
        .function_name("bl-fn")
        .memory_size(mb)
        .send()
        .await
        .unwrap();
    wait_ready(&lambda, "bl-fn").await;
    assert_eq!(
        function_config(&lambda, "bl-fn").await.memory_size(),
        Some(mb)
    );
}

fn verdicts(doc: &Value) -> Vec<String> {
    doc["baseline"]["runs"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["verdict"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_passes_an_unchanged_rerun_and_catches_lower_memory() {
    let local = LocalStack::start(&[]);
    local.up("bl", &["--memory", "1769"]);
    for id in 0..20 {
        local.lab_ok(&["--stack", "bl", "call", "create", "--id", &id.to_string()]);
    }
    let (code, base) = load(&local, &[]);
    assert_eq!(code, 0, "{base}");
    let run = &base["runs"][0];
    assert!(
        run["latency_hdr"].as_str().is_some_and(|h| !h.is_empty()),
        "the run's latencies are recorded"
    );
    assert!(
        run["series"][1]["latency_hdr"].as_str().is_some(),
        "and each second's"
    );
    let file = local.home.join("baseline.json");
    std::fs::write(&file, serde_json::to_vec(&base).unwrap()).unwrap();
    let path = file.to_str().unwrap();

    // Unchanged: no regression, exit 0.
    let (code, same) = load(&local, &["--baseline", path]);
    assert_eq!(code, 0, "{}", same["baseline"]);
    assert_eq!(same["baseline"]["regressed"], false);
    assert!(
        !verdicts(&same).contains(&"regression".to_string()),
        "{}",
        same["baseline"]
    );
    let p95 = &same["baseline"]["runs"][0]["metrics"][1];
    assert_eq!(p95["metric"], "p95");
    assert!(p95["ci_low"].as_f64().unwrap() <= p95["change"].as_f64().unwrap());
    assert!(p95["change"].as_f64().unwrap() <= p95["ci_high"].as_f64().unwrap());
    assert_eq!(
        p95["baseline_ms"], run["summary"]["p95_ms"],
        "the baseline's own p95"
    );

    // A fourteenth of a vCPU instead of one (128 MB against 1769; 256 MB was not slow enough to
    // tell from a busy machine's noise in a full suite): the handler's own time grows
    // several-fold, the stage URL's latency by well over 20% even on a busy machine. Exit 1, and
    // the line says so.
    set_memory(&local, 128).await;
    let page = local.home.join("regressed.html");
    let mut args = words(TEST);
    args.extend(["--baseline", path, "--report", page.to_str().unwrap()]);
    let out = local.lab(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let line = regex::Regex::new(r"p(50|95) [\d.]+ ms vs [\d.]+ ms: \+\d+% \(95% CI \+\d+\.\.\+\d+%\): regression \(past 10%\)").unwrap();
    assert!(line.is_match(&text), "no regression line: {text}");
    assert!(text.contains("exit status 1"), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("id=\"load-baseline\""),
        "the page has the comparison"
    );
    assert!(
        html.contains("data-verdict=\"regression (past 10%)\""),
        "and its verdict"
    );
    let (code, slower) = load(&local, &["--baseline", path, "--regression", "15%"]);
    assert_eq!(code, 1, "{}", slower["baseline"]);
    assert_eq!(slower["baseline"]["regressed"], true);
    assert_eq!(slower["baseline"]["regression"].as_f64(), Some(0.15));
    set_memory(&local, 1769).await;

    // Bad input: one line, non-zero, before any request.
    let other = local.home.join("not-a-load.json");
    std::fs::write(&other, r#"{"powers": []}"#).unwrap();
    let old = local.home.join("old.json");
    let mut without = base.clone();
    without["runs"][0].as_object_mut().unwrap().remove("latency_hdr");
    std::fs::write(&old, serde_json::to_vec(&without).unwrap()).unwrap();
    for (args, says) in [
        (
            vec!["--baseline", "/nonexistent/base.json"],
            "reading the baseline",
        ),
        (
            vec!["--baseline", other.to_str().unwrap()],
            "is not a `lab load -o json` result",
        ),
        (
            vec!["--baseline", old.to_str().unwrap()],
            "has no recorded latencies",
        ),
        (
            vec!["--baseline", path, "--memory", "256"],
            "has no run at 256 MB",
        ),
        (vec!["--regression", "10%"], "--baseline"),
        (
            vec!["--baseline", path, "--regression", "lots"],
            "is not a percentage",
        ),
    ] {
        let mut all = words(TEST);
        all.extend(&args);
        let out = local.lab(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        // lab's own errors are one line; clap's name the missing flag on the next.
        let first: String = err.lines().skip_while(|l| !l.starts_with("error")).take(2).collect();
        assert!(
            !out.status.success() && first.contains(says),
            "{args:?}: {}",
            explain(&out)
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("requests"),
            "{args:?} ran a test"
        );
    }
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    assert_eq!(
        function_config(&lambda, "bl-fn").await.memory_size(),
        Some(1769)
    );
}

/// The Python of the test tools' venv (scripts/install-deps), which has prometheus_client.
fn tools_python() -> std::path::PathBuf {
    let cache =
        std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache")
            });
    let python = cache.join("lab/prometheus-client-0.21.1/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/install-deps",
        python.display()
    );
    python
}

/// Runs `script` with `python`, the file as its argument; returns what it printed.
fn parse_with(python: &std::path::Path, script: &str, file: &std::path::Path) -> String {
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} on {}: {}",
        file.display(),
        explain(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_parse_with_their_consumers() {
    let local = LocalStack::start(&[]);
    local.up("bl", &[]);
    let dir = &local.home;
    let (csv, k6, om) = (dir.join("run.csv"), dir.join("k6.json"), dir.join("run.om"));
    let mut args =
        words("--stack bl load --vus 2 --duration 3s --load-profile fixed --memory 128,256");
    let outs = [
        format!("csv={}", csv.display()),
        format!("json={}", k6.display()),
        format!("openmetrics={}", om.display()),
    ];
    for out in &outs {
        args.extend(["--out", out.as_str()]);
    }
    let result = local.lab_json(&args);
    let runs = result["runs"].as_array().unwrap();
    let requests: Vec<u64> =
        runs.iter().map(|r| r["summary"]["requests"].as_u64().unwrap()).collect();

    // CSV: Python's csv module reads a row per second of each run, adding up to each run's requests.
    let per_run = parse_with(
        &std::path::PathBuf::from("python3"),
        "import csv, sys, collections\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         n = collections.Counter()\n\
         for r in rows: n[r['memory_mb']] += int(r['requests'])\n\
         print(n['128'], n['256'])",
        &csv,
    );
    assert_eq!(per_run, format!("{} {}", requests[0], requests[1]));

    // k6's summary: the metric names and value keys k6 writes, the counts of the test.
    let doc: Value = serde_json::from_slice(&std::fs::read(&k6).unwrap()).unwrap();
    let m = &doc["metrics"];
    assert_eq!(
        m["http_reqs"]["values"]["count"].as_u64(),
        Some(requests.iter().sum())
    );
    assert_eq!(m["http_req_duration"]["type"], "trend");
    for key in ["avg", "min", "med", "max", "p(90)", "p(95)"] {
        assert!(
            m["http_req_duration"]["values"][key].as_f64().is_some(),
            "{key}: {m}"
        );
    }
    assert_eq!(
        m["http_reqs{memory_mb:128}"]["values"]["count"].as_u64(),
        Some(requests[0])
    );
    let p95 = m["http_req_duration{memory_mb:256}"]["values"]["p(95)"].as_f64().unwrap();
    assert_eq!(p95, runs[1]["summary"]["p95_ms"].as_f64().unwrap());
    assert_eq!(m["http_req_failed"]["type"], "rate");

    // OpenMetrics: prometheus_client's parser (strict OpenMetrics) reads every family and sample.
    let parsed = parse_with(
        &tools_python(),
        "import sys\n\
         from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
         for f in parse(open(sys.argv[1]).read()):\n\
         \x20   for s in f.samples:\n\
         \x20       if s.name in ('lab_load_http_reqs_total', 'lab_load_http_req_duration_seconds_count'):\n\
         \x20           print(f.type, s.name, s.labels['memory_mb'], int(s.value))",
        &om,
    );
    for (mb, n) in [(128, requests[0]), (256, requests[1])] {
        assert!(
            parsed.contains(&format!("counter lab_load_http_reqs_total {mb} {n}")),
            "{parsed}"
        );
        assert!(
            parsed.contains(&format!(
                "summary lab_load_http_req_duration_seconds_count {mb} {n}"
            )),
            "{parsed}"
        );
    }

    // A directory that is not there is refused before the test runs.
    let out = local.lab(&words(
        "--stack bl load --vus 1 --duration 1s --out csv=/nonexistent-dir/x.csv",
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("does not exist"),
        "{}",
        explain(&out)
    );
}
