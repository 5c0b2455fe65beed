//! The built `bootstrap` under the crate's Lambda Runtime API (the one `lab`'s local stack serves), with
//! DynamoDB on moto: proves the binary's wiring (runtime loop, env-configured SDK client, error
//! reporting), not just the library, and Lambda's response limit over real HTTP.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::moto::{client, fresh_table, moto};
use handler::runtime_api::{Outcome, RuntimeApi, RESPONSE_LIMIT, RESPONSE_TOO_LARGE};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(60);

/// An endpoint nothing listens on, for tests whose events never reach DynamoDB (`echo`, `ping`).
const NO_AWS: &str = "http://127.0.0.1:9";

/// Starts `bootstrap` against `api` and the AWS `endpoint`, with the environment Lambda would give it.
fn spawn_bootstrap(api: &RuntimeApi, endpoint: &str, allowed_table: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "lab-handler-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/lab-handler-test")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test-stream")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(table) = allowed_table {
        cmd.env(handler::ALLOWED_TABLE_ENV, table);
    }
    cmd.spawn().expect("spawn bootstrap")
}

/// A Runtime API and a `bootstrap` started under it (see [`spawn_bootstrap`]).
async fn start(endpoint: &str, allowed_table: Option<&str>) -> (RuntimeApi, Child) {
    let api = RuntimeApi::start().await.expect("runtime API");
    let child = spawn_bootstrap(&api, endpoint, allowed_table);
    (api, child)
}

async fn invoke(api: &RuntimeApi, event: Value) -> Outcome {
    api.invoke(event.to_string(), TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{event}: {e}"))
}

fn json(outcome: &Outcome) -> Value {
    outcome.json().unwrap_or_else(|e| panic!("not JSON ({e}): {outcome:?}"))
}

fn error_body(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Error { .. } => json(outcome),
        Outcome::Response(_) => panic!("expected an error, got {}", json(outcome)),
    }
}

/// Invokes `event`, which must fail with `error_type` and a message that starts with `message`.
async fn assert_fails_as(api: &RuntimeApi, event: Value, error_type: &str, message: &str) {
    let body = error_body(&invoke(api, event).await);
    assert_eq!(body["errorType"], error_type, "{body}");
    let text = body["errorMessage"].as_str().expect("errorMessage");
    assert!(text.starts_with(message), "{body}");
}

