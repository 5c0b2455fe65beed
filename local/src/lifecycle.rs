//! Starting, serving, stopping, probing and emptying a local stack on a loopback port.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::cpu;
use super::dynamo::{DataPlane, Store};
use super::functions::Registry;
use super::gateway;
use super::iam::Iam;
use super::instance::Limits;
use super::memory;
use super::moto::{self, Moto};
use super::pool::Pool;
use super::state::{Parts, Shared};
use super::status_view;
use super::strict::{self, Rules};
use super::supervisor::{self, Launch, Supervisor};

/// The folder of the stack on `port`: pid file, logs, unpacked function code.
pub fn state_dir(port: u16) -> PathBuf {
    moto::lab_home().join(format!("local-{port}"))
}

fn pid_file(port: u16) -> PathBuf {
    state_dir(port).join("gateway.pid")
}

/// The stack's own log (the gateway's and the functions' lines).
pub fn log_file(port: u16) -> PathBuf {
    state_dir(port).join("gateway.log")
}

/// The endpoint URL of the stack on `port`.
pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain HTTP client builds")
}

/// The running stack's `/_lab/status`, if one answers on `port`.
pub async fn probe(port: u16) -> Option<serde_json::Value> {
    let r = http().get(format!("{}/_lab/status", endpoint(port))).send().await.ok()?;
    r.json().await.ok()
}

fn read_pid(port: u16) -> Option<i32> {
    std::fs::read_to_string(pid_file(port)).ok()?.trim().parse().ok()
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// How a local stack runs: what `lab local start` and `lab local serve` are given.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The loopback port of the gateway.
    pub port: u16,
    /// AWS's delays, state transitions and limits (strict mode).
    pub strict: bool,
    /// The factor strict mode's delays are scaled by (1.0 = AWS's own).
    pub time_scale: f64,
    /// The account-wide concurrency limit.
    pub concurrency: usize,
    /// IAM propagation delay for a new role, overriding strict mode's figure.
    pub iam_delay_ms: Option<u64>,
    /// The account's memory cap for functions in MB (strict mode).
    pub memory_cap: Option<u32>,
    /// CPU in proportion to memory, where cgroups allow.
    pub cpu_share: bool,
    /// Keep the state across crashes and restarts (write-ahead log and snapshots).
    pub persist: bool,
    /// Start empty: delete the state the previous run kept.
    pub fresh: bool,
    /// Which data plane serves DynamoDB's items: lab's own store, or moto.
    pub dynamodb: DataPlane,
    /// Evaluate IAM policies (strict mode only; `--iam off` turns it off).
    pub iam: bool,
    /// The operator's identity policy (`--operator-policy FILE`); without it the operator is an
    /// administrator.
    pub operator_policy: Option<std::path::PathBuf>,
}

/// What [`start`] found or did.
#[derive(Debug)]
pub enum Started {
    /// A stack already answered on the port; its status document.
    AlreadyRunning(serde_json::Value),
    /// A new stack started; its pid.
    Started(u32),
}

/// Starts the stack in the background: `serve` is the command that runs [`serve`] in the
/// foreground with `options` (the caller's own executable and flags); it is detached (own session)
/// with its output to the stack's log, and this returns once the stack answers.
/// `show_install` shows moto's first install as a spinner.
pub async fn start(
    options: &Options,
    mut serve: std::process::Command,
    show_install: bool,
) -> anyhow::Result<Started> {
    let port = options.port;
    if let Some(path) = &options.operator_policy {
        // A bad file is one line now, not a stack that dies in the background.
        crate::iam::read_policy(path)?;
    }
    if let Some(status) = probe(port).await {
        if options.fresh {
            bail!("the local stack on port {port} is running: empty it with lab local reset (or stop it, then start it with --fresh)");
        }
        return Ok(Started::AlreadyRunning(status));
    }
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!("port {port} on 127.0.0.1 is busy with something else (LocalStack?); stop it or pass --local-port");
    }
    tokio::task::spawn_blocking(move || moto::install(show_install)).await??;
    let dir = state_dir(port);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = std::fs::File::create(log_file(port))?;
    detach(&mut serve, log)?;
    let mut child = serve.spawn().context("cannot start lab local serve")?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if probe(port).await.is_some() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "the local stack exited at start ({status}): {}",
                log_tail(port, 5)
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "the local stack did not answer within 90 s: {}",
                log_tail(port, 5)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Started::Started(child.id()))
}

