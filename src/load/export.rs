//! `--out KIND=FILE`: the test's figures in formats other tools read.
//!
//! - `csv`: one row per second of each run (RFC 4180, a header row): `run`, `memory_mb`, `second`,
//!   `requests`, `errors`, `avg_ms`, `p95_ms`, `active_vus`; an empty field where there is no value.
//! - `json`: k6's end-of-test summary (the document `handleSummary` receives and
//!   `--summary-export` writes), with k6's metric names and value keys: `http_req_duration` (trend, ms:
//!   `avg`, `min`, `med`, `max`, `p(90)`, `p(95)`, `p(99)`), `http_reqs` and `iterations` (counter:
//!   `count`, `rate`), `http_req_failed` (rate: `rate`, `passes` = failed requests, `fails` =
//!   successful ones, as k6 counts a true value as a pass), `vus_max` (gauge), `dropped_iterations`;
//!   with several runs (`--memory`), each run's as a submetric tagged `memory_mb`
//!   (`http_req_duration{memory_mb:128}`), and the main metrics over all runs' requests.
//! - `openmetrics`: the OpenMetrics text format Prometheus scrapes and `promtool` checks:
//!   `lab_load_http_req_duration_seconds` (summary: quantiles 0.5, 0.9, 0.95, 0.99, `_sum`,
//!   `_count`), `lab_load_http_reqs_total` and `lab_load_http_req_failed_total` (counters),
//!   `lab_load_throughput_rps` (gauge), labelled by `run` and `memory_mb`, ending in `# EOF`.
//!
//! Every file's directory is checked before the test starts, so a typo costs no test.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use super::args::{Format, Out};
use super::result::{LoadResult, RunResult};

/// Every `--out` file can be written where it is asked for: its directory exists.
pub(crate) fn check(outs: &[Out]) -> Result<()> {
    for out in outs {
        let dir = out.path.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            bail!(
                "--out {}: the directory {} does not exist",
                out.path.display(),
                dir.unwrap_or(Path::new(".")).display()
            );
        }
    }
    Ok(())
}

/// Writes every `--out` file for `result`.
pub(crate) fn write(outs: &[Out], result: &LoadResult) -> Result<()> {
    for out in outs {
        let text = match out.format {
            Format::Csv => csv(result),
            Format::Json => serde_json::to_string_pretty(&k6_summary(result)?)?,
            Format::OpenMetrics => openmetrics(result)?,
        };
        std::fs::write(&out.path, text)
            .with_context(|| format!("writing --out {}", out.path.display()))?;
    }
    Ok(())
}

/// An optional figure as a CSV field.
fn field(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// One row per second of each run.
pub(crate) fn csv(result: &LoadResult) -> String {
    let mut out = String::from("run,memory_mb,second,requests,errors,avg_ms,p95_ms,active_vus\r\n");
    for (i, run) in result.runs.iter().enumerate() {
        let memory = run.memory_mb.map_or_else(String::new, |m| m.to_string());
        for p in &run.series {
            let _ = write!(
                out,
                "{i},{memory},{},{},{},{},{},{}\r\n",
                p.second,
                p.requests,
                p.errors,
                field(p.avg_ms),
                field(p.p95_ms),
                p.active_vus
            );
        }
    }
    out
}

/// A run's recorded latencies (µs).
fn latencies(run: &RunResult) -> Result<Histogram<u64>> {
    lab_load::histogram::decode(&run.latency_hdr)
        .with_context(|| format!("{}: the recorded latencies", run.label))
}

/// k6's metrics of `h` (every request), `requests` of which `errors` failed, over `seconds`.
fn k6_metrics(
    h: &Histogram<u64>,
    errors: u64,
    seconds: f64,
    vus: u32,
    dropped: u64,
) -> Map<String, Value> {
    let ms = |us: u64| us as f64 / 1000.0;
    let requests = h.len();
    let rate = if seconds > 0.0 {
        requests as f64 / seconds
    } else {
        0.0
    };
    let trend = if h.is_empty() {
        json!({})
    } else {
        json!({
            "avg": h.mean() / 1000.0,
            "min": ms(h.min()),
            "med": ms(h.value_at_quantile(0.5)),
            "max": ms(h.max()),
            "p(90)": ms(h.value_at_quantile(0.9)),
            "p(95)": ms(h.value_at_quantile(0.95)),
            "p(99)": ms(h.value_at_quantile(0.99)),
        })
    };
    let mut m = Map::new();
    m.insert(
        "http_req_duration".into(),
        json!({"type": "trend", "contains": "time", "values": trend}),
    );
    let counter = json!({"type": "counter", "contains": "default", "values": {"count": requests, "rate": rate}});
    m.insert("http_reqs".into(), counter.clone());
    m.insert("iterations".into(), counter);
    let failed = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    m.insert(
        "http_req_failed".into(),
        json!({"type": "rate", "contains": "default",
               "values": {"rate": failed, "passes": errors, "fails": requests - errors}}),
    );
    m.insert(
        "vus_max".into(),
        json!({"type": "gauge", "contains": "default", "values": {"value": vus, "min": vus, "max": vus}}),
    );
    let dropped_rate = if seconds > 0.0 {
        dropped as f64 / seconds
    } else {
        0.0
    };
    m.insert(
        "dropped_iterations".into(),
        json!({"type": "counter", "contains": "default", "values": {"count": dropped, "rate": dropped_rate}}),
    );
    m
}

/// k6's end-of-test summary of `result`.
pub(crate) fn k6_summary(result: &LoadResult) -> Result<Value> {
    let mut all: Option<Histogram<u64>> = None;
    let (mut errors, mut seconds, mut dropped) = (0, 0.0, 0);
    let mut submetrics = Map::new();
    for run in &result.runs {
        let h = latencies(run)?;
        let s = &run.summary;
        let elapsed = s.elapsed_s;
        if result.runs.len() > 1 {
            let tag = run.memory_mb.map_or_else(|| run.label.clone(), |m| m.to_string());
            for (name, metric) in
                k6_metrics(&h, s.errors, elapsed, result.vus, s.dropped_iterations)
            {
                submetrics.insert(format!("{name}{{memory_mb:{tag}}}"), metric);
            }
        }
        errors += s.errors;
        seconds += elapsed;
        dropped += s.dropped_iterations;
        match &mut all {
            Some(sum) => sum.add(&h).context("adding the runs' latencies")?,
            None => all = Some(h),
        }
    }
    let all = all.unwrap_or_else(|| Histogram::new(3).expect("a histogram"));
    let mut metrics = k6_metrics(&all, errors, seconds, result.vus, dropped);
    metrics.extend(submetrics);
    Ok(json!({
        "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e", "groups": [], "checks": []},
        "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"], "summaryTimeUnit": "", "noColor": false},
        "state": {"isStdOutTTY": false, "isStdErrTTY": false, "testRunDurationMs": seconds * 1000.0},
        "metrics": metrics,
    }))
}

