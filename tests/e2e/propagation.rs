//! The data plane's propagation on the strict stack, beside IAM's (tests/e2e/iam.rs): a stage serves
//! its deployment, not the API as it is now, and a new deployment only after a delay; GetRestApis
//! lags behind creates and deletes, and lab finds its own API by the id `up` recorded.

use std::time::{Duration, Instant};

use crate::common::{post, LocalStack};

const PING: &str = r#"{"operation":"ping","payload":{}}"#;

/// The API id in a stage URL (`.../restapis/{id}/prod/_user_request_/...`).
fn api_id(url: &str) -> String {
    url.split("/restapis/").nth(1).unwrap().split('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_serves_its_deployment_and_a_new_one_only_once_it_has_propagated() {
    // At time scale 0.2 a new deployment takes 1 s to reach the stage (5 s on AWS).
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.2"]);
    let stack = "deploylag";
    let url = local.up(stack, &[]);
    let api = api_id(&url);
    let gw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    let resources = gw.get_resources().rest_api_id(&api).send().await.unwrap();
    let rid = resources.items().iter().find(|r| r.path() == Some("/DynamoDBManager")).unwrap();
    let rid = rid.id().unwrap().to_string();
    // The integration now names a function that does not exist (API Gateway may not invoke it).
    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:nobody/invocations";
    let put = gw.put_integration().rest_api_id(&api).resource_id(&rid).http_method("POST");
    let put = put.r#type(aws_sdk_apigateway::types::IntegrationType::Aws);
    put.integration_http_method("POST").uri(uri).send().await.unwrap();
    // Not deployed: the stage still serves the deployment whose integration is the stack's function.
    let (status, body) = post(&url, PING).await;
    assert_eq!(status, 200, "an undeployed change was served: {body}");
    let deployed = Instant::now();
    let deploy = gw.create_deployment().rest_api_id(&api).stage_name("prod");
    deploy.send().await.unwrap();
    let (status, body) = post(&url, PING).await;
    assert_eq!(status, 200, "the new deployment was served at once: {body}");
    let (status, body) = loop {
        let (status, body) = post(&url, PING).await;
        if status != 200 || deployed.elapsed() > Duration::from_secs(20) {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = deployed.elapsed();
    assert_eq!(status, 500, "after {:?}: {body}", deployed.elapsed());
    assert_eq!(
        body,
        serde_json::json!({"message": "Internal server error"})
    );
    assert!(
        took >= Duration::from_millis(900),
        "served after {took:?}, before it propagated"
    );
    assert!(local.refusals("deployment_not_live") >= 1);
    // up repairs the integration and deploys, and returns only once the stage serves it.
    local.lab_ok(&[
        "--stack",
        stack,
        "up",
        "--bootstrap",
        crate::common::bootstrap_bin().to_str().unwrap(),
    ]);
    let (status, body) = post(&url, PING).await;
    assert_eq!(status, 200, "the stage right after up: {body}");
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_rest_apis_lags_behind_a_create_and_a_delete_while_get_rest_api_does_not() {
    // At time scale 0.5 GetRestApis lags 1.5 s behind (3 s at 1.0).
    let local = LocalStack::start_with(&["--strict", "--time-scale", "0.5"]);
    let gw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    let listed = |gw: aws_sdk_apigateway::Client, id: String| async move {
        let page = gw.get_rest_apis().limit(500).send().await.unwrap();
        page.items().iter().any(|a| a.id() == Some(id.as_str()))
    };
    let created = gw.create_rest_api().name("lag").send().await.unwrap();
    let id = created.id().unwrap().to_string();
    assert!(!listed(gw.clone(), id.clone()).await, "listed at once");
    gw.get_rest_api()
        .rest_api_id(&id)
        .send()
        .await
        .expect("GetRestApi by id answers at once");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !listed(gw.clone(), id.clone()).await {
        assert!(Instant::now() < deadline, "never listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gw.delete_rest_api().rest_api_id(&id).send().await.unwrap();
    assert!(
        listed(gw.clone(), id.clone()).await,
        "a deleted API left the listing at once"
    );
    let gone = gw.get_rest_api().rest_api_id(&id).send().await.unwrap_err();
    assert_eq!(
        gone.into_service_error().meta().code(),
        Some("NotFoundException")
    );
    while listed(gw.clone(), id.clone()).await {
        assert!(Instant::now() < deadline, "a deleted API stayed listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(local.refusals("rest_api_list_lag") >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_finds_its_api_by_the_id_up_recorded_and_drops_a_stale_record() {
    let local = LocalStack::start(&[]);
    let stack = "apirecord";
    let url = local.up(stack, &[]);
    let api = api_id(&url);
    let records: Vec<_> = std::fs::read_dir(local.home.join("stacks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(stack))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(std::fs::read_to_string(&records[0]).unwrap(), api);
    // The record names an API someone else deleted: lab drops it and finds the stack absent.
    let gw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    gw.delete_rest_api().rest_api_id(&api).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = local.lab(&["--stack", stack, "-o", "json", "status"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let resources = status["resources"].as_array().unwrap();
        let api_status = resources.iter().find(|r| r["resource"] == "rest api").unwrap();
        if api_status["exists"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status still finds the deleted API: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!records[0].exists(), "the stale record was kept");
    local.lab_ok(&["--stack", stack, "down", "--yes"]);
}
