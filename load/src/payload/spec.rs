//! Payloads for invocations: one JSON document, or a weighted list of them. `lab tune` and
//! `lab load` read and send them alike, so the rules live here, with the generator.
//!
//! A command-line value is inline JSON or `@path` to a JSON file. A weighted list is a JSON array
//! whose every element is `{"payload": ..., "weight": n}` with n > 0; weights are relative
//! (`[{"payload": A, "weight": 3}, {"payload": B, "weight": 1}]` sends A three times as often as B).
//! As in aws-lambda-power-tuning, other keys in an entry (a `"name"`, a `"comment"`) are allowed and
//! ignored.
//! As in aws-lambda-power-tuning, a payload that is a JSON *string* holding JSON is sent as that JSON
//! (`"{\"a\":1}"` sends `{"a":1}`); every other value is sent serialised.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// What to send: one document, or several with relative weights.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadSpec {
    /// The same document every time.
    Single(Value),
    /// `(document, weight)` pairs; weights are positive and relative.
    Weighted(Vec<(Value, f64)>),
}

/// Reads a command-line payload: inline JSON, or `@path` naming a JSON file.
pub fn read_arg(arg: &str) -> Result<Value> {
    if let Some(path) = arg.strip_prefix('@') {
        let text = std::fs::read_to_string(Path::new(path))
            .with_context(|| format!("reading the payload file {path}"))?;
        serde_json::from_str(&text)
            .with_context(|| format!("the payload file {path} is not valid JSON"))
    } else {
        serde_json::from_str(arg).with_context(|| {
            format!("--payload is not valid JSON (use @FILE to read it from a file): {arg}")
        })
    }
}

/// Whether `value` looks like a weighted list: a non-empty array of objects that each have the keys
/// `payload` and `weight` (other keys are allowed, as aws-lambda-power-tuning allows them).
fn is_weighted(value: &Value) -> bool {
    match value {
        Value::Array(items) if !items.is_empty() => items.iter().all(|item| {
            item.as_object()
                .is_some_and(|o| o.contains_key("payload") && o.contains_key("weight"))
        }),
        _ => false,
    }
}

impl PayloadSpec {
    /// Interprets a JSON value: a weighted list (validated) or a single document.
    pub fn from_value(value: Value) -> Result<PayloadSpec> {
        if !is_weighted(&value) {
            return Ok(PayloadSpec::Single(value));
        }
        let Value::Array(items) = value else {
            unreachable!("checked by is_weighted")
        };
        let mut weighted = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let Value::Object(mut o) = item else {
                unreachable!("checked by is_weighted")
            };
            let weight = o.get("weight").and_then(Value::as_f64).unwrap_or(f64::NAN);
            if !(weight.is_finite() && weight > 0.0) {
                bail!(
                    "weighted payload #{}: \"weight\" must be a positive number",
                    i + 1
                );
            }
            weighted.push((o.remove("payload").unwrap_or(Value::Null), weight));
        }
        Ok(PayloadSpec::Weighted(weighted))
    }

    /// `num` serialised payloads in sending order. For a weighted list each entry gets
    /// `floor(weight x num / total)` slots and the last entry fills the rest, as
    /// aws-lambda-power-tuning does, so every entry is sent at least once or it is an error.
    pub fn expand(&self, num: usize) -> Result<Vec<Vec<u8>>> {
        match self {
            PayloadSpec::Single(value) => {
                let bytes = to_bytes(value);
                Ok(vec![bytes; num])
            }
            PayloadSpec::Weighted(items) => {
                if num < items.len() {
                    bail!(
                        "{} weighted payloads need at least as many invocations; --num is {num}",
                        items.len()
                    );
                }
                let total: f64 = items.iter().map(|(_, w)| w).sum();
                let mut out = Vec::with_capacity(num);
                for (i, (value, weight)) in items.iter().enumerate() {
                    let count = if i == items.len() - 1 {
                        num - out.len()
                    } else {
                        (weight * num as f64 / total).floor() as usize
                    };
                    if count == 0 {
                        bail!(
                            "weighted payload #{} (weight {weight}) gets no invocation out of {num}: \
                             raise --num or its weight",
                            i + 1
                        );
                    }
                    let bytes = to_bytes(value);
                    out.extend(std::iter::repeat_n(bytes, count));
                }
                Ok(out)
            }
        }
    }

    /// The documents with their weights (1 for a single document), for display and mixing.
    pub fn entries(&self) -> Vec<(&Value, f64)> {
        match self {
            PayloadSpec::Single(v) => vec![(v, 1.0)],
            PayloadSpec::Weighted(items) => items.iter().map(|(v, w)| (v, *w)).collect(),
        }
    }
}

/// The bytes sent for `value` (see the module documentation about JSON strings).
pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    if let Value::String(s) = value {
        if serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok() {
            return s.clone().into_bytes();
        }
    }
    serde_json::to_vec(value).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_payload_repeats() {
        let spec = PayloadSpec::from_value(json!({"operation": "ping"})).unwrap();
        let list = spec.expand(3).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0], br#"{"operation":"ping"}"#);
    }

    #[test]
    fn weighted_payloads_fill_by_weight() {
        let spec = PayloadSpec::from_value(json!([
            {"payload": {"n": 1}, "weight": 3},
            {"payload": {"n": 2}, "weight": 1}
        ]))
        .unwrap();
        // num 10, total weight 4: first gets floor(3 * 10 / 4) = 7, the last the remaining 3.
        let list = spec.expand(10).unwrap();
        assert_eq!(
            list.iter().filter(|p| p.as_slice() == br#"{"n":1}"#).count(),
            7
        );
        assert_eq!(
            list.iter().filter(|p| p.as_slice() == br#"{"n":2}"#).count(),
            3
        );
        assert!(spec.expand(1).is_err());
    }

    #[test]
    fn weighted_entries_may_carry_other_keys() {
        let spec = PayloadSpec::from_value(json!([
            {"payload": {"n": 1}, "weight": 1, "name": "small"},
            {"payload": {"n": 2}, "weight": 1, "comment": "large"}
        ]))
        .unwrap();
        assert_eq!(
            spec.entries(),
            vec![(&json!({"n": 1}), 1.0), (&json!({"n": 2}), 1.0)]
        );
    }

    #[test]
    fn weighted_errors_and_plain_arrays() {
        assert!(PayloadSpec::from_value(json!([{"payload": 1, "weight": 0}])).is_err());
        // An array that is not a weighted list is one payload.
        assert!(matches!(
            PayloadSpec::from_value(json!([1, 2])).unwrap(),
            PayloadSpec::Single(_)
        ));
        // A weight so small it gets no slot.
        let spec = PayloadSpec::from_value(json!([
            {"payload": 1, "weight": 1}, {"payload": 2, "weight": 100}
        ]))
        .unwrap();
        assert!(spec.expand(10).is_err());
    }

    #[test]
    fn json_strings_are_sent_as_json() {
        assert_eq!(to_bytes(&json!("{\"a\":1}")), br#"{"a":1}"#);
        assert_eq!(to_bytes(&json!("just text")), br#""just text""#);
    }

    #[test]
    fn reads_inline_and_files() {
        assert_eq!(read_arg(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
        assert!(read_arg("{nope").unwrap_err().to_string().contains("not valid JSON"));
        let path = std::env::temp_dir().join(format!("lab-payload-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"b": 2}"#).unwrap();
        assert_eq!(
            read_arg(&format!("@{}", path.display())).unwrap(),
            json!({"b": 2})
        );
        std::fs::remove_file(path).unwrap();
    }
}
