//! `lab tune` options and their checks (one line each, as clap prints them). How they combine with an
//! `--input` file is the `config` module's job.

use std::path::PathBuf;

use super::strategy::{CostModel, Metric, Strategy};

/// The memory sizes tried when neither `--powers` nor the input file names any.
pub(crate) const DEFAULT_POWERS: [u32; 4] = [128, 256, 512, 1024];
/// Invocations per memory size by default.
pub(crate) const DEFAULT_NUM: u32 = 10;
/// Fewest invocations per memory size: below this the trimmed mean drops nothing and one outlier
/// decides the result.
pub(crate) const MIN_NUM: u32 = 5;
/// `--num auto`: invocations per size in the first round (a fixed run's default, so the first
/// round is what `lab tune` alone measures).
pub(crate) const AUTO_FIRST_ROUND: u32 = DEFAULT_NUM;
/// `--num auto`: invocations added per round to each size not yet precise enough.
pub(crate) const AUTO_ROUND: u32 = 10;
/// `--num auto`: the most invocations per size by default (`--max-num`). Enough for a p95's
/// interval to have an upper end (72 values) with a round to spare.
pub(crate) const DEFAULT_MAX_NUM: u32 = 100;
/// `--num auto` stops once every size's 95% intervals are within this share of their value.
pub(crate) const AUTO_TARGET: f64 = 0.05;
/// Default share of the slowest and fastest invocations left out of the mean (each end).
pub(crate) const DEFAULT_DISCARD: f64 = 0.2;
/// Default weight of cost against duration for `--strategy balanced`.
pub(crate) const DEFAULT_BALANCED_WEIGHT: f64 = 0.5;

/// Options of `lab tune` (power tuning, after aws-lambda-power-tuning).
#[derive(Debug, Clone, clap::Args)]
pub struct TuneArgs {
    /// The function to tune: a name or an unqualified ARN, any function in the account
    /// [default: the input's lambdaARN, else the stack's function]
    #[arg(long, value_name = "NAME|ARN")]
    pub(crate) function: Option<String>,

    /// Memory sizes to try, in MB, comma-separated [default: 128,256,512,1024]
    #[arg(long, value_delimiter = ',', value_name = "MB,...")]
    #[arg(value_parser = checked("a memory size in MB", check_power))]
    pub powers: Option<Vec<u32>>,

    /// Invocations per memory size, at least 5; or `auto`: rounds of 10 until every size's 95%
    /// intervals (duration and cost) are within ±5% of their value, or --max-num [default: 10]
    #[arg(long, value_parser = parse_num, value_name = "N|auto")]
    pub num: Option<Num>,

    /// With --num auto: the most invocations per memory size [default: 100]
    #[arg(long, value_parser = checked("a whole number", check_num), value_name = "N")]
    pub max_num: Option<u32>,

    /// The duration the strategies compare: the trimmed mean (PT's), or a percentile of every
    /// invocation [default: mean]
    #[arg(long, value_enum)]
    pub metric: Option<Metric>,

