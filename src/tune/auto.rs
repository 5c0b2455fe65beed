//! `--num auto`: invoke in rounds until every size's 95% intervals are narrow enough.
//!
//! The first round is a fixed run's default count per size; each later round adds
//! [`super::args::AUTO_ROUND`] invocations to the sizes whose interval of the compared duration, or
//! of the billed duration (so of the cost, which is linear in it), is still wider than ±5% of its
//! value; a size that reached it is left alone. The run stops when no size is left, or at
//! `--max-num` per size. Rounds go size by size (or side by side with `--parallel`) exactly as a
//! fixed run does, so a round is a fixed run on the sizes it names.

use anyhow::Result;
use serde::Serialize;

use super::config::{Auto, TuneConfig};
use super::power::PowerOutcome;
use super::pricing::Pricing;
use super::sweep::{say, sweep, Pace, Progress};
use crate::control::VersionControl;

/// What `--num auto` did.
#[derive(Debug, Clone, Serialize)]
pub struct AutoReport {
    /// The share of its value each interval had to be within (0.05: ±5%).
    pub target: f64,
    /// The most invocations per size.
    pub max_num: u32,
    /// Rounds made.
    pub rounds: u32,
    /// Every size that did not fail got within the target.
    pub reached: bool,
    /// Per size: invocations made and the widest interval left.
    pub sizes: Vec<AutoSize>,
}

/// One size under `--num auto`.
#[derive(Debug, Clone, Serialize)]
pub struct AutoSize {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// Invocations measured.
    pub invocations: usize,
    /// The wider of its two intervals (compared duration, billed duration) as a share of its
    /// value; `None` when it has no interval (it failed, or too few values were kept).
    pub widest: Option<f64>,
}

/// What one round needs besides the sizes.
pub(super) struct Rounds<'a> {
    /// The run's settings; `payloads` holds `--max-num` of them.
    pub(super) cfg: &'a TuneConfig,
    /// `--num auto`'s settings.
    pub(super) auto: Auto,
    /// The function.
    pub(super) target: &'a dyn VersionControl,
    /// Prices, for the cost's interval.
    pub(super) pricing: Pricing,
}

impl Rounds<'_> {
    /// The widest interval of `outcome`, as a share of its value (infinite without one).
    fn widest(&self, outcome: &PowerOutcome) -> f64 {
        let result = outcome.to_result(&self.pricing, self.cfg.discard, self.cfg.metric);
        match (&result.stats, &result.error) {
            (Some(s), None) => s.confidence.widest(s.avg_billed_ms),
            _ => f64::INFINITY,
        }
    }

    /// Measures `ready` (each size's memory and aliases) in rounds; returns every size's outcome,
    /// in `ready`'s order, and what the rounds did.
    pub(super) async fn run(
        &self,
        ready: &[(u32, Vec<String>)],
        pace: Pace<'_>,
        progress: &Progress,
    ) -> Result<(Vec<PowerOutcome>, AutoReport)> {
        let (cfg, auto) = (self.cfg, self.auto);
        let mut outcomes: Vec<PowerOutcome> = ready
            .iter()
            .map(|(memory_mb, _)| PowerOutcome {
                memory_mb: *memory_mb,
                ..PowerOutcome::default()
            })
            .collect();
        let mut pending: Vec<usize> = (0..ready.len()).collect();
        let max = auto.max_num as usize;
        let (mut sent, mut rounds) = (0usize, 0u32);
        while !pending.is_empty() && sent < max {
            let size = if rounds == 0 { cfg.num } else { auto.round };
            let take = (size as usize).min(max - sent);
            let mut round = cfg.clone();
            round.payloads = cfg.payloads[sent..sent + take].to_vec();
            let sizes: Vec<(u32, Vec<String>)> =
                pending.iter().map(|&i| ready[i].clone()).collect();
            for measured in sweep(&round, self.target, &sizes, pace, progress).await? {
                if let Some(i) = ready.iter().position(|(m, _)| *m == measured.memory_mb) {
                    outcomes[i].absorb(measured);
                }
            }
            sent += take;
            rounds += 1;
            pending.retain(|&i| {
                outcomes[i].error.is_none() && self.widest(&outcomes[i]) > auto.target
            });
            if !pending.is_empty() && sent < max {
                let names: Vec<String> = pending
                    .iter()
                    .map(|&i| {
                        let w = self.widest(&outcomes[i]);
                        format!("{} MB ±{:.1}%", outcomes[i].memory_mb, w * 100.0)
                    })
                    .collect();
                say(
                    progress.visible(),
                    &format!(
                        "round {}: {} more at {} (95% intervals still wider than ±{:.0}%)",
                        rounds + 1,
                        (auto.round as usize).min(max - sent),
                        names.join(", "),
                        auto.target * 100.0
                    ),
                );
            }
        }
        let sizes: Vec<AutoSize> = outcomes
            .iter()
            .map(|o| {
                let w = self.widest(o);
                AutoSize {
                    memory_mb: o.memory_mb,
                    invocations: o.samples.len(),
                    widest: w.is_finite().then_some(w),
                }
            })
            .collect();
        let reached = outcomes
            .iter()
            .zip(&sizes)
            .all(|(o, s)| o.error.is_some() || s.widest.is_some_and(|w| w <= auto.target));
        let report = AutoReport {
            target: auto.target,
            max_num: auto.max_num,
            rounds,
            reached,
            sizes,
        };
        Ok((outcomes, report))
    }
}
