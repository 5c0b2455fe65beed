//! The local stack's hygiene, through the SDK: API Gateway's check of selection patterns holds with
//! strict mode off too, and refuses before moto stores anything.

use crate::common::aws::assert_error_code;
use crate::common::LocalStack;
use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_sdk_apigateway::types::{Op, PatchOperation};

/// A REST API with `POST /` on a MOCK integration; its id and the root resource's.
async fn api_with_a_method(gw: &aws_sdk_apigateway::Client) -> (String, String) {
    let api = gw.create_rest_api().name("hygiene").send().await.unwrap();
    let api_id = api.id().unwrap().to_string();
    let resources = gw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let root = resources.items()[0].id().unwrap().to_string();
    gw.put_method()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("POST")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    gw.put_integration()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("POST")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    (api_id, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_pattern_that_does_not_compile_is_refused_when_put() {
    let local = LocalStack::start_with(&[]);
    let gw = aws_sdk_apigateway::Client::new(&local.sdk().await);
    let (api_id, root) = api_with_a_method(&gw).await;
    let put = |pattern: &str| {
        gw.put_integration_response()
            .rest_api_id(&api_id)
            .resource_id(&root)
            .http_method("POST")
            .status_code("400")
            .selection_pattern(pattern)
            .send()
    };
    let stored = || {
        gw.get_integration_response()
            .rest_api_id(&api_id)
            .resource_id(&root)
            .http_method("POST")
            .status_code("400")
            .send()
    };

    let refused = put("BadRequest: (.*").await.unwrap_err();
    assert_eq!(refused.code(), Some("BadRequestException"), "{refused:?}");
    let message = refused.message().unwrap_or_default();
    assert!(
        message.contains("BadRequest: (.*") && message.contains("unclosed group"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    // Refused before moto stored it: there is no such integration response.
    let stored_now = stored().await;
    assert_error_code(stored_now, "NotFoundException", "a refused pattern in moto");

    put("BadRequest:.*").await.expect("a pattern that compiles is kept");
    let patch = PatchOperation::builder()
        .op(Op::Replace)
        .path("/selectionPattern")
        .value("[z-a]")
        .build();
    let refused = gw
        .update_integration_response()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("POST")
        .status_code("400")
        .patch_operations(patch)
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("BadRequestException"), "{refused:?}");
    let kept = stored().await.unwrap();
    assert_eq!(kept.selection_pattern(), Some("BadRequest:.*"));
    assert_eq!(local.refusals("invalid_selection_pattern"), 2);
}
