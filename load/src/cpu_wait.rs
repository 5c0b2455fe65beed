//! How long the generator's own threads waited for a core while a run lasted, as the kernel counts
//! it (`/proc/self/task/*/schedstat`: each thread's time runnable but not running).
//!
//! A generator that shares its cores with the target, or with anything else, can be ready to send
//! an arrival or read an answer and not get a core. Every request in flight then looks slower, and
//! in the open model the VUs stay busy longer, so arrivals wait for a free VU: all of it counted as
//! the target's latency, and none of it in the generator's lateness stages, which only see what
//! happens once the generator runs. On two cores shared with a two-thread target, lab's one-thread
//! open model once reported a p99 of waits for a free VU ten times oha's p99 in the same minutes
//! (`scripts/bench-load.sh`). This is the figure that tells such a run apart.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much waiting for a core the run allows before it says that its latency may be the
/// generator's: a mean wait each time a thread ran of a tenth of the median latency (each request
/// waits at least once, for the thread that reads its answer), as the "generator late" sentence
/// allows a tenth of the p99; and in the open model a tenth of the run (summed over its threads),
/// as a generator that falls behind there queues arrivals, which the wait each time does not
/// bound. (In the closed model a VU waits for its answer before it sends again: a late generator
/// sends less, and each request holds about one wait.)
///
/// Measured on two cores beside a two-thread target: an unhindered open model waited 0.2–1% of
/// the run, a microsecond or so each time it ran; with two busy loops beside it, 42% at 35,000
/// arrivals a second, and at 1,000 a second 8% of the run but 40 µs each time against a 51 µs
/// median (its p99 went from 0.2 to 3.3 ms). A closed loop at full speed on the same two cores
/// waits most of the run, and says so: its latency then holds that wait too.
pub const STARVED_SHARE: f64 = 0.1;

/// Run-queue figures summed over this process's threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunQueue {
    /// Time runnable but waiting for a core, in nanoseconds.
    waited_ns: u64,
    /// Times a thread was given a core.
    runs: u64,
}

impl RunQueue {
    /// The figures now, summed over this process's threads; `None` where the kernel keeps none
    /// (not Linux, or built without scheduler statistics).
    pub fn now() -> Option<RunQueue> {
        let mut total = RunQueue::default();
        for entry in std::fs::read_dir("/proc/self/task").ok()? {
            let Ok(entry) = entry else { continue };
            // A thread that ended since the listing has no file any more: its time left with it.
            let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
                continue;
            };
            let (waited, runs) = parse(&text)?;
            total.waited_ns += waited;
            total.runs += runs;
        }
        Some(total)
    }
}

/// A `schedstat` line, "time on a core, time waiting for one (ns), times run": the last two.
fn parse(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let _on_core = fields.next()?.ok()?;
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// How long the generator waited for a core over a run, in `lab load`'s result (`generator_cpu`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratorCpu {
    /// The time its threads were ready to run and waited for a core, summed (ms).
    pub waited_ms: f64,
    /// That wait as a share of the run's length (one thread waiting all along is 1.0).
    pub share: f64,
    /// The mean wait each time a thread was given a core (ms).
    pub per_run_ms: f64,
    /// The sentence the run prints beside its figures when the wait each time a thread ran is more
    /// than [`STARVED_SHARE`] of the median latency, or, in the open model, the wait is more than
    /// that share of the run; `None` otherwise.
    pub starved: Option<String>,
}

