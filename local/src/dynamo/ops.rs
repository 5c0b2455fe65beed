//! The item operations in DynamoDB's JSON protocol: PutItem, GetItem, UpdateItem, DeleteItem,
//! Scan, Query, BatchGetItem and BatchWriteItem, each from its request document to its answer
//! document, on one table already known to the store.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::error::DdbError;
use super::eval::{apply_update, eval, project};
use super::expr::{self, Cmp, Cond, Operand, Path, Placeholders, Step};
use super::store::{Store, TableKey, Write};
use super::table::{Key, KeyVal, Schema, Table};
use super::value::{item_from_json, item_size, item_to_json, Attr, Item, MAX_ITEM_BYTES};

/// The most data one Scan or Query page reads (DynamoDB's 1 MB).
const PAGE_BYTES: usize = 1024 * 1024;

/// Parameters DynamoDB still accepts but this store does not serve, and what to use instead.
const LEGACY: &[(&str, &str)] = &[
    ("Expected", "ConditionExpression"),
    ("AttributeUpdates", "UpdateExpression"),
    ("AttributesToGet", "ProjectionExpression"),
    ("ScanFilter", "FilterExpression"),
    ("QueryFilter", "FilterExpression"),
    ("KeyConditions", "KeyConditionExpression"),
    (
        "ConditionalOperator",
        "ConditionExpression or FilterExpression with AND/OR",
    ),
];

pub(crate) fn refuse_legacy_in(doc: &Value) -> Result<(), DdbError> {
    for (param, instead) in LEGACY {
        if !doc[*param].is_null() {
            return Err(DdbError::validation(&format!(
                "lab's local DynamoDB does not serve the legacy parameter {param}: use {instead} (or start the stack with --dynamodb moto)"
            )));
        }
    }
    if !doc["IndexName"].is_null() {
        return Err(DdbError::validation(
            "lab's local DynamoDB serves tables' primary keys, not secondary indexes (IndexName): start the stack with --dynamodb moto to query an index",
        ));
    }
    if !doc["TotalSegments"].is_null() || !doc["Segment"].is_null() {
        return Err(DdbError::validation(
            "lab's local DynamoDB does not serve parallel scans (Segment, TotalSegments): scan without them (or start the stack with --dynamodb moto)",
        ));
    }
    Ok(())
}

fn text<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
    doc[field].as_str()
}

fn item_arg(doc: &Value, field: &str, what: &str) -> Result<Item, DdbError> {
    if doc[field].is_null() {
        return Err(DdbError::validation(&format!(
            "1 validation error detected: Value null at '{what}' failed to satisfy constraint: Member must not be null"
        )));
    }
    item_from_json(&doc[field])
}

fn return_values(doc: &Value, allowed: &[&str]) -> Result<String, DdbError> {
    let rv = text(doc, "ReturnValues").unwrap_or("NONE");
    if allowed.contains(&rv) {
        Ok(rv.to_string())
    } else {
        Err(DdbError::validation("Return values set to invalid value"))
    }
}

fn check_size(item: &Item) -> Result<(), DdbError> {
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(DdbError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    Ok(())
}

fn condition(doc: &Value, ph: &mut Placeholders) -> Result<Option<Cond>, DdbError> {
    text(doc, "ConditionExpression")
        .map(|c| expr::condition("ConditionExpression", c, ph))
        .transpose()
}

fn check(cond: &Option<Cond>, item: Option<&Item>) -> Result<(), DdbError> {
    let empty = Item::new();
    if let Some(c) = cond {
        if !eval(c, item.unwrap_or(&empty))? {
            return Err(DdbError::condition_failed());
        }
    }
    Ok(())
}

fn attributes(out: &mut Map<String, Value>, item: Option<Item>) {
    if let Some(item) = item.filter(|i| !i.is_empty()) {
        out.insert("Attributes".into(), item_to_json(&item));
    }
}

/// What an operation answers, and whether the log asks for a snapshot.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: Value,
    pub(crate) snapshot_due: bool,
}

fn answer(body: Map<String, Value>, snapshot_due: bool) -> Answer {
    Answer {
        body: Value::Object(body),
        snapshot_due,
    }
}

/// PutItem.
pub(crate) fn put_item(
    store: &Store,
    key: &TableKey,
    table: &mut Table,
    doc: &Value,
) -> Result<Answer, DdbError> {
    let item = item_arg(doc, "Item", "item")?;
    let k = table.schema.key_of_item(&item)?;
    check_size(&item)?;
    let mut ph = Placeholders::from_request(doc)?;
    let cond = condition(doc, &mut ph)?;
    ph.check_unused(cond.is_some())?;
    let rv = return_values(doc, &["NONE", "ALL_OLD"])?;
    let old = table.get(&k).cloned();
    check(&cond, old.as_ref())?;
    let due = store.write(key, table, Write::Put(k, item))?;
    let mut out = Map::new();
    if rv == "ALL_OLD" {
        attributes(&mut out, old);
    }
    Ok(answer(out, due))
}

