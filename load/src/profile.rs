//! How much load is offered over time.
//!
//! Closed model (virtual users that loop: send, wait for the answer, send again), as Postman's
//! collection runner and k6's `ramping-vus` do. Every shape is a piecewise-linear curve of VUs over
//! time; VU number `i` (from 0) is active while `i < target_vus(t)`. Along a linear piece from `a` to
//! `b` VUs the count moves one VU each time a whole step is crossed, as k6 computes its stages
//! (`a + floor((b - a) * x)` going up, `a - floor((a - b) * x)` going down), so a ramp reaches its
//! target exactly at the end of its piece.
//!
//! Postman's profiles, with `I` the initial load (`--initial-vus`, default 1), `B` the base load
//! (`--base-vus`, default `vus / 5` rounded up), `V` the VUs and `T` the test duration:
//!
//! ```text
//! fixed     V from start to end                               ▕██████████▏
//! ramp-up   I -> V linearly over the ramp-up (default T/4),   ▕▁▃▅▇██████▏
//!           then V to the end (the tutorial's run)
//! spike     B to 40% of T, up to V at 50%, straight back down ▕▂▂▂▂▅▂▂▂▂▂▏
//!           to B at 60% (no plateau), B to the end
//! peak      B to 20%, up to V at 40%, held to 60%, down to B  ▕▂▂▄▆██▆▄▂▂▏
//!           at 80%, B to the end
//! ```
//!
//! k6's stages (`--stages 30s:10,1m:50,30s:0`): from the initial VUs (k6's default start of 1)
//! linearly to each target over each duration; the test lasts as long as the stages together.
//!
//! Open model (`--rate N`): requests start at fixed intervals of 1/N s whatever the latency, as
//! k6's constant-arrival-rate and wrk2 do; latency is always measured from when a request *should*
//! have been sent, so neither a slow server nor a late generator can hide (coordinated omission).
//! `--vus` caps the requests in flight; an arrival waits up to a second for a free VU and is then
//! dropped and counted.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::parse_duration;

/// The most VUs one `lab load` (or one worker) runs.
pub const MAX_VUS: u32 = 10_000;

/// The closed-model load shapes (Postman's load profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// All VUs for the whole test.
    Fixed,
    /// From the initial load to all VUs over the ramp-up, then hold.
    #[default]
    RampUp,
    /// Base load, a sharp rise to all VUs and straight back down, base load.
    Spike,
    /// Base load, rise to all VUs, hold, fall back to base load.
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

/// One k6 stage: reach `target` VUs linearly over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// VUs at the end of the stage.
    pub target: u32,
}

/// Parses one k6 stage, `30s:10` (duration, colon, target VUs).
pub fn parse_stage(text: &str) -> Result<Stage, String> {
    let (d, t) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("invalid stage {text:?}: use DURATION:VUS, e.g. 30s:10"))?;
    let duration = parse_duration(d)?;
    let target = t
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("invalid stage {text:?}: {t:?} is not a number of VUs"))?;
    if target > MAX_VUS {
        return Err(format!("stage {text:?}: at most {MAX_VUS} VUs"));
    }
    Ok(Stage { duration, target })
}

/// A closed-model schedule: how many VUs should be active at each moment, as a piecewise-linear
/// curve through `points` (seconds since the start, VUs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// The Postman profile, or `None` for k6 stages.
    pub profile: Option<Profile>,
    /// The most VUs at any moment.
    pub vus: u32,
    /// Test length.
    pub duration: Duration,
    /// Ramp-up length (ramp-up profile): the measured window for throughput starts after it.
    pub ramp_up: Duration,
    /// Initial load (ramp-up) or base load (spike, peak), or the stages' start.
    pub low: u32,
    points: Vec<(f64, u32)>,
}

