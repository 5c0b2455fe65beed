//! The tutorial's `LambdaFunctionOverHttps` handler in Rust.
//!
//! It takes the tutorial's event, `{"operation": OP, "tableName": T, "payload": P}`, and answers the way
//! the Python handler's boto3 calls would, except that numbers are exact (the Python handler fails with
//! `Decimal is not JSON serializable` on numeric reads) and that every failure is a typed error
//! (`BadRequest`, `Forbidden`, `NotFound`, `Conflict`, `Internal`) whose message names the field or cause.
//!
//! The crate is a library so the `lab` CLI can run the same code in its local stack; the `bootstrap`
//! binary is a thin Lambda runtime wrapper around [`handle`].
//!
//! Modules: [`event`] parses and validates, [`convert`] maps JSON to DynamoDB values and back, `ops`
//! talks to DynamoDB, [`error`] classifies failures.

// A library with a public API (the event contract `lab` builds on): every public item says what it is.
#![warn(missing_docs)]

pub mod convert;
pub mod error;
pub mod event;
mod ops;
#[cfg(feature = "runtime-api")]
pub mod runtime_api;

pub use error::{ErrorKind, HandlerError};

use serde_json::Value;

/// The environment variable naming the only table the function may touch (`lab up` sets it to the
/// stack's table). Unset or empty means any table.
pub const ALLOWED_TABLE_ENV: &str = "LAB_ALLOWED_TABLE";

/// Reads [`ALLOWED_TABLE_ENV`]; an empty value counts as unset, so clearing the variable in the console
/// does not lock the function out of every table.
pub fn allowed_table_from_env() -> Option<String> {
    std::env::var(ALLOWED_TABLE_ENV).ok().filter(|t| !t.is_empty())
}

/// The SDK's HTTPS client: rustls with ring. The SDK's default TLS (aws-lc) would add a C build
/// of most of a minute to every fresh build, for nothing this code needs; `lab` uses the same client.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Gives an SDK configuration loader [`https_client`].
pub fn with_https(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    loader.http_client(https_client())
}

/// Handles one event.
///
/// `allowed_table`, when set, is the only table a table operation may name; any other is refused with
/// [`ErrorKind::Forbidden`] before DynamoDB is called. `echo` and `ping` never call DynamoDB.
pub async fn handle(
    client: &aws_sdk_dynamodb::Client,
    allowed_table: Option<&str>,
    event: Value,
) -> Result<Value, HandlerError> {
    match event::parse(event, allowed_table)? {
        event::Request::Echo(payload) => Ok(payload),
        event::Request::Ping => Ok(Value::String("pong".to_owned())),
        event::Request::Table { table, op } => ops::execute(client, table, op).await,
    }
}
