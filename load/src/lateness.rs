//! The open model's own lateness: how long after its intended time each arrival was actually sent,
//! and which part of that was the generator's.
//!
//! Latency counts from the intended send (wrk2's correction for coordinated omission; from the
//! send itself when the clock, waking its learned lead early, sent it before its time), so anything
//! that delays a send is reported as the target's latency. Two kinds of delay are told apart:
//! - **waiting for a free VU**: every VU was busy with an earlier request. That is the target's
//!   slowness showing (or too few `--vus`), and wrk2 and oha `--latency-correction` count it in the
//!   latency as lab does. Near the rate the VUs' connections can carry, the generator's own work
//!   per request (recording, handing the VU back) keeps VUs busy too, and shows here, not below;
//! - **the generator's own lateness**: the clock waking late (`clock`), the free VU's task
//!   waking for the tick late (`hand_off`), the VU starting the send after taking it (`dispatch`).
//!   None of it is the target's; on a busy machine it can be most of a p99.
//!
//! Each sent arrival is stamped at every step ([`Stamps`]); the stages are differences of stamps,
//! so they add up exactly to (actual send − intended send). A request's latency net of the
//! generator's own lateness is recorded too, so that a threshold can tell whether the generator
//! decided it.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::histogram::{latency_histogram, micros, MAX_US};
use super::summary::{GeneratorLateness, LatencyStats};

/// When one open-model arrival passed each step on its way to being sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamps {
    /// The intended send time.
    pub(crate) intended: Instant,
    /// The clock was free to wake for it: `intended`, or later when the clock was held up by a full
    /// queue of arrivals waiting for a VU.
    pub(crate) clock_free: Instant,
    /// The clock woke for it (never before `clock_free`).
    pub(crate) ticked: Instant,
    /// A VU could have taken it: when it ticked, or when the VU that took it became free,
    /// whichever is later.
    pub(crate) ready: Instant,
    /// The VU took it off the clock's queue.
    pub(crate) taken: Instant,
    /// The VU had it in hand (the moment it took it: the VU pulls its arrivals itself).
    pub(crate) assigned: Instant,
}

/// The stages of one sent arrival, from its stamps and the moment its VU began sending.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stages {
    /// Clock thread's wake-up after the intended time.
    pub clock: Duration,
    /// From when a free VU could have taken the tick to when it did (its task waking).
    pub hand_off: Duration,
    /// Waiting for a free VU (behind earlier arrivals that waited, too).
    pub vu_wait: Duration,
    /// From the VU being chosen to its task starting the send.
    pub dispatch: Duration,
}

impl Stages {
    /// The stages of an arrival stamped `s` and sent at `sent`.
    pub(crate) fn of(s: &Stamps, sent: Instant) -> Stages {
        let since = |later: Instant, earlier: Instant| later.saturating_duration_since(earlier);
        Stages {
            clock: since(s.ticked, s.clock_free),
            hand_off: since(s.taken, s.ready),
            // Sitting in the clock's queue while every VU was busy is a wait for a VU, and so is the clock held up by that queue being full.
            vu_wait: since(s.clock_free, s.intended)
                + since(s.ready, s.ticked)
                + since(s.assigned, s.taken),
            dispatch: since(sent, s.assigned),
        }
    }

    /// The generator's own lateness: everything but the wait for a free VU.
    pub fn own(&self) -> Duration {
        self.clock + self.hand_off + self.dispatch
    }
}

/// Microseconds, 0 included: most arrivals are sent within a microsecond or so of their time.
fn us(d: Duration) -> u64 {
    (d.as_micros() as u64).min(MAX_US)
}

/// Histograms of the stages of every sent arrival (2 significant digits: a lateness to 1%), and of
/// every request's latency net of the generator's own lateness (3, as the latency itself).
#[derive(Debug, Clone)]
pub struct Lateness {
    pub(crate) own: Histogram<u64>,
    pub(crate) clock: Histogram<u64>,
    pub(crate) hand_off: Histogram<u64>,
    pub(crate) vu_wait: Histogram<u64>,
    pub(crate) dispatch: Histogram<u64>,
    pub(crate) net: Histogram<u64>,
    pub(crate) from_clock: Histogram<u64>,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            own: latency_histogram(2),
            clock: latency_histogram(2),
            hand_off: latency_histogram(2),
            vu_wait: latency_histogram(2),
            dispatch: latency_histogram(2),
            net: latency_histogram(3),
            from_clock: latency_histogram(3),
        }
    }
}

impl Lateness {
    /// Counts one request sent after `stages` that took `latency` from its intended time.
    pub(crate) fn record(&mut self, stages: &Stages, latency: Duration) {
        let own = stages.own();
        self.own.saturating_record(us(own));
        self.clock.saturating_record(us(stages.clock));
        self.hand_off.saturating_record(us(stages.hand_off));
        self.vu_wait.saturating_record(us(stages.vu_wait));
        self.dispatch.saturating_record(us(stages.dispatch));
        self.net.saturating_record(micros(latency.saturating_sub(own)));
        self.from_clock.saturating_record(micros(latency.saturating_sub(stages.clock)));
    }

