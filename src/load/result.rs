//! What a load test measured, as printed and as JSON.

use std::time::Duration;

use serde::Serialize;

use lab_load::payload::PayloadMix;
use lab_load::profile::{Profile, Shape};
use lab_load::summary::{ErrorBreakdown, HistogramBin, Summary};
use lab_load::timeline::SecondPoint;
use lab_load::Via;

use crate::exit::Exit;

use super::args::LoadArgs;
use super::threshold::Checked;
pub(crate) use crate::tune::result::WeightedPayload;

/// The whole outcome of `lab load` (`--output json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// The stage URL, or `lambda:<function>` with `--via lambda`.
    pub target: String,
    /// Transport.
    pub(crate) via: Via,
    /// `closed` (VUs) or `open` (arrival rate).
    pub model: &'static str,
    /// Closed model shape (`None` with `--stages` or `--rate`).
    pub(crate) profile: Option<Profile>,
    /// The closed model's schedule in words (`ramp-up from 1 to 10 VUs over 30 s`, the stages).
    pub(crate) shape: Option<String>,
    /// The closed model's curve: (seconds since the start, VUs) corners.
    pub(crate) shape_points: Vec<(f64, u32)>,
    /// Most VUs (closed) or most requests in flight (open).
    pub(crate) vus: u32,
    /// Planned length of each run.
    pub(crate) duration_s: f64,
    /// Ramp-up (ramp-up profile).
    pub ramp_up_s: Option<f64>,
    /// Open model arrivals per second.
    pub(crate) rate: Option<f64>,
    /// Open model: how long the arrival clock held an arrival at most to send it with the next
    /// ones (`--arrival-group`, or its default for each generator's share of the rate), ms.
    pub(crate) arrival_group_ms: Option<f64>,
    /// Request timeout.
    pub(crate) timeout_s: f64,
    /// `--max-requests`.
    pub(crate) max_requests: Option<u64>,
    /// The payloads and their relative weights.
    pub(crate) payloads: Vec<WeightedPayload>,
    /// One run, or one per `--memory` size.
    pub runs: Vec<RunResult>,
    /// Ctrl-C stopped the test; the results are what was measured until then.
    pub interrupted: bool,
    /// Memory before the test (with `--memory`).
    pub original_memory_mb: Option<u32>,
    /// Memory the function was left with (with `--memory`).
    pub restored_memory_mb: Option<u32>,
    /// Lambda invocations that generated the load (`--workers`), or `None` for this process.
    pub(crate) workers: Option<u32>,
    /// Whether every `--threshold` held in every run (`None` without thresholds).
    pub thresholds_passed: Option<bool>,
    /// On the local stack, when the function runs an unoptimised Rust build: why its figures do
    /// not forecast AWS's, and what to deploy instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_note: Option<String>,
    /// With `--baseline`: each run's p50 and p95 against the earlier test's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<super::baseline::BaselineReport>,
}

impl LoadResult {
    /// [`Exit::Failure`] when a threshold failed or `--baseline` found a regression; else [`Exit::Incomplete`] (3) when one was
    /// undecided, because the generator's own lateness alone would have decided it: CI must not
    /// read that run as a pass, nor as the target's failure.
    pub(crate) fn exit(&self) -> Exit {
        let checks = || self.runs.iter().flat_map(|r| &r.thresholds);
        let regressed = self.baseline.as_ref().is_some_and(|b| b.regressed);
        if regressed || checks().any(|c| !c.passed && !c.undecided) {
            Exit::Failure
        } else if checks().any(|c| c.undecided) {
            Exit::Incomplete
        } else {
            Exit::Success
        }
    }
}

/// One run (at one memory size).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Memory size, with `--memory`.
    pub memory_mb: Option<u32>,
    /// Display label.
    pub(crate) label: String,
    /// Totals and latency statistics.
    pub summary: Summary,
    /// Errors by kind.
    pub errors: ErrorBreakdown,
    /// Latency distribution of every request.
    pub histogram: Vec<HistogramBin>,
    /// Every request's latency (µs) as HdrHistogram's V2 deflate format in base64, so a later
    /// `--baseline` can compare with this run request by request (any HdrHistogram port reads it).
    pub latency_hdr: String,
    /// Per-second series.
    pub series: Vec<SecondPoint>,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// Comparison verdict (with several runs).
    pub verdict: Option<String>,
    /// Each `--threshold`, checked against this run.
    pub thresholds: Vec<Checked>,
    /// On the local stack: how much the host's CPU held the run's invocations back (the
    /// latencies include it; Lambda has no such wait). `None` elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_cpu: Option<crate::local_cpu::HostCpu>,
    /// How long the generator's own threads waited for a core (its latency includes that wait, as
    /// the target's). `None` off Linux and for `--workers` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpu: Option<lab_load::cpu_wait::GeneratorCpu>,
    /// On the local stack: how much of the latency was the emulator's own (the gateway in front,
    /// the data plane inside the function). `None` elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emulator: Option<lab_load::local_timing::EmulatorShare>,
    /// Lambda's own figures, each request joined with its invocation's REPORT line: cold and warm
    /// latency, Init, billed duration, memory used, cost. On the stack's function (or
    /// `--function`); `None` for another URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<super::lambda_figures::LambdaFigures>,
    /// Why Lambda's figures are missing when they were wanted (the log could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_missing: Option<String>,
}

