//! API Gateway's control-plane rate limits per account (its quotas page): CreateRestApi (Regional)
//! one per 3 s, DeleteRestApi one per 30 s, CreateDeployment one per 5 s, GetResources five per
//! 2 s. Beyond them: 429 TooManyRequestsException with `Retry-After`, which a careful client
//! honours. With strict mode off too: an integration response's selection pattern that does not
//! compile is refused with 400 BadRequestException before moto stores it, as API Gateway does.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};

use super::reply::{self, Upstream};
use super::{Context, Forward, Rule, Rules, AWS};
use crate::routes::compile_pattern;

/// Admitted calls per limited operation, newest last.
#[derive(Default)]
pub(crate) struct Limits {
    admitted: HashMap<&'static str, VecDeque<Instant>>,
}

/// APIs GetRestApis does not agree on yet: new ones it leaves out, deleted ones it still lists.
#[derive(Default)]
pub(crate) struct Listing {
    /// API id → when GetRestApis starts listing it.
    created: HashMap<String, Instant>,
    /// (region, API id) → the API as it was listed, and until when it still is.
    deleted: HashMap<(String, String), (serde_json::Value, Instant)>,
}

impl Listing {
    /// Rewrites one page of GetRestApis as it would read during the lag; whether it changed.
    fn lag(&mut self, region: &str, page: &mut serde_json::Value, now: Instant) -> bool {
        self.created.retain(|_, visible| *visible > now);
        self.deleted.retain(|_, (_, until)| *until > now);
        let last_page = page["position"].is_null();
        let Some(items) = page["item"].as_array_mut() else {
            return false;
        };
        let before = items.len();
        items.retain(|api| api["id"].as_str().is_none_or(|id| !self.created.contains_key(id)));
        let mut changed = items.len() != before;
        if last_page {
            for ((r, _), (api, _)) in &self.deleted {
                if r == region {
                    items.push(api.clone());
                    changed = true;
                }
            }
        }
        changed
    }
}

/// Which of the calls GetRestApis lags behind, or GetRestApis itself.
enum ListingCall<'a> {
    Create,
    Delete(&'a str),
    List,
}

fn listing_call<'a>(method: &Method, path: &'a str) -> Option<ListingCall<'a>> {
    match (method.as_str(), path.strip_prefix("/restapis")?) {
        ("POST", "" | "/") => Some(ListingCall::Create),
        ("GET", "" | "/") => Some(ListingCall::List),
        ("DELETE", rest) => {
            let api = rest.strip_prefix('/')?;
            (!api.is_empty() && !api.contains('/')).then_some(ListingCall::Delete(api))
        }
        _ => None,
    }
}

/// GetRestApis' lag around the calls it lags behind.
async fn with_listing_lag(
    cx: &Context<'_>,
    call: ListingCall<'_>,
    forward: Forward<'_>,
) -> Upstream {
    let (rules, region) = (cx.rules, cx.call.region);
    let lag = rules.scaled(AWS.rest_api_list_lag);
    match call {
        ListingCall::Create => {
            let upstream = forward.await;
            if let Some(id) = upstream
                .ok()
                .then(|| upstream.json()["id"].as_str().map(str::to_string))
                .flatten()
            {
                let mut listing = rules.rest_apis.lock().expect("listing lock");
                listing.created.insert(id, Instant::now() + lag);
            }
            upstream
        }
        ListingCall::Delete(api) => {
            let path = format!("/restapis/{api}");
            let listed = cx.moto.get_json("apigateway", region, &path).await.ok().flatten();
            let upstream = forward.await;
            if let (true, Some(listed)) = (upstream.ok(), listed) {
                let mut listing = rules.rest_apis.lock().expect("listing lock");
                let key = (region.to_string(), api.to_string());
                listing.deleted.insert(key, (listed, Instant::now() + lag));
            }
            upstream
        }
        ListingCall::List => {
            let mut upstream = forward.await;
            if upstream.ok() {
                let mut page = upstream.json();
                let changed = rules.rest_apis.lock().expect("listing lock").lag(
                    region,
                    &mut page,
                    Instant::now(),
                );
                if changed {
                    rules.count(Rule::RestApiListLag);
                    upstream.set_json(&page);
                }
            }
            upstream
        }
    }
}

