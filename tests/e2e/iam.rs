//! IAM on the strict stack: the function's calls under its execution role, the stage URL under the
//! function's resource policy, the operator under `lab policy`'s output, through `lab` and the SDK.

use std::time::{Duration, Instant};

use crate::common::{post, LocalStack};

/// Replaces the operator's policy on a running stack (`None`: an administrator again).
async fn set_operator_policy(local: &LocalStack, policy: Option<&serde_json::Value>) {
    let body = policy.map(|p| p.to_string()).unwrap_or_default();
    let r = reqwest::Client::new()
        .put(format!("{}/_lab/iam/operator-policy", local.endpoint()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

/// `lab policy` for a stack on the local account, narrowed to `verbs`.
fn lab_policy(local: &LocalStack, stack: &str, verbs: &str) -> serde_json::Value {
    let args = ["--stack", stack, "--region", "us-east-1", "policy"];
    let mut all = args.to_vec();
    all.extend(["--account", "123456789012", "--verbs", verbs]);
    serde_json::from_str(&local.lab_ok(&all)).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_scan_is_denied_list_and_the_api_answers_forbidden() {
    let local = LocalStack::start(&[]);
    let url = local.up("iamscan", &[]);
    local.lab_ok(&[
        "--stack", "iamscan", "call", "create", "--id", "1", "--name", "a",
    ]);
    local.lab_ok(&["--stack", "iamscan", "call", "list"]);
    // The function's policy loses Scan: a new default version, as an operator's edit would make.
    let iam = aws_sdk_iam::Client::new(&local.sdk().await);
    let arn = "arn:aws:iam::123456789012:policy/iamscan-policy";
    let document = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/iamscan-table"}]});
    let versions = iam.list_policy_versions().policy_arn(arn).send().await.unwrap();
    for v in versions.versions().iter().filter(|v| !v.is_default_version()) {
        let id = v.version_id().unwrap();
        iam.delete_policy_version().policy_arn(arn).version_id(id).send().await.unwrap();
    }
    let new = iam.create_policy_version().policy_arn(arn).set_as_default(true);
    new.policy_document(document.to_string()).send().await.unwrap();
    // After IAM's propagation delay (0.5 s at the tests' scale) Scan is denied; PutItem is not.
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = local.lab(&["--stack", "iamscan", "call", "list"]);
        if !out.status.success() || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        !out.status.success(),
        "list still allowed after the policy lost Scan"
    );
    let err = stderr(&out);
    let line = err.lines().find(|l| l.contains("Forbidden")).unwrap_or_else(|| panic!("{err}"));
    for needle in [
        "dynamodb:Scan",
        "assumed-role/iamscan-role/iamscan-fn",
        "arn:aws:dynamodb:us-east-1:123456789012:table/iamscan-table",
        "because no identity-based policy allows the dynamodb:Scan action",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from {line}");
    }
    let (status, body) = post(
        &url,
        r#"{"operation":"list","tableName":"iamscan-table","payload":{}}"#,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    local.lab_ok(&[
        "--stack", "iamscan", "call", "create", "--id", "2", "--name", "b",
    ]);
    assert!(local.refusals("access_denied") >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_permission_makes_the_stage_url_answer_500() {
    let local = LocalStack::start(&[]);
    let url = local.up("iamperm", &[]);
    let ping = r#"{"operation":"ping","payload":{}}"#;
    let (status, body) = post(&url, ping).await;
    assert_eq!(status, 200, "{body}");
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    let policy = lambda.get_policy().function_name("iamperm-fn").send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let sid = doc["Statement"][0]["Sid"].as_str().unwrap().to_string();
    let remove = lambda.remove_permission().function_name("iamperm-fn").statement_id(&sid);
    remove.send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = post(&url, ping).await;
        if status != 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 500);
    assert_eq!(
        body,
        serde_json::json!({"message": "Internal server error"})
    );
    assert!(local.log().contains(
        "Execution failed due to configuration error: Invalid permissions on Lambda function"
    ));
    assert!(local.refusals("invalid_permissions") >= 1);
}

/// Runs `lab --stack STACK ARGS` and asserts it fails with a line that says access was denied
/// and names one of `actions`.
fn assert_denied_naming(
    local: &LocalStack,
    stack: &str,
    args: &[&str],
    actions: &[serde_json::Value],
) {
    let out = local.lab(&[&["--stack", stack], args].concat());
    assert!(!out.status.success(), "{args:?} passed");
    let err = stderr(&out);
    let named = err.lines().any(|line| {
        line.contains("access denied")
            && actions.iter().filter_map(|a| a.as_str()).any(|a| line.contains(a))
    });
    assert!(
        named,
        "{args:?}: no line names a denied action of {actions:?}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_policy_is_enough_for_up_call_invoke_down_and_each_statement_is_needed() {
    let local = LocalStack::start(&[]);
    let stack = "iampol";
    let everything = lab_policy(&local, stack, "up,call,invoke");
    set_operator_policy(&local, Some(&everything)).await;
    local.up(stack, &[]);
    local.lab_ok(&[
        "--stack", stack, "call", "create", "--id", "1", "--name", "a",
    ]);
    local.lab_ok(&[
        "--stack", stack, "call", "--via", "lambda", "read", "--id", "1",
    ]);
    local.lab_ok(&["--stack", stack, "invoke", "read", "--id", "1"]);
    local.lab_ok(&["--stack", stack, "status"]);
    assert_eq!(local.refusals("access_denied"), 0, "{}", local.log());
    // Each statement of a verb's policy is needed: without it the verb fails with a line naming
    // one of its actions.
    for (verbs, args) in [
        ("call", vec!["call", "--via", "lambda", "read", "--id", "1"]),
        ("call", vec!["call", "read", "--id", "1"]),
        ("invoke", vec!["invoke", "read", "--id", "1"]),
        ("up", vec!["status"]),
    ] {
        let policy = lab_policy(&local, stack, verbs);
        set_operator_policy(&local, Some(&policy)).await;
        local.lab_ok(&[&["--stack", stack], args.as_slice()].concat());
        for (i, statement) in policy["Statement"].as_array().unwrap().iter().enumerate() {
            if statement["Sid"].as_str().unwrap().contains("PassRole") {
                continue; // below: only a function's creation passes the role
            }
            let mut narrowed = policy.clone();
            narrowed["Statement"].as_array_mut().unwrap().remove(i);
            set_operator_policy(&local, Some(&narrowed)).await;
            let actions = statement["Action"].as_array().unwrap();
            assert_denied_naming(&local, stack, &args, actions);
        }
    }
    // PassRole: the function cannot be created without it.
    set_operator_policy(&local, None).await;
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
    let mut no_pass = lab_policy(&local, stack, "up");
    no_pass["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| !s["Sid"].as_str().unwrap().contains("PassRole"));
    set_operator_policy(&local, Some(&no_pass)).await;
    let bootstrap = crate::common::bootstrap_bin();
    let up = ["up", "--bootstrap", bootstrap.to_str().unwrap()];
    assert_denied_naming(&local, stack, &up, &[serde_json::json!("iam:PassRole")]);
    set_operator_policy(&local, Some(&everything)).await;
    local.up(stack, &[]);
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
    assert_eq!(local.status()["iam"]["operator_policy"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn tune_load_and_workers_run_under_lab_policy_and_workers_proceed_without_account_settings() {
    let local = LocalStack::start(&[]);
    let stack = "iamtl";
    local.up(stack, &[]);
    let run = |args: &str| {
        let mut all = vec!["--stack", stack];
        all.extend(args.split_whitespace());
        local.lab(&all)
    };
    let tune = "tune --powers 128,256 --num 5";
    let load = "load --vus 1 --duration 2s --memory 128,256";
    let workers = "load --workers 1 --vus 1 --duration 2s";
    for (verbs, args) in [("tune", tune), ("load", load), ("load-workers", workers)] {
        set_operator_policy(&local, Some(&lab_policy(&local, stack, verbs))).await;
        let out = run(args);
        assert!(
            out.status.success(),
            "{args} under lab policy --verbs {verbs}: {}",
            stderr(&out)
        );
    }
    assert_eq!(local.refusals("access_denied"), 0, "{}", local.log());
    assert_eq!(
        local.status()["iam"]["unmapped"],
        serde_json::json!({}),
        "calls the action map does not know"
    );
    // (10) Without GetAccountSettings the generator still runs, and says what it could not check.
    let mut policy = lab_policy(&local, stack, "load-workers");
    let statements = policy["Statement"].as_array_mut().unwrap();
    statements.retain(|s| s["Resource"] != "*");
    set_operator_policy(&local, Some(&policy)).await;
    let out = run(workers);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: lambda:GetAccountSettings was denied"),
        "{err}"
    );
    assert!(local.refusals("access_denied") >= 1);
    set_operator_policy(&local, None).await;
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn up_returns_once_the_stage_answers_and_says_when() {
    // A permission takes 6 s to reach the stage at scale 1.0: 1.2 s here, longer than `up` takes
    // from AddPermission to its end, so a caller right after `up` would meet 500s without the wait.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.2"]);
    let report = local.up_report("iamready", &[]);
    let url = report["invoke_url"].as_str().unwrap();
    let (status, body) = post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!(status, 200, "the stage right after up: {body}");
    let ready = report["ready_after_s"].as_f64().unwrap();
    assert!(
        ready >= 1.0,
        "up returned {ready} s after the permission, before it propagated"
    );
    // The new stage is not live for 1 s from its deployment, and the permission not in effect for
    // 1.2 s from AddPermission: up's probe met one or both.
    let propagating = local.refusals("invalid_permissions") + local.refusals("deployment_not_live");
    assert!(propagating > 0, "the stage was probed while it propagated");
    let out = local.lab(&[
        "--stack",
        "iamready",
        "up",
        "--bootstrap",
        crate::common::bootstrap_bin().to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("ready after"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_tag_read_names_its_action_never_not_made_by_this_stack() {
    // (4) Without lambda:ListTags, GetFunction leaves the tags out (as Lambda does) and lab must
    // say which action it lacks, not that its own function belongs to someone else.
    let local = LocalStack::start(&[]);
    let stack = "iamtags";
    local.up(stack, &[]);
    let mut policy = lab_policy(&local, stack, "up");
    for statement in policy["Statement"].as_array_mut().unwrap() {
        let actions = statement["Action"].as_array_mut().unwrap();
        actions.retain(|a| a != "lambda:ListTags");
    }
    set_operator_policy(&local, Some(&policy)).await;
    let bootstrap = crate::common::bootstrap_bin();
    let out = local.lab(&[
        "--stack",
        stack,
        "up",
        "--bootstrap",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(!err.contains("not made by this stack"), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("lambda:ListTags"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("access denied"), "{line}");
    set_operator_policy(&local, None).await;
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verb_runs_on_a_stack_that_enforces_exactly_lab_policy() {
    // up → call → invoke → tune → load --workers 1 → down, the operator held to `lab policy`'s
    // whole output from the first call to the last: no refusal, no call the action map does not know.
    let local = LocalStack::start(&[]);
    let stack = "iamall";
    let policy: serde_json::Value = serde_json::from_str(&local.lab_ok(&[
        "--stack",
        stack,
        "--region",
        "us-east-1",
        "policy",
        "--account",
        "123456789012",
    ]))
    .unwrap();
    set_operator_policy(&local, Some(&policy)).await;
    local.up(stack, &[]);
    let lab = |args: &str| {
        let mut all = vec!["--stack", stack];
        all.extend(args.split_whitespace());
        local.lab_ok(&all)
    };
    lab("call create --id 1 --name a");
    lab("invoke read --id 1");
    lab("tune --powers 128,256 --num 5");
    lab("load --workers 1 --vus 1 --duration 2s");
    lab("down --yes");
    assert_eq!(local.refusals("access_denied"), 0, "{}", local.log());
    let iam = &local.status()["iam"];
    assert_eq!(iam["operator_policy"], true);
    assert_eq!(
        iam["unmapped"],
        serde_json::json!({}),
        "calls the action map does not know"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_table_tags_right_after_tagging_are_read_again_not_refused() {
    // (9) DynamoDB's tags settle for seconds after TagResource (3 s at scale 1.0; 1.5 s here):
    // status and down read again instead of calling lab's own table someone else's.
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.5"]);
    let stack = "tagsettle";
    local.up(stack, &[]);
    let ddb = aws_sdk_dynamodb::Client::new(&local.sdk().await);
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tagsettle-table";
    let tag = aws_sdk_dynamodb::types::Tag::builder()
        .key("team")
        .value("lab")
        .build()
        .unwrap();
    ddb.tag_resource().resource_arn(arn).tags(tag).send().await.unwrap();
    local.assert_status(stack, &[], 0);
    assert!(
        local.refusals("table_tags_not_visible") >= 1,
        "the settling window was not met"
    );
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_whose_deployment_failed_is_seen_by_status_and_redeployed_by_up() {
    // (3) up repairs the method, then CreateDeployment fails (here: denied); the stage still
    // serves the old definition. status must say so (exit 3) and the next up must deploy.
    let local = LocalStack::start(&[]);
    let stack = "deployfp";
    let url = local.up(stack, &[]);
    let api = url.split("/restapis/").nth(1).unwrap().split('/').next().unwrap().to_string();
    local.assert_status(stack, &[], 0);
    let gw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    let resources = gw.get_resources().rest_api_id(&api).send().await.unwrap();
    let rid = resources.items().iter().find(|r| r.path() == Some("/DynamoDBManager")).unwrap();
    // Someone deploys by hand, then changes the 404 mapping: the stage serves a deployment up
    // did not make, and the method differs from the tutorial's.
    let by_hand = gw.create_deployment().rest_api_id(&api).stage_name("prod");
    by_hand.description("by hand").send().await.unwrap();
    let change = gw.put_integration_response().rest_api_id(&api);
    let change = change.resource_id(rid.id().unwrap()).http_method("POST");
    let change = change.status_code("404").selection_pattern("Gone:.*");
    change.send().await.unwrap();
    let mut policy = lab_policy(&local, stack, "up");
    policy["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "NoDeployments", "Effect": "Deny", "Action": "apigateway:POST",
        "Resource": format!("arn:aws:apigateway:us-east-1::/restapis/{api}/deployments")}));
    set_operator_policy(&local, Some(&policy)).await;
    let out = local.try_up(stack, &[]);
    assert!(!out.status.success(), "up deployed through a Deny");
    assert!(
        stderr(&out).contains("apigateway:CreateDeployment"),
        "{}",
        stderr(&out)
    );
    set_operator_policy(&local, None).await;
    let status = local.assert_status(stack, &[], 3);
    assert!(
        status.to_string().contains("stage serves an older deployment"),
        "{status}"
    );
    let report = local.up_report(stack, &[]);
    assert!(
        report.to_string().contains("stage serves an older deployment"),
        "{report}"
    );
    local.assert_status(stack, &[], 0);
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}
