//! What lab's local stack says of each request it served through a stage URL or Invoke: the
//! function's own time (`x-lab-function-us`), the time the gateway spent answering the function's
//! AWS calls (`x-lab-dataplane-us`) and the time the invocation waited for the host's cores
//! (`x-lab-cpu-wait-us`). From them a local load test tells how much of each request's latency is
//! the emulator's (the gateway in front, the data plane inside), which AWS would not have, apart
//! from the function's and the host's. Other targets send none of these headers; nothing is kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::HeaderMap;
use serde::Serialize;

/// Sums over the requests whose answer carried the local stack's headers.
#[derive(Debug, Default)]
pub struct LocalTiming {
    requests: AtomicU64,
    latency_us: AtomicU64,
    function_us: AtomicU64,
    dataplane_us: AtomicU64,
    cpu_wait_us: AtomicU64,
}

/// The emulator's share of a run's latency, as means per request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EmulatorShare {
    /// Requests the figures are over (those the local stack answered with its headers).
    pub requests: u64,
    /// Mean latency the client saw, from send to the whole answer, ms.
    pub latency_ms: f64,
    /// Mean time in the function (its Duration, with Init when cold), ms.
    pub function_ms: f64,
    /// Mean time the gateway spent answering the function's AWS calls (inside the function's), ms.
    pub dataplane_ms: f64,
    /// Mean wait for the host's cores before the function ran, ms.
    pub host_cpu_wait_ms: f64,
    /// The emulator's part: the gateway in front (latency − function − CPU wait) plus the data
    /// plane inside the function, ms.
    pub emulator_ms: f64,
    /// `emulator_ms` over `latency_ms`.
    pub share: f64,
}

fn header_us(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

impl LocalTiming {
    /// Records one answer: nothing unless the local stack's headers are on it.
    pub(crate) fn record(&self, latency: Duration, headers: &HeaderMap) {
        let Some(function_us) = header_us(headers, "x-lab-function-us") else {
            return;
        };
        let dataplane_us = header_us(headers, "x-lab-dataplane-us").unwrap_or(0);
        let cpu_wait_us = header_us(headers, "x-lab-cpu-wait-us").unwrap_or(0);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_us.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        self.function_us.fetch_add(function_us, Ordering::Relaxed);
        self.dataplane_us.fetch_add(dataplane_us, Ordering::Relaxed);
        self.cpu_wait_us.fetch_add(cpu_wait_us, Ordering::Relaxed);
    }

    /// The share since the last take (`None` when no answer carried the headers), starting again.
    pub fn take(&self) -> Option<EmulatorShare> {
        let n = self.requests.swap(0, Ordering::Relaxed);
        let sums = [
            self.latency_us.swap(0, Ordering::Relaxed),
            self.function_us.swap(0, Ordering::Relaxed),
            self.dataplane_us.swap(0, Ordering::Relaxed),
            self.cpu_wait_us.swap(0, Ordering::Relaxed),
        ];
        (n > 0).then(|| EmulatorShare::from_sums(n, sums))
    }
}

impl EmulatorShare {
    /// From sums in µs of latency, function, data plane and CPU wait over `n` requests.
    fn from_sums(n: u64, [latency, function, dataplane, wait]: [u64; 4]) -> Self {
        let mean = |us: u64| us as f64 / n as f64 / 1000.0;
        let latency_ms = mean(latency);
        let front = (mean(latency) - mean(function) - mean(wait)).max(0.0);
        let emulator_ms = front + mean(dataplane);
        Self {
            requests: n,
            latency_ms,
            function_ms: mean(function),
            dataplane_ms: mean(dataplane),
            host_cpu_wait_ms: mean(wait),
            emulator_ms,
            share: if latency_ms > 0.0 {
                (emulator_ms / latency_ms).min(1.0)
            } else {
                0.0
            },
        }
    }

    /// One line for the report, beside the latency figures.
    pub fn sentence(&self) -> String {
        format!(
            "emulator share: {:.0}% of the mean latency {:.2} ms is the local stack's own ({:.2} ms: the gateway in front {:.2} ms, the data plane inside the function {:.2} ms); AWS's would differ. Function {:.2} ms, host CPU wait {:.2} ms",
            self.share * 100.0,
            self.latency_ms,
            self.emulator_ms,
            self.emulator_ms - self.dataplane_ms,
            self.dataplane_ms,
            self.function_ms,
            self.host_cpu_wait_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_share_is_the_gateway_in_front_plus_the_data_plane_inside() {
        let t = LocalTiming::default();
        t.record(Duration::from_micros(1000), &headers(&[]));
        assert_eq!(
            t.take(),
            None,
            "answers without the headers are not the local stack's"
        );
        let local = headers(&[
            ("x-lab-function-us", "600"),
            ("x-lab-dataplane-us", "200"),
            ("x-lab-cpu-wait-us", "100"),
        ]);
        t.record(Duration::from_micros(1000), &local);
        t.record(Duration::from_micros(1000), &local);
        let share = t.take().unwrap();
        assert_eq!(share.requests, 2);
        // 1.0 ms seen: 0.6 in the function (0.2 of it the data plane), 0.1 waiting for a core,
        // so 0.3 in front and 0.5 in all.
        assert!((share.emulator_ms - 0.5).abs() < 1e-9, "{share:?}");
        assert!((share.share - 0.5).abs() < 1e-9);
        assert!(share.sentence().contains("emulator share: 50%"));
        assert_eq!(t.take(), None, "a take starts again");
    }
}
