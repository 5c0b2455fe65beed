//! The native DynamoDB data plane: the gateway serves item calls (PutItem, GetItem, UpdateItem,
//! DeleteItem, Scan, Query, BatchGetItem, BatchWriteItem) from an item store of its own, while
//! tables themselves (CreateTable, DescribeTable, DeleteTable, tags...) stay in moto. The store
//! learns a table's key schema from moto's DescribeTable on first use and keeps it (in its log
//! too); CreateTable and DeleteTable passing through the gateway make it forget the table and drop
//! its items (ARCHITECTURE.md §3, "The data plane").
//!
//! One job per file: `value` (attribute values, numbers), `expr` (the expression languages'
//! lexer and parser), `reserved` (DynamoDB's reserved words), `eval` (conditions, updates,
//! projections), `table` (one table's keys and items), `store` (every table, one lock each),
//! `wal` (the log and snapshots), `ops` (each operation's request and answer), `error` (DynamoDB's
//! error shape).

mod error;
mod eval;
mod expr;
mod ops;
mod reserved;
mod store;
mod table;
mod value;
mod wal;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use super::moto::Moto;
use super::strict::reply::Upstream;
use super::supervisor::Supervisor;
use error::DdbError;
pub(crate) use store::Store;
use store::{TableKey, Write};
use table::Schema;
use value::item_from_json;

/// The operations the native store serves: every item operation, which strict mode's rules hold
/// back until the table is ACTIVE.
const SERVED: &[&str] = crate::strict::dynamodb::DATA_PLANE;

/// Item operations moto would answer from its own (empty) items, so the native store refuses them.
const NOT_SERVED: &[&str] = &[
    "TransactGetItems",
    "TransactWriteItems",
    "ExecuteStatement",
    "BatchExecuteStatement",
    "ExecuteTransaction",
];

/// Which data plane serves items: `lab local start --dynamodb native|moto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPlane {
    /// lab's own item store in the gateway (the default).
    Native,
    /// moto, as before the native store: the fallback, and the benchmark's peer.
    Moto,
}

impl DataPlane {
    /// `native` or `moto`, as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            DataPlane::Native => "native",
            DataPlane::Moto => "moto",
        }
    }
}

/// The DynamoDB operation `X-Amz-Target` names: `GetItem` for `DynamoDB_20120810.GetItem`.
fn operation(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-target")?.to_str().ok()?.strip_prefix("DynamoDB_20120810.")
}

/// The DynamoDB item operation a call is, if the native store answers it.
pub(crate) fn item_op(headers: &HeaderMap) -> Option<&'static str> {
    let op = operation(headers)?;
    SERVED.iter().chain(NOT_SERVED).copied().find(|o| *o == op)
}

/// Whether the call is CreateTable or DeleteTable, after which the store forgets the table.
pub(crate) fn changes_tables(headers: &HeaderMap) -> bool {
    matches!(operation(headers), Some("CreateTable" | "DeleteTable"))
}

/// After moto accepted a CreateTable or DeleteTable: the store forgets the table and drops its
/// items (a new table of that name starts empty, and its key schema is read again).
pub(crate) fn table_changed(store: &Store, region: &str, doc: &Value) {
    if let Some(name) = doc["TableName"].as_str() {
        store.drop_table(&(region.to_string(), name.to_string()));
    }
}

/// DescribeTable's `Table.ItemCount` from the store (moto holds no items).
pub(crate) fn patch_item_count(
    store: &Store,
    region: &str,
    headers: &HeaderMap,
    up: &mut Upstream,
) {
    if operation(headers) != Some("DescribeTable") || !up.ok() {
        return;
    }
    let mut doc = up.json();
    let Some(name) = doc["Table"]["TableName"].as_str() else {
        return;
    };
    let count = store.item_count(&(region.to_string(), name.to_string())).unwrap_or(0);
    doc["Table"]["ItemCount"] = json!(count);
    up.set_json(&doc);
}

