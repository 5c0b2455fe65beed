//! API Gateway's control-plane rate limits per account (its quotas page): CreateRestApi (Regional)
//! one per 3 s, DeleteRestApi one per 30 s, CreateDeployment one per 5 s, GetResources five per 2 s. Beyond them: 429
//! TooManyRequestsException with `Retry-After`, which a careful client honours.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};

use super::reply::{self, Upstream};
use super::{Call, Rule, Rules, AWS};

/// Admitted calls per limited operation, newest last.
#[derive(Default)]
pub struct Limits {
    admitted: HashMap<&'static str, VecDeque<Instant>>,
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

pub async fn apply<F, Fut>(rules: &Rules, call: &Call<'_>, now: Instant, forward: F) -> Upstream
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Upstream>,
{
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
    forward().await
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
    while admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
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
    use crate::local::strict::Config;

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
