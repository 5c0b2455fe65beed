//! Strict mode, behaviour by behaviour: each test shows the local stack answering as AWS does
//! (read back through the SDK, as any client would see it) and `lab` getting through it. The
//! stack's refusal counters prove each behaviour was exercised, not skipped.

use std::process::{Command, Stdio};

use crate::common::aws::{assert_error_code, create_table, function_config};
use crate::common::{change, LocalStack};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn tables_in_transition_answer_as_dynamodb_and_down_waits_them_out() {
    // Time scale 0.3: a table stays CREATING and DELETING for 3 s.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.3"]);
    let ddb = aws_sdk_dynamodb::Client::new(&local.sdk().await);
    create_table(&ddb, "probe", None).await;
    let described = ddb.describe_table().table_name("probe").send().await.unwrap();
    let table = described.table().unwrap();
    assert_eq!(table.table_status().unwrap().as_str(), "CREATING");
    let tags = ddb
        .list_tags_of_resource()
        .resource_arn(table.table_arn().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(tags.code(), Some("ResourceNotFoundException"));
    let delete = ddb.delete_table().table_name("probe").send().await.unwrap_err();
    assert_eq!(delete.code(), Some("ResourceInUseException"));
    assert_eq!(local.refusals("table_not_active"), 1);
    // An item call on the CREATING table is refused by the rules before the native item store
    // serves it; once ACTIVE the same call is served.
    let key = aws_sdk_dynamodb::types::AttributeValue::S("k".into());
    let put = ddb
        .put_item()
        .table_name("probe")
        .item("id", key.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(put.code(), Some("ResourceNotFoundException"));
    assert_eq!(local.refusals("table_not_active"), 2);
    // CREATING lasts 3 s at this time scale: 10 s is plenty.
    let mut active = false;
    for _ in 0..50 {
        let described = ddb.describe_table().table_name("probe").send().await.unwrap();
        active = described.table().unwrap().table_status().unwrap().as_str() == "ACTIVE";
        if active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(active, "the table never became ACTIVE");
    ddb.put_item().table_name("probe").item("id", key.clone()).send().await.unwrap();
    let got = ddb.get_item().table_name("probe").key("id", key.clone()).send().await.unwrap();
    assert_eq!(got.item().unwrap()["id"], key);
    assert_eq!(local.refusals("table_in_use"), 1);

    // A stack whose table is still CREATING: down waits for ACTIVE, deletes, waits until it is
    // gone, and never asks for the tags or the delete too early.
    create_table(&ddb, "tt-table", Some("tt")).await;
    let down = local.lab_json(&["--stack", "tt", "down", "--yes"]);
    let table_change = change(&down, "table");
    assert_eq!(table_change["action"], "deleted", "{down}");
    assert!(table_change["seconds"].as_f64().unwrap() >= 2.5, "{down}");
    let table = ddb.describe_table().table_name("tt-table").send().await;
    assert_error_code(table, "ResourceNotFoundException", "the table after down");
    assert_eq!(
        local.refusals("table_not_active"),
        2,
        "lab read tags too early"
    );
    assert_eq!(local.refusals("table_in_use"), 1, "lab deleted too early");
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_eventual_consistency_is_waited_out_by_up_and_down() {
    // Time scale 0.5: IAM's windows (1 s to attach, 1.5 s to delete, 2 s of reads after a delete)
    // stay open long enough on a busy machine for up and down to meet each of them.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.5"]);
    let status = local.status();
    assert_eq!(status["strict"]["enabled"], true);
    assert_eq!(status["strict"]["time_scale"], 0.5);
    local.up("iam", &[]);
    // Raw: a policy created a moment ago is not attachable yet (NoSuchEntity). Whether `up` itself
    // meets the window depends on the machine's speed; that it gets through it is what up shows.
    let iam = aws_sdk_iam::Client::new(&local.sdk().await);
    create_lambda_role(&iam, "probe-role").await;
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"*"}]}"#;
    let policy = iam.create_policy().policy_name("probe-policy").policy_document(document);
    let policy = policy.send().await.unwrap();
    let attach = iam.attach_role_policy().role_name("probe-role");
    let refused = attach.policy_arn(policy.policy().unwrap().arn().unwrap()).send().await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), Some("NoSuchEntity"));
    assert!(local.refusals("policy_not_attachable") >= 1);
    // Keep the table, so the final check reads IAM right after its deletes, while IAM still
    // answers for the deleted role and policy.
    let down = local.lab_json(&["--stack", "iam", "down", "--keep-table"]);
    assert_eq!(down["left"], json!([]), "{down}");
    assert!(local.refusals("role_delete_conflict") >= 1);
    assert!(local.refusals("iam_read_after_delete") >= 1);
    // Once IAM's read-after-delete window has passed, the role reads as gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let gone = loop {
        match iam.get_role().role_name("iam-role").send().await {
            Err(e) => break e,
            Ok(_) => assert!(std::time::Instant::now() < deadline, "the role never went"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(gone.code(), Some("NoSuchEntity"));

    // Raw: a deleted role is still read for a moment, as IAM does.
    create_lambda_role(&iam, "ghost").await;
    iam.delete_role().role_name("ghost").send().await.unwrap();
    let still = iam.get_role().role_name("ghost").send().await.unwrap();
    assert_eq!(still.role().unwrap().role_name(), "ghost");
}

#[tokio::test(flavor = "multi_thread")]
async fn function_states_updates_and_permissions_answer_as_lambda() {
    // Time scale 0.2: Pending and InProgress last 400 ms, waking 1 s.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.2"]);
    local.up("fn", &[]);
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    assert_updates_conflict_and_up_waits(&local, &lambda).await;

    // A duplicate statement id is refused; up, which looks first, is not.
    let dup = lambda
        .add_permission()
        .function_name("fn-fn")
        .statement_id("lab-apigateway-invoke")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Some("ResourceConflictException"));
    local.up("fn", &["--memory", "512"]);
    assert_eq!(local.refusals("duplicate_statement"), 1);

    assert_failed_update_is_repaired(&local, &lambda).await;
    assert_inactive_function_wakes(&local, &lambda).await;
    assert_payload_limits(&lambda).await;
}