/// Detaches `cmd` from our terminal (own session, no stdin) and sends its output to `log`.
fn detach(cmd: &mut std::process::Command, log: std::fs::File) -> anyhow::Result<()> {
    cmd.stdin(std::process::Stdio::null()).stdout(log.try_clone()?).stderr(log);
    // SAFETY: setsid only detaches the child from our terminal session between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    Ok(())
}

fn log_tail(port: u16, n: usize) -> String {
    let text = std::fs::read_to_string(log_file(port)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// What [`stop`] found or did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Nothing ran on the port.
    NotRunning,
    /// The stack stopped.
    Stopped,
}

/// Stops the stack on `port` (SIGTERM, then SIGKILL after 10 s). Stopping a stopped stack is fine.
pub async fn stop(port: u16) -> anyhow::Result<Stopped> {
    let Some(pid) = read_pid(port).filter(|p| pid_alive(*p)) else {
        if probe(port).await.is_some() {
            bail!(
                "something answers on port {port} but it has no pid file in {}; stop it by hand",
                state_dir(port).display()
            );
        }
        let _ = std::fs::remove_file(pid_file(port));
        return Ok(Stopped::NotRunning);
    };
    // SAFETY: plain signals to a pid we started (read from our own pid file).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if pid_alive(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(pid_file(port));
    Ok(Stopped::Stopped)
}

/// Runs the gateway in the foreground until SIGINT/SIGTERM; moto runs under its supervisor.
pub async fn serve(args: &Options) -> anyhow::Result<()> {
    let port = args.port;
    // Bind first: a busy port must fail before anything else starts.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| {
        format!("port {port} on 127.0.0.1 is busy; stop what uses it or pass --local-port")
    })?;
    let dir = state_dir(port);
    std::fs::create_dir_all(&dir)?;
    if args.fresh {
        forget_state(port)?;
    }
    let supervisor = Supervisor::new(launch_for(&dir, args.persist)?)?;
    supervisor.start().await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let base = supervisor.base.clone();
    let (limits, cpu_mode, memory_mode) = limits_for(port, args.cpu_share);
    let dynamo = match (args.dynamodb, args.persist) {
        (DataPlane::Moto, _) => None,
        (DataPlane::Native, true) => Some(Arc::new(Store::open(&dir.join("dynamo"))?)),
        (DataPlane::Native, false) => Some(Arc::new(Store::memory())),
    };
    // A function's calls always pass the gateway: IAM authorises them (strict), the native store
    // serves their items, and their time is metered as the emulator's share (call_meter), which a
    // call straight to moto would hide.
    let function_endpoint = endpoint(port);
    let gw = Arc::new(Shared::new(Parts {
        function_endpoint,
        moto: Moto { base, http },
        registry: Registry::new(dir.join("functions")),
        pool: Pool::new(args.concurrency, limits.clone()),
        rules: Rules::new(strict::Config {
            enabled: args.strict,
            time_scale: args.time_scale,
            iam_delay: args.iam_delay_ms.map(Duration::from_millis),
            memory_cap_mb: args.memory_cap,
        }),
        iam: Iam::new(
            args.strict && args.iam,
            args.operator_policy.as_deref().map(crate::iam::read_policy).transpose()?,
            strict::AWS.policy_propagation.mul_f64(args.time_scale),
        ),
        cpu_mode: cpu_mode.clone(),
        memory_mode: memory_mode.clone(),
        supervisor: supervisor.clone(),
        dynamo: dynamo.clone(),
    }));
    std::fs::write(pid_file(port), std::process::id().to_string())?;
    eprintln!(
        "lab local: gateway on {} -> moto {} at {}; DynamoDB items: {}; state: {}; cpu: {cpu_mode}; memory: {memory_mode}; {}",
        endpoint(port),
        moto::MOTO_VERSION,
        supervisor.base,
        args.dynamodb.name(),
        if args.persist { "kept under LAB_HOME (write-ahead log and snapshots)" } else { "memory only (--persist false)" },
        status_view::strict_line(&gw.rules.status())
    );
    let app = gateway::router(gw.clone());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = tokio::select! {
        r = axum::serve(listener, app) => r.map_err(anyhow::Error::from),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    gw.pool.clear();
    // The log lines still queued (the writer batches a fifth of a second of them) go into moto's last
    // snapshot, as an acknowledged invocation's lines would on AWS; at most a few seconds.
    let _ = tokio::time::timeout(Duration::from_secs(5), gw.logs.flush()).await;
    if let Some(store) = &dynamo {
        // The item store's last snapshot, so the next start reads it instead of the log.
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.snapshot()).await {
            Ok(Err(e)) => eprintln!("lab local: the item store's last snapshot failed (its log keeps every write): {e:#}"),
            Err(e) => eprintln!("lab local: the item store's last snapshot failed: {e}"),
            Ok(Ok(())) => {}
        }
    }
    // A last snapshot, so the next start unpickles it instead of replaying the log.
    supervisor.stop().await;
    if limits.cpu_root.is_some() || limits.memory_root.is_some() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(root) = &limits.cpu_root {
        cpu::teardown(root);
    }
    if let Some((root, _)) = &limits.memory_root {
        memory::teardown(root);
    }
    let _ = std::fs::remove_file(pid_file(port));
    eprintln!("lab local: stopped");
    result
}