impl Shape {
    /// A Postman profile. `ramp_up` defaults to a quarter of `duration`, `initial` to 1 and `base`
    /// to a fifth of `vus` (rounded up); both must be at most `vus`.
    pub fn profile(
        profile: Profile,
        vus: u32,
        duration: Duration,
        ramp_up: Option<Duration>,
        initial: Option<u32>,
        base: Option<u32>,
    ) -> Result<Shape, String> {
        let vus = vus.max(1);
        let ramp_up = ramp_up.unwrap_or(duration / 4).min(duration);
        let low = match profile {
            Profile::Fixed => vus,
            Profile::RampUp => initial.unwrap_or(1),
            Profile::Spike | Profile::Peak => base.unwrap_or(vus.div_ceil(5).max(1)),
        };
        if low > vus {
            let flag = if profile == Profile::RampUp {
                "--initial-vus"
            } else {
                "--base-vus"
            };
            return Err(format!("{flag} {low} is more than --vus {vus}"));
        }
        let t = duration.as_secs_f64();
        let points = match profile {
            Profile::Fixed => vec![(0.0, vus), (t, vus)],
            Profile::RampUp if ramp_up.is_zero() => vec![(0.0, vus), (t, vus)],
            Profile::RampUp => vec![(0.0, low), (ramp_up.as_secs_f64(), vus), (t, vus)],
            Profile::Spike => vec![
                (0.0, low),
                (0.4 * t, low),
                (0.5 * t, vus),
                (0.6 * t, low),
                (t, low),
            ],
            Profile::Peak => vec![
                (0.0, low),
                (0.2 * t, low),
                (0.4 * t, vus),
                (0.6 * t, vus),
                (0.8 * t, low),
                (t, low),
            ],
        };
        Ok(Shape {
            profile: Some(profile),
            vus,
            duration,
            ramp_up: if profile == Profile::RampUp {
                ramp_up
            } else {
                Duration::ZERO
            },
            low,
            points,
        })
    }

    /// k6 stages from `start` VUs (k6's default start is 1).
    pub fn stages(stages: &[Stage], start: u32) -> Result<Shape, String> {
        if stages.is_empty() {
            return Err("--stages needs at least one DURATION:VUS".into());
        }
        let mut points = vec![(0.0, start)];
        let mut at = Duration::ZERO;
        for s in stages {
            at += s.duration;
            points.push((at.as_secs_f64(), s.target));
        }
        let vus = points.iter().map(|p| p.1).max().unwrap_or(1);
        if vus == 0 {
            return Err("every stage targets 0 VUs: nothing would be sent".into());
        }
        Ok(Shape {
            profile: None,
            vus,
            duration: at,
            ramp_up: Duration::ZERO,
            low: start,
            points,
        })
    }

    /// The curve's corners: (seconds since the start, VUs).
    pub fn points(&self) -> &[(f64, u32)] {
        &self.points
    }

    /// VUs that should be active `elapsed` into the test.
    pub fn target_vus(&self, elapsed: Duration) -> u32 {
        let t = elapsed.as_secs_f64();
        for w in self.points.windows(2) {
            let ((t0, a), (t1, b)) = (w[0], w[1]);
            if t < t1 {
                if t < t0 || t1 <= t0 {
                    return a;
                }
                return step(a, b, (t - t0) / (t1 - t0));
            }
        }
        self.points.last().map_or(0, |p| p.1)
    }

    /// The first moment at or after `from` when VU `id` should be active, if any before the end.
    /// Idle VUs sleep until then instead of polling, so 10,000 waiting VUs cost no CPU.
    pub(crate) fn next_active(&self, id: u32, from: Duration) -> Option<Duration> {
        if self.target_vus(from) > id {
            return Some(from);
        }
        let from_s = from.as_secs_f64();
        for w in self.points.windows(2) {
            let ((t0, a), (t1, b)) = (w[0], w[1]);
            if t1 <= from_s {
                continue;
            }
            if t0 > from_s && a > id {
                return Some(Duration::from_secs_f64(t0));
            }
            if b > a && b > id && t1 > t0 {
                // Count a + floor((b - a) x) passes id at x = (id + 1 - a) / (b - a); a microsecond
                // later so the VU wakes past the step, not on a rounding edge before it.
                let x = f64::from(id + 1 - a.min(id + 1)) / f64::from(b - a);
                let t = (t0 + x * (t1 - t0)).max(from_s) + 1e-6;
                return Some(Duration::from_secs_f64(t));
            }
        }
        None
    }

    /// When the measured window for throughput starts: after the ramp-up (ramp-up profile),
    /// otherwise at the start.
    pub fn window_start(&self) -> Duration {
        self.ramp_up
    }
}