async fn stop(mut child: Child) {
    // The bootstrap never exits on its own (it loops on /next), so end it explicitly.
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

#[tokio::test]
async fn bootstrap_serves_ping_and_reports_typed_errors() {
    let (api, child) = start(&moto().url, None).await;

    let pong = invoke(&api, json!({"operation": "ping"})).await;
    assert_eq!(pong, Outcome::Response("\"pong\"".into()));

    let bogus = json!({"operation": "bogus", "tableName": "t", "payload": {}});
    let unknown = "BadRequest: Unrecognized operation \"bogus\"";
    assert_fails_as(&api, bogus, "BadRequest", unknown).await;

    // A body that is not JSON at all is reported, and the function keeps serving.
    let garbage = api.invoke("{not json", TIMEOUT).await.expect("answer");
    assert!(matches!(garbage, Outcome::Error { .. }), "{garbage:?}");
    let again = invoke(
        &api,
        json!({"operation": "echo", "payload": {"still": "alive"}}),
    )
    .await;
    assert_eq!(json(&again), json!({"still": "alive"}));

    assert!(api.init_error().is_none(), "{:?}", api.init_error());
    stop(child).await;
}

#[tokio::test]
async fn bootstrap_reaches_dynamodb_through_the_environment() {
    let sdk = client();
    let table = fresh_table(&sdk, "runtime").await;
    let (api, child) = start(&moto().url, Some(&table)).await;

    let item = r#"{"id": "r1", "price": 12345678901234567890.5, "qty": 5}"#;
    let create = format!(
        r#"{{"operation": "create", "tableName": "{table}", "payload": {{"Item": {item}}}}}"#
    );
    let created = api.invoke(create, TIMEOUT).await.expect("create answered");
    assert!(matches!(created, Outcome::Response(_)), "{created:?}");
    assert_eq!(json(&created)["ResponseMetadata"]["HTTPStatusCode"], 200);

    let read = invoke(
        &api,
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "r1"}}}),
    )
    .await;
    let Outcome::Response(body) = &read else {
        panic!("read failed: {read:?}")
    };
    // Check the raw bytes the runtime posted: the numbers must be the exact text that went in.
    let text = String::from_utf8_lossy(body);
    assert!(text.contains(r#""price":12345678901234567890.5"#), "{text}");
    assert!(text.contains(r#""qty":5"#), "{text}");

    // LAB_ALLOWED_TABLE is honoured by the binary.
    let other = json!({"operation": "list", "tableName": "someone-elses-table", "payload": {}});
    assert_fails_as(&api, other, "Forbidden", "Forbidden: ").await;

    // A Conflict from DynamoDB comes out with its type too.
    let guarded = json!({"operation": "create", "tableName": table, "payload": {
        "Item": {"id": "r1"}, "ConditionExpression": "attribute_not_exists(id)"
    }});
    assert_fails_as(&api, guarded, "Conflict", "Conflict: ").await;

    stop(child).await;
}

/// Invokes an `echo` whose answer, the payload string as JSON, is exactly `size` bytes.
async fn echo_of_size(api: &RuntimeApi, size: usize) -> Outcome {
    let text = "x".repeat(size - 2); // the answer adds the two quotes
    let event = json!({"operation": "echo", "payload": text}).to_string();
    api.invoke(event, TIMEOUT).await.expect("answer")
}

/// The error type of an invocation that must have failed.
fn failed_type(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Error { error_type, .. } => error_type,
        Outcome::Response(body) => {
            panic!("expected an error, got {} bytes of response", body.len())
        }
    }
}

#[tokio::test]
async fn a_response_of_exactly_the_limit_passes() {
    let (api, child) = start(NO_AWS, None).await;

    let outcome = echo_of_size(&api, RESPONSE_LIMIT).await;
    let Outcome::Response(body) = &outcome else {
        panic!(
            "expected the response, got {}",
            String::from_utf8_lossy(outcome.body())
        )
    };
    assert_eq!(body.len(), RESPONSE_LIMIT);
    assert!(
        body.iter().skip(1).take(64).all(|b| *b == b'x'),
        "the echo came back changed"
    );
    stop(child).await;
}

#[tokio::test]
async fn a_response_one_byte_past_the_limit_fails_as_response_size_too_large() {
    let (api, child) = start(NO_AWS, None).await;

    let outcome = echo_of_size(&api, RESPONSE_LIMIT + 1).await;
    assert_eq!(failed_type(&outcome), RESPONSE_TOO_LARGE);
    let body = error_body(&outcome);
    assert_eq!(body["errorType"], RESPONSE_TOO_LARGE, "{body}");
    assert_eq!(
        body["errorMessage"],
        format!(
            "Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."
        ),
    );

    // The runtime was told 413 and goes on serving, as a warm Lambda environment does.
    let pong = invoke(&api, json!({"operation": "ping"})).await;
    assert_eq!(pong, Outcome::Response("\"pong\"".into()));
    stop(child).await;
}

#[tokio::test]
async fn a_response_far_past_the_limit_fails_too_rather_than_hanging() {
    let (api, child) = start(NO_AWS, None).await;

    // Past what the server reads in at all: the invocation must still end at once, as too large.
    let outcome = echo_of_size(&api, 3 * RESPONSE_LIMIT).await;
    assert_eq!(failed_type(&outcome), RESPONSE_TOO_LARGE);
    stop(child).await;
}
