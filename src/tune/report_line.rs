//! Parsing the `REPORT` line Lambda appends to every invocation's log.
//!
//! Text format (fields separated by tabs in real Lambda logs, shown as `⇥`; spaces are accepted too;
//! `Init Duration` only on a cold start):
//!
//! ```text
//! REPORT RequestId: 3f1c...⇥Duration: 12.34 ms⇥Billed Duration: 13 ms⇥Memory Size: 128 MB⇥Max Memory Used: 20 MB⇥Init Duration: 45.67 ms
//! ```
//!
//! Functions using Lambda's JSON log format emit a `platform.report` record instead; both are read.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

/// The figures of one invocation's `REPORT` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLine {
    /// The request id, when present.
    pub request_id: Option<String>,
    /// `Duration`: handler time in ms.
    pub duration_ms: f64,
    /// `Billed Duration` in ms (what the invocation is charged for).
    pub billed_ms: f64,
    /// `Memory Size` in MB (the configuration that served the call).
    pub memory_size_mb: Option<u32>,
    /// `Max Memory Used` in MB.
    pub max_memory_used_mb: Option<u32>,
    /// `Init Duration` in ms: present only when the call started a new instance (a cold start).
    pub init_ms: Option<f64>,
}

impl ReportLine {
    /// What the caller waited for: handler time plus, on a cold start, the instance's init time.
    pub fn total_ms(&self) -> f64 {
        self.duration_ms + self.init_ms.unwrap_or(0.0)
    }

    /// Whether this invocation started a new instance.
    pub fn is_cold(&self) -> bool {
        self.init_ms.is_some()
    }
}

fn field_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Longer names first so "Billed Duration" is never read as "Duration"; leftmost-first matching
    // also consumes "Billed Duration: 13" as one field, so its inner "Duration:" is never seen alone.
    RE.get_or_init(|| {
        Regex::new(
            r"(?:^|\s)(RequestId|Billed Duration|Init Duration|Max Memory Used|Memory Size|Duration):\s*([^\s]+)",
        )
        .expect("valid REPORT regex")
    })
}

/// Finds the last `REPORT` line (or JSON `platform.report` record) in `log_tail` and reads it.
/// `None` when there is none or it lacks `Duration` / `Billed Duration`.
pub fn parse(log_tail: &str) -> Option<ReportLine> {
    // The tail may hold more than one invocation's log; the last REPORT is this invocation's.
    for line in log_tail.lines().rev() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("REPORT") {
            return parse_text(rest);
        }
        if line.starts_with('{') && line.contains("platform.report") {
            if let Some(report) = parse_json(line) {
                return Some(report);
            }
        }
    }
    None
}

fn parse_text(fields: &str) -> Option<ReportLine> {
    let mut report = ReportLine {
        request_id: None,
        duration_ms: f64::NAN,
        billed_ms: f64::NAN,
        memory_size_mb: None,
        max_memory_used_mb: None,
        init_ms: None,
    };
    for cap in field_regex().captures_iter(fields) {
        let value = &cap[2];
        match &cap[1] {
            "RequestId" => report.request_id = Some(value.to_string()),
            "Duration" => report.duration_ms = value.parse().ok()?,
            "Billed Duration" => report.billed_ms = value.parse().ok()?,
            "Init Duration" => report.init_ms = Some(value.parse().ok()?),
            "Memory Size" => report.memory_size_mb = value.parse().ok(),
            "Max Memory Used" => report.max_memory_used_mb = value.parse().ok(),
            _ => {}
        }
    }
    (report.duration_ms.is_finite() && report.billed_ms.is_finite()).then_some(report)
}

fn parse_json(line: &str) -> Option<ReportLine> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("type")?.as_str()? != "platform.report" {
        return None;
    }
    let record = value.get("record")?;
    let metrics = record.get("metrics")?;
    let num = |key: &str| metrics.get(key).and_then(serde_json::Value::as_f64);
    Some(ReportLine {
        request_id: record
            .get("requestId")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        duration_ms: num("durationMs")?,
        billed_ms: num("billedDurationMs")?,
        memory_size_mb: num("memorySizeMB").map(|v| v as u32),
        max_memory_used_mb: num("maxMemoryUsedMB").map(|v| v as u32),
        init_ms: num("initDurationMs"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_report_with_tabs() {
        let tail = "START RequestId: abc Version: $LATEST\nEND RequestId: abc\n\
                    REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\n";
        let r = parse(tail).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("abc"));
        assert_eq!(r.duration_ms, 12.34);
        assert_eq!(r.billed_ms, 13.0);
        assert_eq!(r.memory_size_mb, Some(128));
        assert_eq!(r.max_memory_used_mb, Some(20));
        assert_eq!(r.init_ms, None);
        assert!(!r.is_cold());
        assert_eq!(r.total_ms(), 12.34);
    }

    #[test]
    fn cold_report_with_spaces() {
        let tail = "REPORT RequestId: x Duration: 1.50 ms Billed Duration: 49 ms Memory Size: 1024 MB Max Memory Used: 31 MB Init Duration: 46.50 ms";
        let r = parse(tail).unwrap();
        assert_eq!(r.duration_ms, 1.5);
        assert_eq!(r.billed_ms, 49.0);
        assert_eq!(r.init_ms, Some(46.5));
        // 1.5 + 46.5 = 48 ms waited in total.
        assert_eq!(r.total_ms(), 48.0);
        assert!(r.is_cold());
    }

    #[test]
    fn last_report_wins_and_missing_is_none() {
        let tail = "REPORT RequestId: a\tDuration: 1 ms\tBilled Duration: 1 ms\nREPORT RequestId: b\tDuration: 2 ms\tBilled Duration: 2 ms";
        assert_eq!(parse(tail).unwrap().request_id.as_deref(), Some("b"));
        assert!(parse("START RequestId: a\nEND RequestId: a").is_none());
        assert!(parse("REPORT RequestId: a\tMemory Size: 128 MB").is_none());
    }

    #[test]
    fn json_platform_report() {
        let tail = r#"{"time":"t","type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":2.5,"billedDurationMs":3,"memorySizeMB":256,"maxMemoryUsedMB":40,"initDurationMs":100.25}}}"#;
        let r = parse(tail).unwrap();
        assert_eq!(r.billed_ms, 3.0);
        assert_eq!(r.init_ms, Some(100.25));
        assert_eq!(r.memory_size_mb, Some(256));
    }
}