impl GeneratorCpu {
    /// The wait between two readings `elapsed` apart, in a run whose median latency was
    /// `p50_ms` (an `open_model` run or a closed one); `None` if either reading is missing, or if
    /// the run had no length.
    pub fn between(
        before: Option<RunQueue>,
        after: Option<RunQueue>,
        elapsed: Duration,
        p50_ms: Option<f64>,
        open_model: bool,
    ) -> Option<GeneratorCpu> {
        let (before, after) = (before?, after?);
        let secs = elapsed.as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        // Threads that ended during the run took their counts with them: never below zero.
        let waited_ms = after.waited_ns.saturating_sub(before.waited_ns) as f64 / 1e6;
        let runs = after.runs.saturating_sub(before.runs);
        let share = waited_ms / 1e3 / secs;
        let per_run_ms = if runs == 0 {
            0.0
        } else {
            waited_ms / runs as f64
        };
        let each_time_counts = p50_ms.is_some_and(|p50| per_run_ms > p50 * STARVED_SHARE);
        let fell_behind = open_model && share > STARVED_SHARE;
        let starved = (fell_behind || each_time_counts).then(|| {
            format!(
                "generator starved of CPU: its threads waited {} for a core ({:.0}% of the run, \
                 {} each time they ran), so the latency and the waits for a free VU may be the \
                 generator's, not the target's",
                wait_text(waited_ms),
                share * 100.0,
                wait_text(per_run_ms)
            )
        });
        Some(GeneratorCpu {
            waited_ms,
            share,
            per_run_ms,
            starved,
        })
    }
}

fn wait_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.0} µs", ms * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rq(waited_ms: u64, runs: u64) -> Option<RunQueue> {
        Some(RunQueue {
            waited_ns: waited_ms * 1_000_000,
            runs,
        })
    }

    #[test]
    fn a_schedstat_line_gives_the_wait_and_the_runs() {
        assert_eq!(parse("123456 7890 12\n"), Some((7890, 12)));
        assert_eq!(parse("123456 7890\n"), None);
        assert_eq!(parse(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_been_given_a_core() {
        let now = RunQueue::now().expect("Linux keeps scheduler statistics per thread");
        assert!(now.runs > 0, "{now:?}");
    }

    #[test]
    fn a_wait_over_a_tenth_of_the_run_is_said_and_a_small_one_is_not() {
        let ten_s = Duration::from_secs(10);
        // 200 ms over 10 s, 0.2 ms each of 1,000 times: 2% of the run, and a tenth of a 2-ms median.
        let calm =
            GeneratorCpu::between(rq(100, 0), rq(300, 1000), ten_s, Some(2.0), true).unwrap();
        assert_eq!(calm.waited_ms, 200.0);
        assert!((calm.share - 0.02).abs() < 1e-9);
        assert!((calm.per_run_ms - 0.2).abs() < 1e-9);
        assert_eq!(calm.starved, None);

        // A quarter of the run, in the open model.
        let starved =
            GeneratorCpu::between(rq(0, 0), rq(2_500, 5000), ten_s, Some(10.0), true).unwrap();
        assert_eq!(
            starved.starved.as_deref(),
            Some(
                "generator starved of CPU: its threads waited 2.5 s for a core (25% of the run, \
                 500 µs each time they ran), so the latency and the waits for a free VU may be the \
                 generator's, not the target's"
            )
        );
        // The same quarter in the closed model, 0.5 ms each time against a 10-ms median: said only
        // where each request holds a wait that counts.
        let closed =
            |p50| GeneratorCpu::between(rq(0, 0), rq(2_500, 5000), ten_s, Some(p50), false);
        assert_eq!(closed(10.0).unwrap().starved, None);
        assert!(closed(2.0).unwrap().starved.is_some());
        // 2% of the run, but 0.2 ms each time against a 1-ms median: each request holds it.
        let light =
            GeneratorCpu::between(rq(100, 0), rq(300, 1000), ten_s, Some(1.0), true).unwrap();
        assert!(light.starved.is_some(), "{light:?}");

        // Missing readings (not Linux) and a run of no length give nothing.
        assert!(GeneratorCpu::between(None, rq(1, 1), ten_s, None, true).is_none());
        assert!(GeneratorCpu::between(rq(0, 0), rq(1, 1), Duration::ZERO, None, true).is_none());
        // A thread that ended during the run leaves the sum lower: no negative wait.
        let ended = GeneratorCpu::between(rq(500, 10), rq(100, 5), ten_s, Some(1.0), true).unwrap();
        assert_eq!((ended.waited_ms, ended.per_run_ms), (0.0, 0.0));
        assert_eq!(ended.starved, None);
    }
}
