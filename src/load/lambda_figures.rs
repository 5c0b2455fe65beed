//! Lambda's own figures for each request of a run: every request joined with the REPORT line of
//! the invocation that served it, then the run's latency split cold/warm, Init, billed duration,
//! memory used and what the run cost on Lambda. No load tester does this (k6, oha and Artillery
//! see only the client's side; aws-lambda-power-tuning only Lambda's).
//!
//! Two joins, by what the transport returns:
//! - `--via lambda`: Invoke with `LogType=Tail` returns each invocation's REPORT line with its
//!   answer, so the join is exact.
//! - The stage URL: API Gateway's answer carries no Lambda request id, so each request is paired
//!   with a REPORT line from the function's log by time: of the lines whose handler time (the
//!   line's stamp, the invocation's end, less its Duration) lies inside the request's send..answer
//!   window, the one that fills it most closely, a cold start's line first to the request whose
//!   window holds its Init as well. The log's clock is aligned on the client's first (the median gap between the
//!   n-th answer and the n-th line). Counts, cold starts, billed time and cost do not depend on
//!   which line goes with which request; the cold/warm latency split does, and is exact whenever
//!   one invocation ended inside a request's window.

use std::collections::BTreeSet;

use serde::Serialize;

use lab_load::requests::RequestRecord;

use super::function_log::LoggedReport;
use crate::report::format;
use crate::tune::pricing::Pricing;
use crate::tune::report_line::{self, ReportLine};

/// How requests were paired with REPORT lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinSource {
    /// Invoke's `LogType=Tail`: each answer came with its REPORT line.
    LogTail,
    /// The function's log, paired with the requests by time.
    FunctionLog,
    /// The function's log as a whole (`--workers`: the requests' own times stay in the workers).
    LogTotals,
}

impl JoinSource {
    /// The join in words, for the table's caption.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            JoinSource::LogTail => "each request's REPORT line from Invoke's log tail (exact)",
            JoinSource::FunctionLog => {
                "REPORT lines from the function's log, paired with requests by time (the stage URL returns no Lambda request id)"
            }
            JoinSource::LogTotals => {
                "REPORT lines from the function's log in the run's window, as totals (the workers keep each request's times)"
            }
        }
    }
}

/// Latency the client saw, for one kind of request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latencies {
    /// Requests.
    pub count: u64,
    /// Mean, ms.
    pub avg_ms: Option<f64>,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
}

/// What the run cost on Lambda (the function's invocations; the generator's apart).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunCost {
    /// Every joined invocation's compute and request charges.
    pub total: f64,
    /// `total` per 1,000 invocations.
    pub per_1k: f64,
    /// `USD`, or `CNY` in the China regions.
    pub currency: &'static str,
}

/// Lambda's figures for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaFigures {
    /// How requests were paired with REPORT lines.
    pub source: JoinSource,
    /// Requests whose answer came from the function (an invocation served each).
    pub requests: u64,
    /// Of those, the ones paired with a REPORT line.
    pub joined: u64,
    /// `joined / requests` (1 when nothing reached the function).
    pub coverage: f64,
    /// Requests served by a new instance (the REPORT line has Init or Restore).
    pub cold: Latencies,
    /// Requests served by a warm instance.
    pub warm: Latencies,
    /// Mean and longest Init Duration of the cold starts, ms.
    pub init_avg_ms: Option<f64>,
    /// Longest Init Duration, ms.
    pub init_max_ms: Option<f64>,
    /// Mean Duration (the handler's time), ms.
    pub duration_avg_ms: Option<f64>,
    /// Mean Billed Duration (with Billed Restore Duration), ms.
    pub billed_avg_ms: Option<f64>,
    /// Every joined invocation's Billed Duration together, ms.
    pub billed_total_ms: f64,
    /// The most memory an invocation used, MB.
    pub max_memory_used_mb: Option<u32>,
    /// The memory size the invocations ran at, MB (the largest, if the run saw two).
    pub memory_size_mb: Option<u32>,
    /// What the joined invocations cost.
    pub cost: RunCost,
    /// With `--workers`: what the generator's own invocations cost, apart from the function's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_cost: Option<RunCost>,
}

