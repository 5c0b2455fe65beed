//! The deployed stage URL, `/restapis/{api}/{stage}/_user_request_/{path}`, served as API Gateway
//! serves a non-proxy Lambda integration: the definition is read from moto (and cached until a
//! change passes the gateway), the function runs locally, and integration responses pick the status.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::functions::function_name;
use super::gateway::Gateway;
use super::invoke::{invoke, InvokeError};

/// One integration response: status and its selection pattern (`None` = the default).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub status: u16,
    pub pattern: Option<regex::Regex>,
}

/// Everything needed to serve one (api, stage, path, method), resolved from moto.
#[derive(Debug, Clone)]
pub enum Route {
    /// A Lambda integration that API Gateway is allowed to invoke.
    Lambda {
        region: String,
        function: String,
        mappings: Vec<Mapping>,
        permitted: bool,
    },
    /// Answered by API Gateway itself.
    Reject { status: u16, message: &'static str },
}

/// (api, stage, path, method).
type RouteKey = (String, String, String, String);

/// Resolved routes, each with the registry generation it was read at.
#[derive(Default)]
pub struct RouteCache {
    routes: Mutex<HashMap<RouteKey, (u64, Route)>>,
}

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
pub async fn serve(gw: &Gateway, method: &Method, rest: &str, body: Bytes) -> Response {
    let Some((api, after)) = rest.split_once('/') else {
        return json_message(404, "Not Found");
    };
    let Some((stage, path)) = after.split_once("/_user_request_") else {
        return json_message(404, "Not Found");
    };
    let path = if path.is_empty() { "/" } else { path };
    let route = match resolve(gw, api, stage, path, method.as_str()).await {
        Ok(r) => r,
        Err(e) if !gw.supervisor.is_up() => {
            return json_message(
                503,
                &format!(
                    "lab local: moto (the local AWS) is restarting; retry in a moment ({e:#})"
                ),
            )
        }
        Err(e) => {
            return json_message(
                502,
                &format!("lab local: cannot read the API from moto: {e:#}"),
            )
        }
    };
    let (region, function, mappings, permitted) = match route {
        Route::Reject { status, message } => return json_message(status, message),
        Route::Lambda {
            region,
            function,
            mappings,
            permitted,
        } => (region, function, mappings, permitted),
    };
    if !permitted {
        // What API Gateway answers when the function's resource policy does not let it invoke.
        return json_message(500, "Internal server error");
    }
    // A non-proxy integration passes the body through; Lambda refuses a payload that is not JSON.
    let payload = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err() {
        return json_message(400, "Could not parse request body into json");
    }
    let invoked = match invoke(gw, &(region, function), payload).await {
        Ok(i) => i,
        // A Lambda throttle behind a non-proxy integration is an integration failure: API Gateway
        // answers 500, not 429 (Lambda guide, "Handling Lambda errors with an API Gateway API").
        Err(InvokeError::Throttled) => return json_message(500, "Internal server error"),
        Err(InvokeError::NotFound(_))
        | Err(InvokeError::NotReady(_))
        | Err(InvokeError::NoCode(_))
        | Err(InvokeError::Backend(_)) => return json_message(500, "Internal server error"),
        Err(InvokeError::Unavailable(message)) => return json_message(503, &message),
    };
    let status = if invoked.function_error.is_some() {
        let doc: serde_json::Value = serde_json::from_slice(&invoked.body).unwrap_or_default();
        let message = doc["errorMessage"].as_str().unwrap_or_default();
        select_status(&mappings, Some(message))
    } else {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&invoked.body).is_err() {
            return json_message(502, "Internal server error");
        }
        select_status(&mappings, None)
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
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        invoked.body,
    )
        .into_response()
}

/// API Gateway's rule for Lambda errors: the first pattern that matches the whole `errorMessage`
/// wins; otherwise (and for successes) the default response.
pub fn select_status(mappings: &[Mapping], error_message: Option<&str>) -> Option<u16> {
    if let Some(message) = error_message {
        if let Some(m) = mappings
            .iter()
            .find(|m| m.pattern.as_ref().is_some_and(|p| p.is_match(message)))
        {
            return Some(m.status);
        }
    }
    mappings
        .iter()
        .find(|m| m.pattern.is_none())
        .map(|m| m.status)
}

/// Compiles a Java-style selection pattern as a whole-string match.
pub fn compile_pattern(pattern: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$")).ok()
}

async fn resolve(
    gw: &Gateway,
    api: &str,
    stage: &str,
    path: &str,
    method: &str,
) -> anyhow::Result<Route> {
    let key = (
        api.to_string(),
        stage.to_string(),
        path.to_string(),
        method.to_string(),
    );
    let generation = gw.registry.generation();
    if let Some((g, route)) = gw.routes.routes.lock().expect("route lock").get(&key) {
        if *g == generation {
            return Ok(route.clone());
        }
    }
    let route = read_route(gw, api, stage, path, method).await?;
    gw.routes
        .routes
        .lock()
        .expect("route lock")
        .insert(key, (generation, route.clone()));
    Ok(route)
}

