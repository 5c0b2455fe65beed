//! The loops that send: the closed-model VU, and the open model's VUs pulling arrivals off the
//! clock's queue. Results
//! go to a shared recorder shard and the shared [`Timeline`]; a VU itself holds only its
//! connection and a few words of state, so 10,000 of them fit in a few hundred megabytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::watch;

use super::client::{Answer, Transport};
use super::clock;
use super::lateness::{Stages, Stamps};
use super::metrics::{Outcome, Shards};
use super::payload::PayloadMix;
use super::profile::Shape;
use super::requests::RequestLog;
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
    /// Each request's own record, when the run keeps them (see [`crate::requests`]).
    pub(crate) requests: Option<RequestLog>,
}

impl RunContext {
    /// Claims the right to start one more request; `false` once `--max-requests` is reached.
    pub(crate) fn claim(&self) -> bool {
        match self.max_requests {
            None => true,
            Some(max) => self.started.fetch_add(1, Ordering::Relaxed) < max,
        }
    }

    /// Records one request of VU `id`, sent at `sent`, that completed at `done` after `latency`
    /// (from `sent`, or from its intended time in the open model, which also gives the `stages`
    /// of its way to being sent).
    pub(crate) fn record(
        &self,
        id: u32,
        answer: Answer,
        (sent, done): (Instant, Instant),
        latency: Duration,
        stages: Option<&Stages>,
    ) {
        let Answer {
            outcome,
            error,
            report,
        } = answer;
        let outcome = &outcome;
        if let Some(log) = &self.requests {
            log.push(id, sent, done, reached_function(outcome), report);
        }
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

/// Whether an answer came from the function (so an invocation, with its REPORT line, served it):
/// a success, a function error, or the 4xx the stage maps a function error to. API Gateway's own
/// refusals (403, 429) and the 5xx of a failed integration never reached it.
fn reached_function(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Ok | Outcome::FunctionError(_) => true,
        Outcome::Status(code) => (400..500).contains(code) && !matches!(code, 403 | 429),
        _ => false,
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
        let answer = tokio::select! {
            r = transport.send(body, ctx.wants_example(id)) => r,
            () = stop.stopped() => break,
        };
        let done = Instant::now();
        ctx.record(id, answer, (sent, done), done - sent, None);
    }
    if active {
        ctx.timeline.vu_changed(false, Instant::now());
    }
}

/// The open model's arrivals, shared by its VUs as oha shares its: the clock's queue, which a free
/// VU pulls the next arrival from itself (no scheduler task between them, so an arrival costs one
/// task wake-up, the VU's), and the arrivals dropped.
pub(crate) struct Queue {
    ticks: flume::Receiver<clock::Tick>,
    dropped: AtomicU64,
}

impl Queue {
    /// This share's arrivals (see [`Arrivals`]), ticked by the [`clock`] from the run's start.
    pub(crate) fn start(ctx: &RunContext, arrivals: Arrivals) -> Arc<Queue> {
        let start = ctx.timeline.start();
        let offset = ctx.shape_offset.as_secs_f64();
        let end = ctx.end;
        // The first arrival of this share at or after the slice's offset.
        let first = ((offset * arrivals.rate - f64::from(arrivals.index))
            / f64::from(arrivals.count))
        .ceil()
        .max(0.0) as u64;
        let times = (first..)
            .map(move |k| {
                // Computed from the start, not accumulated, so rounding never drifts the rate.
                let n = k as f64 * f64::from(arrivals.count) + f64::from(arrivals.index);
                start + Duration::from_secs_f64((n / arrivals.rate - offset).max(0.0))
            })
            .take_while(move |intended| *intended < end);
        Arc::new(Queue {
            ticks: clock::start(times, arrivals.group()),
            dropped: AtomicU64::new(0),
        })
    }

    /// Arrivals no VU was free for within [`MAX_QUEUE_WAIT`].
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next arrival, for a VU free since `idle_since`; `None` once the schedule or the run ended.
    async fn next(&self, stop: &mut Stop) -> Option<clock::Tick> {
        // Free VUs wait on the channel in the order they freed up, so the one free longest takes
        // the next arrival.
        tokio::select! {
            tick = self.ticks.recv_async() => tick.ok(),
            () = stop.stopped() => None,
        }
    }
}

/// An open-model VU: takes the next arrival off the shared [`Queue`] when it is free, sends it, and
/// comes back for the next. An arrival's latency counts from its intended time, as wrk2 and
/// oha `--latency-correction` count it (or from its send, when the clock sent it a little early:
/// [`clock::counted_from`]); its stamps say how much of that was the generator's own lateness
/// rather than a wait for a free VU (the `lateness` module).
pub(crate) async fn worker(
    id: usize,
    ctx: Arc<RunContext>,
    queue: Arc<Queue>,
    transport: Transport,
    mut stop: Stop,
) {
    let mut pick = Pick::new(id as u32);
    loop {
        let idle_since = Instant::now();
        let Some(tick) = queue.next(&mut stop).await else {
            break;
        };
        let taken = Instant::now();
        if taken > tick.intended + MAX_QUEUE_WAIT {
            queue.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if !ctx.claim() {
            break;
        }
        let stamps = Stamps {
            intended: tick.intended,
            clock_free: tick.free,
            ticked: tick.woke,
            // Before this VU was free, the arrival waited for a VU; after, on the generator.
            ready: tick.woke.max(idle_since).min(taken),
            taken,
            assigned: taken,
        };
        ctx.timeline.in_flight(true);
        let body = ctx.mix.pick(&mut pick);
        let sent = Instant::now();
        let stages = Stages::of(&stamps, sent);
        let result = tokio::select! {
            r = transport.send(body, ctx.wants_example(id as u32)) => Some(r),
            () = stop.stopped() => None,
        };
        ctx.timeline.in_flight(false);
        let Some(answer) = result else {
            break;
        };
        let done = Instant::now();
        let latency = done.saturating_duration_since(clock::counted_from(stamps.intended, sent));
        ctx.record(id as u32, answer, (sent, done), latency, Some(&stages));
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
    /// How long the clock may hold an arrival to send it with the ones after it (`--arrival-group`);
    /// `None`: the clock's default for this generator's share of the rate (none below 20,000
    /// arrivals a second, 250 µs above).
    pub group: Option<Duration>,
}

impl Arrivals {
    /// How long this generator's clock holds an arrival at most, to send it with the next ones.
    pub fn group(&self) -> Duration {
        self.group
            .unwrap_or_else(|| clock::coalescing(self.rate / f64::from(self.count)))
    }
}
