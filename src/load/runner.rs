//! One load test from start to finish: start the VUs (closed model) or the scheduler and its
//! workers (open model), sample active VUs, run the live view, and merge the results.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::future::join_all;
use tokio::sync::mpsc;

use super::client::{self, Endpoint, Job, RunContext, StopHandle};
use super::metrics::{Recorder, Timeline};
use super::monitor::Monitor;
use super::payload::PayloadMix;
use super::profile::Shape;
use super::result::RunResult;

/// Closed (VUs looping) or open (fixed arrival rate) model.
#[derive(Debug, Clone, Copy)]
pub enum Model {
    /// VUs active according to a shape.
    Closed(Shape),
    /// Requests per second.
    Open {
        /// Arrivals per second.
        rate: f64,
    },
}

/// What one run does.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The load model.
    pub model: Model,
    /// Most VUs (closed) or requests in flight (open).
    pub vus: u32,
    /// Test length.
    pub duration: Duration,
    /// Request timeout (sizes the timeline for requests that finish after the end).
    pub timeout: Duration,
    /// `--max-requests`.
    pub max_requests: Option<u64>,
    /// Shown in the live view, e.g. `128 MB`.
    pub label: String,
    /// Memory size the run was made at.
    pub memory_mb: Option<u32>,
    /// Draw the live view.
    pub live_view: bool,
}

/// Bins in the reported latency histogram.
const HISTOGRAM_BINS: usize = 12;

/// Runs one test. Every VU's client is built before the clock starts, so setup is not measured.
pub async fn run_once(
    spec: &RunSpec,
    endpoint: &Endpoint,
    mix: Arc<PayloadMix>,
    stop: &StopHandle,
) -> Result<RunResult> {
    let transports = (0..spec.vus)
        .map(|_| endpoint.connect())
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    let slots = (spec.duration + spec.timeout).as_secs() as usize + 2;
    let timeline = Arc::new(Timeline::new(start, slots));
    let ctx = Arc::new(RunContext {
        timeline: timeline.clone(),
        mix,
        end: start + spec.duration,
        started: AtomicU64::new(0),
        max_requests: spec.max_requests,
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
    let monitor = Monitor::start(
        timeline.clone(),
        spec.duration,
        &spec.label,
        spec.vus,
        spec.live_view,
    );

    let (recorders, dropped) = match spec.model {
        Model::Closed(shape) => {
            let vus = transports.into_iter().enumerate().map(|(id, transport)| {
                tokio::spawn(client::vu_loop(
                    id as u32,
                    ctx.clone(),
                    shape,
                    transport,
                    stop.subscribe(),
                ))
            });
            (collect(join_all(vus.collect::<Vec<_>>()).await), 0)
        }
        Model::Open { rate } => {
            let (free_tx, free_rx) = mpsc::unbounded_channel::<usize>();
            let mut job_txs = Vec::new();
            let mut workers = Vec::new();
            for (id, transport) in transports.into_iter().enumerate() {
                let (tx, rx) = mpsc::channel::<Job>(1);
                job_txs.push(tx);
                let _ = free_tx.send(id);
                workers.push(tokio::spawn(client::worker(
                    id,
                    ctx.clone(),
                    rx,
                    free_tx.clone(),
                    transport,
                    stop.subscribe(),
                )));
            }
            drop(free_tx);
            let dropped = schedule(&ctx, rate, job_txs, free_rx, stop).await;
            (collect(join_all(workers).await), dropped)
        }
    };
    sampler.abort();
    let elapsed = start.elapsed();
    monitor.finish();

    let mut total = Recorder::new();
    for r in &recorders {
        total.merge(r);
    }
    Ok(RunResult {
        memory_mb: spec.memory_mb,
        label: spec.label.clone(),
        summary: total.summary(elapsed, dropped),
        errors: total.errors(),
        histogram: total.histogram(HISTOGRAM_BINS),
        series: timeline.series(elapsed),
        interrupted: stop.subscribe().is_stopped(),
        verdict: None,
    })
}

fn collect(joined: Vec<Result<Recorder, tokio::task::JoinError>>) -> Vec<Recorder> {
    // A VU task only fails by panicking; its measurements are lost but the others still count.
    joined.into_iter().filter_map(Result::ok).collect()
}

/// How long an arrival may wait for a free worker before it counts as dropped. Waiting (and counting
/// the wait in its latency) rather than dropping at once keeps a timer tick's burst of arrivals, or a
/// brief stall of the server, from being reported as drops.
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// The open-model clock: one arrival every 1/rate s, each handed to a free worker, or dropped when
/// none frees up within [`MAX_QUEUE_WAIT`]. Returns the number dropped.
async fn schedule(
    ctx: &RunContext,
    rate: f64,
    workers: Vec<mpsc::Sender<Job>>,
    mut free: mpsc::UnboundedReceiver<usize>,
    stop: &StopHandle,
) -> u64 {
    let start = ctx.timeline.start();
    let mut stop = stop.subscribe();
    let mut dropped = 0;
    for k in 0u64.. {
        // Computed from the start, not accumulated, so rounding never drifts the rate.
        let intended = start + Duration::from_secs_f64(k as f64 / rate);
        if intended >= ctx.end || stop.is_stopped() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(intended.into()) => {}
            () = stop.stopped() => break,
        }
        let (id, waited) = match free.try_recv() {
            Ok(id) => (id, false),
            Err(_) => {
                let give_up = intended + MAX_QUEUE_WAIT;
                if Instant::now() >= give_up {
                    dropped += 1;
                    continue;
                }
                tokio::select! {
                    id = free.recv() => match id {
                        Some(id) => (id, true),
                        None => break,
                    },
                    () = tokio::time::sleep_until(give_up.into()) => {
                        dropped += 1;
                        continue;
                    }
                    () = stop.stopped() => break,
                }
            }
        };
        if !ctx.claim() {
            break;
        }
        let job = Job {
            intended,
            queued: waited,
        };
        if workers[id].send(job).await.is_err() {
            break;
        }
    }
    dropped
}
