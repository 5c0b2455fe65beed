//! `up → status → up (no change) → drift repaired → down → down again`, on a real local stack (moto
//! behind lab's gateway), every resource checked by an independent SDK read.

mod common;

use common::LocalStack;
use serde_json::Value;

fn actions(report: &Value) -> Vec<(String, String)> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn decode(doc: &str) -> Value {
    serde_json::from_str(&urlencoding::decode(doc).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_converges_and_tears_down() {
    let local = LocalStack::start(&[]);
    let bootstrap = common::bootstrap_bin();
    let bin = bootstrap.to_str().unwrap();
    let stack = "life";

    // 1. From nothing: every resource is created.
    let first = local.lab_json(&["--stack", stack, "up", "--bootstrap", bin]);
    for (resource, action) in actions(&first) {
        assert_eq!(action, "created", "{resource} on first up: {first}");
    }
    let url = first["invoke_url"].as_str().unwrap();
    assert!(
        url.contains("/restapis/") && url.ends_with("/prod/_user_request_/DynamoDBManager"),
        "{url}"
    );

    // 2. status: complete, exit 0.
    let status = local.lab(&["--stack", stack, "-o", "json", "status"]);
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["state"], "complete");
    assert_eq!(report["resources"].as_array().unwrap().len(), 7);

    // 3. Independent reads of what up made.
    let sdk = local.sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let gw = aws_sdk_apigateway::Client::new(&sdk);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let policy_arn = "arn:aws:iam::123456789012:policy/life-policy";
    let policy = iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(policy
        .tags()
        .iter()
        .any(|t| t.key() == "lab:stack" && t.value() == "life"));
    let version = iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(policy.default_version_id().unwrap())
        .send()
        .await
        .unwrap();
    let doc = decode(version.policy_version().unwrap().document().unwrap());
    let text = doc.to_string();
    assert!(!text.contains("\"*\""), "policy must not grant *: {text}");
    assert!(
        text.contains("arn:aws:dynamodb:us-east-1:123456789012:table/life-table"),
        "{text}"
    );
    assert!(text.contains("log-group:/aws/lambda/life-fn"), "{text}");
    let role = iam.get_role().role_name("life-role").send().await.unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name("life-role")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some(policy_arn)
    );
    let function = lambda
        .get_function()
        .function_name("life-fn")
        .send()
        .await
        .unwrap();
    let config = function.configuration().unwrap();
    assert_eq!(config.memory_size(), Some(128));
    assert_eq!(config.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(
        config
            .environment()
            .unwrap()
            .variables()
            .unwrap()
            .get("LAB_ALLOWED_TABLE")
            .map(String::as_str),
        Some("life-table")
    );
    assert_eq!(
        function
            .tags()
            .unwrap()
            .get("lab:stack")
            .map(String::as_str),
        Some("life")
    );
    let table = ddb
        .describe_table()
        .table_name("life-table")
        .send()
        .await
        .unwrap();
    assert_eq!(
        table.table().unwrap().key_schema()[0].attribute_name(),
        "id"
    );
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/life-fn")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 1);
    let api_id = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "rest api")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resources = gw
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let resource = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/DynamoDBManager"))
        .expect("resource /DynamoDBManager");
    let integration = gw
        .get_integration()
        .rest_api_id(&api_id)
        .resource_id(resource.id().unwrap())
        .http_method("POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        integration.uri(),
        Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:life-fn/invocations")
    );
    let statuses: Vec<&String> = integration
        .integration_responses()
        .unwrap()
        .keys()
        .collect();
    for code in ["200", "400", "403", "404", "409", "500"] {
        assert!(
            statuses.iter().any(|s| *s == code),
            "integration response {code} missing: {statuses:?}"
        );
    }
    gw.get_stage()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .expect("stage prod");
    let permission = lambda
        .get_policy()
        .function_name("life-fn")
        .send()
        .await
        .unwrap();
    let permission: Value = serde_json::from_str(permission.policy().unwrap()).unwrap();
    assert_eq!(
        permission["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/POST/DynamoDBManager")
    );

    // 4. A second up changes nothing.
    let second = local.lab_json(&["--stack", stack, "up", "--bootstrap", bin]);
    for (resource, action) in actions(&second) {
        assert_eq!(action, "unchanged", "{resource} on second up: {second}");
    }

    // 5. Drift by hand: method removed, memory changed, policy widened, permission dropped.
    gw.delete_method()
        .rest_api_id(&api_id)
        .resource_id(resource.id().unwrap())
        .http_method("POST")
        .send()
        .await
        .unwrap();
    lambda
        .update_function_configuration()
        .function_name("life-fn")
        .memory_size(512)
        .send()
        .await
        .unwrap();
    let wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#;
    iam.create_policy_version()
        .policy_arn(policy_arn)
        .policy_document(wide)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    lambda
        .remove_permission()
        .function_name("life-fn")
        .statement_id("lab-apigateway-invoke")
        .send()
        .await
        .unwrap();
    let drifted = local.lab(&["--stack", stack, "-o", "json", "status"]);
    assert_eq!(drifted.status.code(), Some(3));
    let (status, _) = common::post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!(status, 403, "the removed method must not answer");

    let repaired = local.lab_json(&["--stack", stack, "up", "--bootstrap", bin]);
    let acts = actions(&repaired);
    for expected in ["policy", "function", "rest api", "permission"] {
        assert!(
            acts.iter()
                .any(|(r, a)| r == expected && (a == "updated" || a == "created")),
            "{expected} not repaired: {repaired}"
        );
    }
    let memory = lambda
        .get_function_configuration()
        .function_name("life-fn")
        .send()
        .await
        .unwrap();
    assert_eq!(memory.memory_size(), Some(128));
    let (status, body) = common::post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!((status, body), (200, Value::String("pong".into())));
    let ok = local.lab(&["--stack", stack, "-o", "json", "status"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // 6. down refuses without --yes when it cannot ask, then removes everything, then again.
    let refused = local.lab(&["--stack", stack, "down"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(
        ddb.describe_table()
            .table_name("life-table")
            .send()
            .await
            .is_ok(),
        "refused down must not delete"
    );
    let down = local.lab_json(&["--stack", stack, "down", "--yes"]);
    assert!(down["left"].as_array().unwrap().is_empty(), "{down}");
    for (resource, action) in actions(&down) {
        assert_eq!(action, "deleted", "{resource} on down: {down}");
    }
    assert!(lambda
        .get_function()
        .function_name("life-fn")
        .send()
        .await
        .is_err());
    assert!(iam.get_role().role_name("life-role").send().await.is_err());
    assert!(iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .is_err());
    assert!(ddb
        .describe_table()
        .table_name("life-table")
        .send()
        .await
        .is_err());
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/life-fn")
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "log group left behind");
    let gone = local.lab(&["--stack", stack, "-o", "json", "status"]);
    assert_eq!(gone.status.code(), Some(2));
    let again = local.lab_json(&["--stack", stack, "down", "--yes"]);
    for (resource, action) in actions(&again) {
        assert_eq!(action, "absent", "{resource} on second down: {again}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn down_leaves_foreign_resources_and_half_made_stacks_converge() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    // Someone else's table with this stack's name, untagged.
    ddb.create_table()
        .table_name("foreign-table")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    // up refuses to adopt it, naming the resource and the way out.
    let refused = local.lab(&[
        "--stack",
        "foreign",
        "up",
        "--bootstrap",
        common::bootstrap_bin().to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not tagged lab:stack=foreign"), "{err}");
    // down on the half-made stack succeeds and keeps the foreign table.
    let down = local.lab_json(&["--stack", "foreign", "down", "--yes"]);
    let table = down["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "table")
        .unwrap()
        .clone();
    assert_eq!(table["action"], "kept", "{down}");
    assert!(ddb
        .describe_table()
        .table_name("foreign-table")
        .send()
        .await
        .is_ok());
    // A prebuilt package that cannot be read is refused before any AWS call: nothing is made.
    let missing = local.lab(&["--stack", "half", "up", "--zip", "/nonexistent/lambda.zip"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("cannot read --zip /nonexistent/lambda.zip"),
        "{err}"
    );
    let nothing = local.lab(&["--stack", "half", "status"]);
    assert_eq!(
        nothing.status.code(),
        Some(2),
        "a refused package made something"
    );
    // An up that fails half-way (here: someone else's REST API holds this stack's API name, after
    // the IAM, table and function steps ran) leaves nothing a re-run cannot converge.
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let squatter = apigw
        .create_rest_api()
        .name("half-api")
        .send()
        .await
        .unwrap();
    let broken = local.lab(&[
        "--stack",
        "half",
        "up",
        "--bootstrap",
        common::bootstrap_bin().to_str().unwrap(),
    ]);
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("not tagged lab:stack=half"), "{err}");
    let partial = local.lab(&["--stack", "half", "-o", "json", "status"]);
    assert_eq!(
        partial.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&partial.stdout)
    );
    apigw
        .delete_rest_api()
        .rest_api_id(squatter.id().unwrap())
        .send()
        .await
        .unwrap();
    let finished = local.lab_json(&[
        "--stack",
        "half",
        "up",
        "--bootstrap",
        common::bootstrap_bin().to_str().unwrap(),
    ]);
    let changes = finished["changes"].as_array().unwrap();
    let action = |r: &str| changes.iter().find(|c| c["resource"] == r).unwrap()["action"].clone();
    assert_eq!(action("rest api"), "created");
    for reused in ["function", "table", "role", "policy"] {
        assert_eq!(
            action(reused),
            "unchanged",
            "the {reused} from the failed run is reused"
        );
    }
    let (status, body) = common::post(
        finished["invoke_url"].as_str().unwrap(),
        r#"{"operation":"ping"}"#,
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!("pong")));
    local.lab_ok(&["--stack", "half", "down", "--yes"]);

    // Bad input: one clear line, non-zero exit.
    let bad = local.lab(&["--stack", "9bad", "status"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid --stack"));
}
