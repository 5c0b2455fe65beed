//! moto under supervision: lab's launcher (`lab_moto.py`) runs moto's app on a listening socket
//! the gateway owns, so the port never changes; when moto dies the gateway stays up, starts it again
//! (it restores its own state from the snapshot and write-ahead log before it serves), and answers
//! calls made in the gap with a retryable 503.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use axum::http::{HeaderMap, Method};
use tokio::process::Child;
use tokio::sync::{oneshot, watch};

use super::dates;
pub(crate) use super::moto::unavailable_reply;
pub(crate) use super::moto::Launch;
use super::moto::{last_line, relay};
use super::strict::reply::Upstream;

/// The launcher, written next to the stack's state at every start.
pub(crate) const LAUNCHER: &str = include_str!("../python/lab_moto.py");
/// The launcher's log and snapshots (`moto_state`), written beside it.
pub(crate) const STATE_MODULE: &str = include_str!("../python/moto_state.py");

/// Where moto is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MotoState {
    /// Serving.
    Up,
    /// Died; a new one is starting and restoring the state.
    Restarting,
    /// The stack is stopping.
    Stopping,
}

/// One moto at a time, restarted when it dies.
pub(crate) struct Supervisor {
    launch: Launch,
    /// moto's socket: bound once by the gateway, inherited by every moto as fd 3.
    listener: std::net::TcpListener,
    /// moto's base URL (constant: the socket outlives each moto).
    pub(crate) base: String,
    state: watch::Sender<MotoState>,
    restarts: AtomicU64,
    pid: AtomicU32,
    last: Mutex<LastRestart>,
    http: reqwest::Client,
    stop: Mutex<Option<oneshot::Sender<oneshot::Sender<()>>>>,
    /// The next moto, started ahead: Python up and moto imported, waiting for "go".
    standby: Mutex<Option<Standby>>,
}

/// How long after the first moto serves the first standby starts. Importing moto takes a second
/// or two of CPU, and a stack is busiest, and most stacks are shortest-lived, right after it starts
/// (a first `lab up`, one `lab call --local`, a test): a standby started then competed with that
/// work for a moto that is almost never needed. A moto that dies before then starts from nothing,
/// a second or so slower to come back; every later standby starts as soon as the last is used.
const FIRST_STANDBY_AFTER: Duration = Duration::from_secs(30);

/// A moto started ahead, and whether it has said it is ready (loaded and waiting for "go").
struct Standby {
    child: Child,
    ready: Arc<AtomicBool>,
}

/// How `stop` reaches the watcher, and how the watcher says it is done.
type StopRx = oneshot::Receiver<oneshot::Sender<()>>;

#[derive(Default)]
struct LastRestart {
    at: Option<SystemTime>,
    exit: Option<String>,
    recovery_ms: Option<u64>,
    error: Option<String>,
}

impl Supervisor {
    /// Binds moto's socket on loopback; nothing runs yet.
    pub(crate) fn new(launch: Launch) -> anyhow::Result<Arc<Self>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        Ok(Arc::new(Self {
            launch,
            listener,
            base,
            state: watch::channel(MotoState::Restarting).0,
            restarts: AtomicU64::new(0),
            pid: AtomicU32::new(0),
            last: Mutex::default(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?,
            stop: Mutex::new(None),
            standby: Mutex::new(None),
        }))
    }

