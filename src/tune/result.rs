//! What a tuning run found, as printed and as JSON: the plan, the per-size results ([`super::power`]),
//! PT's document, the winner, the cleanup and the timings.

use serde::Serialize;
use serde_json::Value;

use crate::arch::Arch;

use super::auto::AutoReport;
use super::config::TuneConfig;
use super::decide::ChosenBy;
use super::power::PowerResult;
use super::pricing::Pricing;
use super::pt_output::PtOutput;
use super::strategy::{CostModel, Metric, Strategy};
use super::versions::Cleanup;

/// The whole outcome of `lab tune` (`--output json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct TuneResult {
    /// aws-lambda-power-tuning's output document for this run (`power`, `cost`, `duration`,
    /// `stateMachine`, and `stats` with `includeOutputResults`), under the key its README uses;
    /// `None` in a dry run, which analyses nothing (as the tool's).
    pub results: Option<PtOutput>,
    /// The tuned function.
    pub(crate) function: String,
    /// Region used for pricing.
    pub(crate) region: String,
    /// The function's instruction set.
    pub(crate) architecture: Arch,
    /// Prices applied.
    pub(crate) pricing: Pricing,
    /// What was (or, in a dry run, would be) done.
    pub plan: Plan,
    /// One entry per memory size, in the order tried (empty in a dry run).
    pub powers: Vec<PowerResult>,
    /// The chosen size; `None` in a dry run.
    pub winner: Option<Winner>,
    /// Which cost chose the winner.
    pub(crate) cost_model: CostModel,
    /// Spent by every invocation of the run, all sizes (including failed ones), full cost.
    pub(crate) tuning_cost: f64,
    /// Invocations that produced a REPORT line.
    pub(crate) invocations: u64,
    /// Memory before tuning (`None` in a dry run, which reads nothing).
    pub original_memory_mb: Option<u32>,
    /// Memory the function was left with: the original, or the winner with --auto-optimize.
    pub restored_memory_mb: Option<u32>,
    /// The versions and aliases the run published, and what became of them.
    pub versions: Cleanup,
    /// With --auto-optimize-alias: the alias and the version it now points at.
    pub optimized_alias: Option<(String, String)>,
    /// How long each phase took.
    pub(crate) timings: Timings,
    /// The account's unreserved concurrency the invocations were paced by (`None`: unknown, unpaced).
    pub concurrency_limit: Option<u32>,
    /// How the 95% intervals are computed.
    pub confidence_method: &'static str,
    /// With `--num auto`: the rounds, and whether every size got within the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<AutoReport>,
    /// On the local stack: how much the host's CPU held the run's invocations back (outside the
    /// REPORT durations the figures come from; Lambda has no such wait). `None` elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_cpu: Option<crate::local_cpu::HostCpu>,
    /// On the local stack, when the function runs an unoptimised Rust build: why its figures do
    /// not forecast AWS's, and what to deploy instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_note: Option<String>,
    /// With `--arch` naming two instruction sets: each one's own run (its function or copy, its
    /// best size, PT's document, its cleanup). Then `powers` holds every memory × arch row, each
    /// with its `arch`, and `winner` is the best of them all; empty for one instruction set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<ArchRun>,
    /// With `--arch`: each instruction set's best against the function's own's, in plain words
    /// ("arm64 at 512 MB: 18% less cost, 3% more time than x86_64 at 512 MB").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arch_comparisons: Vec<String>,
}

/// One instruction set's part of a `--arch` run.
#[derive(Debug, Clone, Serialize)]
pub struct ArchRun {
    /// The instruction set.
    pub arch: Arch,
    /// The function tuned for it: the original, or its temporary copy.
    pub function: String,
    /// Whether `function` is a copy made for the run (and removed afterwards).
    pub copy: bool,
    /// Whether the copy is gone (checked after deleting it); `true` for the original.
    pub removed: bool,
    /// Set when its figures come from a host CPU of another instruction set (the local stack):
    /// that CPU, priced at this instruction set's rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<Arch>,
    /// What `measured_on` means, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its prices.
    pub(crate) pricing: Pricing,
    /// The best size of this instruction set alone.
    pub winner: Option<Winner>,
    /// aws-lambda-power-tuning's output document for this instruction set's function.
    pub results: Option<PtOutput>,
    /// Spent by its invocations, full cost.
    pub(crate) tuning_cost: f64,
    /// Its invocations that produced a REPORT line.
    pub(crate) invocations: u64,
    /// Its versions and aliases, and what became of them.
    pub versions: Cleanup,
    /// How long its phases took.
    pub(crate) timings: Timings,
}