impl LambdaFigures {
    /// How many requests were joined, and how: the line that opens the figures.
    pub(crate) fn coverage_sentence(&self) -> String {
        format!(
            "Lambda's figures: {} of {} requests joined with their REPORT line ({}), from {}",
            self.joined,
            self.requests,
            format::pct(self.coverage),
            self.source.describe()
        )
    }

    /// Init, Duration, Billed Duration and memory used, as far as the run has them.
    pub(crate) fn report_sentence(&self) -> String {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_string(), format::ms);
        let init = match (self.init_avg_ms, self.init_max_ms) {
            (Some(avg), Some(max)) => {
                format!("Init avg {} (max {}); ", format::ms(avg), format::ms(max))
            }
            _ => String::new(),
        };
        let memory = match (self.max_memory_used_mb, self.memory_size_mb) {
            (Some(used), Some(size)) => format!("; max memory used {used} of {size} MB"),
            (Some(used), None) => format!("; max memory used {used} MB"),
            _ => String::new(),
        };
        format!(
            "{init}Duration avg {}; Billed Duration avg {}{memory}",
            ms(self.duration_avg_ms),
            ms(self.billed_avg_ms)
        )
    }

    /// What the run cost on Lambda, and the generator apart.
    pub(crate) fn cost_sentence(&self) -> String {
        let money = |c: &RunCost, v: f64| crate::tune::pricing::money(v, c.currency);
        let generator = self.generator_cost.as_ref().map_or_else(String::new, |g| {
            format!(
                "; the load generator's own invocations {} (not counted above)",
                money(g, g.total)
            )
        });
        format!(
            "Lambda cost of the run: {} ({} per 1,000 requests){generator}",
            money(&self.cost, self.cost.total),
            money(&self.cost, self.cost.per_1k)
        )
    }

    /// Whether the figures split the requests' latency cold/warm (the totals of `--workers` do not).
    pub(crate) fn has_latencies(&self) -> bool {
        self.source != JoinSource::LogTotals
    }
}

/// A REPORT line paired with the latency of the request it served (when the join knows it).
struct Joined<'a> {
    report: &'a ReportLine,
    latency_ms: Option<f64>,
}

/// `--via lambda`: each record's own REPORT line.
pub(crate) fn from_tails(records: &[RequestRecord], pricing: &Pricing) -> LambdaFigures {
    let parsed: Vec<(f64, ReportLine)> = records
        .iter()
        .filter_map(|r| {
            let report = report_line::parse(r.report.as_deref()?)?;
            Some((latency_ms(r), report))
        })
        .collect();
    let joined: Vec<Joined<'_>> = parsed
        .iter()
        .map(|(latency, report)| Joined {
            report,
            latency_ms: Some(*latency),
        })
        .collect();
    figures(JoinSource::LogTail, reached(records), &joined, pricing)
}

/// The stage URL: `records` paired with the function's `logged` REPORT lines by time; the run's
/// clock started at `start_ms` (ms since the epoch).
pub(crate) fn from_log(
    records: &[RequestRecord],
    logged: &[LoggedReport],
    start_ms: f64,
    pricing: &Pricing,
) -> LambdaFigures {
    let pairs = pair_by_time(records, logged, start_ms);
    let joined: Vec<Joined<'_>> = pairs
        .iter()
        .map(|&(r, l)| Joined {
            report: &logged[l].report,
            latency_ms: Some(latency_ms(&records[r])),
        })
        .collect();
    figures(JoinSource::FunctionLog, reached(records), &joined, pricing)
}

/// `--workers`: the log's REPORT lines as totals, against the `requests` that reached the function.
pub(crate) fn from_totals(
    requests: u64,
    logged: &[LoggedReport],
    pricing: &Pricing,
) -> LambdaFigures {
    let joined: Vec<Joined<'_>> = logged
        .iter()
        .map(|l| Joined {
            report: &l.report,
            latency_ms: None,
        })
        .collect();
    figures(JoinSource::LogTotals, requests, &joined, pricing)
}

/// What `logged` invocations of the generator cost.
pub(crate) fn cost_of(logged: &[LoggedReport], pricing: &Pricing) -> RunCost {
    let reports: Vec<&ReportLine> = logged.iter().map(|l| &l.report).collect();
    cost(&reports, pricing)
}

fn latency_ms(r: &RequestRecord) -> f64 {
    r.done_us.saturating_sub(r.sent_us) as f64 / 1000.0
}

