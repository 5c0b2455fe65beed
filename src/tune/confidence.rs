//! 95% confidence intervals of one memory size's figures.
//!
//! - **The trimmed mean** (what sizes are ranked by, as aws-lambda-power-tuning ranks them): the
//!   Tukey–McLaughlin t-interval, `trimmed mean ± t(0.975, n − 2g − 1) × s_w / ((1 − 2g/n) √n)`,
//!   where `g` values are trimmed from each end and `s_w` is the standard deviation of the
//!   winsorized sample (the trimmed values replaced by the nearest kept one). It is the interval
//!   that belongs to a trimmed mean (Wilcox, *Introduction to Robust Estimation*, §4.4): a plain
//!   t-interval would use the variance of values the mean ignores (a cold start), and a bootstrap
//!   of a trimmed mean at 5 to 10 invocations is too narrow (it resamples the same few values) and
//!   gives a different answer on every run for the same numbers, which a review cannot check.
//! - **A percentile** (`--metric p95`): the distribution-free interval between two order
//!   statistics, their ranks from the binomial distribution of how many values fall below the true
//!   percentile. It assumes nothing about the shape of the latencies (they are skewed), and is
//!   exact. When there are too few values for an end (p95's upper end needs 72), that end is open:
//!   the largest (or smallest) value seen, marked `open`, and never counted as precise.
//! - **Cost** is a monotone function of the mean billed duration, so its interval is the billed
//!   duration's interval priced.

use serde::Serialize;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

/// How the intervals are computed, as the output says it.
pub const METHOD: &str = "95% intervals: Tukey-McLaughlin t-interval of the trimmed mean (winsorized variance, n - 2g - 1 degrees of freedom); distribution-free order-statistic interval of a percentile; cost priced from the billed duration's interval";

/// The confidence level of every interval lab prints.
pub const LEVEL: f64 = 0.95;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// An end is only the most extreme value seen, because too few values were measured to bound
    /// it (a percentile near 0 or 100 of a small sample).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

impl Interval {
    /// The interval `f` maps it to (`f` must be monotone increasing).
    pub fn map(self, f: impl Fn(f64) -> f64) -> Interval {
        Interval {
            low: f(self.low),
            high: f(self.high),
            open: self.open,
        }
    }

    /// Half its width as a share of `centre` (0.05 is ±5%); infinite when open or `centre` is 0.
    pub fn relative_half_width(&self, centre: f64) -> f64 {
        if self.open || centre == 0.0 {
            return f64::INFINITY;
        }
        (self.high - self.low) / 2.0 / centre.abs()
    }

    /// Whether the two share a value: neither lies wholly below the other.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }

    /// Whether every value of `self` is below every value of `other`.
    pub fn below(&self, other: &Interval) -> bool {
        self.high < other.low
    }
}

