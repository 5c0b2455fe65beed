//! Parsing and validating the tutorial's event, `{"operation": OP, "tableName": T, "payload": P}`.
//!
//! Everything that can be checked without DynamoDB is checked here, so a bad event costs no network call
//! and its error names the exact field. The checks run in a fixed order: the operation, then the table
//! (including the allowed-table guard, so a forbidden table is refused whatever its payload), then the
//! payload's shape, its field names, and each field's type.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::{Map, Value};

use crate::convert::{json_type, to_item, Path};
use crate::error::{quote, HandlerError};

/// A DynamoDB item, key or expression value map.
pub type Item = HashMap<String, AttributeValue>;

/// The table's partition key, fixed by the tutorial (`id`, type S).
pub const PARTITION_KEY: &str = "id";

/// The operations the tutorial's handler knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// PutItem.
    Create,
    /// GetItem.
    Read,
    /// UpdateItem.
    Update,
    /// DeleteItem.
    Delete,
    /// Scan.
    List,
    /// Returns the payload unchanged.
    Echo,
    /// Returns `"pong"`.
    Ping,
}

impl Operation {
    /// Parses the `operation` field (case-sensitive, as in the Python handler).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "create" => Operation::Create,
            "read" => Operation::Read,
            "update" => Operation::Update,
            "delete" => Operation::Delete,
            "list" => Operation::List,
            "echo" => Operation::Echo,
            "ping" => Operation::Ping,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Echo => "echo",
            Operation::Ping => "ping",
        }
    }

    /// The payload fields this operation accepts (boto3's parameter names).
    pub fn payload_fields(self) -> &'static [&'static str] {
        match self {
            Operation::Create => &[
                "Item",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
            ],
            Operation::Read => &[
                "Key",
                "ProjectionExpression",
                "ConsistentRead",
                "ExpressionAttributeNames",
            ],
            Operation::Update => &[
                "Key",
                "UpdateExpression",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValues",
            ],
            Operation::Delete => &[
                "Key",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValues",
            ],
            Operation::List => &[
                "Limit",
                "ExclusiveStartKey",
                "FilterExpression",
                "ProjectionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
            ],
            Operation::Echo | Operation::Ping => &[],
        }
    }
}

/// A validated event.
// Built once per invocation and consumed at once, so the size gap between variants costs nothing;
// boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Return this value unchanged (`null` when the event had no payload).
    Echo(Value),
    /// Return `"pong"`.
    Ping,
    /// A DynamoDB operation on `table`.
    Table {
        /// The table name, already checked against the allowed table.
        table: String,
        /// The operation and its parameters.
        op: TableOp,
    },
}

/// A DynamoDB operation with its converted parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TableOp {
    /// PutItem.
    Create(Create),
    /// GetItem.
    Read(Read),
    /// UpdateItem.
    Update(Update),
    /// DeleteItem.
    Delete(Delete),
    /// Scan.
    List(List),
}

/// Expression attribute names and values, shared by every operation that takes expressions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expressions {
    /// `ExpressionAttributeNames`.
    pub names: Option<HashMap<String, String>>,
    /// `ExpressionAttributeValues`.
    pub values: Option<Item>,
}

/// PutItem parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    /// `Item`, containing a string `id`.
    pub item: Item,
    /// `ConditionExpression`.
    pub condition_expression: Option<String>,
    /// `ExpressionAttributeNames/Values`.
    pub expressions: Expressions,
}

/// GetItem parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// `Key`, containing a string `id`.
    pub key: Item,
    /// `ProjectionExpression`.
    pub projection_expression: Option<String>,
    /// `ConsistentRead`.
    pub consistent_read: Option<bool>,
    /// `ExpressionAttributeNames` (GetItem takes no values).
    pub names: Option<HashMap<String, String>>,
}

/// UpdateItem parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// `Key`, containing a string `id`.
    pub key: Item,
    /// `UpdateExpression`.
    pub update_expression: Option<String>,
    /// `ConditionExpression`.
    pub condition_expression: Option<String>,
    /// `ExpressionAttributeNames/Values`.
    pub expressions: Expressions,
    /// `ReturnValues`.
    pub return_values: Option<ReturnValue>,
}

/// DeleteItem parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// `Key`, containing a string `id`.
    pub key: Item,
    /// `ConditionExpression`.
    pub condition_expression: Option<String>,
    /// `ExpressionAttributeNames/Values`.
    pub expressions: Expressions,
    /// `ReturnValues`.
    pub return_values: Option<ReturnValue>,
}

/// Scan parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// `Limit`.
    pub limit: Option<i32>,
    /// `ExclusiveStartKey` (the previous page's `LastEvaluatedKey`).
    pub exclusive_start_key: Option<Item>,
    /// `FilterExpression`.
    pub filter_expression: Option<String>,
    /// `ProjectionExpression`.
    pub projection_expression: Option<String>,
    /// `ExpressionAttributeNames/Values`.
    pub expressions: Expressions,
}

