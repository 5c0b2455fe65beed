//! Plain JSON <-> DynamoDB `AttributeValue`, the way boto3's Table resource maps Python values.
//!
//! | JSON                                   | DynamoDB | notes                                             |
//! |----------------------------------------|----------|---------------------------------------------------|
//! | string                                 | `S`      |                                                   |
//! | number                                 | `N`      | the number's text is kept exactly (see below)     |
//! | `true` / `false`                       | `BOOL`   |                                                   |
//! | `null`                                 | `NULL`   |                                                   |
//! | array                                  | `L`      |                                                   |
//! | object                                 | `M`      | unless it is one of the tagged forms below        |
//! | `{"$ss": ["a", "b"]}`                  | `SS`     | non-empty array of strings                        |
//! | `{"$ns": [1, 2.5]}`                    | `NS`     | non-empty array of numbers                        |
//! | `{"$bs": ["AAE=", "Ag=="]}`            | `BS`     | non-empty array of standard base64 (with padding) |
//! | `{"$b": "AAE="}`                       | `B`      | standard base64 (with padding)                    |
//!
//! JSON has no sets and no bytes, so those four types need a tagged form. An object whose *only* key is
//! one of `$ss`, `$ns`, `$bs`, `$b` is always read as that type; if its value has the wrong shape that is a
//! `BadRequest` rather than silently storing a map, because a typo there would otherwise corrupt data
//! unnoticed. The price: a map attribute with exactly one such key cannot be stored through this handler,
//! and one written by another client reads back as the tagged type.
//!
//! Numbers: the crate is built with serde_json's `arbitrary_precision`, so a `serde_json::Number` carries
//! its original text. `12345678901234567890.5` reaches DynamoDB as that text and comes back as that text,
//! and an integer stays an integer (boto3 would hand back a `Decimal`, which the tutorial's Python handler
//! then fails to serialise). The one rewrite is serde_json's: an exponent is always spelt `e+N` / `e-N`
//! (`1E5` becomes `1e+5`). DynamoDB itself normalises numbers (`5.0` is stored as `5`).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::error::{quote, HandlerError};

/// Tag for a string set.
pub const TAG_SS: &str = "$ss";
/// Tag for a number set.
pub const TAG_NS: &str = "$ns";
/// Tag for a binary set.
pub const TAG_BS: &str = "$bs";
/// Tag for a binary value.
pub const TAG_B: &str = "$b";

/// Where a value sits in the event, for error messages (`payload.Item.tags[2]`).
///
/// A borrowed linked list, so descending into a value costs nothing unless an error is rendered.
#[derive(Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    /// A path starting at a named root, e.g. `payload`.
    pub fn root(name: &'a str) -> Self {
        Path {
            parent: None,
            seg: Seg::Root(name),
        }
    }

    /// The path of a map member.
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    /// The path of a list element.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(index),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.seg {
            Seg::Root(name) => f.write_str(name),
            Seg::Key(key) if is_plain_key(key) => write!(f, ".{key}"),
            Seg::Key(key) => write!(f, "[{}]", quote(key)),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Keys that can be shown as `.key` without ambiguity; anything else is shown quoted.
fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

/// The JSON type name of a value, for error messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Converts a plain JSON value into an `AttributeValue`.
pub fn to_attr(value: Value, path: &Path<'_>) -> Result<AttributeValue, HandlerError> {
    Ok(match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        // With arbitrary_precision, Display is the number's original text.
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(items) => AttributeValue::L(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| to_attr(v, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            if let Some(tag) = single_tag(&map) {
                return tagged_to_attr(tag, map, path);
            }
            AttributeValue::M(map_to_attrs(map, path)?)
        }
    })
}

/// Converts a JSON object into an item / key / value map (`{"id": "1"}` -> `{"id": {"S": "1"}}`).
pub fn to_item(
    value: Value,
    path: &Path<'_>,
) -> Result<HashMap<String, AttributeValue>, HandlerError> {
    match value {
        Value::Object(map) => map_to_attrs(map, path),
        other => Err(HandlerError::bad_request(format!(
            "{path} must be an object, got {}",
            json_type(&other)
        ))),
    }
}

fn map_to_attrs(
    map: Map<String, Value>,
    path: &Path<'_>,
) -> Result<HashMap<String, AttributeValue>, HandlerError> {
    let mut out = HashMap::with_capacity(map.len());
    for (k, v) in map {
        let attr = to_attr(v, &path.key(&k))?;
        out.insert(k, attr);
    }
    Ok(out)
}

/// The tag of an object that is exactly one tagged value, if it is one.
fn single_tag(map: &Map<String, Value>) -> Option<&'static str> {
    if map.len() != 1 {
        return None;
    }
    let key = map.keys().next()?;
    [TAG_SS, TAG_NS, TAG_BS, TAG_B].into_iter().find(|tag| key == tag)
}