/// One memory × arch row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// The instruction set.
    pub arch: Arch,
}

impl TuneResult {
    /// How lines name the winner: its row's label (with `--arch`, its arch, and where the figures
    /// are another CPU's, the words that say so).
    pub(crate) fn winner_label(&self) -> Option<String> {
        let w = self.winner.as_ref()?;
        let row = self.powers.iter().find(|p| p.is(w.memory_mb, w.arch));
        Some(row.map_or_else(|| w.label(), PowerResult::label))
    }
}

/// How long each phase of a run took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Timings {
    /// Publishing the versions and aliases, and restoring `$LATEST` (Lambda's update times).
    pub(crate) publish_ms: f64,
    /// Invoking the aliases.
    pub(crate) measure_ms: f64,
    /// Restoring `$LATEST` again if needed and deleting the aliases and versions.
    pub(crate) cleanup_ms: f64,
}

/// The settings of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Memory sizes in MB, in order.
    pub(crate) powers: Vec<u32>,
    /// Invocations per size (with `--num auto`, the first round's).
    pub(crate) num: u32,
    /// `--num auto`: the most invocations per size; `None` for a fixed count.
    pub(crate) max_num: Option<u32>,
    /// The duration the strategies compare.
    pub(crate) metric: Metric,
    /// All at once per size.
    pub(crate) parallel: bool,
    /// Winner selection.
    pub(crate) strategy: Strategy,
    /// Balanced strategy weight.
    pub(crate) balanced_weight: f64,
    /// Trimmed-mean share dropped from each end.
    pub discard_top_bottom: f64,
    /// Cold starts forced.
    pub(crate) only_cold_starts: bool,
    /// Pause between sequential invocations.
    pub(crate) sleep_between_runs_ms: u64,
    /// Leave the winner configured.
    pub(crate) auto_optimize: bool,
    /// Only printed the plan.
    pub(crate) dry_run: bool,
    /// Error types counted as measurements.
    pub(crate) allowed_exceptions: Vec<String>,
    /// The payloads with their relative weights.
    pub(crate) payloads: Vec<WeightedPayload>,
    /// `powers x num` (one per size in a dry run; with `--num auto`, the most it may make).
    pub total_invocations: u64,
    /// Versions (and aliases) published: one per size, `num` per size with `only_cold_starts`.
    pub(crate) versions_published: u64,
    /// Updates of `$LATEST`: one per version published, and one to restore it.
    pub configuration_updates: u64,
}

impl Plan {
    /// The plan of `cfg` for a function whose `$LATEST` is at `original_mb`, for the output.
    pub(crate) fn of(cfg: &TuneConfig, original_mb: u32) -> Plan {
        let per_size = if cfg.only_cold_starts {
            cfg.num as u64
        } else {
            1
        };
        let sizes = cfg.powers.len() as u64;
        Plan {
            powers: cfg.powers.clone(),
            num: cfg.num,
            max_num: cfg.auto.map(|a| a.max_num),
            metric: cfg.metric,
            parallel: cfg.parallel,
            strategy: cfg.strategy,
            balanced_weight: cfg.balanced_weight,
            discard_top_bottom: cfg.discard,
            only_cold_starts: cfg.only_cold_starts,
            sleep_between_runs_ms: cfg.sleep_between_runs.as_millis() as u64,
            auto_optimize: cfg.auto_optimize,
            dry_run: cfg.dry_run,
            allowed_exceptions: cfg.allowed_exceptions.clone(),
            payloads: cfg
                .payload
                .entries()
                .into_iter()
                .map(|(payload, weight)| WeightedPayload {
                    payload: payload.clone(),
                    weight,
                })
                .collect(),
            total_invocations: sizes
                * match (cfg.dry_run, cfg.auto) {
                    (true, _) => 1,
                    (false, Some(auto)) => auto.max_num as u64,
                    (false, None) => cfg.num as u64,
                },
            versions_published: sizes * if cfg.dry_run { 1 } else { per_size },
            configuration_updates: updates(cfg, original_mb),
        }
    }
}

