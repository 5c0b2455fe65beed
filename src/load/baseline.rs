//! `--baseline FILE.json`: this test against an earlier `lab load -o json`, on the latencies both
//! recorded (each run's `latency_hdr`: every request's latency, HdrHistogram's V2 format).
//!
//! **The test: a two-sample block bootstrap of the change in p50 and in p95**, as a ratio
//! (`current / baseline − 1`), its 95% interval the 2.5th and 97.5th percentiles of 2,000
//! replicates. Why this one:
//! - it is about the figures a service is held to and the report prints (p50, p95), where a rank
//!   test (Mann–Whitney) answers another question (is one sample stochastically larger?) and a
//!   t-test another still (the mean), under a normality latencies never have (skewed, with cold
//!   starts far out);
//! - it assumes nothing of the distribution's shape, and both runs' own spread goes into the
//!   interval;
//! - it says how large the change is, with its uncertainty, which a p-value does not.
//!
//! **Blocks of one second**, not single requests: the requests of a load test are not independent
//! (a second in which the machine, the network or the service was busy is slow for every request in
//! it), and resampling requests one by one would treat a slow spell as thousands of independent
//! witnesses, giving an interval far too narrow: an unchanged rerun on a busy machine would be
//! called a regression. A replicate draws as many seconds as the run had, with replacement (each
//! second's latencies are recorded in the JSON, `series[].latency_hdr`), merges them and takes the
//! percentile. The generator is seeded: the same two files give the same verdict every time. The
//! point estimate is the runs' own p50 and p95 (3 significant digits); the seconds' histograms
//! hold 2, so the interval is known to 1%.
//!
//! **The verdict** on each percentile: `regression` when the whole interval is past `--regression`
//! (10% by default): the run is slower than that with 95% confidence, so a failed build can be
//! defended with the line that failed it; `slower, not shown past N%` when the interval is above 0
//! but reaches below the limit; `faster` when it is below 0; `no change within noise` otherwise.
//! A regression on either percentile of any run exits 1. (Stricter than "the estimate is past the
//! limit and the interval above 0", which fails an unchanged rerun whenever the machine was a
//! little busier during one of the two tests: the runs' own noise is in the interval, a busier
//! machine for a whole run is not.)

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use crate::report::format;

/// Replicates of the bootstrap.
pub(crate) const REPLICATES: usize = 2_000;
/// The generator's seed: the same files, the same verdict.
const SEED: u64 = 21;
/// The percentiles compared.
const PERCENTILES: [(&str, f64); 2] = [("p50", 0.50), ("p95", 0.95)];
/// `--regression`'s default, as a share (0.10: 10% slower).
pub(crate) const DEFAULT_REGRESSION: f64 = 0.10;

/// The method, as the output names it.
pub const METHOD: &str = "two-sample block bootstrap of the percentile's ratio (seconds of recorded latencies resampled with replacement, 2,000 seeded replicates), 95% percentile interval";

/// The earlier test, read and checked before this one starts.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// The file.
    path: PathBuf,
    /// Its runs: memory size (if any), label, and recorded latencies.
    runs: Vec<(Option<u32>, String, Blocks)>,
}

