//! `handler::handle`'s failures against a real moto server: every error kind, each named on one
//! line, and the events refused before any DynamoDB call.

mod common;

use common::handle::{dead_client, fails, parse, Table};
use common::moto::client;
use handler::{handle, ErrorKind};
use serde_json::json;

#[tokio::test]
async fn missing_table_is_not_found_for_every_operation() {
    let client = client();
    let key = json!({"id": "1"});
    let payloads = [
        ("create", json!({"Item": key.clone()})),
        ("read", json!({"Key": key.clone()})),
        (
            "update",
            json!({"Key": key.clone(), "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": 1}}),
        ),
        ("delete", json!({"Key": key.clone()})),
        ("list", json!({})),
    ];
    for (op, payload) in payloads {
        let err = fails(
            &client,
            json!({"operation": op, "tableName": "no-such-table", "payload": payload}),
        )
        .await;
        assert_eq!(err.kind, ErrorKind::NotFound, "{op}: {err}");
        assert_eq!(
            err.to_string(),
            "NotFound: table \"no-such-table\" does not exist",
            "{op}"
        );
    }
}

#[tokio::test]
async fn forbidden_table_is_refused_before_any_call() {
    let allowed = Some("lambda-apigateway");
    let event =
        json!({"operation": "read", "tableName": "other-table", "payload": {"Key": {"id": "1"}}});
    // Through a dead client: Internal would mean DynamoDB was called.
    let err = handle(&dead_client(), allowed, event.clone()).await.expect_err("forbidden");
    assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    assert!(
        err.to_string().starts_with("Forbidden: table \"other-table\""),
        "{err}"
    );
    // Every table operation is guarded, even with a payload that would not validate.
    for op in ["create", "read", "update", "delete", "list"] {
        let err = handle(
            &dead_client(),
            allowed,
            json!({"operation": op, "tableName": "x", "payload": 1}),
        )
        .await
        .expect_err("forbidden");
        assert_eq!(err.kind, ErrorKind::Forbidden, "{op}: {err}");
    }

    // And the allowed table does work.
    let table = Table::fresh("allowed").await;
    table.put(json!({"id": "1"})).await;
    let event = table.event("read", json!({"Key": {"id": "1"}}));
    let read = handle(&table.client, Some(&table.name), event).await.expect("allowed table");
    assert_eq!(read["Item"], json!({"id": "1"}));
    // echo/ping touch no table and stay available.
    assert_eq!(
        handle(&dead_client(), allowed, json!({"operation": "ping"})).await,
        Ok(json!("pong"))
    );
}

#[tokio::test]
async fn malformed_events_are_bad_requests_without_a_call() {
    let client = dead_client();
    let cases = [
        (
            json!([1, 2]),
            "BadRequest: the event must be a JSON object, got array",
        ),
        (
            json!({"tableName": "t"}),
            "BadRequest: the event is missing \"operation\"",
        ),
        (
            json!({"operation": null}),
            "BadRequest: \"operation\" must be a string, got null",
        ),
        (
            json!({"operation": "drop", "tableName": "t"}),
            "BadRequest: Unrecognized operation \"drop\"",
        ),
        (
            json!({"operation": "read", "payload": {"Key": {"id": "1"}}}),
            "BadRequest: the event is missing \"tableName\"",
        ),
        (
            json!({"operation": "create", "tableName": "t"}),
            "BadRequest: the event is missing \"payload\"",
        ),
        (
            json!({"operation": "list", "tableName": "t", "payload": "all"}),
            "BadRequest: \"payload\" must be an object, got string",
        ),
        (
            json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": "1"}, "Projection": "a"}}),
            "BadRequest: payload has unknown field \"Projection\" for operation \"read\"",
        ),
        (
            json!({"operation": "read", "tableName": "t", "payload": {"Key": {"name": "x"}}}),
            "BadRequest: payload.Key is missing the partition key \"id\"",
        ),
        (
            json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": 1}}}),
            "BadRequest: payload.Key.id must be a string",
        ),
        (
            json!({"operation": "delete", "tableName": "t", "payload": {"Key": {"id": ["1"]}}}),
            "BadRequest: payload.Key.id must be a string",
        ),
        (
            json!({"operation": "create", "tableName": "t", "payload": {"Item": {"name": "Bob"}}}),
            "BadRequest: payload.Item is missing the partition key \"id\"",
        ),
        (
            json!({"operation": "update", "tableName": "t", "payload": {"UpdateExpression": "SET a = :a"}}),
            "BadRequest: payload is missing \"Key\"",
        ),
        (
            json!({"operation": "create", "tableName": "t", "payload": {"Item": {"id": "1", "tags": {"$ss": []}}}}),
            "BadRequest: payload.Item.tags.$ss must be a non-empty array of strings",
        ),
        (
            json!({"operation": "create", "tableName": "t", "payload": {"Item": {"id": "1", "blob": {"$b": "not base64!"}}}}),
            "BadRequest: payload.Item.blob.$b is not valid base64",
        ),
    ];
    for (event, want) in cases {
        let shown = event.to_string();
        let err = fails(&client, event).await;
        assert_eq!(err.kind, ErrorKind::BadRequest, "{shown}: {err}");
        assert!(
            err.to_string().starts_with(want),
            "{shown}:\n got  {err}\n want {want}"
        );
    }
}

#[tokio::test]
async fn dynamodb_validation_errors_are_bad_requests() {
    let table = Table::fresh("validation").await;
    table.put(json!({"id": "v"})).await;
    let cases = [
        // Not a valid update expression.
        (
            "update",
            json!({"Key": {"id": "v"}, "UpdateExpression": "SET"}),
        ),
        // A key with an attribute that is not in the key schema.
        ("read", json!({"Key": {"id": "v", "extra": "x"}})),
        // An update that uses a value placeholder that was never defined.
        (
            "update",
            json!({"Key": {"id": "v"}, "UpdateExpression": "SET a = :undefined"}),
        ),
        // A filter that does not parse.
        ("list", json!({"FilterExpression": "a = = b"})),
        // A number beyond DynamoDB's range: kept exact by the handler, refused by DynamoDB.
        ("create", parse(r#"{"Item": {"id": "big", "n": 1e400}}"#)),
        // An empty string as key value.
        ("read", json!({"Key": {"id": ""}})),
    ];
    for (operation, payload) in cases {
        let shown = format!("{operation} {payload}");
        let err = table.fails(operation, payload).await;
        assert_eq!(err.kind, ErrorKind::BadRequest, "{shown}: {err}");
        assert!(
            err.to_string().starts_with("BadRequest: DynamoDB rejected the request: "),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
    }
}

#[tokio::test]
async fn unreachable_dynamodb_is_internal_without_credentials() {
    let err = fails(
        &dead_client(),
        json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": "1"}}}),
    )
    .await;
    assert_eq!(err.kind, ErrorKind::Internal, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("Internal: DynamoDB call failed: "),
        "{text}"
    );
    assert!(
        !text.contains("CANARY") && !text.contains("secret-canary-value"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn errors_become_lambda_diagnostics() {
    let err = fails(
        &client(),
        json!({"operation": "list", "tableName": "absent-table", "payload": {}}),
    )
    .await;
    let diag: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diag.error_type, "NotFound");
    assert_eq!(
        diag.error_message,
        "NotFound: table \"absent-table\" does not exist"
    );
}