/// An update leaves LastUpdateStatus InProgress; a second one meanwhile is a conflict; `lab up` right
/// behind someone else's update waits for it, then converges.
async fn assert_updates_conflict_and_up_waits(local: &LocalStack, lambda: &aws_sdk_lambda::Client) {
    let update = || lambda.update_function_configuration().function_name("fn-fn");
    update().memory_size(256).send().await.unwrap();
    let c = function_config(lambda, "fn-fn").await;
    assert_eq!(c.last_update_status().unwrap().as_str(), "InProgress");
    let second = update().memory_size(512).send().await.unwrap_err();
    assert_eq!(second.code(), Some("ResourceConflictException"));
    local.up("fn", &["--memory", "512"]);
    assert_eq!(
        function_config(lambda, "fn-fn").await.memory_size(),
        Some(512)
    );
}

/// A failed update is repaired by the next up.
async fn assert_failed_update_is_repaired(local: &LocalStack, lambda: &aws_sdk_lambda::Client) {
    let fail_next = local.http("POST", "/_lab/strict/fail-next-update/fn-fn");
    assert!(fail_next.contains("200 OK"), "{fail_next}");
    let update = lambda.update_function_configuration().function_name("fn-fn");
    update.timeout(7).send().await.unwrap();
    let up = local.up_report("fn", &["--memory", "512"]);
    let function = change(&up, "function");
    let repaired = function["details"].to_string().contains("update failed");
    assert!(repaired, "{function}");
    local.assert_status("fn", &["--memory", "512"], 0);
}

/// An Inactive function refuses the first invocation and wakes; lab retries once it is Active.
async fn assert_inactive_function_wakes(local: &LocalStack, lambda: &aws_sdk_lambda::Client) {
    let inactive = local.http("POST", "/_lab/strict/inactive/fn-fn");
    assert!(inactive.contains("200 OK"), "{inactive}");
    let c = function_config(lambda, "fn-fn").await;
    assert_eq!(c.state().unwrap().as_str(), "Inactive");
    let before = local.refusals("function_not_ready");
    let pong = local.lab_ok(&["--stack", "fn", "call", "ping", "--via", "lambda"]);
    assert!(pong.contains("pong"), "{pong}");
    assert_eq!(local.refusals("function_not_ready"), before + 1);
}

