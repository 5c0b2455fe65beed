//! moto: installed into a per-user cache venv on first use, started through lab's launcher (the
//! supervisor decides when), and called directly by the gateway for the definitions it needs
//! (functions, APIs, logs).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use tokio::process::Child;

use super::strict::reply::{self, Upstream};

/// moto's fixed account id: every ARN on the local stack names it.
pub(crate) const ACCOUNT: &str = "123456789012";

/// moto's pin as pip reads it (`moto[server]==X.Y.Z`): `python/requirements.txt` is the one place
/// its version is written; `scripts/install-deps` and the handler's tests read the same file.
pub(crate) const MOTO_REQUIREMENT: &str = first_line(include_str!("../python/requirements.txt"));

/// The moto release the local stack is tested with (the pin's version).
pub const MOTO_VERSION: &str = after_equals(MOTO_REQUIREMENT);

/// The text before the first line break.
const fn first_line(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len() && bytes[end] != b'\n' {
        end += 1;
    }
    match std::str::from_utf8(bytes.split_at(end).0) {
        Ok(line) => line,
        Err(_) => panic!("requirements.txt is not UTF-8"),
    }
}

/// The version in `name==version`.
const fn after_equals(requirement: &str) -> &str {
    let bytes = requirement.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() && !(bytes[i] == b'=' && bytes[i + 1] == b'=') {
        i += 1;
    }
    assert!(
        i + 2 < bytes.len(),
        "requirements.txt pins moto as moto[server]==VERSION"
    );
    match std::str::from_utf8(bytes.split_at(i + 2).1) {
        Ok(version) => version,
        Err(_) => panic!("requirements.txt is not UTF-8"),
    }
}

/// `$LAB_HOME`, else `$XDG_CACHE_HOME/lab`, else `~/.cache/lab`: venvs, local-stack state, and what
/// `lab up` records of a stack on this machine.
pub fn lab_home() -> PathBuf {
    std::env::var_os("LAB_HOME").map(PathBuf::from).unwrap_or_else(user_cache)
}

/// `$XDG_CACHE_HOME/lab`, else `~/.cache/lab`.
pub(crate) fn user_cache() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("lab")
}

/// Where the pinned moto lives. Shared by every `LAB_HOME`, so tests do not reinstall it.
pub(crate) fn venv_dir() -> PathBuf {
    user_cache().join(format!("moto-{MOTO_VERSION}"))
}

/// The `moto_server` to run: `LAB_MOTO`, else the cache venv's (which may not exist yet).
pub(crate) fn server_path() -> PathBuf {
    match std::env::var_os("LAB_MOTO") {
        Some(path) => PathBuf::from(path),
        None => venv_dir().join("bin/moto_server"),
    }
}

/// Installs moto into the cache venv unless it is there (or `LAB_MOTO` names one).
pub(crate) fn install(show: bool) -> anyhow::Result<PathBuf> {
    let server = server_path();
    if server.is_file() {
        return Ok(server);
    }
    if std::env::var_os("LAB_MOTO").is_some() {
        bail!(
            "LAB_MOTO={} does not exist; point it at a moto_server executable or unset it",
            server.display()
        );
    }
    let python = which("python3").ok_or_else(|| {
        anyhow::anyhow!("python3 is needed to run the local stack's moto; install Python 3.9+ (e.g. apt-get install python3 python3-venv)")
    })?;
    let venv = venv_dir();
    let spinner = show.then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(format!(
            "installing moto {MOTO_VERSION} into {} (first run only)",
            venv.display()
        ));
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    std::fs::create_dir_all(venv.parent().unwrap_or(Path::new(".")))?;
    run_step(
        std::process::Command::new(&python).args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (on Debian: apt-get install python3-venv)",
    )?;
    run_step(
        std::process::Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO_REQUIREMENT,
        ]),
        "pip install moto[server]",
    )?;
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    Ok(server)
}

/// Runs an install step (a venv, a pip or npm install); fails with the last line of its error
/// output.
pub(crate) fn run_step(cmd: &mut std::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        bail!("{what} failed: {last}");
    }
    Ok(())
}

/// `program` on the stack's `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file())
    })
}

/// How to start moto: its Python, the launcher, the state folder (`None`: not durable), the log.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The Python that has moto installed.
    pub(crate) python: PathBuf,
    /// lab's launcher (`lab_moto.py`, with `moto_state.py` beside it).
    pub(crate) script: PathBuf,
    /// The write-ahead log and snapshots; `None` keeps everything in memory.
    pub(crate) state: Option<PathBuf>,
    /// moto's output, appended by every moto in turn.
    pub(crate) log: PathBuf,
}

