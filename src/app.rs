//! Wires the parsed command line to the commands: connection, stack, dispatch, exit code.

use std::sync::Arc;

use clap::CommandFactory;

use crate::aws::{Clients, Connection};
use crate::cli::{Cli, Command, Global, Output, UpArgs};
use crate::commands;
use crate::stack::{FunctionSettings, Names, Stack};
use crate::control::lambda::LambdaTarget;

/// Resolves where AWS is: the local stack (started on demand), an explicit endpoint, or the SDK's chain.
pub async fn connection(global: &Global) -> anyhow::Result<Connection> {
    let mut conn = Connection {
        region: global.region.clone(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
        dummy_credentials: false,
    };
    if global.local {
        let endpoint = crate::local::lifecycle::ensure_running(global).await?;
        conn.endpoint_url = Some(endpoint);
        conn.dummy_credentials = true;
    }
    Ok(conn)
}

/// Opens the stack named by `--stack` with the desired function settings.
pub async fn open_stack(global: &Global, up: Option<&UpArgs>) -> anyhow::Result<Stack> {
    let names = Names::new(&global.stack)?;
    let conn = connection(global).await?;
    let clients = Clients::connect(&conn).await?;
    let settings = up
        .map(|a| FunctionSettings {
            memory: a.memory,
            timeout: a.timeout,
            arch: a.arch.as_str().to_string(),
        })
        .unwrap_or_default();
    let mut stack = Stack::open(clients, names, settings).await?;
    stack.force = up.is_some_and(|a| a.force);
    Ok(stack)
}

/// The `list` event the tutorial tunes and load-tests with.
pub fn default_event(stack: &Stack) -> serde_json::Value {
    crate::call::event::list(&stack.names.table, None, None)
}

/// Local figures only mean something if CPU follows memory, as on Lambda: say whether it does.
pub async fn note_local_cpu(global: &Global) {
    if !global.local || global.output == Output::Json {
        return;
    }
    if let Some(status) = crate::local::lifecycle::probe(global.local_port).await {
        eprintln!(
            "local stack CPU: {}",
            status["cpu"].as_str().unwrap_or("unknown")
        );
    }
}

/// Runs one command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let global = cli.global;
    let json = global.output == Output::Json;
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lab", &mut std::io::stdout());
            Ok(0)
        }
        Command::Local(args) => crate::local::lifecycle::command(args.action, &global).await,
        Command::Up(args) => {
            let source = commands::up::PackageSource::prepare(&args)?;
            let stack = open_stack(&global, Some(&args)).await?;
            commands::up::run(&stack, source, global.output).await?;
            Ok(0)
        }
        Command::Status(args) => {
            let stack = open_stack(&global, Some(&args)).await?;
            let sha = match (&args.zip, &args.bootstrap) {
                (Some(zip), _) => {
                    Some(crate::package::from_zip(zip, args.arch.as_str())?.sha256_b64)
                }
                (_, Some(bin)) => Some(crate::package::zip_bootstrap(bin)?.sha256_b64),
                _ => None,
            };
            let report = commands::status::collect(&stack, sha.as_deref()).await?;
            commands::status::print(&report, global.output)?;
            Ok(report.exit_code())
        }
        Command::Down(args) => {
            let mut stack = open_stack(&global, None).await?;
            stack.force = args.force;
            commands::down::run(&stack, &args, global.output).await?;
            Ok(0)
        }
        Command::Call(args) => {
            let stack = open_stack(&global, None).await?;
            commands::call::run(&stack, &args, global.output, global.verbose).await?;
            Ok(0)
        }
        Command::Invoke(args) => {
            let stack = open_stack(&global, None).await?;
            commands::invoke::run(&stack, args, global.output, global.verbose).await
        }
        Command::Tune(args) => {
            let stack = open_stack(&global, None).await?;
            note_local_cpu(&global).await;
            let target = Arc::new(LambdaTarget::new(
                stack.clients.lambda.clone(),
                &stack.names.function,
            ));
            crate::tune::run(&args, target, stack.region(), default_event(&stack), json).await?;
            Ok(0)
        }
        Command::Load(args) => {
            // A plain URL needs no AWS at all, unless memory sizes or Lambda Invoke are asked for.
            let needs_stack = args.url.is_none()
                || args.memory.is_some()
                || args.via == crate::load::args::Via::Lambda;
            if !needs_stack {
                let url = args.url.clone().unwrap_or_default();
                let table = Names::new(&global.stack)?.table;
                crate::load::run(&args, url, None, &table, json).await?;
                return Ok(0);
            }
            let stack = open_stack(&global, None).await?;
            note_local_cpu(&global).await;
            let target = Arc::new(LambdaTarget::new(
                stack.clients.lambda.clone(),
                &stack.names.function,
            ));
            let url = match (&args.url, crate::stack::api::find_id(&stack).await?) {
                (Some(url), _) => url.clone(),
                (None, Some(id)) => stack.invoke_url(&id),
                (None, None) => anyhow::bail!(
                    "stack {} has no REST API; run lab up first (or pass --url)",
                    stack.names.stack
                ),
            };
            crate::load::run(&args, url, Some(target), &stack.names.table, json).await?;
            Ok(0)
        }
        Command::Tutorial(args) => commands::tutorial::run(&global, &args).await,
    }
}