async fn read_route(
    gw: &Gateway,
    api: &str,
    stage: &str,
    path: &str,
    method: &str,
) -> anyhow::Result<Route> {
    let forbidden = Route::Reject {
        status: 403,
        message: "Missing Authentication Token",
    };
    let mut region = None;
    for r in gw.regions() {
        if gw
            .moto
            .get_json("apigateway", &r, &format!("/restapis/{api}"))
            .await?
            .is_some()
        {
            region = Some(r);
            break;
        }
    }
    let Some(region) = region else {
        return Ok(Route::Reject {
            status: 404,
            message: "Not Found",
        });
    };
    if gw
        .moto
        .get_json(
            "apigateway",
            &region,
            &format!("/restapis/{api}/stages/{stage}"),
        )
        .await?
        .is_none()
    {
        return Ok(Route::Reject {
            status: 403,
            message: "Forbidden",
        });
    }
    let resources = gw
        .moto
        .get_json(
            "apigateway",
            &region,
            &format!("/restapis/{api}/resources?limit=500"),
        )
        .await?
        .unwrap_or_default();
    let wanted = path.trim_end_matches('/');
    let wanted = if wanted.is_empty() { "/" } else { wanted };
    let resource = resources["item"]
        .as_array()
        .and_then(|items| items.iter().find(|r| r["path"].as_str() == Some(wanted)))
        .and_then(|r| r["id"].as_str().map(str::to_string));
    let Some(rid) = resource else {
        return Ok(forbidden);
    };
    let Some(method_doc) = gw
        .moto
        .get_json(
            "apigateway",
            &region,
            &format!("/restapis/{api}/resources/{rid}/methods/{method}"),
        )
        .await?
    else {
        return Ok(forbidden);
    };
    let integration = &method_doc["methodIntegration"];
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
    let function_region = function_arn
        .split(':')
        .nth(3)
        .unwrap_or(&region)
        .to_string();
    let function = function_name(function_arn);
    let mut mappings: Vec<Mapping> = integration["integrationResponses"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|r| Mapping {
                    status: r["statusCode"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(200),
                    pattern: r["selectionPattern"]
                        .as_str()
                        .filter(|p| !p.is_empty())
                        .and_then(compile_pattern),
                })
                .collect()
        })
        .unwrap_or_default();
    mappings.sort_by_key(|m| m.status);
    let source_arn = format!(
        "arn:aws:execute-api:{region}:{}:{api}/{stage}/{method}{wanted}",
        gw.account()
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
    gw: &Gateway,
    region: &str,
    function: &str,
    source_arn: &str,
) -> anyhow::Result<bool> {
    let Some(doc) = gw
        .moto
        .get_json(
            "lambda",
            region,
            &format!("/2015-03-31/functions/{function}/policy"),
        )
        .await?
    else {
        return Ok(false);
    };
    let policy: serde_json::Value = doc["Policy"]
        .as_str()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    Ok(statements.iter().any(|st| {
        let principal = st["Principal"]["Service"]
            .as_str()
            .or(st["Principal"].as_str());
        let pattern = st["Condition"]["ArnLike"]["AWS:SourceArn"].as_str();
        st["Effect"] == "Allow"
            && principal == Some("apigateway.amazonaws.com")
            && pattern.is_none_or(|p| arn_like(p, source_arn))
    }))
}

/// IAM's ArnLike: `*` matches any run of characters, `?` one character.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let regex = format!(
        "^{}$",
        regex::escape(pattern)
            .replace("\\*", ".*")
            .replace("\\?", ".")
    );
    regex::Regex::new(&regex).is_ok_and(|r| r.is_match(arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mappings() -> Vec<Mapping> {
        crate::stack::api::RESPONSES
            .iter()
            .map(|(s, p)| Mapping {
                status: s.parse().unwrap(),
                pattern: p.and_then(compile_pattern),
            })
            .collect()
    }

    #[test]
    fn lab_error_types_map_to_statuses() {
        let m = mappings();
        assert_eq!(select_status(&m, None), Some(200));
        assert_eq!(
            select_status(&m, Some("BadRequest: payload.Key is missing")),
            Some(400)
        );
        assert_eq!(select_status(&m, Some("Forbidden: table x")), Some(403));
        assert_eq!(select_status(&m, Some("NotFound: table")), Some(404));
        assert_eq!(
            select_status(&m, Some("Conflict: condition failed")),
            Some(409)
        );
        assert_eq!(select_status(&m, Some("Internal: boom")), Some(500));
        assert_eq!(
            select_status(
                &m,
                Some("2026-01-01T00:00:00.000Z abc Task timed out after 3.00 seconds")
            ),
            Some(500)
        );
        assert_eq!(
            select_status(
                &m,
                Some("RequestId: x Error: Runtime exited with error: signal: 9")
            ),
            Some(500)
        );
        // A pattern must match the whole message, as in Java's String.matches.
        assert_eq!(select_status(&m, Some("Not BadRequest: x")), Some(200));
    }

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
