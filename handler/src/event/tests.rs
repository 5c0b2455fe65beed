//! Parsing and validation of the tutorial's events, field by field.

use super::*;
use crate::ErrorKind;
use serde_json::json;

fn ok(event: Value) -> Request {
    parse(event, None).expect("valid event")
}

fn err(event: Value) -> HandlerError {
    parse(event, None).expect_err("invalid event")
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.into())
}

#[test]
fn tutorial_events() {
    let create = ok(json!({
        "operation": "create", "tableName": "lambda-apigateway",
        "payload": {"Item": {"id": "1", "name": "Bob"}}
    }));
    let Request::Table {
        table,
        op: TableOp::Create(c),
    } = create
    else {
        panic!("not a create: {create:?}")
    };
    assert_eq!(table, "lambda-apigateway");
    assert_eq!(c.item.get("name"), Some(&s("Bob")));
    assert_eq!(c.condition_expression, None);

    let read = ok(json!({
        "operation": "read", "tableName": "lambda-apigateway",
        "payload": {"Key": {"id": "1"}}
    }));
    assert!(
        matches!(read, Request::Table { op: TableOp::Read(ref r), .. } if r.key.get("id") == Some(&s("1")))
    );

    let numeric = ok(json!({
        "operation": "create", "tableName": "lambda-apigateway",
        "payload": {"Item": {"id": "1234ABCD", "number": 5}}
    }));
    assert!(
        matches!(numeric, Request::Table { op: TableOp::Create(ref c), .. }
        if c.item.get("number") == Some(&AttributeValue::N("5".into())))
    );

    let list = ok(json!({"operation": "list", "tableName": "lambda-apigateway", "payload": {}}));
    assert!(matches!(list, Request::Table { op: TableOp::List(ref l), .. } if l.limit.is_none()));

    let echo = ok(
        json!({"operation": "echo", "payload": {"somekey1": "somevalue1", "somekey2": "somevalue2"}}),
    );
    assert_eq!(
        echo,
        Request::Echo(json!({"somekey1": "somevalue1", "somekey2": "somevalue2"}))
    );
}

#[test]
fn echo_and_ping_need_no_table_or_payload() {
    assert_eq!(ok(json!({"operation": "echo"})), Request::Echo(Value::Null));
    assert_eq!(
        ok(json!({"operation": "echo", "payload": [1, "x"]})),
        Request::Echo(json!([1, "x"]))
    );
    assert_eq!(ok(json!({"operation": "ping"})), Request::Ping);
    assert_eq!(
        ok(json!({"operation": "ping", "payload": 3})),
        Request::Ping
    );
    // They touch no table, so the allowed-table guard does not apply either.
    assert_eq!(
        parse(
            json!({"operation": "ping", "tableName": "other"}),
            Some("mine")
        ),
        Ok(Request::Ping)
    );
}

#[test]
fn update_fields_are_carried() {
    let update = ok(json!({
        "operation": "update", "tableName": "t",
        "payload": {
            "Key": {"id": "1"},
            "UpdateExpression": "SET #n = :v",
            "ConditionExpression": "attribute_exists(id)",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":v": 12345678901234567890u64},
            "ReturnValues": "ALL_NEW"
        }
    }));
    let Request::Table {
        op: TableOp::Update(u),
        ..
    } = update
    else {
        panic!("not an update: {update:?}")
    };
    assert_eq!(u.update_expression.as_deref(), Some("SET #n = :v"));
    assert_eq!(
        u.condition_expression.as_deref(),
        Some("attribute_exists(id)")
    );
    assert_eq!(
        u.expressions.names.as_ref().and_then(|n| n.get("#n")).map(String::as_str),
        Some("name")
    );
    assert_eq!(
        u.expressions.values.as_ref().and_then(|v| v.get(":v")),
        Some(&AttributeValue::N("12345678901234567890".into()))
    );
    assert_eq!(u.return_values, Some(ReturnValue::AllNew));
}

#[test]
fn list_fields_are_carried() {
    let list = ok(json!({
        "operation": "list", "tableName": "t",
        "payload": {
            "Limit": 10, "ExclusiveStartKey": {"id": "9"}, "FilterExpression": "n > :z",
            "ProjectionExpression": "id, n", "ExpressionAttributeValues": {":z": 0}
        }
    }));
    let Request::Table {
        op: TableOp::List(l),
        ..
    } = list
    else {
        panic!("not a list: {list:?}")
    };
    assert_eq!(l.limit, Some(10));
    assert_eq!(
        l.exclusive_start_key.and_then(|k| k.get("id").cloned()),
        Some(s("9"))
    );
    assert_eq!(l.filter_expression.as_deref(), Some("n > :z"));
    assert_eq!(l.projection_expression.as_deref(), Some("id, n"));
}