/// GetItem.
pub(crate) fn get_item(table: &Table, doc: &Value) -> Result<Answer, DdbError> {
    let k = table.schema.key_of_request(&item_arg(doc, "Key", "key")?)?;
    let mut ph = Placeholders::from_request(doc)?;
    let projection = text(doc, "ProjectionExpression")
        .map(|p| expr::projection(p, &mut ph))
        .transpose()?;
    ph.check_unused(projection.is_some())?;
    let mut out = Map::new();
    if let Some(item) = table.get(&k) {
        let item = match &projection {
            Some(p) => project(item, p),
            None => item.clone(),
        };
        out.insert("Item".into(), item_to_json(&item));
    }
    Ok(answer(out, false))
}

/// UpdateItem.
pub(crate) fn update_item(
    store: &Store,
    key: &TableKey,
    table: &mut Table,
    doc: &Value,
) -> Result<Answer, DdbError> {
    let key_item = item_arg(doc, "Key", "key")?;
    let k = table.schema.key_of_request(&key_item)?;
    let mut ph = Placeholders::from_request(doc)?;
    let update = text(doc, "UpdateExpression").map(|u| expr::update(u, &mut ph)).transpose()?;
    let cond = condition(doc, &mut ph)?;
    ph.check_unused(update.is_some() || cond.is_some())?;
    let rv = return_values(
        doc,
        &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
    )?;
    let old = table.get(&k).cloned();
    check(&cond, old.as_ref())?;
    // An update of an item that is not there creates it from its key.
    let base = old.clone().unwrap_or(key_item);
    let (new, touched) = match &update {
        Some(u) => apply_update(u, &base, &table.schema.names())?,
        None => (base, BTreeSet::new()),
    };
    check_size(&new)?;
    let only = |item: &Item| -> Item {
        item.iter()
            .filter(|(n, _)| touched.contains(*n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    };
    let returned = match rv.as_str() {
        "ALL_OLD" => old.clone(),
        "UPDATED_OLD" => old.as_ref().map(only),
        "ALL_NEW" => Some(new.clone()),
        "UPDATED_NEW" => Some(only(&new)),
        _ => None,
    };
    let due = store.write(key, table, Write::Put(k, new))?;
    let mut out = Map::new();
    attributes(&mut out, returned);
    Ok(answer(out, due))
}

/// DeleteItem.
pub(crate) fn delete_item(
    store: &Store,
    key: &TableKey,
    table: &mut Table,
    doc: &Value,
) -> Result<Answer, DdbError> {
    let k = table.schema.key_of_request(&item_arg(doc, "Key", "key")?)?;
    let mut ph = Placeholders::from_request(doc)?;
    let cond = condition(doc, &mut ph)?;
    ph.check_unused(cond.is_some())?;
    let rv = return_values(doc, &["NONE", "ALL_OLD"])?;
    let old = table.get(&k).cloned();
    check(&cond, old.as_ref())?;
    let due = store.write(key, table, Write::Delete(k))?;
    let mut out = Map::new();
    if rv == "ALL_OLD" {
        attributes(&mut out, old);
    }
    Ok(answer(out, due))
}

/// What Scan and Query share: Limit, the start key, the filter, the projection and Select.
struct Reading {
    limit: Option<usize>,
    start: Option<Key>,
    filter: Option<Cond>,
    projection: Option<Vec<Path>>,
    count_only: bool,
}

fn reading(schema: &Schema, doc: &Value, ph: &mut Placeholders) -> Result<Reading, DdbError> {
    let limit = match &doc["Limit"] {
        Value::Null => None,
        v => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(DdbError::validation(&format!(
                    "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )))
            }
        },
    };
    let start = if doc["ExclusiveStartKey"].is_null() {
        None
    } else {
        let item = item_from_json(&doc["ExclusiveStartKey"])?;
        Some(schema.key_of_request(&item).map_err(|e| {
            DdbError::validation(&format!(
                "The provided starting key is invalid: {}",
                e.message
            ))
        })?)
    };
    let filter = text(doc, "FilterExpression")
        .map(|f| expr::condition("FilterExpression", f, ph))
        .transpose()?;
    let projection =
        text(doc, "ProjectionExpression").map(|p| expr::projection(p, ph)).transpose()?;
    let count_only = match text(doc, "Select") {
        None | Some("ALL_ATTRIBUTES") => false,
        Some("SPECIFIC_ATTRIBUTES") if projection.is_some() => false,
        Some("COUNT") if projection.is_none() => true,
        Some("COUNT") | Some("SPECIFIC_ATTRIBUTES") => {
            return Err(DdbError::validation(
                "Cannot specify the ProjectionExpression when choosing to get only the Count, or choose SPECIFIC_ATTRIBUTES without one",
            ))
        }
        Some(other) => {
            return Err(DdbError::validation(&format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )))
        }
    };
    if projection.is_some() && text(doc, "Select") == Some("ALL_ATTRIBUTES") {
        return Err(DdbError::validation(
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        ));
    }
    Ok(Reading {
        limit,
        start,
        filter,
        projection,
        count_only,
    })
}

/// Reads items as DynamoDB pages them: `Limit` counts the items read before the filter, a page
/// stops at 1 MB read, and the last key read is where the next page starts.
fn page<'a>(
    schema: &Schema,
    r: &Reading,
    items: impl Iterator<Item = (&'a Key, &'a Item)>,
    keep: impl Fn(&Item) -> bool,
) -> Result<Answer, DdbError> {
    let mut out_items = Vec::new();
    let (mut count, mut scanned, mut bytes) = (0usize, 0usize, 0usize);
    let mut last: Option<&Item> = None;
    let mut stopped = false;
    for (_, item) in items {
        if !keep(item) {
            continue;
        }
        if r.limit.is_some_and(|l| scanned >= l) || bytes >= PAGE_BYTES {
            stopped = true;
            break;
        }
        scanned += 1;
        bytes += item_size(item);
        last = Some(item);
        let passes = match &r.filter {
            Some(f) => eval(f, item)?,
            None => true,
        };
        if passes {
            count += 1;
            if !r.count_only {
                let shown = match &r.projection {
                    Some(p) => project(item, p),
                    None => item.clone(),
                };
                out_items.push(item_to_json(&shown));
            }
        }
    }
    // DynamoDB stops at the limit without looking further, so a full page always has a key to
    // continue from, even when nothing follows.
    let full = r.limit.is_some_and(|l| scanned >= l);
    let mut out = Map::new();
    if !r.count_only {
        out.insert("Items".into(), Value::Array(out_items));
    }
    out.insert("Count".into(), json!(count));
    out.insert("ScannedCount".into(), json!(scanned));
    if stopped || full {
        if let Some(item) = last {
            out.insert(
                "LastEvaluatedKey".into(),
                item_to_json(&schema.key_item(item)),
            );
        }
    }
    Ok(answer(out, false))
}

/// Scan.
pub(crate) fn scan(table: &Table, doc: &Value) -> Result<Answer, DdbError> {
    let mut ph = Placeholders::from_request(doc)?;
    let r = reading(&table.schema, doc, &mut ph)?;
    ph.check_unused(r.filter.is_some() || r.projection.is_some())?;
    page(
        &table.schema,
        &r,
        table.scan_after(r.start.as_ref()),
        |_| true,
    )
}

fn key_path(op: &Operand) -> Option<&str> {
    match op {
        Operand::Path(p) if p.len() == 1 => match &p[0] {
            Step::Name(n) => Some(n),
            Step::Index(_) => None,
        },
        _ => None,
    }
}

fn conjuncts(c: &Cond, out: &mut Vec<Cond>) -> Result<(), DdbError> {
    match c {
        Cond::And(a, b) => {
            conjuncts(a, out)?;
            conjuncts(b, out)
        }
        Cond::Or(..) | Cond::Not(..) => Err(DdbError::validation(&format!(
            "Invalid operator used in KeyConditionExpression: {}",
            if matches!(c, Cond::Or(..)) {
                "OR"
            } else {
                "NOT"
            }
        ))),
        other => {
            out.push(other.clone());
            Ok(())
        }
    }
}

fn paths_in(c: &Cond, out: &mut Vec<String>) {
    let mut op = |o: &Operand| {
        if let Operand::Path(p) | Operand::Size(p) = o {
            if let Some(Step::Name(n)) = p.first() {
                out.push(n.clone());
            }
        }
    };
    match c {
        Cond::Compare(a, _, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
            op(a);
            op(b);
        }
        Cond::Between(a, b, d) => {
            op(a);
            op(b);
            op(d);
        }
        Cond::In(a, list) => {
            op(a);
            list.iter().for_each(op);
        }
        Cond::Exists(p) | Cond::NotExists(p) | Cond::Type(p, _) => op(&Operand::Path(p.clone())),
        Cond::And(a, b) | Cond::Or(a, b) => {
            paths_in(a, out);
            paths_in(b, out);
        }
        Cond::Not(a) => paths_in(a, out),
    }
}

/// The partition a key condition names, and the condition on the sort key, if any.
fn key_condition(schema: &Schema, c: &Cond) -> Result<(KeyVal, Option<Cond>), DdbError> {
    let mut parts = Vec::new();
    conjuncts(c, &mut parts)?;
    if parts.len() > 2 {
        return Err(DdbError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    let mut hash = None;
    let mut range = None;
    let type_mismatch = || {
        DdbError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        )
    };
    for part in parts {
        let name = match &part {
            Cond::Compare(a, _, _) | Cond::Between(a, _, _) | Cond::BeginsWith(a, _) => key_path(a),
            _ => None,
        };
        let Some(name) = name else {
            return Err(DdbError::validation("Query key condition not supported"));
        };
        if name == schema.hash.name {
            let Cond::Compare(_, Cmp::Eq, Operand::Value(v)) = &part else {
                return Err(DdbError::validation("Query key condition not supported"));
            };
            let kv = match (schema.hash.kind.as_str(), v) {
                ("S", Attr::S(s)) => KeyVal::S(s.clone()),
                ("N", Attr::N(n)) => KeyVal::N(n.clone()),
                ("B", Attr::B(b)) => KeyVal::B(b.clone()),
                _ => return Err(type_mismatch()),
            };
            hash = Some(kv);
        } else if schema.range.as_ref().is_some_and(|r| r.name == name) {
            let kind = &schema.range.as_ref().expect("checked").kind;
            if matches!(part, Cond::BeginsWith(..)) && kind == "N" {
                return Err(DdbError::validation(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                ));
            }
            let values: Vec<&Operand> = match &part {
                Cond::Compare(_, Cmp::Ne, _) => {
                    return Err(DdbError::validation(
                        "Unsupported operator on KeyConditionExpression: operator: <>",
                    ))
                }
                Cond::Compare(_, _, b) | Cond::BeginsWith(_, b) => vec![b],
                Cond::Between(_, lo, hi) => vec![lo, hi],
                _ => vec![],
            };
            for v in values {
                match v {
                    Operand::Value(a) if a.type_name() == kind.as_str() => {}
                    Operand::Value(_) => return Err(type_mismatch()),
                    _ => return Err(DdbError::validation("Query key condition not supported")),
                }
            }
            range = Some(part);
        } else {
            return Err(DdbError::validation(&format!(
                "Query condition missed key schema element: {}",
                schema.hash.name
            )));
        }
    }
    let hash = hash.ok_or_else(|| {
        DdbError::validation(&format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        ))
    })?;
    Ok((hash, range))
}

/// Query.
pub(crate) fn query(table: &Table, doc: &Value) -> Result<Answer, DdbError> {
    let mut ph = Placeholders::from_request(doc)?;
    let Some(text_kc) = text(doc, "KeyConditionExpression") else {
        return Err(DdbError::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    };
    let kc = expr::condition("KeyConditionExpression", text_kc, &mut ph)?;
    let r = reading(&table.schema, doc, &mut ph)?;
    ph.check_unused(true)?;
    let (hash, range) = key_condition(&table.schema, &kc)?;
    if let Some(f) = &r.filter {
        let mut names = Vec::new();
        paths_in(f, &mut names);
        if let Some(k) = names.iter().find(|n| table.schema.names().contains(&n.as_str())) {
            return Err(DdbError::validation(&format!(
                "Filter Expression can only contain non-primary key attributes: Primary key attribute: {k}"
            )));
        }
    }
    if let Some((h, _)) = &r.start {
        if *h != hash {
            return Err(DdbError::validation("The provided starting key is outside query boundaries based on provided conditions"));
        }
    }
    let forward = doc["ScanIndexForward"].as_bool().unwrap_or(true);
    let items = table.partition(&hash, forward, r.start.as_ref());
    page(&table.schema, &r, items, |item| match &range {
        Some(c) => eval(c, item).unwrap_or(false),
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::table::test_schema;

    fn table(range: bool) -> (Store, TableKey, Table) {
        let key = ("us-east-1".into(), "t".into());
        (Store::memory(), key, Table::new(test_schema(range)))
    }

    #[test]
    fn scan_pages_count_items_read_before_the_filter() {
        let (store, key, mut t) = table(false);
        for i in 0..7 {
            let doc =
                json!({"Item": {"id": {"S": format!("item-{i}")}, "n": {"N": i.to_string()}}});
            put_item(&store, &key, &mut t, &doc).unwrap();
        }
        let mut start = Value::Null;
        let mut pages = Vec::new();
        loop {
            let mut doc = json!({"Limit": 3, "FilterExpression": "n >= :min", "ExpressionAttributeValues": {":min": {"N": "2"}}});
            if !start.is_null() {
                doc["ExclusiveStartKey"] = start.clone();
            }
            let page = scan(&t, &doc).unwrap().body;
            pages.push((
                page["Count"].as_u64().unwrap(),
                page["ScannedCount"].as_u64().unwrap(),
            ));
            match page.get("LastEvaluatedKey") {
                Some(k) => start = k.clone(),
                None => break,
            }
        }
        assert_eq!(pages, [(1, 3), (3, 3), (1, 1)]);
        let count = scan(&t, &json!({"Select": "COUNT"})).unwrap().body;
        assert_eq!(
            (count["Count"].as_u64(), count.get("Items")),
            (Some(7), None)
        );
        // A page that ends exactly at the last item still says where to go on, as DynamoDB does.
        let last = scan(&t, &json!({"Limit": 7})).unwrap().body;
        assert_eq!(last["LastEvaluatedKey"], json!({"id": {"S": "item-6"}}));
    }

    #[test]
    fn query_reads_one_partition_by_sort_key() {
        let (store, key, mut t) = table(true);
        for (id, n) in [("a", 1), ("a", 5), ("a", 3), ("b", 2), ("a", 9)] {
            let doc = json!({"Item": {"id": {"S": id}, "n": {"N": n.to_string()}, "v": {"N": n.to_string()}}});
            put_item(&store, &key, &mut t, &doc).unwrap();
        }
        let q = |extra: Value| {
            let mut doc = json!({"KeyConditionExpression": "id = :a AND n BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {":a": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "9"}}});
            for (k, v) in extra.as_object().unwrap() {
                doc[k] = v.clone();
            }
            query(&t, &doc)
        };
        let ns = |page: Value| -> Vec<String> {
            page["Items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["n"]["N"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ns(q(json!({})).unwrap().body), ["3", "5", "9"]);
        assert_eq!(
            ns(q(json!({"ScanIndexForward": false, "Limit": 2})).unwrap().body),
            ["9", "5"]
        );
        let err = q(json!({"FilterExpression": "n > :lo"})).unwrap_err();
        assert_eq!(err.message, "Filter Expression can only contain non-primary key attributes: Primary key attribute: n");
        let bad = query(
            &t,
            &json!({"KeyConditionExpression": "n = :x", "ExpressionAttributeValues": {":x": {"N": "1"}}}),
        );
        assert_eq!(
            bad.unwrap_err().message,
            "Query condition missed key schema element: id"
        );
    }

    #[test]
    fn writes_check_conditions_and_return_values() {
        let (store, key, mut t) = table(false);
        let put = json!({"Item": {"id": {"S": "c"}, "v": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(id)"});
        put_item(&store, &key, &mut t, &put).unwrap();
        let err = put_item(&store, &key, &mut t, &put).unwrap_err();
        assert_eq!(err.code, "ConditionalCheckFailedException");
        let up = json!({"Key": {"id": {"S": "c"}}, "UpdateExpression": "SET v = v + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"});
        assert_eq!(
            update_item(&store, &key, &mut t, &up).unwrap().body,
            json!({"Attributes": {"v": {"N": "2"}}})
        );
        let created = json!({"Key": {"id": {"S": "new"}}, "ReturnValues": "ALL_NEW"});
        assert_eq!(
            update_item(&store, &key, &mut t, &created).unwrap().body["Attributes"],
            json!({"id": {"S": "new"}})
        );
        let legacy = json!({"Key": {"id": {"S": "c"}}, "AttributesToGet": ["v"]});
        assert!(refuse_legacy_in(&legacy)
            .unwrap_err()
            .message
            .contains("use ProjectionExpression"));
        let del = json!({"Key": {"id": {"S": "c"}}, "ReturnValues": "ALL_OLD"});
        assert_eq!(
            delete_item(&store, &key, &mut t, &del).unwrap().body["Attributes"]["v"],
            json!({"N": "2"})
        );
        let big = json!({"Item": {"id": {"S": "big"}, "s": {"S": "x".repeat(MAX_ITEM_BYTES)}}});
        assert_eq!(
            put_item(&store, &key, &mut t, &big).unwrap_err().message,
            "Item size has exceeded the maximum allowed size"
        );
    }
}