fn reached(records: &[RequestRecord]) -> u64 {
    records.iter().filter(|r| r.reached_function).count() as u64
}

/// Slack for the log's whole-millisecond stamps.
const STAMP_SLACK_MS: f64 = 2.0;

/// (record, logged line) pairs: for each request that reached the function, in answer order, the
/// unpaired line (after aligning the clocks) whose handler time lies inside the request's window and
/// fills it most closely.
fn pair_by_time(
    records: &[RequestRecord],
    logged: &[LoggedReport],
    start_ms: f64,
) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> =
        (0..records.len()).filter(|&i| records[i].reached_function).collect();
    order.sort_by_key(|&i| records[i].done_us);
    let ends: Vec<f64> =
        order.iter().map(|&i| start_ms + records[i].done_us as f64 / 1000.0).collect();
    let offset = clock_offset(&ends, logged);
    // Lines by stamp; a line is taken once.
    let mut free: BTreeSet<(i64, usize)> =
        logged.iter().enumerate().map(|(j, l)| (l.at_ms, j)).collect();
    // Request `i`'s send..answer window on the log's clock.
    let window = |i: usize| {
        let r = &records[i];
        (
            start_ms + r.sent_us as f64 / 1000.0 + offset - STAMP_SLACK_MS,
            start_ms + r.done_us as f64 / 1000.0 + offset + STAMP_SLACK_MS,
        )
    };
    // The free lines stamped inside request `i`'s window.
    let stamped_in = |free: &BTreeSet<(i64, usize)>, i: usize| -> Vec<usize> {
        let (sent, done) = window(i);
        free.range((sent.floor() as i64, 0)..=(done.ceil() as i64, usize::MAX))
            .map(|&(_, j)| j)
            .collect()
    };
    // Line `j` could have served request `i`: stamped inside its window, its handler no longer.
    let fits = |i: usize, j: usize| {
        let (sent, done) = window(i);
        let at = logged[j].at_ms as f64;
        at >= sent.floor() && at <= done.ceil() && logged[j].report.duration_ms <= done - sent
    };
    // How far line `j`'s handler time is from filling request `i`'s window at both ends: the
    // request's own line fits it closest (the gateway's time in front and behind is small and
    // steady), where another request's may merely fit inside it. `waited` is time the line's
    // invocation spent before its handler began (a cold start's Init), counted in front.
    let misfit = |i: usize, j: usize, waited: f64| {
        let (sent, done) = window(i);
        let (at, ran) = (logged[j].at_ms as f64, logged[j].report.duration_ms);
        (done - STAMP_SLACK_MS - at).abs() + ((at - ran - waited) - (sent + STAMP_SLACK_MS)).abs()
    };
    let mut pairs = Vec::new();
    let mut paired = vec![false; records.len()];
    // First the cold lines. A cold start's request waited on its Init (an instance started on
    // demand), so its window holds the Init and the handler time both; a request sent after the
    // Init began is not the line's, however well the handler time alone fits it. Otherwise a
    // neighbour sent just as the cold instance's handler began (its own line a few ms off, on a
    // busy host) took the cold line, and the cold request a warm one: a 20-ms request counted cold
    // beside a 196-ms Init, in CI. A cold line no window holds so (Lambda initialised the instance
    // ahead of the request) is left to the passes below.
    for (j, line) in logged.iter().enumerate() {
        let Some(init) = line.report.start_up_ms() else {
            continue;
        };
        let (at, ran) = (line.at_ms as f64, line.report.duration_ms);
        let held = |i: usize| {
            let (sent, done) = window(i);
            at - ran - init >= sent.floor() && at <= done.ceil()
        };
        let found = order
            .iter()
            .copied()
            .filter(|&i| !paired[i] && held(i))
            .min_by(|&a, &b| misfit(a, j, init).total_cmp(&misfit(b, j, init)));
        if let Some(i) = found {
            free.remove(&(line.at_ms, j));
            paired[i] = true;
            pairs.push((i, j));
        }
    }
    let mut unpaired = Vec::new();
    // First every line whose handler time lies inside a request's window (Init may not: Lambda
    // can initialise an instance before the request it serves); then, for requests left over (a
    // neighbour took the line that fitted them), any line that fits.
    for strict in [true, false] {
        let requests = if strict {
            order.iter().copied().filter(|&i| !paired[i]).collect()
        } else {
            std::mem::take(&mut unpaired)
        };
        for i in requests {
            let sent = window(i).0;
            let found = stamped_in(&free, i)
                .into_iter()
                .filter(|&j| {
                    if strict {
                        logged[j].at_ms as f64 - logged[j].report.duration_ms >= sent
                    } else {
                        fits(i, j)
                    }
                })
                .min_by(|&a, &b| misfit(i, a, 0.0).total_cmp(&misfit(i, b, 0.0)));
            match found {
                Some(j) => {
                    free.remove(&(logged[j].at_ms, j));
                    pairs.push((i, j));
                }
                None => unpaired.push(i),
            }
        }
    }
    // Last, a request still without a line takes one a paired neighbour holds, where that
    // neighbour can take a free line instead (one step of an augmenting path).
    for u in unpaired {
        let swap = pairs.iter().enumerate().find_map(|(k, &(p, held))| {
            if !fits(u, held) {
                return None;
            }
            let instead = stamped_in(&free, p).into_iter().find(|&j| fits(p, j))?;
            Some((k, held, instead))
        });
        if let Some((k, held, instead)) = swap {
            free.remove(&(logged[instead].at_ms, instead));
            pairs[k].1 = instead;
            pairs.push((u, held));
        }
    }
    pairs
}