/// Payload limits: 6 MB synchronous, 1 MB asynchronous.
async fn assert_payload_limits(lambda: &aws_sdk_lambda::Client) {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;
    let limits = [
        (InvocationType::RequestResponse, 6 * 1024 * 1024),
        (InvocationType::Event, 1024 * 1024),
    ];
    for (kind, limit) in limits {
        let too_big = lambda
            .invoke()
            .function_name("fn-fn")
            .invocation_type(kind.clone())
            .payload(Blob::new(vec![b' '; limit + 1]))
            .send()
            .await
            .unwrap_err();
        let code = too_big.code();
        assert_eq!(code, Some("RequestEntityTooLargeException"), "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_function_is_pending_and_invocations_wait_for_active() {
    // Time scale 0.5: a new function is Pending for 1 s.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.5"]);
    local.up("pend", &[]);
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    // Delete the function behind up's back: the next up creates it again, and must not return
    // while it is Pending.
    let delete = lambda.delete_function().function_name("pend-fn");
    delete.send().await.unwrap();
    let up = local.up_report("pend", &[]);
    assert!(up["changes"].to_string().contains("\"created\""), "{up}");
    // up waited for Active: an invocation right after it runs.
    let pong = local.lab_ok(&["--stack", "pend", "call", "ping", "--via", "lambda"]);
    assert!(pong.contains("pong"));
    assert_eq!(
        local.refusals("function_not_ready"),
        0,
        "up returned before Active"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_memory_cap_is_refused_and_cold_start_tuning_steps_down() {
    let local = LocalStack::start(&["--memory-cap", "1024"]);
    local.up("cap", &[]);
    let over = local.try_up("cap", &["--memory", "2048"]);
    assert!(!over.status.success());
    let err = String::from_utf8_lossy(&over.stderr);
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("less than or equal to 1024"),
        "the failure is one line naming the cap: {err}"
    );
    let tune = local.lab_json(&crate::common::words(
        "--stack cap tune --powers 1024 --num 5 --only-cold-starts",
    ));
    // Cold starts come from one version per invocation (as aws-lambda-power-tuning does), never
    // from a neighbouring memory size: tuning at the cap asks for nothing above it.
    assert_eq!(local.refusals("memory_cap"), 1, "{tune}");
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    let memory = function_config(&lambda, "cap-fn").await.memory_size();
    assert_eq!(memory, Some(128), "tune restores the memory");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_gateway_rate_limits_are_waited_out_and_the_host_style_url_answers() {
    // Time scale 0.2: one DeleteRestApi per 6 s, so two teardowns in a row always collide.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.2"]);
    let url = local.up("ra", &[]);
    local.up("rb", &[]);
    // The tutorial's URL shape, {api}.execute-api.localhost:{port}/prod/DynamoDBManager.
    let api = url.split("/restapis/").nth(1).unwrap().split('/').next().unwrap();
    let reply = raw_post(
        local.port,
        &format!("{api}.execute-api.localhost:{}", local.port),
        "/prod/DynamoDBManager",
        r#"{"operation":"ping"}"#,
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("\"pong\""), "{reply}");

    // Two teardowns in a row: the second DeleteRestApi falls inside the 1-per-30 s window; lab
    // waits as Retry-After says, and says so.
    local.lab_ok(&["--stack", "ra", "down", "--yes"]);
    let down = local.lab_json(&["--stack", "rb", "down", "--yes"]);
    assert!(local.refusals("rate_limited") >= 1);
    let api_change = change(&down, "rest api");
    assert_eq!(api_change["action"], "deleted");
    assert!(
        api_change["details"].to_string().contains("waited"),
        "{api_change}"
    );

    // Raw: the refusal carries Retry-After.
    let apigw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    let api = apigw.create_rest_api().name("raw").send().await.unwrap();
    let id = api.id().unwrap();
    apigw.delete_rest_api().rest_api_id(id).send().await.ok();
    let no_retries = aws_sdk_apigateway::Client::new(&local.sdk_without_retries().await);
    let again = no_retries.delete_rest_api().rest_api_id(id).send().await;
    let refused = again.unwrap_err();
    let raw = refused.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 429);
    assert!(raw.headers().get("retry-after").is_some());
}

/// `--strict` on any command with `--local` starts the stack strict; `lab local status` says so.
#[test]
fn strict_flag_starts_a_strict_stack_on_demand() {
    let port = crate::common::free_port().to_string();
    let home = std::env::temp_dir().join(format!("lab-strict-{}-{port}", std::process::id()));
    let lab = |args: &[&str]| {
        Command::new(crate::common::lab_bin())
            .args(["--local-port", &port])
            .args(args)
            .env("LAB_HOME", &home)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Whatever fails below, the stack this test started on demand is stopped.
    let _stop = crate::common::OnDrop(|| {
        lab(&["local", "stop"]);
        std::fs::remove_dir_all(&home).ok();
    });
    let status = lab(&["--local", "--strict", "--time-scale", "0.5", "status"]);
    assert_eq!(status.status.code(), Some(2), "an empty account");
    let local = lab(&["local", "status", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&local.stdout).unwrap();
    let text = lab(&["local", "status"]);
    assert_eq!(doc["strict"]["enabled"], true, "{doc}");
    assert_eq!(doc["strict"]["time_scale"], 0.5, "{doc}");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("strict: on, time scale 0.5"), "{text}");
}

/// One HTTP/1.1 POST over a plain socket, with the Host header given (curl's `--resolve`).
fn raw_post(port: u16, host: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// A role Lambda may assume, made directly through IAM.
async fn create_lambda_role(iam: &aws_sdk_iam::Client, name: &str) {
    let trust = include_str!("../../assets/trust-policy.json");
    let role = iam.create_role().role_name(name).assume_role_policy_document(trust);
    role.send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_propagation_delay_is_retried_by_up() {
    // The gateway refuses a new role for 3 s, as AWS does while IAM propagates; up must wait it out.
    let local = LocalStack::start(&["--iam-delay-ms", "3000"]);
    // A small prebuilt package, so CreateFunction follows CreateRole within the delay.
    let zip = crate::common::script_zip(&local.home, "#!/bin/sh\nexit 1\n");
    let report = local.lab_json(&["--stack", "iam", "up", "--zip", zip.to_str().unwrap()]);
    assert_eq!(
        crate::common::change(&report, "function")["action"],
        "created"
    );
    let status = local.status();
    assert!(
        status["iam_refusals"].as_u64().unwrap() >= 1,
        "the retry path was not taken: {status}"
    );
}
