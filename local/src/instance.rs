//! One execution environment: a runtime process (`bootstrap`, or a managed runtime's client), its own Runtime API listener, its log lines,
//! and its CPU share.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use axum::body::Bytes;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::call_meter::Meter;
use super::capture::{read_lines, Capture};
use super::cgroup::Flavor;
use super::cpu::CpuShare;
use super::dates;
use super::functions::FunctionConfig;
use super::memory::{self, MemoryLimit};
use super::proc_files::ProcFile;
use super::runtime_api::{self, Job, Outcome, RuntimeState};
use super::runtimes::{self, Launch};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How an invocation on an instance ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The runtime answered (response or error).
    Done(Outcome),
    /// The function ran past its timeout; the instance was killed.
    TimedOut,
    /// The process exited (crash, OOM, `exit`): the instance is gone.
    Exited(String),
}

/// Timings and resources of one invocation, for the REPORT line.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    /// From the runtime taking the event to its answer.
    pub(crate) duration: Duration,
    /// The process's start-up to its first `/next`, on a cold start.
    pub(crate) init: Option<Duration>,
    /// Peak resident memory, MB.
    pub(crate) max_memory_mb: u64,
}

/// A running instance.
pub(crate) struct Instance {
    /// The configuration it was started with ([`FunctionConfig::fingerprint`]).
    pub(crate) fingerprint: String,
    /// The CloudWatch Logs stream its output goes to.
    pub(crate) log_stream: String,
    kill: Option<oneshot::Sender<()>>,
    pid: u32,
    /// Its `/proc/<pid>/status`, kept open: read at every invocation's end for Max Memory Used.
    status: Option<ProcFile>,
    jobs: mpsc::Sender<Job>,
    state: Arc<RuntimeState>,
    exited: watch::Receiver<Option<String>>,
    output: Arc<Capture>,
    server: JoinHandle<()>,
    spawned: Instant,
    ready: Option<oneshot::Receiver<Instant>>,
    /// A cold start's init, once it ended (its first `/next`), until its invocation reports it.
    init: Option<Duration>,
    cpu: Option<CpuShare>,
    /// The memory cgroup that stops the instance at its memory size, where the machine allows.
    memory: Option<MemoryLimit>,
    /// Time the gateway spent on this instance's own AWS calls.
    pub(crate) calls: Meter,
}

/// The cgroups instances go into: CPU share and memory limit, each where the machine allows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// The parent cpu cgroup, when CPU follows memory.
    pub(crate) cpu_root: Option<PathBuf>,
    /// The parent memory cgroup and its interface, when memory is enforced while functions run.
    pub(crate) memory_root: Option<(PathBuf, Flavor)>,
}

