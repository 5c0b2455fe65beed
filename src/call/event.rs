//! Builds the tutorial's events (`{"operation", "tableName", "payload"}`) from command-line words.

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

/// Parses `k=v` (a string) or `k:=JSON` (a typed value: `n:=5`, `ok:=true`, `m:='{"a":1}'`).
pub(crate) fn parse_attr(spec: &str) -> anyhow::Result<(String, Value)> {
    if let Some((key, raw)) = spec.split_once(":=") {
        check_key(key, spec)?;
        let value: Value = serde_json::from_str(raw).with_context(|| {
            format!(
                "--attr {spec:?}: the value after := must be JSON (5, true, \"text\", {{\"a\":1}})"
            )
        })?;
        return Ok((key.to_string(), value));
    }
    if let Some((key, value)) = spec.split_once('=') {
        check_key(key, spec)?;
        return Ok((key.to_string(), Value::String(value.to_string())));
    }
    bail!("{spec:?} is not an attribute: write key=value (string) or key:=JSON (typed)")
}

fn check_key(key: &str, spec: &str) -> anyhow::Result<()> {
    if key.is_empty() {
        bail!("{spec:?} has an empty attribute name");
    }
    if key == "id" {
        bail!("{spec:?}: set the key with --id, not as an attribute");
    }
    Ok(())
}

/// Wraps a payload into the tutorial's event.
pub(crate) fn event(operation: &str, table: &str, payload: Value) -> Value {
    json!({"operation": operation, "tableName": table, "payload": payload})
}

/// `create`: PutItem with `id`, optional `name`, and any attributes.
pub(crate) fn create(
    table: &str,
    id: &str,
    name: Option<&str>,
    attrs: &[String],
) -> anyhow::Result<Value> {
    let mut item = Map::new();
    item.insert("id".into(), Value::String(id.into()));
    if let Some(name) = name {
        item.insert("name".into(), Value::String(name.into()));
    }
    for spec in attrs {
        let (k, v) = parse_attr(spec)?;
        item.insert(k, v);
    }
    Ok(event("create", table, json!({"Item": item})))
}

/// `read`: GetItem by id.
pub(crate) fn read(table: &str, id: &str) -> Value {
    event("read", table, json!({"Key": {"id": id}}))
}

/// `update`: UpdateItem with an expression built only from placeholders, so attribute names that are
/// reserved words (`name`, `number`...) or contain odd characters are always safe.
pub(crate) fn update(
    table: &str,
    id: &str,
    set: &[String],
    remove: &[String],
) -> anyhow::Result<Value> {
    if set.is_empty() && remove.is_empty() {
        bail!("update needs at least one --set key=value or --remove key");
    }
    let mut names = Map::new();
    let mut values = Map::new();
    let mut set_parts = Vec::new();
    for (i, spec) in set.iter().enumerate() {
        let (k, v) = parse_attr(spec)?;
        names.insert(format!("#s{i}"), Value::String(k));
        values.insert(format!(":s{i}"), v);
        set_parts.push(format!("#s{i} = :s{i}"));
    }
    let mut remove_parts = Vec::new();
    for (i, key) in remove.iter().enumerate() {
        check_key(key, key)?;
        names.insert(format!("#r{i}"), Value::String(key.clone()));
        remove_parts.push(format!("#r{i}"));
    }
    let mut expression = Vec::new();
    if !set_parts.is_empty() {
        expression.push(format!("SET {}", set_parts.join(", ")));
    }
    if !remove_parts.is_empty() {
        expression.push(format!("REMOVE {}", remove_parts.join(", ")));
    }
    let mut payload = json!({
        "Key": {"id": id},
        "UpdateExpression": expression.join(" "),
        "ExpressionAttributeNames": names,
        "ReturnValues": "ALL_NEW",
    });
    if !values.is_empty() {
        payload["ExpressionAttributeValues"] = Value::Object(values);
    }
    Ok(event("update", table, payload))
}

/// `delete`: DeleteItem by id, returning the old item.
pub(crate) fn delete(table: &str, id: &str) -> Value {
    event(
        "delete",
        table,
        json!({"Key": {"id": id}, "ReturnValues": "ALL_OLD"}),
    )
}

/// `list`: Scan, optionally limited and continued from a previous page.
pub(crate) fn list(table: &str, limit: Option<u32>, start: Option<&Value>) -> Value {
    let mut payload = json!({});
    if let Some(limit) = limit {
        payload["Limit"] = json!(limit);
    }
    if let Some(start) = start {
        payload["ExclusiveStartKey"] = start.clone();
    }
    event("list", table, payload)
}

/// `echo`: returns the payload.
pub(crate) fn echo(payload: Value) -> Value {
    json!({"operation": "echo", "payload": payload})
}

/// `ping`: returns "pong".
pub(crate) fn ping() -> Value {
    json!({"operation": "ping"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_string_attributes() {
        assert_eq!(
            parse_attr("name=Bob").unwrap(),
            ("name".into(), json!("Bob"))
        );
        assert_eq!(parse_attr("n:=5").unwrap().1.to_string(), "5");
        assert_eq!(parse_attr("ok:=true").unwrap().1, json!(true));
        assert_eq!(parse_attr("m:={\"a\":1}").unwrap().1, json!({"a": 1}));
        assert_eq!(parse_attr("eq=a=b").unwrap().1, json!("a=b"));
        assert!(parse_attr("novalue").is_err());
        assert!(parse_attr("n:=notjson").unwrap_err().to_string().contains("must be JSON"));
        assert!(parse_attr("id=1").is_err());
    }

    #[test]
    fn create_matches_the_tutorial_event() {
        let e = create("lambda-apigateway", "1", Some("Bob"), &[]).unwrap();
        let tutorial: Value =
            serde_json::from_str(include_str!("../../assets/events/create-bob.json")).unwrap();
        assert_eq!(e, tutorial);
    }

    #[test]
    fn update_uses_placeholders_only() {
        let e = update(
            "t",
            "1",
            &["name=Alice".into(), "number:=7".into()],
            &["old".into()],
        )
        .unwrap();
        let p = &e["payload"];
        assert_eq!(p["UpdateExpression"], "SET #s0 = :s0, #s1 = :s1 REMOVE #r0");
        assert_eq!(p["ExpressionAttributeNames"]["#s0"], "name");
        assert_eq!(p["ExpressionAttributeNames"]["#r0"], "old");
        assert_eq!(p["ExpressionAttributeValues"][":s1"].to_string(), "7");
        assert!(update("t", "1", &[], &[]).is_err());
    }

    #[test]
    fn list_pages() {
        let e = list("t", Some(2), Some(&json!({"id": "9"})));
        assert_eq!(
            e["payload"],
            json!({"Limit": 2, "ExclusiveStartKey": {"id": "9"}})
        );
    }
}