/// The open model's arrival grouping in words, when the clock groups arrivals at all.
pub(crate) fn grouping(result: &LoadResult) -> Option<String> {
    let ms = result.arrival_group_ms.filter(|ms| *ms > 0.0)?;
    Some(format!(
        "arrivals sent in groups, each held up to {} (--arrival-group; counted in the latency)",
        crate::report::format::ms(ms)
    ))
}

/// The result's description of the test, before any run.
pub(crate) fn header(
    args: &LoadArgs,
    target: &str,
    mix: &PayloadMix,
    shape: Option<&Shape>,
    vus: u32,
    duration: Duration,
) -> LoadResult {
    LoadResult {
        target: target.to_string(),
        via: args.via,
        model: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        profile: shape.and_then(|s| s.profile),
        shape: shape.map(describe),
        shape_points: shape.map(|s| s.points().to_vec()).unwrap_or_default(),
        vus,
        duration_s: duration.as_secs_f64(),
        ramp_up_s: shape
            .filter(|s| s.profile == Some(Profile::RampUp))
            .map(|s| s.ramp_up.as_secs_f64()),
        rate: args.rate,
        arrival_group_ms: args.rate.map(|rate| {
            let arrivals = lab_load::Arrivals {
                rate,
                index: 0,
                count: args.workers.unwrap_or(1),
                group: args.arrival_group,
            };
            arrivals.group().as_secs_f64() * 1000.0
        }),
        timeout_s: args.timeout.as_secs_f64(),
        max_requests: args.max_requests,
        payloads: mix
            .described
            .iter()
            .map(|(payload, weight)| WeightedPayload {
                payload: payload.clone(),
                weight: *weight,
            })
            .collect(),
        runs: Vec::new(),
        interrupted: false,
        original_memory_mb: None,
        restored_memory_mb: None,
        workers: args.workers,
        thresholds_passed: None,
        build_note: None,
        baseline: None,
    }
}

/// Error rate above which a run is judged by its errors rather than its latency.
const ERROR_RATE_LIMIT: f64 = 0.01;

/// Requests that failed or were never sent (open model's dropped arrivals), over all attempted.
pub(crate) fn failure_rate(s: &Summary) -> f64 {
    let attempted = s.requests + s.dropped_iterations;
    if attempted == 0 {
        0.0
    } else {
        (s.errors + s.dropped_iterations) as f64 / attempted as f64
    }
}

/// Fills in the verdicts of the tutorial's comparison ("Workload Behavior Observation"), on the
/// all-requests figures: runs where more than 1% of the requests failed or were dropped are judged
/// by those; of the others, the one with the lowest p95 is "Stable & scalable", and the rest by
/// their average against the best's.
pub(crate) fn judge(runs: &mut [RunResult]) {
    if runs.len() < 2 {
        return;
    }
    let best = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            failure_rate(&r.summary) <= ERROR_RATE_LIMIT && r.summary.latency.p95_ms.is_some()
        })
        .min_by(|a, b| {
            a.1.summary
                .latency
                .p95_ms
                .partial_cmp(&b.1.summary.latency.p95_ms)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, r)| (i, r.summary.latency.avg_ms.unwrap_or(0.0)));
    for (i, run) in runs.iter_mut().enumerate() {
        let s = &run.summary;
        let failed = failure_rate(s);
        run.verdict = Some(if s.requests == 0 {
            "No requests completed".to_string()
        } else if failed > ERROR_RATE_LIMIT && s.dropped_iterations > 0 {
            format!("Errors or dropped under load ({:.1}%)", failed * 100.0)
        } else if failed > ERROR_RATE_LIMIT {
            format!("Errors under load ({:.1}%)", failed * 100.0)
        } else {
            match best {
                Some((b, _)) if b == i => "Stable & scalable".to_string(),
                Some((_, best_avg)) if s.latency.avg_ms.unwrap_or(0.0) > 2.0 * best_avg => {
                    "High latency under load".to_string()
                }
                Some(_) => "Close to the best".to_string(),
                None => "-".to_string(),
            }
        });
    }
}

/// A shape in one line, for the intro and the reports.
pub(crate) fn describe(shape: &Shape) -> String {
    let secs = |d: Duration| crate::report::format::seconds(d.as_secs_f64());
    match shape.profile {
        Some(Profile::RampUp) => format!(
            "ramp-up from {} to {} VUs over {}",
            shape.low,
            shape.vus,
            secs(shape.ramp_up)
        ),
        Some(Profile::Fixed) => format!("fixed with {} VUs", shape.vus),
        Some(p) => format!(
            "{} from a base of {} to {} VUs",
            p.as_str(),
            shape.low,
            shape.vus
        ),
        None => {
            let stages: Vec<String> = shape
                .points()
                .windows(2)
                .map(|w| {
                    format!(
                        "{}:{}",
                        secs(Duration::from_secs_f64(w[1].0 - w[0].0)),
                        w[1].1
                    )
                })
                .collect();
            format!("stages {} from {} VUs", stages.join(","), shape.low)
        }
    }
}