#[test]
fn read_and_delete_fields_are_carried() {
    let read = ok(json!({
        "operation": "read", "tableName": "t",
        "payload": {"Key": {"id": "1"}, "ConsistentRead": true, "ProjectionExpression": "#n",
                    "ExpressionAttributeNames": {"#n": "name"}}
    }));
    assert!(matches!(
        read,
        Request::Table {
            op: TableOp::Read(Read {
                consistent_read: Some(true),
                ..
            }),
            ..
        }
    ));

    let delete = ok(json!({
        "operation": "delete", "tableName": "t",
        "payload": {"Key": {"id": "1"}, "ReturnValues": "ALL_OLD", "ConditionExpression": "a = :a",
                    "ExpressionAttributeValues": {":a": {"$ss": ["x"]}}}
    }));
    assert!(matches!(
        delete,
        Request::Table {
            op: TableOp::Delete(Delete {
                return_values: Some(ReturnValue::AllOld),
                ..
            }),
            ..
        }
    ));
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!("hello"), "the event must be a JSON object, got string"),
        (json!({}), "the event is missing \"operation\""),
        (json!({"operation": 7}), "\"operation\" must be a string, got number"),
        (json!({"operation": "x"}), "Unrecognized operation \"x\""),
        (json!({"operation": "READ", "tableName": "t"}), "Unrecognized operation \"READ\""),
        (json!({"operation": "read", "payload": {}}), "the event is missing \"tableName\""),
        (json!({"operation": "read", "tableName": 1, "payload": {}}), "\"tableName\" must be a string, got number"),
        (json!({"operation": "read", "tableName": "", "payload": {}}), "\"tableName\" must not be empty"),
        (json!({"operation": "read", "tableName": "t"}), "the event is missing \"payload\""),
        (json!({"operation": "list", "tableName": "t", "payload": []}), "\"payload\" must be an object, got array"),
        (json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": "1"}, "Foo": 1}}),
            "payload has unknown field \"Foo\" for operation \"read\" (allowed: Key, ProjectionExpression, ConsistentRead, ExpressionAttributeNames)"),
        (json!({"operation": "list", "tableName": "t", "payload": {"B": 1, "A": 2}}),
            "payload has unknown fields \"A\", \"B\" for operation \"list\""),
        (json!({"operation": "create", "tableName": "t", "payload": {"Item": {"id": "1"}, "ReturnValues": "ALL_OLD"}}),
            "payload has unknown field \"ReturnValues\" for operation \"create\""),
        (json!({"operation": "read", "tableName": "t", "payload": {}}), "payload is missing \"Key\", which operation \"read\" needs"),
        (json!({"operation": "read", "tableName": "t", "payload": {"Key": {}}}), "payload.Key is missing the partition key \"id\""),
        (json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": 1}}}), "payload.Key.id must be a string"),
        (json!({"operation": "read", "tableName": "t", "payload": {"Key": "1"}}), "payload.Key must be an object, got string"),
        (json!({"operation": "create", "tableName": "t", "payload": {"Item": {"name": "Bob"}}}), "payload.Item is missing the partition key \"id\""),
        (json!({"operation": "update", "tableName": "t", "payload": {"Key": {"id": "1"}, "UpdateExpression": 5}}), "payload.UpdateExpression must be a string, got number"),
        (json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": "1"}, "ConsistentRead": "yes"}}), "payload.ConsistentRead must be a boolean, got string"),
        (json!({"operation": "list", "tableName": "t", "payload": {"Limit": 0}}), "payload.Limit must be a positive integer"),
        (json!({"operation": "list", "tableName": "t", "payload": {"Limit": 2.5}}), "payload.Limit must be a positive integer"),
        (json!({"operation": "list", "tableName": "t", "payload": {"Limit": 3000000000u64}}), "payload.Limit must be a positive integer"),
        (json!({"operation": "list", "tableName": "t", "payload": {"Limit": "5"}}), "payload.Limit must be a positive integer, got string"),
        (json!({"operation": "list", "tableName": "t", "payload": {"ExpressionAttributeNames": {"#a": 1}}}), "payload.ExpressionAttributeNames[\"#a\"] must be a string, got number"),
        (json!({"operation": "list", "tableName": "t", "payload": {"ExpressionAttributeNames": []}}), "payload.ExpressionAttributeNames must be an object, got array"),
        (json!({"operation": "list", "tableName": "t", "payload": {"ExpressionAttributeValues": {":a": {"$ns": []}}}}), "payload.ExpressionAttributeValues[\":a\"].$ns must be a non-empty array"),
        (json!({"operation": "delete", "tableName": "t", "payload": {"Key": {"id": "1"}, "ReturnValues": "ALL_NEW"}}),
            "payload.ReturnValues must be one of NONE, ALL_OLD for operation \"delete\", got \"ALL_NEW\""),
        (json!({"operation": "update", "tableName": "t", "payload": {"Key": {"id": "1"}, "ReturnValues": "all_new"}}),
            "payload.ReturnValues must be one of NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW"),
    ];
    for (event, want) in cases {
        let e = err(event.clone());
        assert_eq!(e.kind, ErrorKind::BadRequest, "for {event}");
        assert!(
            e.message.starts_with(want),
            "for {event}:\n got  {}\n want {want}",
            e.message
        );
    }
}

#[test]
fn forbidden_table_is_refused_before_the_payload_is_read() {
    let e = parse(
        json!({"operation": "read", "tableName": "secrets", "payload": "garbage"}),
        Some("lambda-apigateway"),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    assert!(e.message.contains("\"secrets\""), "{}", e.message);
    assert!(!e.message.contains("lambda-apigateway"), "{}", e.message);
    assert!(parse(
        json!({"operation": "list", "tableName": "lambda-apigateway", "payload": {}}),
        Some("lambda-apigateway")
    )
    .is_ok());
}

#[test]
fn hostile_names_are_quoted_on_one_line() {
    let e = err(json!({"operation": format!("x\ny{}", "z".repeat(500))}));
    assert!(!e.to_string().contains('\n'));
    assert!(e.message.len() < 200, "{}", e.message);
}

#[test]
fn nulls_mean_absent_for_optional_fields() {
    let r = ok(
        json!({"operation": "list", "tableName": "t", "payload": {"Limit": null, "FilterExpression": null}}),
    );
    assert!(matches!(
        r,
        Request::Table {
            op: TableOp::List(List {
                limit: None,
                filter_expression: None,
                ..
            }),
            ..
        }
    ));
}