/// How far the log's clock is ahead of the client's, ms. A line is logged just before its answer
/// leaves, so pairing the n-th answer with the n-th line gives a small, steady gap, unless the log
/// holds a line or two the run did not answer (a warm-up's, stamped in the run's first
/// millisecond) or lacks one: the rank pairing is tried a few lines either way, and the one whose
/// gaps agree best (least median deviation) gives the median gap.
fn clock_offset(ends_ms: &[f64], logged: &[LoggedReport]) -> f64 {
    let mut stamps: Vec<i64> = logged.iter().map(|l| l.at_ms).collect();
    stamps.sort_unstable();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut best: Option<(f64, f64)> = None;
    let shifts = (0..=RANK_SHIFTS).flat_map(|s| if s == 0 { vec![0] } else { vec![s, -s] });
    for shift in shifts {
        let mut gaps: Vec<f64> = ends_ms
            .iter()
            .enumerate()
            .filter_map(|(k, end)| {
                let at = stamps.get(usize::try_from(k as i64 + shift).ok()?)?;
                Some(*at as f64 - end)
            })
            .collect();
        if gaps.is_empty() {
            continue;
        }
        let centre = median(&mut gaps);
        let mut deviations: Vec<f64> = gaps.iter().map(|g| (g - centre).abs()).collect();
        let spread = median(&mut deviations);
        // Ties go to the smaller shift (the loop runs outward from 0).
        if best.is_none_or(|(s, _)| spread < s) {
            best = Some((spread, centre));
        }
    }
    best.map_or(0.0, |(_, centre)| centre)
}

/// Lines the rank pairing of [`clock_offset`] tries either way.
const RANK_SHIFTS: i64 = 4;

