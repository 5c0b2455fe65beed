//! A real moto server shared by every test in one test binary, and SDK clients pointed at it.
//!
//! moto is found at `$LAB_MOTO`, else `$XDG_CACHE_HOME/lab/moto-VERSION/bin/moto_server` (XDG default
//! `~/.cache`), where the project's setup installs it; VERSION is the pin in
//! `local/python/requirements.txt`, the one place it is written.
//!
//! With `LAB_HANDLER_TESTS_BACKEND=local` the same tests run against lab's local stack instead:
//! `lab local serve` (the binary next to this test's folder, `target/debug/lab`) on a free port with
//! a fresh `LAB_HOME`, so DynamoDB's items are served by its native store and tables by its moto
//! (`scripts/test` runs the handler's tests both ways).
//!
//! The server lives in a `static`, and statics are never dropped, so `Drop` alone cannot stop it. It is
//! therefore started under a tiny `sh` watchdog that holds a pipe from this process: when the test binary
//! exits, however it exits, the kernel closes the pipe, the watchdog's `cat` returns and it kills moto.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;

use super::dynamodb::{client_for, tutorial_table};

/// `$0` is moto_server, `$1` the port. moto's stdin is /dev/null so only the watchdog reads the pipe.
const WATCHDOG: &str = r#"
"$0" -H 127.0.0.1 -p "$1" </dev/null &
moto=$!
cat >/dev/null
kill "$moto" 2>/dev/null
wait "$moto"
"#;

/// `$0` is lab, `$1` the port, `$2` the stack's LAB_HOME (deleted when the stack stops).
const WATCHDOG_LOCAL: &str = r#"
LAB_HOME="$2" "$0" local serve --local-port "$1" </dev/null &
lab=$!
cat >/dev/null
kill "$lab" 2>/dev/null
wait "$lab"
rm -rf "$2"
"#;

/// Whether the tests run against lab's local stack rather than moto alone.
fn local_backend() -> bool {
    std::env::var("LAB_HANDLER_TESTS_BACKEND").is_ok_and(|v| v == "local")
}

/// `target/debug/lab`, next to the folder this test binary runs from (`target/debug/deps`).
fn lab_path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target/debug");
    dir.join("lab")
}

/// A running moto server.
pub struct Moto {
    watchdog: Child,
    pipe: Option<ChildStdin>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing the pipe makes the watchdog kill moto; then reap the watchdog.
        drop(self.pipe.take());
        let _ = self.watchdog.wait();
    }
}

/// moto's version, from the project's one pin (`moto[server]==VERSION`).
fn moto_version() -> &'static str {
    let pin = include_str!("../../../local/python/requirements.txt");
    pin.lines()
        .next()
        .and_then(|l| l.split("==").nth(1))
        .expect("requirements.txt pins moto[server]==VERSION")
        .trim()
}

/// The path of the moto_server executable.
pub fn moto_path() -> PathBuf {
    if let Some(path) = std::env::var_os("LAB_MOTO").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join(format!("lab/moto-{}/bin/moto_server", moto_version()))
}

/// The process-wide moto, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let path = if local_backend() { lab_path() } else { moto_path() };
        assert!(
            !local_backend() || path.exists(),
            "lab not found at {} (build it: cargo build --workspace --bins)",
            path.display()
        );
        assert!(
            local_backend() ||
            path.exists(),
            "moto_server not found at {} (set LAB_MOTO or run scripts/install-deps, which installs moto {} there)",
            path.display(),
            moto_version()
        );
        // A freshly freed port can be taken by someone else before moto binds it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            match start(&path) {
                Ok(moto) => return moto,
                Err(e) => last = e,
            }
        }
        panic!("moto did not start: {last}");
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

fn start(path: &std::path::Path) -> Result<Moto, String> {
    let port = free_port();
    let log = std::env::temp_dir().join(format!(
        "lab-handler-moto-{}-{port}.log",
        std::process::id()
    ));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("log file: {e}"))?;
    let log_err = log_file.try_clone().map_err(|e| format!("log file: {e}"))?;
    let home = std::env::temp_dir().join(format!("lab-handler-home-{}-{port}", std::process::id()));
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(if local_backend() {
            WATCHDOG_LOCAL
        } else {
            WATCHDOG
        })
        .arg(path)
        .arg(port.to_string())
        .arg(&home)
        .stdin(Stdio::piped())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", path.display()))?;
    let pipe = watchdog.stdin.take();
    let mut moto = Moto {
        watchdog,
        pipe,
        url: format!("http://127.0.0.1:{port}"),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if config_answers(addr) {
            return Ok(moto);
        }
        if let Ok(Some(status)) = moto.watchdog.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("moto exited with {status}: {text}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Err(format!(
        "moto did not answer on port {port} within 90 s: {text}"
    ))
}

/// Whether `GET /moto-api/config` (moto's own readiness check; lab's `/_lab/health` for the local
/// stack) gets an HTTP 2xx answer.
fn config_answers(addr: SocketAddr) -> bool {
    let request: &[u8] = if local_backend() {
        b"GET /_lab/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    } else {
        b"GET /moto-api/config HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    if stream.read_exact(&mut head).is_err() {
        return false;
    }
    head.starts_with(b"HTTP/1.") && head[9] == b'2'
}

/// A client for the shared moto.
pub fn client() -> Client {
    client_for(&moto().url)
}

/// A table name no other test in this binary uses.
pub fn unique_table(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Creates the tutorial's table shape (partition key `id`, type S).
pub async fn create_table(client: &Client, name: &str) {
    tutorial_table(client, name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
}

/// A fresh table with a unique name on the shared moto.
pub async fn fresh_table(client: &Client, prefix: &str) -> String {
    let name = unique_table(prefix);
    create_table(client, &name).await;
    name
}
