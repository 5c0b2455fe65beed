//! Measurements: recorders shared by a few VUs each (memory does not grow with VUs), and the
//! summaries computed once the run is over. The per-second record is the `timeline` module's.
//!
//! Latencies are recorded in microseconds in HDR histograms (3 significant digits), so percentiles
//! are exact to 0.1% without keeping samples. Two histograms: every request (answered or not: a
//! timeout counts at its timeout, as Postman, k6 and oha count it) for the headline figures, and
//! successes only beside them (a 429 that returns in 2 ms would otherwise make an overloaded run
//! look fast, and a 30 s timeout would vanish from the p99: both views are shown, labelled).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::histogram::{latency_histogram, micros};
use super::lateness::{Lateness, Stages};
use super::summary::{ErrorBreakdown, HistogramBin, LatencyStats, Summary};

/// Status codes 0..=599 are counted individually.
const STATUS_SLOTS: usize = 600;

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer that is not a function error.
    Ok,
    /// A non-2xx HTTP status.
    Status(u16),
    /// The function failed: its error type (`errorType`, e.g. `BadRequest`, `Runtime.OutOfMemory`,
    /// `Sandbox.Timedout`), from a Lambda error document or `X-Amz-Function-Error`.
    FunctionError(String),
    /// Lambda Invoke refused for concurrency (TooManyRequestsException).
    Throttled,
    /// Lambda Invoke failed with another error code (ResourceNotFoundException, ServiceException...).
    LambdaError(String),
    /// No answer within `--timeout`.
    Timeout,
    /// Connecting, sending or reading failed.
    Connection,
}

impl Outcome {
    /// Whether the request succeeded.
    pub(crate) fn is_ok(&self) -> bool {
        *self == Outcome::Ok
    }
}

