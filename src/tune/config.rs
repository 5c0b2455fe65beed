//! aws-lambda-power-tuning's input file and how it combines with the flags into one [`TuneConfig`].
//!
//! Precedence: a flag given on the command line, then the `--input` file, then the default.
//! Boolean flags can only switch a setting on: `--parallel` wins over `"parallelInvocation": false`,
//! and `"parallelInvocation": true` in the file stays on without the flag. A key the power-tuning
//! tool does not define is an error (a typo would otherwise be silently ignored).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::args::{self, Num, TuneArgs, DEFAULT_BALANCED_WEIGHT, DEFAULT_DISCARD, DEFAULT_NUM};
use super::strategy::{CostModel, Metric, Strategy};
use lab_load::payload::spec::{self as payload, PayloadSpec};

/// A number the power-tuning tool also accepts as a string (it runs `parseInt` on it).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Count {
    Number(u32),
    Text(String),
}

impl Count {
    fn value(&self, key: &str) -> Result<u32> {
        match self {
            Count::Number(n) => Ok(*n),
            Count::Text(t) => {
                t.trim().parse().with_context(|| format!("{key}: {t:?} is not a whole number"))
            }
        }
    }
}

/// `powerValues` is a list of sizes, or `"ALL"` (128 to 3008 MB in 64 MB steps) as in the tool.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PowerValues {
    List(Vec<Count>),
    Keyword(String),
}

/// The aws-lambda-power-tuning state machine input: every key it defines, nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InputFile {
    #[serde(rename = "lambdaARN")]
    lambda_arn: Option<String>,
    power_values: Option<PowerValues>,
    num: Option<Count>,
    payload: Option<Value>,
    #[serde(rename = "payloadS3")]
    payload_s3: Option<String>,
    parallel_invocation: Option<bool>,
    strategy: Option<Strategy>,
    balanced_weight: Option<f64>,
    discard_top_bottom: Option<f64>,
    auto_optimize: Option<bool>,
    auto_optimize_alias: Option<String>,
    dry_run: Option<bool>,
    only_cold_starts: Option<bool>,
    sleep_between_runs_ms: Option<u64>,
    allowed_exceptions: Option<Vec<String>>,
    disable_payload_logs: Option<bool>,
    include_output_results: Option<bool>,
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
        bail!(
            "{}: preProcessorARN and postProcessorARN are not supported; remove them",
            path.display()
        );
    }
    Ok(input)
}

/// Every setting of one tuning run, resolved and validated.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    /// `--function`, else the input's `lambdaARN` (when it is a function ARN or name): the function
    /// to tune; `None` for the stack's.
    pub(crate) function: Option<String>,
    /// Memory sizes, in the order they are tried (duplicates removed).
    pub(crate) powers: Vec<u32>,
    /// Invocations per size (with `auto`, the first round's).
    pub(crate) num: u32,
    /// `--num auto`: rounds until the intervals are narrow enough.
    pub(crate) auto: Option<Auto>,
    /// The duration the strategies compare.
    pub(crate) metric: Metric,
    /// What is sent.
    pub(crate) payload: PayloadSpec,
    /// The serialised payloads, in sending order: `num`, or `--max-num` with `auto`.
    pub(crate) payloads: Vec<Vec<u8>>,
    /// Sizes side by side, each size's invocations all at once.
    pub(crate) parallel: bool,
    /// Winner selection.
    pub(crate) strategy: Strategy,
    /// Which cost the strategy compares.
    pub(crate) cost_model: CostModel,
    /// Cost weight for the balanced strategy.
    pub(crate) balanced_weight: f64,
    /// Trimmed-mean share dropped from each end.
    pub(crate) discard: f64,
    /// Apply the winner afterwards.
    pub(crate) auto_optimize: bool,
    /// With `auto_optimize`: the alias to point at a version with the winner.
    pub(crate) auto_optimize_alias: Option<String>,
    /// Invoke each size once to check permissions; no analysis.
    pub(crate) dry_run: bool,
    /// A version per invocation, so every call starts a new instance.
    pub(crate) only_cold_starts: bool,
    /// Pause between sequential invocations.
    pub(crate) sleep_between_runs: Duration,
    /// Function error types counted as measurements.
    pub(crate) allowed_exceptions: Vec<String>,
    /// Record a size that keeps failing and go on.
    pub(crate) skip_failing: bool,
    /// Keep the published versions and aliases.
    pub(crate) keep_versions: bool,
    /// Leave payloads out of error messages.
    pub(crate) disable_payload_logs: bool,
    /// Add `stats` to the power-tuning output document.
    pub(crate) include_output_results: bool,
    /// HTML report path.
    pub(crate) report: Option<PathBuf>,
    /// `--arch`: the instruction sets to tune, in the order given, each once; `None` for the
    /// function's own alone (today's run).
    pub(crate) arches: Option<Vec<crate::arch::Arch>>,
}

