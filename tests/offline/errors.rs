//! Bad input and missing set-up: one clear line naming what is wrong and what to do, a non-zero exit,
//! and no traffic anywhere but loopback (instance metadata lookups are disabled).

use std::process::{Command, Output};

fn lab(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("lab-errors-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    Command::new(crate::common::lab_bin())
        .args(args)
        .env("HOME", &home)
        .env("LAB_HOME", home.join("lab"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_credentials_points_at_the_fix_and_the_local_stack() {
    let out = lab(&["--region", "us-east-1", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no AWS credentials found") && err.contains("--local"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn no_region_says_how_to_set_one() {
    let out = lab(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no AWS region is set: pass --region"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_busy_port_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = lab(&["local", "start", "--port", &port]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("port {port}")) && err.contains("busy"),
        "{err}"
    );
}

#[test]
fn bad_flags_and_files_are_refused_before_any_call() {
    let out = lab(&["up", "--memory", "64"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--memory"), "{}", stderr(&out));
    let out = lab(&["--region", "us-east-1", "--stack", "has space", "status"]);
    assert!(stderr(&out).contains("invalid --stack"), "{}", stderr(&out));
    let out = lab(&["tune", "--discard", "0.5"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--discard"), "{}", stderr(&out));
}
