//! One memory size's measurements: the samples gathered, their statistics and cost, and the
//! verdicts once the winner is chosen.

use serde::Serialize;

use super::confidence::{self, Interval};
use super::decide::{self, ChosenBy, Evidence};
use super::pricing::{Cost, Pricing};
use super::report_line::ReportLine;
use super::stats::{self, Summary};
use super::strategy::{Candidate, CostModel, Metric, Strategy};
use crate::arch::Arch;

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
    /// In plain words against the winner: "256 MB: 17% more cost, 42% less time".
    pub(crate) versus: Option<String>,
    /// With `--arch` naming two instruction sets: the one this row was measured for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// Set when the figures come from a host CPU of another instruction set (the local stack runs
    /// an arm64 Python or Node.js function on an x86_64 host): that CPU, priced at `arch`'s rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<Arch>,
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
    /// 95% confidence intervals of these figures ([`confidence`] says how they are computed).
    pub confidence: Confidence,
}

/// One size's 95% confidence intervals. `None` where too few values were kept to have one.
#[derive(Debug, Clone, Serialize)]
pub struct Confidence {
    /// The duration the strategies compare (`--metric`).
    pub metric: Metric,
    /// Its value (ms): the trimmed mean, or that percentile of every invocation.
    pub metric_ms: f64,
    /// Its interval (ms).
    pub metric_ms_ci: Option<Interval>,
    /// Of the trimmed mean duration (ms).
    pub mean_ms: Option<Interval>,
    /// Of the trimmed mean billed duration (ms), which both costs are priced from.
    pub billed_ms: Option<Interval>,
    /// Of lab's full cost per invocation.
    pub cost: Option<Interval>,
    /// Of PT's cost per invocation (the billed interval's ends rounded up to the millisecond).
    pub pt_cost: Option<Interval>,
}

impl Confidence {
    /// The widest of the two, as a share of their values (infinite without an interval).
    pub(crate) fn widest(&self, avg_billed_ms: f64) -> f64 {
        let of = |ci: Option<Interval>, centre| {
            ci.map_or(f64::INFINITY, |ci| ci.relative_half_width(centre))
        };
        of(self.metric_ms_ci, self.metric_ms).max(of(self.billed_ms, avg_billed_ms))
    }
}

/// A size compared with the winner.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct VsBest {
    /// This size's cost / the winner's.
    pub(crate) cost_ratio: f64,
    /// This size's duration (the compared metric) / the winner's.
    pub(crate) duration_ratio: f64,
    /// The two costs' 95% intervals overlap: the difference may be noise.
    pub(crate) cost_within_noise: bool,
    /// The two durations' 95% intervals overlap.
    pub(crate) duration_within_noise: bool,
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
    /// Adds a later round's measurements of the same size.
    pub(crate) fn absorb(&mut self, later: PowerOutcome) {
        self.samples.extend(later.samples);
        self.failed_reports.extend(later.failed_reports);
        self.retries += later.retries;
        self.error_retries += later.error_retries;
        if self.error.is_none() {
            self.error = later.error;
        }
    }

    /// Statistics and cost for this size. `None` stats when it failed or measured nothing.
    pub(crate) fn to_result(&self, pricing: &Pricing, discard: f64, metric: Metric) -> PowerResult {
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
            self.stats(pricing, discard, metric)
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
            versus: None,
            arch: None,
            measured_on: None,
        }
    }

    fn stats(&self, pricing: &Pricing, discard: f64, metric: Metric) -> Option<PowerStats> {
        let durations: Vec<f64> = self.samples.iter().map(|s| s.report.total_ms()).collect();
        let billed: Vec<f64> = self.samples.iter().map(|s| s.report.total_billed_ms()).collect();
        let duration_ms = stats::summarize(&durations, discard)?;
        let avg_billed_ms = stats::trimmed_mean(&billed, discard)?;
        // No time is below 0 ms, whatever a t-interval's arithmetic says of a noisy small sample.
        let at_least_zero = |ci: Interval| ci.map(|v| v.max(0.0));
        let mean_ms = confidence::trimmed_mean(&durations, discard).map(at_least_zero);
        let billed_ci = confidence::trimmed_mean(&billed, discard).map(at_least_zero);
        let memory_mb = self.memory_mb;
        let confidence = Confidence {
            metric,
            metric_ms: metric.of(&duration_ms),
            metric_ms_ci: match metric.percentile() {
                None => mean_ms,
                Some(p) => confidence::percentile(&durations, p),
            },
            mean_ms,
            billed_ms: billed_ci,
            cost: billed_ci.map(|ci| ci.map(|ms| pricing.cost(ms, memory_mb).total())),
            pt_cost: billed_ci.map(|ci| ci.map(|ms| pricing.pt_cost(ms, memory_mb))),
        };
        let inits: Vec<f64> = self.samples.iter().filter_map(|s| s.report.start_up_ms()).collect();
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
            confidence,
        })
    }
}

