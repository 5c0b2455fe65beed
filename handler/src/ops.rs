//! The five DynamoDB operations, their boto3-shaped responses, and SDK error classification.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::Client;
use serde_json::{Map, Value};

use crate::convert::{from_attr, from_item};
use crate::error::{quote, HandlerError};
use crate::event::{Create, Delete, Item, List, Read, TableOp, Update};

/// Runs one validated table operation and shapes the answer like boto3's Table resource does.
pub async fn execute(client: &Client, table: String, op: TableOp) -> Result<Value, HandlerError> {
    match op {
        TableOp::Create(c) => create(client, table, c).await,
        TableOp::Read(r) => read(client, table, r).await,
        TableOp::Update(u) => update(client, table, u).await,
        TableOp::Delete(d) => delete(client, table, d).await,
        TableOp::List(l) => list(client, table, l).await,
    }
}

async fn create(client: &Client, table: String, c: Create) -> Result<Value, HandlerError> {
    let out = client
        .put_item()
        .table_name(&table)
        .set_item(Some(c.item))
        .set_condition_expression(c.condition_expression)
        .set_expression_attribute_names(c.expressions.names)
        .set_expression_attribute_values(c.expressions.values)
        .send()
        .await
        .map_err(|e| sdk_error(e, &table))?;
    Ok(response(out.request_id(), Map::new()))
}

async fn read(client: &Client, table: String, r: Read) -> Result<Value, HandlerError> {
    let mut out = client
        .get_item()
        .table_name(&table)
        .set_key(Some(r.key))
        .set_projection_expression(r.projection_expression)
        .set_consistent_read(r.consistent_read)
        .set_expression_attribute_names(r.names)
        .send()
        .await
        .map_err(|e| sdk_error(e, &table))?;
    let mut body = Map::new();
    // boto3 leaves `Item` out entirely when there is no such item; callers test for the key.
    if let Some(item) = out.item.take() {
        body.insert("Item".into(), from_item(item));
    }
    Ok(response(out.request_id(), body))
}

async fn update(client: &Client, table: String, u: Update) -> Result<Value, HandlerError> {
    let mut out = client
        .update_item()
        .table_name(&table)
        .set_key(Some(u.key))
        .set_update_expression(u.update_expression)
        .set_condition_expression(u.condition_expression)
        .set_expression_attribute_names(u.expressions.names)
        .set_expression_attribute_values(u.expressions.values)
        .set_return_values(u.return_values)
        .send()
        .await
        .map_err(|e| sdk_error(e, &table))?;
    let body = attributes(out.attributes.take());
    Ok(response(out.request_id(), body))
}

async fn delete(client: &Client, table: String, d: Delete) -> Result<Value, HandlerError> {
    let mut out = client
        .delete_item()
        .table_name(&table)
        .set_key(Some(d.key))
        .set_condition_expression(d.condition_expression)
        .set_expression_attribute_names(d.expressions.names)
        .set_expression_attribute_values(d.expressions.values)
        .set_return_values(d.return_values)
        .send()
        .await
        .map_err(|e| sdk_error(e, &table))?;
    let body = attributes(out.attributes.take());
    Ok(response(out.request_id(), body))
}

async fn list(client: &Client, table: String, l: List) -> Result<Value, HandlerError> {
    let mut out = client
        .scan()
        .table_name(&table)
        .set_limit(l.limit)
        .set_exclusive_start_key(l.exclusive_start_key)
        .set_filter_expression(l.filter_expression)
        .set_projection_expression(l.projection_expression)
        .set_expression_attribute_names(l.expressions.names)
        .set_expression_attribute_values(l.expressions.values)
        .send()
        .await
        .map_err(|e| sdk_error(e, &table))?;
    let items: Vec<Value> =
        out.items.take().unwrap_or_default().into_iter().map(from_item).collect();
    let mut body = Map::new();
    body.insert("Items".into(), Value::Array(items));
    body.insert("Count".into(), Value::from(out.count));
    body.insert("ScannedCount".into(), Value::from(out.scanned_count));
    // Present only when there is another page, as in boto3: its absence is how callers stop paging.
    if let Some(key) = out.last_evaluated_key.take() {
        body.insert("LastEvaluatedKey".into(), from_item(key));
    }
    Ok(response(out.request_id(), body))
}

fn attributes(attrs: Option<Item>) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(attrs) = attrs {
        body.insert(
            "Attributes".into(),
            Value::Object(attrs.into_iter().map(|(k, v)| (k, from_attr(v))).collect()),
        );
    }
    body
}

