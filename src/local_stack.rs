//! lab's side of the embedded local AWS (the `lab-local` crate): its options from the command line,
//! the command that serves it in the background, and starting it on demand for `--local`.

use crate::cli::{Global, LocalStartArgs};
use crate::output::Output;

/// The local stack's options from the global flags and `lab local start`'s.
pub(crate) fn options(global: &Global, args: &LocalStartArgs) -> lab_local::Options {
    lab_local::Options {
        port: global.local_port,
        strict: global.strict,
        time_scale: global.time_scale,
        concurrency: args.concurrency,
        iam_delay_ms: args.iam_delay_ms,
        memory_cap: args.memory_cap,
        cpu_share: args.cpu_share,
        persist: args.persist,
        fresh: args.fresh,
        dynamodb: match args.dynamodb.as_str() {
            "moto" => lab_local::DataPlane::Moto,
            _ => lab_local::DataPlane::Native,
        },
        iam: args.iam == crate::cli::Switch::On,
        operator_policy: args.operator_policy.clone(),
    }
}

/// `lab local serve` with `options` as flags: what `lab local start` runs in the background.
pub(crate) fn serve_command(options: &lab_local::Options) -> anyhow::Result<std::process::Command> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the lab executable: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["local", "serve", "--local-port", &options.port.to_string()])
        .args(["--concurrency", &options.concurrency.to_string()])
        .args(["--cpu-share", &options.cpu_share.to_string()])
        .args(["--persist", &options.persist.to_string()])
        .args(["--dynamodb", options.dynamodb.name()])
        .args(["--time-scale", &options.time_scale.to_string()]);
    if let Some(ms) = options.iam_delay_ms {
        cmd.args(["--iam-delay-ms", &ms.to_string()]);
    }
    if let Some(cap) = options.memory_cap {
        cmd.args(["--memory-cap", &cap.to_string()]);
    }
    if options.strict {
        cmd.arg("--strict");
    }
    if !options.iam {
        cmd.args(["--iam", "off"]);
    }
    if let Some(path) = &options.operator_policy {
        // Absolute: the server runs from its own directory.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        cmd.arg("--operator-policy").arg(path);
    }
    if options.fresh {
        cmd.arg("--fresh");
    }
    // The child reads its flags, not the environment we were started with.
    cmd.env_remove("LAB_LOCAL_STRICT");
    cmd.env_remove("LAB_LOCAL_OPERATOR_POLICY");
    Ok(cmd)
}

/// Starts the stack with `args` unless one answers; says what happened on stderr (text output).
pub(crate) async fn start(global: &Global, args: &LocalStartArgs) -> anyhow::Result<()> {
    let options = options(global, args);
    let text = global.output == Output::Text;
    let show_install = text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let endpoint = lab_local::endpoint(options.port);
    match lab_local::start(&options, serve_command(&options)?, show_install).await? {
        lab_local::Started::AlreadyRunning(status) if text => eprintln!(
            "The local stack is already running on {endpoint} (pid {}).",
            status["pid"]
        ),
        lab_local::Started::Started(pid) if text => {
            eprintln!("Local stack running on {endpoint} (pid {pid}).")
        }
        _ => {}
    }
    Ok(())
}

/// Starts the stack in the background unless it runs; returns its endpoint. A running stack is
/// used as it is: asking for `--strict` of a lenient one is said, not silently ignored.
pub(crate) async fn ensure_running(global: &Global) -> anyhow::Result<String> {
    let port = global.local_port;
    let endpoint = lab_local::endpoint(port);
    if let Some(status) = lab_local::probe(port).await {
        let running_strict = status["strict"]["enabled"].as_bool().unwrap_or(false);
        if global.strict && !running_strict && global.output == Output::Text {
            eprintln!("note: the local stack on port {port} runs without --strict; restart it to get strict mode (lab local stop && lab local start --strict)");
        }
        return Ok(endpoint);
    }
    if global.output == Output::Text {
        eprintln!("Starting the local stack on {endpoint} ...");
    }
    start(global, &LocalStartArgs::default()).await?;
    Ok(endpoint)
}
