//! Measurements: per-VU recorders (no sharing in the hot path), a shared per-second timeline, and
//! the summaries computed from both once the run is over.
//!
//! Latencies are recorded in microseconds in HDR histograms (3 significant digits overall, 2 per
//! second), so percentiles are exact to 0.1% without keeping samples. Recording a sample allocates
//! nothing: a per-second histogram is allocated once, by the first sample of that second.
//! Only successful requests enter the latency histograms: a 429 that returns in 2 ms would
//! otherwise make an overloaded run look fast. Every request counts in the request and error totals.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency the histograms hold (1 hour, in µs); longer ones are recorded as this.
const MAX_US: u64 = 3_600_000_000;
/// Status codes 0..=599 are counted individually.
const STATUS_SLOTS: usize = 600;

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer that is not a function error.
    Ok,
    /// A non-2xx HTTP status (429 = throttled), or a throttled Lambda Invoke.
    Status(u16),
    /// A 2xx answer whose body is a Lambda error document (`errorType` + `errorMessage`).
    FunctionError,
    /// No answer within `--timeout`.
    Timeout,
    /// Connecting, sending or reading failed.
    Connection,
}

impl Outcome {
    /// Whether the request succeeded.
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }
}

fn latency_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, MAX_US)
}

/// One VU's measurements; merged with the others when the run ends.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    ok: u64,
    status: Vec<u64>,
    function_errors: u64,
    timeouts: u64,
    connection: u64,
    first_error: Option<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder (all allocation happens here, not per sample).
    pub fn new() -> Recorder {
        Recorder {
            latency: latency_histogram(3),
            ok: 0,
            status: vec![0; STATUS_SLOTS],
            function_errors: 0,
            timeouts: 0,
            connection: 0,
            first_error: None,
        }
    }

    /// Counts one request that took `latency`.
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                self.latency.saturating_record(micros(latency));
            }
            Outcome::Status(code) => self.status[(code as usize).min(STATUS_SLOTS - 1)] += 1,
            Outcome::FunctionError => self.function_errors += 1,
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Connection => self.connection += 1,
        }
    }

    /// Whether an example error message is still wanted (only the first is kept).
    pub fn wants_error_example(&self) -> bool {
        self.first_error.is_none()
    }

    /// Keeps `message` as the example error, if there is none yet.
    pub fn error_example(&mut self, message: String) {
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Recorder) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds add");
        self.ok += other.ok;
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        self.function_errors += other.function_errors;
        self.timeouts += other.timeouts;
        self.connection += other.connection;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    /// The error counts by kind.
    pub fn errors(&self) -> ErrorBreakdown {
        ErrorBreakdown {
            http_status: self
                .status
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(code, n)| (code as u16, *n))
                .collect(),
            function_errors: self.function_errors,
            timeouts: self.timeouts,
            connection: self.connection,
            example: self.first_error.clone(),
        }
    }

    /// Totals and latency statistics, with throughput over `elapsed`.
    pub fn summary(&self, elapsed: Duration, dropped_iterations: u64) -> Summary {
        let errors = self.errors().total();
        let requests = self.ok + errors;
        let h = &self.latency;
        let ms = |us: u64| us as f64 / 1000.0;
        let empty = h.is_empty();
        let q = |quantile: f64| {
            if empty {
                None
            } else {
                Some(ms(h.value_at_quantile(quantile)))
            }
        };
        Summary {
            requests,
            ok: self.ok,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            elapsed_s: elapsed.as_secs_f64(),
            throughput_rps: if elapsed.is_zero() {
                0.0
            } else {
                requests as f64 / elapsed.as_secs_f64()
            },
            avg_ms: (!empty).then(|| h.mean() / 1000.0),
            min_ms: (!empty).then(|| ms(h.min())),
            max_ms: (!empty).then(|| ms(h.max())),
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            dropped_iterations,
        }
    }

    /// The latency distribution in `buckets` equal-width bins from the fastest to the slowest
    /// request (as oha draws it).
    pub fn histogram(&self, buckets: usize) -> Vec<HistogramBin> {
        let h = &self.latency;
        if h.is_empty() || buckets == 0 {
            return Vec::new();
        }
        let (lo, hi) = (h.min() as f64, h.max() as f64);
        let width = ((hi - lo) / buckets as f64).max(1.0);
        let mut counts = vec![0u64; buckets];
        for v in h.iter_recorded() {
            let value = h.median_equivalent(v.value_iterated_to()) as f64;
            let i = (((value - lo) / width) as usize).min(buckets - 1);
            counts[i] += v.count_at_value();
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(i, count)| HistogramBin {
                from_ms: (lo + width * i as f64) / 1000.0,
                to_ms: (lo + width * (i + 1) as f64) / 1000.0,
                count,
            })
            .collect()
    }
}

