//! The shared per-second record of a run (requests, errors, latency of every request, most VUs
//! active), plus live totals for the monitor. Latency per second is an HDR histogram at 2
//! significant digits, allocated by the first sample of its second.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::histogram::{latency_histogram, micros};

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondPoint {
    /// Seconds since the start (this point covers `second..second+1`).
    pub second: u32,
    /// Requests completed in this second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Mean latency of this second's requests (all of them, errors included).
    pub avg_ms: Option<f64>,
    /// 95th percentile of this second's requests (all of them).
    pub p95_ms: Option<f64>,
    /// Most VUs active (requests in flight, open model) during the second.
    pub active_vus: u32,
    /// This second's latencies (µs, 2 significant digits) as HdrHistogram's V2 deflate format in
    /// base64: what `lab load --baseline` resamples, a second at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_hdr: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Slot {
    pub(super) requests: u64,
    pub(super) errors: u64,
    pub(super) latency: Option<Histogram<u64>>,
    pub(super) active_vus: u32,
    pub(super) touched: bool,
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

/// The shared per-second record of a run.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    pub(super) slots: Vec<Mutex<Slot>>,
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
            slots: (0..seconds.max(1)).map(|_| Mutex::new(Slot::default())).collect(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            active: AtomicU32::new(0),
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    pub(super) fn slot_index(&self, at: Instant) -> usize {
        (at.saturating_duration_since(self.start).as_secs() as usize).min(self.slots.len() - 1)
    }

    pub(super) fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, Slot> {
        self.slots[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request that completed at `at` after `latency`.
    pub(crate) fn record(&self, at: Instant, ok: bool, latency: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut slot = self.lock(self.slot_index(at));
        slot.touched = true;
        slot.requests += 1;
        if !ok {
            slot.errors += 1;
        }
        slot.latency
            .get_or_insert_with(|| latency_histogram(2))
            .saturating_record(micros(latency));
    }

    /// A closed-model VU became active (`true`) or idle at `at`: the second's peak is noted at
    /// once, so a VU active for a few milliseconds still shows.
    pub(crate) fn vu_changed(&self, active: bool, at: Instant) {
        let now = if active {
            self.active.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.active.fetch_sub(1, Ordering::Relaxed).saturating_sub(1)
        };
        let mut slot = self.lock(self.slot_index(at));
        slot.touched = true;
        slot.active_vus = slot.active_vus.max(now);
    }

    /// A request went in flight (open model; the sampler notes the peaks).
    pub(crate) fn in_flight(&self, started: bool) {
        if started {
            self.active.fetch_add(1, Ordering::Relaxed);
        } else {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Notes the number of active VUs at `at` (called a few times a second by the sampler).
    pub(crate) fn sample_active(&self, at: Instant) {
        let active = self.active.load(Ordering::Relaxed);
        let mut slot = self.lock(self.slot_index(at));
        slot.touched = true;
        slot.active_vus = slot.active_vus.max(active);
    }

    /// Figures for the live view at `now`.
    pub fn live(&self, now: Instant) -> Live {
        let second = now.saturating_duration_since(self.start).as_secs() as usize;
        let (last_second_requests, last_second_p95_ms) = match second.checked_sub(1) {
            Some(prev) if prev < self.slots.len() => {
                let slot = self.lock(prev);
                (
                    slot.requests,
                    slot.latency.as_ref().map(|h| h.value_at_quantile(0.95) as f64 / 1000.0),
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

    /// The per-second series up to `elapsed` (and any later second that saw a request).
    pub fn series(&self, elapsed: Duration) -> Vec<SecondPoint> {
        let seconds = (elapsed.as_secs_f64().ceil() as usize).clamp(1, self.slots.len());
        let last_touched =
            (0..self.slots.len()).rposition(|i| self.lock(i).touched).map_or(0, |i| i + 1);
        (0..seconds.max(last_touched))
            .map(|i| {
                let slot = self.lock(i);
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
                    latency_hdr: slot.latency.as_ref().map(super::histogram::encode),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_by_second() {
        let start = Instant::now();
        let t = Timeline::new(start, 3);
        t.vu_changed(true, start);
        t.record(
            start + Duration::from_millis(100),
            true,
            Duration::from_millis(5),
        );
        t.record(
            start + Duration::from_millis(1100),
            false,
            Duration::from_millis(1),
        );
        t.vu_changed(true, start + Duration::from_millis(1500));
        t.vu_changed(false, start + Duration::from_millis(1600));
        // Beyond the last slot: lands in the last one.
        t.record(
            start + Duration::from_secs(10),
            true,
            Duration::from_millis(7),
        );
        let s = t.series(Duration::from_secs(3));
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].requests, s[0].errors, s[0].active_vus), (1, 0, 1));
        assert_eq!((s[1].requests, s[1].errors, s[1].active_vus), (1, 1, 2));
        // The error's latency counts in its second.
        assert!(
            (s[1].p95_ms.unwrap() - 1.0).abs() < 0.01,
            "{:?}",
            s[1].p95_ms
        );
        assert_eq!(s[2].requests, 1);
        let live = t.live(start + Duration::from_millis(1200));
        let got = (
            live.requests,
            live.errors,
            live.active_vus,
            live.last_second_requests,
        );
        assert_eq!(got, (3, 1, 1, 1));
    }
}