fn tagged_to_attr(
    tag: &'static str,
    mut map: Map<String, Value>,
    path: &Path<'_>,
) -> Result<AttributeValue, HandlerError> {
    let inner = map.remove(tag).unwrap_or(Value::Null);
    let tag_path = path.key(tag);
    if tag == TAG_B {
        return match inner {
            Value::String(s) => Ok(AttributeValue::B(decode_b64(&s, &tag_path)?)),
            other => Err(HandlerError::bad_request(format!(
                "{tag_path} must be a base64 string, got {}",
                json_type(&other)
            ))),
        };
    }
    let what = match tag {
        TAG_SS => "strings",
        TAG_NS => "numbers",
        _ => "base64 strings",
    };
    let items = match inner {
        Value::Array(items) if !items.is_empty() => items,
        // DynamoDB has no empty sets; say so here instead of relaying a less specific ValidationException.
        other => {
            let got = match &other {
                Value::Array(_) => "an empty array",
                v => json_type(v),
            };
            return Err(HandlerError::bad_request(format!(
                "{tag_path} must be a non-empty array of {what}, got {got}"
            )));
        }
    };
    // One pass in order, so the first bad member is the one named, whatever is wrong with it.
    let mut texts = Vec::with_capacity(items.len());
    let mut blobs = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        match (tag, v) {
            (TAG_SS, Value::String(s)) => texts.push(s),
            (TAG_NS, Value::Number(n)) => texts.push(n.to_string()),
            (TAG_BS, Value::String(s)) => blobs.push(decode_b64(&s, &tag_path.index(i))?),
            (_, other) => {
                return Err(HandlerError::bad_request(format!(
                    "{} must be one of {what}, got {}",
                    tag_path.index(i),
                    json_type(&other)
                )))
            }
        }
    }
    Ok(match tag {
        TAG_SS => AttributeValue::Ss(texts),
        TAG_NS => AttributeValue::Ns(texts),
        _ => AttributeValue::Bs(blobs),
    })
}

fn decode_b64(text: &str, path: &Path<'_>) -> Result<Blob, HandlerError> {
    BASE64
        .decode(text)
        .map(Blob::new)
        .map_err(|e| HandlerError::bad_request(format!("{path} is not valid base64: {e}")))
}

/// Converts an `AttributeValue` back into plain JSON (the inverse of [`to_attr`]).
pub fn from_attr(attr: AttributeValue) -> Value {
    match attr {
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::N(n) => number_value(n),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.into_iter().map(from_attr).collect()),
        AttributeValue::M(map) => from_item(map),
        AttributeValue::Ss(items) => tagged(TAG_SS, items.into_iter().map(Value::String).collect()),
        AttributeValue::Ns(items) => tagged(TAG_NS, items.into_iter().map(number_value).collect()),
        AttributeValue::Bs(items) => tagged(
            TAG_BS,
            items.into_iter().map(|b| Value::String(BASE64.encode(b.as_ref()))).collect(),
        ),
        AttributeValue::B(b) => {
            let mut map = Map::new();
            map.insert(TAG_B.to_owned(), Value::String(BASE64.encode(b.as_ref())));
            Value::Object(map)
        }
        // A type added to DynamoDB after this SDK was built: nothing faithful can be said about it, and
        // failing the whole read for one attribute would be worse than a null.
        _ => Value::Null,
    }
}

/// Converts an item map back into a JSON object.
pub fn from_item(item: HashMap<String, AttributeValue>) -> Value {
    Value::Object(item.into_iter().map(|(k, v)| (k, from_attr(v))).collect())
}

fn tagged(tag: &str, items: Vec<Value>) -> Value {
    let mut map = Map::new();
    map.insert(tag.to_owned(), Value::Array(items));
    Value::Object(map)
}

/// A DynamoDB number as an exact JSON number.
///
/// DynamoDB answers with canonical text that is valid JSON, but an emulator may echo what it was given
/// (`+5`, `.5`, `5.`), so such forms are repaired; text that still is not a number is returned as a string
/// rather than lost.
fn number_value(text: String) -> Value {
    if let Ok(n) = Number::from_str(&text) {
        return Value::Number(n);
    }
    let repaired = repair_number(&text);
    match Number::from_str(&repaired) {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(text),
    }
}

fn repair_number(text: &str) -> String {
    let t = text.trim();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => ("-", &t[1..]),
        Some(b'+') => ("", &t[1..]),
        _ => ("", t),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    match frac {
        Some(f) if !f.is_empty() => format!("{sign}{int}.{f}{exponent}"),
        _ => format!("{sign}{int}{exponent}"),
    }
}

#[cfg(test)]
mod tests;
