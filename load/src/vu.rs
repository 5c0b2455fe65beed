//! The loops that send: the closed-model VU, and the open model's scheduler and its workers. Results
//! go to a shared recorder shard and the shared [`Timeline`]; a VU itself holds only its
//! connection and a few words of state, so 10,000 of them fit in a few hundred megabytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::{mpsc, watch};

use super::client::Transport;
use super::clock;
use super::lateness::{Stages, Stamps};
use super::metrics::{Outcome, Shards};
use super::payload::PayloadMix;
use super::profile::Shape;
use super::timeline::Timeline;

/// Tells every VU to stop; cloned into each.
#[derive(Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
}

/// The sending half of [`Stop`].
pub struct StopHandle {
    tx: watch::Sender<bool>,
}

/// A stop signal and its handle.
pub fn stop_signal() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle { tx }, Stop { rx })
}

impl StopHandle {
    /// Stops every VU now (in-flight requests are abandoned).
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    /// Another receiver.
    pub fn subscribe(&self) -> Stop {
        Stop {
            rx: self.tx.subscribe(),
        }
    }
}

impl Stop {
    /// Whether stop was requested.
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when stop is requested.
    pub async fn stopped(&mut self) {
        // An error means the handle is gone, which only happens once the run is over.
        let _ = self.rx.wait_for(|s| *s).await;
    }
}

/// What every VU of a run shares.
pub(crate) struct RunContext {
    /// Per-second record.
    pub(crate) timeline: Arc<Timeline>,
    /// Totals and latency histograms, a few shards for all VUs.
    pub(crate) shards: Shards,
    /// The payloads.
    pub(crate) mix: Arc<PayloadMix>,
    /// No request starts at or after this instant.
    pub(crate) end: Instant,
    /// Requests completing inside this window count toward throughput.
    pub(crate) window: (Instant, Instant),
    /// Where in the shape the timeline's start is (a slice of a longer run starts past 0).
    pub(crate) shape_offset: Duration,
    /// Requests started, for `--max-requests`.
    pub(crate) started: AtomicU64,
    /// `--max-requests`.
    pub(crate) max_requests: Option<u64>,
}

impl RunContext {
    /// Claims the right to start one more request; `false` once `--max-requests` is reached.
    pub(crate) fn claim(&self) -> bool {
        match self.max_requests {
            None => true,
            Some(max) => self.started.fetch_add(1, Ordering::Relaxed) < max,
        }
    }

    /// Records one request of VU `id` that completed at `done` after `latency`; an open-model
    /// request also the `stages` of its way to being sent.
    pub(crate) fn record(
        &self,
        id: u32,
        outcome: &Outcome,
        error: Option<String>,
        done: Instant,
        latency: Duration,
        stages: Option<&Stages>,
    ) {
        let in_window = done >= self.window.0 && done < self.window.1;
        {
            let mut shard = self.shards.of(id);
            shard.record(outcome, latency, in_window);
            if let Some(stages) = stages {
                shard.record_lateness(stages, latency);
            }
            if let Some(e) = error {
                shard.error_example(e);
            }
        }
        self.timeline.record(done, outcome.is_ok(), latency);
    }

    /// Whether VU `id`'s shard still wants an example error text.
    pub(crate) fn wants_example(&self, id: u32) -> bool {
        self.shards.of(id).wants_error_example()
    }
}

/// A tiny xorshift generator for picking payloads: 8 bytes per VU where `StdRng` takes hundreds.
pub(crate) struct Pick(u64);