impl Instance {
    /// Starts the function's runtime (its `bootstrap`, or a managed runtime's interface client) in
    /// `code_dir`, with the function's env, memory and a Runtime API of its own.
    pub(crate) async fn start(
        config: &FunctionConfig,
        code_dir: &Path,
        aws_endpoint: &str,
        limits: &Limits,
    ) -> anyhow::Result<Self> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let api = runtime_api::serve().await?;
        let log_stream = format!("{}/[$LATEST]{id:032x}", dates::utc_date());
        let (cpu, memory) = prepare_cgroups(limits, id, config.memory_mb);
        let calls = Meter::register(id);
        let env = RuntimeEnv {
            api_addr: api.addr.to_string(),
            log_stream: &log_stream,
            aws_endpoint,
            session_token: calls.token(),
        };
        let cgroups = [
            cpu.as_ref().map(CpuShare::procs),
            memory.as_ref().map(MemoryLimit::procs),
        ];
        // Before the clock starts: a first use installs the runtime's interface client, which is
        // no part of the function's init.
        let launch = runtimes::launch(config, code_dir).await?;
        let mut cmd = runtime_command(config, code_dir, &launch, &env, cgroups);
        let spawned = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", launch.program.display()))?;
        let pid = child.id().unwrap_or_default();
        let output = capture_output(&mut child);
        if let Some(note) = launch.note {
            output.push(note);
        }
        let (kill, exited) = own_process(child);
        Ok(Self {
            fingerprint: config.fingerprint.clone(),
            log_stream,
            kill: Some(kill),
            pid,
            status: ProcFile::open(format!("/proc/{pid}/status")).ok(),
            jobs: api.jobs,
            state: api.state,
            exited,
            output,
            server: api.server,
            spawned,
            ready: Some(api.ready),
            init: None,
            cpu,
            memory,
            calls,
        })
    }

    /// On a cold start, waits for init to end (the first `/next`; or the process's exit, or 10 s
    /// plus the function's timeout), then gives the instance its memory's share of a CPU: Lambda
    /// runs INIT on two vCPUs (see `cpu::init_quota_us`). An init that did not end leaves the
    /// invocation to find out why; a warm instance's ended long ago.
    pub(crate) async fn finish_init(&mut self, timeout_s: u32) {
        let Some(ready) = self.ready.take() else {
            return;
        };
        let mut exited = self.exited.clone();
        let limit = Duration::from_secs(10 + u64::from(timeout_s.max(1)));
        let ended = tokio::select! {
            at = ready => at.ok(),
            _ = exited.wait_for(|e| e.is_some()) => None,
            _ = tokio::time::sleep(limit) => None,
        };
        if let Some(cpu) = &self.cpu {
            // A quota that cannot be lowered leaves init's: say so in the stack's log.
            if let Err(e) = cpu.settle() {
                eprintln!(
                    "lab local: cannot set instance {}'s CPU share: {e}",
                    self.pid
                );
            }
        }
        self.init = ended.map(|at| at.saturating_duration_since(self.spawned));
    }

    /// The process id of the `bootstrap`.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// True while the process runs.
    pub(crate) fn alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// Runs one invocation to its end: response, error, timeout (kills the instance) or exit.
    pub(crate) async fn invoke(
        &mut self,
        request_id: &str,
        payload: Bytes,
        config: &FunctionConfig,
    ) -> (Ended, Measured) {
        let timeout = Duration::from_secs(config.timeout_s.max(1) as u64);
        let (reply_tx, reply_rx) = oneshot::channel();
        let (delivered_tx, delivered_rx) = oneshot::channel();
        let job = Job {
            request_id: request_id.to_string(),
            payload,
            deadline: SystemTime::now() + timeout,
            function_arn: config.arn.clone(),
            reply: reply_tx,
            delivered: delivered_tx,
        };
        // Init runs before the event is handed over, so it never counts in the Duration (a no-op
        // when the caller already waited for it).
        self.finish_init(config.timeout_s).await;
        let queued = Instant::now();
        let init = self.init.take();
        let mut exited = self.exited.clone();
        let sent = self.jobs.send(job).await.is_ok();
        let ended = if !sent {
            Ended::Exited("runtime API closed".into())
        } else {
            // An init that did not end (hung past its 10 s) gets the invocation's timeout too, as
            // Lambda's on-demand init does.
            let deadline = tokio::time::Instant::now() + timeout;
            tokio::select! {
                r = reply_rx => match r {
                    Ok(outcome) => Ended::Done(outcome),
                    Err(_) => Ended::Exited("runtime dropped the invocation".into()),
                },
                _ = tokio::time::sleep_until(deadline) => Ended::TimedOut,
                how = exited.wait_for(|e| e.is_some()) => {
                    let how = how.ok().and_then(|v| v.clone()).unwrap_or_default();
                    match self.state.init_error.lock().expect("init lock").clone() {
                        Some((ty, _)) => Ended::Exited(format!("{how} ({ty})")),
                        None => Ended::Exited(how),
                    }
                }
            }
        };
        let finished = Instant::now();
        let started = delivered_rx_value(delivered_rx).unwrap_or(queued);
        let duration = finished.saturating_duration_since(started);
        // Read the peak before a kill: a process that is gone has no /proc entry.
        let max_memory_mb = self.max_memory_mb();
        if matches!(ended, Ended::TimedOut) {
            self.kill();
        }
        let measured = Measured {
            duration,
            init,
            max_memory_mb,
        };
        (ended, measured)
    }

    /// Log lines printed since the last call (bounded: see [`Capture`]), once the readers have
    /// taken from the pipes what the process wrote before it answered.
    pub(crate) async fn take_lines(&self) -> Vec<String> {
        self.output.caught_up(Duration::from_millis(100)).await;
        self.output.take()
    }

    /// True when the memory cgroup enforces the function's memory size while it runs.
    pub(crate) fn memory_enforced(&self) -> bool {
        self.memory.is_some()
    }

    /// Whether the kernel stopped this instance for going past its memory size.
    pub(crate) fn out_of_memory(&self) -> bool {
        self.memory.as_ref().is_some_and(MemoryLimit::oom_killed)
    }

    /// Peak resident memory (VmHWM) in MB, rounded up, as Lambda's "Max Memory Used".
    fn max_memory_mb(&self) -> u64 {
        self.status
            .as_ref()
            .and_then(|status| status.kb_of("VmHWM:"))
            .map(|kb| kb.div_ceil(1024))
            .unwrap_or(0)
    }

    /// Kills the process and its listener.
    pub(crate) fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.server.abort();
    }
}

