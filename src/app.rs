//! Dispatches a parsed command line to its verb in [`crate::commands`]; every verb returns the
//! [`Exit`] the process ends with.

use crate::cli::{Cli, Command};
use crate::commands;
use crate::exit::Exit;
use crate::output::Output;

/// The async runtime `cli`'s command runs on. An open-model `lab load` (`--rate`) runs on one
/// thread: its VUs sit idle between arrivals, and on a multi-thread runtime every arrival woke a
/// second worker for the VU the clock handed it to (a futex and two context switches). One thread
/// takes each wake-up in its own `epoll_wait`, for a sixth less CPU per request at 33,900 arrivals a
/// second on two cores (`scripts/bench-load.sh` sets it against oha's). Everything else, the closed
/// model (whose VUs never idle, and which needs both cores for its 90k+ requests a second) and the
/// local stack included, runs on the multi-thread runtime.
pub fn runtime_for(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    match &cli.command {
        Command::Load(args) if args.rate.is_some() => {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        }
        _ => tokio::runtime::Runtime::new(),
    }
}

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
