//! `lab tune` options, the tutorial's power-tuning input file, and how they combine.
//!
//! Precedence: a flag given on the command line, then the `--input` file, then the default.
//! Boolean flags can only switch a setting on: `--parallel` wins over `"parallelInvocation": false`,
//! and `"parallelInvocation": true` in the file stays on without the flag.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::payload::{self, PayloadSpec};
use super::strategy::Strategy;

/// The memory sizes tried when neither `--powers` nor the input file names any.
pub const DEFAULT_POWERS: [u32; 4] = [128, 256, 512, 1024];
/// Invocations per memory size by default.
pub const DEFAULT_NUM: u32 = 10;
/// Fewest invocations per memory size: below this the trimmed mean drops nothing and one outlier
/// decides the result.
pub const MIN_NUM: u32 = 5;
/// Default share of the slowest and fastest invocations left out of the mean (each end).
pub const DEFAULT_DISCARD: f64 = 0.2;
/// Default weight of cost against duration for `--strategy balanced`.
pub const DEFAULT_BALANCED_WEIGHT: f64 = 0.5;

/// Options of `lab tune` (power tuning, after aws-lambda-power-tuning).
#[derive(Debug, Clone, clap::Args)]
pub struct TuneArgs {
    /// Memory sizes to try, in MB, comma-separated [default: 128,256,512,1024]
    #[arg(long, value_delimiter = ',', value_parser = parse_power, value_name = "MB,...")]
    pub powers: Option<Vec<u32>>,

    /// Invocations per memory size, at least 5 [default: 10]
    #[arg(long, value_parser = parse_num)]
    pub num: Option<u32>,

    /// Event to send: inline JSON, @FILE, or a weighted list
    /// `[{"payload": {...}, "weight": 3}, ...]` [default: the tutorial's `list` event]
    #[arg(long, value_name = "JSON|@FILE")]
    pub payload: Option<String>,

    /// Send each size's invocations all at once instead of one after another
    #[arg(long)]
    pub parallel: bool,

    /// What the winner is chosen for [default: cost]
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,

    /// For --strategy balanced: weight of cost against duration, 0 (speed only) to 1 (cost only)
    /// [default: 0.5]
    #[arg(long, value_parser = parse_weight, value_name = "0..1")]
    pub balanced_weight: Option<f64>,

    /// Share of the fastest and of the slowest invocations left out of the average, 0 to 0.4
    /// [default: 0.2, or 0 with --only-cold-starts]
    #[arg(long, value_parser = parse_discard, value_name = "0..0.4")]
    pub discard: Option<f64>,

    /// Leave the function at the winning memory size instead of restoring the original
    #[arg(long)]
    pub auto_optimize: bool,

    /// Print the plan (sizes, invocations, payload) and stop without invoking anything
    #[arg(long)]
    pub dry_run: bool,

    /// Measure cold starts only: the configuration is changed and changed back before every
    /// invocation (before each batch with --parallel), which makes Lambda start new instances
    #[arg(long)]
    pub only_cold_starts: bool,

    /// Pause between sequential invocations, in milliseconds [default: 0]
    #[arg(long, value_name = "MS")]
    pub sleep_between_runs: Option<u64>,

    /// Function error types that still count as a measurement (e.g. `NotFound,Conflict`)
    #[arg(long, value_delimiter = ',', value_name = "TYPE,...")]
    pub allowed_exceptions: Option<Vec<String>>,

    /// The tutorial's aws-lambda-power-tuning input JSON (lambdaARN, powerValues, num, payload,
    /// parallelInvocation, strategy, balancedWeight, discardTopBottom, autoOptimize, ...)
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Also write a self-contained HTML report to this file
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

impl Default for TuneArgs {
    /// The options of a bare `lab tune` (every setting at its default).
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: TuneArgs,
        }
        <Wrapper as clap::Parser>::parse_from(["tune"]).args
    }
}

fn parse_power(s: &str) -> Result<u32, String> {
    let mb: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a memory size in MB"))?;
    check_power(mb)?;
    Ok(mb)
}

fn check_power(mb: u32) -> Result<(), String> {
    if !(128..=10240).contains(&mb) {
        return Err(format!(
            "memory sizes must be between 128 and 10240 MB (got {mb})"
        ));
    }
    Ok(())
}

fn parse_num(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    check_num(n)?;
    Ok(n)
}

fn check_num(n: u32) -> Result<(), String> {
    if n < MIN_NUM {
        return Err(format!(
            "num must be at least {MIN_NUM} (got {n}): fewer invocations leave nothing to trim"
        ));
    }
    Ok(())
}

fn parse_weight(s: &str) -> Result<f64, String> {
    let w: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    check_weight(w)?;
    Ok(w)
}

fn check_weight(w: f64) -> Result<(), String> {
    if !(0.0..=1.0).contains(&w) {
        return Err(format!(
            "the balanced weight must be between 0 and 1 (got {w})"
        ));
    }
    Ok(())
}

