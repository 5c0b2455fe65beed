//! The deployed stage URL, `/restapis/{api}/{stage}/_user_request_/{path}`, served as API Gateway
//! serves a non-proxy Lambda integration: the definition is read from moto (and cached until a
//! change passes the gateway), the function runs locally, and integration responses pick the status.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::functions::{function_name, FunctionKey, LAMBDA_API};
use super::invoke::{invoke, InvokeError, Invoked};
use super::routes::{mappings_of, select_status, Mapping, Route, RouteKey};
use super::state::Shared;

/// Which request to a stage URL: the API, the stage, the resource path and the HTTP method.
struct Target<'a> {
    api: &'a str,
    stage: &'a str,
    path: &'a str,
    method: &'a str,
}

impl Target<'_> {
    /// The route cache's key.
    fn key(&self) -> RouteKey {
        let owned = |s: &str| s.to_string();
        (
            owned(self.api),
            owned(self.stage),
            owned(self.path),
            owned(self.method),
        )
    }
}

/// API Gateway's own answer, as JSON `{"message": ...}`.
fn json_message(status: u16, message: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::json!({"message": message}).to_string(),
    )
        .into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if status == 403 {
        r.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("MissingAuthenticationTokenException"),
        );
    }
    r
}

/// Serves one request to a stage URL. `rest` is the path after `/restapis/`.
pub(crate) async fn serve(gw: &Shared, method: &Method, rest: &str, body: Bytes) -> Response {
    let Some((api, after)) = rest.split_once('/') else {
        return json_message(404, "Not Found");
    };
    let Some((stage, path)) = after.split_once("/_user_request_") else {
        return json_message(404, "Not Found");
    };
    let path = if path.is_empty() { "/" } else { path };
    let target = Target {
        api,
        stage,
        path,
        method: method.as_str(),
    };
    let route = match resolve(gw, &target).await {
        Ok(r) => r,
        Err(e) if !gw.supervisor.is_up() => {
            let message =
                format!("lab local: moto (the local AWS) is restarting; retry in a moment ({e:#})");
            return json_message(503, &message);
        }
        Err(e) => return json_message(502, &format!("lab local: cannot serve this route: {e:#}")),
    };
    match route {
        Route::Reject { status, message } => json_message(status, message),
        // What API Gateway answers when the function's resource policy does not let it invoke.
        Route::Lambda {
            permitted: false,
            function,
            ..
        } => {
            // API Gateway's execution log says this; the stack's log is where it goes locally.
            eprintln!(
                "lab local: {method} /restapis/{rest}: Execution failed due to configuration error: Invalid permissions on Lambda function {function}"
            );
            gw.rules.count(super::strict::Refusal::InvalidPermissions);
            json_message(500, "Internal server error")
        }
        Route::Lambda {
            region,
            function,
            mappings,
            ..
        } => run(gw, (region, function), &mappings, body).await,
    }
}

/// Runs the integration's function on the request body and answers as its integration responses say.
async fn run(gw: &Shared, key: FunctionKey, mappings: &[Mapping], body: Bytes) -> Response {
    // A non-proxy integration passes the body through; Lambda refuses a payload that is not JSON.
    let payload = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err() {
        return json_message(400, "Could not parse request body into json");
    }
    match invoke(gw, &key, payload).await {
        Ok(invoked) => respond(invoked, mappings),
        // A Lambda throttle behind a non-proxy integration is an integration failure: API Gateway
        // answers 500, not 429 (Lambda guide, "Handling Lambda errors with an API Gateway API").
        Err(InvokeError::Unavailable(message)) => json_message(503, &message),
        Err(_) => json_message(500, "Internal server error"),
    }
}