    /// Event to send: inline JSON, @FILE, or a weighted list
    /// `[{"payload": {...}, "weight": 3}, ...]` [default: the tutorial's `list` event]
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) payload: Option<String>,

    /// Measure the memory sizes side by side, each size's invocations all at once
    #[arg(long)]
    pub parallel: bool,

    /// What the winner is chosen for [default: cost]
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,

    /// Which cost the strategy compares: PT's (billed ms rounded up, no request charge) or lab's
    /// full cost (exact billed ms plus the request charge) [default: pt]
    #[arg(long, value_enum)]
    pub cost_model: Option<CostModel>,

    /// For --strategy balanced: weight of cost against duration, 0 (speed only) to 1 (cost only)
    /// [default: 0.5]
    #[arg(long, value_parser = checked("a number", check_weight), value_name = "0..1")]
    pub(crate) balanced_weight: Option<f64>,

    /// Share of the fastest and of the slowest invocations left out of the average, 0 to 0.4
    /// [default: 0.2, or 0 with --only-cold-starts]
    #[arg(long, value_parser = checked("a number", check_discard), value_name = "0..0.4")]
    pub(crate) discard: Option<f64>,

    /// Set $LATEST to the winning memory size afterwards (with --auto-optimize-alias, point that
    /// alias at a new version with it instead)
    #[arg(long)]
    pub auto_optimize: bool,

    /// With --auto-optimize: create or update this alias on a version at the winning size, and
    /// leave $LATEST as it was
    #[arg(long, value_name = "ALIAS")]
    pub auto_optimize_alias: Option<String>,

    /// Check that everything works: publish the versions, invoke each size once, clean up; no
    /// analysis
    #[arg(long)]
    pub dry_run: bool,

    /// Measure cold starts only: one version per invocation, so each call starts a new instance
    #[arg(long)]
    pub only_cold_starts: bool,

    /// Pause between sequential invocations, in milliseconds [default: 0]
    #[arg(long, value_name = "MS")]
    pub(crate) sleep_between_runs: Option<u64>,

    /// Function error types that still count as a measurement (e.g. `NotFound,Conflict`)
    #[arg(long, value_delimiter = ',', value_name = "TYPE,...")]
    pub allowed_exceptions: Option<Vec<String>>,

    /// Record a size that keeps failing and go on with the others, instead of failing the run
    #[arg(long)]
    pub skip_failing: bool,

    /// Keep the versions and lab-tune-* aliases published for the run (they are removed otherwise)
    #[arg(long)]
    pub keep_versions: bool,

    /// Leave payloads out of error messages
    #[arg(long)]
    pub(crate) disable_payload_logs: bool,

    /// Add each size's average cost and duration to the power-tuning output document (`stats`)
    #[arg(long)]
    pub include_output_results: bool,

    /// Instruction sets to tune, comma-separated (`x86_64,arm64`): each one other than the
    /// function's own is tuned on a temporary copy of the function, removed on every exit, and the
    /// recommendation names memory × arch [default: the function's own]
    #[arg(long, value_delimiter = ',', value_name = "ARCH,...")]
    pub arch: Option<Vec<crate::arch::Arch>>,

    /// An aws-lambda-power-tuning input JSON (lambdaARN, powerValues, num, payload,
    /// parallelInvocation, strategy, balancedWeight, autoOptimize, autoOptimizeAlias, dryRun, ...);
    /// an unknown key is an error
    #[arg(long, value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,

    /// Also write a self-contained HTML report to this file
    #[arg(long, value_name = "FILE.html")]
    pub(crate) report: Option<PathBuf>,
}

impl Default for TuneArgs {
    /// The options of a bare `lab tune` (every setting at its default).
    fn default() -> Self {
        crate::flag_defaults::parse_defaults()
    }
}

/// `--num`: a fixed count, or rounds until the intervals are narrow enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
    /// This many invocations per size.
    Fixed(u32),
    /// Rounds until every size is within ±5%, or `--max-num`.
    Auto,
}

/// `--num`'s parser: `auto`, or a whole number of at least [`MIN_NUM`].
fn parse_num(s: &str) -> Result<Num, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(Num::Auto);
    }
    checked("a whole number or auto", check_num)(s).map(Num::Fixed)
}

/// `Ok` when `value` is in `range`, else the error `message` gives.
fn within<T: PartialOrd>(
    value: T,
    range: std::ops::RangeInclusive<T>,
    message: impl FnOnce() -> String,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(message())
    }
}

/// A flag's parser: the text read as a `T` (`what` names one in the error) that passes `check`.
fn checked<T: std::str::FromStr + Copy + 'static>(
    what: &'static str,
    check: fn(T) -> Result<(), String>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        let value = s.trim().parse().map_err(|_| format!("{s:?} is not {what}"))?;
        check(value)?;
        Ok(value)
    }
}

