//! `lab invoke` (Lambda Invoke with call's shorthands, the log tail and its REPORT figures, function
//! errors, Event invocations) and `lab teardown` (`down` under the user's word), on a real local stack.

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::{explain, LocalStack};
use serde_json::{json, Value};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `lab -o json --stack STACK invoke ARGS...`: the whole outcome as one document.
fn invoke_json(local: &LocalStack, stack: &str, args: &[&str]) -> Value {
    let mut all = vec!["--stack", stack, "invoke"];
    all.extend_from_slice(args);
    local.lab_json(&all)
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_returns_each_operations_response() {
    let local = LocalStack::start(&[]);
    let stack = "invk";
    local.up(stack, &[]);

    let ping = local.lab_ok(&["--stack", stack, "invoke", "ping"]);
    assert_eq!(ping.trim(), "\"pong\"");
    let created = invoke_json(&local, stack, &["create", "--id", "1", "--name", "Bob"]);
    assert_eq!(created["status_code"], 200, "{created}");
    assert_eq!(created["function_error"], Value::Null, "{created}");
    assert_eq!(created["executed_version"], "$LATEST", "{created}");
    assert!(created["payload"].is_object(), "{created}");
    let read = invoke_json(&local, stack, &["read", "--id", "1"]);
    assert_eq!(read["payload"]["Item"], json!({"id": "1", "name": "Bob"}));
    let updated = invoke_json(
        &local,
        stack,
        &[
            "update",
            "--id",
            "1",
            "--set",
            "name=Alice",
            "--set",
            "n:=5",
        ],
    );
    assert_eq!(
        updated["payload"]["Attributes"]["name"], "Alice",
        "{updated}"
    );
    assert_eq!(updated["payload"]["Attributes"]["n"].to_string(), "5");
    let listed = invoke_json(&local, stack, &["list"]);
    assert_eq!(listed["payload"]["Count"], 1, "{listed}");
    assert_eq!(listed["payload"]["Items"][0]["name"], "Alice");
    let echoed = invoke_json(&local, stack, &["echo", "--payload", r#"{"a":[1,2]}"#]);
    assert_eq!(echoed["payload"], json!({"a": [1, 2]}));
    let deleted = invoke_json(&local, stack, &["delete", "--id", "1"]);
    assert_eq!(
        deleted["payload"]["Attributes"]["name"], "Alice",
        "{deleted}"
    );
    let gone = invoke_json(&local, stack, &["read", "--id", "1"]);
    assert!(gone["payload"].get("Item").is_none(), "{gone}");

    // The event inline, from a file, and the function named explicitly (by name and by ARN).
    let inline = local.lab_ok(&["--stack", stack, "invoke", r#"{"operation":"ping"}"#]);
    assert_eq!(inline.trim(), "\"pong\"");
    let file = local.home.join("echo.json");
    std::fs::write(&file, r#"{"operation":"echo","payload":{"from":"file"}}"#).unwrap();
    let from_file = invoke_json(&local, stack, &["--event", file.to_str().unwrap()]);
    assert_eq!(from_file["payload"], json!({"from": "file"}));
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:invk-fn";
    for function in ["invk-fn", arn] {
        let named = local.lab_ok(&["invoke", "--function", function, "ping"]);
        assert_eq!(named.trim(), "\"pong\"", "--function {function}");
    }
    // Flags after the operation, as `call` takes them; one way to give the event only.
    let after = local.lab(&["--stack", stack, "invoke", "ping", "--function", "invk-fn"]);
    assert!(after.status.success(), "{}", explain(&after));
    // A real, valid event file and an inline event: refused for being two, not for the file.
    let file = local.home.join("ping.json");
    std::fs::write(&file, r#"{"operation":"ping"}"#).unwrap();
    let file = file.to_str().unwrap();
    let alone = local.lab(&["--stack", stack, "invoke", "--event", file]);
    assert!(alone.status.success(), "{}", explain(&alone));
    // clap refuses the pair before lab runs (a usage error, exit 2); an operation and a file get
    // lab's own one-line refusal.
    let both = local.lab(&["--stack", stack, "invoke", "--event", file, "{}"]);
    assert_eq!(both.status.code(), Some(2), "{}", explain(&both));
    let refusal = "'--event <FILE|->' cannot be used with '[EVENT_JSON]'";
    assert!(text(&both.stderr).contains(refusal), "{}", explain(&both));
    let op_and_file = local.lab(&["--stack", stack, "invoke", "--event", file, "ping"]);
    assert!(!op_and_file.status.success(), "{}", explain(&op_and_file));
    let refusal = "give the event one way: an operation, inline JSON, or --event, not two";
    assert!(
        text(&op_and_file.stderr).contains(refusal),
        "{}",
        explain(&op_and_file)
    );

    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_log_errors_and_event_invocations() {
    let local = LocalStack::start(&[]);
    let stack = "invlog";
    local.up(stack, &[]);
    assert_log_tail_and_report(&local, stack);
    assert_function_errors(&local, stack);
    assert_event_invocations(&local, stack);

    // A missing function is the call's failure, named, not a function error.
    let missing = local.lab(&["invoke", "--function", "no-such-fn", "ping"]);
    assert!(!missing.status.success());
    let named = text(&missing.stderr).contains("ResourceNotFoundException");
    assert!(named, "{}", explain(&missing));

    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

/// --log: the tail with its REPORT line on stderr, the figures laid out, the payload alone on stdout.
fn assert_log_tail_and_report(local: &LocalStack, stack: &str) {
    let logged = local.lab(&["--stack", stack, "invoke", "--log", "ping"]);
    assert!(logged.status.success(), "{}", explain(&logged));
    let err = text(&logged.stderr);
    assert!(err.contains("REPORT RequestId:"), "{err}");
    for figure in [
        "duration ",
        "billed duration ",
        "memory size ",
        "max memory used ",
        "init duration ",
    ] {
        assert!(err.contains(figure), "no {figure:?} in {err}");
    }
    assert!(err.contains("128 MB"), "{err}");
    assert_eq!(text(&logged.stdout).trim(), "\"pong\"");
    let doc = invoke_json(local, stack, &["ping"]);
    assert!(doc["log"].as_str().unwrap().contains("REPORT"), "{doc}");
    assert!(
        doc["report"]["duration_ms"].as_f64().unwrap() >= 0.0,
        "{doc}"
    );
    assert_eq!(doc["report"]["memory_size_mb"], 128, "{doc}");
}

/// A function error: non-zero exit, its type and message on one stderr line.
fn assert_function_errors(local: &LocalStack, stack: &str) {
    let bad_key = r#"{"operation":"read","tableName":"invlog-table","payload":{"Key":{"id":1}}}"#;
    let failed = local.lab(&["--stack", stack, "invoke", bad_key]);
    assert!(!failed.status.success(), "{}", explain(&failed));
    let err = text(&failed.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("BadRequest: payload.Key.id must be a string"),
        "{err}"
    );
    assert!(failed.stdout.is_empty(), "{}", explain(&failed));
    let rejected = local.lab(&[
        "-o",
        "json",
        "--stack",
        stack,
        "invoke",
        r#"{"operation":"nope"}"#,
    ]);
    assert!(!rejected.status.success(), "{}", explain(&rejected));
    let doc: Value = serde_json::from_slice(&rejected.stdout).unwrap();
    assert_eq!(doc["function_error"], "Unhandled", "{doc}");
    assert_eq!(doc["error"]["error_type"], "BadRequest", "{doc}");
    assert_eq!(doc["payload"]["errorType"], "BadRequest", "{doc}");
    assert!(text(&rejected.stderr).contains("BadRequest:"));
}

/// Event: accepted with 202 and no payload.
fn assert_event_invocations(local: &LocalStack, stack: &str) {
    let queued = invoke_json(local, stack, &["--invocation-type", "Event", "ping"]);
    assert_eq!(queued["status_code"], 202, "{queued}");
    assert_eq!(queued["payload"], Value::Null, "{queued}");
    let queued = local.lab(&[
        "--stack",
        stack,
        "invoke",
        "--invocation-type",
        "event",
        "ping",
    ]);
    assert!(queued.status.success(), "{}", explain(&queued));
    assert!(queued.stdout.is_empty() && text(&queued.stderr).contains("202"));
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_removes_a_stack_as_down_does() {
    let local = LocalStack::start(&[]);
    let stack = "tdown";
    local.up(stack, &[]);
    local.assert_status(stack, &[], 0);

    // Same confirmation as down: without --yes and without a terminal, nothing is deleted.
    let refused = local.lab(&["--stack", stack, "teardown"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--yes"),
        "{}",
        explain(&refused)
    );
    local.assert_status(stack, &[], 0);

    let report = local.lab_json(&["--stack", stack, "teardown", "--yes"]);
    assert!(report["left"].as_array().unwrap().is_empty(), "{report}");
    // Every resource up made, each deleted: the list first, so an empty one cannot pass.
    let mut deleted: Vec<(&str, &str)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
            )
        })
        .collect();
    deleted.sort();
    let expected = [
        "function",
        "log group",
        "permission",
        "policy",
        "rest api",
        "role",
        "table",
    ];
    assert_eq!(deleted, expected.map(|r| (r, "deleted")), "{report}");
    local.assert_status(stack, &[], 2);
}

#[test]
fn help_and_completions_name_invoke_and_teardown() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::common::lab_bin())
            .args(args)
            .output()
            .expect("run lab");
        assert!(out.status.success(), "{}", explain(&out));
        text(&out.stdout)
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("invoke") && bash.contains("teardown"));
    assert!(bash.contains("--invocation-type"));
    let help = run(&["--help"]);
    assert!(
        help.contains("invoke") && help.contains("[alias: teardown]"),
        "{help}"
    );
}

/// A stand-in for AWS that answers STS and then `status` to every Invoke (`throttle_first`: a 429
/// once, then 200), counting the Invoke requests.
async fn fake_aws(status: u16, throttle_first: bool) -> (String, Arc<AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let counter = counter.clone();
        async move {
            let mut headers = HeaderMap::new();
            if !uri.path().ends_with("/invocations") {
                let sts = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
                headers.insert("content-type", "text/xml".parse().unwrap());
                return (StatusCode::OK, headers, sts.to_string());
            }
            let seen = counter.fetch_add(1, Ordering::SeqCst);
            let (code, kind) = match (throttle_first, seen) {
                (true, 0) => (429, "TooManyRequestsException"),
                (true, _) => (200, ""),
                _ => (status, "ServiceException"),
            };
            if code == 200 {
                return (StatusCode::OK, headers, "\"pong\"".to_string());
            }
            headers.insert("x-amzn-errortype", kind.parse().unwrap());
            let body = format!(r#"{{"Type":"Service","message":"fake {kind}"}}"#);
            (StatusCode::from_u16(code).unwrap(), headers, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

fn lab_against(endpoint: &str) -> Output {
    lab_against_with(endpoint, &["invoke", "ping"])
}

fn lab_against_with(endpoint: &str, verb: &[&str]) -> Output {
    std::process::Command::new(crate::common::lab_bin())
        .args(["--endpoint-url", endpoint, "--region", "us-east-1"])
        .args(verb)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run lab")
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_retries_throttling_only() {
    // A 502 from Invoke is the function's set-up failing (or Lambda's, after the handler may have
    // run): one request, not the SDK's six.
    let (url, hits) = fake_aws(502, false).await;
    let out = tokio::task::spawn_blocking(move || lab_against(&url)).await.unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ServiceException"),
        "{}",
        explain(&out)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{}", explain(&out));
    // A throttle means the function never ran: retried, and the second try answers.
    let (url, hits) = fake_aws(200, true).await;
    let out = tokio::task::spawn_blocking(move || lab_against(&url)).await.unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(text(&out.stdout).trim(), "\"pong\"");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn call_via_lambda_retries_throttling_only() {
    // (6) `call --via lambda` as `invoke`: a 5xx is sent once (a create must not run twice)...
    let call = ["call", "--via", "lambda", "ping"];
    let (url, hits) = fake_aws(500, false).await;
    let out = tokio::task::spawn_blocking(move || lab_against_with(&url, &call))
        .await
        .unwrap();
    assert!(!out.status.success(), "{}", explain(&out));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{}", explain(&out));
    // ...and a throttle, which never ran the function, is sent again.
    let (url, hits) = fake_aws(200, true).await;
    let out = tokio::task::spawn_blocking(move || lab_against_with(&url, &call))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
