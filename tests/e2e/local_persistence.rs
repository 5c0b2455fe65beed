//! The local stack survives a crash and keeps its state: moto killed (-9) during a load comes back on
//! its own with every acknowledged item; stop/start keeps the stack (same invoke URL, items, code,
//! log group); `--fresh` and `lab local reset` empty it. And Lambda's instance limits: memory
//! enforced mid-call, asynchronous (Event) invocations answered at once and retried twice.

use std::time::{Duration, Instant};

use crate::common::fixture::{invoke, limits_stack, out_of_memory};
use crate::common::{post, LocalStack};
use aws_sdk_lambda::types::InvocationType::Event;
use serde_json::{json, Value};

/// Polls `probe` until it returns `Some`, failing with `what` after `limit`.
async fn poll<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn create(id: &str) -> String {
    json!({"operation": "create", "tableName": "lambda-apigateway", "payload": {"Item": {"id": id, "v": id}}})
        .to_string()
}

fn read(id: &str) -> String {
    json!({"operation": "read", "tableName": "lambda-apigateway", "payload": {"Key": {"id": id}}})
        .to_string()
}

/// Creates `count` items, ids `{prefix}-0` onwards (`v` = the id), through the stage URL, in
/// `table`. Returns the ids.
async fn create_all(url: &str, prefix: &str, count: usize, table: &str) -> Vec<String> {
    assert!(count > 0);
    let ids: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    for id in &ids {
        let event = create(id).replace("lambda-apigateway", table);
        let (status, body) = post(url, &event).await;
        assert_eq!(status, 200, "{body}");
    }
    ids
}

/// Reads every id back through the stage URL from `table`; returns those missing.
async fn missing(url: &str, ids: &[String], table: &str) -> Vec<String> {
    assert!(!ids.is_empty());
    let mut gone = Vec::new();
    for id in ids {
        let event = read(id).replace("lambda-apigateway", table);
        let (status, body) = post(url, &event).await;
        if status != 200 || body["Item"]["v"] != json!(id) {
            gone.push(format!("{id}: {status} {body}"));
        }
    }
    gone
}

/// `lab load` with a write-heavy mix in its own process, JSON on stdout.
fn start_load(local: &LocalStack) -> std::process::Child {
    std::process::Command::new(crate::common::lab_bin())
        .args([
            "--local",
            "--local-port",
            &local.port.to_string(),
            "-o",
            "json",
        ])
        .args([
            "load",
            "--vus",
            "4",
            "--duration",
            "12s",
            "--load-profile",
            "fixed",
        ])
        .args([
            "--payload",
            "create:load-1=1,read:before-3=1",
            "--timeout",
            "10s",
        ])
        .env("LAB_HOME", &local.home)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start lab load")
}

