//! `handler::handle` against a real moto server: every operation, the tutorial's events as written,
//! exact numbers, and every error kind.

mod common;

use common::moto::{client, create_table, fresh_table};
use handler::{handle, ErrorKind, HandlerError};
use serde_json::{json, Value};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

async fn ok(client: &aws_sdk_dynamodb::Client, event: Value) -> Value {
    let shown = event.to_string();
    handle(client, None, event)
        .await
        .unwrap_or_else(|e| panic!("{shown} failed: {e}"))
}

async fn fails(client: &aws_sdk_dynamodb::Client, event: Value) -> HandlerError {
    let shown = event.to_string();
    match handle(client, None, event).await {
        Ok(v) => panic!("{shown} succeeded with {v}"),
        Err(e) => e,
    }
}

fn assert_metadata(response: &Value) {
    let meta = &response["ResponseMetadata"];
    assert_eq!(meta["HTTPStatusCode"], 200, "{response}");
    assert_eq!(meta["RetryAttempts"], 0, "{response}");
    assert!(meta["RequestId"].is_string(), "{response}");
}

/// A client whose endpoint refuses connections: any DynamoDB call through it fails as Internal, so a
/// different error proves the handler never called DynamoDB.
fn dead_client() -> aws_sdk_dynamodb::Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(handler::https_client())
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDSECRETCANARY",
            "secret-canary-value",
            None,
            None,
            "dead",
        ))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Sorts the items of a Scan answer by id, since scan order is not part of the contract.
fn items_by_id(response: &Value) -> Vec<Value> {
    let mut items = response["Items"].as_array().cloned().unwrap_or_default();
    items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    items
}

#[tokio::test]
async fn tutorial_events_as_written() {
    let client = client();
    // The one test that uses the tutorial's own table name, so the events below are verbatim.
    create_table(&client, "lambda-apigateway").await;

    let created = ok(
        &client,
        parse(
            r#"{
    "operation": "create",
    "tableName": "lambda-apigateway",
    "payload": {
        "Item": {
            "id": "1",
            "name": "Bob"
        }
    }
}"#,
        ),
    )
    .await;
    assert_metadata(&created);
    assert_eq!(created.as_object().map(|o| o.len()), Some(1), "{created}");

    let read = ok(
        &client,
        parse(
            r#"{
    "operation": "read",
    "tableName": "lambda-apigateway",
    "payload": {
        "Key": {
            "id": "1"
        }
    }
}"#,
        ),
    )
    .await;
    assert_metadata(&read);
    assert_eq!(read["Item"], json!({"id": "1", "name": "Bob"}));

    let numeric = ok(
        &client,
        parse(
            r#"{
    "operation": "create",
    "tableName": "lambda-apigateway",
    "payload": {
        "Item": {
            "id": "1234ABCD",
            "number": 5
        }
    }
}"#,
        ),
    )
    .await;
    assert_metadata(&numeric);

    let listed = ok(
        &client,
        parse(
            r#"{
    "operation": "list",
    "tableName": "lambda-apigateway",
    "payload": {
    }
}"#,
        ),
    )
    .await;
    assert_metadata(&listed);
    assert_eq!(listed["Count"], 2);
    assert_eq!(listed["ScannedCount"], 2);
    assert!(listed.get("LastEvaluatedKey").is_none(), "{listed}");
    let items = items_by_id(&listed);
    assert_eq!(
        items,
        vec![
            json!({"id": "1", "name": "Bob"}),
            json!({"id": "1234ABCD", "number": 5})
        ]
    );
    // The Python handler dies here with "Decimal is not JSON serializable"; this one keeps 5 an integer.
    assert_eq!(serde_json::to_string(&items[1]["number"]).unwrap(), "5");

    // The power-tuning input's payload.
    let tuning = ok(
        &client,
        parse(r#"{"operation": "list", "tableName": "lambda-apigateway", "payload": {}}"#),
    )
    .await;
    assert_eq!(tuning["Count"], 2);

    let echoed = ok(
        &client,
        parse(
            r#"{
    "operation": "echo",
    "payload": {
        "somekey1": "somevalue1",
        "somekey2": "somevalue2"
    }
}"#,
        ),
    )
    .await;
    assert_eq!(
        echoed,
        json!({"somekey1": "somevalue1", "somekey2": "somevalue2"})
    );
}