/// The function's answer with the status its integration responses select.
fn respond(invoked: Invoked, mappings: &[Mapping]) -> Response {
    let status = if invoked.function_error.is_some() {
        let doc: serde_json::Value = serde_json::from_slice(&invoked.body).unwrap_or_default();
        let message = doc["errorMessage"].as_str().unwrap_or_default();
        select_status(mappings, Some(message))
    } else {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&invoked.body).is_err() {
            return json_message(502, "Internal server error");
        }
        select_status(mappings, None)
    };
    let Some(status) = status else {
        return json_message(500, "Internal server error");
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&invoked.request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    headers.insert("x-lab-function-us", HeaderValue::from(invoked.function_us));
    headers.insert(
        "x-lab-dataplane-us",
        HeaderValue::from(invoked.dataplane_us),
    );
    headers.insert("x-lab-cpu-wait-us", HeaderValue::from(invoked.cpu_wait_us));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        invoked.body,
    )
        .into_response()
}

/// The route for a target: cached at the registry's generation, or read from moto.
async fn resolve(gw: &Shared, target: &Target<'_>) -> anyhow::Result<Route> {
    let key = target.key();
    let generation = gw.registry.generation();
    if let Some(route) = gw.routes.get(&key, generation) {
        return Ok(route);
    }
    let started = std::time::Instant::now();
    let moving = gw.deployments.is_moving(target.api, target.stage);
    let route = read_route(gw, target).await?;
    // A route read while its function's permission or its stage's deployment was propagating is
    // read again next time, even when the propagation ended during the read: it may hold what was
    // in effect before, and nothing else would make the cache let go of it.
    let pending = moving
        || gw.deployments.is_moving(target.api, target.stage)
        || match &route {
            Route::Lambda {
                region, function, ..
            } => gw.iam.permissions.propagating_since(region, function, started),
            _ => false,
        };
    if !pending {
        gw.routes.insert(key, generation, route.clone());
    }
    Ok(route)
}

/// Reads the route from the API definition in moto, refusing as API Gateway does where it would.
async fn read_route(gw: &Shared, target: &Target<'_>) -> anyhow::Result<Route> {
    let Some(region) = api_region(gw, target.api).await? else {
        return Ok(Route::Reject {
            status: 404,
            message: "Not Found",
        });
    };
    match method_of(gw, &region, target).await? {
        Ok(method) => lambda_route(gw, &region, target, &method["methodIntegration"]).await,
        Err(refused) => Ok(refused),
    }
}

/// The region whose API Gateway holds `api` (an unsigned call names none: each region seen is tried).
async fn api_region(gw: &Shared, api: &str) -> anyhow::Result<Option<String>> {
    for region in gw.regions.list() {
        let path = format!("/restapis/{api}");
        if gw.moto.get_json("apigateway", &region, &path).await?.is_some() {
            return Ok(Some(region));
        }
    }
    Ok(None)
}

/// The method's definition, or API Gateway's refusal: no such stage, resource or method.
async fn method_of(
    gw: &Shared,
    region: &str,
    target: &Target<'_>,
) -> anyhow::Result<Result<serde_json::Value, Route>> {
    let moto = &gw.moto;
    let api = target.api;
    let stage = format!("/restapis/{api}/stages/{}", target.stage);
    let stage = moto.get_json("apigateway", region, &stage).await?;
    let current = stage.as_ref().and_then(|s| s["deploymentId"].as_str());
    let serving = gw.deployments.serving(api, target.stage, current);
    if serving.stale {
        gw.rules.count(super::strict::Refusal::DeploymentNotLive);
    }
    let Some(deployment) = serving.deployment else {
        return Ok(Err(Route::Reject {
            status: 403,
            message: "Forbidden",
        }));
    };
    let missing = || Route::Reject {
        status: 403,
        message: "Missing Authentication Token",
    };
    let resources = match gw.deployments.definition(api, &deployment) {
        Some(captured) => captured,
        None => {
            let path = format!("/restapis/{api}/resources?limit=500");
            std::sync::Arc::new(
                moto.get_json("apigateway", region, &path).await?.unwrap_or_default(),
            )
        }
    };
    let wanted = resource_path(target.path);
    let resource = resources["item"]
        .as_array()
        .and_then(|items| items.iter().find(|r| r["path"].as_str() == Some(wanted)));
    let method = resource.and_then(|r| r["resourceMethods"].get(target.method)).cloned();
    Ok(method.ok_or_else(missing))
}

