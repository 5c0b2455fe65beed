//! One memory size's measurements: the samples gathered, their statistics and cost, and the
//! verdicts once the winner is chosen.

use serde::Serialize;

use super::pricing::{Cost, Pricing};
use super::report_line::ReportLine;
use super::stats::{self, Summary};
use super::strategy::{self, Candidate, CostModel, Strategy};

/// The outcome for one memory size.
#[derive(Debug, Clone, Serialize)]
pub struct PowerResult {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why the size failed.
    pub error: Option<String>,
    /// Statistics, when the size succeeded.
    pub stats: Option<PowerStats>,
    /// Throttled calls retried.
    pub retries: u32,
    /// Failed invocations retried (at most two per invocation, as the power-tuning tool).
    pub error_retries: u32,
    /// Spent at this size (every invocation with a REPORT line, failed or not), full cost.
    pub total_cost: f64,
    /// The same in PT's model (its `totalCost`: each invocation's billed ms, no request charge).
    pub pt_total_cost: f64,
    /// Short judgement, e.g. `Best (cost)`, `Avoid`, `Fastest`.
    pub(crate) verdict: String,
    /// Cost and duration relative to the winner (1.0 = same).
    pub(crate) vs_best: Option<VsBest>,
}

/// Figures of a size whose invocations all succeeded.
#[derive(Debug, Clone, Serialize)]
pub struct PowerStats {
    /// Measured invocations.
    pub invocations: usize,
    /// Invocations that started a new instance (REPORT had Init Duration).
    pub cold_starts: usize,
    /// Invocations served by a warm instance.
    pub warm_starts: usize,
    /// Function errors of an allowed type, counted as measurements.
    pub allowed_errors: usize,
    /// Duration + Init Duration: trimmed mean, percentiles, min, max (ms).
    pub duration_ms: Summary,
    /// Trimmed mean of Billed Duration plus Billed Restore Duration (ms).
    pub(crate) avg_billed_ms: f64,
    /// Mean Init Duration of the cold starts (ms).
    pub(crate) avg_init_ms: Option<f64>,
    /// Largest Max Memory Used seen (MB).
    pub(crate) max_memory_used_mb: Option<u32>,
    /// Full cost of one invocation at the trimmed mean billed duration (request charge included).
    pub cost_per_invoke: f64,
    /// Its two parts.
    pub(crate) cost: Cost,
    /// PT's cost of one invocation (its `averagePrice`): the trimmed mean billed duration rounded
    /// up to the millisecond, no request charge.
    pub pt_cost_per_invoke: f64,
}

/// A size compared with the winner.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct VsBest {
    /// This size's cost / the winner's.
    pub(crate) cost_ratio: f64,
    /// This size's average duration / the winner's.
    pub(crate) duration_ratio: f64,
}

/// One measured invocation.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// Its REPORT line.
    pub(crate) report: ReportLine,
    /// The error type, when it was an allowed function error.
    pub(crate) allowed_error: Option<String>,
}

/// What the sweep gathered for one size, before statistics.
#[derive(Debug, Clone, Default)]
pub(crate) struct PowerOutcome {
    /// Memory size in MB.
    pub(crate) memory_mb: u32,
    /// Measured invocations (also those made before a failure, for the cost total).
    pub(crate) samples: Vec<Sample>,
    /// Cost-bearing invocations that failed or were rejected (their REPORT lines).
    pub(crate) failed_reports: Vec<ReportLine>,
    /// The first failure that retries did not cure; the size is skipped when set.
    pub(crate) error: Option<String>,
    /// Throttled calls retried.
    pub(crate) retries: u32,
    /// Failed invocations retried.
    pub(crate) error_retries: u32,
}

impl PowerOutcome {
    /// Statistics and cost for this size. `None` stats when it failed or measured nothing.
    pub(crate) fn to_result(&self, pricing: &Pricing, discard: f64) -> PowerResult {
        // A rejected REPORT was billed at the memory it names, not the size measured.
        let billed = || {
            self.samples.iter().map(|s| &s.report).chain(&self.failed_reports).map(|r| {
                (
                    r.total_billed_ms(),
                    r.memory_size_mb.unwrap_or(self.memory_mb),
                )
            })
        };
        let total_cost = billed().map(|(ms, mb)| pricing.cost(ms, mb).total()).sum();
        let pt_total_cost = billed().map(|(ms, mb)| pricing.pt_cost(ms, mb)).sum();
        let stats = if self.error.is_some() {
            None
        } else {
            self.stats(pricing, discard)
        };
        let error = match (&self.error, &stats) {
            (Some(e), _) => Some(e.clone()),
            (None, None) => Some("no invocation was measured".to_string()),
            (None, Some(_)) => None,
        };
        PowerResult {
            memory_mb: self.memory_mb,
            status: if stats.is_some() { "ok" } else { "failed" },
            error,
            stats,
            retries: self.retries,
            error_retries: self.error_retries,
            total_cost,
            pt_total_cost,
            verdict: String::new(),
            vs_best: None,
        }
    }

