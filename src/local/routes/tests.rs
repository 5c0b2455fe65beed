use super::*;

fn mappings() -> Vec<Mapping> {
    crate::stack::api::RESPONSES
        .iter()
        .map(|(s, p)| Mapping {
            status: s.parse().unwrap(),
            pattern: p.map(|p| compile_pattern(p).unwrap()),
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
fn a_pattern_that_does_not_compile_is_an_error_not_the_default() {
    let integration = serde_json::json!({"integrationResponses": {
        "200": {"statusCode": "200"},
        "400": {"statusCode": "400", "selectionPattern": "BadRequest: (.*"},
    }});
    let err = mappings_of(&integration).unwrap_err();
    assert!(
        err.contains("400") && err.contains("unclosed group"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    let fine = serde_json::json!({"integrationResponses": {
        "400": {"statusCode": "400", "selectionPattern": "BadRequest: .*"},
        "200": {"statusCode": "200", "selectionPattern": ""},
    }});
    let m = mappings_of(&fine).unwrap();
    assert_eq!(m.iter().map(|m| m.status).collect::<Vec<_>>(), [200, 400]);
    assert!(m[0].pattern.is_none());
}

fn key(i: usize) -> RouteKey {
    ("api".into(), "prod".into(), format!("/p{i}"), "POST".into())
}

fn reject() -> Route {
    Route::Reject {
        status: 403,
        message: "Missing Authentication Token",
    }
}

#[test]
fn the_route_cache_is_bounded_and_evicts_the_oldest() {
    let cache = RouteCache::default();
    for i in 0..ROUTE_CACHE_CAP + 10 {
        cache.insert(key(i), 1, reject());
    }
    assert_eq!(cache.len(), ROUTE_CACHE_CAP);
    assert!(cache.get(&key(0), 1).is_none(), "the oldest went");
    assert!(cache.get(&key(ROUTE_CACHE_CAP + 9), 1).is_some());
    // Re-inserting a kept key updates it in place.
    cache.insert(key(ROUTE_CACHE_CAP + 9), 2, reject());
    assert_eq!(cache.len(), ROUTE_CACHE_CAP);
    assert!(cache.get(&key(ROUTE_CACHE_CAP + 9), 1).is_none(), "stale");
    assert!(cache.get(&key(ROUTE_CACHE_CAP + 9), 2).is_some());
}
