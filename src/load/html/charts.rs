//! One run's charts: latency and throughput second by second, and the latency distribution with
//! its `#load-histogram-N` table.

use lab_load::timeline::SecondPoint;

use super::super::result::RunResult;
use super::run_key;
use crate::report::format;
use crate::report::html::{
    bar_chart, line_chart, Axis, BarChart, DataCell, DataRow, DataTable, Document, LineChart,
    Series,
};

/// One line of a chart over time: `figure` of each second that has it.
fn line(
    run: &RunResult,
    name: &str,
    color: &str,
    axis: Axis,
    figure: fn(&SecondPoint) -> Option<f64>,
) -> Series {
    Series {
        name: name.into(),
        color: color.into(),
        axis,
        points: run
            .series
            .iter()
            .filter_map(|p| figure(p).map(|v| (p.second as f64, v)))
            .collect(),
    }
}

/// A chart with seconds since the start along x.
fn seconds_chart(title: &str, left: &str, right: &str, series: Vec<Series>) -> LineChart {
    LineChart {
        title: title.into(),
        x_label: "Seconds since start".into(),
        left_label: left.into(),
        right_label: right.into(),
        x_ticks: None,
        x_format: |x| format!("{x}s"),
        left_format: |y| format!("{y}"),
        right_format: |y| format!("{y}"),
        series,
    }
}

/// Latency with the active VUs, then requests and errors, second by second.
pub(super) fn over_time(doc: &mut Document, run: &RunResult) {
    let latency = seconds_chart(
        "Latency over time",
        "Latency (ms)",
        "Active VUs",
        vec![
            line(run, "p95", "#e07b24", Axis::Left, |p| p.p95_ms),
            line(run, "avg", "#2f6fdf", Axis::Left, |p| p.avg_ms),
            line(run, "active VUs", "#8a93a3", Axis::Right, |p| {
                Some(p.active_vus as f64)
            }),
        ],
    );
    doc.figure(
        &line_chart(&latency),
        "Per-second p95 and average latency of all requests (left) and active VUs (right).",
    );
    let throughput = seconds_chart(
        "Throughput over time",
        "Requests per second",
        "",
        vec![
            line(run, "requests", "#1f8a4c", Axis::Left, |p| {
                Some(p.requests as f64)
            }),
            line(run, "errors", "#c2362b", Axis::Left, |p| {
                Some(p.errors as f64)
            }),
        ],
    );
    doc.figure(
        &line_chart(&throughput),
        "Requests and errors completed in each second.",
    );
}

/// The latency histogram of run `i`, as bars and as a table.
pub(super) fn distribution(doc: &mut Document, run: &RunResult, i: usize) {
    let chart = BarChart {
        title: "Latency distribution".into(),
        x_label: "Latency (ms, upper edge of each bin)".into(),
        y_label: "Requests".into(),
        y_format: |v| format!("{v}"),
        groups: run.histogram.iter().map(|b| format!("{:.0}", b.to_ms)).collect(),
        series: vec![(
            "requests".into(),
            "#2f6fdf".into(),
            run.histogram.iter().map(|b| b.count as f64).collect(),
        )],
    };
    doc.figure(
        &bar_chart(&chart),
        "All requests by latency, in equal-width bins from the fastest to the slowest.",
    );
    let key = Some(run_key(run, i));
    let rows = run
        .histogram
        .iter()
        .map(|b| DataRow {
            class: None,
            key: key.clone(),
            cells: vec![
                DataCell::value(format::ms(b.from_ms), "from-ms", b.from_ms),
                DataCell::value(format::ms(b.to_ms), "to-ms", b.to_ms),
                DataCell::value(b.count.to_string(), "count", b.count),
            ],
        })
        .collect();
    doc.table_collapsed(
        "Latency distribution (table)",
        &DataTable {
            id: format!("load-histogram-{i}"),
            headers: vec!["From".into(), "To".into(), "Requests".into()],
            rows,
        },
    );
}
