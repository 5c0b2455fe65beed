//! The local stack end to end: the real handler behind the stage URL and Lambda Invoke, API Gateway's
//! error mapping, `lab call`, CloudWatch logs, and the runtime's limits (concurrency, timeout, crash,
//! CPU and memory). moto dying, and the state kept across restarts, are in `local_persistence.rs`.

use std::time::Duration;

use crate::common::fixture::{payload, pid, Fixture, FX_SETTINGS};
use crate::common::{post, LocalStack};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn tutorial_payloads_and_error_mapping_through_the_stage_url() {
    let local = LocalStack::start(&[]);
    let url = local.up("lab", &[]);
    assert_tutorial_events(&url).await;
    assert_errors_map_to_statuses(&url).await;
    assert_lab_call(&local);
    assert_invoke_tail_and_logs(&local).await;
    local.lab_ok(&["down", "--yes"]);
}

/// Every example event of the tutorial, as written, through the stage URL.
async fn assert_tutorial_events(url: &str) {
    let create: Value =
        serde_json::from_str(include_str!("../../assets/events/create.json")).unwrap();
    let (status, body) = post(url, &create.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ResponseMetadata"]["HTTPStatusCode"], 200);
    let (status, _) = post(url, include_str!("../../assets/events/create-bob.json")).await;
    assert_eq!(status, 200);
    let (status, body) = post(url, include_str!("../../assets/events/read.json")).await;
    assert_eq!(
        (status, &body["Item"]),
        (200, &json!({"id": "1", "name": "Bob"}))
    );
    let (status, body) = post(url, include_str!("../../assets/events/list.json")).await;
    assert_eq!(status, 200);
    assert_eq!(body["Count"], 2, "{body}");
    let (status, body) = post(url, include_str!("../../assets/events/echo.json")).await;
    let echoed = json!({"somekey1": "somevalue1", "somekey2": "somevalue2"});
    assert_eq!((status, body), (200, echoed));
    // The number the Python handler cannot return ("Decimal is not JSON serializable") comes back exact.
    let read_number = json!({"operation": "read", "tableName": "lambda-apigateway", "payload": {"Key": {"id": "1234ABCD"}}});
    let raw = reqwest::Client::new()
        .post(url)
        .body(read_number.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""number":5"#), "{raw}");
}

/// Handler errors become API Gateway statuses through the integration responses; a body that is
/// not JSON, an unknown path, an unknown method are answered as API Gateway answers them.
async fn assert_errors_map_to_statuses(url: &str) {
    let cases = [
        (
            json!({"operation": "nope", "tableName": "lambda-apigateway", "payload": {}}),
            400,
            "Unrecognized operation \"nope\"",
        ),
        (
            json!({"operation": "read", "tableName": "lambda-apigateway", "payload": {"Key": {}}}),
            400,
            "id",
        ),
        (
            json!({"operation": "read", "tableName": "someone-elses", "payload": {"Key": {"id": "1"}}}),
            403,
            "someone-elses",
        ),
        (
            json!({"operation": "create", "tableName": "lambda-apigateway", "payload": {"Item": {"id": "1"}, "ConditionExpression": "attribute_not_exists(id)"}}),
            409,
            "Conflict",
        ),
    ];
    for (event, want, needle) in cases {
        let (status, body) = post(url, &event.to_string()).await;
        assert_eq!(status, want, "{event} -> {body}");
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}");
    }
    let (status, _) = post(url, "not json").await;
    assert_eq!(status, 400);
    let (status, body) = post(&url.replace("DynamoDBManager", "Nope"), "{}").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("Missing Authentication Token"))
    );
    let get = reqwest::get(url).await.unwrap();
    assert_eq!(get.status().as_u16(), 403);
}

/// `lab call ARGS...`'s output, as JSON.
fn call_json(local: &LocalStack, args: &[&str]) -> Value {
    let out = local.lab_ok(args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("lab {args:?} printed no JSON ({e}): {out}"))
}