/// Measurements of some VUs (or of a whole run once merged).
#[derive(Debug, Clone)]
pub struct Recorder {
    pub(super) all: Histogram<u64>,
    pub(super) ok: Histogram<u64>,
    pub(super) ok_count: u64,
    pub(super) status: Vec<u64>,
    pub(super) function_errors: BTreeMap<String, u64>,
    pub(super) throttles: u64,
    pub(super) lambda_errors: BTreeMap<String, u64>,
    pub(super) timeouts: u64,
    pub(super) connection: u64,
    pub(super) window_requests: u64,
    pub(super) first_error: Option<String>,
    /// The open model's lateness, made on its first sample (the closed model has none, and its
    /// histograms would cost every shard a few hundred kilobytes).
    pub(super) lateness: Option<Box<Lateness>>,
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
            all: latency_histogram(3),
            ok: latency_histogram(3),
            ok_count: 0,
            status: vec![0; STATUS_SLOTS],
            function_errors: BTreeMap::new(),
            throttles: 0,
            lambda_errors: BTreeMap::new(),
            timeouts: 0,
            connection: 0,
            window_requests: 0,
            first_error: None,
            lateness: None,
        }
    }

    /// Counts one request that took `latency`; `in_window` when it completed inside the measured
    /// window (throughput counts only those).
    pub fn record(&mut self, outcome: &Outcome, latency: Duration, in_window: bool) {
        let us = micros(latency);
        self.all.saturating_record(us);
        if in_window {
            self.window_requests += 1;
        }
        match outcome {
            Outcome::Ok => {
                self.ok_count += 1;
                self.ok.saturating_record(us);
            }
            Outcome::Status(code) => self.status[(*code as usize).min(STATUS_SLOTS - 1)] += 1,
            Outcome::FunctionError(kind) => bump(&mut self.function_errors, kind),
            Outcome::Throttled => self.throttles += 1,
            Outcome::LambdaError(code) => bump(&mut self.lambda_errors, code),
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Connection => self.connection += 1,
        }
    }

    /// Counts the lateness of one open-model request sent after `stages`, which took `latency`
    /// from its intended send.
    pub fn record_lateness(&mut self, stages: &Stages, latency: Duration) {
        self.lateness.get_or_insert_with(Box::default).record(stages, latency);
    }

    /// The open model's lateness (`None` in the closed model).
    pub fn lateness(&self) -> Option<&Lateness> {
        self.lateness.as_deref()
    }

    /// Whether an example error message is still wanted (only the first is kept).
    pub(crate) fn wants_error_example(&self) -> bool {
        self.first_error.is_none()
    }

    /// Keeps `message` as the example error, if there is none yet.
    pub(crate) fn error_example(&mut self, message: String) {
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Recorder) {
        self.all.add(&other.all).expect("histograms with the same bounds add");
        self.ok.add(&other.ok).expect("histograms with the same bounds add");
        self.ok_count += other.ok_count;
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (kind, n) in &other.function_errors {
            *self.function_errors.entry(kind.clone()).or_default() += n;
        }
        for (code, n) in &other.lambda_errors {
            *self.lambda_errors.entry(code.clone()).or_default() += n;
        }
        self.throttles += other.throttles;
        self.timeouts += other.timeouts;
        self.connection += other.connection;
        self.window_requests += other.window_requests;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        if let Some(theirs) = &other.lateness {
            self.lateness
                .get_or_insert_with(Box::default)
                .merge(theirs)
                .expect("histograms with the same bounds add");
        }
    }

    /// Requests whose answer came from the function: successes, function errors, and the 4xx a
    /// stage maps function errors to (not API Gateway's own 403 and 429). What Lambda's REPORT
    /// lines should number.
    pub fn reached_function(&self) -> u64 {
        let mapped: u64 =
            (400..500).filter(|c| !matches!(c, 403 | 429)).map(|c| self.status[c]).sum();
        self.ok_count + self.function_errors.values().sum::<u64>() + mapped
    }

    /// The histogram of every request (the headline latency).
    pub fn all_latency(&self) -> &Histogram<u64> {
        &self.all
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
            function_errors: self.function_errors.clone(),
            throttles: self.throttles,
            lambda_errors: self.lambda_errors.clone(),
            timeouts: self.timeouts,
            connection: self.connection,
            example: self.first_error.clone(),
        }
    }

    /// Takes the error counts (and example) of `errors`, as [`Recorder::errors`] gave them.
    pub(super) fn set_errors(&mut self, errors: &ErrorBreakdown) {
        let last = self.status.len() - 1;
        for (&code, &n) in &errors.http_status {
            self.status[usize::from(code).min(last)] += n;
        }
        self.function_errors = errors.function_errors.clone();
        self.throttles = errors.throttles;
        self.lambda_errors = errors.lambda_errors.clone();
        self.timeouts = errors.timeouts;
        self.connection = errors.connection;
        self.first_error = errors.example.clone();
    }

    /// Totals, latency statistics, and throughput over the measured `window` (seconds since the
    /// start: from, to), or over `elapsed` when the run ended before the window opened.
    pub fn summary(&self, elapsed: Duration, window: (f64, f64), dropped: u64) -> Summary {
        let requests = self.all.len();
        let errors = requests - self.ok_count;
        let (from, to) = window;
        let (throughput_rps, window) = if to > from {
            (self.window_requests as f64 / (to - from), (from, to))
        } else if !elapsed.is_zero() {
            (
                requests as f64 / elapsed.as_secs_f64(),
                (0.0, elapsed.as_secs_f64()),
            )
        } else {
            (0.0, (0.0, 0.0))
        };
        let latency = LatencyStats::of(&self.all);
        Summary {
            generator: self.lateness.as_ref().and_then(|l| l.summary(latency.p99_ms)),
            requests,
            ok: self.ok_count,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            elapsed_s: elapsed.as_secs_f64(),
            window_from_s: window.0,
            window_to_s: window.1,
            window_requests: if to > from {
                self.window_requests
            } else {
                requests
            },
            throughput_rps,
            latency,
            ok_latency: LatencyStats::of(&self.ok),
            dropped_iterations: dropped,
        }
    }

    /// The latency distribution of every request in `buckets` equal-width bins from the fastest to
    /// the slowest (as oha draws it).
    pub fn histogram(&self, buckets: usize) -> Vec<HistogramBin> {
        let h = &self.all;
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

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    // Looked up by &str first: no allocation once a kind has been seen.
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// A few recorders shared by all VUs (VU `i` uses `i % n`): memory stays constant however many
/// VUs run, where a recorder per VU (two 188 KB histograms) made 10,000 VUs cost gigabytes. A VU
/// holds its shard's lock only to add one sample, so with a few shards per core they rarely meet.
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Vec<Mutex<Recorder>>,
}

impl Shards {
    /// `n` empty recorders.
    pub(crate) fn new(n: usize) -> Shards {
        Shards {
            shards: (0..n.max(1)).map(|_| Mutex::new(Recorder::new())).collect(),
        }
    }

