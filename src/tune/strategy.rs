//! Choosing the winning memory size, as aws-lambda-power-tuning's analyzer does.
//!
//! - `cost`: the cheapest; among equally cheap, the fastest.
//! - `speed`: the fastest; among equally fast, the cheapest.
//! - `balanced`: the smallest `w x cost / maxCost + (1 - w) x duration / maxDuration`
//!   (w = 1 is pure cost, w = 0 pure speed).
//!
//! Remaining ties go to the earlier candidate (the order powers were given, normally ascending).
//! "Equal" allows a relative difference of 1e-9, so two sizes with the same billed GB-seconds
//! (128 MB x 200 ms and 256 MB x 100 ms) tie even if floating point rounds them apart.

use serde::{Deserialize, Serialize};

/// The optimisation goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Lowest cost per invocation.
    #[default]
    Cost,
    /// Lowest average duration.
    Speed,
    /// A weighted mix of normalised cost and duration (see --balanced-weight).
    Balanced,
}

impl Strategy {
    /// The lowercase name used on the command line and in the input file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Strategy::Cost => "cost",
            Strategy::Speed => "speed",
            Strategy::Balanced => "balanced",
        }
    }
}

/// Which duration the strategies compare: the trimmed mean (aws-lambda-power-tuning's), or a
/// percentile of every invocation (nothing trimmed), for a function whose slow calls matter more
/// than its average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// The trimmed mean (PT's average).
    #[default]
    Mean,
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
}

impl Metric {
    /// The name on the command line and in the output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Metric::Mean => "mean",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
        }
    }

    /// The percentile (0 to 100) it is; `None` for the mean.
    pub fn percentile(self) -> Option<f64> {
        match self {
            Metric::Mean => None,
            Metric::P50 => Some(50.0),
            Metric::P90 => Some(90.0),
            Metric::P95 => Some(95.0),
            Metric::P99 => Some(99.0),
        }
    }

    /// Its value in `summary`.
    pub fn of(self, summary: &super::stats::Summary) -> f64 {
        match self {
            Metric::Mean => summary.mean,
            Metric::P50 => summary.p50,
            Metric::P90 => summary.p90,
            Metric::P95 => summary.p95,
            Metric::P99 => summary.p99,
        }
    }

    /// How the output names the duration it is ("avg", "p95").
    pub(crate) fn label(self) -> &'static str {
        match self {
            Metric::Mean => "avg",
            other => other.as_str(),
        }
    }
}

/// Which cost the strategies compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CostModel {
    /// aws-lambda-power-tuning's: the average billed duration rounded up to the millisecond, no
    /// request charge (so lab picks what the power-tuning tool would pick).
    #[default]
    Pt,
    /// lab's: the exact average billed duration plus the request charge (what the bill says).
    Full,
}

impl CostModel {
    /// The name on the command line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CostModel::Pt => "pt",
            CostModel::Full => "full",
        }
    }

    /// How the output names it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            CostModel::Pt => "PT's cost (billed ms rounded up, no request charge)",
            CostModel::Full => "lab's full cost (exact billed ms plus the request charge)",
        }
    }
}

/// One measured memory size, as the strategies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// Average cost per invocation in dollars.
    pub cost: f64,
    /// Duration in ms: the trimmed mean, or the percentile `--metric` names.
    pub duration_ms: f64,
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// `a` strictly before `b` on `primary`, falling back to `secondary` when primaries tie.
fn better(a: (f64, f64), b: (f64, f64)) -> bool {
    if same(a.0, b.0) {
        !same(a.1, b.1) && a.1 < b.1
    } else {
        a.0 < b.0
    }
}

/// The balanced score of `c` (smaller is better); see the module documentation.
pub(crate) fn balanced_score(c: &Candidate, max_cost: f64, max_duration: f64, weight: f64) -> f64 {
    let w = weight.clamp(0.0, 1.0);
    let cost = if max_cost > 0.0 {
        c.cost / max_cost
    } else {
        0.0
    };
    let duration = if max_duration > 0.0 {
        c.duration_ms / max_duration
    } else {
        0.0
    };
    w * cost + (1.0 - w) * duration
}