impl PowerResult {
    /// How lines name this row: `512 MB`, with `--arch` `512 MB arm64`, and where the figures
    /// are another CPU's, `512 MB arm64 (this host's x86_64 CPU)`.
    pub(crate) fn label(&self) -> String {
        let mut label = format!("{} MB", self.memory_mb);
        if let Some(arch) = self.arch {
            label.push_str(&format!(" {arch}"));
        }
        if let Some(cpu) = self.measured_on {
            label.push_str(&format!(" (this host's {cpu} CPU)"));
        }
        label
    }

    /// Whether this row is `memory_mb` at `arch` (`None`: the run's one instruction set).
    pub(crate) fn is(&self, memory_mb: u32, arch: Option<Arch>) -> bool {
        self.memory_mb == memory_mb && self.arch == arch
    }

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

    /// The 95% interval of the cost `model` compares.
    pub(crate) fn cost_ci_in(&self, model: CostModel) -> Option<Interval> {
        match model {
            CostModel::Pt => self.confidence.pt_cost,
            CostModel::Full => self.confidence.cost,
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

/// The successful sizes as lab ranks them: priced in `model`, their duration the compared metric,
/// with their 95% intervals; with their indexes in `powers`.
fn ranked(powers: &[PowerResult], model: CostModel) -> Vec<(usize, Candidate, Evidence)> {
    powers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let s = p.stats.as_ref()?;
            let candidate = Candidate {
                memory_mb: p.memory_mb,
                cost: s.cost_in(model),
                duration_ms: s.confidence.metric_ms,
            };
            let evidence = Evidence {
                cost: s.cost_ci_in(model),
                duration: s.confidence.metric_ms_ci,
            };
            Some((i, candidate, evidence))
        })
        .collect()
}

/// The winner and how it was found, as indexes in `powers`.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    /// The chosen size.
    pub(crate) winner: usize,
    /// The strategy's pick on point estimates alone (aws-lambda-power-tuning's way).
    pub(crate) point: usize,
    /// The sizes within noise of that pick (one when the lead is clear).
    pub(crate) tied: Vec<usize>,
    /// How the winner was chosen.
    pub(crate) chosen_by: ChosenBy,
}