fn figures(
    source: JoinSource,
    requests: u64,
    joined: &[Joined<'_>],
    pricing: &Pricing,
) -> LambdaFigures {
    let (cold, warm): (Vec<&Joined<'_>>, Vec<&Joined<'_>>) =
        joined.iter().partition(|j| j.report.is_cold());
    let latencies = |set: &[&Joined<'_>]| {
        let mut v: Vec<f64> = set.iter().filter_map(|j| j.latency_ms).collect();
        v.sort_by(f64::total_cmp);
        Latencies {
            count: set.len() as u64,
            avg_ms: mean(&v),
            p50_ms: percentile(&v, 0.50),
            p95_ms: percentile(&v, 0.95),
        }
    };
    let inits: Vec<f64> = cold.iter().filter_map(|j| j.report.start_up_ms()).collect();
    let durations: Vec<f64> = joined.iter().map(|j| j.report.duration_ms).collect();
    let billed: Vec<f64> = joined.iter().map(|j| j.report.total_billed_ms()).collect();
    let reports: Vec<&ReportLine> = joined.iter().map(|j| j.report).collect();
    let n = joined.len() as u64;
    LambdaFigures {
        source,
        requests,
        joined: n,
        coverage: if requests == 0 {
            1.0
        } else {
            n as f64 / requests as f64
        },
        cold: latencies(&cold),
        warm: latencies(&warm),
        init_avg_ms: mean(&inits),
        init_max_ms: inits.iter().copied().reduce(f64::max),
        duration_avg_ms: mean(&durations),
        billed_avg_ms: mean(&billed),
        billed_total_ms: billed.iter().sum(),
        max_memory_used_mb: joined.iter().filter_map(|j| j.report.max_memory_used_mb).max(),
        memory_size_mb: joined.iter().filter_map(|j| j.report.memory_size_mb).max(),
        cost: cost(&reports, pricing),
        generator_cost: None,
    }
}

fn cost(reports: &[&ReportLine], pricing: &Pricing) -> RunCost {
    let total: f64 = reports
        .iter()
        .map(|r| pricing.cost(r.total_billed_ms(), r.memory_size_mb.unwrap_or(128)).total())
        .sum();
    RunCost {
        total,
        per_1k: if reports.is_empty() {
            0.0
        } else {
            total / reports.len() as f64 * 1000.0
        },
        currency: pricing.currency,
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    fn record(sent_ms: u64, done_ms: u64) -> RequestRecord {
        RequestRecord {
            sent_us: sent_ms * 1000,
            done_us: done_ms * 1000,
            reached_function: true,
            report: None,
        }
    }

    fn line(duration: f64, init: Option<f64>) -> ReportLine {
        let init = init.map(|i| format!("\tInit Duration: {i} ms")).unwrap_or_default();
        report_line::parse(&format!(
            "REPORT RequestId: x\tDuration: {duration} ms\tBilled Duration: {} ms\tMemory Size: 1024 MB\tMax Memory Used: 30 MB{init}",
            (duration + init_ms_of(&init)).ceil()
        ))
        .unwrap()
    }

    fn init_ms_of(text: &str) -> f64 {
        text.split("Init Duration: ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn overlapping_requests_pair_with_the_lines_that_fit_them() {
        // A cold request 0..120 ms (its line at 118 ms: 100 ms Init + 15 ms) beside warm ones.
        let records = [
            record(0, 120),
            record(5, 12),
            record(13, 20),
            record(21, 30),
        ];
        let start = 1_000_000.0;
        let logged = vec![
            LoggedReport {
                at_ms: 1_000_011,
                report: line(5.0, None),
            },
            LoggedReport {
                at_ms: 1_000_019,
                report: line(5.0, None),
            },
            LoggedReport {
                at_ms: 1_000_029,
                report: line(6.0, None),
            },
            LoggedReport {
                at_ms: 1_000_118,
                report: line(15.0, Some(100.0)),
            },
        ];
        let pricing = Pricing::for_region("us-east-1", Arch::X86_64);
        let f = from_log(&records, &logged, start, &pricing);
        assert_eq!((f.requests, f.joined), (4, 4));
        assert_eq!(f.cold.count, 1);
        assert_eq!(f.cold.p50_ms, Some(120.0));
        assert_eq!(f.warm.count, 3);
        assert_eq!(f.init_max_ms, Some(100.0));
        assert_eq!(f.max_memory_used_mb, Some(30));
        // 5 + 5 + 6 + 115 ms billed at 1 GB, plus four requests.
        let expected = (131.0 / 1000.0) * pricing.gb_second + 4.0 * pricing.request;
        assert!((f.cost.total - expected).abs() < 1e-15, "{f:?}");
    }

    /// A cold request and a warm neighbour (each sent..done in µs) joined with a cold line and a
    /// warm one (each stamped at ms, with its Duration; the cold one with its Init).
    fn cold_beside_warm(
        cold: (u64, u64),
        warm: (u64, u64),
        cold_line: (i64, f64, f64),
        warm_line: (i64, f64),
    ) -> LambdaFigures {
        let records = [cold, warm].map(|(sent_us, done_us)| RequestRecord {
            sent_us,
            done_us,
            reached_function: true,
            report: None,
        });
        let logged = vec![
            LoggedReport {
                at_ms: cold_line.0,
                report: line(cold_line.1, Some(cold_line.2)),
            },
            LoggedReport {
                at_ms: warm_line.0,
                report: line(warm_line.1, None),
            },
        ];
        let f = from_log(
            &records,
            &logged,
            0.0,
            &Pricing::for_region("us-east-1", Arch::X86_64),
        );
        assert_eq!(f.joined, 2);
        f
    }

    #[test]
    fn the_request_that_waited_on_an_init_gets_the_cold_line_not_a_neighbour() {
        // (cold request, warm neighbour, cold line, warm line, cold latency, warm latency)
        let cases = [
            // A cold request 0..180 ms (150 ms Init, then 27 ms in the handler, its line at 179 ms)
            // and a warm one sent at 140 ms that ended just after it (its line at 181 ms, 40 ms):
            // the cold request ends first, and without its Init the warm line fitted it closer.
            (
                (0, 180_000),
                (140_000, 182_000),
                (179, 27.0, 150.0),
                (181, 40.0),
                180.0,
                42.0,
            ),
            // From a CI failure, as logged: a cold request sent at 6.7 ms waited 178 ms for a
            // core, then 196 ms of Init, then 19.7 ms in the handler (its line at 400.4 ms); a warm
            // neighbour sent at 381.6 ms, just as that handler began, ran 14.4 ms (its line at
            // 399.4 ms, 3.4 ms after its send). By the handler time alone the cold line fitted the
            // neighbour best.
            (
                (6_700, 401_600),
                (381_600, 401_000),
                (400, 19.66, 195.59),
                (399, 14.37),
                394.9,
                19.4,
            ),
        ];
        for (cold, warm, cold_line, warm_line, cold_ms, warm_ms) in cases {
            let f = cold_beside_warm(cold, warm, cold_line, warm_line);
            assert_eq!(f.cold.p50_ms, Some(cold_ms), "{f:?}");
            assert_eq!(f.warm.p50_ms, Some(warm_ms), "{f:?}");
        }
    }

    #[test]
    fn a_line_that_cannot_fit_a_request_is_not_paired_with_it() {
        // The line is stamped inside the window but reports more time than the request took.
        let records = [record(0, 10)];
        let logged = vec![LoggedReport {
            at_ms: 9,
            report: line(50.0, None),
        }];
        let pricing = Pricing::for_region("us-east-1", Arch::X86_64);
        let f = from_log(&records, &logged, 0.0, &pricing);
        assert_eq!(f.joined, 0);
        assert_eq!(f.coverage, 0.0);
    }

    #[test]
    fn a_line_the_run_did_not_answer_does_not_shift_the_clocks() {
        // A warm-up's line stamped in the run's first millisecond, before the run's own lines;
        // irregular arrivals, as a real run's are (on a regular grid every shift pairs alike).
        let sent = irregular(50, 1, 5);
        let records: Vec<RequestRecord> = sent.iter().map(|&t| record(t, t + 8)).collect();
        let mut logged = vec![LoggedReport {
            at_ms: 0,
            report: line(1.0, None),
        }];
        logged.extend(sent.iter().map(|&t| LoggedReport {
            at_ms: t as i64 + 7,
            report: line(6.0, None),
        }));
        let pricing = Pricing::for_region("us-east-1", Arch::X86_64);
        let f = from_log(&records, &logged, 0.0, &pricing);
        assert_eq!(f.joined, 50, "{f:?}");
        assert_eq!(
            f.duration_avg_ms,
            Some(6.0),
            "every request got its own line: {f:?}"
        );
    }

    /// `n` send times `base..base+span` ms apart, varying.
    fn irregular(n: u64, base: u64, span: u64) -> Vec<u64> {
        (0..n)
            .scan(0, |t, i| {
                *t += base + (i * 7919) % span;
                Some(*t)
            })
            .collect()
    }

    #[test]
    fn a_log_clock_ahead_of_the_clients_is_aligned() {
        // The log's clock runs 250 ms ahead: every line still pairs with its request.
        let sent = irregular(20, 4, 9);
        let records: Vec<RequestRecord> = sent.iter().map(|&t| record(t, t + 8)).collect();
        let logged: Vec<LoggedReport> = sent
            .iter()
            .map(|&t| LoggedReport {
                at_ms: 250 + t as i64 + 7,
                report: line(6.0, None),
            })
            .collect();
        let pricing = Pricing::for_region("us-east-1", Arch::X86_64);
        let f = from_log(&records, &logged, 0.0, &pricing);
        assert_eq!(f.joined, 20, "{f:?}");
    }
}
