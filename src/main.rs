//! The `lab` command: parses the command line and runs it on a Tokio runtime (see `lab::app`).

use clap::Parser;

fn main() {
    let cli = lab::cli::Cli::parse();
    let runtime = match lab::app::runtime_for(&cli) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let exit = match runtime.block_on(lab::app::run(cli)) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {e:#}");
            lab::exit::Exit::of_error(&e)
        }
    };
    std::process::exit(exit.code());
}