/// The limited operation a call is, with its window and burst at time scale 1.0.
fn limit_of(method: &Method, path: &str) -> Option<(&'static str, Duration, usize)> {
    if method == Method::POST && path == "/restapis" {
        return Some(("CreateRestApi", AWS.create_rest_api_window, 1));
    }
    let rest = path.strip_prefix("/restapis/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("DELETE", [_]) => Some(("DeleteRestApi", AWS.delete_rest_api_window, 1)),
        ("POST", [_, "deployments"]) => Some(("CreateDeployment", AWS.create_deployment_window, 1)),
        ("GET", [_, "resources"]) => Some((
            "GetResources",
            AWS.get_resources_window,
            AWS.get_resources_burst,
        )),
        _ => None,
    }
}

/// API Gateway's rules around one REST call under `/restapis`.
pub(crate) async fn apply(cx: &Context<'_>, forward: Forward<'_>) -> Upstream {
    let (rules, call, now) = (cx.rules, cx.call, cx.now);
    if is_integration_response(call.method, call.path) {
        if let Some(refusal) = invalid_pattern(&*call.json().await) {
            return rules.refuse(Rule::InvalidSelectionPattern, refusal);
        }
    }
    if !rules.config.enabled {
        return forward.await;
    }
    if let Some((op, window, burst)) = limit_of(call.method, call.path) {
        if let Err(wait) = admit(rules, op, rules.scaled(window), burst, now) {
            // Retry-After is whole seconds, as AWS sends it; never 0, which would invite a busy loop.
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let refusal = reply::rest_json(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too Many Requests",
            )
            .with_header("retry-after", &seconds.to_string());
            return rules.refuse(Rule::RateLimited, refusal);
        }
    }
    match listing_call(call.method, call.path) {
        Some(listing) => with_listing_lag(cx, listing, forward).await,
        None => forward.await,
    }
}

/// PutIntegrationResponse or UpdateIntegrationResponse:
/// `/restapis/{api}/resources/{id}/methods/{method}/integration/responses/{status}`.
fn is_integration_response(method: &Method, path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    (method == Method::PUT || method == Method::PATCH)
        && matches!(
            parts.as_slice(),
            [
                "restapis",
                _,
                "resources",
                _,
                "methods",
                _,
                "integration",
                "responses",
                _
            ]
        )
}

/// API Gateway's answer to a selection pattern that does not compile, put whole (`selectionPattern`)
/// or patched (`/selectionPattern`); `None` when every pattern compiles.
fn invalid_pattern(doc: &serde_json::Value) -> Option<Upstream> {
    let patched = doc["patchOperations"].as_array().into_iter().flatten();
    let patterns = patched
        .filter(|op| op["path"] == "/selectionPattern")
        .map(|op| &op["value"])
        .chain([&doc["selectionPattern"]]);
    patterns.filter_map(|p| p.as_str()).find_map(|p| {
        let error = compile_pattern(p).err()?;
        Some(reply::rest_json(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            &format!(
                "Invalid selection pattern '{p}': {error}; give a regular expression that compiles"
            ),
        ))
    })
}