/// The load's report shows 503s (the gap, not dropped connections) and a second with successes
/// after the first second with errors.
fn assert_gap_then_recovery(out: std::process::Output) {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "load printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let run = &report["runs"][0];
    assert!(
        run["errors"]["http_status"]["503"].as_u64().unwrap_or(0) > 0,
        "{}",
        run["errors"]
    );
    let series = run["series"].as_array().unwrap();
    assert!(series.len() >= 2, "{series:?}");
    let first_error = series.iter().position(|p| p["errors"].as_u64() > Some(0)).unwrap();
    let recovered = series[first_error..]
        .iter()
        .any(|p| p["requests"].as_u64() > p["errors"].as_u64());
    assert!(recovered, "no successful second after the gap: {series:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_killed_mid_load_closed_model_recovers_every_acknowledged_item() {
    let local = LocalStack::start(&[]);
    let url = local.up("lab", &[]);
    let before = create_all(&url, "before", 20, "lambda-apigateway").await;
    // The load's items go to the native store's write-ahead log (moto's log sees only their log
    // lines, a batch every fifth of a second).
    let appended = |s: &Value| s["dynamodb"]["log"]["appended"].as_u64();
    let written = appended(&local.status()).expect("the item store's log figures");

    // A write-heavy load, as a user would run it, in its own process.
    let load = start_load(&local);
    // Kill once the load is writing (the log position moves on).
    poll(Duration::from_secs(60), "the load's writes", || {
        appended(&local.status()).filter(|s| *s >= written + 50)
    })
    .await;
    let status = local.status();
    let moto_pid = status["supervision"]["pid"].as_i64().unwrap() as i32;
    assert!(moto_pid > 0, "{status}");
    // SAFETY: a plain SIGKILL to the moto process the stack under test started.
    assert_eq!(unsafe { libc::kill(moto_pid, libc::SIGKILL) }, 0);

    // No restart command: the stack brings moto back by itself.
    let back = poll(Duration::from_secs(60), "moto to come back", || {
        let s = local.status();
        (s["supervision"]["restarts"] == 1 && s["supervision"]["state"] == "up").then_some(s)
    })
    .await;
    assert_ne!(back["supervision"]["pid"], json!(moto_pid));
    assert!(
        back["supervision"]["last_restart"]["at"].is_string(),
        "{back}"
    );
    assert_eq!(
        missing(&url, &before, "lambda-apigateway").await,
        Vec::<String>::new()
    );

    // The load saw the gap as errors (503s, not dropped connections), then recovered.
    assert_gap_then_recovery(load.wait_with_output().unwrap());

    let text = local.lab_ok(&["local", "status"]);
    assert!(text.contains("restarts 1, the last at"), "{text}");
}

const STRICT: [&str; 3] = ["--strict", "--time-scale", crate::common::TEST_TIME_SCALE];

/// `lab local stop`, then `lab local start` (with `--fresh` when asked), strict as the test stack.
fn restart(local: &LocalStack, fresh: bool) {
    local.lab_ok(&["local", "stop"]);
    let mut args = STRICT.to_vec();
    args.extend(["local", "start"]);
    if fresh {
        args.push("--fresh");
    }
    local.lab_ok(&args);
}

/// The stack "keep" as `lab status` sees it after a restart: complete, with the same invoke URL,
/// its function running its code, every item, and its log group.
async fn assert_keep_is_back(local: &LocalStack, url: &str, ids: &[String]) {
    let status = local.lab_json(&["--stack", "keep", "status"]);
    assert_eq!(status["invoke_url"], json!(url), "{status}");
    let (code, body) = post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!((code, body), (200, json!("pong")));
    assert_eq!(missing(url, ids, "keep-table").await, Vec::<String>::new());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local.sdk().await);
    let prefix = "/aws/lambda/keep-";
    let groups = logs.describe_log_groups().log_group_name_prefix(prefix).send().await.unwrap();
    assert_eq!(groups.log_groups().len(), 1, "{groups:?}");
}

/// An event for the "keep" stack's table.
fn keep_event(body: String) -> String {
    body.replace("lambda-apigateway", "keep-table")
}