#[tokio::test]
async fn echo_and_ping() {
    // Neither touches DynamoDB, so a dead client must do.
    let client = dead_client();
    assert_eq!(
        ok(&client, json!({"operation": "ping"})).await,
        json!("pong")
    );
    assert_eq!(
        ok(&client, json!({"operation": "ping", "payload": {"x": 1}})).await,
        json!("pong")
    );
    assert_eq!(ok(&client, json!({"operation": "echo"})).await, Value::Null);
    let big = parse(r#"{"n": 12345678901234567890.5, "l": [1, "a", null, true]}"#);
    let back = ok(
        &client,
        json!({"operation": "echo", "payload": big.clone()}),
    )
    .await;
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(&big).unwrap()
    );
}

#[tokio::test]
async fn numbers_round_trip_exactly() {
    let client = client();
    let table = fresh_table(&client, "numbers").await;
    let item_text = r#"{
        "id": "n1",
        "big": 12345678901234567890.5,
        "five": 5,
        "huge_int": 123456789012345678901234567890,
        "tiny": -0.000001,
        "neg": -42,
        "nested": {"list": [1, 2.5, 99999999999999999999], "map": {"pi": 3.14159265358979323846264338327}},
        "set": {"$ns": [7, 12345678901234567890.5]}
    }"#;
    let item = parse(item_text);
    ok(
        &client,
        json!({"operation": "create", "tableName": table, "payload": {"Item": item.clone()}}),
    )
    .await;
    let read = ok(
        &client,
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "n1"}}}),
    )
    .await;
    let got = &read["Item"];
    for field in ["big", "five", "huge_int", "tiny", "neg", "nested"] {
        assert_eq!(
            serde_json::to_string(&got[field]).unwrap(),
            serde_json::to_string(&item[field]).unwrap(),
            "field {field}"
        );
    }
    assert_eq!(
        serde_json::to_string(&got["big"]).unwrap(),
        "12345678901234567890.5"
    );
    assert_eq!(serde_json::to_string(&got["five"]).unwrap(), "5");
    let mut set: Vec<String> = got["set"]["$ns"]
        .as_array()
        .expect("number set")
        .iter()
        .map(|n| serde_json::to_string(n).unwrap())
        .collect();
    set.sort();
    assert_eq!(set, ["12345678901234567890.5", "7"]);

    // Arithmetic happens in DynamoDB's decimal, and the answer comes back exact too.
    let updated = ok(
        &client,
        json!({"operation": "update", "tableName": table, "payload": {
            "Key": {"id": "n1"},
            "UpdateExpression": "SET big = big + :one",
            "ExpressionAttributeValues": {":one": 1},
            "ReturnValues": "UPDATED_NEW"
        }}),
    )
    .await;
    assert_eq!(
        serde_json::to_string(&updated["Attributes"]).unwrap(),
        r#"{"big":12345678901234567891.5}"#
    );
}

#[tokio::test]
async fn every_value_type_round_trips() {
    let client = client();
    let table = fresh_table(&client, "types").await;
    let item = json!({
        "id": "t1",
        "s": "text with \"quotes\" and ünïcödé",
        "empty": "",
        "yes": true,
        "no": false,
        "nothing": null,
        "list": [1, "two", [3], {"four": 4}, null],
        "map": {"a": {"b": {"c": "deep"}}},
        "empty_map": {},
        "empty_list": [],
        "ss": {"$ss": ["a", "b"]},
        "ns": {"$ns": [1, 2]},
        "bs": {"$bs": ["/w==", "AAE="]},
        "b": {"$b": "AAH/"}
    });
    ok(
        &client,
        json!({"operation": "create", "tableName": table, "payload": {"Item": item.clone()}}),
    )
    .await;
    let read = ok(&client, json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "t1"}, "ConsistentRead": true}})).await;
    let mut got = read["Item"].clone();
    // Sets are unordered in DynamoDB.
    for (field, tag) in [("ss", "$ss"), ("ns", "$ns"), ("bs", "$bs")] {
        if let Some(a) = got[field][tag].as_array_mut() {
            a.sort_by_key(|v| v.to_string());
        }
    }
    assert_eq!(got, item);
}

#[tokio::test]
async fn read_of_a_missing_item_has_no_item() {
    let client = client();
    let table = fresh_table(&client, "missing-item").await;
    let read = ok(
        &client,
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "nope"}}}),
    )
    .await;
    assert!(read.get("Item").is_none(), "{read}");
    assert_metadata(&read);
}

