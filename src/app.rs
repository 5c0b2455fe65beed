//! Wires the parsed command line to the commands: dispatch and exit code. Where AWS is and which
//! stack to open live in [`crate::session`], which commands use too.

use clap::CommandFactory;

use crate::cli::{Cli, Command, Output};
use crate::commands;
use crate::session::{default_event, note_local_cpu, open_stack};
use crate::stack::Names;

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
                (Some(zip), _) => Some(crate::package::from_zip(zip, args.arch)?.sha256_b64),
                (_, Some(bin)) => {
                    let local = stack.clients.endpoint_url.is_some();
                    let deflate = crate::package::Deflate::for_local(local);
                    Some(crate::package::zip_bootstrap(bin, deflate)?.sha256_b64)
                }
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
            crate::tune::command(&stack, &args, default_event(&stack), json).await
        }
        Command::Load(args) => {
            // A plain URL needs no AWS at all, unless memory sizes or Lambda Invoke are asked for.
            let needs_stack = args.url.is_none()
                || args.memory.is_some()
                || args.workers.is_some()
                || args.via == crate::call::Via::Lambda;
            if !needs_stack {
                let url = args.url.clone().unwrap_or_default();
                let table = Names::new(&global.stack)?.table;
                let result = crate::load::run(&args, url, None, &table, json).await?;
                return Ok(result.exit_code());
            }
            let stack = open_stack(&global, None).await?;
            note_local_cpu(&global).await;
            let url = match (&args.url, crate::stack::api::find_id(&stack).await?) {
                (Some(url), _) => url.clone(),
                (None, Some(id)) => stack.invoke_url(&id),
                (None, None) => anyhow::bail!(
                    "stack {} has no REST API; run lab up first (or pass --url)",
                    stack.names.stack
                ),
            };
            // Exit 1 when a --threshold failed (the results are printed either way).
            let result = crate::load::run_on_stack(&args, url, &stack, json).await?;
            Ok(result.exit_code())
        }
        Command::Tutorial(args) => commands::tutorial::run(&global, &args).await,
    }
}
