//! `lab completions SHELL`: shell completions from the clap definition.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes `shell`'s completion script for `lab` to stdout. A reader that closes the pipe early
/// (`lab completions bash | head`) ends the command quietly, as for any other Unix filter; clap
/// writing straight to stdout would panic there.
pub(crate) fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lab", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
