//! Summary statistics of one memory size's durations.
//!
//! The mean is trimmed exactly as aws-lambda-power-tuning computes it: sort, drop
//! `floor(n * discard)` values from each end, average the rest. Percentiles use the nearest-rank
//! method on all values (nothing discarded), so p99 still shows the slow outliers the mean hides.

use serde::Serialize;

/// Mean of `values` after dropping `floor(n * discard)` from each end of the sorted list.
/// `None` for no values.
pub fn trimmed_mean(values: &[f64], discard: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let drop = (sorted.len() as f64 * discard.clamp(0.0, 0.5)).floor() as usize;
    // With discard <= 0.4 at least a fifth of the values remain; the guard only matters for 0.5.
    let kept = if sorted.len() > 2 * drop {
        &sorted[drop..sorted.len() - drop]
    } else {
        &sorted[..]
    };
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

/// Nearest-rank percentile of an ascending `sorted` slice: the value at rank `ceil(p/100 * n)`
/// (rank 1 at least). `p` in `0..=100`.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The statistics shown per memory size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Number of values.
    pub(crate) count: usize,
    /// Trimmed mean (see the module documentation).
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Summarises `values` with the trimmed mean's `discard` fraction. `None` for no values.
pub fn summarize(values: &[f64], discard: f64) -> Option<Summary> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Summary {
        count: sorted.len(),
        mean: trimmed_mean(&sorted, discard)?,
        p50: percentile(&sorted, 50.0)?,
        p90: percentile(&sorted, 90.0)?,
        p95: percentile(&sorted, 95.0)?,
        p99: percentile(&sorted, 99.0)?,
        min: *sorted.first()?,
        max: *sorted.last()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_mean_drops_floor_n_times_discard_from_each_end() {
        // n = 10, discard 0.2: floor(2.0) = 2 dropped per end -> 1, 2 and 100, 200 go;
        // kept 3..=8: (3+4+5+6+7+8) / 6 = 33 / 6 = 5.5.
        let v = [200.0, 1.0, 3.0, 4.0, 100.0, 5.0, 6.0, 2.0, 7.0, 8.0];
        assert_eq!(trimmed_mean(&v, 0.2), Some(5.5));
        // n = 7, discard 0.2: floor(1.4) = 1 per end -> kept 2,3,4,5,6: 20 / 5 = 4.
        assert_eq!(
            trimmed_mean(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 70.0], 0.2),
            Some(4.0)
        );
        // discard 0: the plain mean, (1+2+3+4+5+6+70) / 7 = 91 / 7 = 13.
        assert_eq!(
            trimmed_mean(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 70.0], 0.0),
            Some(13.0)
        );
        // n = 5, discard 0.4: floor(2.0) = 2 per end -> only the median 30 remains.
        assert_eq!(
            trimmed_mean(&[10.0, 20.0, 30.0, 40.0, 500.0], 0.4),
            Some(30.0)
        );
        assert_eq!(trimmed_mean(&[], 0.2), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<f64> = (1..=10).map(|v| v as f64 * 10.0).collect(); // 10, 20, ..., 100
                                                                            // p50: ceil(0.5 * 10) = rank 5 -> 50; p90: rank 9 -> 90; p99: ceil(9.9) = rank 10 -> 100.
        assert_eq!(percentile(&sorted, 50.0), Some(50.0));
        assert_eq!(percentile(&sorted, 90.0), Some(90.0));
        assert_eq!(percentile(&sorted, 99.0), Some(100.0));
        // p0 clamps to rank 1.
        assert_eq!(percentile(&sorted, 0.0), Some(10.0));
        // n = 5 (1..=5): p50 rank ceil(2.5) = 3 -> 3; p90 rank ceil(4.5) = 5 -> 5.
        let five = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&five, 50.0), Some(3.0));
        assert_eq!(percentile(&five, 90.0), Some(5.0));
    }

    #[test]
    fn summary_of_unsorted_values() {
        let s = summarize(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.2).unwrap();
        // floor(5 * 0.2) = 1 per end -> (2 + 3 + 4) / 3 = 3.
        assert_eq!(s.mean, 3.0);
        assert_eq!((s.min, s.max, s.p50, s.count), (1.0, 5.0, 3.0, 5));
    }
}