    /// Adds `other`'s counts to these (an error only if its histograms have other bounds, as a
    /// worker's could).
    pub(crate) fn merge(&mut self, other: &Lateness) -> Result<(), hdrhistogram::AdditionError> {
        for (a, b) in self.histograms_mut().into_iter().zip(other.histograms()) {
            a.add(b)?;
        }
        Ok(())
    }

    /// The histograms in a fixed order (the wire's too): own, clock, hand-off, VU wait, dispatch,
    /// net latency, latency from the clock's wake.
    pub(crate) fn histograms(&self) -> [&Histogram<u64>; 7] {
        [
            &self.own,
            &self.clock,
            &self.hand_off,
            &self.vu_wait,
            &self.dispatch,
            &self.net,
            &self.from_clock,
        ]
    }

    fn histograms_mut(&mut self) -> [&mut Histogram<u64>; 7] {
        [
            &mut self.own,
            &mut self.clock,
            &mut self.hand_off,
            &mut self.vu_wait,
            &mut self.dispatch,
            &mut self.net,
            &mut self.from_clock,
        ]
    }

    /// Rebuilds one from [`Lateness::histograms`]' order.
    pub(crate) fn from_histograms(h: [Histogram<u64>; 7]) -> Lateness {
        let [own, clock, hand_off, vu_wait, dispatch, net, from_clock] = h;
        Lateness {
            own,
            clock,
            hand_off,
            vu_wait,
            dispatch,
            net,
            from_clock,
        }
    }

    /// Every request's latency net of the generator's own lateness (for thresholds).
    pub fn net_latency(&self) -> &Histogram<u64> {
        &self.net
    }

    /// The figures, or `None` when nothing was sent; `latency_p99_ms` is the run's p99 of every
    /// request, which decides whether the generator counts as late.
    pub(crate) fn summary(&self, latency_p99_ms: Option<f64>) -> Option<GeneratorLateness> {
        if self.own.is_empty() {
            return None;
        }
        let own = LatencyStats::of(&self.own);
        let late = match (own.p99_ms, latency_p99_ms) {
            (Some(own), Some(p99)) if is_late(own, p99) => Some(late_sentence(own)),
            _ => None,
        };
        Some(GeneratorLateness {
            own,
            clock: LatencyStats::of(&self.clock),
            hand_off: LatencyStats::of(&self.hand_off),
            dispatch: LatencyStats::of(&self.dispatch),
            vu_wait: LatencyStats::of(&self.vu_wait),
            net_latency: LatencyStats::of(&self.net),
            from_clock_latency: LatencyStats::of(&self.from_clock),
            late,
        })
    }
}

/// Whether a generator late by `own_p99_ms` (its own lateness's p99) fell behind its schedule in a
/// run whose p99 latency is `latency_p99_ms`: when its lateness is more than a tenth of that p99,
/// the figure a capacity plan reads would move by more than 10% were the generator on time.
pub(crate) fn is_late(own_p99_ms: f64, latency_p99_ms: f64) -> bool {
    own_p99_ms > latency_p99_ms * LATE_SHARE
}

/// The share of the p99 latency above which the generator's own p99 lateness is reported.
pub(crate) const LATE_SHARE: f64 = 0.1;

