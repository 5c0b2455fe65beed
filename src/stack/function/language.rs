//! Which of the two handlers the stack's function runs: lab's Rust handler (`handler/`, on
//! `provided.al2023`) or the tutorial's own Python function, verbatim, on the Python runtime the
//! tutorial names. Both answer the tutorial's events; switching is an update of the same function.

use aws_sdk_lambda::types::Runtime;
use serde::Serialize;

/// The handler `lab up --handler` deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Language {
    /// lab's Rust handler (`handler/`), as a `bootstrap` on `provided.al2023`.
    #[default]
    Rust,
    /// The tutorial's `lambda_function.py` (assets/tutorial/), on `python3.13`.
    Python,
}

impl Language {
    /// Both, in the order reports show them.
    pub(crate) const ALL: [Language; 2] = [Language::Rust, Language::Python];

    /// The Lambda runtime it runs on.
    pub(crate) fn runtime(self) -> Runtime {
        match self {
            Language::Rust => Runtime::Providedal2023,
            // The tutorial's: "Runtime: Python 3.13" (its Create Lambda Function step).
            Language::Python => Runtime::Python313,
        }
    }

    /// The function's Handler setting.
    pub(crate) fn handler(self) -> &'static str {
        match self {
            Language::Rust => "bootstrap",
            Language::Python => "lambda_function.lambda_handler",
        }
    }

    /// Which handler a function runs, from its runtime (`None`: neither of lab's).
    pub(crate) fn of_runtime(runtime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.runtime().as_str() == runtime)
    }

    /// Its name, as `--handler` spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_names_its_handler() {
        for l in Language::ALL {
            assert_eq!(Language::of_runtime(l.runtime().as_str()), Some(l));
        }
        assert_eq!(Language::of_runtime("nodejs22.x"), None);
        assert_eq!(Language::Python.runtime().as_str(), "python3.13");
    }
}
