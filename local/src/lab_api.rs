//! The gateway's own endpoints under `/_lab/`: health, status (runtime, supervision, persistence,
//! limits, strict mode), reset, the deployment packages GetFunction's `Code.Location` names
//! (`GET /_lab/code/{region}/{function}/{sha16}.zip`), and strict mode's test hooks
//! (`POST /_lab/strict/inactive/{function}`, `POST /_lab/strict/fail-next-update/{function}`,
//! `PUT /_lab/iam/operator-policy` with a policy document, or an empty body for an administrator).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::functions::function_name;
use super::state::Shared;

/// Serves `/_lab/{what}`.
pub(crate) async fn serve(gw: &Shared, method: &Method, what: &str, body: &[u8]) -> Response {
    if let Some(hook) = what.strip_prefix("strict/") {
        return strict_hook(gw, method, hook);
    }
    if let Some(path) = what.strip_prefix("code/") {
        return kept_code(gw, method, path).await;
    }
    if what == "iam/operator-policy" && method == Method::PUT {
        let policy = if body.is_empty() {
            None
        } else {
            match serde_json::from_slice(body) {
                Ok(doc) => Some(doc),
                Err(e) => {
                    let message = format!("not a policy document: {e}");
                    return (StatusCode::BAD_REQUEST, message).into_response();
                }
            }
        };
        gw.iam.set_operator(policy);
        return (StatusCode::OK, "operator policy set").into_response();
    }
    match what {
        "health" => (StatusCode::OK, "ok").into_response(),
        "status" => {
            let body = status(gw).await;
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        "reset" if method == Method::POST => match reset(gw).await {
            Ok(()) => (StatusCode::OK, "reset").into_response(),
            Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}")).into_response(),
        },
        _ => (StatusCode::NOT_FOUND, "unknown lab endpoint").into_response(),
    }
}

/// `GET /_lab/code/{region}/{function}/{sha16}.zip`: a deployment package the gateway kept, what
/// GetFunction's `Code.Location` points at (Lambda's presigned URL is unauthenticated too).
async fn kept_code(gw: &Shared, method: &Method, path: &str) -> Response {
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, "code is read with GET").into_response();
    }
    let mut parts = path.splitn(3, '/');
    let (region, name, file) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let sha16 = file.strip_suffix(".zip").unwrap_or_default();
    let Some(zip) = gw.registry.kept_zip(region, name, sha16) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected /_lab/code/REGION/FUNCTION/SHA16.zip",
        )
            .into_response();
    };
    match tokio::fs::read(&zip).await {
        Ok(bytes) => (StatusCode::OK, [("content-type", "application/zip")], bytes).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "this stack kept no such package (code deployed before the stack kept zips: deploy it again)",
        )
            .into_response(),
    }
}

/// Strict mode's test hooks: `POST /_lab/strict/{inactive|fail-next-update}/{function}`.
fn strict_hook(gw: &Shared, method: &Method, hook: &str) -> Response {
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "strict hooks take POST").into_response();
    }
    let (action, function) = hook.split_once('/').unwrap_or((hook, ""));
    let name = function_name(function);
    if name.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "name a function: /_lab/strict/<hook>/<function>",
        )
            .into_response();
    }
    match action {
        "inactive" => gw.rules.make_inactive("us-east-1", &name),
        "fail-next-update" => gw.rules.fail_next_update("us-east-1", &name),
        _ => return (StatusCode::NOT_FOUND, "unknown strict hook").into_response(),
    }
    (StatusCode::OK, "ok").into_response()
}

/// `lab local status -o json`'s document.
async fn status(gw: &Shared) -> serde_json::Value {
    let refusals = gw.rules.refusals();
    serde_json::json!({
        "pid": std::process::id(),
        "moto": gw.moto.base,
        "moto_version": super::moto::MOTO_VERSION,
        "uptime_s": gw.started.elapsed().as_secs(),
        "concurrency_limit": gw.pool.limit(),
        "busy": gw.pool.busy(),
        "idle_instances": gw.pool.idle_count(),
        "cpu": gw.cpu_mode,
        "cpu_budget": gw.pool.cpu_status(),
        "memory": gw.memory_mode,
        "supervision": gw.supervisor.status().await,
        "async": gw.events.status(),
        "iam_delay_ms": gw.rules.iam_delay().as_millis() as u64,
        "iam_refusals": refusals.get("role_not_assumable").copied().unwrap_or(0),
        "strict": gw.rules.status(),
        "dynamodb": match &gw.dynamo {
            Some(store) => {
                let mut s = store.status();
                s["data_plane"] = "native".into();
                s
            }
            None => serde_json::json!({"data_plane": "moto"}),
        },
        "iam": gw.iam.status(),
        // Functions running a Rust dev build: tune and load say their figures are not AWS's.
        "unoptimised_functions": gw.registry.unoptimised().into_iter()
            .map(|(region, name)| serde_json::json!({"region": region, "name": name}))
            .collect::<Vec<_>>(),
    })
}

/// Empties the stack: moto and its log, the item store and its log, the kept code, warm instances, cached definitions.
/// (Strict mode's timers for resources now gone simply run out.)
async fn reset(gw: &Shared) -> anyhow::Result<()> {
    // Lines still queued would recreate a log group in the emptied stack.
    gw.logs.flush().await;
    gw.supervisor.reset().await?;
    if let Some(store) = &gw.dynamo {
        store.clear()?;
    }
    gw.pool.clear();
    gw.registry.clear().await;
    Ok(())
}
