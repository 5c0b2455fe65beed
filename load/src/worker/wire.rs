//! What goes to a worker (the [`Plan`]) and what comes back (the [`Report`]): the recorder's
//! counts and its HDR histograms serialized in HdrHistogram's own V2 format (deflated, base64),
//! and the per-second slots likewise, so merging workers gives exactly the counts, and the
//! percentiles within HDR precision, of one histogram fed every sample.

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::histogram::latency_histogram;
use super::super::lateness::Lateness;
use super::super::metrics::Recorder;
use super::super::profile::Shape;
use super::super::summary::ErrorBreakdown;
use super::super::timeline::Timeline;
use crate::Via;

/// The marker a worker requires in its event: it runs only what lab sends it.
pub const PLAN_MARKER: &str = "lab_load_worker";
/// The plan (and report) format this build speaks.
pub const PLAN_VERSION: u32 = 2;

/// Closed or open model, as sent to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanModel {
    /// VUs following a shape.
    Closed {
        /// The whole test's shape.
        shape: Shape,
    },
    /// A share of an arrival rate.
    Open {
        /// Arrivals per second of the whole test.
        rate: f64,
        /// `--arrival-group`, microseconds (absent: the clock's default for the worker's share).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_us: Option<u64>,
    },
}

/// One worker's share of one slice of a test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_VERSION`].
    pub version: u32,
    /// Through the stage URL or Lambda Invoke.
    pub via: Via,
    /// The stage URL.
    pub url: String,
    /// The function, with `--via lambda`.
    pub function: Option<String>,
    /// The Lambda API endpoint to use (the local stack's gateway), with `--via lambda`.
    pub endpoint_url: Option<String>,
    /// The model.
    pub model: PlanModel,
    /// This worker's number, and how many share the test.
    pub index: u32,
    /// Workers in the test.
    pub count: u32,
    /// VUs in the whole test (closed) or requests in flight (open).
    pub vus: u32,
    /// Length of this slice, seconds.
    pub duration_s: f64,
    /// Where the slice starts in the test, seconds.
    pub offset_s: f64,
    /// The measured window, seconds since the test's start.
    pub window: (f64, f64),
    /// Request timeout, seconds.
    pub timeout_s: f64,
    /// This worker's share of `--max-requests`.
    pub max_requests: Option<u64>,
    /// The payloads and their weights.
    pub payloads: Vec<(Value, f64)>,
    /// Send one request per VU before the clock starts.
    pub warm_up: bool,
    /// When every worker starts its clock, milliseconds since the Unix epoch.
    pub start_at_unix_ms: u64,
}

/// What one worker measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The recorder.
    pub recorder: RecorderWire,
    /// Each second that saw anything.
    pub seconds: Vec<SecondWire>,
    /// Open model: arrivals not sent.
    pub dropped: u64,
    /// From the clock's start to the last answer, seconds.
    pub elapsed_s: f64,
    /// How late after the agreed start this worker began, milliseconds.
    pub late_ms: f64,
}

/// A [`Recorder`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecorderWire {
    /// Every request's latency: V2 deflate, base64.
    pub(crate) all: String,
    /// Successes' latency.
    pub(crate) ok: String,
    /// Successes.
    pub(crate) ok_count: u64,
    /// The errors by kind, and the first one seen.
    pub(crate) errors: ErrorBreakdown,
    /// Requests completed inside the measured window.
    pub(crate) window_requests: u64,
    /// Open model: the lateness histograms in `Lateness::histograms`' order, each as `all` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lateness: Option<Vec<String>>,
}

/// One second of a worker's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondWire {
    /// Seconds since the worker's clock started.
    pub(crate) second: u32,
    /// Requests completed.
    pub(crate) requests: u64,
    /// Of which errors.
    pub(crate) errors: u64,
    /// Most VUs active.
    pub(crate) active_vus: u32,
    /// Latency of the second's requests (2 significant digits), V2 deflate, base64.
    pub(crate) latency: Option<String>,
}

pub(crate) use crate::histogram::{decode, encode};

impl RecorderWire {
    /// The wire form of `r`.
    pub fn from_recorder(r: &Recorder) -> RecorderWire {
        RecorderWire {
            all: encode(&r.all),
            ok: encode(&r.ok),
            ok_count: r.ok_count,
            errors: r.errors(),
            window_requests: r.window_requests,
            lateness: r.lateness.as_ref().map(|l| l.histograms().into_iter().map(encode).collect()),
        }
    }

    /// The recorder back: histograms re-added into lab's bounds, so they merge with any other.
    pub fn to_recorder(&self) -> Result<Recorder> {
        let mut r = Recorder::new();
        r.all.add(decode(&self.all)?).context("a worker's histogram has other bounds")?;
        r.ok.add(decode(&self.ok)?).context("a worker's histogram has other bounds")?;
        r.ok_count = self.ok_count;
        r.set_errors(&self.errors);
        r.window_requests = self.window_requests;
        if let Some(texts) = &self.lateness {
            let mut lateness = Lateness::default();
            let decoded = texts.iter().map(|t| decode(t)).collect::<Result<Vec<_>>>()?;
            let decoded: [Histogram<u64>; 7] = decoded
                .try_into()
                .map_err(|_| anyhow::anyhow!("a worker's lateness is not six histograms"))?;
            lateness
                .merge(&Lateness::from_histograms(decoded))
                .context("a worker's lateness histograms have other bounds")?;
            r.lateness = Some(Box::new(lateness));
        }
        Ok(r)
    }
}

/// The seconds of `t` that saw anything.
pub(crate) fn seconds_of(t: &Timeline) -> Vec<SecondWire> {
    (0..t.slots.len())
        .filter_map(|i| {
            let slot = t.lock(i);
            slot.touched.then(|| SecondWire {
                second: i as u32,
                requests: slot.requests,
                errors: slot.errors,
                active_vus: slot.active_vus,
                latency: slot.latency.as_ref().map(encode),
            })
        })
        .collect()
}

/// Adds a worker's seconds into `t`, `offset` seconds in (a later slice of a long test).
pub fn absorb(t: &Timeline, seconds: &[SecondWire], offset: u32) -> Result<()> {
    for s in seconds {
        let i = ((s.second + offset) as usize).min(t.slots.len() - 1);
        let mut slot = t.lock(i);
        slot.touched = true;
        slot.requests += s.requests;
        slot.errors += s.errors;
        // Workers follow the same curve at the same moments: their peaks add up.
        slot.active_vus += s.active_vus;
        if let Some(text) = &s.latency {
            slot.latency
                .get_or_insert_with(|| latency_histogram(2))
                .add(decode(text)?)
                .context("a worker's histogram has other bounds")?;
        }
    }
    Ok(())
}