/// Lambda's memory range.
pub(crate) fn check_power(mb: u32) -> Result<(), String> {
    within(mb, 128..=10240, || {
        format!("memory sizes must be between 128 and 10240 MB (got {mb})")
    })
}

/// At least [`MIN_NUM`] invocations per size.
pub(crate) fn check_num(n: u32) -> Result<(), String> {
    if n < MIN_NUM {
        return Err(format!(
            "num must be at least {MIN_NUM} (got {n}): fewer invocations leave nothing to trim"
        ));
    }
    Ok(())
}

/// A balanced weight between 0 and 1.
pub(crate) fn check_weight(w: f64) -> Result<(), String> {
    within(w, 0.0..=1.0, || {
        format!("the balanced weight must be between 0 and 1 (got {w})")
    })
}

/// A trimmed-mean share between 0 and 0.4.
pub(crate) fn check_discard(d: f64) -> Result<(), String> {
    within(d, 0.0..=0.4, || {
        format!("discard must be between 0 and 0.4 (got {d})")
    })
}

/// Lambda's alias names: 1 to 128 of letters, digits, `-` and `_`, not all digits (that would be a
/// version).
pub(crate) fn check_alias(name: &str) -> Result<(), String> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if name.is_empty()
        || name.len() > 128
        || !valid_chars
        || name.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "{name:?} is not a Lambda alias name (1-128 letters, digits, - or _, not only digits)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TuneArgs,
    }

    fn parse(argv: &[&str]) -> Result<TuneArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("tune").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn num_below_five_is_a_one_line_error() {
        let err = parse(&["--num", "3"]).unwrap_err().to_string();
        assert!(err.contains("num must be at least 5 (got 3)"), "{err}");
        assert_eq!(
            err.trim_end().lines().filter(|l| l.starts_with("error")).count(),
            1
        );
        assert!(parse(&["--discard", "0.5"]).is_err());
        assert!(parse(&["--balanced-weight", "1.5"]).is_err());
        assert!(parse(&["--powers", "64"]).is_err());
        let ok = parse(&[
            "--powers",
            "128,1024",
            "--num",
            "5",
            "--strategy",
            "balanced",
            "--cost-model",
            "full",
            "--function",
            "other-fn",
        ])
        .unwrap();
        assert_eq!(ok.powers, Some(vec![128, 1024]));
        let auto = parse(&["--num", "auto", "--max-num", "40", "--metric", "p95"]).unwrap();
        assert_eq!(
            (auto.num, auto.max_num, auto.metric),
            (Some(Num::Auto), Some(40), Some(Metric::P95))
        );
        let err = parse(&["--num", "some"]).unwrap_err().to_string();
        assert!(err.contains("is not a whole number or auto"), "{err}");
        assert_eq!(ok.cost_model, Some(CostModel::Full));
        assert_eq!(ok.function.as_deref(), Some("other-fn"));
    }

    #[test]
    fn arch_takes_a_comma_list_of_lambdas_two_names() {
        use crate::arch::Arch;
        let both = parse(&["--arch", "x86_64,arm64"]).unwrap();
        assert_eq!(both.arch, Some(vec![Arch::X86_64, Arch::Arm64]));
        assert_eq!(
            parse(&["--arch", "arm64"]).unwrap().arch,
            Some(vec![Arch::Arm64])
        );
        assert_eq!(parse(&[]).unwrap().arch, None);
        let err = parse(&["--arch", "x86_64,mips"]).unwrap_err().to_string();
        assert!(err.contains("mips") && err.contains("arm64"), "{err}");
        assert_eq!(
            err.trim_end().lines().filter(|l| l.starts_with("error")).count(),
            1
        );
    }

    #[test]
    fn alias_names() {
        assert!(check_alias("live").is_ok() && check_alias("RAM-512_x").is_ok());
        assert!(check_alias("12").is_err() && check_alias("").is_err());
        assert!(check_alias("has space").is_err() && check_alias(&"a".repeat(129)).is_err());
    }
}