    /// Four per core, enough that the VUs running at one instant seldom share one; one on a
    /// one-thread runtime (the open model's), where no two VUs ever record at once and each further
    /// shard's few hundred kilobytes of histograms were zeroed and merged for nothing (about a
    /// tenth of a short open-model run's CPU).
    pub(crate) fn for_this_runtime() -> Shards {
        let one_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        if one_thread {
            return Shards::new(1);
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Shards::new((cores * 4).min(64))
    }

    /// How many recorders there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// The recorder VU `id` writes to.
    pub(crate) fn of(&self, id: u32) -> std::sync::MutexGuard<'_, Recorder> {
        let shard = &self.shards[id as usize % self.shards.len()];
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything recorded, merged.
    pub(crate) fn merged(&self) -> Recorder {
        let mut total = Recorder::new();
        for s in &self.shards {
            total.merge(&s.lock().unwrap_or_else(|e| e.into_inner()));
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_counts_and_percentiles_of_all_requests_and_of_successes() {
        let mut r = Recorder::new();
        // Successes at 1..=100 ms: p50 = 50 ms, p99 = 99 (within HDR's 0.1%).
        for ms in 1..=100 {
            r.record(&Outcome::Ok, Duration::from_millis(ms), true);
        }
        r.record(&Outcome::Status(429), Duration::from_millis(1), true);
        r.record(
            &Outcome::FunctionError("BadRequest".into()),
            Duration::from_millis(1),
            true,
        );
        r.record(&Outcome::Timeout, Duration::from_secs(30), false);
        r.record(&Outcome::Connection, Duration::ZERO, true);
        r.record(&Outcome::Throttled, Duration::from_millis(2), true);
        r.record(
            &Outcome::LambdaError("ServiceException".into()),
            Duration::from_millis(2),
            true,
        );
        let s = r.summary(Duration::from_secs(3), (0.0, 2.0), 0);
        assert_eq!((s.requests, s.ok, s.errors), (106, 100, 6));
        assert!((s.error_rate - 6.0 / 106.0).abs() < 1e-12);
        // 105 completed inside the window of 2 s.
        assert_eq!((s.window_requests, s.throughput_rps), (105, 52.5));
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= b * 0.002;
        let ok = &s.ok_latency;
        assert!(near(ok.p50_ms, 50.0) && near(ok.p99_ms, 99.0) && near(ok.max_ms, 100.0));
        // All requests: the 30 s timeout is the maximum, and the errors pull the median down.
        assert!(near(s.latency.max_ms, 30_000.0), "{:?}", s.latency);
        assert!(s.latency.p50_ms.unwrap() < ok.p50_ms.unwrap());
        let e = r.errors();
        assert_eq!(e.total(), 6);
        assert_eq!(e.http_status.get(&429), Some(&1));
        assert_eq!(e.function_errors.get("BadRequest"), Some(&1));
        assert_eq!(e.lambda_errors.get("ServiceException"), Some(&1));
        assert_eq!((e.throttles, e.timeouts, e.connection), (1, 1, 1));
        assert_eq!(e.kinds().len(), 6);
    }

    #[test]
    fn a_one_thread_runtime_records_into_one_shard_and_a_multi_thread_one_into_several() {
        let one = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(one.block_on(async { Shards::for_this_runtime().len() }), 1);
        let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        assert!(multi.block_on(async { Shards::for_this_runtime().len() }) >= 4);
    }

    #[test]
    fn shards_merge_into_one_recorder() {
        let shards = Shards::new(3);
        for id in 0..9u32 {
            shards.of(id).record(
                &Outcome::Ok,
                Duration::from_millis(10 + u64::from(id)),
                true,
            );
        }
        shards.of(4).record(&Outcome::Status(503), Duration::from_millis(1), true);
        shards.of(4).error_example("HTTP 503".into());
        let total = shards.merged();
        let s = total.summary(Duration::from_secs(1), (0.0, 1.0), 0);
        assert_eq!((s.requests, s.ok, s.errors), (10, 9, 1));
        assert!((s.ok_latency.avg_ms.unwrap() - 14.0).abs() < 0.05);
        assert_eq!(total.errors().example.as_deref(), Some("HTTP 503"));
    }

    #[test]
    fn histogram_bins_hold_every_request() {
        let mut r = Recorder::new();
        for ms in [10, 10, 30, 50, 100] {
            r.record(&Outcome::Ok, Duration::from_millis(ms), true);
        }
        r.record(&Outcome::Timeout, Duration::from_millis(100), true);
        let bins = r.histogram(9);
        assert_eq!(bins.len(), 9);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 6);
        assert_eq!((bins[0].count, bins[8].count), (2, 2));
    }

    #[test]
    fn a_run_stopped_before_its_window_falls_back_to_the_whole_run() {
        let mut r = Recorder::new();
        r.record(&Outcome::Ok, Duration::from_millis(5), false);
        let s = r.summary(Duration::from_secs(2), (3.0, 1.5), 0);
        assert_eq!(
            (s.window_from_s, s.window_to_s, s.throughput_rps),
            (0.0, 2.0, 0.5)
        );
    }
}