fn parse_discard(s: &str) -> Result<f64, String> {
    let d: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    check_discard(d)?;
    Ok(d)
}

fn check_discard(d: f64) -> Result<(), String> {
    if !(0.0..=0.4).contains(&d) {
        return Err(format!("discard must be between 0 and 0.4 (got {d})"));
    }
    Ok(())
}

/// `powerValues` is a list of sizes, or `"ALL"` (128 to 3008 MB in 64 MB steps) as in the anchor.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PowerValues {
    List(Vec<u32>),
    Keyword(String),
}

/// The aws-lambda-power-tuning state machine input, as the tutorial writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputFile {
    #[serde(rename = "lambdaARN")]
    lambda_arn: Option<String>,
    power_values: Option<PowerValues>,
    num: Option<u32>,
    payload: Option<Value>,
    #[serde(rename = "payloadS3")]
    payload_s3: Option<String>,
    parallel_invocation: Option<bool>,
    strategy: Option<Strategy>,
    balanced_weight: Option<f64>,
    discard_top_bottom: Option<f64>,
    auto_optimize: Option<bool>,
    dry_run: Option<bool>,
    only_cold_starts: Option<bool>,
    sleep_between_runs_ms: Option<u64>,
    allowed_exceptions: Option<Vec<String>>,
    #[serde(rename = "preProcessorARN")]
    pre_processor_arn: Option<String>,
    #[serde(rename = "postProcessorARN")]
    post_processor_arn: Option<String>,
}

fn read_input(path: &Path) -> Result<InputFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the tuning input {}", path.display()))?;
    let input: InputFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid power-tuning input", path.display()))?;
    if input.payload_s3.is_some() {
        bail!(
            "{}: payloadS3 is not supported; save the payload to a file and pass --payload @FILE",
            path.display()
        );
    }
    if input.pre_processor_arn.is_some() || input.post_processor_arn.is_some() {
        eprintln!(
            "warning: {}: pre/post-processor functions are not supported and are ignored",
            path.display()
        );
    }
    Ok(input)
}

/// Every setting of one tuning run, resolved and validated.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    /// Memory sizes, in the order they are tried (duplicates removed).
    pub powers: Vec<u32>,
    /// Invocations per size.
    pub num: u32,
    /// What is sent.
    pub payload: PayloadSpec,
    /// The `num` serialised payloads, in sending order.
    pub payloads: Vec<Vec<u8>>,
    /// All of a size's invocations at once.
    pub parallel: bool,
    /// Winner selection.
    pub strategy: Strategy,
    /// Cost weight for the balanced strategy.
    pub balanced_weight: f64,
    /// Trimmed-mean share dropped from each end.
    pub discard: f64,
    /// Leave the winner configured.
    pub auto_optimize: bool,
    /// Only print the plan.
    pub dry_run: bool,
    /// Force a new instance for every invocation.
    pub only_cold_starts: bool,
    /// Pause between sequential invocations.
    pub sleep_between_runs: Duration,
    /// Function error types counted as measurements.
    pub allowed_exceptions: Vec<String>,
    /// HTML report path.
    pub report: Option<PathBuf>,
    /// The input file's `lambdaARN`, when it held a real ARN (shown, never used to pick the function).
    pub lambda_arn: Option<String>,
}

/// Whether `arn` is a Lambda function ARN (the tutorial's placeholder is not).
fn is_function_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function"
}