/// `--num auto`'s settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Auto {
    /// The most invocations per size.
    pub(crate) max_num: u32,
    /// The share of its value every size's 95% intervals must be within.
    pub(crate) target: f64,
    /// Invocations added per round after the first.
    pub(crate) round: u32,
}

/// `--num` and `--max-num` (or the file's `num`): the first round's count and, with `auto`, its
/// settings. `--num auto` publishes every version first, so it cannot make one per invocation.
fn counts(
    args: &TuneArgs,
    input: &InputFile,
    only_cold_starts: bool,
) -> Result<(u32, Option<Auto>)> {
    let num = match (args.num, &input.num) {
        (Some(n), _) => n,
        (None, Some(c)) => Num::Fixed(c.value("num")?),
        (None, None) => Num::Fixed(DEFAULT_NUM),
    };
    match num {
        Num::Fixed(n) => {
            if args.max_num.is_some() {
                bail!("--max-num applies to --num auto only (got --num {n})");
            }
            args::check_num(n).map_err(anyhow::Error::msg)?;
            Ok((n, None))
        }
        Num::Auto if only_cold_starts => {
            bail!("--num auto cannot measure only cold starts: that publishes a version per invocation before the first is made; give --num N")
        }
        Num::Auto => {
            let max_num = args.max_num.unwrap_or(args::DEFAULT_MAX_NUM);
            if max_num < args::AUTO_FIRST_ROUND {
                bail!(
                    "--max-num must be at least {} (the first round) (got {max_num})",
                    args::AUTO_FIRST_ROUND
                );
            }
            let auto = Auto {
                max_num,
                target: args::AUTO_TARGET,
                round: args::AUTO_ROUND,
            };
            Ok((args::AUTO_FIRST_ROUND, Some(auto)))
        }
    }
}

/// The function an input's `lambdaARN` names: an ARN, or a plain function name. The tutorial's
/// placeholder (`PUT YOUR LAMBDA ARN HERE`) names none.
fn named_function(value: &str) -> Option<String> {
    let value = value.trim();
    let is_name = !value.is_empty()
        && value.len() <= 140
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (value.starts_with("arn:") || is_name).then(|| value.to_string())
}

fn powers(args: &TuneArgs, input: Option<&PowerValues>) -> Result<Vec<u32>> {
    let mut powers = match (&args.powers, input) {
        (Some(p), _) => p.clone(),
        (None, Some(PowerValues::List(p))) => {
            p.iter().map(|c| c.value("powerValues")).collect::<Result<_>>()?
        }
        (None, Some(PowerValues::Keyword(k))) if k.eq_ignore_ascii_case("all") => {
            (128..=3008).step_by(64).collect()
        }
        (None, Some(PowerValues::Keyword(k))) => {
            bail!("powerValues must be a list of sizes or \"ALL\" (got {k:?})")
        }
        (None, None) => args::DEFAULT_POWERS.to_vec(),
    };
    for &p in &powers {
        args::check_power(p).map_err(anyhow::Error::msg)?;
    }
    let mut seen = std::collections::HashSet::new();
    powers.retain(|p| seen.insert(*p));
    if powers.is_empty() {
        bail!("no memory sizes to try");
    }
    Ok(powers)
}

/// What is sent: `--payload`, else the file's `payload`, else `default`; and the `num` payloads.
fn payloads(
    args: &TuneArgs,
    from_file: Option<Value>,
    default: Value,
    num: u32,
) -> Result<(PayloadSpec, Vec<Vec<u8>>)> {
    let value = match (&args.payload, from_file) {
        (Some(arg), _) => payload::read_arg(arg)?,
        (None, Some(v)) => v,
        (None, None) => default,
    };
    let spec = PayloadSpec::from_value(value)?;
    let list = spec.expand(num as usize)?;
    Ok((spec, list))
}

/// The trimmed mean's share and the balanced weight. With cold starts only the share is 0, whatever
/// was asked, as in the tool: each version is invoked once and every invocation must count.
fn trimming(args: &TuneArgs, input: &InputFile, only_cold_starts: bool) -> Result<(f64, f64)> {
    let asked = args.discard.or(input.discard_top_bottom);
    let discard = match asked {
        Some(d) if only_cold_starts && d > 0.0 => {
            let _ = writeln!(
                std::io::stderr(),
                "note: with only cold starts every invocation counts: discard {d} ignored, as aws-lambda-power-tuning does"
            );
            0.0
        }
        _ if only_cold_starts => 0.0,
        Some(d) => d,
        None => DEFAULT_DISCARD,
    };
    args::check_discard(discard).map_err(anyhow::Error::msg)?;
    let weight = args
        .balanced_weight
        .or(input.balanced_weight)
        .unwrap_or(DEFAULT_BALANCED_WEIGHT);
    args::check_weight(weight).map_err(anyhow::Error::msg)?;
    Ok((discard, weight))
}

