//! `lab load --baseline` on the local stack, the real handler behind the stage URL: an unchanged
//! rerun passes, a regression made by lowering the function's memory (256 MB against 1769, more
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

    // A seventh of a vCPU instead of one (256 MB against 1769): the handler's own time grows
    // several-fold, the stage URL's latency by well over 20% even on a busy machine. Exit 1, and
    // the line says so.
    set_memory(&local, 256).await;
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
