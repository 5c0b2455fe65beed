//! `lab load --workers` on the local stack: the generator function is deployed from this
//! workspace's `lab-load-worker`, runs through the local Lambda (the gateway starts it as it starts
//! the handler), its workers' histograms merge into one result, a plan that cannot fit the
//! account's concurrency is refused, and `lab down` removes the generator.

use crate::common::aws::assert_error_code;
use crate::common::{words, LocalStack};

/// `--stack wk load --workers ARGS...` (the words of `args`).
fn load(args: &str) -> Vec<&str> {
    let mut all = words("--stack wk load --workers");
    all.extend(words(args));
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_on_the_local_lambda_merge_into_one_result_and_down_removes_them() {
    let local = LocalStack::start(&[]);
    local.up("wk", &[]);
    assert_closed_model_merges(&local);

    // The open model through Lambda Invoke: each worker sends every other arrival.
    let open = local.lab_json(&load("2 --vus 4 --rate 20 --duration 2s --via lambda"));
    let s = &open["runs"][0]["summary"];
    let sent = s["requests"].as_u64().unwrap() + s["dropped_iterations"].as_u64().unwrap();
    assert_eq!(sent, 40, "20/s for 2 s, split between the workers: {s}");
    assert_eq!(open["target"], "lambda:wk-fn");

    // 6 workers and 6 VUs need 12 concurrent executions; the local account allows 10.
    let refused = local.lab(&load("6 --vus 6 --duration 1s"));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    let why = err.contains("need 12") && err.contains("allows 10");
    assert!(why, "{err}");

    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let worker = crate::common::aws::function_config(&lambda, "wk-load-worker").await;
    assert_eq!(worker.timeout(), Some(900));
    local.lab_ok(&["--stack", "wk", "down", "--yes"]);
    let gone = lambda.get_function_configuration().function_name("wk-load-worker");
    let gone = gone.send().await;
    assert_error_code(
        gone,
        "ResourceNotFoundException",
        "the generator function after down",
    );
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam.get_role().role_name("wk-load-worker-role").send().await;
    assert_error_code(role, "NoSuchEntity", "the generator's role after down");
}

/// Two workers of 2 VUs each, closed model: one result whose series adds up to its total.
fn assert_closed_model_merges(local: &LocalStack) {
    let args = "2 --vus 4 --duration 3s --load-profile fixed --threshold errors<1%";
    let closed = local.lab_json(&load(args));
    assert_eq!(
        (closed["workers"].as_u64(), closed["model"].as_str()),
        (Some(2), Some("closed"))
    );
    let run = &closed["runs"][0];
    let s = &run["summary"];
    let requests = s["requests"].as_u64().unwrap();
    assert!(requests > 20, "{run}");
    assert_eq!(s["errors"], 0, "{}", run["errors"]);
    let series = run["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    let total: u64 = series.iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    let merged = "the merged series adds up to the merged total";
    assert_eq!(total, requests, "{merged}");
    // Both workers ran their 2 VUs through the middle second.
    assert_eq!(series[1]["active_vus"], 4, "{series:?}");
    assert!(s["p50_ms"].as_f64().unwrap() > 0.0 && s["ok_latency"]["p99_ms"].as_f64().is_some());
    assert_eq!(closed["thresholds_passed"], true);
}