impl TuneConfig {
    /// Combines `args`, its `--input` file and the defaults; `default_payload` is used when neither
    /// names a payload.
    pub fn resolve(args: &TuneArgs, default_payload: Value) -> Result<TuneConfig> {
        let mut input = match &args.input {
            Some(path) => read_input(path)?,
            None => InputFile::default(),
        };
        let err = anyhow::Error::msg;
        let powers = powers(args, input.power_values.as_ref())?;
        let only_cold_starts = args.only_cold_starts || input.only_cold_starts.unwrap_or(false);
        let (num, auto) = counts(args, &input, only_cold_starts)?;
        let sent = auto.map_or(num, |a| a.max_num);
        let (payload, payloads) = payloads(args, input.payload.take(), default_payload, sent)?;
        let (discard, balanced_weight) = trimming(args, &input, only_cold_starts)?;
        let auto_optimize_alias = args.auto_optimize_alias.clone().or(input.auto_optimize_alias);
        if let Some(alias) = &auto_optimize_alias {
            args::check_alias(alias).map_err(err)?;
        }
        let function = args
            .function
            .clone()
            .or_else(|| input.lambda_arn.as_deref().and_then(named_function));
        let arches = arches(args)?;

        let cfg = TuneConfig {
            function,
            powers,
            num,
            auto,
            metric: args.metric.unwrap_or_default(),
            payload,
            payloads,
            parallel: args.parallel || input.parallel_invocation.unwrap_or(false),
            strategy: args.strategy.or(input.strategy).unwrap_or_default(),
            cost_model: args.cost_model.unwrap_or_default(),
            balanced_weight,
            discard,
            auto_optimize: args.auto_optimize || input.auto_optimize.unwrap_or(false),
            auto_optimize_alias,
            dry_run: args.dry_run || input.dry_run.unwrap_or(false),
            only_cold_starts,
            sleep_between_runs: Duration::from_millis(
                args.sleep_between_runs.or(input.sleep_between_runs_ms).unwrap_or(0),
            ),
            allowed_exceptions: args
                .allowed_exceptions
                .clone()
                .or(input.allowed_exceptions)
                .unwrap_or_default(),
            skip_failing: args.skip_failing,
            keep_versions: args.keep_versions,
            disable_payload_logs: args.disable_payload_logs
                || input.disable_payload_logs.unwrap_or(false),
            include_output_results: args.include_output_results
                || input.include_output_results.unwrap_or(false),
            report: args.report.clone(),
            arches,
        };
        cfg.check_arches()?;
        Ok(cfg)
    }

    /// Two instruction sets exclude the settings that would leave something behind on a function:
    /// the copy and its versions always go, and a winner's arch is the code's, not a setting.
    fn check_arches(&self) -> Result<()> {
        let Some(list) = self.arches.as_ref().filter(|a| a.len() > 1) else {
            return Ok(());
        };
        let named: Vec<&str> = list.iter().map(|a| a.as_str()).collect();
        if self.auto_optimize || self.auto_optimize_alias.is_some() {
            bail!(
                "--auto-optimize cannot apply a winner of --arch {}: the instruction set is the \
                 code's, not a setting; tune, then deploy the winning arch yourself",
                named.join(",")
            );
        }
        if self.keep_versions {
            bail!(
                "--keep-versions cannot keep the versions of --arch {}'s copy, which is removed \
                 with them: tune one instruction set to keep its versions",
                named.join(",")
            );
        }
        Ok(())
    }
}

