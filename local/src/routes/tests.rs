use super::*;

#[test]
fn a_whole_message_must_match_and_the_default_answers_the_rest() {
    let responses = [("200", None), ("400", Some("BadRequest: .*"))];
    let status = |m| integration_status(&responses, m).unwrap();
    assert_eq!(status(None), Some(200));
    assert_eq!(status(Some("BadRequest: no id")), Some(400));
    // A pattern must match the whole message, as in Java's String.matches.
    assert_eq!(status(Some("Not BadRequest: x")), Some(200));
    assert!(integration_status(&[("400", Some("(.*"))], None).is_err());
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