impl TuneConfig {
    /// Combines `args`, its `--input` file and the defaults; `default_payload` is used when neither
    /// names a payload.
    pub fn resolve(args: &TuneArgs, default_payload: Value) -> Result<TuneConfig> {
        let input = match &args.input {
            Some(path) => read_input(path)?,
            None => InputFile::default(),
        };
        let err = |e: String| anyhow::anyhow!(e);

        let mut powers = match (&args.powers, input.power_values) {
            (Some(p), _) => p.clone(),
            (None, Some(PowerValues::List(p))) => p,
            (None, Some(PowerValues::Keyword(k))) if k.eq_ignore_ascii_case("all") => {
                (128..=3008).step_by(64).collect()
            }
            (None, Some(PowerValues::Keyword(k))) => {
                bail!("powerValues must be a list of sizes or \"ALL\" (got {k:?})")
            }
            (None, None) => DEFAULT_POWERS.to_vec(),
        };
        for &p in &powers {
            check_power(p).map_err(err)?;
        }
        let mut seen = std::collections::HashSet::new();
        powers.retain(|p| seen.insert(*p));
        if powers.is_empty() {
            bail!("no memory sizes to try");
        }

        let num = args.num.or(input.num).unwrap_or(DEFAULT_NUM);
        check_num(num).map_err(err)?;

        let payload_value = match (&args.payload, input.payload) {
            (Some(arg), _) => payload::read_arg(arg)?,
            (None, Some(v)) => v,
            (None, None) => default_payload,
        };
        let payload = PayloadSpec::from_value(payload_value)?;
        let payloads = payload.expand(num as usize)?;

        let only_cold_starts = args.only_cold_starts || input.only_cold_starts.unwrap_or(false);
        let default_discard = if only_cold_starts {
            0.0
        } else {
            DEFAULT_DISCARD
        };
        let discard = args
            .discard
            .or(input.discard_top_bottom)
            .unwrap_or(default_discard);
        check_discard(discard).map_err(err)?;
        let balanced_weight = args
            .balanced_weight
            .or(input.balanced_weight)
            .unwrap_or(DEFAULT_BALANCED_WEIGHT);
        check_weight(balanced_weight).map_err(err)?;

        Ok(TuneConfig {
            powers,
            num,
            payload,
            payloads,
            parallel: args.parallel || input.parallel_invocation.unwrap_or(false),
            strategy: args.strategy.or(input.strategy).unwrap_or_default(),
            balanced_weight,
            discard,
            auto_optimize: args.auto_optimize || input.auto_optimize.unwrap_or(false),
            dry_run: args.dry_run || input.dry_run.unwrap_or(false),
            only_cold_starts,
            sleep_between_runs: Duration::from_millis(
                args.sleep_between_runs
                    .or(input.sleep_between_runs_ms)
                    .unwrap_or(0),
            ),
            allowed_exceptions: args
                .allowed_exceptions
                .clone()
                .or(input.allowed_exceptions)
                .unwrap_or_default(),
            report: args.report.clone(),
            lambda_arn: input.lambda_arn.filter(|a| is_function_arn(a)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TuneArgs,
    }

    fn parse(argv: &[&str]) -> Result<TuneArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("tune").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn defaults() {
        let cfg = TuneConfig::resolve(&TuneArgs::default(), json!({"operation": "list"})).unwrap();
        assert_eq!(cfg.powers, DEFAULT_POWERS);
        assert_eq!(cfg.num, 10);
        assert_eq!(cfg.payloads.len(), 10);
        assert_eq!(cfg.strategy, Strategy::Cost);
        assert_eq!((cfg.discard, cfg.balanced_weight), (0.2, 0.5));
        assert!(!cfg.parallel && !cfg.auto_optimize && !cfg.dry_run);
    }

    #[test]
    fn num_below_five_is_a_one_line_error() {
        let err = parse(&["--num", "3"]).unwrap_err().to_string();
        assert!(err.contains("num must be at least 5 (got 3)"), "{err}");
        assert_eq!(
            err.trim_end()
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
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
        ])
        .unwrap();
        assert_eq!(ok.powers, Some(vec![128, 1024]));
    }

    #[test]
    fn input_file_overrides_defaults_and_flags_override_the_file() {
        let path = std::env::temp_dir().join(format!("lab-tune-input-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"lambdaARN": "PUT YOUR LAMBDA ARN HERE", "powerValues": [128, 256, 512, 1024, 2048],
                "num": 20, "payload": {"operation": "list", "tableName": "t", "payload": {}},
                "parallelInvocation": true, "strategy": "speed", "balancedWeight": 0.3,
                "discardTopBottom": 0.1}"#,
        )
        .unwrap();
        let mut args = TuneArgs {
            input: Some(path.clone()),
            ..TuneArgs::default()
        };
        let cfg = TuneConfig::resolve(&args, json!(null)).unwrap();
        assert_eq!(cfg.powers, vec![128, 256, 512, 1024, 2048]);
        assert_eq!(
            (cfg.num, cfg.parallel, cfg.strategy),
            (20, true, Strategy::Speed)
        );
        assert_eq!((cfg.balanced_weight, cfg.discard), (0.3, 0.1));
        assert_eq!(
            cfg.payloads[0],
            br#"{"operation":"list","payload":{},"tableName":"t"}"#
        );
        assert_eq!(cfg.lambda_arn, None, "the placeholder is not an ARN");
        args.num = Some(6);
        args.strategy = Some(Strategy::Cost);
        let cfg = TuneConfig::resolve(&args, json!(null)).unwrap();
        assert_eq!((cfg.num, cfg.strategy), (6, Strategy::Cost));
        std::fs::write(&path, r#"{"num": 2}"#).unwrap();
        let err = TuneConfig::resolve(&args_with_input(&path), json!(null))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 5"), "{err}");
        std::fs::remove_file(path).unwrap();
    }

    fn args_with_input(path: &Path) -> TuneArgs {
        TuneArgs {
            input: Some(path.to_path_buf()),
            ..TuneArgs::default()
        }
    }

    #[test]
    fn only_cold_starts_discards_nothing_by_default() {
        let args = TuneArgs {
            only_cold_starts: true,
            ..TuneArgs::default()
        };
        assert_eq!(TuneConfig::resolve(&args, json!({})).unwrap().discard, 0.0);
    }
}
