//! Dispatches a parsed command line to its verb in [`crate::commands`]; every verb returns the
//! [`Exit`] the process ends with.

use crate::cli::{Cli, Command};
use crate::commands;
use crate::exit::Exit;
use crate::output::Output;

/// Runs one command; an error becomes its exit code in `main` ([`Exit::of_error`]).
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = cli.global;
    let json = global.output == Output::Json;
    match cli.command {
        Command::Completions { shell } => {
            commands::completions::run(shell)?;
            Ok(Exit::Success)
        }
        Command::Local(args) => commands::local::run(args.action, &global).await,
        Command::Up(args) => commands::up::command(&global, &args).await,
        Command::Status(args) => commands::status::command(&global, &args).await,
        Command::Down(args) => commands::down::command(&global, &args).await,
        Command::Call(args) => commands::call::command(&global, &args).await,
        Command::Invoke(args) => commands::invoke::command(&global, args).await,
        Command::Tune(args) => commands::tune::command(&global, &args, json).await,
        Command::Load(args) => commands::load::run(&global, &args, json).await,
        Command::Policy(args) => commands::policy::command(&global, &args).await,
        Command::Tutorial(args) => commands::tutorial::run(&global, &args).await,
    }
}