    fn stats(&self, pricing: &Pricing, discard: f64) -> Option<PowerStats> {
        let durations: Vec<f64> = self.samples.iter().map(|s| s.report.total_ms()).collect();
        let billed: Vec<f64> = self.samples.iter().map(|s| s.report.total_billed_ms()).collect();
        let duration_ms = stats::summarize(&durations, discard)?;
        let avg_billed_ms = stats::trimmed_mean(&billed, discard)?;
        let inits: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|s| s.report.init_ms.or(s.report.restore_ms))
            .collect();
        let cost = pricing.cost(avg_billed_ms, self.memory_mb);
        Some(PowerStats {
            invocations: self.samples.len(),
            cold_starts: inits.len(),
            warm_starts: self.samples.len() - inits.len(),
            allowed_errors: self.samples.iter().filter(|s| s.allowed_error.is_some()).count(),
            duration_ms,
            avg_billed_ms,
            avg_init_ms: (!inits.is_empty())
                .then(|| inits.iter().sum::<f64>() / inits.len() as f64),
            max_memory_used_mb: self
                .samples
                .iter()
                .filter_map(|s| s.report.max_memory_used_mb)
                .max(),
            cost_per_invoke: cost.total(),
            cost,
            pt_cost_per_invoke: pricing.pt_cost(avg_billed_ms, self.memory_mb),
        })
    }
}

impl PowerResult {
    /// Why the size has no statistics (`None` when it has them).
    pub(crate) fn failure(&self) -> Option<&str> {
        self.stats.is_none().then(|| self.error.as_deref().unwrap_or("failed"))
    }
}

impl PowerStats {
    /// The cost per invocation `model` compares.
    pub(crate) fn cost_in(&self, model: CostModel) -> f64 {
        match model {
            CostModel::Pt => self.pt_cost_per_invoke,
            CostModel::Full => self.cost_per_invoke,
        }
    }
}

/// The successful sizes as candidates priced in `model`, with their indexes in `powers`.
pub(crate) fn candidates(powers: &[PowerResult], model: CostModel) -> Vec<(usize, Candidate)> {
    powers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.stats.as_ref().map(|s| {
                (
                    i,
                    Candidate {
                        memory_mb: p.memory_mb,
                        cost: s.cost_in(model),
                        duration_ms: s.duration_ms.mean,
                    },
                )
            })
        })
        .collect()
}

/// Picks the winner among the successful sizes, comparing costs in `model`, and fills in verdicts
/// and comparisons. Returns the winner's index in `powers`.
pub(crate) fn judge(
    powers: &mut [PowerResult],
    strategy: Strategy,
    weight: f64,
    model: CostModel,
) -> Option<usize> {
    let ok = candidates(powers, model);
    let candidates: Vec<Candidate> = ok.iter().map(|(_, c)| *c).collect();
    let winner = strategy::pick(strategy, &candidates, weight).map(|k| ok[k].0);

    let best = winner
        .and_then(|w| powers[w].stats.as_ref().map(|s| (s.cost_in(model), s.duration_ms.mean)));
    let fastest = candidates.iter().map(|c| c.duration_ms).fold(f64::INFINITY, f64::min);
    let cheapest = candidates.iter().map(|c| c.cost).fold(f64::INFINITY, f64::min);
    let slowest = candidates.iter().map(|c| c.duration_ms).fold(0.0, f64::max);
    let dearest = candidates.iter().map(|c| c.cost).fold(0.0, f64::max);

    for (i, p) in powers.iter_mut().enumerate() {
        let Some(s) = &p.stats else {
            p.verdict = "Failed".to_string();
            continue;
        };
        let (cost, duration) = (s.cost_in(model), s.duration_ms.mean);
        if let Some((best_cost, best_duration)) = best {
            p.vs_best = Some(VsBest {
                cost_ratio: cost / best_cost,
                duration_ratio: duration / best_duration,
            });
        }
        // Dominated: another size is at least as cheap and as fast, and better in one of the two.
        let dominated = candidates.iter().any(|c| {
            c.cost <= cost
                && c.duration_ms <= duration
                && (c.cost < cost || c.duration_ms < duration)
        });
        p.verdict = if Some(i) == winner {
            format!("Best ({})", strategy.as_str())
        } else if dominated && candidates.len() > 2 && cost >= dearest && duration >= slowest {
            "Avoid: worst cost and time".to_string()
        } else if dominated {
            "Avoid".to_string()
        } else if duration <= fastest {
            "Fastest".to_string()
        } else if cost <= cheapest {
            "Cheapest".to_string()
        } else {
            "Trade-off".to_string()
        };
    }
    winner
}