/// Errors by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorBreakdown {
    /// Non-2xx answers by status code (429 = throttled).
    pub http_status: BTreeMap<u16, u64>,
    /// 2xx answers carrying a Lambda error document.
    pub function_errors: u64,
    /// Requests that got no answer in time.
    pub timeouts: u64,
    /// Connection failures.
    pub connection: u64,
    /// The first error seen, as an example.
    pub example: Option<String>,
}

impl ErrorBreakdown {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.http_status.values().sum::<u64>()
            + self.function_errors
            + self.timeouts
            + self.connection
    }
}

/// The headline figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Requests completed (successes and errors).
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// errors / requests.
    pub error_rate: f64,
    /// Wall-clock length of the run.
    pub elapsed_s: f64,
    /// requests / elapsed.
    pub throughput_rps: f64,
    /// Mean latency of successful requests.
    pub avg_ms: Option<f64>,
    /// Fastest successful request.
    pub min_ms: Option<f64>,
    /// Slowest successful request.
    pub max_ms: Option<f64>,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Open model: arrivals that found no free VU and were not sent.
    pub dropped_iterations: u64,
}

/// One bin of the latency distribution.
#[derive(Debug, Clone, Serialize)]
pub struct HistogramBin {
    /// Lower edge (ms).
    pub from_ms: f64,
    /// Upper edge (ms).
    pub to_ms: f64,
    /// Requests in the bin.
    pub count: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SecondPoint {
    /// Seconds since the start (this point covers `second..second+1`).
    pub second: u32,
    /// Requests completed in this second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Mean latency of this second's successes.
    pub avg_ms: Option<f64>,
    /// 95th percentile of this second's successes.
    pub p95_ms: Option<f64>,
    /// Most VUs active (requests in flight, open model) during the second.
    pub active_vus: u32,
}

#[derive(Debug, Default)]
struct Slot {
    requests: u64,
    errors: u64,
    latency: Option<Histogram<u64>>,
    active_vus: u32,
    touched: bool,
}

/// Figures for the live view.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    /// Requests completed so far.
    pub requests: u64,
    /// Errors so far.
    pub errors: u64,
    /// VUs active now.
    pub active_vus: u32,
    /// Requests completed in the last full second.
    pub last_second_requests: u64,
    /// p95 of the last full second, ms.
    pub last_second_p95_ms: Option<f64>,
}

/// The shared per-second record of a run, plus live totals for the monitor.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    slots: Vec<Mutex<Slot>>,
    requests: AtomicU64,
    errors: AtomicU64,
    active: AtomicU32,
}

