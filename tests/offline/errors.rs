//! Bad input and missing set-up: one clear line naming what is wrong and what to do, a non-zero exit,
//! and no traffic anywhere but loopback (instance metadata lookups are disabled).

use std::process::{Command, Output};

/// lab with HOME (and LAB_HOME under it) at `home` and none of the caller's AWS settings.
fn isolated(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(crate::common::lab_bin());
    cmd.env("HOME", home)
        .env("LAB_HOME", home.join("lab"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn lab(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("lab-errors-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    isolated(&home).args(args).output().unwrap()
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
        err.contains("no usable AWS credentials") && err.contains("--local"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Runs lab with HOME holding `config` as ~/.aws/config.
fn lab_with_config(config: &str, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!(
        "lab-errors-cfg-{}-{}",
        std::process::id(),
        config.len()
    ));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    isolated(&home)
        .args(args)
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .output()
        .unwrap()
}

#[test]
fn credential_errors_keep_their_cause_and_name_the_fix() {
    // (5) A misspelled profile is named as such, not "no AWS region is set".
    let config = "[profile dev]\nregion = eu-west-1\n";
    let out = lab_with_config(config, &["--profile", "dve", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("profile dve not found in") && err.contains(".aws/config"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // An SSO profile without a live session: the SDK's cause, and the command that renews it.
    let sso = "[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n";
    let out = lab_with_config(sso, &["--profile", "sso", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("aws sso login --profile sso"), "{err}");
    assert!(err.contains("no usable AWS credentials ("), "{err}");
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
    // The clock's grouping: bounded, and only for the open model.
    let url = ["load", "--url", "http://127.0.0.1:9/"];
    let out = lab(&[&url[..], &["--rate", "100", "--arrival-group", "20ms"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("at most 10ms (got 20ms)"),
        "{}",
        stderr(&out)
    );
    let out = lab(&[&url[..], &["--arrival-group", "1ms"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rate"), "{}", stderr(&out));
}

/// `lab completions bash | head -c 16`: a reader that closes the pipe early ends the command
/// quietly, as for any Unix filter, instead of a panic on stderr.
#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    use std::io::Read;
    let mut child = Command::new(crate::common::lab_bin())
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's read end is dropped here, as `head` exits.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(String::from_utf8_lossy(&first).starts_with("_lab()"));
}
