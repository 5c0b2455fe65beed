//! The stage URL's resolved routes: what one (api, stage, path, method) runs and how its integration
//! responses pick a status, cached per registry generation. The cache is keyed by client input (any
//! path can be asked for), so it holds at most [`ROUTE_CACHE_CAP`] entries.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// One integration response: status and its selection pattern (`None` = the default).
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    /// The status the response answers with.
    pub(crate) status: u16,
    /// The compiled selection pattern; `None` for the default response.
    pub(crate) pattern: Option<regex::Regex>,
}

/// Everything needed to serve one (api, stage, path, method), resolved from moto.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// A Lambda integration that API Gateway is allowed to invoke.
    Lambda {
        /// The function's region (from the integration's ARN).
        region: String,
        /// The function's name.
        function: String,
        /// The integration responses, by status.
        mappings: Vec<Mapping>,
        /// Whether the function's resource policy lets API Gateway invoke it.
        permitted: bool,
    },
    /// Answered by API Gateway itself.
    Reject {
        /// The HTTP status.
        status: u16,
        /// API Gateway's message.
        message: &'static str,
    },
}

/// Which request a route serves: (api, stage, path, method).
pub(crate) type RouteKey = (String, String, String, String);

/// The most routes kept; beyond it the oldest entry goes.
pub(crate) const ROUTE_CACHE_CAP: usize = 1024;

/// Resolved routes, each with the registry generation it was read at; at most [`ROUTE_CACHE_CAP`].
#[derive(Default)]
pub(crate) struct RouteCache {
    inner: Mutex<Entries>,
}

/// The cache's map and its keys, oldest first (the eviction order).
#[derive(Default)]
struct Entries {
    routes: HashMap<RouteKey, (u64, Route)>,
    order: VecDeque<RouteKey>,
}

impl RouteCache {
    /// The route cached for `key` at `generation`, if it is still current.
    pub(crate) fn get(&self, key: &RouteKey, generation: u64) -> Option<Route> {
        let entries = self.inner.lock().expect("route lock");
        match entries.routes.get(key) {
            Some((g, route)) if *g == generation => Some(route.clone()),
            _ => None,
        }
    }

    /// Keeps `route` for `key`, read at `generation`; the oldest entry goes when the cache is full.
    pub(crate) fn insert(&self, key: RouteKey, generation: u64, route: Route) {
        let mut entries = self.inner.lock().expect("route lock");
        if let Some(kept) = entries.routes.get_mut(&key) {
            *kept = (generation, route);
            return;
        }
        while entries.routes.len() >= ROUTE_CACHE_CAP {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.routes.remove(&oldest);
        }
        entries.order.push_back(key.clone());
        entries.routes.insert(key, (generation, route));
    }

    /// How many routes are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().expect("route lock").routes.len()
    }
}

/// API Gateway's rule for Lambda errors: the first pattern that matches the whole `errorMessage`
/// wins; otherwise (and for successes) the default response.
pub(crate) fn select_status(mappings: &[Mapping], error_message: Option<&str>) -> Option<u16> {
    if let Some(message) = error_message {
        if let Some(m) = mappings
            .iter()
            .find(|m| m.pattern.as_ref().is_some_and(|p| p.is_match(message)))
        {
            return Some(m.status);
        }
    }
    mappings.iter().find(|m| m.pattern.is_none()).map(|m| m.status)
}

/// The status API Gateway answers with, for a function's `error_message` (`None`: success), given
/// a method's integration responses as (status, selection pattern) pairs; an error names a
/// pattern that does not compile.
pub fn integration_status(
    responses: &[(&str, Option<&str>)],
    error_message: Option<&str>,
) -> Result<Option<u16>, String> {
    let mappings = responses
        .iter()
        .map(|(status, pattern)| {
            Ok(Mapping {
                status: status.parse().map_err(|_| format!("{status:?} is not a status"))?,
                pattern: pattern.map(compile_pattern).transpose()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(select_status(&mappings, error_message))
}

/// Compiles a Java-style selection pattern as a whole-string match (Java's `String.matches`).
/// The error is one line: the regex crate's own last line (`error: unclosed group`).
pub(crate) fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        let text = e.to_string();
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid regular expression")
            .trim()
            .to_string()
    })
}

/// The integration responses of a method's integration (moto's `integrationResponses`), by
/// status. A selection pattern that does not compile is an error, never the default response.
pub(crate) fn mappings_of(integration: &serde_json::Value) -> Result<Vec<Mapping>, String> {
    let Some(responses) = integration["integrationResponses"].as_object() else {
        return Ok(Vec::new());
    };
    let mut mappings = Vec::with_capacity(responses.len());
    for r in responses.values() {
        let status = r["statusCode"].as_str().and_then(|s| s.parse().ok()).unwrap_or(200);
        let pattern = match r["selectionPattern"].as_str().filter(|p| !p.is_empty()) {
            Some(p) => Some(compile_pattern(p).map_err(|e| {
                format!("the integration response {status} has a selectionPattern that does not compile ({e}); put it again with a valid pattern")
            })?),
            None => None,
        };
        mappings.push(Mapping { status, pattern });
    }
    mappings.sort_by_key(|m| m.status);
    Ok(mappings)
}

#[cfg(test)]
mod tests;
