//! Lambda Invoke as Lambda answers it, served by the gateway itself: payload limits, DryRun,
//! `InvocationType=Event` (accepted at once, run by `async_invoke`), a qualifier (version or alias)
//! and every refusal in Lambda's own error shape; 503 while moto restarts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::async_invoke::{self, Event};
use super::functions::{function_name, qualifier, FunctionKey};
use super::invoke::{invoke_at, InvokeError, Invoked};
use super::moto::ACCOUNT;
use super::state::Shared;

/// Lambda's payload limit for a synchronous request: 6 MB.
pub(crate) const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// For an asynchronous (Event) request: 1 MB since AWS raised it from 256 KB (Invoke API reference).
pub(crate) const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// Lambda Invoke, as Lambda answers it. `target` is the path's function (name, ARN, either may be
/// qualified) and the query, which may hold `Qualifier`: a version or an alias runs that version's
/// configuration and code.
pub(crate) async fn serve(
    gw: &Arc<Shared>,
    region: &str,
    target: (&str, Option<&str>),
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let (raw_name, query) = target;
    let key = (region.to_string(), function_name(raw_name));
    let qualifier = qualifier(raw_name, query);
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    let asynchronous = invocation_type == "Event";
    if invocation_type == "DryRun" {
        return refuse_missing(gw, &key, qualifier.as_deref(), headers)
            .await
            .unwrap_or_else(|| StatusCode::NO_CONTENT.into_response());
    }
    let payload = match checked_payload(body, asynchronous) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    if asynchronous {
        if let Some(refused) = refuse_missing(gw, &key, qualifier.as_deref(), headers).await {
            return refused;
        }
        let event = Event {
            key,
            qualifier,
            payload,
        };
        return async_invoke::accept(gw, event);
    }
    match invoke_at(gw, &key, qualifier.as_deref(), payload).await {
        Ok(invoked) => answer(&invoked, headers),
        Err(e) => refusal(gw, region, headers, e),
    }
}

/// Lambda validates an Event or DryRun call without running it: the function (version, alias)
/// must exist. `None` when it does.
async fn refuse_missing(
    gw: &Shared,
    key: &FunctionKey,
    qualifier: Option<&str>,
    headers: &HeaderMap,
) -> Option<Response> {
    match gw.registry.config_at(&gw.moto, key, qualifier).await {
        Ok(Some(_)) => None,
        Ok(None) => {
            let name = match qualifier {
                Some(q) => format!("{}:{q}", key.1),
                None => key.1.clone(),
            };
            Some(refusal(gw, &key.0, headers, InvokeError::NotFound(name)))
        }
        Err(_) if !gw.supervisor.is_up() => Some(unavailable(gw, headers)),
        Err(e) => Some(refusal(gw, &key.0, headers, InvokeError::Backend(e))),
    }
}

/// The payload within Lambda's limits (6 MB synchronous, 1 MB Event) and JSON; `{}` when empty.
fn checked_payload(body: Bytes, asynchronous: bool) -> Result<Bytes, Box<Response>> {
    let limit = if asynchronous {
        ASYNC_PAYLOAD_LIMIT
    } else {
        SYNC_PAYLOAD_LIMIT
    };
    if body.len() > limit {
        // The code on the wire is RequestEntityTooLargeException, whatever the docs name it.
        let message = if asynchronous {
            format!(
                "{} byte payload is too large for the Event invocation type (limit {limit} bytes)",
                body.len()
            )
        } else {
            format!("Request must be smaller than {limit} bytes for the InvokeFunction operation")
        };
        return Err(Box::new(lambda_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            &message,
        )));
    }
    let payload = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err() {
        return Err(Box::new(lambda_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "Could not parse request body into json",
        )));
    }
    Ok(payload)
}

/// Why an invocation did not run, as Lambda answers it.
fn refusal(gw: &Shared, region: &str, headers: &HeaderMap, e: InvokeError) -> Response {
    match e {
        InvokeError::NotFound(name) => lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"),
        ),
        InvokeError::NotReady(n) => lambda_error(n.status, n.code, &n.message),
        InvokeError::Throttled => lambda_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate Exceeded.",
        ),
        InvokeError::NoCode(name) => lambda_error(
            StatusCode::BAD_GATEWAY,
            "ServiceException",
            &format!("lab local has no code for {name}: it was deployed before this gateway started; run lab up again"),
        ),
        InvokeError::Backend(e) => lambda_error(
            StatusCode::BAD_GATEWAY,
            "ServiceException",
            &format!("lab local: moto failed: {e:#}"),
        ),
        InvokeError::Unavailable(_) => unavailable(gw, headers),
    }
}

/// A synchronous invocation's answer: the payload, the version that ran, the request id, the
/// function error and, with `LogType=Tail`, the log's last 4 KB.
fn answer(invoked: &Invoked, headers: &HeaderMap) -> Response {
    let tail = headers
        .get("x-amz-log-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "Tail");
    let mut response = (StatusCode::OK, invoked.body.clone()).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&invoked.version) {
        h.insert("x-amz-executed-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&invoked.request_id) {
        h.insert("x-amzn-requestid", v);
    }
    h.insert("x-lab-function-us", HeaderValue::from(invoked.function_us));
    h.insert(
        "x-lab-dataplane-us",
        HeaderValue::from(invoked.dataplane_us),
    );
    h.insert("x-lab-cpu-wait-us", HeaderValue::from(invoked.cpu_wait_us));
    if let Some(err) = &invoked.function_error {
        if let Ok(v) = HeaderValue::from_str(err) {
            h.insert("x-amz-function-error", v);
        }
    }
    if tail {
        if let Ok(v) = HeaderValue::from_str(&invoked.log_tail_b64()) {
            h.insert("x-amz-log-result", v);
        }
    }
    response
}

/// A Lambda error document with its code in `x-amzn-errortype`.
fn lambda_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (
        status,
        serde_json::json!({"Type": "User", "message": message, "__type": code}).to_string(),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(code) {
        h.insert("x-amzn-errortype", v);
    }
    r
}

/// The supervisor's 503 as a response.
fn unavailable(gw: &Shared, headers: &HeaderMap) -> Response {
    gw.supervisor.unavailable(headers).into_response()
}
