//! The REPORT lines a function logged during a run, read back from its log group (CloudWatch Logs
//! on AWS, the local stack's logs locally) for the stage URL's join, which Invoke's log tail cannot
//! serve. Lambda ships its log asynchronously, so the read is repeated until every expected line is
//! there or a deadline passes; it reads in time slices of a few thousand lines, each one page (a
//! filter over a whole busy group would page through it many times).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::tune::report_line::{self, ReportLine};

/// One REPORT line and when it was logged (ms since the epoch: the invocation's end).
#[derive(Debug, Clone)]
pub(crate) struct LoggedReport {
    /// The log event's timestamp.
    pub(crate) at_ms: i64,
    /// Its figures.
    pub(crate) report: ReportLine,
}

/// Longest wait for log lines still on their way.
const DEADLINE: Duration = Duration::from_secs(20);

/// Lines asked for per time slice (one page holds up to 10,000 events).
const PER_SLICE: usize = 2_000;

/// Every REPORT line of `group` stamped in `[from_ms, to_ms]`, read until there are `expected` of
/// them or [`DEADLINE`] passes. `ends_ms` (the requests' answers, ms since the epoch, sorted) size
/// the slices.
pub(crate) async fn reports(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    (from_ms, to_ms): (i64, i64),
    ends_ms: &[i64],
    expected: usize,
) -> Result<Vec<LoggedReport>> {
    let slices = slices(from_ms, to_ms, ends_ms);
    // What each slice should hold: the answers in it (a line is stamped just before its answer;
    // without answers to go by, the expected total).
    let wanted: Vec<usize> = slices
        .iter()
        .map(|&(a, b)| match ends_ms {
            [] => expected,
            _ => ends_ms.iter().filter(|&&t| t >= a && t <= b).count(),
        })
        .collect();
    let mut read: Vec<Option<Vec<LoggedReport>>> = vec![None; slices.len()];
    let started = Instant::now();
    loop {
        // Only the slices still short, and their neighbours (a line is stamped a moment before
        // its answer, so it can fall in the slice before), are read again: the lines still on
        // their way are the run's last.
        let short: Vec<bool> = read
            .iter()
            .zip(&wanted)
            .map(|(lines, &w)| lines.as_ref().is_none_or(|l| l.len() < w))
            .collect();
        for (k, &(a, b)) in slices.iter().enumerate() {
            let near = |d: isize| short.get(k.wrapping_add_signed(d)).copied().unwrap_or(false);
            if near(-1) || near(0) || near(1) {
                read[k] = Some(read_slice(logs, group, a, b).await?);
            }
        }
        let total: usize = read.iter().flatten().map(Vec::len).sum();
        if total >= expected || started.elapsed() >= DEADLINE {
            let mut all: Vec<LoggedReport> = read.into_iter().flatten().flatten().collect();
            all.sort_by_key(|r| r.at_ms);
            return Ok(all);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `[from, to]` cut so that each piece holds about [`PER_SLICE`] of the answers in `ends_ms`.
fn slices(from_ms: i64, to_ms: i64, ends_ms: &[i64]) -> Vec<(i64, i64)> {
    let mut cuts = vec![from_ms];
    cuts.extend(
        ends_ms
            .iter()
            .skip(PER_SLICE)
            .step_by(PER_SLICE)
            .copied()
            .filter(|&t| t > from_ms && t < to_ms),
    );
    cuts.dedup();
    let mut out: Vec<(i64, i64)> = cuts.windows(2).map(|w| (w[0], w[1] - 1)).collect();
    out.push((*cuts.last().unwrap_or(&from_ms), to_ms));
    out
}

async fn read_slice(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<LoggedReport>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(from_ms)
            .end_time(to_ms)
            .filter_pattern("REPORT")
            .set_next_token(token)
            .send()
            .await
            .map_err(aws_sdk_cloudwatchlogs::Error::from)
            .with_context(|| format!("reading the REPORT lines of {group}"))?;
        for e in page.events() {
            if let (Some(at), Some(report)) =
                (e.timestamp(), e.message().and_then(report_line::parse))
            {
                out.push(LoggedReport { at_ms: at, report });
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_window_without_overlap() {
        let ends: Vec<i64> = (0..5_000).map(|i| 1_000 + i).collect();
        let s = slices(900, 7_000, &ends);
        assert_eq!(s.first().unwrap().0, 900);
        assert_eq!(s.last().unwrap().1, 7_000);
        for w in s.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0, "{s:?}");
        }
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(slices(0, 10, &[]), [(0, 10)]);
    }
}