/// VUs `x` (0..1) along a piece from `a` to `b`, one VU per whole step crossed (the epsilon keeps
/// 0.3 / 0.2-style rounding from landing just short of a step).
fn step(a: u32, b: u32, x: f64) -> u32 {
    let steps = |span: u32| ((f64::from(span) * x.clamp(0.0, 1.0)) + 1e-9).floor() as u32;
    if b >= a {
        a + steps(b - a)
    } else {
        a - steps(a - b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(shape: &Shape, secs: f64) -> u32 {
        shape.target_vus(Duration::from_secs_f64(secs))
    }

    fn profile(p: Profile, vus: u32, secs: u64) -> Shape {
        Shape::profile(p, vus, Duration::from_secs(secs), None, None, None).unwrap()
    }

    #[test]
    fn ramp_up_goes_from_the_initial_load_to_all_then_holds() {
        // 10 VUs, 120 s, default ramp 30 s, from 1: one more VU every 30 / 9 s.
        let s = profile(Profile::RampUp, 10, 120);
        assert_eq!(s.ramp_up, Duration::from_secs(30));
        assert_eq!((at(&s, 0.0), at(&s, 3.3), at(&s, 3.34)), (1, 1, 2));
        assert_eq!((at(&s, 29.9), at(&s, 30.0), at(&s, 60.0)), (9, 10, 10));
        let mut last = 0;
        for t in 0..120 {
            let v = at(&s, f64::from(t));
            assert!(v >= last);
            last = v;
        }
        let from4 = Shape::profile(
            Profile::RampUp,
            10,
            Duration::from_secs(100),
            Some(Duration::from_secs(6)),
            Some(4),
            None,
        )
        .unwrap();
        assert_eq!(
            (at(&from4, 0.0), at(&from4, 1.0), at(&from4, 6.0)),
            (4, 5, 10)
        );
        assert!(Shape::profile(
            Profile::RampUp,
            3,
            Duration::from_secs(9),
            None,
            Some(4),
            None
        )
        .is_err());
    }

    #[test]
    fn spike_is_a_sharp_rise_and_fall_and_peak_holds() {
        let spike = profile(Profile::Spike, 10, 100);
        // base = ceil(10 / 5) = 2; up 8 VUs over 40..50 s, down over 50..60 s.
        let seen: Vec<u32> = [10.0, 39.9, 45.0, 50.0, 55.0, 59.9, 60.0, 90.0]
            .iter()
            .map(|&t| at(&spike, t))
            .collect();
        assert_eq!(seen, vec![2, 2, 6, 10, 6, 3, 2, 2]);
        let peak = profile(Profile::Peak, 10, 100);
        let seen: Vec<u32> = [10.0, 30.0, 50.0, 70.0, 90.0].iter().map(|&t| at(&peak, t)).collect();
        assert_eq!(seen, vec![2, 6, 10, 6, 2]);
        let based = Shape::profile(
            Profile::Peak,
            10,
            Duration::from_secs(100),
            None,
            None,
            Some(5),
        );
        assert_eq!(at(&based.unwrap(), 0.0), 5);
        assert_eq!(at(&profile(Profile::Fixed, 7, 100), 0.0), 7);
    }

    #[test]
    fn stages_follow_k6() {
        let stages: Vec<Stage> =
            "30s:10,1m:50,30s:0".split(',').map(|s| parse_stage(s).unwrap()).collect();
        assert_eq!(stages.len(), 3);
        let s = Shape::stages(&stages, 1).unwrap();
        assert_eq!((s.vus, s.duration), (50, Duration::from_secs(120)));
        // 1 -> 10 over 30 s: +1 VU every 30/9 s; 10 -> 50 over 60 s; 50 -> 0 over 30 s.
        assert_eq!((at(&s, 0.0), at(&s, 15.0), at(&s, 30.0)), (1, 5, 10));
        assert_eq!((at(&s, 60.0), at(&s, 90.0), at(&s, 105.0)), (30, 50, 25));
        assert_eq!(at(&s, 119.9), 1);
        assert!(parse_stage("30s").is_err() && parse_stage("x:1").is_err());
        assert!(Shape::stages(&[], 1).is_err());
    }

    #[test]
    fn next_active_is_the_first_moment_a_vu_is_wanted() {
        let s = profile(Profile::Spike, 10, 100);
        for id in 0..10 {
            let t = s.next_active(id, Duration::ZERO).unwrap();
            assert!(at(&s, t.as_secs_f64()) > id, "VU {id} at {t:?}");
            if t > Duration::from_millis(1) {
                let before = t.as_secs_f64() - 0.001;
                assert!(at(&s, before) <= id, "VU {id} wanted before {t:?}");
            }
        }
        // VU 9 is wanted only at the top of the spike (50..51.25 s); after it, never again.
        assert_eq!(s.next_active(9, Duration::from_secs(55)), None);
        let stages = Shape::stages(
            &[
                Stage {
                    duration: Duration::from_secs(2),
                    target: 0,
                },
                Stage {
                    duration: Duration::ZERO,
                    target: 3,
                },
                Stage {
                    duration: Duration::from_secs(2),
                    target: 3,
                },
            ],
            0,
        )
        .unwrap();
        assert_eq!(
            stages.next_active(2, Duration::ZERO),
            Some(Duration::from_secs(2))
        );
    }
}
