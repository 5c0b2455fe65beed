//! How much load is offered over time.
//!
//! Closed model (virtual users that loop: send, wait for the answer, send again), as Postman's
//! collection runner does. VU number `i` (from 0) is active while `i < target_vus(t)`; the shapes,
//! with `base = max(1, vus / 5)` (rounded up) and `T` the test duration:
//!
//! ```text
//! fixed     all VUs from start to end                         ▕██████████▏
//! ramp-up   1 -> all linearly over the ramp-up (default T/4),  ▕▁▃▅▇██████▏
//!           then all VUs to the end (the tutorial's run)
//! spike     base; all VUs between 40% and 60% of T; base      ▕▂▂▂▂██▂▂▂▂▏
//! peak      base to 20%, rising to all at 40%, held to 60%,   ▕▂▂▄▆██▆▄▂▂▏
//!           falling to base at 80%, base to the end
//! ```
//!
//! Open model (`--rate N`): requests start at fixed intervals of 1/N s whatever the latency, as
//! k6's constant-arrival-rate and wrk2 do; latency is measured from when a request *should* have
//! been sent, so a slow server cannot hide its slowness by slowing the generator down (coordinated
//! omission). `--vus` caps the requests in flight; an arrival finding every VU busy is dropped and
//! counted.

use std::time::Duration;

use serde::Serialize;

/// The closed-model load shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// All VUs for the whole test.
    Fixed,
    /// From 1 VU to all over the ramp-up, then hold.
    #[default]
    RampUp,
    /// A short burst of all VUs in the middle of a low baseline.
    Spike,
    /// Baseline, rise to all VUs, hold, fall back to baseline.
    Peak,
}

impl Profile {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fixed => "fixed",
            Profile::RampUp => "ramp-up",
            Profile::Spike => "spike",
            Profile::Peak => "peak",
        }
    }
}

/// A closed-model schedule: how many VUs should be active at each moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// The shape.
    pub profile: Profile,
    /// The most VUs.
    pub vus: u32,
    /// Test length.
    pub duration: Duration,
    /// Ramp-up length (ramp-up profile).
    pub ramp_up: Duration,
}

impl Shape {
    /// A shape; `ramp_up` defaults to a quarter of `duration`.
    pub fn new(profile: Profile, vus: u32, duration: Duration, ramp_up: Option<Duration>) -> Shape {
        let ramp_up = ramp_up.unwrap_or(duration / 4).min(duration);
        Shape {
            profile,
            vus: vus.max(1),
            duration,
            ramp_up,
        }
    }

    fn base(&self) -> u32 {
        self.vus.div_ceil(5).max(1)
    }

    /// VUs that should be active `elapsed` into the test.
    pub fn target_vus(&self, elapsed: Duration) -> u32 {
        let vus = self.vus;
        let frac = if self.duration.is_zero() {
            1.0
        } else {
            elapsed.as_secs_f64() / self.duration.as_secs_f64()
        };
        // Linear from `from` to `to` as `x` goes 0 -> 1: one more VU each time a step is crossed
        // (the epsilon keeps 0.3 / 0.2-style rounding from landing just short of a step).
        let lerp = |from: u32, to: u32, x: f64| -> u32 {
            let steps = |span: u32| ((span as f64 * x.clamp(0.0, 1.0)) + 1e-9).floor() as u32;
            if to >= from {
                from + steps(to - from)
            } else {
                from - steps(from - to)
            }
        };
        match self.profile {
            Profile::Fixed => vus,
            Profile::RampUp => {
                if self.ramp_up.is_zero() || elapsed >= self.ramp_up {
                    vus
                } else {
                    // floor(vus x t / ramp) + 1: VU i starts at ramp x i / vus, the last one before
                    // the ramp ends, and there is always at least one.
                    let started = (vus as f64 * elapsed.as_secs_f64() / self.ramp_up.as_secs_f64())
                        .floor() as u32;
                    (started + 1).min(vus)
                }
            }
            Profile::Spike => {
                if (0.4..0.6).contains(&frac) {
                    vus
                } else {
                    self.base()
                }
            }
            Profile::Peak => match frac {
                f if f < 0.2 => self.base(),
                f if f < 0.4 => lerp(self.base(), vus, (f - 0.2) / 0.2).max(1),
                f if f < 0.6 => vus,
                f if f < 0.8 => lerp(vus, self.base(), (f - 0.6) / 0.2).max(1),
                _ => self.base(),
            },
        }
    }

    /// A one-line description for the live view and reports.
    pub fn describe(&self) -> String {
        match self.profile {
            Profile::RampUp => format!(
                "ramp-up to {} VUs over {}",
                self.vus,
                crate::report::format::seconds(self.ramp_up.as_secs_f64())
            ),
            p => format!("{} with {} VUs", p.as_str(), self.vus),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(shape: &Shape, secs: f64) -> u32 {
        shape.target_vus(Duration::from_secs_f64(secs))
    }

    #[test]
    fn ramp_up_adds_one_vu_per_step_then_holds() {
        // 10 VUs, 120 s, default ramp 30 s: a new VU every 3 s.
        let s = Shape::new(Profile::RampUp, 10, Duration::from_secs(120), None);
        assert_eq!(s.ramp_up, Duration::from_secs(30));
        assert_eq!(at(&s, 0.0), 1);
        assert_eq!(at(&s, 2.9), 1);
        assert_eq!(at(&s, 3.0), 2);
        assert_eq!(at(&s, 29.9), 10);
        assert_eq!(at(&s, 60.0), 10);
        // Never decreasing.
        let mut last = 0;
        for t in 0..120 {
            let v = at(&s, t as f64);
            assert!(v >= last);
            last = v;
        }
    }

    #[test]
    fn fixed_spike_and_peak() {
        let d = Duration::from_secs(100);
        assert_eq!(at(&Shape::new(Profile::Fixed, 7, d, None), 0.0), 7);
        let spike = Shape::new(Profile::Spike, 10, d, None);
        // base = ceil(10 / 5) = 2.
        assert_eq!(
            (at(&spike, 10.0), at(&spike, 45.0), at(&spike, 70.0)),
            (2, 10, 2)
        );
        let peak = Shape::new(Profile::Peak, 10, d, None);
        // 30 s is halfway up from 2 to 10: 2 + floor(8 x 0.5) = 6.
        assert_eq!(
            (
                at(&peak, 10.0),
                at(&peak, 30.0),
                at(&peak, 50.0),
                at(&peak, 70.0),
                at(&peak, 90.0)
            ),
            (2, 6, 10, 6, 2)
        );
        assert_eq!(at(&Shape::new(Profile::Spike, 1, d, None), 10.0), 1);
    }
}
