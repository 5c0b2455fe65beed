//! The payload object of a table operation, read field by field into that operation's parameters.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnValue;
use serde_json::{Map, Value};

use super::{
    Create, Delete, Expressions, Item, List, Operation, Read, TableOp, Update, PARTITION_KEY,
};
use crate::convert::{json_type, to_item, Path};
use crate::error::{quote, HandlerError};

/// The payload object of a table operation, consumed field by field.
pub(super) struct Payload {
    op: Operation,
    map: Map<String, Value>,
}

impl Payload {
    /// Rejects unknown fields up front: boto3 would raise on them too, and a misspelt
    /// `ConditionExpression` silently ignored would turn a guarded write into an unguarded one.
    pub(super) fn new(op: Operation, map: Map<String, Value>) -> Result<Self, HandlerError> {
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

    /// The operation's parameters, each field checked and converted in a fixed order.
    pub(super) fn table_op(mut self) -> Result<TableOp, HandlerError> {
        Ok(match self.op {
            Operation::Create => TableOp::Create(Create {
                item: self.keyed_item("Item")?,
                condition_expression: self.string("ConditionExpression")?,
                expressions: self.expressions()?,
            }),
            Operation::Read => TableOp::Read(Read {
                key: self.keyed_item("Key")?,
                projection_expression: self.string("ProjectionExpression")?,
                consistent_read: self.boolean("ConsistentRead")?,
                names: self.names()?,
            }),
            Operation::Update => TableOp::Update(Update {
                key: self.keyed_item("Key")?,
                update_expression: self.string("UpdateExpression")?,
                condition_expression: self.string("ConditionExpression")?,
                expressions: self.expressions()?,
                return_values: self.return_values(&[
                    ReturnValue::None,
                    ReturnValue::AllOld,
                    ReturnValue::UpdatedOld,
                    ReturnValue::AllNew,
                    ReturnValue::UpdatedNew,
                ])?,
            }),
            Operation::Delete => TableOp::Delete(Delete {
                key: self.keyed_item("Key")?,
                condition_expression: self.string("ConditionExpression")?,
                expressions: self.expressions()?,
                return_values: self.return_values(&[ReturnValue::None, ReturnValue::AllOld])?,
            }),
            Operation::List => TableOp::List(List {
                limit: self.limit("Limit")?,
                exclusive_start_key: self.item("ExclusiveStartKey")?,
                filter_expression: self.string("FilterExpression")?,
                projection_expression: self.string("ProjectionExpression")?,
                expressions: self.expressions()?,
            }),
            Operation::Echo | Operation::Ping => return unreachable_table_op(self.op),
        })
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
                allowed.iter().map(ReturnValue::as_str).collect::<Vec<_>>().join(", "),
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

/// Echo and ping return before the table is looked at; this keeps the match total without a panic.
fn unreachable_table_op(op: Operation) -> Result<TableOp, HandlerError> {
    Err(HandlerError::internal(format!(
        "operation \"{}\" does not use a table",
        op.as_str()
    )))
}
