//! lab's gateway on 127.0.0.1: one dispatcher for every request. It serves itself what moto cannot
//! (lab's `/_lab/` endpoints, the REST API stage URL, Lambda Invoke and GetAccountSettings) and
//! hands every other AWS API call to `forward`, which passes it to moto through strict mode's rules.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;

use super::forward::forward_with_hooks;
use super::functions::LAMBDA_API;
use super::state::Shared;
use super::{invoke_api, lab_api, stage};

/// The gateway's routes: everything goes through one dispatcher.
pub(crate) fn router(gw: Arc<Shared>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(gw)
}

/// `Credential=KEY/DATE/REGION/SERVICE/aws4_request` → (region, service).
fn scope(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    let mut parts = cred.split('/');
    let (_, _, region, service) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((region.to_string(), service.to_string()))
}

/// Routes one request: lab's own endpoints, the stage URL (path or host form), the Lambda calls
/// moto cannot serve (GetAccountSettings, Invoke), and everything else to moto.
async fn dispatch(
    State(gw): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if let Some(what) = path.strip_prefix("/_lab/") {
        return lab_api::serve(&gw, &method, what, &body).await;
    }
    if let Some(rest) = host_style_stage(&headers, &path) {
        return stage::serve(&gw, &method, &rest, body).await;
    }
    if let Some(rest) = path.strip_prefix("/restapis/") {
        if rest.contains("/_user_request_") {
            return stage::serve(&gw, &method, rest, body).await;
        }
    }
    let region = scope(&headers).map(|(r, _)| r).unwrap_or_else(|| "us-east-1".into());
    if method == Method::GET && path.trim_end_matches('/') == "/2016-08-19/account-settings" {
        if let Err(denied) = authorise(&gw, &region, &method, &uri, &headers, &body).await {
            return denied;
        }
        return account_settings(&gw);
    }
    gw.regions.remember(&region);
    if let Some(rest) = path.strip_prefix(&format!("{LAMBDA_API}/")) {
        if method == Method::POST {
            if let Some(name) = rest.strip_suffix("/invocations") {
                if let Err(denied) = authorise(&gw, &region, &method, &uri, &headers, &body).await {
                    return denied;
                }
                let target = (name, uri.query());
                return invoke_api::serve(&gw, &region, target, &headers, body).await;
            }
        }
    }
    // A function instance's own call: its time is the emulator's share of that invocation.
    let meter = super::call_meter::of(&headers);
    let started = std::time::Instant::now();
    let response = forward_with_hooks(&gw, &region, method, &uri, &headers, body).await;
    if let Some(meter) = meter {
        super::call_meter::charge(&meter, started.elapsed());
    }
    response
}

/// IAM for the Lambda calls the gateway serves itself (Invoke, GetAccountSettings): the caller,
/// operator or function, must be allowed them as for any call forwarded to moto.
async fn authorise(
    gw: &Shared,
    region: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(), Response> {
    let call = super::strict::Call::new(region, method, uri.path(), headers, body);
    gw.iam.authorise(&gw.moto, &call, uri.query()).await.map_err(|denied| {
        gw.rules.count(super::strict::Refusal::AccessDenied);
        denied.into_response()
    })
}

/// Lambda's GetAccountSettings (moto has none): the account's concurrency is the local stack's limit,
/// so a client that paces itself by it (`lab tune --parallel`) is not throttled; the code-size limits
/// are Lambda's.
fn account_settings(gw: &Shared) -> Response {
    let limit = gw.pool.limit();
    let body = serde_json::json!({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800u64,
            "CodeSizeUnzipped": 262_144_000u64,
            "CodeSizeZipped": 52_428_800u64,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit,
        }
    });
    let reply = (
        axum::http::StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    );
    axum::response::IntoResponse::into_response(reply)
}

/// API Gateway's own host form, `{api}.execute-api.localhost:{port}/{stage}/{path}`, as the path
/// form's tail `{api}/{stage}/_user_request_/{path}`, so the tutorial's curl works with only the
/// scheme and host changed.
fn host_style_stage(headers: &HeaderMap, path: &str) -> Option<String> {
    let host = headers.get("host")?.to_str().ok()?;
    let host = host.split(':').next().unwrap_or_default();
    let api = host.strip_suffix(".execute-api.localhost")?;
    if api.is_empty() || api.contains('.') {
        return None;
    }
    let (stage, rest) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""));
    Some(format!("{api}/{stage}/_user_request_/{rest}"))
}
