//! Each request's own record, kept only when the caller will join the run with Lambda's figures
//! (the REPORT line of the invocation that served each request): when it was sent and answered,
//! whether it reached the function, and, with `--via lambda`, the REPORT line Invoke returned in
//! its log tail. A run that does not ask keeps nothing, so the hot loop pays one branch.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One request, timed from the run's clock start.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// Sent, µs after the run's start.
    pub sent_us: u64,
    /// Answered (or given up on), µs after the run's start.
    pub done_us: u64,
    /// The answer came from the function (a success or a function error), so an invocation with a
    /// REPORT line served it; throttles, timeouts and connection failures did not reach it.
    pub reached_function: bool,
    /// The REPORT line of the invocation, when the transport returns it (Invoke's log tail).
    pub report: Option<Box<str>>,
}

/// The records of one run, sharded as the recorders are (VU `id` writes to shard `id % n`).
pub(crate) struct RequestLog {
    shards: Vec<Mutex<Vec<RequestRecord>>>,
    start: Instant,
}

impl RequestLog {
    /// An empty log for a run whose clock starts at `start`.
    pub(crate) fn new(shards: usize, start: Instant) -> RequestLog {
        RequestLog {
            shards: (0..shards.max(1)).map(|_| Mutex::new(Vec::new())).collect(),
            start,
        }
    }

    /// Keeps one request of VU `id`.
    pub(crate) fn push(
        &self,
        id: u32,
        sent: Instant,
        done: Instant,
        reached_function: bool,
        report: Option<Box<str>>,
    ) {
        let us = |t: Instant| t.saturating_duration_since(self.start).as_micros() as u64;
        let record = RequestRecord {
            sent_us: us(sent),
            done_us: us(done),
            reached_function,
            report,
        };
        let shard = &self.shards[id as usize % self.shards.len()];
        shard.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    }

    /// Every record, in the order they were answered.
    pub(crate) fn take(&self) -> Vec<RequestRecord> {
        let mut all: Vec<RequestRecord> = self
            .shards
            .iter()
            .flat_map(|s| std::mem::take(&mut *s.lock().unwrap_or_else(|e| e.into_inner())))
            .collect();
        all.sort_by_key(|r| r.done_us);
        all
    }
}

/// The wall-clock time of `start`, in milliseconds since the epoch (log events are stamped so).
pub(crate) fn epoch_ms_of(start: Instant) -> f64 {
    let now_wall =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0;
    let since = Instant::now().saturating_duration_since(start).as_secs_f64() * 1000.0;
    now_wall - since
}

/// The last `REPORT` line of an invocation's log tail (the tail may hold earlier lines).
pub(crate) fn report_line(log_tail: &str) -> Option<Box<str>> {
    log_tail
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with("REPORT ") || l.contains("\"platform.report\""))
        .map(Box::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_come_back_in_answer_order_from_every_shard() {
        let start = Instant::now();
        let log = RequestLog::new(3, start);
        let at = |ms| start + Duration::from_millis(ms);
        log.push(0, at(0), at(30), true, None);
        log.push(1, at(5), at(10), false, None);
        log.push(2, at(6), at(20), true, Some("REPORT x".into()));
        let all = log.take();
        assert_eq!(
            all.iter().map(|r| r.done_us).collect::<Vec<_>>(),
            [10_000, 20_000, 30_000]
        );
        assert_eq!(all[1].report.as_deref(), Some("REPORT x"));
        assert!(log.take().is_empty(), "taken once");
    }

    #[test]
    fn the_last_report_line_of_a_tail_is_the_invocations() {
        let tail = "START RequestId: a\nREPORT RequestId: old\thello\nREPORT RequestId: b\tDuration: 1 ms\n";
        assert_eq!(
            report_line(tail).as_deref(),
            Some("REPORT RequestId: b\tDuration: 1 ms")
        );
        assert_eq!(report_line("no report here"), None);
    }
}
