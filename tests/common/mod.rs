//! Test harness: a real local stack (`lab local serve`: moto + gateway + the real handler) per test
//! binary, and a way to run the real `lab` binary against it; independent SDK reads of what it did
//! (`aws`), the kernel's accounting of an instance's cgroup (`cgroup`), and HTML reports checked in a
//! browser (`html`).
#![allow(dead_code)]

pub mod aws;
pub mod cgroup;
pub mod fixture;
pub mod html;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A finished command's exit status and output, for a failing assertion's message.
pub fn explain(out: &Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    format!("exit {}\nstdout: {stdout}\nstderr: {stderr}", out.status)
}

/// Fails the test, with the command's status and output, unless `what` succeeded.
pub fn assert_succeeded(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed: {}", explain(out));
}

/// The `lab` binary under test.
pub fn lab_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lab"))
}

/// The handler's debug `bootstrap`, built if `cargo test -p lab` did not build it.
pub fn bootstrap_bin() -> PathBuf {
    let path = lab_bin().parent().expect("target dir").join("bootstrap");
    if !path.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "handler", "--bin", "bootstrap"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the handler failed");
    }
    path
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs its closure when dropped, a panic included: a test's clean-up that must happen however the
/// test ends.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A running local stack, stopped (with every instance and moto) when dropped.
pub struct LocalStack {
    pub port: u16,
    pub home: PathBuf,
    child: Child,
}

/// The time scale the end-to-end tests run strict mode at: AWS's delays and rate-limit windows
/// at 1/20 (a 30 s DeleteRestApi window lasts 1.5 s), so CI stays well inside its limit.
pub const TEST_TIME_SCALE: &str = "0.05";

impl LocalStack {
    /// Starts `lab local serve` in strict mode (AWS's delays, transitions and limits, at
    /// [`TEST_TIME_SCALE`]) with extra flags, and waits until it answers.
    pub fn start(extra: &[&str]) -> Self {
        let mut flags = vec!["--strict", "--time-scale", TEST_TIME_SCALE];
        flags.extend_from_slice(extra);
        Self::start_with(&flags)
    }

    /// Starts `lab local serve` with exactly these flags (no strict mode unless they ask for it).
    pub fn start_with(extra: &[&str]) -> Self {
        // A port free when asked can be taken by another process of the suite (eight tests run at
        // once) before serve binds it: serve then exits at once saying so, and the stack starts
        // again on another port.
        for _ in 0..3 {
            let mut stack = Self::spawn(extra);
            match stack.wait_ready(Duration::from_secs(90)) {
                Ok(()) => return stack,
                Err(log) if log.contains("is busy") => continue,
                Err(log) => panic!("local stack did not start: {log}"),
            }
        }
        panic!(
            "local stack did not start: three free ports in a row were taken before it bound them"
        );
    }

