//! `lab load` joined with Lambda's own figures on the local stack, the real handler behind the
//! stage URL and Invoke: every request paired with its invocation's REPORT line (the function's log
//! for the stage URL, Invoke's log tail for `--via lambda`), checked against the log group read
//! apart through the SDK, and shown in the terminal, the JSON and the HTML report.

use crate::common::{words, LocalStack};
use serde_json::Value;

/// The function's REPORT lines so far: (all, those with an Init Duration).
async fn report_lines(local: &LocalStack, function: &str) -> (usize, usize) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local.sdk().await);
    let (mut all, mut cold, mut token) = (0, 0, None);
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(format!("/aws/lambda/{function}"))
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for e in page.events() {
            let m = e.message().unwrap_or_default();
            if m.starts_with("REPORT ") {
                all += 1;
                cold += usize::from(m.contains("Init Duration"));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return (all, cold);
        }
    }
}

/// Waits until the log holds `n` REPORT lines (the stack ships logs in the background).
async fn settled(local: &LocalStack, function: &str, at_least: usize) -> (usize, usize) {
    for _ in 0..50 {
        let lines = report_lines(local, function).await;
        if lines.0 >= at_least {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    report_lines(local, function).await
}

fn figures(run: &Value) -> &Value {
    let f = &run["lambda"];
    assert!(f.is_object(), "no Lambda figures: {run}");
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_is_joined_with_its_report_line_through_the_stage_url_and_invoke() {
    let local = LocalStack::start(&[]);
    local.up("lf", &[]);
    let before = settled(&local, "lf-fn", 1).await;
    let page = local.home.join("load.html");
    let mut args = words("--stack lf load --vus 3 --duration 3s --load-profile fixed --report");
    args.push(page.to_str().unwrap());
    let doc = local.lab_json(&args);
    let run = &doc["runs"][0];
    let f = figures(run);
    assert_eq!(f["source"], "function_log", "{f}");
    assert!(
        doc["build_note"].as_str().is_some_and(|n| n.contains("unoptimised")),
        "the dev build is named: {doc}"
    );
    // Every request reached the function (no errors), and each was paired with a line.
    assert_eq!(run["summary"]["errors"], 0, "{run}");
    let requests = run["summary"]["requests"].as_u64().unwrap();
    assert_eq!(f["requests"].as_u64(), Some(requests), "{f}");
    assert_eq!(f["joined"].as_u64(), Some(requests), "{f}");
    assert_eq!(f["coverage"], 1.0);
    // Held against the log read apart: the run added exactly that many REPORT lines, and the
    // cold ones are the ones with an Init Duration.
    let after = settled(&local, "lf-fn", before.0 + requests as usize).await;
    assert_eq!(after.0 - before.0, requests as usize, "{f}");
    let cold = f["cold"]["count"].as_u64().unwrap() as usize;
    assert_eq!(cold, after.1 - before.1, "{f}");
    assert_eq!(
        cold as u64 + f["warm"]["count"].as_u64().unwrap(),
        requests,
        "{f}"
    );
    // Three VUs on a function the readiness probe warmed once: at least two cold starts, each
    // waited on at least its Init.
    assert!(cold >= 2, "{f}");
    assert!(
        f["cold"]["p50_ms"].as_f64().unwrap() >= f["init_avg_ms"].as_f64().unwrap() * 0.5,
        "{f}"
    );
    assert_eq!(f["memory_size_mb"], 128);
    let used = f["max_memory_used_mb"].as_u64().unwrap();
    assert!(used > 0 && used <= 128, "{f}");
    let (total, per_1k) = (
        f["cost"]["total"].as_f64().unwrap(),
        f["cost"]["per_1k"].as_f64().unwrap(),
    );
    assert!(total > 0.0);
    assert!(
        (per_1k - total / requests as f64 * 1000.0).abs() < 1e-12,
        "{f}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    crate::common::html::assert_self_contained(&html);
    assert!(html.contains("id=\"load-lambda-0\""), "the Lambda table");
    assert!(html.contains("Lambda cost of the run"));

    // --via lambda at two sizes: the log tail's REPORT line is the invocation's own, so each
    // run's lines carry its own memory size.
    let text = local.lab_ok(&words(
        "--stack lf load --via lambda --vus 2 --duration 2s --memory 128,256",
    ));
    let joined: Vec<&str> = text.lines().filter(|l| l.starts_with("Lambda's figures: ")).collect();
    assert_eq!(joined.len(), 2, "{text}");
    for line in &joined {
        assert!(
            line.contains("(100.0%)") && line.contains("log tail"),
            "{line}"
        );
    }
    let doc = local.lab_json(&words(
        "--stack lf load --via lambda --vus 2 --duration 2s --memory 256,128",
    ));
    for run in doc["runs"].as_array().unwrap() {
        let f = figures(run);
        assert_eq!(f["source"], "log_tail");
        assert_eq!(f["memory_size_mb"], run["memory_mb"], "{f}");
        assert_eq!(f["joined"], run["summary"]["requests"], "{f}");
    }
}
