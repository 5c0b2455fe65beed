//! One load test from start to finish in this process: connect every VU, warm them up, start the
//! VUs (closed model) or the clock and its workers (open model), sample active VUs, run the live
//! view (the caller's, through [`LiveView`]), and hand back what was measured. A Lambda worker
//! runs exactly this on its share.

use crate::cpu_wait::{GeneratorCpu, RunQueue};
use crate::summary::LatencyStats;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::future::join_all;

use super::client::{Endpoint, Transport};
use super::metrics::{Outcome, Recorder, Shards};
use super::payload::PayloadMix;
use super::profile::Shape;
use super::requests::{epoch_ms_of, RequestLog, RequestRecord};
use super::timeline::Timeline;
use super::vu::{self, Arrivals, RunContext, StopHandle};

/// Closed (VUs looping) or open (fixed arrival rate) model.
#[derive(Debug, Clone)]
pub enum Model {
    /// VUs active according to a shape.
    Closed(Arc<Shape>),
    /// A share of a fixed arrival rate.
    Open(Arrivals),
}

/// Which VUs of the whole test this generator runs: `first, first + step, ...` below `total`
/// (a Lambda worker `i` of `n` runs VUs `i, i + n, ...`, so the workers together follow the shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VuSet {
    /// The first VU number.
    pub(crate) first: u32,
    /// The distance between this generator's VUs.
    pub(crate) step: u32,
    /// VUs in the whole test.
    pub(crate) total: u32,
}

impl VuSet {
    /// Every VU of a test of `total`.
    pub fn all(total: u32) -> VuSet {
        VuSet {
            first: 0,
            step: 1,
            total,
        }
    }

    /// The VU numbers.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> {
        (self.first..self.total).step_by(self.step.max(1) as usize)
    }
}

/// What one run (or one slice of one worker's run) does.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The load model.
    pub model: Model,
    /// This generator's VUs (closed) or workers (open).
    pub vus: VuSet,
    /// Length of this run or slice.
    pub duration: Duration,
    /// Where in the test this slice starts (0 for a whole run).
    pub offset: Duration,
    /// The measured window for throughput, seconds since the test's start.
    pub window: (f64, f64),
    /// Request timeout (sizes the timeline for requests that finish after the end).
    pub timeout: Duration,
    /// `--max-requests` (this generator's share).
    pub max_requests: Option<u64>,
    /// Shown in the live view, e.g. `128 MB`.
    pub label: String,
    /// Memory size the run was made at.
    pub memory_mb: Option<u32>,
    /// Send one request from every VU first, unmeasured (after a memory change).
    pub warm_up: bool,
    /// Start the clock at this instant (workers start together), else right after the warm-up.
    pub start_at: Option<Instant>,
    /// Keep each request's own record ([`Measured::requests`]), to join with Lambda's figures.
    pub keep_requests: bool,
}

/// What a run measured, before it is summarised.
pub struct Measured {
    /// Every request, merged.
    pub recorder: Recorder,
    /// The per-second record.
    pub timeline: Arc<Timeline>,
    /// Open model: arrivals not sent.
    pub dropped: u64,
    /// From the clock's start to the last answer.
    pub elapsed: Duration,
    /// Stopped early (Ctrl-C).
    pub interrupted: bool,
    /// How late after `start_at` this generator got going.
    pub late: Duration,
    /// Each request, in answer order, when [`RunSpec::keep_requests`] asked (else empty).
    pub requests: Vec<RequestRecord>,
    /// The run's clock start on the wall clock, ms since the epoch (log events are stamped so).
    pub started_epoch_ms: f64,
    /// How long this process's threads waited for a core during the run (`None` off Linux, and
    /// for Lambda workers' runs).
    pub generator_cpu: Option<crate::cpu_wait::GeneratorCpu>,
}

/// What shows a run while it goes: lab's live line on the terminal; a worker shows nothing
/// (`NoView`). The generator keeps no screen of its own, so it links no terminal crate.
pub trait LiveView {
    /// Starts showing the run: called once the clock's start is set, before the first request.
    /// The run's `timeline` is shared with the VUs; `max_vus` are this generator's VUs.
    fn start(&self, timeline: Arc<Timeline>, spec: &RunSpec, max_vus: u32) -> Box<dyn Shown>;
}

/// A view [`LiveView::start`] started; finished when the run is over.
pub trait Shown {
    /// Stops showing the run (and erases what was drawn).
    fn finish(self: Box<Self>);
}

/// No live view (a worker, whose output nobody watches).
pub(crate) struct NoView;