/// Admits a call within the window's burst, or says how long until a slot frees.
fn admit(
    rules: &Rules,
    op: &'static str,
    window: Duration,
    burst: usize,
    now: Instant,
) -> Result<(), Duration> {
    let mut limits = rules.limits.lock().expect("limits lock");
    let admitted = limits.admitted.entry(op).or_default();
    while admitted.front().is_some_and(|t| now.duration_since(*t) >= window) {
        admitted.pop_front();
    }
    if admitted.len() >= burst {
        let oldest = *admitted.front().expect("a full window has an oldest call");
        return Err(window - now.duration_since(oldest));
    }
    admitted.push_back(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strict::Config;

    #[test]
    fn one_delete_per_window_then_a_wait() {
        let rules = Rules::new(Config {
            enabled: true,
            time_scale: 1.0,
            iam_delay: None,
            memory_cap_mb: None,
        });
        let t0 = Instant::now();
        let w = Duration::from_secs(30);
        assert!(admit(&rules, "DeleteRestApi", w, 1, t0).is_ok());
        let wait = admit(&rules, "DeleteRestApi", w, 1, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(admit(&rules, "DeleteRestApi", w, 1, t0 + w).is_ok());
    }

    #[test]
    fn selection_patterns_that_do_not_compile_are_refused() {
        let path = "/restapis/a/resources/r/methods/POST/integration/responses/400";
        assert!(is_integration_response(&Method::PUT, path));
        assert!(is_integration_response(&Method::PATCH, path));
        assert!(!is_integration_response(&Method::GET, path));
        assert!(!is_integration_response(
            &Method::PUT,
            "/restapis/a/resources/r/methods/POST"
        ));
        let bad = serde_json::json!({"statusCode": "400", "selectionPattern": "BadRequest: (.*"});
        let refusal = invalid_pattern(&bad).expect("refused");
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert_eq!(refusal.headers["x-amzn-errortype"], "BadRequestException");
        let message = refusal.json()["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("unclosed group") && !message.contains('\n'),
            "{message}"
        );
        let patch = serde_json::json!({"patchOperations": [
            {"op": "replace", "path": "/selectionPattern", "value": "[z-a]"}]});
        assert!(invalid_pattern(&patch).is_some());
        let good = serde_json::json!({"statusCode": "400", "selectionPattern": "BadRequest:.*"});
        assert!(invalid_pattern(&good).is_none());
        assert!(invalid_pattern(&serde_json::json!({"statusCode": "200"})).is_none());
    }

    #[test]
    fn get_rest_apis_lags_behind_creates_and_deletes() {
        let t0 = Instant::now();
        let mut listing = Listing::default();
        listing.created.insert("new".into(), t0 + Duration::from_secs(3));
        let gone = serde_json::json!({"id": "gone", "name": "lab"});
        let key = ("us-east-1".to_string(), "gone".to_string());
        listing.deleted.insert(key, (gone, t0 + Duration::from_secs(3)));
        let page = serde_json::json!({"item": [{"id": "new"}, {"id": "old"}]});
        let mut p = page.clone();
        assert!(listing.lag("us-east-1", &mut p, t0));
        assert_eq!(
            p["item"],
            serde_json::json!([{"id": "old"}, {"id": "gone", "name": "lab"}])
        );
        // Another region never sees this region's deleted API.
        let mut p = page.clone();
        listing.lag("eu-west-1", &mut p, t0);
        assert_eq!(p["item"], serde_json::json!([{"id": "old"}]));
        // Once the lag has passed, the page is moto's.
        let mut p = page.clone();
        assert!(!listing.lag("us-east-1", &mut p, t0 + Duration::from_secs(3)));
        assert_eq!(p, page);
    }

    #[test]
    fn limited_operations_are_recognised() {
        assert_eq!(
            limit_of(&Method::DELETE, "/restapis/abc").map(|l| l.0),
            Some("DeleteRestApi")
        );
        assert_eq!(
            limit_of(&Method::POST, "/restapis/abc/deployments").map(|l| l.0),
            Some("CreateDeployment")
        );
        assert_eq!(
            limit_of(&Method::GET, "/restapis/abc/resources").map(|l| l.0),
            Some("GetResources")
        );
        assert_eq!(limit_of(&Method::GET, "/restapis/abc").map(|l| l.0), None);
    }
}
