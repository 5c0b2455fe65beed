//! The local stack end to end: the real handler behind the stage URL and Lambda Invoke, API Gateway's
//! error mapping, `lab call`, CloudWatch logs, and the runtime's limits (concurrency, timeout, crash).
//! moto dying, and the state kept across restarts, are in `local_persistence.rs`.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{post, LocalStack};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn tutorial_payloads_and_error_mapping_through_the_stage_url() {
    let local = LocalStack::start(&[]);
    let url = local.up("lab", &[]);

    // Every example event of the tutorial, as written.
    let create: Value = serde_json::from_str(include_str!("../assets/events/create.json")).unwrap();
    let (status, body) = post(&url, &create.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ResponseMetadata"]["HTTPStatusCode"], 200);
    let (status, _) = post(&url, include_str!("../assets/events/create-bob.json")).await;
    assert_eq!(status, 200);
    let (status, body) = post(&url, include_str!("../assets/events/read.json")).await;
    assert_eq!(
        (status, &body["Item"]),
        (200, &json!({"id": "1", "name": "Bob"}))
    );
    let (status, body) = post(&url, include_str!("../assets/events/list.json")).await;
    assert_eq!(status, 200);
    assert_eq!(body["Count"], 2, "{body}");
    let (status, body) = post(&url, include_str!("../assets/events/echo.json")).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"somekey1": "somevalue1", "somekey2": "somevalue2"})
        )
    );
    // The number the Python handler cannot return ("Decimal is not JSON serializable") comes back exact.
    let read_number = json!({"operation": "read", "tableName": "lambda-apigateway", "payload": {"Key": {"id": "1234ABCD"}}});
    let raw = reqwest::Client::new()
        .post(&url)
        .body(read_number.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""number":5"#), "{raw}");

    // Handler errors become API Gateway statuses through the integration responses.
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
        let (status, body) = post(&url, &event.to_string()).await;
        assert_eq!(status, want, "{event} -> {body}");
        assert!(
            body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{body}"
        );
    }
    // A body that is not JSON, an unknown path, an unknown method: as API Gateway answers them.
    let (status, _) = post(&url, "not json").await;
    assert_eq!(status, 400);
    let (status, body) = post(&url.replace("DynamoDBManager", "Nope"), "{}").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("Missing Authentication Token"))
    );
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status().as_u16(), 403);

    // lab call: both transports, typed attributes, update, list --all, errors exit non-zero.
    let out = local.lab_ok(&[
        "call",
        "create",
        "--id",
        "7",
        "--name",
        "Ann",
        "--attr",
        "age:=42",
        "--attr",
        "tags:=[\"a\",\"b\"]",
    ]);
    assert!(out.contains("HTTPStatusCode"), "{out}");
    let read: Value =
        serde_json::from_str(&local.lab_ok(&["call", "read", "--id", "7", "--via", "lambda"]))
            .unwrap();
    assert_eq!(
        read["Item"],
        json!({"id": "7", "name": "Ann", "age": 42, "tags": ["a", "b"]})
    );
    let updated: Value = serde_json::from_str(&local.lab_ok(&[
        "call", "update", "--id", "7", "--set", "name=Eve", "--remove", "age",
    ]))
    .unwrap();
    assert_eq!(
        updated["Attributes"],
        json!({"id": "7", "name": "Eve", "tags": ["a", "b"]})
    );
    let all: Value =
        serde_json::from_str(&local.lab_ok(&["call", "list", "--limit", "1", "--all"])).unwrap();
    assert_eq!(all["Items"].as_array().unwrap().len(), 3, "{all}");
    assert!(all.get("LastEvaluatedKey").is_none());
    let pong = local.lab_ok(&["call", "ping"]);
    assert_eq!(pong.trim(), "\"pong\"");
    let failed = local.lab(&["call", "--event", "/dev/null"]);
    assert!(!failed.status.success());
    let bad = local.lab(&["call", "echo", "--payload", "{not json"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--payload is not JSON"));
    let deleted: Value =
        serde_json::from_str(&local.lab_ok(&["call", "delete", "--id", "7"])).unwrap();
    assert_eq!(deleted["Attributes"]["name"], "Eve");

    // Lambda Invoke with LogType=Tail: a faithful REPORT line; output also lands in CloudWatch Logs.
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let out = lambda
        .invoke()
        .function_name("LambdaFunctionOverHttps")
        .log_type(aws_sdk_lambda::types::LogType::Tail)
        .payload(aws_sdk_lambda::primitives::Blob::new(
            r#"{"operation":"nope"}"#,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let error: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(error["errorType"], "BadRequest");
    let tail = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    let report = tail
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .expect("REPORT line");
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
        let events = logs
            .filter_log_events()
            .log_group_name("/aws/lambda/LambdaFunctionOverHttps")
            .send()
            .await
            .unwrap();
        if events.events().iter().any(|e| {
            e.message()
                .unwrap_or_default()
                .starts_with("REPORT RequestId:")
        }) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "no REPORT line in CloudWatch Logs");
    let missing = lambda
        .invoke()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&missing),
        Some("ResourceNotFoundException")
    );
    local.lab_ok(&["down", "--yes"]);
}