/// The resource path a request path names: no trailing slash, `/` for the root.
fn resource_path(path: &str) -> &str {
    let wanted = path.trim_end_matches('/');
    if wanted.is_empty() {
        "/"
    } else {
        wanted
    }
}

/// The route of a Lambda (non-proxy `AWS`) integration; API Gateway's 500 for any other kind.
async fn lambda_route(
    gw: &Shared,
    region: &str,
    target: &Target<'_>,
    integration: &serde_json::Value,
) -> anyhow::Result<Route> {
    let uri = integration["uri"].as_str().unwrap_or_default();
    if integration["type"].as_str() != Some("AWS") || !uri.contains(":lambda:path/") {
        return Ok(Route::Reject {
            status: 500,
            message: "Internal server error",
        });
    }
    let function_arn = uri
        .split("/functions/")
        .nth(1)
        .and_then(|s| s.strip_suffix("/invocations"))
        .unwrap_or_default();
    let function_region = function_arn.split(':').nth(3).unwrap_or(region).to_string();
    let function = function_name(function_arn);
    let mappings = mappings_of(integration)
        .map_err(|e| anyhow::anyhow!("{} {}: {e}", target.method, target.path))?;
    let source_arn = format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}{}",
        gw.account(),
        target.api,
        target.stage,
        target.method,
        resource_path(target.path)
    );
    let permitted = permitted(gw, &function_region, &function, &source_arn).await?;
    Ok(Route::Lambda {
        region: function_region,
        function,
        mappings,
        permitted,
    })
}

/// Does the function's resource policy let API Gateway invoke it for this source ARN?
async fn permitted(
    gw: &Shared,
    region: &str,
    function: &str,
    source_arn: &str,
) -> anyhow::Result<bool> {
    let policy = match gw.iam.permissions.in_effect(region, function) {
        // A change is propagating: API Gateway still sees the policy from before it.
        Some(previous) => previous.unwrap_or_default(),
        None => {
            let Some(doc) = gw
                .moto
                .get_json("lambda", region, &format!("{LAMBDA_API}/{function}/policy"))
                .await?
            else {
                return Ok(false);
            };
            doc["Policy"]
                .as_str()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default()
        }
    };
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    Ok(statements.iter().any(|st| {
        let principal = st["Principal"]["Service"].as_str().or(st["Principal"].as_str());
        let pattern = st["Condition"]["ArnLike"]["AWS:SourceArn"].as_str();
        st["Effect"] == "Allow"
            && principal == Some("apigateway.amazonaws.com")
            && pattern.is_none_or(|p| arn_like(p, source_arn))
    }))
}

/// IAM's ArnLike: `*` matches any run of characters, `?` one character.
pub(crate) fn arn_like(pattern: &str, arn: &str) -> bool {
    let regex = format!(
        "^{}$",
        regex::escape(pattern).replace("\\*", ".*").replace("\\?", ".")
    );
    regex::Regex::new(&regex).is_ok_and(|r| r.is_match(arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_like_wildcards() {
        assert!(arn_like(
            "arn:aws:execute-api:us-east-1:1:abc/*/POST/DynamoDBManager",
            "arn:aws:execute-api:us-east-1:1:abc/prod/POST/DynamoDBManager"
        ));
        assert!(!arn_like(
            "arn:aws:execute-api:us-east-1:1:abc/*/POST/DynamoDBManager",
            "arn:aws:execute-api:us-east-1:1:other/prod/POST/DynamoDBManager"
        ));
    }
}
