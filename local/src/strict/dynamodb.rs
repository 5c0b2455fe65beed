//! DynamoDB's table lifecycle: CREATING and DELETING last seconds, and while a table is not ACTIVE
//! its tags cannot be read or written and it cannot be deleted.

use std::time::Instant;

use serde_json::Value;

use super::records::{Expires, Records};
use super::reply::{self, Upstream};
use super::{Context, Forward, Rule, AWS};

/// A table that is not ACTIVE yet, or not gone yet.
pub(crate) enum Phase {
    /// CREATING until then.
    Creating(Instant),
    /// Until, and the description DescribeTable keeps answering meanwhile.
    Deleting(Instant, Value),
}

impl Expires for Phase {
    fn expires(&self) -> Option<Instant> {
        match self {
            Phase::Creating(t) | Phase::Deleting(t, _) => Some(*t),
        }
    }
}

/// Until when a table's tags read as none (DynamoDB's tagging is eventually consistent).
pub(crate) struct Settling(Instant);

impl Expires for Settling {
    fn expires(&self) -> Option<Instant> {
        Some(self.0)
    }
}

/// Tables whose tags are still settling, by (region, name).
pub(crate) type TagsSettling = Records<TableKey, Settling>;

/// A table: (region, name).
type TableKey = (String, String);

/// Tables in transition, by (region, name).
pub(crate) type Tables = Records<TableKey, Phase>;

/// The table a call names: `TableName`, or the name at the end of `ResourceArn`.
fn table_of(doc: &Value) -> Option<String> {
    doc["TableName"].as_str().map(str::to_string).or_else(|| {
        doc["ResourceArn"]
            .as_str()
            .and_then(|arn| arn.split_once(":table/"))
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_string())
    })
}

/// Operations that read or write items: AWS refuses them until the table is ACTIVE.
pub(crate) const DATA_PLANE: &[&str] = &[
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Scan",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
];

/// DynamoDB's rules around one call (`op` is the target's operation, `CreateTable`).
pub(crate) async fn apply(cx: &Context<'_>, op: &str, forward: Forward<'_>) -> Upstream {
    let (rules, now) = (cx.rules, cx.now);
    let doc = cx.call.json().await;
    let Some(table) = table_of(&doc) else {
        return forward.await;
    };
    let key = (cx.call.region.to_string(), table);
    if let Some(refusal) = refusal(cx, op, &key, &doc) {
        return refusal;
    }
    let mut up = forward.await;
    if !up.ok() {
        return up;
    }
    let settle = rules.scaled(AWS.table_tags_visible);
    match op {
        "CreateTable" if doc["Tags"].as_array().is_some_and(|t| !t.is_empty()) => {
            let until = now + rules.scaled(AWS.table_creating) + settle;
            let mut tags = rules.table_tags.lock().expect("table tags lock");
            tags.insert(key.clone(), Settling(until), now);
        }
        "TagResource" => {
            let mut tags = rules.table_tags.lock().expect("table tags lock");
            tags.insert(key.clone(), Settling(now + settle), now);
        }
        "ListTagsOfResource" => {
            let settling =
                rules.table_tags.lock().expect("table tags lock").live(&key, now).is_some();
            if settling {
                // "ListTagsOfResource uses an eventually consistent query": an empty tag set.
                let mut doc = up.json();
                doc["Tags"] = Value::Array(vec![]);
                up.set_json(&doc);
                rules.count(Rule::TableTagsNotVisible);
            }
        }
        _ => {}
    }
    let mut tables = rules.tables.lock().expect("tables lock");
    match op {
        "CreateTable" => {
            let until = now + rules.scaled(AWS.table_creating);
            tables.insert(key, Phase::Creating(until), now);
            set_status(&mut up, "TableDescription", "CREATING");
        }
        "DeleteTable" => {
            let until = now + rules.scaled(AWS.table_deleting);
            let mut description = up.json()["TableDescription"].clone();
            description["TableStatus"] = "DELETING".into();
            tables.insert(key, Phase::Deleting(until, description), now);
            set_status(&mut up, "TableDescription", "DELETING");
        }
        "DescribeTable" => {
            if matches!(tables.live(&key, now), Some(Phase::Creating(_))) {
                set_status(&mut up, "Table", "CREATING");
            }
        }
        _ => {}
    }
    up
}

/// The answer AWS gives a call on a table in transition, if it refuses it.
fn refusal(cx: &Context<'_>, op: &str, key: &TableKey, doc: &Value) -> Option<Upstream> {
    let tables = cx.rules.tables.lock().expect("tables lock");
    let phase = tables.live(key, cx.now)?;
    let name = &key.1;
    let not_found = || {
        reply::dynamodb(
            "ResourceNotFoundException",
            &format!("Requested resource not found: Table: {name} not found"),
        )
    };
    let answer = match (op, phase) {
        ("DescribeTable", Phase::Deleting(_, description)) => {
            return Some(Upstream::new(
                axum::http::StatusCode::OK,
                "application/x-amz-json-1.0",
                serde_json::json!({"Table": description}).to_string(),
            ))
        }
        ("ListTagsOfResource" | "TagResource" | "UntagResource", _) => (
            Rule::TableNotActive,
            reply::dynamodb(
                "ResourceNotFoundException",
                &format!(
                    "Requested resource not found: ResourceArn: {} not found",
                    doc["ResourceArn"].as_str().unwrap_or_default()
                ),
            ),
        ),
        ("DeleteTable" | "UpdateTable", Phase::Creating(_)) => (
            Rule::TableInUse,
            reply::dynamodb(
                "ResourceInUseException",
                &format!("Attempt to change a resource which is still in use: Table is being created: {name}"),
            ),
        ),
        ("CreateTable" | "DeleteTable" | "UpdateTable", Phase::Deleting(..)) => (
            Rule::TableInUse,
            reply::dynamodb(
                "ResourceInUseException",
                &format!("Attempt to change a resource which is still in use: Table is being deleted: {name}"),
            ),
        ),
        (op, _) if DATA_PLANE.contains(&op) => (Rule::TableNotActive, not_found()),
        _ => return None,
    };
    drop(tables);
    Some(cx.rules.refuse(answer.0, answer.1))
}

fn set_status(up: &mut Upstream, field: &str, status: &str) {
    let mut doc = up.json();
    if doc[field].is_object() {
        doc[field]["TableStatus"] = status.into();
        up.set_json(&doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_named_by_name_or_arn() {
        assert_eq!(
            table_of(&serde_json::json!({"TableName": "t"})).as_deref(),
            Some("t")
        );
        assert_eq!(
            table_of(&serde_json::json!({"ResourceArn": "arn:aws:dynamodb:us-east-1:1:table/t2"}))
                .as_deref(),
            Some("t2")
        );
        assert_eq!(table_of(&serde_json::json!({})), None);
    }
}
