//! The figures a run is summarised into: totals, latency statistics, errors by kind, the latency
//! distribution. Computed by the metrics' `Recorder` once the run is over.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Errors by kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorBreakdown {
    /// Non-2xx answers by status code (a Lambda throttle behind the stage URL is a 500).
    pub http_status: BTreeMap<u16, u64>,
    /// Function errors by error type (`BadRequest`, `Runtime.OutOfMemory`, `Sandbox.Timedout`...).
    pub function_errors: BTreeMap<String, u64>,
    /// Lambda Invoke throttled (TooManyRequestsException), `--via lambda`.
    pub throttles: u64,
    /// Other Lambda Invoke errors by code, `--via lambda`.
    pub lambda_errors: BTreeMap<String, u64>,
    /// Requests that got no answer in time.
    pub timeouts: u64,
    /// Connection failures.
    pub connection: u64,
    /// The first error seen, as an example.
    pub example: Option<String>,
}

impl ErrorBreakdown {
    /// All errors.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.http_status.values().sum::<u64>()
            + self.function_errors.values().sum::<u64>()
            + self.throttles
            + self.lambda_errors.values().sum::<u64>()
            + self.timeouts
            + self.connection
    }

    /// Each kind with its count, as `HTTP 500 x3`, `function error BadRequest x2`, `throttled x1`.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> =
            self.http_status.iter().map(|(code, n)| format!("HTTP {code} x{n}")).collect();
        kinds.extend(self.function_errors.iter().map(|(t, n)| format!("function error {t} x{n}")));
        if self.throttles > 0 {
            kinds.push(format!("throttled x{}", self.throttles));
        }
        kinds.extend(self.lambda_errors.iter().map(|(c, n)| format!("Lambda {c} x{n}")));
        for (name, n) in [("timeout", self.timeouts), ("connection", self.connection)] {
            if n > 0 {
                kinds.push(format!("{name} x{n}"));
            }
        }
        kinds
    }
}

/// Latency statistics of one histogram (milliseconds; `None` when it is empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencyStats {
    /// Mean.
    pub avg_ms: Option<f64>,
    /// Fastest.
    pub min_ms: Option<f64>,
    /// Slowest.
    pub max_ms: Option<f64>,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
}

impl LatencyStats {
    /// The statistics of `h` (microseconds) in milliseconds.
    pub(crate) fn of(h: &Histogram<u64>) -> LatencyStats {
        if h.is_empty() {
            return LatencyStats::default();
        }
        let ms = |us: u64| Some(us as f64 / 1000.0);
        LatencyStats {
            avg_ms: Some(h.mean() / 1000.0),
            min_ms: ms(h.min()),
            max_ms: ms(h.max()),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
        }
    }

    /// Every figure in the order the tables show them, with its column header: Avg, Min, p50, p90,
    /// p95, p99, Max.
    pub fn columns(&self) -> [(&'static str, Option<f64>); 7] {
        [
            ("Avg", self.avg_ms),
            ("Min", self.min_ms),
            ("p50", self.p50_ms),
            ("p90", self.p90_ms),
            ("p95", self.p95_ms),
            ("p99", self.p99_ms),
            ("Max", self.max_ms),
        ]
    }
}

/// The headline figures of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Requests completed (successes and errors, timeouts included).
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// errors / requests.
    pub error_rate: f64,
    /// Wall-clock length of the run, drain after the end included.
    pub elapsed_s: f64,
    /// Start of the measured window (seconds since the start): the end of the ramp-up for the
    /// ramp-up profile, otherwise 0.
    pub window_from_s: f64,
    /// End of the measured window: the planned end (or where the run stopped, if earlier).
    pub window_to_s: f64,
    /// Requests completed inside the window.
    pub window_requests: u64,
    /// window_requests / window length: ramp-up and the drain after the end are not counted.
    pub throughput_rps: f64,
    /// Latency of every request (the headline, as Postman, k6 and oha report it).
    #[serde(flatten)]
    pub latency: LatencyStats,
    /// Latency of successful requests only.
    pub ok_latency: LatencyStats,
    /// Open model: arrivals that found no free VU within a second and were not sent.
    pub dropped_iterations: u64,
    /// Open model: how late the generator sent the arrivals, and whose lateness it was
    /// (`None` in the closed model, which has no intended send times).
    pub generator: Option<GeneratorLateness>,
}

/// The open model's lateness figures of a run (ms), in `summary.generator`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratorLateness {
    /// The generator's own lateness of every sent arrival: clock + hand-off + dispatch.
    pub own: LatencyStats,
    /// The clock's wake-up after the intended time.
    pub clock: LatencyStats,
    /// A free VU taking the tick after it could have (its task waking).
    pub hand_off: LatencyStats,
    /// The chosen VU's task starting the send after it was chosen.
    pub dispatch: LatencyStats,
    /// Waiting for a free VU (the target's slowness or too few VUs: counted in latency, as wrk2
    /// counts it, and not in `own`).
    pub vu_wait: LatencyStats,
    /// Every request's latency net of the generator's own lateness.
    pub net_latency: LatencyStats,
    /// Every request's latency counted from when the clock woke for its arrival rather than from
    /// its intended time: how oha `--latency-correction` counts (its timer's lateness left out),
    /// for a like-for-like comparison; lab's headline keeps the stricter count.
    pub from_clock_latency: LatencyStats,
    /// "generator late by p99 X ms: …" when the generator fell behind its schedule, else `None`.
    pub late: Option<String>,
}

/// One bin of the latency distribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistogramBin {
    /// Lower edge (ms).
    pub from_ms: f64,
    /// Upper edge (ms).
    pub to_ms: f64,
    /// Requests in the bin.
    pub count: u64,
}
