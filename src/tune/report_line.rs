//! Parsing the `REPORT` line Lambda appends to every invocation's log.
//!
//! Text format (fields separated by tabs in real Lambda logs, shown as `⇥`; spaces are accepted too;
//! `Init Duration` only on a cold start; SnapStart's `Restore Duration` and `Billed Restore Duration`
//! on a restore; `Status: timeout|error` after a failed run; X-Ray's `XRAY TraceId: ...` last):
//!
//! ```text
//! REPORT RequestId: 3f1c...⇥Duration: 12.34 ms⇥Billed Duration: 13 ms⇥Memory Size: 128 MB⇥Max Memory Used: 20 MB⇥Init Duration: 45.67 ms
//! ```
//!
//! Functions using Lambda's JSON log format emit a `platform.report` record instead (one JSON object
//! per line, or pretty-printed); both are read.

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
    /// SnapStart's `Restore Duration` in ms: a new instance restored from a snapshot.
    pub restore_ms: Option<f64>,
    /// SnapStart's `Billed Restore Duration` in ms, billed on top of `Billed Duration`.
    pub billed_restore_ms: Option<f64>,
    /// `Status` (`timeout`, `error`) when the run failed; `None` for a success.
    pub status: Option<String>,
}

impl ReportLine {
    /// What the caller waited for: handler time plus, on a cold start, the instance's init or
    /// restore time (aws-lambda-power-tuning's duration).
    pub fn total_ms(&self) -> f64 {
        self.duration_ms + self.init_ms.unwrap_or(0.0) + self.restore_ms.unwrap_or(0.0)
    }

    /// What the invocation is charged for: `Billed Duration` plus `Billed Restore Duration`.
    pub fn total_billed_ms(&self) -> f64 {
        self.billed_ms + self.billed_restore_ms.unwrap_or(0.0)
    }

    /// Whether this invocation started a new instance (initialised or restored).
    pub fn is_cold(&self) -> bool {
        self.start_up_ms().is_some()
    }

    /// On a cold start, the instance's start-up before the handler ran: its Init Duration, or its
    /// Restore Duration (SnapStart).
    pub fn start_up_ms(&self) -> Option<f64> {
        self.init_ms.or(self.restore_ms)
    }
}

fn field_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Every field name that ends in "Duration" is listed, longest first, and the name must start
    // the line or follow whitespace: the scan then consumes "Restore Duration: 474.16" and "Billed
    // Restore Duration: 75" whole, and their inner "Duration:" is never read as the handler's.
    RE.get_or_init(|| {
        Regex::new(
            r"(?:^|\s)(RequestId|Billed Restore Duration|Restore Duration|Billed Duration|Init Duration|Max Memory Used|Memory Size|Duration|Status):\s*([^\s]+)",
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
            if let Ok(value) = serde_json::from_str(line) {
                if let Some(report) = from_json(&value) {
                    return Some(report);
                }
            }
        }
    }
    // A pretty-printed record (or an array of them) spans lines: read the tail as one document.
    let value: serde_json::Value = serde_json::from_str(log_tail.trim()).ok()?;
    match &value {
        serde_json::Value::Array(items) => items.iter().rev().find_map(from_json),
        one => from_json(one),
    }
}

fn parse_text(fields: &str) -> Option<ReportLine> {
    let mut report = ReportLine {
        request_id: None,
        duration_ms: f64::NAN,
        billed_ms: f64::NAN,
        memory_size_mb: None,
        max_memory_used_mb: None,
        init_ms: None,
        restore_ms: None,
        billed_restore_ms: None,
        status: None,
    };
    for cap in field_regex().captures_iter(fields) {
        let value = &cap[2];
        match &cap[1] {
            "RequestId" => report.request_id = Some(value.to_string()),
            "Duration" => report.duration_ms = value.parse().ok()?,
            "Billed Duration" => report.billed_ms = value.parse().ok()?,
            "Init Duration" => report.init_ms = Some(value.parse().ok()?),
            "Restore Duration" => report.restore_ms = Some(value.parse().ok()?),
            "Billed Restore Duration" => report.billed_restore_ms = Some(value.parse().ok()?),
            "Memory Size" => report.memory_size_mb = value.parse().ok(),
            "Max Memory Used" => report.max_memory_used_mb = value.parse().ok(),
            "Status" => report.status = Some(value.to_string()),
            _ => {}
        }
    }
    (report.duration_ms.is_finite() && report.billed_ms.is_finite()).then_some(report)
}

fn from_json(value: &serde_json::Value) -> Option<ReportLine> {
    if value.get("type")?.as_str()? != "platform.report" {
        return None;
    }
    let record = value.get("record")?;
    let metrics = record.get("metrics")?;
    let num = |key: &str| metrics.get(key).and_then(serde_json::Value::as_f64);
    let text = |key: &str| record.get(key).and_then(|v| v.as_str()).map(str::to_string);
    Some(ReportLine {
        request_id: text("requestId"),
        duration_ms: num("durationMs")?,
        billed_ms: num("billedDurationMs")?,
        memory_size_mb: num("memorySizeMB").map(|v| v as u32),
        max_memory_used_mb: num("maxMemoryUsedMB").map(|v| v as u32),
        init_ms: num("initDurationMs"),
        restore_ms: num("restoreDurationMs"),
        billed_restore_ms: num("billedRestoreDurationMs"),
        // The JSON form says "success" where the text form says nothing.
        status: text("status").filter(|s| s != "success"),
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
