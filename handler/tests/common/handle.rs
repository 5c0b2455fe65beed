//! Calling [`handler::handle`] in the tests: answers that must succeed or fail, the checks every
//! answer gets, and a fresh table on the shared moto with the handler's calls on it.

use aws_sdk_dynamodb::Client;
use handler::{handle, HandlerError};
use serde_json::{json, Value};

use super::dynamodb::config_for;
use super::moto::{client, fresh_table};

/// Parses test JSON written as text (to keep numbers' exact text, or an event as the tutorial spells it).
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// Handles `event` with no table restriction; it must succeed.
pub async fn ok(client: &Client, event: Value) -> Value {
    let shown = event.to_string();
    handle(client, None, event)
        .await
        .unwrap_or_else(|e| panic!("{shown} failed: {e}"))
}

/// Handles `event` with no table restriction; it must fail.
pub async fn fails(client: &Client, event: Value) -> HandlerError {
    let shown = event.to_string();
    match handle(client, None, event).await {
        Ok(v) => panic!("{shown} succeeded with {v}"),
        Err(e) => e,
    }
}

/// boto3's `ResponseMetadata` is there, as every table operation's answer carries it.
pub fn assert_metadata(response: &Value) {
    let meta = &response["ResponseMetadata"];
    assert_eq!(meta["HTTPStatusCode"], 200, "{response}");
    assert_eq!(meta["RetryAttempts"], 0, "{response}");
    assert!(meta["RequestId"].is_string(), "{response}");
}

/// A client whose endpoint refuses connections: any DynamoDB call through it fails as Internal, so a
/// different error proves the handler never called DynamoDB. Its credentials are canaries that no
/// error message may repeat.
pub fn dead_client() -> Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let endpoint = format!("http://127.0.0.1:{port}");
    let conf = config_for(&endpoint, "AKIDSECRETCANARY", "secret-canary-value")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    Client::from_conf(conf)
}

/// Sorts the items of a Scan answer by id, since scan order is not part of the contract.
pub fn items_by_id(response: &Value) -> Vec<Value> {
    let mut items = response["Items"].as_array().cloned().unwrap_or_default();
    items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    items
}

/// A fresh table on the shared moto, and the handler's calls on it.
pub struct Table {
    /// A client for the shared moto.
    pub client: Client,
    /// The table's unique name.
    pub name: String,
}

impl Table {
    /// Creates a table named after `prefix` that no other test in the binary uses.
    pub async fn fresh(prefix: &str) -> Self {
        let client = client();
        let name = fresh_table(&client, prefix).await;
        Self { client, name }
    }

    /// The event for `operation` on this table.
    pub fn event(&self, operation: &str, payload: Value) -> Value {
        json!({"operation": operation, "tableName": self.name, "payload": payload})
    }

    /// Handles `operation` with `payload` on this table; it must succeed.
    pub async fn ok(&self, operation: &str, payload: Value) -> Value {
        ok(&self.client, self.event(operation, payload)).await
    }

    /// Handles `operation` with `payload` on this table; it must fail.
    pub async fn fails(&self, operation: &str, payload: Value) -> HandlerError {
        fails(&self.client, self.event(operation, payload)).await
    }

    /// Stores `item` (a create).
    pub async fn put(&self, item: Value) -> Value {
        self.ok("create", json!({ "Item": item })).await
    }

    /// Reads the item with this id (a read).
    pub async fn get(&self, id: &str) -> Value {
        self.ok("read", json!({"Key": {"id": id}})).await
    }
}
