//! lab's gateway on 127.0.0.1: forwards every AWS API call to moto, keeps the function code that
//! passes through, and serves itself the two data-plane paths moto cannot: Lambda Invoke and the
//! REST API stage URL.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;

use super::async_invoke::Events;
use super::functions::{function_name, qualifier, Registry};
use super::invoke_api;
use super::logs::LogSink;
use super::moto::Moto;
use super::pool::Pool;
use super::stage::{self, RouteCache};
use super::strict::reply::Upstream;
use super::strict::{Call, Rules};
use super::supervisor::Supervisor;

/// moto's fixed account id.
pub const ACCOUNT: &str = "123456789012";
const LAMBDA_PREFIX: &str = "/2015-03-31/functions";

/// Shared state of the gateway.
pub struct Gateway {
    pub moto: Moto,
    pub registry: Registry,
    pub pool: Pool,
    pub logs: LogSink,
    pub routes: RouteCache,
    regions: Mutex<BTreeSet<String>>,
    /// Strict mode's rules (AWS's delays, transitions and limits); with strict off, only an
    /// explicit IAM propagation delay applies.
    pub rules: Rules,
    /// A line for `lab local status`: how CPU is shared.
    pub cpu_mode: String,
    /// A line for `lab local status`: how memory is enforced.
    pub memory_mode: String,
    /// moto's process: restarted when it dies, its state restored.
    pub supervisor: Arc<Supervisor>,
    /// Asynchronous (Event) invocations accepted so far.
    pub events: Events,
    pub started: Instant,
}

/// What a gateway is made of.
pub struct Parts {
    /// moto's client.
    pub moto: Moto,
    /// Functions' code and configuration.
    pub registry: Registry,
    /// Instances and the concurrency limit.
    pub pool: Pool,
    /// Strict mode's rules.
    pub rules: Rules,
    /// How CPU is shared, for the status.
    pub cpu_mode: String,
    /// How memory is enforced, for the status.
    pub memory_mode: String,
    /// moto's process, restarted when it dies.
    pub supervisor: Arc<Supervisor>,
}

impl Gateway {
    /// A gateway in front of `moto`.
    pub fn new(parts: Parts) -> Self {
        let logs = LogSink::start(parts.moto.clone(), parts.supervisor.clone());
        Self {
            moto: parts.moto,
            registry: parts.registry,
            pool: parts.pool,
            logs,
            routes: RouteCache::default(),
            regions: Mutex::new(["us-east-1".to_string()].into()),
            rules: parts.rules,
            cpu_mode: parts.cpu_mode,
            memory_mode: parts.memory_mode,
            supervisor: parts.supervisor,
            events: Events::default(),
            started: Instant::now(),
        }
    }

    /// The account every ARN uses.
    pub fn account(&self) -> &'static str {
        ACCOUNT
    }

    /// Regions seen in requests (an unsigned stage URL call says none, so each is tried).
    pub fn regions(&self) -> Vec<String> {
        self.regions
            .lock()
            .expect("regions lock")
            .iter()
            .cloned()
            .collect()
    }
}

