//! The bounds every latency histogram of a run shares (1 µs to 1 hour), so that any two of them add:
//! the recorders', the per-second slots', the lateness stages', and a worker's read back; and the
//! text form a histogram travels in (a worker's report, a run's recorded latencies in `-o json`).

use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
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

/// A histogram as HdrHistogram's own V2 deflate format in base64 (what its Java, Go and Python
/// ports read).
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing into memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads [`encode`]'s output back.
pub fn decode(text: &str) -> Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("a histogram is not base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("a histogram does not decode: {e:?}"))
}
