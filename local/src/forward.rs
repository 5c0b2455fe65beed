//! Forwarding an AWS API call to moto through strict mode's rules, and what the local runtime must
//! learn from the Lambda calls among them: the code that passes through is kept, a published
//! version remembers `$LATEST`'s, deleted functions and versions are forgotten, and (strict) the
//! previous configuration is pinned while an update is InProgress, as on Lambda.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use super::dynamo;
use super::functions::{function_name, qualifier, FunctionConfig, FunctionKey, LAMBDA_API};
use super::state::Shared;
use super::strict::reply::Upstream;
use super::strict::Call;

/// What a Lambda control-plane call means for the local runtime, read before it reaches moto.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    /// Nothing the runtime keeps.
    None,
    /// CreateFunction or UpdateFunctionCode with a zip, found at `pointer` in the body.
    Code {
        name: String,
        pointer: &'static str,
        update: bool,
    },
    /// UpdateFunctionConfiguration, or UpdateFunctionCode from S3.
    Update { name: String },
    /// DeleteFunction without a qualifier: the function and its versions go.
    DeleteFunction { name: String },
    /// DeleteFunction of one version.
    DeleteVersion { name: String, version: String },
    /// PublishVersion.
    Publish { name: String },
}

impl Change {
    /// The function whose `$LATEST` the call updates, if it does.
    fn updated(&self) -> Option<&str> {
        match self {
            Change::Code {
                name, update: true, ..
            }
            | Change::Update { name } => Some(name),
            _ => None,
        }
    }
}

/// Whether the call reads a function's log lines or deletes where they go (CloudWatch Logs).
fn reads_or_deletes_logs(call: &Call<'_>) -> bool {
    call.target()
        .and_then(|t| t.strip_prefix("Logs_20140328."))
        .is_some_and(|action| {
            action.starts_with("Filter")
                || action.starts_with("Get")
                || action.starts_with("Describe")
                || action.starts_with("Delete")
        })
}

/// A previous configuration and its code, kept until the update that replaces them ends.
type Previous = (FunctionKey, Arc<FunctionConfig>, Option<PathBuf>);

/// Forwards to moto through strict mode's rules; before and after, notes what the local runtime
/// must know.
pub(crate) async fn forward_with_hooks(
    gw: &Shared,
    region: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call::new(region, &method, uri.path(), headers, &body);
    // IAM first: who may make this call at all (strict mode; a function's calls against its role).
    if let Err(denied) = gw.iam.authorise(&gw.moto, &call, uri.query()).await {
        gw.rules.count(super::strict::Refusal::AccessDenied);
        return denied.into_response();
    }
    if let (Some(store), Some(op)) = (&gw.dynamo, dynamo::item_op(headers)) {
        // Items are the native store's: strict mode's rules first (a table that is not ACTIVE
        // refuses item calls), then the store instead of moto.
        let backend = dynamo::Backend {
            store,
            moto: &gw.moto,
            supervisor: &gw.supervisor,
            headers,
        };
        let upstream = gw
            .rules
            .apply(&gw.moto, &call, || async {
                dynamo::serve(&backend, region, op, &*call.json().await).await
            })
            .await;
        return upstream.into_response();
    }
    if let Some(refused) = runtime_refusal(&call).await {
        return refused.into_response();
    }
    let change = read_change(&call, uri.query()).await;
    if matches!(change, Change::DeleteFunction { .. }) || reads_or_deletes_logs(&call) {
        // Logs still queued would recreate the log group after `down` deleted it, and a reader
        // sees every line of the invocations that have answered (the writer batches them).
        gw.logs.flush().await;
    }
    let previous = previous_config(gw, region, &change).await;
    let permission = permission_change(gw, &call).await;
    let propagation = match gw.rules.config.enabled {
        true => gw.rules.scaled(super::strict::AWS.deployment_propagation),
        false => std::time::Duration::ZERO,
    };
    let stage_move = gw.deployments.before(&gw.moto, &call, propagation).await;
    let mut upstream = gw
        .rules
        .apply(&gw.moto, &call, || {
            forward(gw, &method, uri, headers, body.clone())
        })
        .await;
    if let Some(store) = &gw.dynamo {
        if upstream.ok() && dynamo::changes_tables(headers) {
            dynamo::table_changed(store, region, &*call.json().await);
        }
        dynamo::patch_item_count(store, region, headers, &mut upstream);
    }
    if upstream.ok() {
        gw.iam.note_iam_call(&call);
        gw.iam.note_lambda_call(&call);
        if let Some((name, before)) = permission {
            let delay = gw.rules.scaled(super::strict::AWS.permission_propagation);
            gw.iam.permissions.changed(region, &name, before, delay);
        }
        hide_unlisted_tags(gw, &call, &mut upstream);
        code_location(&call, headers, &mut upstream);
        keep(gw, &call, change, previous, &upstream).await;
    }
    if let Some(before) = stage_move {
        let answer = upstream.ok().then(|| upstream.json());
        gw.deployments.after(before, answer.as_ref());
    }
    // A write may change a function, a route or a permission: cached ones are read again. DynamoDB
    // and CloudWatch Logs calls change none of them, and a function's own item calls are many.
    let target = headers.get("x-amz-target").and_then(|t| t.to_str().ok()).unwrap_or_default();
    let data_plane = target.starts_with("DynamoDB_") || target.starts_with("Logs_");
    if method != Method::GET && method != Method::HEAD && !data_plane {
        gw.registry.bump();
    }
    upstream.into_response()
}