/// Kills the whole stack (the gateway with SIGKILL, moto with it) and starts it again.
async fn crash_and_start(local: &LocalStack) {
    let gateway = local.status()["pid"].as_i64().unwrap() as i32;
    // SAFETY: SIGKILL to the serve process this test's stack runs (its own status says the pid).
    assert_eq!(unsafe { libc::kill(gateway, libc::SIGKILL) }, 0);
    // Gone when its port is free (a zombie still "exists" but holds no socket).
    poll(
        Duration::from_secs(30),
        "the gateway's port to be free",
        || {
            let free = std::net::TcpListener::bind(("127.0.0.1", local.port)).is_ok();
            free.then_some(())
        },
    )
    .await;
    let mut args = STRICT.to_vec();
    args.extend(["local", "start"]);
    local.lab_ok(&args);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_start_keep_the_stack_and_fresh_or_reset_empties_it() {
    let local = LocalStack::start(&[]);
    let url = local.up("keep", &[]);
    let ids = create_all(&url, "kept", 10, "keep-table").await;
    // Stopped, the endpoint says so with a hint; started again, everything is back.
    local.lab_ok(&["local", "stop"]);
    let out = std::process::Command::new(crate::common::lab_bin())
        .args(["--endpoint-url", &local.endpoint(), "--region", "us-east-1"])
        .args(["--stack", "keep", "status"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("LAB_HOME", &local.home)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("cannot reach the endpoint")
            && err.contains("lab local status"),
        "{err}"
    );
    restart(&local, false);
    assert_keep_is_back(&local, &url, &ids).await;

    // A crash of the whole stack loses no acknowledged write either, even one made just before.
    let last = "kept-last".to_string();
    let (code, body) = post(&url, &keep_event(create(&last))).await;
    assert_eq!(code, 200, "{body}");
    // The items are the native store's (moto holds the tables only).
    let dynamo = &local.status()["dynamodb"];
    assert_eq!(dynamo["data_plane"], "native", "{dynamo}");
    assert_eq!(dynamo["items"], 11, "{dynamo}");
    crash_and_start(&local).await;
    let (code, body) = post(&url, &keep_event(read(&last))).await;
    assert_eq!((code, &body["Item"]["v"]), (200, &json!(last)), "{body}");

    // --fresh starts empty.
    restart(&local, true);
    assert_eq!(local.status()["dynamodb"]["items"], 0);
    let out = local.lab(&["--stack", "keep", "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");

    // lab local reset empties a running stack, on disk too.
    local.up("again", &[]);
    local.lab_ok(&["local", "reset"]);
    let out = local.lab(&["--stack", "again", "status"]);
    assert_eq!(out.status.code(), Some(2));
    restart(&local, false);
    let out = local.lab(&["--stack", "again", "status"]);
    assert_eq!(out.status.code(), Some(2));
    local.lab_ok(&["local", "stop"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_memory_and_event_invokes_answer_at_once_with_two_retries() {
    let (local, lambda) = limits_stack().await;
    // Whether memory is enforced mid-call is what this machine allows, and the stack says so.
    let memory = local.status()["memory"].as_str().unwrap().to_string();
    let expected = if lab_local::cgroup_limits().memory {
        "enforced"
    } else {
        "checked after each call"
    };
    assert!(memory.starts_with(expected), "{memory}");
    out_of_memory(&local, &lambda).await;

    // Event: 202 at once. The function cannot finish before the gate exists, and the test makes the
    // gate only after the answer: the answer came first.
    let (gate, done) = (local.home.join("gate"), local.home.join("done"));
    let accepted = invoke(&lambda, json!({"gate": gate, "reached": done}), Event).await;
    assert_eq!(accepted.status_code(), 202);
    assert!(!done.exists());
    std::fs::write(&gate, "open").unwrap();
    poll(Duration::from_secs(60), "the event to run", || {
        done.exists().then_some(())
    })
    .await;

    // A failing event runs three times in all (two retries), then counts as failed.
    let count = local.home.join("count");
    let failing = invoke(&lambda, json!({"fail": true, "count": count}), Event).await;
    assert_eq!(failing.status_code(), 202);
    let events = poll(Duration::from_secs(60), "the retries to end", || {
        let s = local.status();
        (s["async"]["failed"] == 1).then_some(s["async"].clone())
    })
    .await;
    let attempts = std::fs::read_to_string(&count).unwrap();
    let lines: Vec<&str> = attempts.lines().collect();
    assert_eq!(lines.len(), 3, "{attempts}");
    // Lambda keeps the request id across retries.
    assert!(lines.iter().all(|l| *l == lines[0]), "{attempts}");
    let figures = (events["succeeded"].as_u64(), events["retries"].as_u64());
    assert_eq!(figures, (Some(1), Some(2)));
}