/// A test runtime in Python: sleeps for `{"sleep": s}`, burns `{"spin": s}` of CPU, touches
/// `{"alloc_mb": n}` of memory, exits for `{"crash": true}`, else echoes.
const FIXTURE: &str = r#"#!PYTHON
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    print("got", json.dumps(event), flush=True)
    if event.get("crash"):
        sys.exit(3)
    time.sleep(event.get("sleep", 0))
    hog = b"\x01" * (event.get("alloc_mb", 0) * 1024 * 1024)
    spin_until = time.process_time() + event.get("spin", 0)
    while time.process_time() < spin_until:
        pass
    body = json.dumps({"pid": os.getpid(), "event": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

#[tokio::test(flavor = "multi_thread")]
async fn runtime_limits_timeouts_crashes_and_recovery() {
    let local = LocalStack::start(&["--concurrency", "2"]);
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("python3 for the fixture runtime");
    let zip = common::script_zip(&local.home, &FIXTURE.replace("PYTHON", python));
    local.lab_ok(&[
        "--stack",
        "fx",
        "up",
        "--zip",
        zip.to_str().unwrap(),
        "--timeout",
        "2",
        // A CPU share that keeps the Python fixture's start and exit quick on a busy machine.
        "--memory",
        "1024",
    ]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let invoke = |event: Value| {
        let lambda = lambda.clone();
        async move {
            lambda
                .invoke()
                .function_name("fx-fn")
                .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
                .send()
                .await
        }
    };
    // Warm reuse: the same instance (pid) answers twice in a row.
    let a = invoke(json!({})).await.unwrap();
    let b = invoke(json!({})).await.unwrap();
    let pid = |o: &aws_sdk_lambda::operation::invoke::InvokeOutput| -> u64 {
        serde_json::from_slice::<Value>(o.payload().unwrap().as_ref()).unwrap()["pid"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(pid(&a), pid(&b), "a warm instance must be reused");

    // Concurrency limit 2: a third concurrent invocation is throttled. Lambda answers 429
    // TooManyRequestsException; behind a non-proxy integration API Gateway turns it into a 500
    // (Lambda developer guide, "Handling Lambda errors with an API Gateway API").
    let url = local.lab_json(&[
        "--stack",
        "fx",
        "status",
        "--timeout",
        "2",
        "--memory",
        "1024",
    ])["invoke_url"]
        .as_str()
        .unwrap()
        .to_string();
    let slow = json!({"sleep": 1.5}).to_string();
    let (r1, r2) = tokio::join!(post(&url, &slow), post(&url, &slow));
    assert_eq!((r1.0, r2.0), (200, 200));
    let busy = tokio::spawn({
        let (u, s) = (url.clone(), slow.clone());
        async move { tokio::join!(post(&u, &s), post(&u, &s)) }
    });
    // Wait until the stack itself says both instances are busy (no guessing with a sleep).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while local.status()["busy"].as_u64() != Some(2) {
        assert!(
            std::time::Instant::now() < deadline,
            "the two slow calls never ran together"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = post(&url, "{}").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (500, Some("Internal server error"))
    );
    let throttled = lambda
        .invoke()
        .function_name("fx-fn")
        .customize()
        .config_override(
            aws_sdk_lambda::config::Builder::default()
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&throttled),
        Some("TooManyRequestsException")
    );
    let (x, y) = busy.await.unwrap();
    assert_eq!((x.0, y.0), (200, 200));

    // A timeout kills the instance and answers as Lambda does; through API Gateway it is a 500.
    let timed_out = invoke(json!({"sleep": 5})).await.unwrap();
    assert_eq!(timed_out.function_error(), Some("Unhandled"));
    let doc: Value = serde_json::from_slice(timed_out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(doc["errorType"], "Sandbox.Timedout");
    assert!(doc["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Task timed out after 2.00 seconds"));
    let (status, _) = post(&url, &json!({"sleep": 5}).to_string()).await;
    assert_eq!(status, 500);

    // A crash: Runtime.ExitError now, and the next call gets a fresh instance.
    let before = pid(&invoke(json!({})).await.unwrap());
    let crashed = invoke(json!({"crash": true})).await.unwrap();
    let doc: Value = serde_json::from_slice(crashed.payload().unwrap().as_ref()).unwrap();
    assert_eq!(doc["errorType"], "Runtime.ExitError", "{doc}");
    assert!(doc["errorMessage"]
        .as_str()
        .unwrap()
        .contains("exit status 3"));
    let after = invoke(json!({})).await.unwrap();
    assert!(after.function_error().is_none());
    assert_ne!(pid(&after), before);

    // A memory change retires warm instances: the next call is a cold start with Init Duration.
    lambda
        .update_function_configuration()
        .function_name("fx-fn")
        .memory_size(512)
        .send()
        .await
        .unwrap();
    // As on Lambda, invocations keep the old configuration until the update is Successful.
    wait_for_update(&lambda).await;
    let cold = lambda
        .invoke()
        .function_name("fx-fn")
        .log_type(aws_sdk_lambda::types::LogType::Tail)
        .payload(aws_sdk_lambda::primitives::Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let tail = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(cold.log_result().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(tail.contains("Memory Size: 512 MB"), "{tail}");
    assert!(tail.contains("Init Duration: "), "{tail}");
    assert!(
        tail.contains("got {}"),
        "function output belongs in the log tail: {tail}"
    );

    // CPU follows memory (1769 MB = one vCPU) where cgroups allow; otherwise the stack says so.
    let status: Value = reqwest::get(format!("{}/_lab/status", local.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cpu = status["cpu"].as_str().unwrap().to_string();
    if cpu.starts_with("proportional") {
        let mut wall = Vec::new();
        for mb in [256, 1792] {
            lambda
                .update_function_configuration()
                .function_name("fx-fn")
                .memory_size(mb)
                .send()
                .await
                .unwrap();
            wait_for_update(&lambda).await;
            invoke(json!({})).await.unwrap(); // start the instance outside the measurement
            let started = std::time::Instant::now();
            let r = invoke(json!({"spin": 0.2})).await.unwrap();
            assert!(r.function_error().is_none());
            wall.push(started.elapsed().as_secs_f64());
        }
        // 256 MB gets 14% of a CPU: 0.2 s of work takes at least 1.4 s, however idle the machine (other
        // load only slows it more); at 1792 MB, a whole CPU, it takes about 0.2 s.
        assert!(wall[0] > 0.8, "256 MB was not throttled: {wall:?} ({cpu})");
        assert!(
            wall[1] < wall[0] / 2.0,
            "more memory did not mean more CPU: {wall:?} ({cpu})"
        );
    } else {
        assert!(cpu.starts_with("unthrottled"), "{cpu}");
    }

    // Going past the memory size is Lambda's Runtime.OutOfMemory, and the instance is replaced. (1 GB:
    // enough CPU share to fill the memory quickly; a long timeout for a busy machine.)
    lambda
        .update_function_configuration()
        .function_name("fx-fn")
        .memory_size(1024)
        .timeout(60)
        .send()
        .await
        .unwrap();
    // Until then the previous configuration (1792 MB, which 1100 MB fits in) still serves.
    wait_for_update(&lambda).await;
    let before = pid(&invoke(json!({})).await.unwrap());
    let oom = invoke(json!({"alloc_mb": 1100})).await.unwrap();
    let doc: Value = serde_json::from_slice(oom.payload().unwrap().as_ref()).unwrap();
    assert_eq!(doc["errorType"], "Runtime.OutOfMemory", "{doc}");
    let after = invoke(json!({})).await.unwrap();
    assert_ne!(
        pid(&after),
        before,
        "the instance that ran out of memory must not be reused"
    );
}

/// Polls until the function's last update is Successful (strict mode keeps it InProgress a moment).
async fn wait_for_update(lambda: &aws_sdk_lambda::Client) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let c = lambda
            .get_function_configuration()
            .function_name("fx-fn")
            .send()
            .await
            .unwrap();
        if c.last_update_status().map(|s| s.as_str()) == Some("Successful") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the update never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_propagation_delay_is_retried_by_up() {
    // The gateway refuses a new role for 3 s, as AWS does while IAM propagates; up must wait it out.
    let local = LocalStack::start(&["--iam-delay-ms", "3000"]);
    // A small prebuilt package, so CreateFunction follows CreateRole within the delay.
    let zip = common::script_zip(&local.home, "#!/bin/sh\nexit 1\n");
    let report = local.lab_json(&["--stack", "iam", "up", "--zip", zip.to_str().unwrap()]);
    let function = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "function")
        .unwrap()
        .clone();
    assert_eq!(function["action"], "created");
    let status: Value = reqwest::get(format!("{}/_lab/status", local.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status["iam_refusals"].as_u64().unwrap() >= 1,
        "the retry path was not taken: {status}"
    );
}