/// Starts moto through the launcher with `fd` (a listening socket) as its fd 3; a standby loads
/// everything, then waits for "go" on its stdin.
pub(crate) fn spawn(
    launch: &Launch,
    fd: std::os::fd::RawFd,
    standby: bool,
) -> anyhow::Result<Child> {
    // Each moto appends to the log: the previous one's last lines say why it died.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .with_context(|| format!("cannot write {}", launch.log.display()))?;
    let mut cmd = tokio::process::Command::new(&launch.python);
    cmd.arg(&launch.script).args(["--fd", "3"]);
    if let Some(state) = &launch.state {
        cmd.arg("--state").arg(state);
    }
    if standby {
        cmd.arg("--standby");
    }
    cmd.stdin(if standby {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    // A standby's output comes through the gateway, which learns from it when it is ready.
    .stdout(if standby {
        Stdio::piped()
    } else {
        Stdio::from(log.try_clone()?)
    })
    .stderr(log)
    .kill_on_drop(true);
    // SAFETY: prctl, dup2 and fcntl are async-signal-safe; they run in the child between fork
    // and exec: moto dies with the gateway, and gets the socket as fd 3 (without close-on-exec).
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            let ok = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, 3) == 3
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    cmd.spawn().with_context(|| format!("cannot start {}", launch.python.display()))
}

/// Copies a standby's output to moto's log, noting the line that says it is ready.
pub(crate) async fn relay(out: tokio::process::ChildStdout, log: PathBuf, ready: Arc<AtomicBool>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let Ok(mut file) = tokio::fs::OpenOptions::new().create(true).append(true).open(&log).await
    else {
        return;
    };
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line == STANDBY_READY {
            ready.store(true, Ordering::Relaxed);
        }
        let _ = file.write_all(format!("{line}\n").as_bytes()).await;
    }
}

/// What the launcher prints once a standby has loaded everything.
pub(crate) const STANDBY_READY: &str = "lab moto: standby ready";

/// The last line moto wrote (why it stopped, when it says).
pub(crate) fn last_line(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .to_string()
}

/// Unsigned calls that moto routes to the right service and region by the credential scope.
#[derive(Clone, Debug)]
pub(crate) struct Moto {
    /// moto's address, `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The client every call to moto goes through.
    pub(crate) http: reqwest::Client,
}

impl Moto {
    /// The Authorization header moto reads to pick the service and region (it does not check signatures).
    pub(crate) fn auth(service: &str, region: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        )
    }

    /// GET a REST path of a service; `None` on 404.
    pub(crate) async fn get_json(
        &self,
        service: &str,
        region: &str,
        path: &str,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("authorization", Self::auth(service, region))
            .send()
            .await
            .context("moto is not answering")?;
        if r.status().as_u16() == 404 {
            return Ok(None);
        }
        if !r.status().is_success() {
            bail!("moto GET {path}: HTTP {}", r.status());
        }
        Ok(Some(
            r.json().await.with_context(|| format!("moto GET {path}: not JSON"))?,
        ))
    }

    /// A query-protocol call (IAM): `form` is the URL-encoded body, e.g. `Action=GetRole&RoleName=r`.
    pub(crate) async fn query_call(
        &self,
        service: &str,
        region: &str,
        form: &str,
    ) -> anyhow::Result<(u16, Bytes)> {
        let content_type = ("content-type", "application/x-www-form-urlencoded");
        self.post(service, region, &[content_type], form.to_string()).await
    }

    /// A JSON-protocol call (CloudWatch Logs): `target` is e.g. `Logs_20140328.PutLogEvents`.
    pub(crate) async fn json_call(
        &self,
        service: &str,
        region: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(u16, Bytes)> {
        let headers = [
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ];
        self.post(service, region, &headers, body.to_string()).await
    }

    /// POSTs `body` to moto's root with the service's scope and `headers`; the status and body.
    async fn post(
        &self,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut request = self
            .http
            .post(format!("{}/", self.base))
            .header("authorization", Self::auth(service, region));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let r = request.body(body).send().await.context("moto is not answering")?;
        let status = r.status().as_u16();
        Ok((status, r.bytes().await.unwrap_or_default()))
    }
}

/// The Python that runs moto: the venv's, or the one `LAB_MOTO`'s `#!` line names.
pub(crate) fn python_for(server: &Path) -> anyhow::Result<PathBuf> {
    let text =
        std::fs::read(server).with_context(|| format!("cannot read {}", server.display()))?;
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(first);
    if let Some(interpreter) = line.strip_prefix("#!") {
        // `#!/usr/bin/env python3` names the program last; `#!/venv/bin/python3` first.
        let words: Vec<&str> = interpreter.split_whitespace().collect();
        if let Some(python) = words.iter().rev().find(|w| w.contains("python")) {
            return Ok(PathBuf::from(python));
        }
    }
    let sibling = server.with_file_name("python3");
    if sibling.is_file() {
        return Ok(sibling);
    }
    bail!(
        "{} is not a moto_server console script (its #! line names no Python); lab runs moto's app with that Python",
        server.display()
    )
}

/// A 503 in the wire protocol the headers imply (JSON, query/XML, or REST JSON).
pub(crate) fn unavailable_reply(headers: &HeaderMap, message: &str) -> Upstream {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let content_type =
        headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let up = if headers.contains_key("x-amz-target") {
        let body = serde_json::json!({"__type": "ServiceUnavailable", "message": message});
        Upstream::new(status, "application/x-amz-json-1.0", body.to_string())
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        reply::iam(status, "ServiceUnavailable", message)
    } else {
        reply::rest_json(status, "ServiceUnavailableException", message)
    };
    up.with_header("retry-after", "1")
}

#[cfg(test)]
mod tests;