impl Baseline {
    /// Reads `path`, an earlier `lab load -o json`, and checks it has a run for each of this test's
    /// (`memory`: its `--memory` sizes, `None` for one run). One-line errors, before any request.
    pub(crate) fn read(path: &Path, memory: Option<&[u32]>) -> Result<Baseline> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the baseline {shown}"))?;
        let doc: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!("the baseline {shown} is not JSON (`lab load -o json` writes it)")
        })?;
        let Some(runs) = doc.get("runs").and_then(|r| r.as_array()) else {
            bail!("the baseline {shown} is not a `lab load -o json` result (no runs)");
        };
        let mut read = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            let Some(hdr) = run.get("latency_hdr").and_then(|h| h.as_str()) else {
                bail!("the baseline {shown} has no recorded latencies in run {i} (latency_hdr): make it again with this lab's `lab load -o json`");
            };
            let seconds: Vec<&str> = run
                .get("series")
                .and_then(|s| s.as_array())
                .map(|s| s.iter().filter_map(|p| p.get("latency_hdr")?.as_str()).collect())
                .unwrap_or_default();
            let h = Blocks::read(hdr, &seconds)
                .with_context(|| format!("the baseline {shown}, run {i}"))?;
            if h.whole.is_empty() || h.seconds.is_empty() {
                bail!("the baseline {shown} has no requests in run {i}: nothing to compare with");
            }
            let memory_mb = run.get("memory_mb").and_then(|m| m.as_u64()).map(|m| m as u32);
            let label = run.get("label").and_then(|l| l.as_str()).unwrap_or("Results");
            read.push((memory_mb, label.to_string(), h));
        }
        let baseline = Baseline {
            path: path.to_path_buf(),
            runs: read,
        };
        match memory {
            None if baseline.runs.len() != 1 => bail!(
                "the baseline {shown} has {} runs (one per --memory size); give the same --memory to compare run by run",
                baseline.runs.len()
            ),
            Some(sizes) => {
                for mb in sizes {
                    if baseline.run(Some(*mb)).is_none() {
                        bail!("the baseline {shown} has no run at {mb} MB to compare with");
                    }
                }
            }
            None => {}
        }
        Ok(baseline)
    }

    /// The baseline's run for a run at `memory_mb` (its only run when this test has one).
    fn run(&self, memory_mb: Option<u32>) -> Option<&(Option<u32>, String, Blocks)> {
        match memory_mb {
            None => self.runs.first().filter(|_| self.runs.len() == 1),
            Some(mb) => self.runs.iter().find(|(m, _, _)| *m == Some(mb)),
        }
    }

    /// This test's `runs` against the baseline's, each run's p50 and p95; `regression` is the
    /// share past which a slowdown fails (0.10).
    pub(crate) fn compare(&self, runs: &[Recorded<'_>], regression: f64) -> Result<BaselineReport> {
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut compared = Vec::with_capacity(runs.len());
        for run in runs {
            let Some((_, label, before)) = self.run(run.memory_mb) else {
                continue;
            };
            let now = Blocks::read(run.latency_hdr, &run.seconds)?;
            if now.whole.is_empty() || now.seconds.is_empty() {
                bail!("{}: no requests to compare with the baseline", run.label);
            }
            let intervals = changes(before, &now, &mut rng);
            let metrics = PERCENTILES
                .iter()
                .zip(intervals)
                .map(|(&(name, q), (low, high))| {
                    let (b, n) = (
                        before.whole.value_at_quantile(q),
                        now.whole.value_at_quantile(q),
                    );
                    let point = n as f64 / b as f64 - 1.0;
                    MetricChange {
                        metric: name,
                        baseline_ms: b as f64 / 1000.0,
                        current_ms: n as f64 / 1000.0,
                        change: point,
                        ci_low: low,
                        ci_high: high,
                        verdict: Verdict::of(low, high, regression),
                    }
                })
                .collect();
            compared.push(RunComparison {
                memory_mb: run.memory_mb,
                label: run.label.to_string(),
                baseline_label: label.clone(),
                baseline_requests: before.whole.len(),
                requests: now.whole.len(),
                metrics,
            });
        }
        let regressed = compared
            .iter()
            .flat_map(|r| &r.metrics)
            .any(|m| m.verdict == Verdict::Regression);
        Ok(BaselineReport {
            file: self.path.display().to_string(),
            regression,
            method: METHOD,
            replicates: REPLICATES,
            runs: compared,
            regressed,
        })
    }
}

/// What one run of this test recorded, as `-o json` has it.
pub(crate) struct Recorded<'a> {
    /// Memory size, with `--memory`.
    pub(crate) memory_mb: Option<u32>,
    /// Its label.
    pub(crate) label: &'a str,
    /// Every request's latency (`latency_hdr`).
    pub(crate) latency_hdr: &'a str,
    /// Each second's (`series[].latency_hdr`).
    pub(crate) seconds: Vec<&'a str>,
}

