//! The process's exit code, decided in one place: every command returns an [`Exit`], and an error
//! becomes one through [`Exit::of_error`] (a signal's [`Interrupted`] is 128 + its number, as a
//! shell reports it; any other error is 1).

/// What the process tells its caller, as a shell script branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done as asked.
    Success,
    /// 1: an error, a function error, or a failed `--threshold`.
    Failure,
    /// 2: the stack does not exist (`lab status`).
    Absent,
    /// 3: the stack is partial or drifted (`lab status`), the local stack is not running
    /// (`lab local status`), or a `lab load --threshold` was undecided (the generator's own
    /// lateness alone would have decided it).
    Incomplete,
    /// 128 + the number of the signal that stopped the run, after its cleanup.
    Signal(i32),
}

impl Exit {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Absent => 2,
            Exit::Incomplete => 3,
            Exit::Signal(number) => 128 + number,
        }
    }

    /// The exit for a command that failed with `error`.
    pub fn of_error(error: &anyhow::Error) -> Exit {
        match error.downcast_ref::<Interrupted>() {
            Some(stopped) => Exit::Signal(stopped.number),
            None => Exit::Failure,
        }
    }
}

/// A run was stopped by a signal; its cleanup ran.
#[derive(Debug)]
pub struct Interrupted {
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub signal: &'static str,
    /// Its number, for the exit code.
    pub number: i32,
    /// What the cleanup did (or why it failed).
    pub(crate) detail: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}; {}", self.signal, self.detail)
    }
}

impl std::error::Error for Interrupted {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_exits_as_a_shell_reports_it_and_other_errors_exit_1() {
        let stopped = anyhow::Error::new(Interrupted {
            signal: "SIGTERM",
            number: 15,
            detail: "cleaned up".into(),
        })
        .context("tune");
        assert_eq!(Exit::of_error(&stopped).code(), 143);
        assert_eq!(Exit::of_error(&anyhow::anyhow!("boom")).code(), 1);
        assert_eq!(Exit::Incomplete.code(), 3);
    }
}