/// The Tukey–McLaughlin interval of the trimmed mean of `values` (`floor(n × discard)` dropped from
/// each end, as [`super::stats::trimmed_mean`]). `None` when fewer than two values are kept, or
/// there is nothing to spread (the t-interval needs one degree of freedom).
pub fn trimmed_mean(values: &[f64], discard: f64) -> Option<Interval> {
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let g = (n as f64 * discard.clamp(0.0, 0.5)).floor() as usize;
    if n < 2 * g + 2 {
        return None;
    }
    let kept = &sorted[g..n - g];
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    // Winsorized: the g smallest become the smallest kept value, the g largest the largest kept.
    let winsorized = sorted.iter().map(|v| v.clamp(kept[0], kept[kept.len() - 1]));
    let w: Vec<f64> = winsorized.collect();
    let w_mean = w.iter().sum::<f64>() / n as f64;
    let w_var = w.iter().map(|v| (v - w_mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let share_kept = 1.0 - 2.0 * g as f64 / n as f64;
    let se = w_var.sqrt() / (share_kept * (n as f64).sqrt());
    let df = (n - 2 * g - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.5 + LEVEL / 2.0);
    Some(Interval {
        low: mean - t * se,
        high: mean + t * se,
        open: false,
    })
}

/// The distribution-free interval of the `p`th percentile (0 to 100) of `values`: order statistics
/// `x(l)` and `x(u)` (1-based ranks) with `P(l ≤ B ≤ u − 1) ≥ 95%` for `B ~ Binomial(n, p/100)`,
/// the number of values below the true percentile. `None` for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<Interval> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = (p / 100.0).clamp(0.0, 1.0);
    let tail = (1.0 - LEVEL) / 2.0;
    let b = Binomial::new(q, n as u64).ok()?;
    // F(k) = P(B ≤ k). Lower rank l: the largest with P(B ≤ l − 1) ≤ tail; upper rank u: the
    // smallest with P(B ≤ u − 1) ≥ 1 − tail. With none, that end is open.
    let low_rank = (1..=n).rev().find(|&l| b.cdf(l as u64 - 1) <= tail);
    let high_rank = (1..=n).find(|&u| b.cdf(u as u64 - 1) >= 1.0 - tail);
    Some(Interval {
        low: sorted[low_rank.unwrap_or(1) - 1],
        high: sorted[high_rank.unwrap_or(n) - 1],
        open: low_rank.is_none() || high_rank.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_mean_interval_by_hand() {
        // n = 10, discard 0.2: g = 2. Sorted 1..=10: kept 3..=8, mean 5.5. Winsorized:
        // 3,3,3,4,5,6,7,8,8,8 (mean 5.5); squares of deviations 6.25×3 + 2.25 + 0.25 + 0.25 + 2.25
        // + 6.25×3 = 42.5; variance 42.5 / 9 = 4.7222, s_w = 2.1731. SE = 2.1731 / (0.6 × √10)
        // = 1.1453. df = 10 − 4 − 1 = 5, t(0.975, 5) = 2.5706: ±2.9441.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let ci = trimmed_mean(&v, 0.2).unwrap();
        assert!((ci.low - (5.5 - 2.9441)).abs() < 1e-3, "{ci:?}");
        assert!((ci.high - (5.5 + 2.9441)).abs() < 1e-3, "{ci:?}");
        assert!(!ci.open);
        // An outlier trimmed away does not widen it: 1000 in place of 10 winsorizes to 8 too.
        let mut outlier = v.clone();
        outlier[9] = 1000.0;
        assert_eq!(trimmed_mean(&outlier, 0.2), Some(ci));
        // discard 0: the plain t-interval. 1..=10: mean 5.5, s = 3.0277, SE 0.9574, t(9) 2.2622.
        let plain = trimmed_mean(&v, 0.0).unwrap();
        assert!((plain.high - (5.5 + 2.1659)).abs() < 1e-3, "{plain:?}");
        // n = 5, discard 0.4: one value kept, no spread to measure.
        assert_eq!(trimmed_mean(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.4), None);
        // Identical values: a zero-width interval.
        let flat = trimmed_mean(&[7.0; 6], 0.2).unwrap();
        assert_eq!((flat.low, flat.high), (7.0, 7.0));
    }

    #[test]
    fn percentile_interval_ranks() {
        // The median of 1..=10: B ~ Bin(10, 0.5), F(1) = 11/1024 = 0.0107 ≤ 0.025 < F(2) = 0.0547,
        // so l = 2; F(7) = 0.9453 < 0.975 ≤ F(8) = 0.9893, so u = 9: [x(2), x(9)] = [2, 9].
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let ci = percentile(&v, 50.0).unwrap();
        assert_eq!((ci.low, ci.high, ci.open), (2.0, 9.0, false));
        // p95 of 10 values: 0.95^10 = 0.60 of samples have all values below p95: no upper rank.
        let p95 = percentile(&v, 95.0).unwrap();
        assert!(p95.open && p95.high == 10.0, "{p95:?}");
        assert_eq!(p95.relative_half_width(9.5), f64::INFINITY);
        // 72 values are enough to bound p95 from above (0.95^72 = 0.0249 ≤ 0.025), 71 are not.
        let many: Vec<f64> = (1..=72).map(f64::from).collect();
        assert!(!percentile(&many, 95.0).unwrap().open);
        assert!(percentile(&many[..71], 95.0).unwrap().open);
    }

    #[test]
    fn comparing_intervals() {
        let a = Interval {
            low: 1.0,
            high: 2.0,
            open: false,
        };
        let b = Interval {
            low: 2.5,
            high: 3.0,
            open: false,
        };
        assert!(a.below(&b) && !a.overlaps(&b) && !b.below(&a));
        let c = Interval { low: 1.9, ..b };
        assert!(a.overlaps(&c) && !a.below(&c));
        assert!((a.relative_half_width(1.5) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.map(|x| x * 2.0).high, 4.0);
    }
}
