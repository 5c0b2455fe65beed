//! One run's part of the page: its heading, the `#load-summary-N` figures, the measured window, the
//! thresholds, the errors, its charts and the `#load-series-N` table.

use lab_load::summary::LatencyStats;

use super::super::lambda_figures::{LambdaFigures, Latencies};
use super::super::result::RunResult;
use super::{charts, latency_cell, ms, opt, run_key};
use crate::report::format;
use crate::report::html::{DataCell, DataRow, DataTable, Document};

/// Everything about run `i`.
pub(super) fn section(doc: &mut Document, run: &RunResult, i: usize) {
    let interrupted = if run.interrupted {
        " (interrupted)"
    } else {
        ""
    };
    doc.heading(&format!("{}{interrupted}", run.label));
    summary(doc, run, i);
    if let Some(f) = &run.lambda {
        lambda(doc, f, i);
    }
    if let Some(why) = &run.lambda_missing {
        doc.paragraph(&format!("Lambda's figures: not read ({why})."), false);
    }
    if run.summary.errors > 0 {
        let e = &run.errors;
        doc.paragraph(&format!("Errors — {}", e.kinds().join(", ")), false);
        if let Some(example) = &e.example {
            doc.paragraph(&format!("Example: {example}"), true);
        }
    }
    charts::over_time(doc, run);
    if !run.histogram.is_empty() {
        charts::distribution(doc, run, i);
    }
    doc.table_collapsed("Per-second figures (table)", &series_table(run, i));
}

/// The run's figures: every request's row and successes' row, the window, the thresholds.
fn summary(doc: &mut Document, run: &RunResult, i: usize) {
    let s = &run.summary;
    let mut headers = vec![
        "Latency of",
        "Requests",
        "Errors",
        "Error rate",
        "Throughput",
    ];
    headers.extend(s.latency.columns().iter().map(|(header, _)| *header));
    headers.push("Dropped");
    doc.table(&DataTable {
        id: format!("load-summary-{i}"),
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: vec![
            summary_row(
                run,
                Some(run_key(run, i)),
                "all requests",
                s.requests,
                &s.latency,
            ),
            summary_row(
                run,
                Some(("latency-of".into(), "successes".into())),
                "successes only",
                s.ok,
                &s.ok_latency,
            ),
        ],
    });
    let excluded = if s.window_from_s > 0.0 {
        ", after the ramp-up, drain after the end excluded"
    } else {
        ", drain after the end excluded"
    };
    doc.paragraph(
        &format!(
            "Throughput over the measured window {}-{} ({} requests){excluded}.",
            format::seconds(s.window_from_s),
            format::seconds(s.window_to_s),
            s.window_requests,
        ),
        true,
    );
    if let Some(g) = &s.generator {
        doc.paragraph(
            &format!(
                "Generator lateness (its own, actual send - intended send): p50 {}, p99 {}; \
                 waiting for a free VU (counted in latency): p99 {}.{}",
                ms(g.own.p50_ms),
                ms(g.own.p99_ms),
                ms(g.vu_wait.p99_ms),
                g.late.as_ref().map(|l| format!(" {l}.")).unwrap_or_default(),
            ),
            g.late.is_none(),
        );
    }
    if let Some(starved) = run.generator_cpu.as_ref().and_then(|c| c.starved.as_ref()) {
        doc.paragraph(&format!("{starved}."), false);
    }
    for t in &run.thresholds {
        let mark = match (t.passed, t.undecided) {
            (true, _) => "pass",
            (false, true) => "undecided",
            (false, false) => "FAIL",
        };
        doc.paragraph(
            &format!("Threshold {mark}: {} ({})", t.expression, t.shown),
            false,
        );
    }
}

/// `#load-lambda-N`: the requests a cold start served against the warm ones (the client's latency,
/// from the join), then Lambda's own figures and the run's cost in words.
fn lambda(doc: &mut Document, f: &LambdaFigures, i: usize) {
    doc.paragraph(&format!("{}.", f.coverage_sentence()), false);
    if f.has_latencies() {
        let row = |label: &str, key: &str, l: &Latencies| DataRow {
            class: None,
            key: Some(("served-by".into(), key.into())),
            cells: vec![
                DataCell::text(label.to_string()),
                DataCell::value(l.count.to_string(), "requests", l.count),
                DataCell::value(ms(l.avg_ms), "avg-ms", opt(l.avg_ms)),
                DataCell::value(ms(l.p50_ms), "p50-ms", opt(l.p50_ms)),
                DataCell::value(ms(l.p95_ms), "p95-ms", opt(l.p95_ms)),
            ],
        };
        doc.table(&DataTable {
            id: format!("load-lambda-{i}"),
            headers: ["Served by", "Requests", "Avg", "p50", "p95"]
                .iter()
                .map(|h| h.to_string())
                .collect(),
            rows: vec![
                row("a cold start", "cold", &f.cold),
                row("a warm instance", "warm", &f.warm),
            ],
        });
    }
    doc.paragraph(
        &format!("{}. {}.", f.report_sentence(), f.cost_sentence()),
        true,
    );
}

/// One row of `#load-summary-N`: `count` requests whose latency is `l`, beside the run's totals.
fn summary_row(
    run: &RunResult,
    key: Option<(String, String)>,
    label: &str,
    count: u64,
    l: &LatencyStats,
) -> DataRow {
    let s = &run.summary;
    let mut cells = vec![
        DataCell::text(label.to_string()),
        DataCell::value(count.to_string(), "requests", count),
        DataCell::value(s.errors.to_string(), "errors", s.errors),
        DataCell::value(format::pct(s.error_rate), "error-rate", s.error_rate),
        DataCell::value(
            format::rate(s.throughput_rps),
            "throughput",
            s.throughput_rps,
        ),
    ];
    cells.extend(l.columns().map(|(header, v)| latency_cell(header, v)));
    cells.push(DataCell::value(
        s.dropped_iterations.to_string(),
        "dropped",
        s.dropped_iterations,
    ));
    DataRow {
        class: None,
        key,
        cells,
    }
}

/// `#load-series-N`: the per-second figures.
fn series_table(run: &RunResult, i: usize) -> DataTable {
    DataTable {
        id: format!("load-series-{i}"),
        headers: ["Second", "Requests", "Errors", "Avg", "p95", "Active VUs"]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows: run
            .series
            .iter()
            .map(|p| DataRow {
                class: None,
                key: Some(("second".into(), p.second.to_string())),
                cells: vec![
                    DataCell {
                        text: p.second.to_string(),
                        data: None,
                        numeric: true,
                    },
                    DataCell::value(p.requests.to_string(), "requests", p.requests),
                    DataCell::value(p.errors.to_string(), "errors", p.errors),
                    DataCell::value(ms(p.avg_ms), "avg-ms", opt(p.avg_ms)),
                    DataCell::value(ms(p.p95_ms), "p95-ms", opt(p.p95_ms)),
                    DataCell::value(p.active_vus.to_string(), "active-vus", p.active_vus),
                ],
            })
            .collect(),
    }
}