/// What serving needs besides the store: moto, for a table's schema.
pub(crate) struct Backend<'a> {
    pub(crate) store: &'a Arc<Store>,
    pub(crate) moto: &'a Moto,
    pub(crate) supervisor: &'a Supervisor,
    pub(crate) headers: &'a HeaderMap,
}

/// Serves one item call from the store.
pub(crate) async fn serve(b: &Backend<'_>, region: &str, op: &str, doc: &Value) -> Upstream {
    if NOT_SERVED.contains(&op) {
        return DdbError::validation(&format!(
            "lab's local DynamoDB does not serve {op}: start the stack with --dynamodb moto to use it"
        ))
        .reply();
    }
    if let Err(e) = ops::refuse_legacy_in(doc) {
        return e.reply();
    }
    let result = match op {
        "BatchGetItem" => batch_get(b, region, doc).await,
        "BatchWriteItem" => batch_write(b, region, doc).await,
        _ => one_table(b, region, op, doc).await,
    };
    match result {
        Ok((body, due)) => {
            if due {
                let store = b.store.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.snapshot() {
                        eprintln!("lab local: the item store's snapshot failed (the log keeps every write): {e:#}");
                    }
                });
            }
            Upstream::new(
                StatusCode::OK,
                "application/x-amz-json-1.0",
                body.to_string(),
            )
            .with_header("x-amzn-requestid", &uuid::Uuid::new_v4().to_string())
        }
        Err(Failure::Ddb(e)) => e.reply(),
        Err(Failure::Upstream(up)) => up,
    }
}

/// Why a call was not served: DynamoDB's refusal, or moto's answer when the schema could not be read.
enum Failure {
    Ddb(DdbError),
    Upstream(Upstream),
}

impl From<DdbError> for Failure {
    fn from(e: DdbError) -> Self {
        Failure::Ddb(e)
    }
}

fn table_name(doc: &Value) -> Result<&str, DdbError> {
    doc["TableName"].as_str().ok_or_else(|| {
        DdbError::validation(
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
        )
    })
}

/// The table, learnt from moto's DescribeTable when the store does not know it yet.
async fn table(b: &Backend<'_>, key: &TableKey) -> Result<store::Shared, Failure> {
    if let Some(t) = b.store.table(key) {
        return Ok(t);
    }
    if !b.supervisor.is_up() {
        return Err(Failure::Upstream(b.supervisor.unavailable(b.headers)));
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20240101/{}/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        key.0
    );
    let sent = b
        .moto
        .http
        .post(format!("{}/", b.moto.base))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.DescribeTable")
        .header("authorization", auth)
        .body(json!({"TableName": key.1}).to_string())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let message =
                format!("lab local: moto did not answer DescribeTable ({e}); retry in a moment");
            return Err(Failure::Upstream(super::supervisor::unavailable_reply(
                b.headers, &message,
            )));
        }
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        let schema = Schema::from_description(&body["Table"]).ok_or_else(|| {
            DdbError::validation(&format!(
                "lab local could not read the key schema of table {}",
                key.1
            ))
        })?;
        return Ok(b.store.learn(key, schema)?);
    }
    if body["__type"]
        .as_str()
        .is_some_and(|t| t.ends_with("ResourceNotFoundException"))
    {
        return Err(DdbError::no_table().into());
    }
    Err(Failure::Upstream(Upstream::new(
        status,
        "application/x-amz-json-1.0",
        body.to_string(),
    )))
}

async fn one_table(
    b: &Backend<'_>,
    region: &str,
    op: &str,
    doc: &Value,
) -> Result<(Value, bool), Failure> {
    let key = (region.to_string(), table_name(doc)?.to_string());
    let shared = table(b, &key).await?;
    let mut t = shared.lock().expect("table lock");
    let answer = match op {
        "PutItem" => ops::put_item(b.store, &key, &mut t, doc),
        "GetItem" => ops::get_item(&t, doc),
        "UpdateItem" => ops::update_item(b.store, &key, &mut t, doc),
        "DeleteItem" => ops::delete_item(b.store, &key, &mut t, doc),
        "Scan" => ops::scan(&t, doc),
        _ => ops::query(&t, doc),
    }?;
    Ok((answer.body, answer.snapshot_due))
}

