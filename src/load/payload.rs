//! `lab load --payload`: operation shortcuts, JSON, and weighted mixes, read into the generator's
//! `PayloadMix` (serialised once up front).
//!
//! Shortcuts build the tutorial's events for the stack's table `T`:
//! `list` -> `{"operation":"list","tableName":T,"payload":{}}`, `ping`, `echo`,
//! `read:ID` -> GetItem `{"Key":{"id":ID}}`, `create:ID` -> PutItem `{"Item":{"id":ID}}`,
//! `delete:ID` -> DeleteItem. A mix of shortcuts is `list=3,read:1=1` (weights relative; a missing
//! weight is 1). Inline JSON, `@FILE` and weighted JSON lists are read as `lab tune` reads them.

use anyhow::{bail, Result};
use serde_json::{json, Value};

use lab_load::payload::spec::{self, PayloadSpec};
use lab_load::payload::PayloadMix;

/// The default event: the tutorial's `list` operation.
pub(crate) fn list_event(table: &str) -> Value {
    json!({"operation": "list", "tableName": table, "payload": {}})
}

/// The event for one operation shortcut.
pub(crate) fn shortcut(op: &str, table: &str) -> Result<Value> {
    let (name, arg) = match op.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (op, None),
    };
    let need = |what: &str| -> Result<&str> {
        arg.filter(|a| !a.is_empty())
            .ok_or_else(|| anyhow::anyhow!("`{name}` needs an item id: {name}:ID ({what})"))
    };
    Ok(match name {
        "list" => list_event(table),
        "ping" => json!({"operation": "ping", "tableName": table, "payload": {}}),
        "echo" => json!({"operation": "echo", "tableName": table, "payload": {"lab": "load"}}),
        "read" => json!({"operation": "read", "tableName": table, "payload": {"Key": {"id": need("GetItem")?}}}),
        "create" => json!({"operation": "create", "tableName": table, "payload": {"Item": {"id": need("PutItem")?}}}),
        "delete" => json!({"operation": "delete", "tableName": table, "payload": {"Key": {"id": need("DeleteItem")?}}}),
        other => bail!(
            "unknown payload {other:?}: use JSON, @FILE, or one of list, ping, echo, read:ID, create:ID, delete:ID"
        ),
    })
}

/// Reads `--payload` (or the `list` default) for `table`.
pub(crate) fn parse(arg: Option<&str>, table: &str) -> Result<PayloadMix> {
    let spec = match arg.map(str::trim) {
        None | Some("") => PayloadSpec::Single(list_event(table)),
        Some(a)
            if a.starts_with('{')
                || a.starts_with('[')
                || a.starts_with('@')
                || a.starts_with('"') =>
        {
            PayloadSpec::from_value(spec::read_arg(a)?)?
        }
        Some(a) => {
            let mut items = Vec::new();
            for part in a.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (op, weight) = match part.rsplit_once('=') {
                    Some((op, w)) => {
                        let w: f64 =
                            w.parse().map_err(|_| anyhow::anyhow!("bad weight in {part:?}"))?;
                        if !(w.is_finite() && w > 0.0) {
                            bail!("weights must be positive numbers: {part:?}");
                        }
                        (op, w)
                    }
                    None => (part, 1.0),
                };
                items.push((shortcut(op, table)?, weight));
            }
            match items.len() {
                0 => bail!("--payload is empty"),
                1 => PayloadSpec::Single(items.remove(0).0),
                _ => PayloadSpec::Weighted(items),
            }
        }
    };
    Ok(PayloadMix::from_spec(&spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_tutorial_list_event() {
        let mix = parse(None, "lambda-apigateway").unwrap();
        assert_eq!(
            mix.first().as_ref(),
            br#"{"operation":"list","payload":{},"tableName":"lambda-apigateway"}"#
        );
    }

    #[test]
    fn shortcuts_and_mixes() {
        let read = shortcut("read:1", "t").unwrap();
        assert_eq!(
            read,
            json!({"operation": "read", "tableName": "t", "payload": {"Key": {"id": "1"}}})
        );
        assert!(shortcut("read", "t").is_err());
        assert!(shortcut("drop", "t").is_err());
        let mix = parse(Some("list=3,read:1=1"), "t").unwrap();
        assert_eq!(
            mix.described,
            vec![
                (list_event("t"), 3.0),
                (shortcut("read:1", "t").unwrap(), 1.0)
            ]
        );
    }

    #[test]
    fn json_payloads() {
        let mix = parse(Some(r#"{"operation":"ping"}"#), "t").unwrap();
        assert_eq!(mix.first().as_ref(), br#"{"operation":"ping"}"#);
        let mix = parse(
            Some(r#"[{"payload":{"a":1},"weight":1},{"payload":{"b":2},"weight":1}]"#),
            "t",
        )
        .unwrap();
        assert_eq!(mix.described.len(), 2);
    }
}