/// One run's latencies as the bootstrap resamples them: the whole run's histogram (the point
/// estimate), and each second's counts over the run's distinct values.
#[derive(Debug, Clone)]
pub(crate) struct Blocks {
    /// Every request (3 significant digits).
    whole: Histogram<u64>,
    /// The distinct values (µs) the seconds recorded, ascending.
    values: Vec<u64>,
    /// Per second with requests: (index into `values`, count).
    seconds: Vec<Vec<(usize, u64)>>,
}

impl Blocks {
    /// From the run's `latency_hdr` and its seconds' (encoded histograms).
    pub(crate) fn read(whole: &str, seconds: &[&str]) -> Result<Blocks> {
        let whole = lab_load::histogram::decode(whole)?;
        let seconds: Vec<Histogram<u64>> =
            seconds.iter().map(|s| lab_load::histogram::decode(s)).collect::<Result<_>>()?;
        Ok(Blocks::of(whole, &seconds))
    }

    /// From histograms.
    pub(crate) fn of(whole: Histogram<u64>, seconds: &[Histogram<u64>]) -> Blocks {
        let recorded = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
            h.iter_recorded()
                .map(|v| {
                    (
                        h.highest_equivalent(v.value_iterated_to()),
                        v.count_at_value(),
                    )
                })
                .collect()
        };
        let per_second: Vec<Vec<(u64, u64)>> =
            seconds.iter().filter(|h| !h.is_empty()).map(recorded).collect();
        let mut values: Vec<u64> = per_second.iter().flatten().map(|(v, _)| *v).collect();
        values.sort_unstable();
        values.dedup();
        let seconds = per_second
            .iter()
            .map(|s| {
                s.iter()
                    .map(|(v, n)| (values.binary_search(v).expect("a value of the run"), *n))
                    .collect()
            })
            .collect();
        Blocks {
            whole,
            values,
            seconds,
        }
    }

    /// One replicate: as many seconds as the run had, drawn with replacement, merged into `counts`
    /// (over `values`); returns the total.
    fn resample(&self, counts: &mut [u64], rng: &mut StdRng) -> u64 {
        counts.iter_mut().for_each(|c| *c = 0);
        let mut total = 0;
        for _ in 0..self.seconds.len() {
            let second = &self.seconds[rng.gen_range(0..self.seconds.len())];
            for &(i, n) in second {
                counts[i] += n;
                total += n;
            }
        }
        total
    }

    /// The percentiles (nearest rank, as HdrHistogram gives them) of `counts` over `values`.
    fn percentiles(&self, counts: &[u64], total: u64) -> [f64; PERCENTILES.len()] {
        let mut out = [0.0; PERCENTILES.len()];
        for (slot, (_, q)) in out.iter_mut().zip(PERCENTILES) {
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total.max(1));
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    *slot = self.values[i] as f64;
                    break;
                }
            }
        }
        out
    }
}

/// The bootstrap 95% interval of each percentile's change from `before` to `now`
/// (`now / before − 1`), in [`PERCENTILES`]' order.
pub(crate) fn changes(
    before: &Blocks,
    now: &Blocks,
    rng: &mut StdRng,
) -> [(f64, f64); PERCENTILES.len()] {
    let (mut cb, mut cn) = (vec![0; before.values.len()], vec![0; now.values.len()]);
    let mut ratios = vec![Vec::with_capacity(REPLICATES); PERCENTILES.len()];
    for _ in 0..REPLICATES {
        let tb = before.resample(&mut cb, rng);
        let tn = now.resample(&mut cn, rng);
        let (pb, pn) = (before.percentiles(&cb, tb), now.percentiles(&cn, tn));
        for (k, r) in ratios.iter_mut().enumerate() {
            r.push(pn[k] / pb[k] - 1.0);
        }
    }
    let mut out = [(0.0, 0.0); PERCENTILES.len()];
    for (slot, mut r) in out.iter_mut().zip(ratios) {
        r.sort_by(f64::total_cmp);
        let at = |p: f64| r[((p * REPLICATES as f64) as usize).min(REPLICATES - 1)];
        *slot = (at(0.025), at(0.975));
    }
    out
}