/// Whether the call is GetFunction (`GET /2015-03-31/functions/{name}`, nothing after the name).
fn is_get_function(call: &Call<'_>) -> bool {
    *call.method == Method::GET
        && call
            .path
            .strip_prefix(LAMBDA_API)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|head| !head.is_empty() && !head.contains('/'))
}

/// GetFunction leaves the tags out when the caller may not ListTags them (Lambda's GetFunction
/// reference: "Tags ... only returned if you have permission to call ListTags").
fn hide_unlisted_tags(gw: &Shared, call: &Call<'_>, upstream: &mut Upstream) {
    if !gw.iam.enabled || !is_get_function(call) {
        return;
    }
    let mut doc = upstream.json();
    let Some(arn) = doc["Configuration"]["FunctionArn"].as_str().map(str::to_string) else {
        return;
    };
    if !gw.iam.operator_may("lambda:ListTags", &arn) {
        if let Some(body) = doc.as_object_mut() {
            body.remove("Tags");
        }
        upstream.set_json(&doc);
    }
}

/// GetFunction's `Code.Location`: Lambda's is a presigned URL that downloads the deployment
/// package for 10 minutes (Lambda's GetFunction reference); moto's names an S3 bucket that is not
/// there. The gateway serves the zip it kept (`/_lab/code/...`), on the address the caller used.
fn code_location(call: &Call<'_>, headers: &HeaderMap, upstream: &mut Upstream) {
    if !is_get_function(call) {
        return;
    }
    let mut doc = upstream.json();
    let config = &doc["Configuration"];
    let (Some(name), Some(sha16)) = (
        config["FunctionName"].as_str(),
        config["CodeSha256"].as_str().and_then(super::functions::sha16),
    ) else {
        return;
    };
    if !doc["Code"]["Location"].is_string() {
        return;
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4566");
    let location = format!("http://{host}/_lab/code/{}/{name}/{sha16}.zip", call.region);
    doc["Code"]["Location"] = serde_json::Value::String(location);
    upstream.set_json(&doc);
}

/// AddPermission or RemovePermission on the strict stack: the function and its policy before the
/// call (`None` inside when it had none), which the stage URL keeps evaluating while the change
/// propagates.
async fn permission_change(
    gw: &Shared,
    call: &Call<'_>,
) -> Option<(String, Option<serde_json::Value>)> {
    if !gw.rules.config.enabled {
        return None;
    }
    let rest = call.path.strip_prefix(LAMBDA_API)?.strip_prefix('/')?;
    let (head, tail) = rest.split_once('/')?;
    let is_change = (*call.method == Method::POST && tail == "policy")
        || (*call.method == Method::DELETE && tail.starts_with("policy/"));
    if !is_change {
        return None;
    }
    let name = function_name(head);
    let path = format!("{LAMBDA_API}/{name}/policy");
    let before = gw.moto.get_json("lambda", call.region, &path).await.ok().flatten();
    let policy =
        before.and_then(|doc| doc["Policy"].as_str().and_then(|p| serde_json::from_str(p).ok()));
    Some((name, policy))
}

/// CreateFunction or UpdateFunctionConfiguration asking for what cannot run here (a runtime the
/// local stack does not run, layers): refused before moto sees it, so nothing is half made.
async fn runtime_refusal(call: &Call<'_>) -> Option<Upstream> {
    let creates = *call.method == Method::POST && call.path == LAMBDA_API;
    let configures = *call.method == Method::PUT
        && call.path.starts_with(LAMBDA_API)
        && call.path.ends_with("/configuration");
    if !creates && !configures {
        return None;
    }
    let why = super::runtimes::refusal(&*call.json().await)?;
    Some(super::strict::reply::rest_json(
        axum::http::StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
        &why,
    ))
}

/// Reads what a Lambda call will change (the body is parsed off the async threads when large).
async fn read_change(call: &Call<'_>, query: Option<&str>) -> Change {
    if *call.method == Method::POST && call.path == LAMBDA_API {
        let doc = call.json().await;
        if !doc["Code"]["ZipFile"].is_string() {
            return Change::None;
        }
        let name = doc["FunctionName"].as_str().unwrap_or_default().to_string();
        return Change::Code {
            name,
            pointer: "/Code/ZipFile",
            update: false,
        };
    }
    let Some(rest) = call.path.strip_prefix(LAMBDA_API).and_then(|r| r.strip_prefix('/')) else {
        return Change::None;
    };
    let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let name = function_name(head);
    match (call.method.as_str(), tail) {
        ("PUT", "code") if call.json().await["ZipFile"].is_string() => Change::Code {
            name,
            pointer: "/ZipFile",
            update: true,
        },
        ("PUT", "code" | "configuration") => Change::Update { name },
        ("DELETE", "") => match qualifier(head, query) {
            Some(version) => Change::DeleteVersion { name, version },
            None => Change::DeleteFunction { name },
        },
        ("POST", "versions") => Change::Publish { name },
        _ => Change::None,
    }
}

/// Lambda runs the previous configuration and code until an update ends: keep them at hand.
async fn previous_config(gw: &Shared, region: &str, change: &Change) -> Option<Previous> {
    let name = change.updated()?;
    if !gw.rules.config.enabled {
        return None;
    }
    let key = (region.to_string(), name.to_string());
    let config = gw.registry.config(&gw.moto, &key).await.ok()??;
    let code = gw.registry.code_dir(&key);
    Some((key, config, code))
}

/// After moto accepted the call: keeps, forgets or pins what the runtime needs.
async fn keep(
    gw: &Shared,
    call: &Call<'_>,
    change: Change,
    previous: Option<Previous>,
    upstream: &Upstream,
) {
    let region = call.region.to_string();
    // Pinned exactly until the update reports Successful: not a moment longer, or a client that
    // waited for Successful would still meet the old configuration.
    if let Some((key, config, code)) = previous {
        if let Some(until) = gw.rules.update_ends(&key.0, &key.1) {
            gw.registry.pin_until(key, until, (config, code));
        }
    }
    match change {
        Change::Code { name, pointer, .. } => {
            let key = (region, name);
            let stored = gw.registry.store_code(key.clone(), call.json().await, pointer).await;
            if let Err(e) = stored {
                eprintln!("lab local: could not keep the code of {}: {e:#}", key.1);
            }
            gw.pool.retire(&key);
        }
        Change::DeleteFunction { name } => {
            let key = (region, name);
            gw.registry.remove(&key);
            gw.pool.retire(&key);
        }
        Change::DeleteVersion { name, version } => {
            gw.registry.remove_version(&(region.clone(), name.clone()), &version);
            gw.pool.retire(&(region, format!("{name}:{version}")));
        }
        Change::Publish { name } => {
            // The version's number is in moto's answer; its code is $LATEST's now.
            if let Some(version) = upstream.json()["Version"].as_str() {
                gw.registry.record_version(&(region, name), version);
            }
        }
        Change::Update { .. } | Change::None => {}
    }
}

/// Headers that belong to one hop, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "upgrade",
];

/// Sends the call to moto as it came (minus hop-by-hop headers); a 503 while moto restarts.
async fn forward(
    gw: &Shared,
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

#[cfg(test)]
mod tests;
