use super::*;

#[test]
fn the_python_of_a_console_script() {
    let dir = std::env::temp_dir().join(format!("lab-python-for-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("moto_server");
    std::fs::write(&script, "#!/opt/venv/bin/python3.11\nimport moto\n").unwrap();
    assert_eq!(
        python_for(&script).unwrap(),
        PathBuf::from("/opt/venv/bin/python3.11")
    );
    std::fs::write(&script, "#!/usr/bin/env python3\n").unwrap();
    assert_eq!(python_for(&script).unwrap(), PathBuf::from("python3"));
    std::fs::write(&script, "#!/bin/sh\nexec something\n").unwrap();
    assert!(python_for(&script).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unavailable_speaks_each_protocol() {
    let mut json = HeaderMap::new();
    json.insert("x-amz-target", "DynamoDB_20120810.PutItem".parse().unwrap());
    let up = unavailable_reply(&json, "m");
    assert_eq!(up.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(up.json()["__type"], "ServiceUnavailable");
    let mut query = HeaderMap::new();
    query.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let up = unavailable_reply(&query, "m");
    assert!(String::from_utf8_lossy(&up.body).contains("<Code>ServiceUnavailable</Code>"));
    let up = unavailable_reply(&HeaderMap::new(), "m");
    assert_eq!(
        up.headers["x-amzn-errortype"],
        "ServiceUnavailableException"
    );
    assert_eq!(up.headers["retry-after"], "1");
}
