//! Parsing and validating the tutorial's event, `{"operation": OP, "tableName": T, "payload": P}`.
//!
//! Everything that can be checked without DynamoDB is checked here, so a bad event costs no network call
//! and its error names the exact field. The checks run in a fixed order: the operation, then the table
//! (including the allowed-table guard, so a forbidden table is refused whatever its payload), then the
//! payload's shape, its field names, and each field's type.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::{Map, Value};

use crate::convert::json_type;
use crate::error::{quote, HandlerError};

mod payload;

use payload::Payload;

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
    let mut event = event_object(event)?;
    let op = operation(&event)?;
    match op {
        Operation::Echo => {
            return Ok(Request::Echo(
                event.remove("payload").unwrap_or(Value::Null),
            ))
        }
        Operation::Ping => return Ok(Request::Ping),
        _ => {}
    }
    let table = table_name(&mut event, op)?;
    check_allowed(&table, allowed_table)?;
    let payload = payload_object(&mut event, op)?;
    let op = Payload::new(op, payload)?.table_op()?;
    Ok(Request::Table { table, op })
}

/// The event as a JSON object.
fn event_object(event: Value) -> Result<Map<String, Value>, HandlerError> {
    match event {
        Value::Object(map) => Ok(map),
        other => Err(HandlerError::bad_request(format!(
            "the event must be a JSON object, got {}",
            json_type(&other)
        ))),
    }
}

/// The `operation` field, which every event needs.
fn operation(event: &Map<String, Value>) -> Result<Operation, HandlerError> {
    match event.get("operation") {
        None => Err(HandlerError::bad_request(
            "the event is missing \"operation\" (one of create, read, update, delete, list, echo, ping)",
        )),
        Some(Value::String(name)) => Operation::parse(name).ok_or_else(|| {
            HandlerError::bad_request(format!(
                "Unrecognized operation {} (expected one of create, read, update, delete, list, echo, ping)",
                quote(name)
            ))
        }),
        Some(other) => Err(HandlerError::bad_request(format!(
            "\"operation\" must be a string, got {}",
            json_type(other)
        ))),
    }
}

/// The `tableName` field of a table operation: a non-empty string.
fn table_name(event: &mut Map<String, Value>, op: Operation) -> Result<String, HandlerError> {
    match event.remove("tableName") {
        Some(Value::String(t)) if !t.is_empty() => Ok(t),
        Some(Value::String(_)) => Err(HandlerError::bad_request("\"tableName\" must not be empty")),
        Some(other) => Err(HandlerError::bad_request(format!(
            "\"tableName\" must be a string, got {}",
            json_type(&other)
        ))),
        None => Err(HandlerError::bad_request(format!(
            "the event is missing \"tableName\", which operation \"{}\" needs",
            op.as_str()
        ))),
    }
}

/// Refuses any table but the allowed one, when one is set.
fn check_allowed(table: &str, allowed_table: Option<&str>) -> Result<(), HandlerError> {
    match allowed_table {
        // The allowed name is deliberately not echoed back: callers need not learn it.
        Some(allowed) if table != allowed => Err(HandlerError::forbidden(format!(
            "table {} is not allowed: this function serves only the table set in {}",
            quote(table),
            crate::ALLOWED_TABLE_ENV
        ))),
        _ => Ok(()),
    }
}

/// The `payload` field of a table operation: an object (`{}` for none).
fn payload_object(
    event: &mut Map<String, Value>,
    op: Operation,
) -> Result<Map<String, Value>, HandlerError> {
    match event.remove("payload") {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(HandlerError::bad_request(format!(
            "\"payload\" must be an object, got {}",
            json_type(&other)
        ))),
        None => Err(HandlerError::bad_request(format!(
            "the event is missing \"payload\", which operation \"{}\" needs (use {{}} for none)",
            op.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests;