/// How moto runs: lab's launcher with moto's Python, durable under `dir/moto` unless `persist` is off.
fn launch_for(dir: &Path, persist: bool) -> anyhow::Result<Launch> {
    let server = moto::install(false)?;
    let script = dir.join("lab_moto.py");
    for (path, text) in [
        (script.clone(), supervisor::LAUNCHER),
        (dir.join("moto_state.py"), supervisor::STATE_MODULE),
    ] {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Launch {
        python: moto::python_for(&server)?,
        script,
        state: persist.then(|| dir.join("moto")),
        log: dir.join("moto.log"),
    })
}

/// The cgroups of this stack's instances, and a line on each for the status.
fn limits_for(port: u16, cpu_share: bool) -> (Limits, String, String) {
    let name = format!("lab-local-{port}");
    let (cpu_root, cpu_mode) = match (cpu_share, cpu::setup(&name)) {
        (false, _) => (None, "unthrottled (--cpu-share false)".to_string()),
        (true, Some((root, flavor))) => (
            Some(root),
            format!("proportional to memory via cgroup {flavor:?} (1769 MB = 1 vCPU)"),
        ),
        (true, None) => (
            None,
            "unthrottled: cpu cgroups are not writable here".to_string(),
        ),
    };
    let memory_root = memory::setup(&name);
    let memory_mode = match &memory_root {
        Some((_, flavor)) => format!(
            "enforced while the function runs via cgroup {flavor:?} (Runtime.OutOfMemory mid-call)"
        ),
        None => "checked after each call: memory cgroups are not writable here".to_string(),
    };
    let limits = Limits {
        cpu_root,
        memory_root,
    };
    (limits, cpu_mode, memory_mode)
}

/// Deletes what a stopped stack kept (moto's log and snapshot, the item store's, function code).
fn forget_state(port: u16) -> anyhow::Result<()> {
    let dir = state_dir(port);
    for sub in ["moto", "dynamo", "functions"] {
        let path = dir.join(sub);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot delete {}", path.display()))?;
        }
    }
    Ok(())
}

/// Empties the running stack on `port`, or the state a stopped one kept.
pub async fn reset(port: u16) -> anyhow::Result<()> {
    if probe(port).await.is_some() {
        let r = http()
            .post(format!("{}/_lab/reset", endpoint(port)))
            .timeout(Duration::from_secs(120))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "the local stack refused the reset: {}",
                r.text().await.unwrap_or_default()
            );
        }
    } else {
        forget_state(port)?;
    }
    Ok(())
}

/// Which of the limits the local stack sets through cgroups this machine allows: found by the
/// same probes a starting stack runs (a cgroup made, limited and, for memory, joined; then removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupLimits {
    /// A CPU share in proportion to memory (1769 MB = one vCPU).
    pub cpu: bool,
    /// A memory limit enforced while the function runs.
    pub memory: bool,
}

/// Probes this machine's cgroups as a starting stack would, leaving nothing behind.
pub fn cgroup_limits() -> CgroupLimits {
    let name = format!("lab-probe-{}", std::process::id());
    let cpu = cpu::setup(&name).map(|(root, _)| cpu::teardown(&root)).is_some();
    let memory = memory::setup(&name).map(|(root, _)| memory::teardown(&root)).is_some();
    CgroupLimits { cpu, memory }
}