/// `--arch`: each instruction set once.
fn arches(args: &TuneArgs) -> Result<Option<Vec<crate::arch::Arch>>> {
    let Some(list) = &args.arch else {
        return Ok(None);
    };
    for (i, arch) in list.iter().enumerate() {
        if list[..i].contains(arch) {
            bail!("--arch names {arch} twice: give each instruction set once (x86_64,arm64)");
        }
    }
    Ok(Some(list.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_input(text: &str) -> Result<TuneConfig> {
        let path = std::env::temp_dir().join(format!(
            "lab-tune-input-{}-{}.json",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let args = TuneArgs {
            input: Some(path.clone()),
            ..TuneArgs::default()
        };
        let result = TuneConfig::resolve(&args, json!(null));
        std::fs::remove_file(path).unwrap();
        result
    }

    #[test]
    fn defaults() {
        let cfg = TuneConfig::resolve(&TuneArgs::default(), json!({"operation": "list"})).unwrap();
        assert_eq!(cfg.powers, args::DEFAULT_POWERS);
        assert_eq!((cfg.num, cfg.payloads.len()), (10, 10));
        assert_eq!(
            (cfg.strategy, cfg.cost_model),
            (Strategy::Cost, CostModel::Pt)
        );
        assert_eq!((cfg.discard, cfg.balanced_weight), (0.2, 0.5));
        assert!(!cfg.parallel && !cfg.auto_optimize && !cfg.dry_run && !cfg.skip_failing);
        assert_eq!(cfg.function, None);
    }

    #[test]
    fn the_tutorials_input_with_its_placeholder() {
        let cfg = with_input(
            r#"{"lambdaARN": "PUT YOUR LAMBDA ARN HERE", "powerValues": [128, 256, 512, 1024, 2048],
                "num": 20, "payload": {"operation": "list", "tableName": "t", "payload": {}},
                "parallelInvocation": true, "strategy": "speed", "balancedWeight": 0.3,
                "discardTopBottom": 0.1}"#,
        )
        .unwrap();
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
        assert_eq!(cfg.function, None, "the placeholder names no function");
    }

    #[test]
    fn pt_keys_and_loose_numbers() {
        let cfg = with_input(
            r#"{"lambdaARN": "arn:aws:lambda:eu-west-1:123456789012:function:other", "num": "6",
                "powerValues": ["128", 256], "autoOptimize": true, "autoOptimizeAlias": "live",
                "includeOutputResults": true, "disablePayloadLogs": true, "dryRun": true,
                "onlyColdStarts": true, "allowedExceptions": ["NotFound"], "discardTopBottom": 0.3}"#,
        )
        .unwrap();
        assert_eq!(
            cfg.function.as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:other")
        );
        assert_eq!((cfg.num, cfg.powers.clone()), (6, vec![128, 256]));
        assert_eq!(cfg.auto_optimize_alias.as_deref(), Some("live"));
        assert!(cfg.auto_optimize && cfg.include_output_results && cfg.disable_payload_logs);
        assert!(cfg.dry_run && cfg.only_cold_starts && cfg.discard == 0.0);
        assert_eq!(cfg.allowed_exceptions, ["NotFound"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_one_line_errors() {
        let err = format!(
            "{:#}",
            with_input(r#"{"num": 10, "parallelInvocations": true}"#).unwrap_err()
        );
        assert!(err.contains("unknown field `parallelInvocations`"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let err = format!("{:#}", with_input(r#"{"num": 2}"#).unwrap_err());
        assert!(err.contains("at least 5"), "{err}");
        let err = format!(
            "{:#}",
            with_input(r#"{"autoOptimizeAlias": "1"}"#).unwrap_err()
        );
        assert!(err.contains("alias name"), "{err}");
        let err = format!(
            "{:#}",
            with_input(r#"{"preProcessorARN": "arn:x"}"#).unwrap_err()
        );
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let path = std::env::temp_dir().join(format!("lab-tune-flags-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"num": 20, "strategy": "speed", "lambdaARN": "a-fn"}"#,
        )
        .unwrap();
        let args = TuneArgs {
            input: Some(path.clone()),
            num: Some(Num::Fixed(6)),
            strategy: Some(Strategy::Cost),
            function: Some("b-fn".into()),
            ..TuneArgs::default()
        };
        let cfg = TuneConfig::resolve(&args, json!(null)).unwrap();
        std::fs::remove_file(path).unwrap();
        assert_eq!((cfg.num, cfg.strategy), (6, Strategy::Cost));
        assert_eq!(cfg.function.as_deref(), Some("b-fn"));
    }

    #[test]
    fn num_auto() {
        let auto = |set: fn(&mut TuneArgs)| {
            let mut args = TuneArgs {
                num: Some(Num::Auto),
                ..TuneArgs::default()
            };
            set(&mut args);
            TuneConfig::resolve(&args, json!(null)).map_err(|e| format!("{e:#}"))
        };
        let cfg = auto(|_| {}).unwrap();
        assert_eq!(cfg.num, 10);
        assert_eq!(cfg.payloads.len(), 100, "payloads for every round");
        assert_eq!(
            cfg.auto,
            Some(Auto {
                max_num: 100,
                target: 0.05,
                round: 10
            })
        );
        let err = auto(|a| a.only_cold_starts = true).unwrap_err();
        assert!(
            err.contains("--num auto cannot measure only cold starts"),
            "{err}"
        );
        let err = auto(|a| a.max_num = Some(6)).unwrap_err();
        assert!(err.contains("--max-num must be at least 10"), "{err}");
        let fixed = TuneArgs {
            max_num: Some(50),
            ..TuneArgs::default()
        };
        let err = format!(
            "{:#}",
            TuneConfig::resolve(&fixed, json!(null)).unwrap_err()
        );
        assert!(
            err.contains("--max-num applies to --num auto only"),
            "{err}"
        );
    }
}
