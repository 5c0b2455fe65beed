//! A `--arch` run's instruction sets judged together: every memory × arch row in one table, one
//! winner among them all on the same evidence as a single run's (a lead only outside the 95%
//! intervals, [`super::decide`]), each instruction set's own run kept beside it, and a plain line
//! per instruction set comparing its best with the function's own's.

use anyhow::{anyhow, Result};

use super::config::TuneConfig;
use super::power::{self, PowerResult, VsBest};
use super::result::{ArchRun, Timings, TuneResult, Winner};
use crate::arch::Arch;

/// One instruction set's finished run.
pub(crate) struct ArchOutcome {
    /// The instruction set.
    pub(crate) arch: Arch,
    /// The copy tuned for it (`None`: the original function).
    pub(crate) copy: Option<String>,
    /// The host CPU its figures come from, when it is not `arch` (the local stack).
    pub(crate) measured_on: Option<Arch>,
    /// Its judged result.
    pub(crate) result: TuneResult,
}

/// The CPU Lambda runs `arch` on, as the notes name it.
fn hardware(arch: Arch) -> &'static str {
    match arch {
        Arch::Arm64 => "Graviton",
        Arch::X86_64 => "an x86_64 CPU",
    }
}

/// What a figure measured on another CPU means, in words.
pub(crate) fn note(arch: Arch, cpu: Arch) -> String {
    format!(
        "{arch} figures are this host's {cpu} CPU priced at {arch} rates, not {}: the local stack \
         runs every function on this host, so they differ from {cpu}'s by the price alone; tune \
         on AWS to measure {arch}",
        hardware(arch)
    )
}

/// The rows of every instruction set, judged as one run; `own` is the function's instruction set
/// (the baseline of the comparisons), `removed` the copies deleted.
pub(crate) fn combine(
    cfg: &TuneConfig,
    own: Arch,
    outcomes: Vec<ArchOutcome>,
    removed: Vec<String>,
) -> Result<TuneResult> {
    // The function's own rows first: the baseline reads first, and a tie nothing measured settles
    // at equal memory keeps the instruction set the function has (the smaller memory is the first
    // found), since no figure favours a move.
    let mut outcomes = outcomes;
    outcomes.sort_by_key(|o| o.arch != own);
    let mut powers: Vec<PowerResult> = Vec::new();
    for o in &outcomes {
        powers.extend(o.result.powers.iter().cloned().map(|mut p| {
            p.arch = Some(o.arch);
            p.measured_on = o.measured_on;
            p
        }));
    }
    let winner = if cfg.dry_run {
        None
    } else {
        let judged = power::judge(
            &mut powers,
            cfg.strategy,
            cfg.balanced_weight,
            cfg.cost_model,
        )
        .ok_or_else(|| anyhow!("every memory size of every instruction set failed"))?;
        Some(Winner::of(&powers, &judged, cfg))
    };
    let comparisons = comparisons(cfg, own, &outcomes);
    let base = outcomes.iter().position(|o| o.arch == own).unwrap_or(0);
    let arches: Vec<ArchRun> = outcomes
        .iter()
        .map(|o| ArchRun {
            arch: o.arch,
            function: o.result.function.clone(),
            copy: o.copy.is_some(),
            removed: o.copy.as_ref().is_none_or(|name| removed.contains(name)),
            measured_on: o.measured_on,
            note: o.measured_on.map(|cpu| note(o.arch, cpu)),
            pricing: o.result.pricing,
            winner: o.result.winner.clone(),
            results: o.result.results.clone(),
            tuning_cost: o.result.tuning_cost,
            invocations: o.result.invocations,
            versions: o.result.versions.clone(),
            timings: o.result.timings,
        })
        .collect();
    let sum = |f: fn(&Timings) -> f64| outcomes.iter().map(|o| f(&o.result.timings)).sum();
    let timings = Timings {
        publish_ms: sum(|t| t.publish_ms),
        measure_ms: sum(|t| t.measure_ms),
        cleanup_ms: sum(|t| t.cleanup_ms),
    };
    // The function's own run carries the fields a single run has (its PT document, its memory
    // before and after, its versions), so a reader of one-arch JSON finds them where they were.
    let first = outcomes.swap_remove(base).result;
    Ok(TuneResult {
        tuning_cost: arches.iter().map(|a| a.tuning_cost).sum(),
        invocations: arches.iter().map(|a| a.invocations).sum(),
        timings,
        winner,
        powers,
        arches,
        arch_comparisons: comparisons,
        ..first
    })
}

/// Each instruction set's best against the function's own's best (the first tuned when the own
/// was not), as "arm64 at 512 MB: 18% less cost, 3% more time than x86_64 at 512 MB".
fn comparisons(cfg: &TuneConfig, own: Arch, outcomes: &[ArchOutcome]) -> Vec<String> {
    fn best(o: &ArchOutcome) -> Option<(&ArchOutcome, u32, super::power::PowerStats)> {
        let w = o.result.winner.as_ref()?;
        let p = o.result.powers.iter().find(|p| p.memory_mb == w.memory_mb)?;
        Some((o, w.memory_mb, p.stats.clone()?))
    }
    let Some(base) = outcomes.iter().find(|o| o.arch == own).or(outcomes.first()) else {
        return Vec::new();
    };
    let Some((_, base_mb, base_stats)) = best(base) else {
        return Vec::new();
    };
    let model = cfg.cost_model;
    let overlap = |a: Option<super::confidence::Interval>,
                   b: Option<super::confidence::Interval>| {
        match (a, b) {
            (Some(a), Some(b)) => a.overlaps(&b),
            _ => true,
        }
    };
    outcomes
        .iter()
        .filter(|o| o.arch != base.arch)
        .filter_map(best)
        .map(|(o, mb, s)| {
            let vs = VsBest {
                cost_ratio: s.cost_in(model) / base_stats.cost_in(model),
                duration_ratio: s.confidence.metric_ms / base_stats.confidence.metric_ms,
                cost_within_noise: overlap(s.cost_ci_in(model), base_stats.cost_ci_in(model)),
                duration_within_noise: overlap(
                    s.confidence.metric_ms_ci,
                    base_stats.confidence.metric_ms_ci,
                ),
            };
            let mut line = power::versus(
                &format!("{} at {mb} MB", o.arch),
                &vs,
                &format!("{} at {base_mb} MB", base.arch),
            );
            line.push_str(&format!(", each one's best for {}", cfg.strategy.as_str()));
            for (arch, cpu) in [(o.arch, o.measured_on), (base.arch, base.measured_on)] {
                if let Some(cpu) = cpu {
                    line.push_str(&format!(
                        "; {arch} here is this host's {cpu} CPU at {arch} prices, not {}",
                        hardware(arch)
                    ));
                }
            }
            line
        })
        .collect()
}