/// Validates an event and converts its payload into DynamoDB parameters.
///
/// `allowed_table`, when set, is the only table a table operation may name; any other is `Forbidden`.
pub fn parse(event: Value, allowed_table: Option<&str>) -> Result<Request, HandlerError> {
    let mut event = match event {
        Value::Object(map) => map,
        other => {
            return Err(HandlerError::bad_request(format!(
                "the event must be a JSON object, got {}",
                json_type(&other)
            )))
        }
    };
    let op = match event.get("operation") {
        None => {
            return Err(HandlerError::bad_request(
                "the event is missing \"operation\" (one of create, read, update, delete, list, echo, ping)",
            ))
        }
        Some(Value::String(name)) => Operation::parse(name).ok_or_else(|| {
            HandlerError::bad_request(format!(
                "Unrecognized operation {} (expected one of create, read, update, delete, list, echo, ping)",
                quote(name)
            ))
        })?,
        Some(other) => {
            return Err(HandlerError::bad_request(format!(
                "\"operation\" must be a string, got {}",
                json_type(other)
            )))
        }
    };
    match op {
        Operation::Echo => {
            return Ok(Request::Echo(
                event.remove("payload").unwrap_or(Value::Null),
            ))
        }
        Operation::Ping => return Ok(Request::Ping),
        _ => {}
    }

    let table = match event.remove("tableName") {
        Some(Value::String(t)) if !t.is_empty() => t,
        Some(Value::String(_)) => {
            return Err(HandlerError::bad_request("\"tableName\" must not be empty"))
        }
        Some(other) => {
            return Err(HandlerError::bad_request(format!(
                "\"tableName\" must be a string, got {}",
                json_type(&other)
            )))
        }
        None => {
            return Err(HandlerError::bad_request(format!(
                "the event is missing \"tableName\", which operation \"{}\" needs",
                op.as_str()
            )))
        }
    };
    if let Some(allowed) = allowed_table {
        if table != allowed {
            // The allowed name is deliberately not echoed back: callers need not learn it.
            return Err(HandlerError::forbidden(format!(
                "table {} is not allowed: this function serves only the table set in {}",
                quote(&table),
                crate::ALLOWED_TABLE_ENV
            )));
        }
    }

    let payload = match event.remove("payload") {
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(HandlerError::bad_request(format!(
                "\"payload\" must be an object, got {}",
                json_type(&other)
            )))
        }
        None => {
            return Err(HandlerError::bad_request(format!(
            "the event is missing \"payload\", which operation \"{}\" needs (use {{}} for none)",
            op.as_str()
        )))
        }
    };
    let mut p = Payload::new(op, payload)?;
    let op = match op {
        Operation::Create => TableOp::Create(Create {
            item: p.keyed_item("Item")?,
            condition_expression: p.string("ConditionExpression")?,
            expressions: p.expressions()?,
        }),
        Operation::Read => TableOp::Read(Read {
            key: p.keyed_item("Key")?,
            projection_expression: p.string("ProjectionExpression")?,
            consistent_read: p.boolean("ConsistentRead")?,
            names: p.names()?,
        }),
        Operation::Update => TableOp::Update(Update {
            key: p.keyed_item("Key")?,
            update_expression: p.string("UpdateExpression")?,
            condition_expression: p.string("ConditionExpression")?,
            expressions: p.expressions()?,
            return_values: p.return_values(&[
                ReturnValue::None,
                ReturnValue::AllOld,
                ReturnValue::UpdatedOld,
                ReturnValue::AllNew,
                ReturnValue::UpdatedNew,
            ])?,
        }),
        Operation::Delete => TableOp::Delete(Delete {
            key: p.keyed_item("Key")?,
            condition_expression: p.string("ConditionExpression")?,
            expressions: p.expressions()?,
            return_values: p.return_values(&[ReturnValue::None, ReturnValue::AllOld])?,
        }),
        Operation::List => TableOp::List(List {
            limit: p.limit("Limit")?,
            exclusive_start_key: p.item("ExclusiveStartKey")?,
            filter_expression: p.string("FilterExpression")?,
            projection_expression: p.string("ProjectionExpression")?,
            expressions: p.expressions()?,
        }),
        Operation::Echo | Operation::Ping => unreachable_table_op(op)?,
    };
    Ok(Request::Table { table, op })
}

/// Echo and ping return before the table is looked at; this keeps the match total without a panic.
fn unreachable_table_op(op: Operation) -> Result<TableOp, HandlerError> {
    Err(HandlerError::internal(format!(
        "operation \"{}\" does not use a table",
        op.as_str()
    )))
}

/// The payload object of a table operation, consumed field by field.
struct Payload {
    op: Operation,
    map: Map<String, Value>,
}