    /// Starts the first moto and waits until it serves (its state restored), then watches it. The
    /// first standby starts [`FIRST_STANDBY_AFTER`] later.
    pub(crate) async fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        let child = self.ready(self.spawn(false)?).await?;
        let (tx, rx) = oneshot::channel();
        *self.stop.lock().expect("stop lock") = Some(tx);
        self.state.send_replace(MotoState::Up);
        // Weak: a stack stopped before then is not kept (with moto's socket) by this wait.
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(FIRST_STANDBY_AFTER).await;
            if let Some(this) = this.upgrade() {
                this.refill_standby();
            }
        });
        tokio::spawn(self.clone().watch(child, rx));
        Ok(())
    }

    /// True while moto serves.
    pub(crate) fn is_up(&self) -> bool {
        *self.state.borrow() == MotoState::Up
    }

    /// Waits until moto serves, at most `limit`; false if it did not.
    pub(crate) async fn wait_up(&self, limit: Duration) -> bool {
        let mut rx = self.state.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|s| *s == MotoState::Up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Restarts so far.
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// A 503 in the caller's protocol, saying moto is restarting; SDKs retry it.
    pub(crate) fn unavailable(&self, headers: &HeaderMap) -> Upstream {
        let message = format!(
            "lab local: moto (the local AWS) is restarting after it stopped (restart {}); the state is being restored, retry in a moment",
            self.restarts()
        );
        super::moto::unavailable_reply(headers, &message)
    }

    async fn watch(self: Arc<Self>, mut child: Child, mut stop: StopRx) {
        loop {
            let exit = tokio::select! {
                status = child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                done = &mut stop => {
                    self.shutdown(&mut child).await;
                    if let Ok(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
            };
            let died = Instant::now();
            {
                // State, count and time change together under the lock the status reads them with.
                let mut last = self.last.lock().expect("last lock");
                self.state.send_replace(MotoState::Restarting);
                self.restarts.fetch_add(1, Ordering::Relaxed);
                *last = LastRestart {
                    at: Some(SystemTime::now()),
                    exit: Some(exit.clone()),
                    ..LastRestart::default()
                };
            }
            eprintln!("lab local: moto exited ({exit}); restarting it and restoring its state");
            let Some(next) = self.recover(&mut stop).await else {
                return;
            };
            child = next;
            let ms = died.elapsed().as_millis() as u64;
            {
                let mut last = self.last.lock().expect("last lock");
                last.recovery_ms = Some(ms);
                self.state.send_replace(MotoState::Up);
            }
            eprintln!("lab local: moto is back after {ms} ms");
            self.refill_standby();
        }
    }

    /// The next moto, serving with the state restored; retried with a backoff until it works or the
    /// stack stops (`None`).
    async fn recover(&self, stop: &mut StopRx) -> Option<Child> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = tokio::select! {
                r = self.next_moto() => r,
                done = &mut *stop => {
                    if let Ok(done) = done {
                        let _ = done.send(());
                    }
                    return None;
                }
            };
            match attempt {
                Ok(child) => return Some(child),
                Err(e) => {
                    eprintln!("lab local: moto did not come back ({e:#}); trying again");
                    self.last.lock().expect("last lock").error = Some(format!("{e:#}"));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Promotes the standby (Python started, moto imported: it only restores the state), or starts
    /// a moto from nothing when there is none.
    async fn next_moto(&self) -> anyhow::Result<Child> {
        use tokio::io::AsyncWriteExt;
        let standby = self.standby.lock().expect("standby lock").take();
        if let Some(Standby { mut child, .. }) = standby {
            if let (Ok(None), Some(mut stdin)) = (child.try_wait(), child.stdin.take()) {
                if stdin.write_all(b"go\n").await.is_ok() {
                    drop(stdin);
                    return self.ready(child).await;
                }
            }
        }
        let child = self.spawn(false)?;
        self.ready(child).await
    }

    /// Starts the next standby (in the background: it competes for CPU only once moto serves),
    /// unless moto is not serving (the stack is stopping, or moto is restarting and will refill
    /// once back) or a standby already waits.
    fn refill_standby(&self) {
        // Under the lock `shutdown` takes the standby with, after it has said Stopping: a standby
        // started here is either seen and ended by it, or not started at all.
        let mut standby = self.standby.lock().expect("standby lock");
        if !self.is_up() || standby.is_some() {
            return;
        }
        match self.spawn(true) {
            Ok(mut child) => {
                let ready = Arc::new(AtomicBool::new(false));
                if let Some(out) = child.stdout.take() {
                    tokio::spawn(relay(out, self.launch.log.clone(), ready.clone()));
                }
                *standby = Some(Standby { child, ready });
            }
            Err(e) => eprintln!(
                "lab local: no standby moto ({e:#}); a restart will start one from nothing"
            ),
        }
    }

    /// Snapshots the state (so the next start only unpickles it) and ends moto.
    pub(crate) async fn stop(&self) {
        let tx = self.stop.lock().expect("stop lock").take();
        if let Some(tx) = tx {
            let (done_tx, done_rx) = oneshot::channel();
            if tx.send(done_tx).is_ok() {
                let _ = done_rx.await;
            }
        }
    }

    async fn shutdown(&self, child: &mut Child) {
        self.state.send_replace(MotoState::Stopping);
        // Dropping the standby kills it (kill_on_drop).
        drop(self.standby.lock().expect("standby lock").take());
        // Only a live moto can snapshot: with none, a call would wait in the socket's backlog (the
        // gateway holds it) until the timeout. A dead one's log already holds every write.
        let alive = matches!(child.try_wait(), Ok(None));
        if self.launch.state.is_some() && alive {
            let r = self.launcher(Method::POST, "snapshot", Duration::from_secs(60));
            if let Err(e) = r.await {
                eprintln!("lab local: no snapshot at stop ({e}); the log still holds every write");
            }
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
    }

    /// Waits until a moto answers (a restore happens before it serves), then turns off Docker for
    /// Lambda.
    async fn ready(&self, mut child: Child) -> anyhow::Result<Child> {
        self.pid.store(child.id().unwrap_or(0), Ordering::Relaxed);
        let ready = async {
            loop {
                if let Ok(r) = self.http.get(format!("{}/moto-api/config", self.base)).send().await
                {
                    if r.status().is_success() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            _ = ready => {}
            status = child.wait() => bail!(
                "moto exited while starting ({}): {} (see {})",
                status.map(|s| s.to_string()).unwrap_or_default(),
                last_line(&self.launch.log),
                self.launch.log.display()
            ),
            _ = tokio::time::sleep(Duration::from_secs(300)) => bail!("moto did not answer within 300 s"),
        }
        let r = self
            .http
            .post(format!("{}/moto-api/config", self.base))
            .json(&serde_json::json!({"lambda": {"use_docker": false}}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("moto refused its configuration: HTTP {}", r.status());
        }
        Ok(child)
    }

    /// Starts moto; a standby loads everything, then waits for "go" on its stdin.
    fn spawn(&self, standby: bool) -> anyhow::Result<Child> {
        use std::os::fd::AsRawFd;
        super::moto::spawn(&self.launch, self.listener.as_raw_fd(), standby)
    }

    /// `lab local status`'s supervision and persistence figures.
    pub(crate) async fn status(&self) -> serde_json::Value {
        // One consistent reading: state, restarts and the last restart change under this lock.
        let (state, restarts, last) = {
            let last = self.last.lock().expect("last lock");
            let state = match *self.state.borrow() {
                MotoState::Up => "up",
                MotoState::Restarting => "restarting",
                MotoState::Stopping => "stopping",
            };
            let doc = serde_json::json!({
                "at": last.at.map(dates::rfc3339),
                "at_epoch_ms": last.at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
                "exit": last.exit,
                "recovery_ms": last.recovery_ms,
                "error": last.error,
            });
            (state, self.restarts(), doc)
        };
        let persistence = match self.is_up() {
            true => self.info().await,
            false => serde_json::Value::Null,
        };
        serde_json::json!({
            "state": state,
            "pid": self.pid.load(Ordering::Relaxed),
            "restarts": restarts,
            "standby": match &*self.standby.lock().expect("standby lock") {
                Some(s) if s.ready.load(Ordering::Relaxed) => "ready",
                Some(_) => "starting",
                None => "none",
            },
            "last_restart": last,
            "persistence": persistence,
            "state_dir": self.launch.state,
        })
    }

    /// A call to the launcher's own endpoint `/_lab/{what}` (not moto's API).
    async fn launcher(
        &self,
        method: Method,
        what: &str,
        timeout: Duration,
    ) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}/_lab/{what}", self.base);
        self.http.request(method, url).timeout(timeout).send().await
    }

    /// The launcher's own figures (log position, sizes, last restore).
    async fn info(&self) -> serde_json::Value {
        match self.launcher(Method::GET, "info", Duration::from_secs(5)).await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// Empties moto and its log (`lab local reset`).
    pub(crate) async fn reset(&self) -> anyhow::Result<()> {
        let r = self
            .launcher(Method::POST, "reset", Duration::from_secs(120))
            .await
            .context("moto is not answering")?;
        if !r.status().is_success() {
            bail!("moto refused the reset: HTTP {}", r.status());
        }
        Ok(())
    }
}