impl LiveView for NoView {
    fn start(&self, _: Arc<Timeline>, _: &RunSpec, _: u32) -> Box<dyn Shown> {
        Box::new(NoView)
    }
}

impl Shown for NoView {
    fn finish(self: Box<Self>) {}
}

/// Runs one test (or slice). Every VU's connection is made, and warmed up when asked, before the
/// clock starts, so setup is not measured.
pub async fn measure(
    spec: &RunSpec,
    endpoint: &Endpoint,
    mix: Arc<PayloadMix>,
    stop: &StopHandle,
    view: &dyn LiveView,
) -> Result<Measured> {
    let ids: Vec<u32> = spec.vus.ids().collect();
    let transports = ids.iter().map(|_| endpoint.connect()).collect::<Result<Vec<_>>>()?;
    if spec.warm_up {
        warm_up(&transports, &mix).await?;
    }
    let now = Instant::now();
    let start = spec.start_at.unwrap_or(now);
    let late = now.saturating_duration_since(start);
    let slots = (spec.duration + spec.timeout).as_secs() as usize + 2;
    let timeline = Arc::new(Timeline::new(start, slots));
    let local = |secs: f64| {
        let at = Duration::from_secs_f64((secs - spec.offset.as_secs_f64()).max(0.0));
        start + at.min(spec.duration)
    };
    let ctx = Arc::new(RunContext {
        timeline: timeline.clone(),
        shards: Shards::for_this_runtime(),
        mix,
        end: start + spec.duration,
        window: (local(spec.window.0), local(spec.window.1)),
        shape_offset: spec.offset,
        started: AtomicU64::new(0),
        max_requests: spec.max_requests,
        requests: spec.keep_requests.then(|| RequestLog::new(ids.len().min(64), start)),
    });
    let sampler = {
        let timeline = timeline.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                timeline.sample_active(Instant::now());
            }
        })
    };
    let monitor = view.start(timeline.clone(), spec, ids.len() as u32);
    tokio::time::sleep_until(start.into()).await;
    let queue_before = RunQueue::now();
    let dropped = match &spec.model {
        Model::Closed(shape) => {
            let vus = ids.iter().zip(transports).map(|(&id, transport)| {
                tokio::spawn(vu::vu_loop(
                    id,
                    ctx.clone(),
                    shape.clone(),
                    transport,
                    stop.subscribe(),
                ))
            });
            join_all(vus.collect::<Vec<_>>()).await;
            0
        }
        Model::Open(arrivals) => open(&ctx, *arrivals, transports, stop).await,
    };
    sampler.abort();
    let elapsed = start.elapsed();
    let queue_after = RunQueue::now();
    monitor.finish();
    let recorder = ctx.shards.merged();
    let p50_ms = LatencyStats::of(recorder.all_latency()).p50_ms;
    let open_model = matches!(spec.model, Model::Open(_));
    let generator_cpu =
        GeneratorCpu::between(queue_before, queue_after, elapsed, p50_ms, open_model);
    Ok(Measured {
        recorder,
        timeline,
        dropped,
        elapsed,
        interrupted: stop.subscribe().is_stopped(),
        late,
        requests: ctx.requests.as_ref().map(RequestLog::take).unwrap_or_default(),
        started_epoch_ms: epoch_ms_of(start),
        generator_cpu,
    })
}

async fn open(
    ctx: &Arc<RunContext>,
    arrivals: Arrivals,
    transports: Vec<Transport>,
    stop: &StopHandle,
) -> u64 {
    let queue = vu::Queue::start(ctx, arrivals);
    let workers: Vec<_> = transports
        .into_iter()
        .enumerate()
        .map(|(id, transport)| {
            tokio::spawn(vu::worker(
                id,
                ctx.clone(),
                queue.clone(),
                transport,
                stop.subscribe(),
            ))
        })
        .collect();
    join_all(workers).await;
    // Dropping the queue's last handle ends the clock (it sees no one listens).
    queue.dropped()
}

/// One request from every VU at once, results ignored: every connection is open and every
/// function instance the test will use exists (a memory change retires the warm ones). Fails only
/// if no request got any answer (the target is unreachable, so measuring would be pointless).
async fn warm_up(transports: &[Transport], mix: &PayloadMix) -> Result<()> {
    let body = mix.first();
    let answers = join_all(transports.iter().map(|t| t.send(body, true))).await;
    if answers.iter().all(|a| a.outcome == Outcome::Connection) {
        let why = answers.into_iter().find_map(|a| a.error).unwrap_or_default();
        bail!("warm-up failed: the target did not answer ({why})");
    }
    Ok(())
}
