//! `up → status → up (no change) → drift repaired → down → down again`, on a real local stack (moto
//! behind lab's gateway), every resource checked by an independent SDK read.

use crate::common::aws::assert_error_code;
use crate::common::{actions, LocalStack};
use serde_json::Value;

const POLICY_ARN: &str = "arn:aws:iam::123456789012:policy/life-policy";

fn decode(doc: &str) -> Value {
    serde_json::from_str(&urlencoding::decode(doc).unwrap()).unwrap()
}

/// Clients for independent reads of the stack.
struct Clients {
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    gw: aws_sdk_apigateway::Client,
    ddb: aws_sdk_dynamodb::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    async fn new(local: &LocalStack) -> Self {
        let sdk = local.sdk().await;
        Self {
            iam: aws_sdk_iam::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            gw: aws_sdk_apigateway::Client::new(&sdk),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
        }
    }

    /// How many log groups the function has.
    async fn log_groups(&self) -> usize {
        let groups = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/life-fn")
            .send()
            .await
            .unwrap();
        groups.log_groups().len()
    }

    /// Whether the stack's table exists.
    async fn table_exists(&self) -> bool {
        let described = self.ddb.describe_table().table_name("life-table").send().await;
        described.is_ok()
    }

    /// The id of the API's `/DynamoDBManager` resource.
    async fn manager_resource(&self, api_id: &str) -> String {
        let resources = self.gw.get_resources().rest_api_id(api_id).send().await.unwrap();
        let resource = resources
            .items()
            .iter()
            .find(|r| r.path() == Some("/DynamoDBManager"))
            .expect("resource /DynamoDBManager");
        resource.id().unwrap().to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_converges_and_tears_down() {
    let local = LocalStack::start(&[]);
    let aws = Clients::new(&local).await;

    // 1. From nothing: every resource is created.
    let first = local.up_report("life", &[]);
    for (resource, action) in actions(&first) {
        assert_eq!(action, "created", "{resource} on first up: {first}");
    }
    let url = first["invoke_url"].as_str().unwrap();
    assert!(
        url.contains("/restapis/") && url.ends_with("/prod/_user_request_/DynamoDBManager"),
        "{url}"
    );

    // 2. status: complete, exit 0, every resource.
    let report = local.assert_status("life", &[], 0);
    assert_eq!(report["state"], "complete");
    let resources = report["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 7);
    let api = resources.iter().find(|r| r["resource"] == "rest api").unwrap();
    let api_id = api["id"].as_str().unwrap();

    // 3. Independent reads of what up made.
    assert_iam_as_made(&aws).await;
    assert_function_table_and_logs_as_made(&aws).await;
    assert_api_as_made(&aws, api_id).await;

    // 4. A second up changes nothing.
    let second = local.up_report("life", &[]);
    for (resource, action) in actions(&second) {
        assert_eq!(action, "unchanged", "{resource} on second up: {second}");
    }

    // 5. Drift by hand is seen by status and repaired by up.
    drift(&aws, api_id).await;
    local.assert_status("life", &[], 3);
    // The stage serves its deployment, which still has the method (a removal is live only once
    // deployed); the permission's removal is live once it propagates: API Gateway's 500.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let (status, _) = crate::common::post(url, r#"{"operation":"ping"}"#).await;
        if status != 200 || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status, 500, "the function answered without its permission");
    assert_repaired(&local, &aws, url).await;

    // 6. down refuses without --yes when it cannot ask, then removes everything, then again.
    assert_down_removes_everything(&local, &aws).await;
}

async fn assert_iam_as_made(aws: &Clients) {
    let policy = aws.iam.get_policy().policy_arn(POLICY_ARN).send().await.unwrap();
    let policy = policy.policy().unwrap();
    let tagged = |t: &aws_sdk_iam::types::Tag| t.key() == "lab:stack" && t.value() == "life";
    assert!(policy.tags().iter().any(tagged));
    let version = aws
        .iam
        .get_policy_version()
        .policy_arn(POLICY_ARN)
        .version_id(policy.default_version_id().unwrap())
        .send()
        .await
        .unwrap();
    let text = decode(version.policy_version().unwrap().document().unwrap()).to_string();
    assert!(!text.contains("\"*\""), "policy must not grant *: {text}");
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/life-table";
    assert!(text.contains(table), "{text}");
    assert!(text.contains("log-group:/aws/lambda/life-fn"), "{text}");
    let role = aws.iam.get_role().role_name("life-role").send().await.unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    let service = &trust["Statement"][0]["Principal"]["Service"];
    assert_eq!(service, "lambda.amazonaws.com");
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name("life-role")
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = attached.attached_policies().iter().map(|p| p.policy_arn()).collect();
    assert_eq!(arns, [Some(POLICY_ARN)]);
}

async fn assert_function_table_and_logs_as_made(aws: &Clients) {
    let function = aws.lambda.get_function().function_name("life-fn").send().await.unwrap();
    let config = function.configuration().unwrap();
    assert_eq!(config.memory_size(), Some(128));
    assert_eq!(config.runtime().unwrap().as_str(), "provided.al2023");
    let env = config.environment().unwrap().variables().unwrap();
    let allowed = env.get("LAB_ALLOWED_TABLE").map(String::as_str);
    assert_eq!(allowed, Some("life-table"));
    let tag = function.tags().unwrap().get("lab:stack").map(String::as_str);
    assert_eq!(tag, Some("life"));
    let table = aws.ddb.describe_table().table_name("life-table").send().await.unwrap();
    let key = table.table().unwrap().key_schema()[0].attribute_name();
    assert_eq!(key, "id");
    assert_eq!(aws.log_groups().await, 1);
}

async fn assert_api_as_made(aws: &Clients, api_id: &str) {
    let resource = aws.manager_resource(api_id).await;
    let integration = aws.gw.get_integration().rest_api_id(api_id).resource_id(resource);
    let integration = integration.http_method("POST").send().await.unwrap();
    assert_eq!(
        integration.uri(),
        Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:life-fn/invocations")
    );
    let mut statuses: Vec<&String> = integration.integration_responses().unwrap().keys().collect();
    statuses.sort();
    assert_eq!(statuses, ["200", "400", "403", "404", "409", "500"]);
    let stage = aws.gw.get_stage().rest_api_id(api_id).stage_name("prod").send().await;
    stage.expect("stage prod");
    let permission = aws.lambda.get_policy().function_name("life-fn").send().await.unwrap();
    let permission: Value = serde_json::from_str(permission.policy().unwrap()).unwrap();
    assert_eq!(
        permission["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/POST/DynamoDBManager")
    );
}

/// Drift by hand: method removed, memory changed, policy widened, permission dropped.
async fn drift(aws: &Clients, api_id: &str) {
    let resource = aws.manager_resource(api_id).await;
    let method = aws.gw.delete_method().rest_api_id(api_id).resource_id(resource);
    method.http_method("POST").send().await.unwrap();
    let memory = aws.lambda.update_function_configuration().function_name("life-fn");
    memory.memory_size(512).send().await.unwrap();
    let wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#;
    aws.iam
        .create_policy_version()
        .policy_arn(POLICY_ARN)
        .policy_document(wide)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let permission = aws.lambda.remove_permission().function_name("life-fn");
    permission.statement_id("lab-apigateway-invoke").send().await.unwrap();
}

async fn assert_repaired(local: &LocalStack, aws: &Clients, url: &str) {
    let repaired = local.up_report("life", &[]);
    let acts = actions(&repaired);
    for expected in ["policy", "function", "rest api", "permission"] {
        let fixed = |(r, a): &(String, String)| r == expected && (a == "updated" || a == "created");
        assert!(
            acts.iter().any(fixed),
            "{expected} not repaired: {repaired}"
        );
    }
    let config = crate::common::aws::function_config(&aws.lambda, "life-fn").await;
    assert_eq!(config.memory_size(), Some(128));
    let (status, body) = crate::common::post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!((status, body), (200, Value::String("pong".into())));
    local.assert_status("life", &[], 0);
}

async fn assert_down_removes_everything(local: &LocalStack, aws: &Clients) {
    let refused = local.lab(&["--stack", "life", "down"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(aws.table_exists().await, "refused down must not delete");
    let down = local.lab_json(&["--stack", "life", "down", "--yes"]);
    assert!(down["left"].as_array().unwrap().is_empty(), "{down}");
    for (resource, action) in actions(&down) {
        assert_eq!(action, "deleted", "{resource} on down: {down}");
    }
    let function = aws.lambda.get_function().function_name("life-fn").send().await;
    assert_error_code(
        function,
        "ResourceNotFoundException",
        "the function after down",
    );
    let role = aws.iam.get_role().role_name("life-role").send().await;
    assert_error_code(role, "NoSuchEntity", "the role after down");
    let policy = aws.iam.get_policy().policy_arn(POLICY_ARN).send().await;
    assert_error_code(policy, "NoSuchEntity", "the policy after down");
    assert!(!aws.table_exists().await, "table left behind");
    assert_eq!(aws.log_groups().await, 0, "log group left behind");
    local.assert_status("life", &[], 2);
    let again = local.lab_json(&["--stack", "life", "down", "--yes"]);
    for (resource, action) in actions(&again) {
        assert_eq!(action, "absent", "{resource} on second down: {again}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn down_leaves_foreign_resources_and_half_made_stacks_converge() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    assert_foreign_table_is_kept(&local, &aws_sdk_dynamodb::Client::new(&sdk)).await;
    // A prebuilt package that cannot be read is refused before any AWS call: nothing is made.
    let missing = local.lab(&["--stack", "half", "up", "--zip", "/nonexistent/lambda.zip"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    let named = err.contains("cannot read --zip /nonexistent/lambda.zip");
    assert!(named, "{err}");
    local.assert_status("half", &[], 2);
    assert_half_made_stack_converges(&local, &aws_sdk_apigateway::Client::new(&sdk)).await;

    // Bad input: one clear line, non-zero exit.
    let bad = local.lab(&["--stack", "9bad", "status"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid --stack"));
}

/// Someone else's table with a stack's name, untagged: up refuses to adopt it, naming the resource
/// and the way out; down on the half-made stack succeeds and keeps it.
async fn assert_foreign_table_is_kept(local: &LocalStack, ddb: &aws_sdk_dynamodb::Client) {
    crate::common::aws::create_table(ddb, "foreign-table", None).await;
    let refused = local.try_up("foreign", &[]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not tagged lab:stack=foreign"), "{err}");
    let down = local.lab_json(&["--stack", "foreign", "down", "--yes"]);
    assert_eq!(
        crate::common::change(&down, "table")["action"],
        "kept",
        "{down}"
    );
    let table = ddb.describe_table().table_name("foreign-table").send().await;
    assert!(table.is_ok());
}

/// An up that fails half-way (here: someone else's REST API holds this stack's API name, after the
/// IAM, table and function steps ran) leaves nothing a re-run cannot converge.
async fn assert_half_made_stack_converges(local: &LocalStack, apigw: &aws_sdk_apigateway::Client) {
    let squatter = apigw.create_rest_api().name("half-api").send().await.unwrap();
    let broken = local.try_up("half", &[]);
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("not tagged lab:stack=half"), "{err}");
    local.assert_status("half", &[], 3);
    let squatter = apigw.delete_rest_api().rest_api_id(squatter.id().unwrap());
    squatter.send().await.unwrap();
    let finished = local.up_report("half", &[]);
    let action = |r: &str| crate::common::change(&finished, r)["action"].clone();
    assert_eq!(action("rest api"), "created");
    for reused in ["function", "table", "role", "policy"] {
        let why = format!("the {reused} from the failed run is reused");
        assert_eq!(action(reused), "unchanged", "{why}");
    }
    let url = finished["invoke_url"].as_str().unwrap();
    let (status, body) = crate::common::post(url, r#"{"operation":"ping"}"#).await;
    assert_eq!((status, body), (200, serde_json::json!("pong")));
    local.lab_ok(&["--stack", "half", "down", "--yes"]);
}
