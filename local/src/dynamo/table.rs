//! One table's items and key schema. Items are kept in key order (partition key, then sort key:
//! strings by UTF-8 bytes, numbers by value, binary by bytes), which is the order Scan returns and
//! pagination resumes from: an `ExclusiveStartKey` stays a valid position even when that item was
//! deleted between pages.

use std::collections::BTreeMap;
use std::ops::Bound;

use bigdecimal::BigDecimal;
use serde_json::{json, Value};

use super::error::DdbError;
use super::value::{Attr, Item};

/// A key attribute's value, ordered as DynamoDB orders keys within one type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum KeyVal {
    /// Below every value (range bounds).
    Min,
    /// No sort key (a table with a partition key only).
    None,
    S(String),
    N(BigDecimal),
    B(Vec<u8>),
    /// Above every value (range bounds).
    Max,
}

/// One key attribute: its name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyAttr {
    pub(crate) name: String,
    pub(crate) kind: String,
}

/// A table's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schema {
    pub(crate) hash: KeyAttr,
    pub(crate) range: Option<KeyAttr>,
}

impl Schema {
    /// Reads the schema from a DescribeTable answer's `Table`.
    pub(crate) fn from_description(table: &Value) -> Option<Schema> {
        let kind_of = |name: &str| {
            table["AttributeDefinitions"].as_array()?.iter().find_map(|d| {
                (d["AttributeName"] == name)
                    .then(|| d["AttributeType"].as_str().map(str::to_string))?
            })
        };
        let mut hash = None;
        let mut range = None;
        for k in table["KeySchema"].as_array()? {
            let name = k["AttributeName"].as_str()?.to_string();
            let attr = KeyAttr {
                kind: kind_of(&name)?,
                name,
            };
            match k["KeyType"].as_str()? {
                "HASH" => hash = Some(attr),
                _ => range = Some(attr),
            }
        }
        Some(Schema { hash: hash?, range })
    }

    /// The schema as the log writes it.
    pub(crate) fn to_json(&self) -> Value {
        let attr = |a: &KeyAttr| json!([a.name, a.kind]);
        json!({"hash": attr(&self.hash), "range": self.range.as_ref().map(attr)})
    }

    /// The schema as the log wrote it.
    pub(crate) fn from_json(doc: &Value) -> Option<Schema> {
        let attr = |v: &Value| {
            Some(KeyAttr {
                name: v[0].as_str()?.to_string(),
                kind: v[1].as_str()?.to_string(),
            })
        };
        Some(Schema {
            hash: attr(&doc["hash"])?,
            range: if doc["range"].is_null() {
                None
            } else {
                Some(attr(&doc["range"])?)
            },
        })
    }

    /// The key attributes' names.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names = vec![self.hash.name.as_str()];
        if let Some(r) = &self.range {
            names.push(r.name.as_str());
        }
        names
    }

    fn value(attr: &KeyAttr, v: &Attr) -> Result<KeyVal, DdbError> {
        let empty = || {
            DdbError::validation(&format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {}",
                if attr.kind == "B" { "binary" } else { "string" },
                attr.name
            ))
        };
        match (attr.kind.as_str(), v) {
            ("S", Attr::S(s)) if s.is_empty() => Err(empty()),
            ("S", Attr::S(s)) => Ok(KeyVal::S(s.clone())),
            ("N", Attr::N(n)) => Ok(KeyVal::N(n.clone())),
            ("B", Attr::B(b)) if b.is_empty() => Err(empty()),
            ("B", Attr::B(b)) => Ok(KeyVal::B(b.clone())),
            (_, other) => {
                Err(DdbError::validation(&format!(
                    "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
                    attr.name,
                    attr.kind,
                    other.type_name()
                )))
            }
        }
    }

    /// The key of an item to be written (PutItem): every key attribute present, of its type.
    pub(crate) fn key_of_item(&self, item: &Item) -> Result<Key, DdbError> {
        let get = |a: &KeyAttr| {
            let missing = || {
                DdbError::validation(&format!(
                    "One or more parameter values were invalid: Missing the key {} in the item",
                    a.name
                ))
            };
            let v = item.get(&a.name).ok_or_else(missing)?;
            Self::value(a, v)
        };
        let hash = get(&self.hash)?;
        let range = match &self.range {
            Some(r) => get(r)?,
            None => KeyVal::None,
        };
        Ok((hash, range))
    }

    /// The key a request names (`Key`, `ExclusiveStartKey`): exactly the key attributes.
    pub(crate) fn key_of_request(&self, key: &Item) -> Result<Key, DdbError> {
        let mismatch =
            || DdbError::validation("The provided key element does not match the schema");
        if key.len() != self.names().len() {
            return Err(mismatch());
        }
        let get = |a: &KeyAttr| {
            let v = key.get(&a.name).ok_or_else(mismatch)?;
            Self::value(a, v).map_err(|e| {
                if e.message.contains("Type mismatch") {
                    mismatch()
                } else {
                    e
                }
            })
        };
        let hash = get(&self.hash)?;
        let range = match &self.range {
            Some(r) => get(r)?,
            None => KeyVal::None,
        };
        Ok((hash, range))
    }

    /// The key attributes of `item`, as an item (LastEvaluatedKey, a new item of UpdateItem).
    pub(crate) fn key_item(&self, item: &Item) -> Item {
        self.names()
            .into_iter()
            .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
            .collect()
    }
}

