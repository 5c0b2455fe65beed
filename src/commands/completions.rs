//! `lab completions SHELL`: shell completions from the clap definition.

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes `shell`'s completion script for `lab` to stdout.
pub(crate) fn run(shell: clap_complete::Shell) {
    clap_complete::generate(shell, &mut Cli::command(), "lab", &mut std::io::stdout());
}