/// The sentence a run prints beside its figures when the generator fell behind its schedule.
pub fn late_sentence(p99_ms: f64) -> String {
    let x = if p99_ms >= 10.0 {
        format!("{p99_ms:.0}")
    } else if p99_ms >= 1.0 {
        format!("{p99_ms:.1}")
    } else {
        format!("{p99_ms:.2}")
    };
    format!("generator late by p99 {x} ms: latency above {x} ms may be the generator's")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, us: u64) -> Instant {
        base + Duration::from_micros(us)
    }

    #[test]
    fn the_stages_add_up_to_the_send_delay_and_the_wait_for_a_vu_is_not_the_generators() {
        let t0 = Instant::now();
        // Ticked 30 µs late, taken 10 µs later, a VU free 500 µs after that, sending 20 µs later.
        let s = Stamps {
            intended: t0,
            clock_free: t0,
            ticked: at(t0, 30),
            ready: at(t0, 30),
            taken: at(t0, 40),
            assigned: at(t0, 540),
        };
        let stages = Stages::of(&s, at(t0, 560));
        assert_eq!(
            stages,
            Stages {
                clock: Duration::from_micros(30),
                hand_off: Duration::from_micros(10),
                vu_wait: Duration::from_micros(500),
                dispatch: Duration::from_micros(20),
            }
        );
        assert_eq!(stages.own(), Duration::from_micros(60));
        assert_eq!(
            stages.own() + stages.vu_wait,
            Duration::from_micros(560),
            "the stages add up to actual send - intended send"
        );
    }

    #[test]
    fn a_tick_queued_behind_an_arrival_waiting_for_a_vu_waited_for_a_vu_too() {
        let t0 = Instant::now();
        // Ticked on time, but every VU was busy until 300 µs; the one free then took it 5 µs
        // later.
        let s = Stamps {
            intended: t0,
            clock_free: t0,
            ticked: t0,
            ready: at(t0, 300),
            taken: at(t0, 305),
            assigned: at(t0, 305),
        };
        let stages = Stages::of(&s, at(t0, 310));
        assert_eq!(stages.vu_wait, Duration::from_micros(300));
        assert_eq!(stages.own(), Duration::from_micros(10));
        // The clock itself held up 2 ms by a full queue of such arrivals, then waking 40 µs late.
        let held = Stamps {
            intended: t0,
            clock_free: at(t0, 2_000),
            ticked: at(t0, 2_040),
            ready: at(t0, 2_040),
            taken: at(t0, 2_045),
            assigned: at(t0, 2_045),
        };
        let stages = Stages::of(&held, at(t0, 2_050));
        assert_eq!(stages.vu_wait, Duration::from_micros(2_000));
        assert_eq!(stages.own(), Duration::from_micros(50));
    }

    fn stages_of_us(clock: u64, vu_wait: u64) -> Stages {
        Stages {
            clock: Duration::from_micros(clock),
            hand_off: Duration::ZERO,
            vu_wait: Duration::from_micros(vu_wait),
            dispatch: Duration::ZERO,
        }
    }

    #[test]
    fn figures_net_latency_and_the_late_sentence() {
        let mut l = Lateness::default();
        // 99 arrivals on time (0 µs) with 1 ms latency, one 5 ms late with 6 ms latency.
        for _ in 0..99 {
            l.record(&stages_of_us(0, 0), Duration::from_millis(1));
        }
        l.record(&stages_of_us(5_000, 0), Duration::from_millis(6));
        let g = l.summary(Some(6.0)).unwrap();
        assert_eq!((g.own.p50_ms, g.own.min_ms), (Some(0.0), Some(0.0)));
        assert!((g.own.max_ms.unwrap() - 5.0).abs() < 0.05, "{:?}", g.own);
        // Net of the generator's lateness, the late request took 1 ms too.
        assert!(
            (g.net_latency.max_ms.unwrap() - 1.0).abs() < 0.01,
            "{:?}",
            g.net_latency
        );
        assert_eq!(g.late, None, "p99 of the lateness is 0: on schedule");

        // Now 2 in 100 late by 5 ms: the lateness p99 is 5 ms, more than a tenth of a 6 ms p99.
        l.record(&stages_of_us(5_000, 0), Duration::from_millis(6));
        let g = l.summary(Some(6.0)).unwrap();
        let late = g.late.expect("late");
        assert!(
            late.starts_with(
                "generator late by p99 5.0 ms: latency above 5.0 ms may be the generator's"
            ),
            "{late}"
        );
        // Against a p99 latency of 60 ms the same lateness is under a tenth: not reported.
        assert_eq!(l.summary(Some(60.0)).unwrap().late, None);
        // A wait for a free VU is not the generator's lateness.
        let mut waits = Lateness::default();
        for _ in 0..10 {
            waits.record(&stages_of_us(0, 50_000), Duration::from_millis(51));
        }
        let g = waits.summary(Some(51.0)).unwrap();
        assert_eq!((g.own.max_ms, g.late.as_deref()), (Some(0.0), None));
        assert!(
            (g.vu_wait.p99_ms.unwrap() - 50.0).abs() < 0.5,
            "{:?}",
            g.vu_wait
        );
        assert!((g.net_latency.p50_ms.unwrap() - 51.0).abs() < 0.06);
        assert!(Lateness::default().summary(Some(1.0)).is_none());
    }

    #[test]
    fn the_sentence_rounds_to_what_matters() {
        assert_eq!(
            late_sentence(67.46),
            "generator late by p99 67 ms: latency above 67 ms may be the generator's"
        );
        assert!(late_sentence(0.0845).starts_with("generator late by p99 0.08 ms"));
        assert!(late_sentence(2.345).starts_with("generator late by p99 2.3 ms"));
    }

    #[test]
    fn merged_lateness_counts_both() {
        let mut a = Lateness::default();
        let mut b = Lateness::default();
        a.record(&stages_of_us(10, 0), Duration::from_millis(1));
        b.record(&stages_of_us(20, 0), Duration::from_millis(1));
        a.merge(&b).unwrap();
        assert_eq!(a.own.len(), 2);
        assert_eq!(a.own.max(), 20);
        let back = Lateness::from_histograms(a.histograms().map(Clone::clone));
        assert_eq!(back.histograms().map(|h| h.len()), [2; 7]);
    }
}
