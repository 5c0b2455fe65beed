//! For people, a spinner per step of `up` and `down` that ends in the step's one-line verdict.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;
use crate::stack::{Action, Change};

/// Live step lines on stderr (hidden in JSON mode or when stderr is not a terminal, where the
/// final lines are printed plainly instead).
pub(crate) struct Steps {
    multi: MultiProgress,
    live: bool,
    text: bool,
}

impl Steps {
    /// Steps for the given output format.
    pub(crate) fn new(output: Output) -> Self {
        let live = output == Output::Text && std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if live {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Self {
            multi,
            live,
            text: output == Output::Text,
        }
    }

    /// Starts a spinner for one resource.
    pub(crate) fn start(&self, what: &str) -> ProgressBar {
        let pb = self.multi.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<10} {msg} {elapsed}")
                .expect("valid template"),
        );
        pb.set_prefix(what.to_string());
        pb.set_message("…");
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    }

    /// Ends a spinner with the change's verdict (or prints it, when not live).
    pub(crate) fn finish(&self, pb: &ProgressBar, change: &Change) {
        self.end(pb, format_change(change));
    }

    /// Ends a spinner with an error line.
    pub(crate) fn fail(&self, pb: &ProgressBar, what: &str, err: &anyhow::Error) {
        self.end(pb, format!("✗ {what:<10} {err}"));
    }

    /// Replaces a spinner with its final line: in place when live, otherwise printed (text output
    /// only: JSON output has no progress lines).
    fn end(&self, pb: &ProgressBar, line: String) {
        pb.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
        if self.live {
            pb.finish_with_message(line);
        } else {
            pb.finish_and_clear();
            if self.text {
                eprintln!("{line}");
            }
        }
    }

    /// Prints a line above the live area.
    pub(crate) fn note(&self, line: &str) {
        if self.live {
            let _ = self.multi.println(line);
        } else if self.text {
            eprintln!("{line}");
        }
    }
}

/// `✔ table      lambda-apigateway  created  0.12s  (details)`.
pub(crate) fn format_change(c: &Change) -> String {
    let mark = match c.action {
        Action::Created | Action::Deleted => "✔",
        Action::Updated => "↻",
        Action::Unchanged | Action::Absent => "·",
        Action::Kept => "!",
    };
    let mut line = format!(
        "{mark} {:<10} {:<28} {:<9} {:>6.2}s",
        c.resource,
        c.name,
        c.action.to_string(),
        c.seconds
    );
    if !c.details.is_empty() {
        line.push_str(&format!("  ({})", c.details.join("; ")));
    }
    line
}