/// What `--baseline` found.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// The baseline file.
    pub file: String,
    /// `--regression`: the share of slowdown past which a run fails (0.10: 10%).
    pub regression: f64,
    /// The test.
    pub method: &'static str,
    /// Bootstrap replicates.
    pub replicates: usize,
    /// Each run against its baseline run.
    pub runs: Vec<RunComparison>,
    /// Some percentile of some run regressed: the command exits 1.
    pub regressed: bool,
}

/// One run against the baseline's.
#[derive(Debug, Clone, Serialize)]
pub struct RunComparison {
    /// Memory size, with `--memory`.
    pub memory_mb: Option<u32>,
    /// This run's label.
    pub label: String,
    /// The baseline run's label.
    pub baseline_label: String,
    /// Requests the baseline recorded.
    pub baseline_requests: u64,
    /// Requests this run recorded.
    pub requests: u64,
    /// p50 and p95.
    pub metrics: Vec<MetricChange>,
}

/// One percentile's change.
#[derive(Debug, Clone, Serialize)]
pub struct MetricChange {
    /// `p50` or `p95`.
    pub metric: &'static str,
    /// The baseline's (ms).
    pub baseline_ms: f64,
    /// This run's (ms).
    pub current_ms: f64,
    /// `current / baseline − 1` (0.12: 12% slower).
    pub change: f64,
    /// Its 95% interval's lower end.
    pub ci_low: f64,
    /// Its upper end.
    pub ci_high: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// The verdict on one percentile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower past `--regression`: the whole interval is beyond it.
    Regression,
    /// Slower beyond noise, but the interval reaches below `--regression`.
    SlowerWithinLimit,
    /// Faster beyond noise.
    Faster,
    /// The interval holds 0.
    NoChange,
}

impl Verdict {
    fn of(low: f64, high: f64, regression: f64) -> Verdict {
        if low > regression {
            Verdict::Regression
        } else if low > 0.0 {
            Verdict::SlowerWithinLimit
        } else if high < 0.0 {
            Verdict::Faster
        } else {
            Verdict::NoChange
        }
    }
}

/// `+12%`, `-3%`, `+0.4%` (one decimal under 1%).
fn signed(share: f64) -> String {
    let pct = share * 100.0;
    if pct.abs() < 1.0 {
        format!("{pct:+.1}%")
    } else {
        format!("{pct:+.0}%")
    }
}

/// "p95 41.2 ms vs 34.1 ms: +21% (95% CI +16..+25%): regression (past 10%)".
pub(crate) fn line(m: &MetricChange, regression: f64) -> String {
    let limit = format::pct(regression).replace(".0%", "%");
    let verdict = match m.verdict {
        Verdict::Regression => format!("regression (past {limit})"),
        Verdict::SlowerWithinLimit => format!("slower, not shown past {limit}"),
        Verdict::Faster => "faster".to_string(),
        Verdict::NoChange => "no change within noise".to_string(),
    };
    format!(
        "{} {} vs {}: {} (95% CI {}..{}): {verdict}",
        m.metric,
        format::ms(m.current_ms),
        format::ms(m.baseline_ms),
        signed(m.change),
        signed(m.ci_low).trim_end_matches('%'),
        signed(m.ci_high)
    )
}

