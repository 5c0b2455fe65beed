//! The item store: every table's items, one lock per table (a table's writes are ordered, tables
//! do not wait on each other), and its log when the stack persists its state.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{json, Value};

use super::error::DdbError;
use super::table::{Key, Schema, Table};
use super::value::{item_from_json, item_to_json, Item};
use super::wal::Wal;

/// A table: (region, name).
pub(crate) type TableKey = (String, String);

/// A table behind its lock.
pub(crate) type Shared = Arc<Mutex<Table>>;

/// Every table's items, and the log that makes them durable.
pub(crate) struct Store {
    tables: RwLock<HashMap<TableKey, Shared>>,
    wal: Option<Wal>,
}

/// A write to log and apply under the table's lock.
pub(crate) enum Write {
    Put(Key, Item),
    Delete(Key),
}

impl Store {
    /// A store in memory only (`--persist false`).
    pub(crate) fn memory() -> Store {
        Store {
            tables: RwLock::default(),
            wal: None,
        }
    }

    /// A store kept under `dir`, with what an earlier run logged replayed.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Store> {
        let (wal, records) = Wal::open(dir)?;
        let store = Store {
            tables: RwLock::default(),
            wal: Some(wal),
        };
        for r in &records {
            store.replay(r);
        }
        Ok(store)
    }

    fn replay(&self, r: &Value) {
        let key = (
            r["region"].as_str().unwrap_or_default().to_string(),
            r["table"].as_str().unwrap_or_default().to_string(),
        );
        let mut tables = self.tables.write().expect("tables lock");
        match r["op"].as_str() {
            Some("table") => {
                if let Some(schema) = Schema::from_json(&r["schema"]) {
                    tables.insert(key, Arc::new(Mutex::new(Table::new(schema))));
                }
            }
            Some("drop") => {
                tables.remove(&key);
            }
            Some(op @ ("put" | "delete")) => {
                let Some(table) = tables.get(&key) else {
                    return;
                };
                let mut t = table.lock().expect("table lock");
                let Ok(item) = item_from_json(&r["item"]) else {
                    return;
                };
                if op == "put" {
                    if let Ok(k) = t.schema.key_of_item(&item) {
                        t.put(k, item);
                    }
                } else if let Ok(k) = t.schema.key_of_request(&item) {
                    t.delete(&k);
                }
            }
            _ => {}
        }
    }

    /// The table, if the store knows it.
    pub(crate) fn table(&self, key: &TableKey) -> Option<Shared> {
        self.tables.read().expect("tables lock").get(key).cloned()
    }

    /// Learns a table (its schema, from DynamoDB's DescribeTable); keeps the one already known.
    pub(crate) fn learn(&self, key: &TableKey, schema: Schema) -> Result<Shared, DdbError> {
        let mut tables = self.tables.write().expect("tables lock");
        if let Some(t) = tables.get(key) {
            return Ok(t.clone());
        }
        self.log(
            &json!({"op": "table", "region": key.0, "table": key.1, "schema": schema.to_json()}),
        )?;
        let t = Arc::new(Mutex::new(Table::new(schema)));
        tables.insert(key.clone(), t.clone());
        Ok(t)
    }

    /// Forgets a table and drops its items (DeleteTable, or CreateTable of a name reused).
    pub(crate) fn drop_table(&self, key: &TableKey) {
        let mut tables = self.tables.write().expect("tables lock");
        if tables.remove(key).is_some() {
            if let Err(e) = self.log(&json!({"op": "drop", "region": key.0, "table": key.1})) {
                eprintln!(
                    "lab local: could not log the drop of table {}: {}",
                    key.1, e.message
                );
            }
        }
    }

    /// Logs a write, then applies it: call with the table's lock held, so the log's order is the
    /// table's order. True when a snapshot is due.
    pub(crate) fn write(
        &self,
        key: &TableKey,
        table: &mut Table,
        w: Write,
    ) -> Result<bool, DdbError> {
        let due = match &w {
            Write::Put(_, item) => self.log(
                &json!({"op": "put", "region": key.0, "table": key.1, "item": item_to_json(item)}),
            )?,
            Write::Delete(k) => {
                let Some(old) = table.get(k) else {
                    return Ok(false);
                };
                let key_item = table.schema.key_item(old);
                self.log(&json!({"op": "delete", "region": key.0, "table": key.1, "item": item_to_json(&key_item)}))?
            }
        };
        match w {
            Write::Put(k, item) => {
                table.put(k, item);
            }
            Write::Delete(k) => {
                table.delete(&k);
            }
        }
        Ok(due)
    }

    fn log(&self, record: &Value) -> Result<bool, DdbError> {
        let Some(wal) = &self.wal else {
            return Ok(false);
        };
        wal.append(record).map_err(|e| DdbError {
            code: "InternalServerError",
            message: format!("lab local could not log the write, so it was not made: {e}"),
        })
    }

    /// Writes a snapshot of every table and deletes the log it covers (on a blocking thread, or at
    /// stop). Writes go on meanwhile: each table is copied under its own lock.
    pub(crate) fn snapshot(&self) -> anyhow::Result<()> {
        let Some(wal) = &self.wal else { return Ok(()) };
        if wal.snapshotting.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let result = (|| {
            let covers = wal.rotate()?;
            let tables: Vec<(TableKey, Shared)> = self
                .tables
                .read()
                .expect("tables lock")
                .iter()
                .map(|(k, t)| (k.clone(), t.clone()))
                .collect();
            let mut records = Vec::new();
            for (key, table) in tables {
                let copy = table.lock().expect("table lock").clone();
                let head = json!({"op": "table", "region": key.0, "table": key.1, "schema": copy.schema.to_json()});
                records.push(head.to_string().into_bytes());
                for (_, item) in copy.scan_after(None) {
                    let r = json!({"op": "put", "region": key.0, "table": key.1, "item": item_to_json(item)});
                    records.push(r.to_string().into_bytes());
                }
            }
            wal.write_snapshot(covers, &records)
        })();
        wal.snapshotting.store(false, Ordering::SeqCst);
        result
    }

    /// Empties the store, on disk too (`lab local reset`).
    pub(crate) fn clear(&self) -> anyhow::Result<()> {
        let mut tables = self.tables.write().expect("tables lock");
        tables.clear();
        if let Some(wal) = &self.wal {
            wal.clear()?;
        }
        Ok(())
    }

    /// `lab local status`'s figures: tables, items, the log.
    pub(crate) fn status(&self) -> Value {
        let tables = self.tables.read().expect("tables lock");
        let items: usize = tables.values().map(|t| t.lock().expect("table lock").len()).sum();
        json!({
            "tables": tables.len(),
            "items": items,
            "log": self.wal.as_ref().map(Wal::status),
        })
    }

    /// How many items a table holds (DescribeTable's ItemCount).
    pub(crate) fn item_count(&self, key: &TableKey) -> Option<usize> {
        Some(self.table(key)?.lock().expect("table lock").len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::table::KeyAttr;

    fn schema() -> Schema {
        Schema {
            hash: KeyAttr {
                name: "id".into(),
                kind: "S".into(),
            },
            range: None,
        }
    }

    fn put(store: &Store, key: &TableKey, id: &str) {
        let table = store.table(key).unwrap();
        let mut t = table.lock().unwrap();
        let item = item_from_json(&json!({"id": {"S": id}})).unwrap();
        let k = t.schema.key_of_item(&item).unwrap();
        store.write(key, &mut t, Write::Put(k, item)).unwrap();
    }

    fn ids(store: &Store, key: &TableKey) -> Vec<String> {
        let Some(table) = store.table(key) else {
            return vec![];
        };
        let t = table.lock().unwrap();
        t.scan_after(None)
            .map(|(_, i)| item_to_json(i)["id"]["S"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn items_survive_reopen_snapshot_and_drop() {
        let dir = std::env::temp_dir().join(format!("lab-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (
            ("us-east-1".to_string(), "a".to_string()),
            ("us-east-1".to_string(), "b".to_string()),
        );
        {
            let store = Store::open(&dir).unwrap();
            store.learn(&a, schema()).unwrap();
            store.learn(&b, schema()).unwrap();
            put(&store, &a, "1");
            put(&store, &b, "x");
            store.snapshot().unwrap();
            put(&store, &a, "2");
            store.drop_table(&b);
            let table = store.table(&a).unwrap();
            let mut t = table.lock().unwrap();
            let k = t
                .schema
                .key_of_request(&item_from_json(&json!({"id": {"S": "1"}})).unwrap())
                .unwrap();
            store.write(&a, &mut t, Write::Delete(k)).unwrap();
            // No snapshot at the end: as after a kill, the log after the snapshot is replayed.
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(ids(&store, &a), ["2"]);
        assert!(store.table(&b).is_none());
        store.clear().unwrap();
        drop(store);
        let store = Store::open(&dir).unwrap();
        assert!(store.table(&a).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
