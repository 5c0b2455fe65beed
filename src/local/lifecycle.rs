//! `lab local start|stop|status|logs|serve`, and starting the stack on demand for `--local`.

use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::cpu;
use super::functions::Registry;
use super::gateway::{self, Gateway};
use super::moto::{self, Moto};
use super::pool::Pool;
use super::strict::{self, Rules};
use crate::cli::{Global, LocalAction, LocalStartArgs, Output};

/// The folder of the stack on `port`: pid file, logs, unpacked function code.
pub fn state_dir(port: u16) -> PathBuf {
    moto::lab_home().join(format!("local-{port}"))
}

fn pid_file(port: u16) -> PathBuf {
    state_dir(port).join("gateway.pid")
}

fn log_file(port: u16) -> PathBuf {
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
    let r = http()
        .get(format!("{}/_lab/status", endpoint(port)))
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

fn read_pid(port: u16) -> Option<i32> {
    std::fs::read_to_string(pid_file(port))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Starts the stack in the background unless it runs; returns its endpoint. A running stack is
/// used as it is: asking for `--strict` of a lenient one is said, not silently ignored.
pub async fn ensure_running(global: &Global) -> anyhow::Result<String> {
    let port = global.local_port;
    if let Some(status) = probe(port).await {
        let running_strict = status["strict"]["enabled"].as_bool().unwrap_or(false);
        if global.strict && !running_strict && global.output == Output::Text {
            eprintln!("note: the local stack on port {port} runs without --strict; restart it to get strict mode (lab local stop && lab local start --strict)");
        }
        return Ok(endpoint(port));
    }
    if global.output == Output::Text {
        eprintln!("Starting the local stack on {} ...", endpoint(port));
    }
    start(global, &LocalStartArgs::default()).await?;
    Ok(endpoint(port))
}

/// Starts `lab local serve` detached (own session, output to the log) and waits until it answers.
pub async fn start(global: &Global, args: &LocalStartArgs) -> anyhow::Result<()> {
    let (port, output) = (global.local_port, global.output);
    if let Some(status) = probe(port).await {
        if output == Output::Text {
            eprintln!(
                "The local stack is already running on {} (pid {}).",
                endpoint(port),
                status["pid"]
            );
        }
        return Ok(());
    }
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!("port {port} on 127.0.0.1 is busy with something else (LocalStack?); stop it or pass --local-port");
    }
    let show = output == Output::Text && std::io::stderr().is_terminal();
    tokio::task::spawn_blocking(move || moto::install(show)).await??;
    let dir = state_dir(port);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = std::fs::File::create(log_file(port))?;
    let exe = std::env::current_exe().context("cannot find the lab executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["local", "serve", "--local-port", &port.to_string()])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--cpu-share", &args.cpu_share.to_string()])
        .args(["--time-scale", &global.time_scale.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid only detaches the child from our terminal session between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    if let Some(ms) = args.iam_delay_ms {
        cmd.args(["--iam-delay-ms", &ms.to_string()]);
    }
    if let Some(cap) = args.memory_cap {
        cmd.args(["--memory-cap", &cap.to_string()]);
    }
    if global.strict {
        cmd.arg("--strict");
    }
    // The child reads its flags, not the environment we were started with.
    cmd.env_remove("LAB_LOCAL_STRICT");
    let mut child = cmd.spawn().context("cannot start lab local serve")?;
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
    if output == Output::Text {
        eprintln!(
            "Local stack running on {} (pid {}).",
            endpoint(port),
            child.id()
        );
    }
    Ok(())
}

fn log_tail(port: u16, n: usize) -> String {
    let text = std::fs::read_to_string(log_file(port)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Stops the stack on `port` (SIGTERM, then SIGKILL after 10 s). Stopping a stopped stack is fine.
pub async fn stop(port: u16, output: Output) -> anyhow::Result<()> {
    let Some(pid) = read_pid(port).filter(|p| pid_alive(*p)) else {
        if probe(port).await.is_some() {
            bail!(
                "something answers on port {port} but it has no pid file in {}; stop it by hand",
                state_dir(port).display()
            );
        }
        if output == Output::Text {
            eprintln!("The local stack on port {port} is not running.");
        }
        let _ = std::fs::remove_file(pid_file(port));
        return Ok(());
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
    if output == Output::Text {
        eprintln!("Local stack on port {port} stopped.");
    }
    Ok(())
}

/// Runs the gateway in the foreground until SIGINT/SIGTERM or until moto dies.
pub async fn serve(global: &Global, args: &LocalStartArgs) -> anyhow::Result<()> {
    let port = global.local_port;
    // Bind first: a busy port must fail before anything else starts.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("port {port} on 127.0.0.1 is busy; stop what uses it or pass --local-port")
        })?;
    let dir = state_dir(port);
    std::fs::create_dir_all(&dir)?;
    let server = moto::install(false)?;
    let moto_port = moto::free_port()?;
    let mut moto_child = moto::spawn(&server, moto_port, &dir.join("moto.log")).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let base = format!("http://127.0.0.1:{moto_port}");
    moto::configure(&http, &base).await?;
    let cgroup_name = format!("lab-local-{port}");
    let (cpu_root, cpu_mode) = match (args.cpu_share, cpu::setup(&cgroup_name)) {
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
    let registry = Registry::new(dir.join("functions"));
    let pool = Pool::new(args.concurrency, cpu_root.clone());
    let gw = Arc::new(Gateway::new(
        Moto { base, http },
        registry,
        pool,
        Rules::new(strict::Config {
            enabled: global.strict,
            time_scale: global.time_scale,
            iam_delay: args.iam_delay_ms.map(Duration::from_millis),
            memory_cap_mb: args.memory_cap,
        }),
        cpu_mode.clone(),
    ));
    std::fs::write(pid_file(port), std::process::id().to_string())?;
    eprintln!(
        "lab local: gateway on {} -> moto {} on port {moto_port}; cpu: {cpu_mode}; {}",
        endpoint(port),
        moto::MOTO_VERSION,
        strict_line(&gw.rules.status())
    );
    let app = gateway::router(gw.clone());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = tokio::select! {
        r = axum::serve(listener, app) => r.map_err(anyhow::Error::from),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
        status = moto_child.wait() => Err(anyhow::anyhow!(
            "moto exited ({}); the local stack stops with it. Start it again with lab local start (its state is gone: run lab up again)",
            status.map(|s| s.to_string()).unwrap_or_default()
        )),
    };
    gw.pool.clear();
    let _ = moto_child.start_kill();
    if let Some(root) = cpu_root {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cpu::teardown(&root);
    }
    let _ = std::fs::remove_file(pid_file(port));
    eprintln!("lab local: stopped");
    result
}

/// One line on strict mode: on or off, the time scale, the cap, and what it refused so far.
fn strict_line(strict: &serde_json::Value) -> String {
    if strict["enabled"].as_bool() != Some(true) {
        return "strict: off (moto's lenient answers; start with --strict for AWS's delays and limits)"
            .to_string();
    }
    let refused: Vec<String> = strict["refusals"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "strict: on, time scale {}{}; refused so far: {}",
        strict["time_scale"],
        strict["memory_cap_mb"]
            .as_u64()
            .map(|c| format!(", memory cap {c} MB"))
            .unwrap_or_default(),
        if refused.is_empty() {
            "nothing".to_string()
        } else {
            refused.join(", ")
        }
    )
}

/// Dispatches `lab local ...`.
pub async fn command(action: LocalAction, global: &Global) -> anyhow::Result<i32> {
    let port = global.local_port;
    match action {
        LocalAction::Start(args) => {
            start(global, &args).await?;
            if global.output == Output::Json {
                crate::output::print_json(&probe(port).await)?;
            }
            Ok(0)
        }
        LocalAction::Serve(args) => {
            serve(global, &args).await?;
            Ok(0)
        }
        LocalAction::Stop => {
            stop(port, global.output).await?;
            Ok(0)
        }
        LocalAction::Status => {
            let status = probe(port).await;
            if global.output == Output::Json {
                let mut doc = status.clone().unwrap_or_else(|| serde_json::json!({}));
                doc["running"] = serde_json::json!(status.is_some());
                doc["endpoint"] = serde_json::json!(endpoint(port));
                crate::output::print_json(&doc)?;
            } else if let Some(s) = &status {
                println!("running on {} (pid {})", endpoint(port), s["pid"]);
                println!(
                    "moto {} at {}",
                    s["moto_version"].as_str().unwrap_or(""),
                    s["moto"].as_str().unwrap_or("")
                );
                println!(
                    "uptime {} s; concurrency limit {}; busy {}; idle instances {}",
                    s["uptime_s"], s["concurrency_limit"], s["busy"], s["idle_instances"]
                );
                println!("cpu: {}", s["cpu"].as_str().unwrap_or(""));
                println!("{}", strict_line(&s["strict"]));
                println!("state and logs: {}", state_dir(port).display());
            } else {
                println!("not running (start it with: lab local start)");
            }
            Ok(if status.is_some() { 0 } else { 3 })
        }
        LocalAction::Logs { follow } => {
            let path = log_file(port);
            let mut file = std::fs::File::open(&path).with_context(|| {
                format!("no log at {}: has the local stack run?", path.display())
            })?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            print!("{text}");
            if follow {
                let mut pos = file.stream_position()?;
                loop {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let mut f = std::fs::File::open(&path)?;
                    f.seek(SeekFrom::Start(pos))?;
                    let mut more = String::new();
                    f.read_to_string(&mut more)?;
                    pos += more.len() as u64;
                    print!("{more}");
                }
            }
            Ok(0)
        }
    }
}