/// Decides the winner among the successful sizes ([`decide`]: a lead only when it is outside the
/// 95% intervals), comparing costs in `model` and durations on each size's metric, and fills in
/// verdicts and comparisons. `None` when no size succeeded.
pub(crate) fn judge(
    powers: &mut [PowerResult],
    strategy: Strategy,
    weight: f64,
    model: CostModel,
) -> Option<Judged> {
    let ok = ranked(powers, model);
    let candidates: Vec<Candidate> = ok.iter().map(|(_, c, _)| *c).collect();
    let evidence: Vec<Evidence> = ok.iter().map(|(_, _, e)| *e).collect();
    let decision = decide::decide(strategy, &candidates, &evidence, weight);
    let judged = decision.map(|d| Judged {
        winner: ok[d.chosen].0,
        point: ok[d.point].0,
        tied: d.tied.iter().map(|&k| ok[k].0).collect(),
        chosen_by: d.chosen_by,
    });
    let winner = judged.as_ref().map(|j| j.winner);
    let best = winner.and_then(|w| {
        let k = ok.iter().position(|(i, _, _)| *i == w)?;
        Some((candidates[k], evidence[k]))
    });
    let fastest = candidates.iter().map(|c| c.duration_ms).fold(f64::INFINITY, f64::min);
    let cheapest = candidates.iter().map(|c| c.cost).fold(f64::INFINITY, f64::min);
    let slowest = candidates.iter().map(|c| c.duration_ms).fold(0.0, f64::max);
    let dearest = candidates.iter().map(|c| c.cost).fold(0.0, f64::max);
    let tied = judged.as_ref().map(|j| j.tied.clone()).unwrap_or_default();
    let powers_labels: Vec<String> = powers.iter().map(PowerResult::label).collect();

    for (i, p) in powers.iter_mut().enumerate() {
        let Some(k) = ok.iter().position(|(j, _, _)| *j == i) else {
            p.verdict = "Failed".to_string();
            continue;
        };
        let (c, e) = (candidates[k], evidence[k]);
        let (cost, duration) = (c.cost, c.duration_ms);
        if let Some((b, be)) = best {
            let noise = |x: Option<Interval>, y: Option<Interval>| match (x, y) {
                (Some(x), Some(y)) => x.overlaps(&y),
                _ => true,
            };
            let vs = VsBest {
                cost_ratio: cost / b.cost,
                duration_ratio: duration / b.duration_ms,
                cost_within_noise: noise(e.cost, be.cost),
                duration_within_noise: noise(e.duration, be.duration),
            };
            p.vs_best = Some(vs);
            let winner_label = winner.map(|w| powers_labels[w].clone()).unwrap_or_default();
            p.versus = (Some(i) != winner).then(|| versus(&p.label(), &vs, &winner_label));
        }
        // Dominated: another size is at least as cheap and as fast, and better in one of the two.
        let dominated = candidates.iter().any(|c| {
            c.cost <= cost
                && c.duration_ms <= duration
                && (c.cost < cost || c.duration_ms < duration)
        });
        p.verdict = if Some(i) == winner {
            if tied.len() > 1 {
                format!("Best ({}), tie within noise", strategy.as_str())
            } else {
                format!("Best ({})", strategy.as_str())
            }
        } else if tied.contains(&i) {
            "Tie within noise".to_string()
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
    judged
}

/// "256 MB: 17% more cost, 42% less time than 512 MB", with "(within noise)" after a difference
/// whose 95% intervals overlap the winner's.
pub(crate) fn versus(label: &str, vs: &VsBest, winner: &str) -> String {
    let part = |ratio: f64, what: &str, noise: bool| {
        let pct = ((ratio - 1.0) * 100.0).round();
        let said = if pct > 0.0 {
            format!("{pct:.0}% more {what}")
        } else if pct < 0.0 {
            format!("{:.0}% less {what}", -pct)
        } else {
            format!("same {what}")
        };
        if noise {
            format!("{said} (within noise)")
        } else {
            said
        }
    };
    format!(
        "{label}: {}, {} than {winner}",
        part(vs.cost_ratio, "cost", vs.cost_within_noise),
        part(vs.duration_ratio, "time", vs.duration_within_noise)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_against_the_winner() {
        let vs = VsBest {
            cost_ratio: 1.17,
            duration_ratio: 0.58,
            cost_within_noise: false,
            duration_within_noise: false,
        };
        assert_eq!(
            versus("256 MB", &vs, "512 MB"),
            "256 MB: 17% more cost, 42% less time than 512 MB"
        );
        let close = VsBest {
            cost_ratio: 0.998,
            duration_ratio: 1.04,
            duration_within_noise: true,
            ..vs
        };
        assert_eq!(
            versus("1024 MB", &close, "512 MB"),
            "1024 MB: same cost, 4% more time (within noise) than 512 MB"
        );
    }
}