fn request_items(doc: &Value) -> Result<&Map<String, Value>, DdbError> {
    doc["RequestItems"].as_object().filter(|m| !m.is_empty()).ok_or_else(|| {
        DdbError::validation(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
        )
    })
}

/// BatchGetItem: up to 100 keys, every one answered (nothing is left unprocessed locally).
async fn batch_get(b: &Backend<'_>, region: &str, doc: &Value) -> Result<(Value, bool), Failure> {
    let requests = request_items(doc)?;
    let total: usize = requests.values().map(|r| r["Keys"].as_array().map_or(0, Vec::len)).sum();
    if total > 100 {
        return Err(
            DdbError::validation("Too many items requested for the BatchGetItem call").into(),
        );
    }
    let mut responses = Map::new();
    for (name, request) in requests {
        let key = (region.to_string(), name.clone());
        let shared = table(b, &key).await?;
        let t = shared.lock().expect("table lock");
        // One GetItem request per key: the table's request without its keys, cut once.
        let mut one = request.clone();
        if let Some(m) = one.as_object_mut() {
            m.remove("Keys");
            m.remove("ConsistentRead");
        }
        let mut items = Vec::new();
        for k in request["Keys"].as_array().into_iter().flatten() {
            one["Key"] = k.clone();
            if let Some(item) = ops::get_item(&t, &one)?.body.get("Item") {
                items.push(item.clone());
            }
        }
        responses.insert(name.clone(), Value::Array(items));
    }
    Ok((
        json!({"Responses": responses, "UnprocessedKeys": {}}),
        false,
    ))
}

/// BatchWriteItem: up to 25 puts and deletes, each applied as its own write.
async fn batch_write(b: &Backend<'_>, region: &str, doc: &Value) -> Result<(Value, bool), Failure> {
    let requests = request_items(doc)?;
    let total: usize = requests.values().map(|r| r.as_array().map_or(0, Vec::len)).sum();
    if total > 25 {
        return Err(DdbError::validation(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        )
        .into());
    }
    // Every table first, so a batch naming a missing table changes nothing.
    let mut tables = Vec::new();
    for name in requests.keys() {
        let key = (region.to_string(), name.clone());
        tables.push((key.clone(), table(b, &key).await?));
    }
    let mut due = false;
    for ((key, shared), writes) in tables.iter().zip(requests.values()) {
        let mut t = shared.lock().expect("table lock");
        let mut planned = Vec::new();
        for w in writes.as_array().into_iter().flatten() {
            if let Some(item) = w["PutRequest"]["Item"].as_object() {
                let item = item_from_json(&Value::Object(item.clone()))?;
                let k = t.schema.key_of_item(&item)?;
                planned.push(Write::Put(k, item));
            } else if !w["DeleteRequest"]["Key"].is_null() {
                let k = t.schema.key_of_request(&item_from_json(&w["DeleteRequest"]["Key"])?)?;
                planned.push(Write::Delete(k));
            } else {
                return Err(DdbError::validation(
                    "Supplied write request is missing a PutRequest or DeleteRequest",
                )
                .into());
            }
        }
        for w in planned {
            due |= b.store.write(key, &mut t, w)?;
        }
    }
    Ok((json!({"UnprocessedItems": {}}), due))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_calls_are_recognised_by_target() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", "DynamoDB_20120810.GetItem".parse().unwrap());
        assert_eq!(item_op(&h), Some("GetItem"));
        h.insert(
            "x-amz-target",
            "DynamoDB_20120810.DescribeTable".parse().unwrap(),
        );
        assert_eq!(item_op(&h), None);
        h.insert(
            "x-amz-target",
            "DynamoDB_20120810.TransactWriteItems".parse().unwrap(),
        );
        assert_eq!(item_op(&h), Some("TransactWriteItems"));
    }
}