fn delivered_rx_value(mut rx: oneshot::Receiver<Instant>) -> Option<Instant> {
    rx.try_recv().ok()
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Keeps the process's stdout and stderr, line by line, as they come.
fn capture_output(child: &mut Child) -> Arc<Capture> {
    let output = Arc::new(Capture::default());
    if let Some(stdout) = child.stdout.take() {
        output.follow(stdout.as_fd());
        let output = output.clone();
        tokio::spawn(async move { read_lines(stdout, &output).await });
    }
    if let Some(stderr) = child.stderr.take() {
        output.follow(stderr.as_fd());
        let output = output.clone();
        tokio::spawn(async move { read_lines(stderr, &output).await });
    }
    output
}

/// Hands the process to a task that reaps it when it exits, or kills it when asked: the sender
/// asks, the receiver says how it ended once it has.
fn own_process(mut child: Child) -> (oneshot::Sender<()>, watch::Receiver<Option<String>>) {
    let (exit_tx, exited) = watch::channel(None);
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let how = tokio::select! {
            status = child.wait() => match status {
                Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                    (Some(code), _) => format!("exit status {code}"),
                    (None, Some(sig)) => format!("signal: {sig}"),
                    _ => "exited".to_string(),
                },
                Err(e) => format!("wait failed: {e}"),
            },
            _ = kill_rx => {
                let _ = child.kill().await;
                "killed".to_string()
            }
        };
        let _ = exit_tx.send(Some(how));
    });
    (kill_tx, exited)
}

/// What an instance's runtime is told besides the function's configuration.
struct RuntimeEnv<'a> {
    api_addr: String,
    log_stream: &'a str,
    aws_endpoint: &'a str,
    /// The session token naming the instance (its calls are metered by it).
    session_token: String,
}

/// The runtime's process (the zip's `bootstrap`, or a managed runtime's interface client): Lambda's
/// environment variables (and none of the host's), its output piped, and the cgroups it joins
/// between fork and exec.
fn runtime_command(
    config: &FunctionConfig,
    code_dir: &Path,
    launch: &Launch,
    env: &RuntimeEnv,
    cgroups: [Option<PathBuf>; 2],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&launch.program);
    cmd.args(&launch.args);
    // A clean environment: the host's variables (and any secrets in them) never reach the function.
    cmd.env_clear()
        .current_dir(code_dir)
        .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("LAMBDA_TASK_ROOT", code_dir)
        .env("_HANDLER", &config.handler)
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_RUNTIME_API", &env.api_addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", env.log_stream)
        .env("AWS_REGION", &config.region)
        .env("AWS_DEFAULT_REGION", &config.region)
        // Credentials that name the function, so the gateway authorises its calls against its
        // execution role (strict mode's IAM), as Lambda's role session does.
        .env(
            "AWS_ACCESS_KEY_ID",
            crate::iam::function_key(&config.region, &config.name),
        )
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_SESSION_TOKEN", &env.session_token)
        .env("AWS_ENDPOINT_URL", env.aws_endpoint)
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let joins: Vec<std::ffi::CString> = cgroups
        .into_iter()
        .flatten()
        .filter_map(|p| std::ffi::CString::new(p.into_os_string().into_encoded_bytes()).ok())
        .collect();
    // SAFETY: prctl and memory::join (open, write, close) are async-signal-safe; the paths were
    // built before the fork. Joining before exec means nothing the function allocates escapes.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            for procs in &joins {
                memory::join(procs)?;
            }
            Ok(())
        });
    }
    cmd
}

/// The cgroups of a new instance, each where the machine allows (none is an error: the instance
/// then runs without that limit, as the stack's status says).
fn prepare_cgroups(
    limits: &Limits,
    id: u64,
    memory_mb: u32,
) -> (Option<CpuShare>, Option<MemoryLimit>) {
    let cpu = limits
        .cpu_root
        .as_deref()
        .and_then(|root| CpuShare::prepare(root, id, memory_mb).ok());
    let memory = limits
        .memory_root
        .as_ref()
        .and_then(|(root, flavor)| MemoryLimit::prepare(root, *flavor, id, memory_mb).ok());
    (cpu, memory)
}