/// A label value, escaped as OpenMetrics requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The OpenMetrics text of `result`.
pub(crate) fn openmetrics(result: &LoadResult) -> Result<String> {
    let mut duration = String::new();
    let (mut reqs, mut failed, mut rps) = (String::new(), String::new(), String::new());
    for (i, run) in result.runs.iter().enumerate() {
        let h = latencies(run)?;
        let memory = run.memory_mb.map_or_else(String::new, |m| m.to_string());
        let labels = format!("run=\"{i}\",memory_mb=\"{}\"", label(&memory));
        for q in [0.5, 0.9, 0.95, 0.99] {
            let v = if h.is_empty() {
                f64::NAN
            } else {
                h.value_at_quantile(q) as f64 / 1e6
            };
            let _ = writeln!(
                duration,
                "lab_load_http_req_duration_seconds{{{labels},quantile=\"{q}\"}} {v}"
            );
        }
        let sum = if h.is_empty() {
            0.0
        } else {
            h.mean() * h.len() as f64 / 1e6
        };
        let _ = writeln!(
            duration,
            "lab_load_http_req_duration_seconds_sum{{{labels}}} {sum}"
        );
        let _ = writeln!(
            duration,
            "lab_load_http_req_duration_seconds_count{{{labels}}} {}",
            h.len()
        );
        let _ = writeln!(
            reqs,
            "lab_load_http_reqs_total{{{labels}}} {}",
            run.summary.requests
        );
        let _ = writeln!(
            failed,
            "lab_load_http_req_failed_total{{{labels}}} {}",
            run.summary.errors
        );
        let _ = writeln!(
            rps,
            "lab_load_throughput_rps{{{labels}}} {}",
            run.summary.throughput_rps
        );
    }
    Ok(format!(
        "# TYPE lab_load_http_req_duration_seconds summary\n\
         # UNIT lab_load_http_req_duration_seconds seconds\n\
         # HELP lab_load_http_req_duration_seconds Latency of every request of the run, errors and timeouts included.\n\
         {duration}\
         # TYPE lab_load_http_reqs counter\n\
         # HELP lab_load_http_reqs Requests completed.\n\
         {reqs}\
         # TYPE lab_load_http_req_failed counter\n\
         # HELP lab_load_http_req_failed Requests that failed (HTTP or function errors, throttles, timeouts, connection errors).\n\
         {failed}\
         # TYPE lab_load_throughput_rps gauge\n\
         # HELP lab_load_throughput_rps Requests completed per second in the measured window.\n\
         {rps}\
         # EOF\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_refused() {
        let missing = Out {
            format: Format::Json,
            path: "/nonexistent-dir/x.json".into(),
        };
        let err = format!("{:#}", check(&[missing]).unwrap_err());
        assert!(
            err.contains("the directory /nonexistent-dir does not exist"),
            "{err}"
        );
    }
}