/// A primary key: partition value, sort value (`KeyVal::None` without a sort key).
pub(crate) type Key = (KeyVal, KeyVal);

/// A table: its schema and items in key order.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) schema: Schema,
    items: BTreeMap<Key, Item>,
}

impl Table {
    /// An empty table.
    pub(crate) fn new(schema: Schema) -> Self {
        Self {
            schema,
            items: BTreeMap::new(),
        }
    }

    /// How many items it holds.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The item with this key.
    pub(crate) fn get(&self, key: &Key) -> Option<&Item> {
        self.items.get(key)
    }

    /// Stores an item, returning the one it replaced.
    pub(crate) fn put(&mut self, key: Key, item: Item) -> Option<Item> {
        self.items.insert(key, item)
    }

    /// Deletes an item, returning it.
    pub(crate) fn delete(&mut self, key: &Key) -> Option<Item> {
        self.items.remove(key)
    }

    /// Every item in key order, after `start` when given.
    pub(crate) fn scan_after<'a>(
        &'a self,
        start: Option<&Key>,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Item)> + 'a> {
        match start {
            Some(k) => Box::new(self.items.range((Bound::Excluded(k.clone()), Bound::Unbounded))),
            None => Box::new(self.items.iter()),
        }
    }

    /// The items of one partition in sort-key order (reversed when `forward` is false), after
    /// `start` in that direction when given.
    pub(crate) fn partition<'a>(
        &'a self,
        hash: &KeyVal,
        forward: bool,
        start: Option<&Key>,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Item)> + 'a> {
        let low = (hash.clone(), KeyVal::Min);
        let high = (hash.clone(), KeyVal::Max);
        match (forward, start) {
            (true, Some(s)) => {
                Box::new(self.items.range((Bound::Excluded(s.clone()), Bound::Included(high))))
            }
            (true, None) => Box::new(self.items.range(low..=high)),
            (false, Some(s)) => {
                Box::new(self.items.range((Bound::Included(low), Bound::Excluded(s.clone()))).rev())
            }
            (false, None) => Box::new(self.items.range(low..=high).rev()),
        }
    }
}

/// The schema the store's tests use: hash key `id` (S), and range key `n` (N) when `range`.
#[cfg(test)]
pub(crate) fn test_schema(range: bool) -> Schema {
    Schema {
        hash: KeyAttr {
            name: "id".into(),
            kind: "S".into(),
        },
        range: range.then(|| KeyAttr {
            name: "n".into(),
            kind: "N".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::test_schema as schema;
    use super::*;
    use crate::dynamo::value::item_from_json;

    #[test]
    fn keys_are_checked_as_dynamodb_checks_them() {
        let s = schema(false);
        let item = |doc| item_from_json(&doc).unwrap();
        assert!(s
            .key_of_item(&item(json!({"x": {"S": "1"}})))
            .unwrap_err()
            .message
            .ends_with("Missing the key id in the item"));
        assert!(s
            .key_of_item(&item(json!({"id": {"N": "1"}})))
            .unwrap_err()
            .message
            .ends_with("Type mismatch for key id expected: S actual: N"));
        assert!(s
            .key_of_item(&item(json!({"id": {"S": ""}})))
            .unwrap_err()
            .message
            .contains("cannot contain an empty string value. Key: id"));
        assert_eq!(
            s.key_of_request(&item(json!({"id": {"S": "1"}, "extra": {"S": "x"}})))
                .unwrap_err()
                .message,
            "The provided key element does not match the schema"
        );
        assert!(s.key_of_request(&item(json!({"id": {"S": "1"}}))).is_ok());
    }

    #[test]
    fn partitions_read_in_sort_order_both_ways() {
        let mut t = Table::new(schema(true));
        for (id, n) in [("a", "10"), ("a", "9"), ("b", "1"), ("a", "100")] {
            let it = item_from_json(&json!({"id": {"S": id}, "n": {"N": n}})).unwrap();
            let key = t.schema.key_of_item(&it).unwrap();
            t.put(key, it);
        }
        let ns = |forward, start: Option<&Key>| -> Vec<String> {
            t.partition(&KeyVal::S("a".into()), forward, start)
                .map(|(_, it)| {
                    crate::dynamo::value::number_text(match &it["n"] {
                        Attr::N(n) => n,
                        _ => unreachable!(),
                    })
                })
                .collect()
        };
        assert_eq!(ns(true, None), ["9", "10", "100"]);
        assert_eq!(ns(false, None), ["100", "10", "9"]);
        let after = (KeyVal::S("a".into()), KeyVal::N("10".parse().unwrap()));
        assert_eq!(ns(true, Some(&after)), ["100"]);
        assert_eq!(ns(false, Some(&after)), ["9"]);
        assert_eq!(t.scan_after(Some(&after)).count(), 2);
    }
}
