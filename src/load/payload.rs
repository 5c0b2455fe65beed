//! What `lab load` sends: operation shortcuts, JSON, and weighted mixes, serialised once up front.
//!
//! Shortcuts build the tutorial's events for the stack's table `T`:
//! `list` -> `{"operation":"list","tableName":T,"payload":{}}`, `ping`, `echo`,
//! `read:ID` -> GetItem `{"Key":{"id":ID}}`, `create:ID` -> PutItem `{"Item":{"id":ID}}`,
//! `delete:ID` -> DeleteItem. A mix of shortcuts is `list=3,read:1=1` (weights relative; a missing
//! weight is 1). Inline JSON, `@FILE` and weighted JSON lists are read as `lab tune` reads them.

use anyhow::{bail, Result};
use bytes::Bytes;
use rand::Rng;
use serde_json::{json, Value};

use crate::tune::payload::{self as tune_payload, PayloadSpec};

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

/// Serialised payloads and their cumulative weights; picking one costs a random number and a
/// short scan, and the bytes are shared, never copied.
#[derive(Debug, Clone)]
pub(crate) struct PayloadMix {
    items: Vec<(Bytes, f64)>,
    total: f64,
    /// The documents and relative weights, for reports.
    pub(crate) described: Vec<(Value, f64)>,
}

impl PayloadMix {
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
                PayloadSpec::from_value(tune_payload::read_arg(a)?)?
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

    /// Serialises every document of `spec` once.
    pub(crate) fn from_spec(spec: &PayloadSpec) -> PayloadMix {
        let mut total = 0.0;
        let mut items = Vec::new();
        let mut described = Vec::new();
        for (value, weight) in spec.entries() {
            total += weight;
            items.push((Bytes::from(tune_payload::to_bytes(value)), total));
            described.push((value.clone(), weight));
        }
        PayloadMix {
            items,
            total,
            described,
        }
    }

    /// One payload, chosen by weight.
    pub(crate) fn pick<R: Rng>(&self, rng: &mut R) -> &Bytes {
        if self.items.len() == 1 {
            return &self.items[0].0;
        }
        let x = rng.gen_range(0.0..self.total);
        self.items
            .iter()
            .find(|(_, upto)| x < *upto)
            .map_or(&self.items[self.items.len() - 1].0, |(b, _)| b)
    }

    /// Any one payload (the first), e.g. for warm-up requests.
    pub(crate) fn first(&self) -> &Bytes {
        &self.items[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn default_is_the_tutorial_list_event() {
        let mix = PayloadMix::parse(None, "lambda-apigateway").unwrap();
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
        let mix = PayloadMix::parse(Some("list=3,read:1=1"), "t").unwrap();
        assert_eq!(mix.described.len(), 2);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let lists = (0..4000)
            .filter(|_| mix.pick(&mut rng).starts_with(br#"{"operation":"list""#))
            .count();
        // Expect 3/4 of 4000 = 3000; allow a wide margin.
        assert!((2700..3300).contains(&lists), "{lists}");
    }

    #[test]
    fn json_payloads() {
        let mix = PayloadMix::parse(Some(r#"{"operation":"ping"}"#), "t").unwrap();
        assert_eq!(mix.first().as_ref(), br#"{"operation":"ping"}"#);
        let mix = PayloadMix::parse(
            Some(r#"[{"payload":{"a":1},"weight":1},{"payload":{"b":2},"weight":1}]"#),
            "t",
        )
        .unwrap();
        assert_eq!(mix.described.len(), 2);
    }
}
