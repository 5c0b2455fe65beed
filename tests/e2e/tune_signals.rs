//! A real `lab tune` stopped by real signals, and its failure policy both ways, on the local stack:
//! afterwards the function's `$LATEST`, aliases and versions are exactly as before (read through the
//! SDK), and the exit code says what happened.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{words, LocalStack};
use crate::tune_local::{create_function, handler_zip, owners_alias, snapshot, Snapshot};

const PING: &str = r#"{"operation":"ping"}"#;

fn spawn_tune(local: &LocalStack, args: &[&str]) -> Child {
    Command::new(crate::common::lab_bin())
        .args(["--local", "--local-port", &local.port.to_string(), "tune"])
        .args(args)
        .env("LAB_HOME", &local.home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The run's phase as the SDK sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// At least one lab alias exists.
    Publishing,
    /// Every size's alias exists and `$LATEST` is back as it was: invocations are under way.
    Measuring,
}

async fn wait_for(lambda: &aws_sdk_lambda::Client, name: &str, phase: Phase, before: &Snapshot) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = snapshot(lambda, name).await;
        let ours = now.aliases.iter().filter(|(a, _)| a.starts_with("lab-tune-")).count();
        let latest_back = (now.memory, &now.description) == (before.memory, &before.description);
        let reached = match phase {
            Phase::Publishing => ours >= 1,
            Phase::Measuring => ours == 4 && latest_back,
        };
        if reached {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{phase:?} never reached: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_leave_the_function_as_it_was() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    create_function(&sdk, "signalled-fn", handler_zip(), 192).await;
    owners_alias(&lambda, "signalled-fn").await;
    let before = snapshot(&lambda, "signalled-fn").await;
    let cases = [
        (libc::SIGTERM, "SIGTERM", Phase::Measuring),
        (libc::SIGHUP, "SIGHUP", Phase::Publishing),
        (libc::SIGINT, "SIGINT", Phase::Measuring),
    ];
    assert_eq!(cases.len(), 3);
    for (signal, name, phase) in cases {
        // Sequential with pauses: minutes of work, stopped long before its end.
        let mut args = words("--function signalled-fn --num 200 --sleep-between-runs 20");
        args.extend(["--payload", PING]);
        let child = spawn_tune(&local, &args);
        wait_for(&lambda, "signalled-fn", phase, &before).await;
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + signal), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted by {name}; $LATEST at 192 MB; removed"
            )),
            "{name}: {stderr}"
        );
        assert_eq!(
            snapshot(&lambda, "signalled-fn").await,
            before,
            "{name} left something behind"
        );
    }
}

/// A function made through the SDK on a stack with a new account's memory cap (3008 MB), and its
/// snapshot.
async fn capped_stack(name: &str) -> (LocalStack, aws_sdk_lambda::Client, Snapshot) {
    let local = LocalStack::start(&["--memory-cap", "3008"]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    create_function(&sdk, name, handler_zip(), 256).await;
    let before = snapshot(&lambda, name).await;
    (local, lambda, before)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_function_fails_the_run_unless_its_error_is_allowed() {
    let (local, lambda, before) = capped_stack("failing-fn").await;
    let nope = r#"{"operation":"nope"}"#;
    // Every call fails: retried twice, then the run fails naming the size and the error.
    let tune = |powers: &'static str| {
        let mut args = words("tune --function failing-fn --num 5 --payload");
        args.extend([nope, "--powers", powers]);
        args
    };
    let out = local.lab(&tune("128,256"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    crate::common::assert_contains_all(
        &stderr,
        &[
            "128 MB failed",
            "BadRequest",
            "3 tries",
            "removed 2 aliases and 2 versions",
        ],
    );
    assert_eq!(snapshot(&lambda, "failing-fn").await, before);
    // The same error type allowed: every call is a measurement.
    let mut allowed = tune("128");
    allowed.extend(["--allowed-exceptions", "BadRequest"]);
    let r = local.lab_json(&allowed);
    assert_eq!(r["powers"][0]["stats"]["allowed_errors"], 5, "{r}");
    assert_eq!(snapshot(&lambda, "failing-fn").await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_that_cannot_be_published_fails_the_run_unless_skipped() {
    let (local, lambda, before) = capped_stack("capped-fn").await;
    let mut args = words("tune --function capped-fn --num 5 --powers 128,3072 --payload");
    args.push(PING);
    let out = local.lab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("3072 MB") && stderr.contains("less than or equal to 3008"),
        "{stderr}"
    );
    assert_eq!(snapshot(&lambda, "capped-fn").await, before);
    let mut skipping = args.clone();
    skipping.push("--skip-failing");
    let r = local.lab_json(&skipping);
    let status: Vec<&str> = r["powers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["ok", "failed"]);
    assert_eq!(r["winner"]["memory_mb"], 128);
    assert_eq!(snapshot(&lambda, "capped-fn").await, before);

    // An unknown key in the input is a one-line error, before anything changes.
    let input = local.home.join("typo.json");
    std::fs::write(&input, r#"{"num": 5, "parallelInvocations": true}"#).unwrap();
    let out = local.lab(&[
        "tune",
        "--function",
        "capped-fn",
        "--input",
        input.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
    assert_eq!((out.status.code(), errors), (Some(1), 1), "{stderr}");
    assert!(
        stderr.contains("unknown field `parallelInvocations`"),
        "{stderr}"
    );
}
