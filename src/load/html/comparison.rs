//! The tutorial's "Workload Behavior Observation": every run's latency side by side, as a bar chart
//! and the `#load-comparison` table.

use lab_load::summary::LatencyStats;

use super::super::printer::COMPARISON_HEADERS;
use super::super::result::{failure_rate, LoadResult, RunResult};
use super::{latency_cell, run_key};
use crate::report::format;
use crate::report::html::{bar_chart, BarChart, DataCell, DataRow, DataTable, Document};

/// Reads one figure of a run's latency.
type Figure = fn(&LatencyStats) -> Option<f64>;

/// The figures compared, each with its colour in the chart.
const COMPARED: [(&str, &str, Figure); 4] = [
    ("Avg", "#2f6fdf", |l| l.avg_ms),
    ("P90", "#6c95e6", |l| l.p90_ms),
    ("P95", "#e07b24", |l| l.p95_ms),
    ("P99", "#c2362b", |l| l.p99_ms),
];

/// The heading, the chart and the table.
pub(super) fn section(doc: &mut Document, result: &LoadResult) {
    doc.heading("Workload Behavior Observation");
    let series = COMPARED
        .iter()
        .map(|(name, color, figure)| {
            let values = result
                .runs
                .iter()
                .map(|r| figure(&r.summary.latency).unwrap_or(f64::NAN))
                .collect();
            (name.to_string(), color.to_string(), values)
        })
        .collect();
    let chart = BarChart {
        title: "Latency by memory size".into(),
        x_label: "Memory".into(),
        y_label: "Latency (ms)".into(),
        y_format: |v| format!("{v}"),
        groups: result.runs.iter().map(|r| r.label.clone()).collect(),
        series,
    };
    doc.figure(
        &bar_chart(&chart),
        "Average, p90, p95 and p99 latency of all requests at each memory size.",
    );
    doc.table(&DataTable {
        id: "load-comparison".into(),
        headers: COMPARISON_HEADERS.iter().map(|h| h.to_string()).collect(),
        rows: result.runs.iter().enumerate().map(row).collect(),
    });
}

/// One run's row: its label, the compared latencies, error rate, throughput and verdict.
fn row((i, r): (usize, &RunResult)) -> DataRow {
    let s = &r.summary;
    let verdict = r.verdict.clone().unwrap_or_default();
    let mut cells = vec![DataCell::text(r.label.clone())];
    cells.extend(COMPARED.iter().map(|(name, _, figure)| latency_cell(name, figure(&s.latency))));
    cells.extend([
        DataCell::value(format::pct(failure_rate(s)), "error-rate", failure_rate(s)),
        DataCell::value(
            format::rate(s.throughput_rps),
            "throughput",
            s.throughput_rps,
        ),
        DataCell::labelled(verdict.clone(), "verdict"),
    ]);
    DataRow {
        class: verdict.starts_with("Stable").then(|| "best".to_string()),
        key: Some(run_key(r, i)),
        cells,
    }
}