#[tokio::test]
async fn read_with_projection() {
    let client = client();
    let table = fresh_table(&client, "projection").await;
    ok(&client, json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": "p", "name": "Ann", "age": 40, "secret": "x"}}})).await;
    let read = ok(
        &client,
        json!({"operation": "read", "tableName": table, "payload": {
            "Key": {"id": "p"},
            "ProjectionExpression": "#n, age",
            "ExpressionAttributeNames": {"#n": "name"},
            "ConsistentRead": true
        }}),
    )
    .await;
    assert_eq!(read["Item"], json!({"name": "Ann", "age": 40}));
}

#[tokio::test]
async fn update_all_forms() {
    let client = client();
    let table = fresh_table(&client, "update").await;
    ok(&client, json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": "u", "name": "Bob", "count": 1}}})).await;

    let plain = ok(
        &client,
        json!({"operation": "update", "tableName": table, "payload": {
            "Key": {"id": "u"},
            "UpdateExpression": "SET #n = :name",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":name": "Robert"}
        }}),
    )
    .await;
    assert!(plain.get("Attributes").is_none(), "{plain}");
    assert_metadata(&plain);

    let all_new = ok(
        &client,
        json!({"operation": "update", "tableName": table, "payload": {
            "Key": {"id": "u"},
            "UpdateExpression": "SET #c = #c + :inc, tags = :tags",
            "ConditionExpression": "attribute_exists(id)",
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": {":inc": 2, ":tags": {"$ss": ["x"]}},
            "ReturnValues": "ALL_NEW"
        }}),
    )
    .await;
    assert_eq!(
        all_new["Attributes"],
        json!({"id": "u", "name": "Robert", "count": 3, "tags": {"$ss": ["x"]}})
    );

    let updated_old = ok(
        &client,
        json!({"operation": "update", "tableName": table, "payload": {
            "Key": {"id": "u"},
            "UpdateExpression": "REMOVE tags",
            "ReturnValues": "UPDATED_OLD"
        }}),
    )
    .await;
    assert_eq!(updated_old["Attributes"], json!({"tags": {"$ss": ["x"]}}));

    let conflict = fails(
        &client,
        json!({"operation": "update", "tableName": table, "payload": {
            "Key": {"id": "u"},
            "UpdateExpression": "SET #c = :zero",
            "ConditionExpression": "#c > :big",
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": {":zero": 0, ":big": 100}
        }}),
    )
    .await;
    assert_eq!(conflict.kind, ErrorKind::Conflict, "{conflict}");
    assert!(conflict.to_string().starts_with("Conflict: "), "{conflict}");
}

#[tokio::test]
async fn delete_all_forms() {
    let client = client();
    let table = fresh_table(&client, "delete").await;
    for id in ["d1", "d2"] {
        ok(&client, json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": id, "v": 1}}})).await;
    }
    let plain = ok(
        &client,
        json!({"operation": "delete", "tableName": table, "payload": {"Key": {"id": "d1"}}}),
    )
    .await;
    assert!(plain.get("Attributes").is_none(), "{plain}");
    assert_metadata(&plain);

    let conflict = fails(
        &client,
        json!({"operation": "delete", "tableName": table, "payload": {
            "Key": {"id": "d2"},
            "ConditionExpression": "v = :two",
            "ExpressionAttributeValues": {":two": 2}
        }}),
    )
    .await;
    assert_eq!(conflict.kind, ErrorKind::Conflict, "{conflict}");

    let old = ok(
        &client,
        json!({"operation": "delete", "tableName": table, "payload": {
            "Key": {"id": "d2"},
            "ConditionExpression": "#v = :one",
            "ExpressionAttributeNames": {"#v": "v"},
            "ExpressionAttributeValues": {":one": 1},
            "ReturnValues": "ALL_OLD"
        }}),
    )
    .await;
    assert_eq!(old["Attributes"], json!({"id": "d2", "v": 1}));

    let listed = ok(
        &client,
        json!({"operation": "list", "tableName": table, "payload": {}}),
    )
    .await;
    assert_eq!(listed["Count"], 0);
    assert_eq!(listed["Items"], json!([]));
}

#[tokio::test]
async fn list_pages_filters_and_projects() {
    let client = client();
    let table = fresh_table(&client, "list").await;
    for i in 0..7 {
        let item = json!({"id": format!("item-{i}"), "n": i, "name": format!("name {i}")});
        ok(
            &client,
            json!({"operation": "create", "tableName": table, "payload": {"Item": item}}),
        )
        .await;
    }

    // Page through with Limit and ExclusiveStartKey, exactly as a boto3 caller would.
    let mut seen = Vec::new();
    let mut start: Option<Value> = None;
    let mut pages = 0;
    loop {
        let mut payload = json!({"Limit": 3});
        if let Some(key) = start.take() {
            payload["ExclusiveStartKey"] = key;
        }
        let page = ok(
            &client,
            json!({"operation": "list", "tableName": table, "payload": payload}),
        )
        .await;
        assert_metadata(&page);
        pages += 1;
        for item in page["Items"].as_array().expect("Items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.get("LastEvaluatedKey") {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    seen.sort();
    assert_eq!(seen.len(), 7, "{seen:?}");
    seen.dedup();
    assert_eq!(seen.len(), 7, "duplicates across pages");
    assert!(pages >= 3, "only {pages} pages");

    let filtered = ok(
        &client,
        json!({"operation": "list", "tableName": table, "payload": {
            "FilterExpression": "n >= :min",
            "ProjectionExpression": "id, #n",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":min": 5}
        }}),
    )
    .await;
    assert_eq!(filtered["Count"], 2, "{filtered}");
    assert_eq!(filtered["ScannedCount"], 7, "{filtered}");
    assert_eq!(
        items_by_id(&filtered),
        vec![
            json!({"id": "item-5", "name": "name 5"}),
            json!({"id": "item-6", "name": "name 6"})
        ]
    );
}

#[tokio::test]
async fn create_with_condition_conflicts_on_existing_item() {
    let client = client();
    let table = fresh_table(&client, "conflict").await;
    let event = json!({"operation": "create", "tableName": table, "payload": {
        "Item": {"id": "c", "v": 1},
        "ConditionExpression": "attribute_not_exists(#id)",
        "ExpressionAttributeNames": {"#id": "id"}
    }});
    ok(&client, event.clone()).await;
    let err = fails(&client, event).await;
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert!(err.to_string().starts_with("Conflict: "), "{err}");
    // The stored item is untouched.
    let read = ok(
        &client,
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "c"}}}),
    )
    .await;
    assert_eq!(read["Item"], json!({"id": "c", "v": 1}));

    let values = fails(
        &client,
        json!({"operation": "create", "tableName": table, "payload": {
            "Item": {"id": "c", "v": 2},
            "ConditionExpression": "v = :other",
            "ExpressionAttributeValues": {":other": 9}
        }}),
    )
    .await;
    assert_eq!(values.kind, ErrorKind::Conflict, "{values}");
}

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
    let err = handle(&dead_client(), allowed, event.clone())
        .await
        .expect_err("forbidden");
    assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    assert!(
        err.to_string()
            .starts_with("Forbidden: table \"other-table\""),
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
    let client = client();
    let table = fresh_table(&client, "allowed").await;
    ok(
        &client,
        json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": "1"}}}),
    )
    .await;
    let read = handle(
        &client,
        Some(&table),
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "1"}}}),
    )
    .await
    .expect("allowed table");
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
    let client = client();
    let table = fresh_table(&client, "validation").await;
    ok(
        &client,
        json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": "v"}}}),
    )
    .await;
    let cases = [
        // Not a valid update expression.
        json!({"operation": "update", "tableName": table, "payload": {"Key": {"id": "v"}, "UpdateExpression": "SET"}}),
        // A key with an attribute that is not in the key schema.
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": "v", "extra": "x"}}}),
        // An update that uses a value placeholder that was never defined.
        json!({"operation": "update", "tableName": table, "payload": {"Key": {"id": "v"}, "UpdateExpression": "SET a = :undefined"}}),
        // A filter that does not parse.
        json!({"operation": "list", "tableName": table, "payload": {"FilterExpression": "a = = b"}}),
        // A number beyond DynamoDB's range: kept exact by the handler, refused by DynamoDB.
        parse(&format!(
            r#"{{"operation": "create", "tableName": "{table}", "payload": {{"Item": {{"id": "big", "n": 1e400}}}}}}"#
        )),
        // An empty string as key value.
        json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": ""}}}),
    ];
    for event in cases {
        let shown = event.to_string();
        let err = fails(&client, event).await;
        assert_eq!(err.kind, ErrorKind::BadRequest, "{shown}: {err}");
        assert!(
            err.to_string()
                .starts_with("BadRequest: DynamoDB rejected the request: "),
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