impl Pick {
    /// Seeded from the VU number (any odd-mixed non-zero seed will do).
    pub(crate) fn new(id: u32) -> Pick {
        Pick((u64::from(id) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
}

impl RngCore for Pick {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::rngs::mock::StepRng::new(self.next_u64(), 1).fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The closed-model VU number `id`: active while the shape says so, sending requests back to
/// back; while idle it sleeps until the shape next wants it (no polling).
pub(crate) async fn vu_loop(
    id: u32,
    ctx: Arc<RunContext>,
    shape: Arc<Shape>,
    transport: Transport,
    mut stop: Stop,
) {
    let mut pick = Pick::new(id);
    let start = ctx.timeline.start();
    let mut active = false;
    loop {
        let now = Instant::now();
        if now >= ctx.end || stop.is_stopped() {
            break;
        }
        let t = now.saturating_duration_since(start) + ctx.shape_offset;
        let wanted = id < shape.target_vus(t);
        if wanted != active {
            ctx.timeline.vu_changed(wanted, now);
            active = wanted;
        }
        if !active {
            let Some(next) = shape.next_active(id, t) else {
                break;
            };
            let wake = (start + next.saturating_sub(ctx.shape_offset)).min(ctx.end);
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => continue,
                () = stop.stopped() => break,
            }
        }
        if !ctx.claim() {
            break;
        }
        let body = ctx.mix.pick(&mut pick);
        let sent = Instant::now();
        let (outcome, error) = tokio::select! {
            r = transport.send(body, ctx.wants_example(id)) => r,
            () = stop.stopped() => break,
        };
        let done = Instant::now();
        ctx.record(id, &outcome, error, done, done - sent, None);
    }
    if active {
        ctx.timeline.vu_changed(false, Instant::now());
    }
}

/// An open-model arrival handed to a free worker: when it should have been sent, and when it
/// passed each step since. Its latency always counts from the intended time, as wrk2 and oha
/// `--latency-correction` count it; the steps say how much of that was the generator's own
/// lateness rather than a wait for a free worker (the `lateness` module).
pub(crate) struct Job {
    /// The intended send time and the steps since.
    pub(crate) stamps: Stamps,
}

/// An open-model VU: takes arrivals addressed to it, sends them, and reports itself free again.
pub(crate) async fn worker(
    id: usize,
    ctx: Arc<RunContext>,
    mut jobs: mpsc::Receiver<Job>,
    free: mpsc::UnboundedSender<usize>,
    transport: Transport,
    mut stop: Stop,
) {
    let mut pick = Pick::new(id as u32);
    loop {
        let job = tokio::select! {
            job = jobs.recv() => job,
            () = stop.stopped() => None,
        };
        let Some(job) = job else { break };
        ctx.timeline.in_flight(true);
        let body = ctx.mix.pick(&mut pick);
        let stages = Stages::of(&job.stamps, Instant::now());
        let result = tokio::select! {
            r = transport.send(body, ctx.wants_example(id as u32)) => Some(r),
            () = stop.stopped() => None,
        };
        ctx.timeline.in_flight(false);
        let Some((outcome, error)) = result else {
            break;
        };
        let done = Instant::now();
        let latency = done.saturating_duration_since(job.stamps.intended);
        ctx.record(id as u32, &outcome, error, done, latency, Some(&stages));
        if free.send(id).is_err() {
            break;
        }
    }
}

/// How long an arrival may wait for a free worker before it counts as dropped. Waiting (and counting
/// the wait in its latency) rather than dropping at once keeps a timer tick's burst of arrivals, or a
/// brief stall of the server, from being reported as drops.
pub(crate) const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// This generator's share of an open-model schedule: arrivals `k * count + index` of the whole
/// run's `rate` (with `count` Lambda workers, each takes every `count`-th arrival).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrivals {
    /// Arrivals per second of the whole run.
    pub rate: f64,
    /// This generator's number.
    pub index: u32,
    /// Generators sharing the schedule.
    pub count: u32,
}

/// The open-model scheduler: this share's arrivals, ticked by the [`clock`], each handed to a free
/// worker, or dropped when none frees up within [`MAX_QUEUE_WAIT`]. Returns the number dropped.
pub(crate) async fn schedule(
    ctx: &RunContext,
    arrivals: Arrivals,
    workers: Vec<mpsc::Sender<Job>>,
    mut free: mpsc::UnboundedReceiver<usize>,
    mut stop: Stop,
) -> u64 {
    let start = ctx.timeline.start();
    let offset = ctx.shape_offset.as_secs_f64();
    let end = ctx.end;
    let mut dropped = 0;
    // The first arrival of this share at or after the slice's offset.
    let first = ((offset * arrivals.rate - f64::from(arrivals.index)) / f64::from(arrivals.count))
        .ceil()
        .max(0.0) as u64;
    let times = (first..)
        .map(move |k| {
            // Computed from the start, not accumulated, so rounding never drifts the rate.
            let n = k as f64 * f64::from(arrivals.count) + f64::from(arrivals.index);
            start + Duration::from_secs_f64((n / arrivals.rate - offset).max(0.0))
        })
        .take_while(move |intended| *intended < end);
    let mut clock = clock::start(times);
    // When the scheduler last finished waiting for a free worker: a tick that came before that
    // waited behind it, for a worker too, not on the scheduler.
    let mut waited_until = start;
    loop {
        if stop.is_stopped() {
            break;
        }
        let tick = tokio::select! {
            tick = clock.recv() => match tick {
                Some(tick) => tick,
                None => break,
            },
            () = stop.stopped() => break,
        };
        let taken = Instant::now();
        let intended = tick.intended;
        let id = match free.try_recv() {
            Ok(id) => id,
            Err(_) => {
                let give_up = intended + MAX_QUEUE_WAIT;
                tokio::select! {
                    id = free.recv() => match id {
                        Some(id) => {
                            waited_until = Instant::now();
                            id
                        }
                        None => break,
                    },
                    () = tokio::time::sleep_until(give_up.into()) => {
                        dropped += 1;
                        waited_until = Instant::now();
                        continue;
                    }
                    () = stop.stopped() => break,
                }
            }
        };
        let assigned = Instant::now();
        let stamps = Stamps {
            intended,
            clock_free: tick.free,
            ticked: tick.woke,
            ready: tick.woke.max(waited_until).min(taken),
            taken,
            assigned,
        };
        if !ctx.claim() {
            break;
        }
        if workers[id].send(Job { stamps }).await.is_err() {
            break;
        }
    }
    dropped
}
