//! `lab load --workers` on the local stack: the generator function is deployed from this
//! workspace's `lab-load-worker`, runs through the local Lambda (the gateway starts it as it starts
//! the handler), its workers' histograms merge into one result, a plan that cannot fit the
//! account's concurrency is refused, and `lab down` removes the generator.

mod common;

use common::LocalStack;

#[tokio::test(flavor = "multi_thread")]
async fn workers_on_the_local_lambda_merge_into_one_result_and_down_removes_them() {
    let local = LocalStack::start(&[]);
    local.up("wk", &[]);
    let closed = local.lab_json(&[
        "--stack",
        "wk",
        "load",
        "--workers",
        "2",
        "--vus",
        "4",
        "--duration",
        "3s",
        "--load-profile",
        "fixed",
        "--threshold",
        "errors<1%",
    ]);
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
    assert_eq!(
        total, requests,
        "the merged series adds up to the merged total"
    );
    // Both workers ran their 2 VUs through the middle second.
    assert_eq!(series[1]["active_vus"], 4, "{series:?}");
    assert!(s["p50_ms"].as_f64().unwrap() > 0.0 && s["ok_latency"]["p99_ms"].as_f64().is_some());
    assert_eq!(closed["thresholds_passed"], true);

    // The open model through Lambda Invoke: each worker sends every other arrival.
    let open = local.lab_json(&[
        "--stack",
        "wk",
        "load",
        "--workers",
        "2",
        "--vus",
        "4",
        "--rate",
        "20",
        "--duration",
        "2s",
        "--via",
        "lambda",
    ]);
    let s = &open["runs"][0]["summary"];
    let sent = s["requests"].as_u64().unwrap() + s["dropped_iterations"].as_u64().unwrap();
    assert_eq!(sent, 40, "20/s for 2 s, split between the workers: {s}");
    assert_eq!(open["target"], "lambda:wk-fn");

    // 6 workers and 6 VUs need 12 concurrent executions; the local account allows 10.
    let refused = local.lab(&[
        "--stack",
        "wk",
        "load",
        "--workers",
        "6",
        "--vus",
        "6",
        "--duration",
        "1s",
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        err.contains("need 12") && err.contains("allows 10"),
        "{err}"
    );

    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    let worker = lambda
        .get_function_configuration()
        .function_name("wk-load-worker")
        .send()
        .await;
    assert_eq!(worker.unwrap().timeout(), Some(900));
    local.lab_ok(&["--stack", "wk", "down", "--yes"]);
    let gone = lambda
        .get_function_configuration()
        .function_name("wk-load-worker")
        .send()
        .await;
    assert!(gone.is_err(), "lab down left the generator function");
    let iam = aws_sdk_iam::Client::new(&local.sdk().await);
    assert!(iam
        .get_role()
        .role_name("wk-load-worker-role")
        .send()
        .await
        .is_err());
}