impl Timeline {
    /// A timeline starting at `start`, with room for `seconds` seconds (later samples land in
    /// the last slot).
    pub fn new(start: Instant, seconds: usize) -> Timeline {
        Timeline {
            start,
            slots: (0..seconds.max(1))
                .map(|_| Mutex::new(Slot::default()))
                .collect(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            active: AtomicU32::new(0),
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    fn slot(&self, at: Instant) -> &Mutex<Slot> {
        let i =
            (at.saturating_duration_since(self.start).as_secs() as usize).min(self.slots.len() - 1);
        &self.slots[i]
    }

    /// Counts a request that completed at `at` after `latency`.
    pub fn record(&self, at: Instant, outcome: Outcome, latency: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let ok = outcome.is_ok();
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut slot = self.slot(at).lock().unwrap_or_else(|e| e.into_inner());
        slot.touched = true;
        slot.requests += 1;
        if ok {
            slot.latency
                .get_or_insert_with(|| latency_histogram(2))
                .saturating_record(micros(latency));
        } else {
            slot.errors += 1;
        }
    }

    /// A VU became active (or a request went in flight, open model).
    pub fn vu_started(&self) {
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    /// A VU went idle.
    pub fn vu_stopped(&self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }

    /// Notes the number of active VUs at `at` (called a few times a second by the sampler).
    pub fn sample_active(&self, at: Instant) {
        let active = self.active.load(Ordering::Relaxed);
        let mut slot = self.slot(at).lock().unwrap_or_else(|e| e.into_inner());
        slot.touched = true;
        slot.active_vus = slot.active_vus.max(active);
    }

    /// Figures for the live view at `now`.
    pub fn live(&self, now: Instant) -> Live {
        let second = now.saturating_duration_since(self.start).as_secs() as usize;
        let (last_second_requests, last_second_p95_ms) = match second.checked_sub(1) {
            Some(prev) if prev < self.slots.len() => {
                let slot = self.slots[prev].lock().unwrap_or_else(|e| e.into_inner());
                (
                    slot.requests,
                    slot.latency
                        .as_ref()
                        .map(|h| h.value_at_quantile(0.95) as f64 / 1000.0),
                )
            }
            _ => (0, None),
        };
        Live {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            active_vus: self.active.load(Ordering::Relaxed),
            last_second_requests,
            last_second_p95_ms,
        }
    }

    /// The per-second series up to `elapsed`.
    pub fn series(&self, elapsed: Duration) -> Vec<SecondPoint> {
        let seconds = (elapsed.as_secs_f64().ceil() as usize).clamp(1, self.slots.len());
        let last_touched = self
            .slots
            .iter()
            .rposition(|s| s.lock().unwrap_or_else(|e| e.into_inner()).touched)
            .map_or(0, |i| i + 1);
        (0..seconds.max(last_touched))
            .map(|i| {
                let slot = self.slots[i].lock().unwrap_or_else(|e| e.into_inner());
                SecondPoint {
                    second: i as u32,
                    requests: slot.requests,
                    errors: slot.errors,
                    avg_ms: slot.latency.as_ref().map(|h| h.mean() / 1000.0),
                    p95_ms: slot
                        .latency
                        .as_ref()
                        .map(|h| h.value_at_quantile(0.95) as f64 / 1000.0),
                    active_vus: slot.active_vus,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_counts_and_percentiles() {
        let mut r = Recorder::new();
        // 1..=100 ms: p50 = 50 ms, p90 = 90, p95 = 95, p99 = 99 (within HDR's 0.1%).
        for ms in 1..=100 {
            r.record(Outcome::Ok, Duration::from_millis(ms));
        }
        r.record(Outcome::Status(429), Duration::from_millis(1));
        r.record(Outcome::FunctionError, Duration::from_millis(1));
        r.record(Outcome::Timeout, Duration::from_secs(30));
        r.record(Outcome::Connection, Duration::ZERO);
        let s = r.summary(Duration::from_secs(2), 0);
        assert_eq!((s.requests, s.ok, s.errors), (104, 100, 4));
        assert!((s.error_rate - 4.0 / 104.0).abs() < 1e-12);
        assert_eq!(s.throughput_rps, 52.0);
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= b * 0.002;
        assert!(
            near(s.p50_ms, 50.0)
                && near(s.p90_ms, 90.0)
                && near(s.p95_ms, 95.0)
                && near(s.p99_ms, 99.0)
        );
        assert!(near(s.avg_ms, 50.5) && near(s.min_ms, 1.0) && near(s.max_ms, 100.0));
        let e = r.errors();
        assert_eq!(e.http_status.get(&429), Some(&1));
        assert_eq!((e.function_errors, e.timeouts, e.connection), (1, 1, 1));
    }

    #[test]
    fn merging_adds_everything() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        a.record(Outcome::Ok, Duration::from_millis(10));
        b.record(Outcome::Ok, Duration::from_millis(30));
        b.record(Outcome::Status(503), Duration::from_millis(1));
        b.error_example("HTTP 503".into());
        a.merge(&b);
        let s = a.summary(Duration::from_secs(1), 0);
        assert_eq!((s.requests, s.ok, s.errors), (3, 2, 1));
        assert!((s.avg_ms.unwrap() - 20.0).abs() < 0.05);
        assert_eq!(a.errors().example.as_deref(), Some("HTTP 503"));
    }

    #[test]
    fn histogram_bins_hold_every_success() {
        let mut r = Recorder::new();
        for ms in [10, 10, 30, 50, 100] {
            r.record(Outcome::Ok, Duration::from_millis(ms));
        }
        let bins = r.histogram(9);
        assert_eq!(bins.len(), 9);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(bins[0].count, 2);
        assert_eq!(bins[8].count, 1);
    }

    #[test]
    fn timeline_buckets_by_second() {
        let start = Instant::now();
        let t = Timeline::new(start, 3);
        t.vu_started();
        t.sample_active(start);
        t.record(
            start + Duration::from_millis(100),
            Outcome::Ok,
            Duration::from_millis(5),
        );
        t.record(
            start + Duration::from_millis(1100),
            Outcome::Status(429),
            Duration::from_millis(1),
        );
        t.vu_started();
        t.sample_active(start + Duration::from_millis(1500));
        // Beyond the last slot: lands in the last one.
        t.record(
            start + Duration::from_secs(10),
            Outcome::Ok,
            Duration::from_millis(7),
        );
        let s = t.series(Duration::from_secs(3));
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].requests, s[0].errors, s[0].active_vus), (1, 0, 1));
        assert_eq!((s[1].requests, s[1].errors, s[1].active_vus), (1, 1, 2));
        assert!(s[1].p95_ms.is_none());
        assert_eq!(s[2].requests, 1);
        let live = t.live(start + Duration::from_millis(1200));
        assert_eq!(
            (
                live.requests,
                live.errors,
                live.active_vus,
                live.last_second_requests
            ),
            (3, 1, 2, 1)
        );
    }
}
