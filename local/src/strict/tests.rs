use super::*;

#[test]
fn figures_scale_and_strict_off_keeps_only_an_explicit_iam_delay() {
    let rules = Rules::new(Config {
        enabled: true,
        time_scale: 0.05,
        iam_delay: None,
        memory_cap_mb: None,
    });
    assert_eq!(
        rules.scaled(AWS.delete_rest_api_window),
        Duration::from_millis(1500)
    );
    assert_eq!(rules.iam_delay(), AWS.role_not_assumable.mul_f64(0.05));
    let off = Rules::new(Config {
        enabled: false,
        time_scale: 1.0,
        iam_delay: None,
        memory_cap_mb: None,
    });
    assert_eq!(off.iam_delay(), Duration::ZERO);
    let explicit = Rules::new(Config {
        enabled: false,
        time_scale: 1.0,
        iam_delay: Some(Duration::from_millis(700)),
        memory_cap_mb: None,
    });
    assert_eq!(explicit.iam_delay(), Duration::from_millis(700));
}

#[test]
fn query_forms_decode() {
    let body = Bytes::from_static(b"Action=DeleteRole&RoleName=my%2Brole&Version=2010-05-08");
    let headers = HeaderMap::new();
    let call = Call::new("us-east-1", &Method::POST, "/", &headers, &body);
    let form = call.form();
    assert_eq!(form["Action"], "DeleteRole");
    assert_eq!(form["RoleName"], "my+role");
}

/// A large body is parsed on a blocking thread: the async task yields while it is parsed, so
/// another future on the same (single) worker thread runs first. Parsed in place, the body
/// would be done before the other future ever ran.
#[tokio::test(flavor = "current_thread")]
async fn large_bodies_are_parsed_off_the_async_thread() {
    let zip = "A".repeat(8 * 1024 * 1024);
    let body = Bytes::from(serde_json::json!({"Code": {"ZipFile": zip}}).to_string());
    let headers = HeaderMap::new();
    let call = Call::new(
        "us-east-1",
        &Method::POST,
        "/2015-03-31/functions",
        &headers,
        &body,
    );
    let order = Mutex::new(Vec::new());
    tokio::join!(
        async {
            let doc = call.json().await;
            assert_eq!(
                doc["Code"]["ZipFile"].as_str().map(str::len),
                Some(zip.len())
            );
            order.lock().unwrap().push("parsed");
        },
        async { order.lock().unwrap().push("other task ran") },
    );
    assert_eq!(*order.lock().unwrap(), ["other task ran", "parsed"]);
    // A small body is parsed in place (no thread hop for every DynamoDB call).
    let small = Bytes::from_static(br#"{"TableName":"t"}"#);
    let call = Call::new("us-east-1", &Method::POST, "/", &headers, &small);
    assert_eq!(call.json().await["TableName"], "t");
}