/// lab call: both transports, typed attributes, update, list --all, errors exit non-zero.
fn assert_lab_call(local: &LocalStack) {
    let mut create = crate::common::words("call create --id 7 --name Ann --attr age:=42 --attr");
    create.push("tags:=[\"a\",\"b\"]");
    let out = local.lab_ok(&create);
    assert!(out.contains("HTTPStatusCode"), "{out}");
    let read = call_json(
        local,
        &crate::common::words("call read --id 7 --via lambda"),
    );
    let ann = json!({"id": "7", "name": "Ann", "age": 42, "tags": ["a", "b"]});
    assert_eq!(read["Item"], ann);
    let update = crate::common::words("call update --id 7 --set name=Eve --remove age");
    let updated = call_json(local, &update);
    let eve = json!({"id": "7", "name": "Eve", "tags": ["a", "b"]});
    assert_eq!(updated["Attributes"], eve);
    let all = call_json(local, &crate::common::words("call list --limit 1 --all"));
    assert_eq!(all["Items"].as_array().unwrap().len(), 3, "{all}");
    assert!(all.get("LastEvaluatedKey").is_none());
    let pong = local.lab_ok(&["call", "ping"]);
    assert_eq!(pong.trim(), "\"pong\"");
    let failed = local.lab(&["call", "--event", "/dev/null"]);
    assert!(!failed.status.success());
    let bad = local.lab(&["call", "echo", "--payload", "{not json"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--payload is not JSON"));
    let deleted = call_json(local, &crate::common::words("call delete --id 7"));
    assert_eq!(deleted["Attributes"]["name"], "Eve");
}

/// The log tail of an invocation made with `LogType=Tail`.
fn log_tail(out: &InvokeOutput) -> String {
    let tail = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().expect("a log tail"))
        .unwrap();
    String::from_utf8(tail).unwrap()
}

/// Invokes `name` with `event` and `LogType=Tail`.
async fn invoke_with_tail(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    event: &str,
) -> InvokeOutput {
    lambda
        .invoke()
        .function_name(name)
        .log_type(LogType::Tail)
        .payload(Blob::new(event))
        .send()
        .await
        .unwrap()
}

/// Lambda Invoke with LogType=Tail: a faithful REPORT line; output also lands in CloudWatch Logs.
async fn assert_invoke_tail_and_logs(local: &LocalStack) {
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let out = invoke_with_tail(
        &lambda,
        "LambdaFunctionOverHttps",
        r#"{"operation":"nope"}"#,
    )
    .await;
    assert_eq!(out.function_error(), Some("Unhandled"));
    assert_eq!(payload(&out)["errorType"], "BadRequest");
    let tail = log_tail(&out);
    let report = tail.lines().find(|l| l.starts_with("REPORT RequestId: ")).expect("REPORT line");
    for field in [
        "\tDuration: ",
        " ms\tBilled Duration: ",
        "\tMemory Size: 128 MB\tMax Memory Used: ",
    ] {
        assert!(report.contains(field), "{report}");
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let mut found = false;
    for _ in 0..50 {
        let group = "/aws/lambda/LambdaFunctionOverHttps";
        let events = logs.filter_log_events().log_group_name(group).send().await.unwrap();
        let is_report = |e: &aws_sdk_cloudwatchlogs::types::FilteredLogEvent| {
            e.message().unwrap_or_default().starts_with("REPORT RequestId:")
        };
        if events.events().iter().any(is_report) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "no REPORT line in CloudWatch Logs");
    let missing = lambda.invoke().function_name("nope").send().await.unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_limits_timeouts_crashes_and_recovery() {
    let fx = Fixture::start(&["--concurrency", "2"]).await;
    // Warm reuse: the same instance (pid) answers twice in a row.
    assert_eq!(
        fx.pid().await,
        fx.pid().await,
        "a warm instance must be reused"
    );
    let mut status = vec!["--stack", "fx", "status"];
    status.extend(FX_SETTINGS);
    let url = fx.local.lab_json(&status)["invoke_url"].as_str().unwrap().to_string();
    assert_throttled_past_the_limit(&fx, &url).await;
    assert_timeout_and_crash(&fx, &url).await;
    assert_memory_change_is_a_cold_start(&fx).await;
    // The CPU share is measured by cpu_follows_memory_where_cgroups_are_writable; here the stack
    // must say what this machine allows (the probe a starting stack runs).
    let cpu = fx.local.status()["cpu"].as_str().unwrap().to_string();
    let expected = if lab_local::cgroup_limits().cpu {
        "proportional"
    } else {
        "unthrottled"
    };
    assert!(cpu.starts_with(expected), "{cpu}");
    assert_out_of_memory_replaces_the_instance(&fx).await;
}

/// Concurrency limit 2: a third concurrent invocation is throttled. Lambda answers 429
/// TooManyRequestsException; behind a non-proxy integration API Gateway turns it into a 500
/// (Lambda developer guide, "Handling Lambda errors with an API Gateway API").
async fn assert_throttled_past_the_limit(fx: &Fixture, url: &str) {
    let slow = json!({"sleep": 1.5}).to_string();
    let (r1, r2) = tokio::join!(post(url, &slow), post(url, &slow));
    assert_eq!((r1.0, r2.0), (200, 200));
    let busy = tokio::spawn({
        let (u, s) = (url.to_string(), slow.clone());
        async move { tokio::join!(post(&u, &s), post(&u, &s)) }
    });
    // Wait until the stack itself says both instances are busy (no guessing with a sleep).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fx.local.status()["busy"].as_u64() != Some(2) {
        let late = std::time::Instant::now() >= deadline;
        assert!(!late, "the two slow calls never ran together");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = post(url, "{}").await;
    let message = body["message"].as_str();
    assert_eq!((status, message), (500, Some("Internal server error")));
    let no_retries = aws_sdk_lambda::Client::new(&fx.local.sdk_without_retries().await);
    let throttled = no_retries.invoke().function_name("fx-fn").send().await.unwrap_err();
    assert_eq!(throttled.code(), Some("TooManyRequestsException"));
    let (x, y) = busy.await.unwrap();
    assert_eq!((x.0, y.0), (200, 200));
}

/// A timeout kills the instance and answers as Lambda does (through API Gateway, a 500); a crash is
/// Runtime.ExitError, and the next call gets a fresh instance.
async fn assert_timeout_and_crash(fx: &Fixture, url: &str) {
    let timed_out = fx.invoke(json!({"sleep": 5})).await;
    assert_eq!(timed_out.function_error(), Some("Unhandled"));
    let doc = payload(&timed_out);
    assert_eq!(doc["errorType"], "Sandbox.Timedout");
    let message = doc["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("Task timed out after 2.00 seconds"),
        "{doc}"
    );
    let (status, _) = post(url, &json!({"sleep": 5}).to_string()).await;
    assert_eq!(status, 500);

    let before = fx.pid().await;
    let doc = payload(&fx.invoke(json!({"crash": true})).await);
    assert_eq!(doc["errorType"], "Runtime.ExitError", "{doc}");
    let message = doc["errorMessage"].as_str().unwrap();
    assert!(message.contains("exit status 3"), "{doc}");
    let after = fx.invoke(json!({})).await;
    assert!(after.function_error().is_none());
    assert_ne!(pid(&after), before);
}

/// A memory change retires warm instances: the next call is a cold start with Init Duration.
async fn assert_memory_change_is_a_cold_start(fx: &Fixture) {
    fx.configure(512, None).await;
    let tail = log_tail(&invoke_with_tail(&fx.lambda, "fx-fn", "{}").await);
    assert!(tail.contains("Memory Size: 512 MB"), "{tail}");
    assert!(tail.contains("Init Duration: "), "{tail}");
    let output = tail.contains("got {}");
    assert!(output, "function output belongs in the log tail: {tail}");
}

/// Going past the memory size is Lambda's Runtime.OutOfMemory, and the instance is replaced. (1 GB:
/// enough CPU share to fill the memory quickly; a long timeout for a busy machine.)
async fn assert_out_of_memory_replaces_the_instance(fx: &Fixture) {
    fx.configure(1024, Some(60)).await;
    let before = fx.pid().await;
    let oom = fx.invoke(json!({"alloc_mb": 1100})).await;
    assert_eq!(
        payload(&oom)["errorType"],
        "Runtime.OutOfMemory",
        "{}",
        payload(&oom)
    );
    let after = fx.pid().await;
    assert_ne!(
        after, before,
        "the instance that ran out of memory must not be reused"
    );
}