/// Adds boto3's `ResponseMetadata`. The tutorial's clients look at `HTTPStatusCode`; the request id is
/// what one quotes to AWS support, so it is passed through when the SDK saw one.
fn response(request_id: Option<&str>, mut body: Map<String, Value>) -> Value {
    let mut meta = Map::new();
    meta.insert("RequestId".into(), Value::from(request_id.unwrap_or("")));
    meta.insert("HTTPStatusCode".into(), Value::from(200));
    meta.insert("RetryAttempts".into(), Value::from(0));
    body.insert("ResponseMetadata".into(), Value::Object(meta));
    Value::Object(body)
}

/// Classifies an SDK failure.
///
/// Only the service's error code and message are reported (never the request, so never credentials);
/// failures with no service answer (network, timeout) report the SDK's error chain, without the raw
/// response dump that the SDK's own `Debug` output would add.
pub(crate) fn sdk_error<E>(err: SdkError<E, HttpResponse>, table: &str) -> HandlerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = err.message().unwrap_or("").to_owned();
    match err.code() {
        Some("ConditionalCheckFailedException") => HandlerError::conflict(format!(
            "the condition was not met ({})",
            or_default(&message, "The conditional request failed")
        )),
        Some("TransactionConflictException") => HandlerError::conflict(format!(
            "the item is being changed by a transaction ({})",
            or_default(&message, "transaction conflict")
        )),
        Some("ResourceNotFoundException") => {
            HandlerError::not_found(format!("table {} does not exist", quote(table)))
        }
        // The execution role lacks the action: IAM's message names the action, resource and role.
        Some("AccessDeniedException") => HandlerError::forbidden(format!(
            "the function's role may not do this: {}",
            or_default(&message, "access denied")
        )),
        Some("ValidationException") => HandlerError::bad_request(format!(
            "DynamoDB rejected the request: {}",
            or_default(&message, "validation failed")
        )),
        Some(code) => HandlerError::internal(format!(
            "DynamoDB error {code}: {}",
            or_default(&message, "no message")
        )),
        None => {
            let cause = match &err {
                // An answer without a parseable error body (e.g. an HTML 500 page from a proxy).
                SdkError::ServiceError(se) => format!(
                    "HTTP {} with no recognisable error in the body",
                    se.raw().status().as_u16()
                ),
                SdkError::TimeoutError(_) => "no answer in time".to_owned(),
                other => error_chain(other),
            };
            HandlerError::internal(format!("DynamoDB call failed: {cause}"))
        }
    }
}

/// `outer: inner: innermost`, from `Display` only.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        // Some layers repeat their cause in their own message; skip the echo.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

fn or_default<'a>(message: &'a str, default: &'a str) -> &'a str {
    if message.is_empty() {
        default
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    fn service_error(
        status: u16,
        code: Option<&str>,
        message: &str,
    ) -> SdkError<GetItemError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = HttpResponse::new(
            status.try_into().expect("status"),
            "<html>oops</html>".into(),
        );
        SdkError::service_error(GetItemError::generic(meta.build()), raw)
    }

    #[test]
    fn service_errors_are_classified_by_code() {
        let cases = [
            (400, Some("ConditionalCheckFailedException"), "The conditional request failed", ErrorKind::Conflict,
                "Conflict: the condition was not met (The conditional request failed)"),
            (400, Some("TransactionConflictException"), "busy", ErrorKind::Conflict,
                "Conflict: the item is being changed by a transaction (busy)"),
            (400, Some("ResourceNotFoundException"), "Requested resource not found", ErrorKind::NotFound,
                "NotFound: table \"tbl\" does not exist"),
            (400, Some("ValidationException"), "The provided key element does not match the schema", ErrorKind::BadRequest,
                "BadRequest: DynamoDB rejected the request: The provided key element does not match the schema"),
            (400, Some("AccessDeniedException"), "User: r is not authorized to perform: dynamodb:Scan", ErrorKind::Forbidden,
                "Forbidden: the function's role may not do this: User: r is not authorized to perform: dynamodb:Scan"),
            (400, Some("ProvisionedThroughputExceededException"), "slow down", ErrorKind::Internal,
                "Internal: DynamoDB error ProvisionedThroughputExceededException: slow down"),
            (500, Some("InternalServerError"), "", ErrorKind::Internal,
                "Internal: DynamoDB error InternalServerError: no message"),
            (502, None, "", ErrorKind::Internal,
                "Internal: DynamoDB call failed: HTTP 502 with no recognisable error in the body"),
        ];
        for (status, code, message, kind, want) in cases {
            let err = sdk_error(service_error(status, code, message), "tbl");
            assert_eq!(err.kind, kind, "{code:?}");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn response_metadata_is_always_there() {
        let v = response(None, Map::new());
        assert_eq!(
            v,
            serde_json::json!({"ResponseMetadata": {"RequestId": "", "HTTPStatusCode": 200, "RetryAttempts": 0}})
        );
        let v = response(Some("abc"), attributes(None));
        assert_eq!(v["ResponseMetadata"]["RequestId"], "abc");
        assert!(v.get("Attributes").is_none());
    }
}