/// The index of the winning candidate under `strategy`, `None` when there are none.
/// `weight` is used by `balanced` only.
pub fn pick(strategy: Strategy, candidates: &[Candidate], weight: f64) -> Option<usize> {
    let key = |c: &Candidate| -> (f64, f64) {
        match strategy {
            Strategy::Cost => (c.cost, c.duration_ms),
            Strategy::Speed => (c.duration_ms, c.cost),
            Strategy::Balanced => {
                let max_cost = candidates.iter().map(|c| c.cost).fold(0.0, f64::max);
                let max_duration = candidates.iter().map(|c| c.duration_ms).fold(0.0, f64::max);
                // The analyzer sorts on the score alone: no secondary key.
                (balanced_score(c, max_cost, max_duration, weight), 0.0)
            }
        }
    };
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        match best {
            Some(b) if !better(key(c), key(&candidates[b])) => {}
            _ => best = Some(i),
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(memory_mb: u32, cost: f64, duration_ms: f64) -> Candidate {
        Candidate {
            memory_mb,
            cost,
            duration_ms,
        }
    }

    #[test]
    fn tutorial_figures() {
        // The tutorial's observations: 1024 MB is both cheapest and fastest.
        let t = [
            c(128, 2.41e-6, 1146.0),
            c(256, 1.58e-6, 374.0),
            c(512, 3.11e-6, 369.0),
            c(1024, 0.92e-6, 55.0),
        ];
        assert_eq!(pick(Strategy::Cost, &t, 0.5), Some(3));
        assert_eq!(pick(Strategy::Speed, &t, 0.5), Some(3));
        assert_eq!(pick(Strategy::Balanced, &t, 0.5), Some(3));
    }

    #[test]
    fn cost_tie_goes_to_the_faster() {
        // 128 MB x 200 ms and 256 MB x 100 ms bill the same GB-seconds: same cost, 256 is faster.
        let t = [c(128, 1e-6, 200.0), c(256, 1e-6, 100.0), c(512, 2e-6, 50.0)];
        assert_eq!(pick(Strategy::Cost, &t, 0.5), Some(1));
    }

    #[test]
    fn speed_tie_goes_to_the_cheaper() {
        let t = [c(128, 1e-6, 300.0), c(512, 4e-6, 50.0), c(1024, 3e-6, 50.0)];
        assert_eq!(pick(Strategy::Speed, &t, 0.5), Some(2));
    }

    #[test]
    fn full_tie_goes_to_the_first() {
        let t = [c(128, 1e-6, 50.0), c(256, 1e-6, 50.0)];
        assert_eq!(pick(Strategy::Cost, &t, 0.5), Some(0));
        assert_eq!(pick(Strategy::Speed, &t, 0.5), Some(0));
        assert_eq!(pick(Strategy::Balanced, &t, 0.5), Some(0));
    }

    #[test]
    fn balanced_weights() {
        // maxCost = 4, maxDuration = 100.
        // w = 0.5: A (cost 1, 100 ms) -> 0.5*0.25 + 0.5*1.0 = 0.625
        //          B (cost 2,  40 ms) -> 0.5*0.5  + 0.5*0.4 = 0.45   <- winner
        //          C (cost 4,  10 ms) -> 0.5*1.0  + 0.5*0.1 = 0.55
        let t = [c(128, 1.0, 100.0), c(256, 2.0, 40.0), c(512, 4.0, 10.0)];
        assert_eq!(pick(Strategy::Balanced, &t, 0.5), Some(1));
        // w = 1: pure cost -> A (0.25). w = 0: pure duration -> C (0.1).
        assert_eq!(pick(Strategy::Balanced, &t, 1.0), Some(0));
        assert_eq!(pick(Strategy::Balanced, &t, 0.0), Some(2));
        // w = 0.8: A 0.8*0.25+0.2*1.0 = 0.40, B 0.8*0.5+0.2*0.4 = 0.48, C 0.8+0.02 = 0.82 -> A.
        assert_eq!(pick(Strategy::Balanced, &t, 0.8), Some(0));
        assert!((balanced_score(&t[1], 4.0, 100.0, 0.5) - 0.45).abs() < 1e-12);
    }

    #[test]
    fn no_candidates() {
        assert_eq!(pick(Strategy::Cost, &[], 0.5), None);
    }
}