impl Payload {
    /// Rejects unknown fields up front: boto3 would raise on them too, and a misspelt
    /// `ConditionExpression` silently ignored would turn a guarded write into an unguarded one.
    fn new(op: Operation, map: Map<String, Value>) -> Result<Self, HandlerError> {
        let allowed = op.payload_fields();
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| quote(k))
            .collect();
        if !unknown.is_empty() {
            let (noun, list) = if unknown.len() == 1 {
                ("field", unknown[0].clone())
            } else {
                ("fields", unknown.join(", "))
            };
            return Err(HandlerError::bad_request(format!(
                "payload has unknown {noun} {list} for operation \"{}\" (allowed: {})",
                op.as_str(),
                allowed.join(", ")
            )));
        }
        Ok(Payload { op, map })
    }

    fn string(&mut self, name: &str) -> Result<Option<String>, HandlerError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(name, "a string", &other)),
        }
    }

    fn boolean(&mut self, name: &str) -> Result<Option<bool>, HandlerError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(type_error(name, "a boolean", &other)),
        }
    }

    fn limit(&mut self, name: &str) -> Result<Option<i32>, HandlerError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| i32::try_from(n).ok()) {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(HandlerError::bad_request(format!(
                    "payload.{name} must be a positive integer no larger than {}, got {n}",
                    i32::MAX
                ))),
            },
            Some(other) => Err(type_error(name, "a positive integer", &other)),
        }
    }

    fn item(&mut self, name: &str) -> Result<Option<Item>, HandlerError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let root = Path::root("payload");
                to_item(value, &root.key(name)).map(Some)
            }
        }
    }

    /// A required `Key` or `Item`, which must carry the table's string partition key.
    fn keyed_item(&mut self, name: &str) -> Result<Item, HandlerError> {
        let value = match self.map.remove(name) {
            None | Some(Value::Null) => {
                return Err(HandlerError::bad_request(format!(
                    "payload is missing \"{name}\", which operation \"{}\" needs",
                    self.op.as_str()
                )))
            }
            Some(value) => value,
        };
        if let Value::Object(map) = &value {
            match map.get(PARTITION_KEY) {
                None => {
                    return Err(HandlerError::bad_request(format!(
                        "payload.{name} is missing the partition key \"{PARTITION_KEY}\""
                    )))
                }
                Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(HandlerError::bad_request(format!(
                        "payload.{name}.{PARTITION_KEY} must be a string (the partition key is type S), got {}",
                        json_type(other)
                    )))
                }
            }
        }
        let root = Path::root("payload");
        to_item(value, &root.key(name))
    }

    fn names(&mut self) -> Result<Option<HashMap<String, String>>, HandlerError> {
        const NAME: &str = "ExpressionAttributeNames";
        match self.map.remove(NAME) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => {
                let mut out = HashMap::with_capacity(map.len());
                for (k, v) in map {
                    match v {
                        Value::String(s) => {
                            out.insert(k, s);
                        }
                        other => {
                            let root = Path::root("payload");
                            let field = root.key(NAME);
                            return Err(HandlerError::bad_request(format!(
                                "{} must be a string, got {}",
                                field.key(&k),
                                json_type(&other)
                            )));
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(other) => Err(type_error(NAME, "an object", &other)),
        }
    }

    fn expressions(&mut self) -> Result<Expressions, HandlerError> {
        Ok(Expressions {
            names: self.names()?,
            values: self.item("ExpressionAttributeValues")?,
        })
    }

    fn return_values(
        &mut self,
        allowed: &[ReturnValue],
    ) -> Result<Option<ReturnValue>, HandlerError> {
        let Some(text) = self.string("ReturnValues")? else {
            return Ok(None);
        };
        match allowed.iter().find(|rv| rv.as_str() == text) {
            Some(rv) => Ok(Some(rv.clone())),
            None => Err(HandlerError::bad_request(format!(
                "payload.ReturnValues must be one of {} for operation \"{}\", got {}",
                allowed
                    .iter()
                    .map(ReturnValue::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                self.op.as_str(),
                quote(&text)
            ))),
        }
    }
}

fn type_error(name: &str, want: &str, got: &Value) -> HandlerError {
    HandlerError::bad_request(format!(
        "payload.{name} must be {want}, got {}",
        json_type(got)
    ))
}

#[cfg(test)]
mod tests {
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

        let list =
            ok(json!({"operation": "list", "tableName": "lambda-apigateway", "payload": {}}));
        assert!(
            matches!(list, Request::Table { op: TableOp::List(ref l), .. } if l.limit.is_none())
        );

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
    fn all_fields_are_carried() {
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
            u.expressions
                .names
                .as_ref()
                .and_then(|n| n.get("#n"))
                .map(String::as_str),
            Some("name")
        );
        assert_eq!(
            u.expressions.values.as_ref().and_then(|v| v.get(":v")),
            Some(&AttributeValue::N("12345678901234567890".into()))
        );
        assert_eq!(u.return_values, Some(ReturnValue::AllNew));

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
}