/// The terminal's lines: a heading per run, a line per percentile, the method.
pub(crate) fn lines(report: &BaselineReport) -> String {
    let mut out = format!("Against the baseline {}:\n", report.file);
    for run in &report.runs {
        let at = run.memory_mb.map(|m| format!(" at {m} MB")).unwrap_or_default();
        out.push_str(&format!(
            "  run{at} ({} requests; baseline {}):\n",
            run.requests, run.baseline_requests
        ));
        for m in &run.metrics {
            out.push_str(&format!("    {}\n", line(m, report.regression)));
        }
    }
    out.push_str(&format!("  Test: {}\n", report.method));
    let limit = format::pct(report.regression).replace(".0%", "%");
    out.push_str(&if report.regressed {
        format!("Regression past {limit} against the baseline: exit status 1.\n")
    } else {
        format!("No regression past {limit} against the baseline.\n")
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values_us: impl IntoIterator<Item = u64>, sigfig: u8) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, sigfig).unwrap();
        for v in values_us {
            h.record(v).unwrap();
        }
        h
    }

    /// A run of `seconds` seconds, `per_second` requests each, spread evenly over 10..30 ms times
    /// `scale`; with `slow_seconds` of them 3x slower (a busy spell).
    fn run(seconds: usize, per_second: u64, scale: f64, slow_seconds: usize) -> Blocks {
        let second = |s: usize| {
            let slow = if s < slow_seconds { 3.0 } else { 1.0 };
            (0..per_second).map(move |i| {
                ((10_000.0 + i as f64 * 20_000.0 / per_second as f64) * scale * slow) as u64
            })
        };
        let whole = histogram((0..seconds).flat_map(second), 3);
        let each: Vec<_> = (0..seconds).map(|s| histogram(second(s), 2)).collect();
        Blocks::of(whole, &each)
    }

    #[test]
    fn the_same_run_holds_zero_and_a_slower_one_does_not() {
        let mut rng = StdRng::seed_from_u64(1);
        let [(_, _), (low, high)] = changes(&run(30, 100, 1.0, 0), &run(30, 100, 1.0, 0), &mut rng);
        assert!(low <= 0.0 && high >= 0.0, "{low}..{high}");
        assert!(
            high - low < 0.05,
            "identical seconds pin p95: {low}..{high}"
        );
        // 20% slower everywhere: the interval excludes 0 and holds +20% (to the seconds' 1%).
        let [(low50, high50), (low, high)] =
            changes(&run(30, 100, 1.0, 0), &run(30, 100, 1.2, 0), &mut rng);
        assert!(
            low > 0.15 && low < 0.21 && high > 0.19 && high < 0.25,
            "{low}..{high}"
        );
        assert!(low50 > 0.15 && high50 < 0.25, "{low50}..{high50}");
        assert_eq!(Verdict::of(low, high, 0.10), Verdict::Regression);
        assert_eq!(Verdict::of(low, high, 0.30), Verdict::SlowerWithinLimit);
    }

    #[test]
    fn a_busy_spell_widens_the_interval_instead_of_deciding() {
        // The same service; the rerun had 3 slow seconds out of 30 (the machine was busy). Its p95 is
        // far higher, but resampling seconds sees that three seconds carry it: the interval reaches
        // down to no change, so it is not called a regression.
        let mut rng = StdRng::seed_from_u64(3);
        let (before, now) = (run(30, 100, 1.0, 0), run(30, 100, 1.0, 3));
        let [_, (low, high)] = changes(&before, &now, &mut rng);
        let point = now.whole.value_at_quantile(0.95) as f64
            / before.whole.value_at_quantile(0.95) as f64
            - 1.0;
        assert!(point > 0.5, "the spell moves p95 by {point}");
        assert!(low <= 0.0 && high > 0.5, "{low}..{high}");
        assert_ne!(Verdict::of(low, high, 0.10), Verdict::Regression);
    }

    #[test]
    fn lines_and_limits() {
        let m = MetricChange {
            metric: "p95",
            baseline_ms: 34.1,
            current_ms: 38.2,
            change: 0.12,
            ci_low: 0.11,
            ci_high: 0.16,
            verdict: Verdict::of(0.11, 0.16, 0.10),
        };
        assert_eq!(
            line(&m, 0.10),
            "p95 38.2 ms vs 34.1 ms: +12% (95% CI +11..+16%): regression (past 10%)"
        );
        let unsure = MetricChange {
            ci_low: 0.08,
            verdict: Verdict::of(0.08, 0.16, 0.10),
            ..m
        };
        assert_eq!(
            line(&unsure, 0.10),
            "p95 38.2 ms vs 34.1 ms: +12% (95% CI +8..+16%): slower, not shown past 10%"
        );
    }
}
