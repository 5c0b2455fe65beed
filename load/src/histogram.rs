//! The bounds every latency histogram of a run shares (1 µs to 1 hour), so that any two of them add:
//! the recorders', the per-second slots', the lateness stages', and a worker's read back.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Largest latency the histograms hold (1 hour, in µs); longer ones are recorded as this.
pub(crate) const MAX_US: u64 = 3_600_000_000;

/// A latency histogram with lab's bounds (1 µs to 1 hour) and `sigfig` significant digits.
pub(crate) fn latency_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).expect("valid histogram bounds")
}

/// A duration in whole microseconds, within the histograms' bounds.
pub(crate) fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, MAX_US)
}