/// The gateway's routes: everything goes through one dispatcher.
pub fn router(gw: Arc<Gateway>) -> Router {
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

async fn dispatch(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if let Some(what) = path.strip_prefix("/_lab/") {
        return super::lab_api::serve(&gw, &method, what).await;
    }
    if let Some(rest) = host_style_stage(&headers, &path) {
        return stage::serve(&gw, &method, &rest, body).await;
    }
    if let Some(rest) = path.strip_prefix("/restapis/") {
        if rest.contains("/_user_request_") {
            return stage::serve(&gw, &method, rest, body).await;
        }
    }
    if method == Method::GET && path.trim_end_matches('/') == "/2016-08-19/account-settings" {
        return account_settings(&gw);
    }
    let region = scope(&headers)
        .map(|(r, _)| r)
        .unwrap_or_else(|| "us-east-1".into());
    remember_region(&gw, &region);
    if let Some(rest) = path.strip_prefix(&format!("{LAMBDA_PREFIX}/")) {
        if method == Method::POST {
            if let Some(name) = rest.strip_suffix("/invocations") {
                let target = (name, uri.query());
                return invoke_api::serve(&gw, &region, target, &headers, body).await;
            }
        }
    }
    forward_with_hooks(&gw, &region, method, &uri, &headers, body).await
}

/// Lambda's GetAccountSettings (moto has none): the account's concurrency is the local stack's limit,
/// so a client that paces itself by it (`lab tune --parallel`) is not throttled; the code-size limits
/// are Lambda's.
fn account_settings(gw: &Gateway) -> Response {
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

/// Keeps the regions requests name, for unsigned stage URL calls. Only plausible region names count
/// and only a bounded number of them: the set is keyed by client input.
fn remember_region(gw: &Gateway, region: &str) {
    const MAX_REGIONS: usize = 64;
    let plausible = region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let mut regions = gw.regions.lock().expect("regions lock");
    if plausible && regions.len() < MAX_REGIONS {
        regions.insert(region.to_string());
    }
}

/// Forwards to moto through strict mode's rules; before and after, notes what the local runtime
/// must know.
async fn forward_with_hooks(
    gw: &Gateway,
    region: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let mut code_to_store: Option<(String, String)> = None;
    let mut deleted_function: Option<String> = None;
    // (function, version) of a DeleteFunction that names a version: only that version goes.
    let mut deleted_version: Option<(String, String)> = None;
    let mut published: Option<String> = None;
    let mut updated_function: Option<String> = None;

    if method == Method::POST && path == LAMBDA_PREFIX {
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let name = doc["FunctionName"].as_str().unwrap_or_default().to_string();
        if let Some(zip) = doc["Code"]["ZipFile"].as_str() {
            code_to_store = Some((name, zip.to_string()));
        }
    } else if let Some(rest) = path.strip_prefix(&format!("{LAMBDA_PREFIX}/")) {
        if method == Method::PUT && (rest.ends_with("/code") || rest.ends_with("/configuration")) {
            updated_function = rest.split('/').next().map(function_name);
        }
        if method == Method::PUT && rest.ends_with("/code") {
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if let Some(zip) = doc["ZipFile"].as_str() {
                code_to_store = Some((
                    function_name(rest.trim_end_matches("/code")),
                    zip.to_string(),
                ));
            }
        } else if method == Method::DELETE && !rest.contains('/') {
            let name = function_name(rest);
            if let Some(version) = qualifier(rest, uri.query()) {
                deleted_version = Some((name, version));
            } else {
                // Logs still queued would recreate the log group after `down` deleted it.
                gw.logs.flush().await;
                deleted_function = Some(name);
            }
        } else if method == Method::POST && rest.ends_with("/versions") {
            published = rest.split('/').next().map(function_name);
        }
    }

    // Lambda runs the previous configuration and code until an update ends: keep them at hand.
    let previous = match &updated_function {
        Some(name) if gw.rules.config.enabled => {
            let key = (region.to_string(), name.clone());
            match gw.registry.config(&gw.moto, &key).await {
                Ok(Some(config)) => Some((key.clone(), config, gw.registry.code_dir(&key))),
                _ => None,
            }
        }
        _ => None,
    };
    let call = Call {
        region,
        method: &method,
        path,
        headers,
        body: &body,
    };
    let upstream = gw
        .rules
        .apply(&gw.moto, &call, || {
            forward(gw, &method, uri, headers, body.clone())
        })
        .await;
    if upstream.ok() {
        // Pinned exactly until the update reports Successful: not a moment longer, or a client
        // that waited for Successful would still meet the old configuration.
        if let Some((key, config, code)) = previous {
            if let Some(until) = gw.rules.update_ends(&key.0, &key.1) {
                gw.registry.pin_until(key, until, (config, code));
            }
        }
        if let Some((name, zip)) = code_to_store {
            if let Err(e) = gw
                .registry
                .store_code((region.to_string(), name.clone()), &zip)
            {
                eprintln!("lab local: could not keep the code of {name}: {e:#}");
            }
            gw.pool.retire(&(region.to_string(), name));
        }
        if let Some(name) = deleted_function {
            let key = (region.to_string(), name);
            gw.registry.remove(&key);
            gw.pool.retire(&key);
        }
        if let Some((name, version)) = deleted_version {
            gw.registry
                .remove_version(&(region.to_string(), name.clone()), &version);
            gw.pool
                .retire(&(region.to_string(), format!("{name}:{version}")));
        }
        if let Some(name) = published {
            // The version's number is in moto's answer; its code is $LATEST's now.
            let doc: serde_json::Value = serde_json::from_slice(&upstream.body).unwrap_or_default();
            if let Some(version) = doc["Version"].as_str() {
                gw.registry
                    .record_version(&(region.to_string(), name), version);
            }
        }
    }
    if method != Method::GET && method != Method::HEAD {
        gw.registry.bump();
    }
    let mut response = Response::new(Body::from(upstream.body));
    *response.status_mut() = upstream.status;
    *response.headers_mut() = upstream.headers;
    response
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "upgrade",
];

async fn forward(
    gw: &Gateway,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Upstream {
    let target = format!(
        "{}{}",
        gw.moto.base,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    if !gw.supervisor.is_up() {
        return gw.supervisor.unavailable(headers);
    }
    let mut request = gw.moto.http.request(method.clone(), target).body(body);
    for (k, v) in headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            request = request.header(k, v);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => return moto_dropped(headers, &e),
    };
    let status = upstream.status();
    let mut out_headers = HeaderMap::new();
    for (k, v) in upstream.headers() {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            out_headers.append(k, v.clone());
        }
    }
    let bytes = match upstream.bytes().await {
        Ok(b) => b,
        Err(e) => return moto_dropped(headers, &e),
    };
    Upstream {
        status,
        headers: out_headers,
        body: bytes,
    }
}

/// moto went away during the call (it is being restarted): a retryable 503, never a dropped
/// connection. Whether a write in flight was applied is unknown, as with any 5xx from AWS.
fn moto_dropped(headers: &HeaderMap, e: &reqwest::Error) -> Upstream {
    let message = format!(
        "lab local: moto (the local AWS) stopped during this call ({e}); it is restarted with its state, retry in a moment"
    );
    super::supervisor::unavailable_reply(headers, &message)
}