/// Updates of `$LATEST` a run makes: one per version and one to restore it; with one version per
/// size, `$LATEST`'s own size (published last) restores it, and alone needs no update at all.
fn updates(cfg: &TuneConfig, original_mb: u32) -> u64 {
    let sizes = cfg.powers.len() as u64;
    if cfg.only_cold_starts && !cfg.dry_run {
        // Every version changes the description, which must be put back.
        return sizes * cfg.num as u64 + 1;
    }
    match (cfg.powers.contains(&original_mb), sizes) {
        (true, 1) => 0,
        (true, _) => sizes,
        (false, _) => sizes + 1,
    }
}

/// One payload and its relative weight.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WeightedPayload {
    /// The JSON document.
    pub(crate) payload: Value,
    /// Relative weight (1 for a single payload).
    pub(crate) weight: f64,
}

/// The chosen memory size.
#[derive(Debug, Clone, Serialize)]
pub struct Winner {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// Trimmed mean duration (ms).
    pub(crate) avg_duration_ms: f64,
    /// The duration compared (`--metric`) and its value (ms).
    pub(crate) metric: Metric,
    /// Its value.
    pub(crate) metric_ms: f64,
    /// The sizes within noise of the strategy's pick on point estimates (MB), the winner among
    /// them; one size when the lead is clear.
    pub tied_mb: Vec<u32>,
    /// How the winner was chosen among them.
    pub chosen_by: ChosenBy,
    /// The strategy's pick on point estimates alone, as aws-lambda-power-tuning picks (MB).
    pub point_pick_mb: u32,
    /// Cost per invocation in the model that chose it.
    pub(crate) cost_per_invoke: f64,
    /// The strategy that chose it.
    pub(crate) strategy: Strategy,
    /// The cost model the strategy compared.
    pub cost_model: CostModel,
    /// With `--arch` naming two instruction sets: the winner's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// With `--arch`: the rows within noise of the pick, as memory × arch (`tied_mb` has their
    /// memory sizes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<Choice>,
}

impl Winner {
    /// The chosen row among `powers`, judged: its figures and how it was found.
    pub(crate) fn of(
        powers: &[PowerResult],
        judged: &super::power::Judged,
        cfg: &TuneConfig,
    ) -> Winner {
        let w = &powers[judged.winner];
        let s = w.stats.as_ref().expect("the winner has statistics");
        let multi = w.arch.is_some();
        Winner {
            memory_mb: w.memory_mb,
            avg_duration_ms: s.duration_ms.mean,
            metric: cfg.metric,
            metric_ms: s.confidence.metric_ms,
            tied_mb: judged.tied.iter().map(|&i| powers[i].memory_mb).collect(),
            chosen_by: judged.chosen_by,
            point_pick_mb: powers[judged.point].memory_mb,
            cost_per_invoke: s.cost_in(cfg.cost_model),
            strategy: cfg.strategy,
            cost_model: cfg.cost_model,
            arch: w.arch,
            tied: judged
                .tied
                .iter()
                .filter(|_| multi)
                .filter_map(|&i| {
                    Some(Choice {
                        memory_mb: powers[i].memory_mb,
                        arch: powers[i].arch?,
                    })
                })
                .collect(),
        }
    }

    /// How lines name the winner: `512 MB`, or with `--arch` `512 MB arm64`.
    pub(crate) fn label(&self) -> String {
        match self.arch {
            Some(arch) => format!("{} MB {arch}", self.memory_mb),
            None => format!("{} MB", self.memory_mb),
        }
    }
}
