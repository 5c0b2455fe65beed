//! What a load test measured, as printed and as JSON.

use serde::Serialize;

use super::args::Via;
use super::metrics::{ErrorBreakdown, HistogramBin, SecondPoint, Summary};
use super::profile::Profile;
pub use crate::tune::result::WeightedPayload;

/// The whole outcome of `lab load` (`--output json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// The stage URL, or `lambda:<function>` with `--via lambda`.
    pub target: String,
    /// Transport.
    pub via: Via,
    /// `closed` (VUs) or `open` (arrival rate).
    pub model: &'static str,
    /// Closed model shape.
    pub profile: Option<Profile>,
    /// VUs (closed) or most requests in flight (open).
    pub vus: u32,
    /// Planned length of each run.
    pub duration_s: f64,
    /// Ramp-up (ramp-up profile).
    pub ramp_up_s: Option<f64>,
    /// Open model arrivals per second.
    pub rate: Option<f64>,
    /// Request timeout.
    pub timeout_s: f64,
    /// `--max-requests`.
    pub max_requests: Option<u64>,
    /// The payloads and their relative weights.
    pub payloads: Vec<WeightedPayload>,
    /// One run, or one per `--memory` size.
    pub runs: Vec<RunResult>,
    /// Ctrl-C stopped the test; the results are what was measured until then.
    pub interrupted: bool,
    /// Memory before the test (with `--memory`).
    pub original_memory_mb: Option<u32>,
    /// Memory the function was left with (with `--memory`).
    pub restored_memory_mb: Option<u32>,
}

/// One run (at one memory size).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Memory size, with `--memory`.
    pub memory_mb: Option<u32>,
    /// Display label.
    pub label: String,
    /// Totals and latency statistics.
    pub summary: Summary,
    /// Errors by kind.
    pub errors: ErrorBreakdown,
    /// Latency distribution of successful requests.
    pub histogram: Vec<HistogramBin>,
    /// Per-second series.
    pub series: Vec<SecondPoint>,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// Comparison verdict (with several runs).
    pub verdict: Option<String>,
}

/// Error rate above which a run is judged by its errors rather than its latency.
const ERROR_RATE_LIMIT: f64 = 0.01;

/// Fills in the verdicts of the tutorial's comparison ("Workload Behavior Observation"): the
/// error-free run with the lowest p95 is "Stable & scalable"; runs with more than 1% errors are
/// judged by those; others by their average against the best's.
pub fn judge(runs: &mut [RunResult]) {
    if runs.len() < 2 {
        return;
    }
    let best = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.summary.error_rate <= ERROR_RATE_LIMIT && r.summary.p95_ms.is_some())
        .min_by(|a, b| {
            a.1.summary
                .p95_ms
                .partial_cmp(&b.1.summary.p95_ms)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, r)| (i, r.summary.avg_ms.unwrap_or(0.0)));
    for (i, run) in runs.iter_mut().enumerate() {
        let s = &run.summary;
        run.verdict = Some(if s.requests == 0 {
            "No requests completed".to_string()
        } else if s.error_rate > ERROR_RATE_LIMIT {
            format!("Errors under load ({:.1}%)", s.error_rate * 100.0)
        } else {
            match best {
                Some((b, _)) if b == i => "Stable & scalable".to_string(),
                Some((_, best_avg)) if s.avg_ms.unwrap_or(0.0) > 2.0 * best_avg => {
                    "High latency under load".to_string()
                }
                Some(_) => "Close to the best".to_string(),
                None => "-".to_string(),
            }
        });
    }
}