    /// Spawns `lab local serve` on a free port with these flags, without waiting for it.
    fn spawn(extra: &[&str]) -> Self {
        let port = free_port();
        let home = std::env::temp_dir().join(format!("lab-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let log = std::fs::File::create(home.join("serve.log")).unwrap();
        let child = Command::new(lab_bin())
            .args(["local", "serve", "--local-port", &port.to_string()])
            .args(extra)
            .env("LAB_HOME", &home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start lab local serve");
        Self { port, home, child }
    }

    /// The stack's `/_lab/status` document.
    pub fn status(&self) -> serde_json::Value {
        let text = self.http("GET", "/_lab/status");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("status is not JSON ({e}): {text}"))
    }

    /// How many calls strict mode's rule `name` refused so far.
    pub fn refusals(&self, name: &str) -> u64 {
        self.status()["strict"]["refusals"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("no strict rule named {name}"))
    }

    /// One raw HTTP/1.1 request to the stack (no body); returns the whole response.
    pub fn http(&self, method: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        buf
    }

    /// Waits until the stack answers; its log if it exits first or does not answer within `limit`.
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log());
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(
                    b"GET /_lab/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                );
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.contains("200 OK") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(self.log())
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `lab --local --local-port P ARGS...`.
    pub fn lab(&self, args: &[&str]) -> Output {
        let out = Command::new(lab_bin())
            .args(["--local", "--local-port", &self.port.to_string()])
            .args(args)
            .env("LAB_HOME", &self.home)
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .expect("run lab");
        out
    }

    /// Like [`lab`](Self::lab), asserting success; returns stdout.
    pub fn lab_ok(&self, args: &[&str]) -> String {
        let out = self.lab(args);
        if !out.status.success() {
            // The stack's own log says what the gateway saw (it is removed with the stack).
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("the local stack's log, last lines:");
            for line in tail.iter().rev() {
                eprintln!("  {line}");
            }
        }
        assert_succeeded(&out, &format!("lab {args:?}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`lab_ok`](Self::lab_ok), parsing stdout as JSON (`-o json` is added).
    pub fn lab_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let out = self.lab_ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("lab {args:?} printed no JSON ({e}): {out}"))
    }

    /// `lab up` for a stack with the debug bootstrap; returns the invoke URL.
    pub fn up(&self, stack: &str, extra: &[&str]) -> String {
        let report = self.up_report(stack, extra);
        report["invoke_url"].as_str().unwrap().to_string()
    }

    /// `lab -o json --stack STACK up --bootstrap BOOTSTRAP EXTRA...`, asserting success: the report.
    pub fn up_report(&self, stack: &str, extra: &[&str]) -> serde_json::Value {
        with_up_args(stack, extra, |args| self.lab_json(args))
    }

    /// Like [`up_report`](Self::up_report), for an `up` that may fail: its whole outcome.
    pub fn try_up(&self, stack: &str, extra: &[&str]) -> Output {
        with_up_args(stack, extra, |args| self.lab(args))
    }

    /// Asserts the exit code of `lab -o json --stack STACK status EXTRA...` (0 complete, 2 absent,
    /// 3 partial or drifted), and that it printed its report; returns the report.
    pub fn assert_status(&self, stack: &str, extra: &[&str], code: i32) -> serde_json::Value {
        let mut args = vec!["--stack", stack, "-o", "json", "status"];
        args.extend_from_slice(extra);
        let out = self.lab(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "status of {stack}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            let text = String::from_utf8_lossy(&out.stdout);
            panic!("status of {stack} printed no JSON ({e}): {text}")
        })
    }

    /// SDK configuration pointed at this stack (dummy credentials), for independent reads.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        self.sdk_loader().load().await
    }

    /// Like [`sdk`](Self::sdk) with the SDK's retries off: each refusal the stack answers is seen.
    pub async fn sdk_without_retries(&self) -> aws_config::SdkConfig {
        let no_retries = aws_config::retry::RetryConfig::disabled();
        self.sdk_loader().retry_config(no_retries).load().await
    }

    fn sdk_loader(&self) -> aws_config::ConfigLoader {
        handler::with_https(aws_config::defaults(aws_config::BehaviorVersion::latest()))
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
    }

    /// The serve log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("serve.log")).unwrap_or_default()
    }

    /// The pid of `lab local serve`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        // SAFETY: a plain SIGTERM to our own child; serve then stops moto and every instance.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A test that restarted the stack with `lab local start` left a detached serve: stop it too.
        let pid_file = self.home.join(format!("local-{}/gateway.pid", self.port));
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: SIGTERM to the serve this test's stack started (its own pid file).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            // SAFETY: signal 0 only checks that the process exists.
            while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Runs `run` with `--stack STACK up --bootstrap BOOTSTRAP EXTRA...` (the debug bootstrap).
fn with_up_args<T>(stack: &str, extra: &[&str], run: impl FnOnce(&[&str]) -> T) -> T {
    let bootstrap = bootstrap_bin();
    let mut args = vec![
        "--stack",
        stack,
        "up",
        "--bootstrap",
        bootstrap.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// POSTs a body to a URL; returns (status, JSON body).
pub async fn post(url: &str, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Writes a zip whose `bootstrap` is the given script (a test runtime).
pub fn script_zip(dir: &Path, script: &str) -> PathBuf {
    use std::io::Write;
    let path = dir.join("fixture.zip");
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(script.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

/// A Python runtime script for a test function: `template` with `PYTHON` replaced by the machine's
/// python3, zipped as `bootstrap` in `dir`.
pub fn python_zip(dir: &Path, template: &str) -> PathBuf {
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("python3 for the fixture runtime");
    script_zip(dir, &template.replace("PYTHON", python))
}

/// Fails naming every one of `needles` that `text` does not contain, with the text.
pub fn assert_contains_all(text: &str, needles: &[&str]) {
    let missing: Vec<_> = needles.iter().filter(|n| !text.contains(*n)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

/// The words of a command line (for arguments without spaces): `words("--stack s status")`.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The change `lab up` or `lab down` reported for `resource`.
pub fn change(report: &serde_json::Value, resource: &str) -> serde_json::Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == resource)
        .unwrap_or_else(|| panic!("no change for {resource}: {report}"))
        .clone()
}

/// Every change's (resource, action), asserting there is one per resource of the stack (7).
pub fn actions(report: &serde_json::Value) -> Vec<(String, String)> {
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 7, "one change per resource: {report}");
    changes
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
